"""The CI mix of the load checks: ``ci_mix`` (what a CI run sends) and ``Tally`` (what it was answered)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from harness.clients import AGENT, AUTH, JSON, HttpClient
from harness.oracle import webhook_body


@dataclass
class Tally:
    """Requests sent and what they were answered, by kind; answers that were not the expected one."""

    sent: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)

    def count(self, kind: str, status: int, wanted: int) -> None:
        self.sent += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if status != wanted and len(self.unexpected) < 20:
            self.unexpected.append(f"{kind}: {status}, expected {wanted}")

    def merge(self, other: Tally) -> None:
        self.sent += other.sent
        for status, n in other.by_status.items():
            self.by_status[status] = self.by_status.get(status, 0) + n
        self.unexpected += other.unexpected[: max(0, 20 - len(self.unexpected))]

    @property
    def rejected(self) -> int:
        return sum(n for status, n in self.by_status.items() if 400 <= status < 500)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.by_status.items() if status >= 500)


_BAD_REQUESTS: list[tuple[str, str, str, bytes | None, dict[str, str], int]] = [
    ("a bad WebhookId", "POST", AGENT + "SaveWebhook", b'{"WebhookId": "x"}', JSON, 400),
    ("no credentials", "POST", AGENT + "GetAllWebhooks", None, {}, 401),
    ("wrong credentials", "POST", AGENT + "GetAllWebhooks", None, {"Authorization": "Basic eDp5"}, 401),
    ("an unknown path", "POST", "/api/v1/Agents/Webhook/NoSuchThing", None, AUTH, 404),
    ("a wrong method", "GET", AGENT + "GetAllWebhooks", None, AUTH, 405),
    (
        "an unsupported type",
        "POST",
        AGENT + "SaveWebhook",
        b"<x/>",
        {**AUTH, "Content-Type": "image/png"},
        415,
    ),
    ("a broken JSON body", "POST", AGENT + "SaveWebhook", b'{"Name": ', JSON, 400),
]


def ci_mix(
    client: HttpClient, requests: int, seed: int = 0, keep: int = 20, deadline: float | None = None
) -> Tally:
    """What a CI run sends: saves (create and update), reads, lists, deletes and some requests the
    mock must refuse (4xx). At most ``keep`` webhooks of this client are alive at a time, so that
    GetAllWebhooks does not grow with the run; at the end it deletes them."""
    rng = random.Random(seed)
    tally = Tally()
    mine: list[int] = []
    for n in range(requests):
        if deadline is not None and time.monotonic() > deadline:
            break
        roll = rng.random()
        if len(mine) >= keep or (mine and roll < 0.12):
            webhook_id = mine.pop(rng.randrange(len(mine)))
            status, _ = client.call("DeleteWebhook", query=f"?WebhookId={webhook_id}")
            tally.count("DeleteWebhook", status, 204)
        elif not mine or roll < 0.32:
            status, saved = client.call("SaveWebhook", webhook_body(f"load-{seed}-{n}", rng))
            tally.count("SaveWebhook create", status, 200)
            if status == 200:
                mine.append(saved["WebhookId"])
        elif roll < 0.52:
            webhook_id = rng.choice(mine)
            status, _ = client.call("SaveWebhook", webhook_body(f"load-{seed}-{n}", rng, webhook_id))
            tally.count("SaveWebhook update", status, 200)
        elif roll < 0.77:
            status, _ = client.call("GetWebhook", query=f"?webhookId={rng.choice(mine)}")
            tally.count("GetWebhook", status, 200)
        elif roll < 0.87:
            status, _ = client.call("GetAllWebhooks")
            tally.count("GetAllWebhooks", status, 200)
        else:
            kind, method, path, body, headers, wanted = rng.choice(_BAD_REQUESTS)
            status, _ = client.request(method, path, body, headers)
            tally.count(kind, status, wanted)
    for webhook_id in mine:  # leave nothing behind
        status, _ = client.call("DeleteWebhook", query=f"?WebhookId={webhook_id}")
        tally.count("DeleteWebhook", status, 204)
    return tally
