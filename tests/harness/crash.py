"""Crashes: what the clients were answered before a SIGKILL (``write_until_killed``,
``CrashLoad``), what the store may hold afterwards (``crash_problems``) and files left behind
(``stale_files``)."""

from __future__ import annotations

import http.client
import itertools
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.clients import HttpClient, in_threads
from harness.oracle import webhook_body
from harness.process import MockProcess

CUT = (OSError, http.client.HTTPException)  # what a client sees of a server that was killed


@dataclass
class CrashLoad:
    """What the clients were answered before the kill, and what each had in flight at the kill."""

    live: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> last acknowledged content
    deleted: set[int] = field(default_factory=set)
    created: list[int] = field(default_factory=list)  # every id acknowledged to a create
    in_flight: dict[int, tuple[str, str, int]] = field(default_factory=dict)  # client -> (kind, Name, id)
    acks: int = 0
    failures: list[str] = field(default_factory=list)


def write_until_killed(mock: MockProcess, *, clients: int, kill_after: int, seed: int = 0) -> CrashLoad:
    """``clients`` threads create (distinct Names), update and delete their own webhooks, each on
    a new connection per request, until the client that receives the ``kill_after``-th
    acknowledgement SIGKILLs the mock and its workers; the others are cut off mid-request."""
    load = CrashLoad()
    lock = threading.Lock()
    killed = threading.Event()

    def client(n: int) -> None:
        rng = random.Random(f"{seed}:{n}")
        mine: list[int] = []
        call = HttpClient(mock.port, fresh=True, timeout=60).call
        for version in itertools.count():
            roll = rng.random()
            name = f"k{n}-{version}"
            webhook_id, query = 0, ""
            if not mine or roll < 0.55:
                kind, operation, body = "create", "SaveWebhook", webhook_body(name, rng)
            elif roll < 0.85:
                webhook_id = rng.choice(mine)
                kind, operation, body = "update", "SaveWebhook", webhook_body(name, rng, webhook_id)
            else:
                webhook_id = rng.choice(mine)
                kind, operation, body, query = "delete", "DeleteWebhook", None, f"?WebhookId={webhook_id}"
            with lock:
                if killed.is_set():
                    return
                load.in_flight[n] = (kind, name, webhook_id)
            try:
                status, value = call(operation, body, query)
            except CUT as error:
                if not killed.is_set():
                    load.failures.append(f"client {n}: {kind} {name} failed before the kill: {error!r}")
                return
            with lock:
                if status != (204 if kind == "delete" else 200):
                    load.failures.append(f"client {n}: {kind} {name} answered {status}: {value}")
                    return
                del load.in_flight[n]
                load.acks += 1
                if kind == "create":
                    load.created.append(value["WebhookId"])
                    mine.append(value["WebhookId"])
                    load.live[value["WebhookId"]] = value
                elif kind == "update":
                    load.live[webhook_id] = value
                else:
                    mine.remove(webhook_id)
                    del load.live[webhook_id]
                    load.deleted.add(webhook_id)
                if load.acks >= kill_after and not killed.is_set():
                    killed.set()  # before the kill: a cut-off client knows it was the kill
                    mock.kill()

    in_threads(clients, client)
    if not killed.is_set():  # every client failed before the N-th acknowledgement
        mock.kill()
    return load


def crash_problems(load: CrashLoad, stored: dict[int, dict[str, Any]]) -> list[str]:
    """Acknowledged saves there with their content; deleted ones gone; nothing else, except what
    a request in flight at the kill may have done (its Name tells it apart)."""
    problems = list(load.failures)
    if len(load.created) != len(set(load.created)):
        problems.append("an id was acknowledged to two creates")
    pending = {
        (kind, webhook_id): name for kind, name, webhook_id in load.in_flight.values() if kind != "create"
    }
    pending_creates = {name for kind, name, _ in load.in_flight.values() if kind == "create"}
    for webhook_id, webhook in sorted(load.live.items()):
        got = stored.get(webhook_id)
        if got == webhook:
            continue
        if got is None and ("delete", webhook_id) in pending:
            continue  # deleted by the request in flight
        if got is not None and got.get("Name") == pending.get(("update", webhook_id)):
            continue  # updated by the request in flight
        problems.append(
            f"acknowledged webhook {webhook_id} ({webhook['Name']}) is "
            + ("missing" if got is None else f"stored as {got.get('Name')}")
        )
    for webhook_id in sorted(load.deleted & stored.keys()):
        problems.append(f"webhook {webhook_id} was deleted (acknowledged) but is stored again")
    for webhook_id in sorted(stored.keys() - load.live.keys() - load.deleted):
        name = stored[webhook_id].get("Name")
        if name in pending_creates:
            pending_creates.discard(name)  # a create the kill cut off after its commit: allowed, once
        else:
            problems.append(f"webhook {webhook_id} ({name}) is stored but nobody saved it")
    return problems


def stale_files(db: str) -> list[str]:
    return sorted(p.name for p in Path(db).parent.iterdir() if p.name.startswith(Path(db).name + "-"))
