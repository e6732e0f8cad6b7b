"""The oracle of concurrent clients: what the mock acknowledged. Owners of their own webhooks
(``owner_mix``, ``Ledger``, ``owner_problems``) and several clients updating one webhook
(``contend``, ``Ack``, ``contention_problems``, read against ``store.audit_log``)."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.clients import Call


def webhook_body(name: str, rng: random.Random, webhook_id: int = 0) -> dict[str, Any]:
    """A SaveWebhook body whose Name identifies this very save (no ping: no Type)."""
    body: dict[str, Any] = {
        "Name": name,
        "Events": rng.sample(
            ["contact.created", "contact.changed", "sale.created", "project.deleted"], rng.randint(0, 3)
        ),
        "Secret": f"secret-{rng.randrange(10**6)}",
        "Headers": {"X-Version": name},
        "Properties": {"n": rng.randrange(1000)},
    }
    if webhook_id:
        body["WebhookId"] = webhook_id
    return body


@dataclass
class Ledger:
    """What the mock acknowledged to one client, which alone creates, updates and deletes its webhooks."""

    client: int
    live: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> the last acknowledged content
    deleted: set[int] = field(default_factory=set)
    created: list[int] = field(default_factory=list)  # ids in the order they were acknowledged
    requests: int = 0
    failures: list[str] = field(default_factory=list)


def owner_mix(
    call: Call, client: int, operations: int, seed: int = 0, keep: int = 4, deadline: float | None = None
) -> Ledger:
    """Create, update (SaveWebhook with its WebhookId), read and delete this client's own webhooks;
    every read must return the last acknowledged save (read-your-writes, across processes too).
    ``operations`` of them, or fewer if ``time.monotonic()`` passes ``deadline`` first."""
    rng = random.Random(f"{seed}:{client}")
    ledger = Ledger(client)
    versions = itertools.count()

    def expect(status: int, wanted: int, what: str) -> bool:
        ledger.requests += 1
        if status != wanted:
            ledger.failures.append(f"client {client}: {what} answered {status}")
        return status == wanted

    for _ in range(operations):
        if deadline is not None and time.monotonic() > deadline:
            break
        roll = rng.random()
        mine = sorted(ledger.live)
        if not mine or roll < 0.3 or (len(mine) < keep and roll < 0.45):
            status, saved = call("SaveWebhook", webhook_body(f"c{client}-v{next(versions)}", rng))
            if expect(status, 200, "a create"):
                ledger.live[saved["WebhookId"]] = saved
                ledger.created.append(saved["WebhookId"])
        elif roll < 0.65:
            webhook_id = rng.choice(mine)
            status, saved = call("SaveWebhook", webhook_body(f"c{client}-v{next(versions)}", rng, webhook_id))
            if expect(status, 200, f"an update of {webhook_id}"):
                if saved["WebhookId"] != webhook_id:
                    ledger.failures.append(
                        f"client {client}: the update of {webhook_id} saved {saved['WebhookId']}"
                    )
                ledger.live[webhook_id] = saved
        elif roll < 0.8:
            webhook_id = rng.choice(mine)
            status, _ = call("DeleteWebhook", query=f"?WebhookId={webhook_id}")
            if expect(status, 204, f"the delete of {webhook_id}"):
                del ledger.live[webhook_id]
                ledger.deleted.add(webhook_id)
        else:
            webhook_id = rng.choice(mine)
            status, got = call("GetWebhook", query=f"?webhookId={webhook_id}")
            if expect(status, 200, f"a read of {webhook_id}") and got != ledger.live[webhook_id]:
                ledger.failures.append(
                    f"client {client}: read {webhook_id} as {got}, not as last acknowledged"
                )
    return ledger


def owner_problems(ledgers: list[Ledger], stored: dict[int, dict[str, Any]]) -> list[str]:
    """Every acknowledged, undeleted save stored with exactly its acknowledged content; nothing
    else stored; no id acknowledged twice; each client's creates got increasing ids."""
    problems = [failure for ledger in ledgers for failure in ledger.failures]
    created = [webhook_id for ledger in ledgers for webhook_id in ledger.created]
    if len(created) != len(set(created)):
        twice = sorted(i for i in set(created) if created.count(i) > 1)
        problems.append(f"ids acknowledged to more than one create: {twice}")
    for ledger in ledgers:
        if ledger.created != sorted(ledger.created):
            problems.append(f"client {ledger.client} got ids out of order: {ledger.created}")
    expected = {webhook_id: webhook for ledger in ledgers for webhook_id, webhook in ledger.live.items()}
    for webhook_id, webhook in sorted(expected.items()):
        if webhook_id not in stored:
            problems.append(f"acknowledged webhook {webhook_id} ({webhook['Name']}) is missing")
        elif stored[webhook_id] != webhook:
            problems.append(
                f"webhook {webhook_id} is stored as {stored[webhook_id]['Name']}, acknowledged as {webhook['Name']}"
            )
    for webhook_id in sorted(stored.keys() - expected.keys()):
        problems.append(
            f"webhook {webhook_id} ({stored[webhook_id].get('Name')}) is stored but was deleted or never acknowledged"
        )
    return problems


# -- several clients updating one webhook ---------------------------------------------------------


@dataclass(frozen=True)
class Ack:
    name: str
    value: dict[str, Any]
    sent: int  # ticks of one counter shared by the clients: sent < acked of the same request
    acked: int


def contend(
    call: Call,
    webhook_id: int,
    client: int,
    updates: int,
    ticks: Iterator[int],
    deadline: float | None = None,
) -> list[Ack]:
    """Update one webhook that other clients update too, each time with a Name of its own."""
    acks, rng = [], random.Random(client)
    for n in range(updates):
        if deadline is not None and time.monotonic() > deadline:
            break
        name = f"u{client}-{n}"
        sent = next(ticks)
        status, value = call("SaveWebhook", webhook_body(name, rng, webhook_id))
        acked = next(ticks)
        assert status == 200, (status, value)
        assert value["WebhookId"] == webhook_id and value["Name"] == name
        acks.append(Ack(name, value, sent, acked))
    return acks


def contention_problems(acks: list[Ack], log: list[dict[str, Any]], final: dict[str, Any]) -> list[str]:
    """What the store promises to concurrent updates of one webhook: each acknowledged update was
    committed exactly once with the acknowledged content (none lost); nothing was committed that
    nobody was answered for; the stored webhook is the last commit; and commits follow real time:
    an update acknowledged before another was sent committed before it."""
    problems = []
    updates = [w for w in log if w["Name"].startswith("u")]  # the log also holds the create's write
    position = {w["Name"]: n for n, w in enumerate(updates)}
    if len(position) != len(updates):
        problems.append("an update was committed twice")
    for ack in acks:
        if ack.name not in position:
            problems.append(f"acknowledged update {ack.name} was never committed (lost)")
        elif updates[position[ack.name]] != ack.value:
            problems.append(f"update {ack.name} committed other content than acknowledged")
    if len(updates) != len(acks):
        problems.append(f"{len(updates)} updates committed, {len(acks)} acknowledged")
    if not updates or final != updates[-1]:
        problems.append(
            f"stored {final.get('Name')}, but the last commit was {updates[-1]['Name'] if updates else None}"
        )
    # real time: no update may commit after one that was sent only once it had been acknowledged
    latest_sent: Ack | None = None  # of the updates committed so far, the one sent last
    for ack in sorted((a for a in acks if a.name in position), key=lambda a: position[a.name]):
        if latest_sent is not None and ack.acked < latest_sent.sent:
            problems.append(
                f"{ack.name} was acknowledged before {latest_sent.name} was sent, but committed after it"
            )
        if latest_sent is None or ack.sent > latest_sent.sent:
            latest_sent = ack
    return problems


def rfc7396(target: Any, patch: Any) -> Any:
    """RFC 7396 section 2, MergePatch(Target, Patch), as the RFC writes it: the oracle of merge
    patches (tests/test_rest.py, tests/test_strategies.py)."""
    if not isinstance(patch, dict):
        return patch
    target = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            target.pop(name, None)
        else:
            target[name] = rfc7396(target.get(name), value)
    return target
