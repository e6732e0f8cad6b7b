"""Many clients at once (issue 7): threads on one app, several worker processes on one SQLite file,
and a quick load check of a running mock (open files, threads and memory stay flat).

The oracle is what the mock acknowledged to each client, never the mock's own view: every save
acknowledged (and not later deleted) must be stored with exactly the acknowledged content, no id
may be handed out twice, and no acknowledged update may be lost. Where several clients update the
same webhook, SQLite itself records the order in which the writes committed (a trigger the test
installs writes every new body to an audit table), and that order is checked against the clients'
acknowledgements. The helpers (the mock as a process, its clients, the oracle, the CI mix) are in
the package ``tests/harness/``, shared with ``tests/test_crash.py`` and the scripts in ``stress/``.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest

from harness.clients import AGENT, AUTH, Call, HttpClient, in_threads
from harness.loadmix import Tally, ci_mix
from harness.oracle import Ledger, contend, contention_problems, owner_mix, owner_problems
from harness.process import MockProcess
from harness.store import audit_log, by_id, install_audit, integrity, sqlite_webhooks
from mockserver import MockConfig, create_app
from mockserver.app import state_of


def app_call(app: Any) -> Call:
    """``call`` over a Flask test client of ``app`` (one per thread)."""
    client = app.test_client()

    def call(operation: str, body: Any = None, query: str = "") -> tuple[int, Any]:
        answer = client.post(AGENT + operation + query, headers=AUTH, json=body)
        return answer.status_code, (answer.get_json() if answer.data else None)

    return call


# ---------------------------------------------------------------------------------------------
# (a) threads on one app


@pytest.mark.parametrize("db", [True, False], ids=["sqlite", "memory"])
def test_threads_on_one_app_lose_no_acknowledged_save(tmp_path: Path, db: bool) -> None:
    app = create_app(MockConfig(db_path=str(tmp_path / "state.sqlite3") if db else None))
    try:
        ledgers = in_threads(8, lambda n: owner_mix(app_call(app), n, operations=40))
        status, listed = app_call(app)("GetAllWebhooks")
        assert status == 200
        assert owner_problems(ledgers, by_id(listed)) == []
        assert sum(len(ledger.created) for ledger in ledgers) > 8 * 5  # the mix did create, update and delete
        assert all(ledger.deleted and ledger.live for ledger in ledgers)
        if db:
            assert owner_problems(ledgers, sqlite_webhooks(str(tmp_path / "state.sqlite3"))) == []
    finally:
        state_of(app).store.close()


def test_threads_updating_one_webhook_lose_no_acknowledged_update(tmp_path: Path) -> None:
    db = str(tmp_path / "state.sqlite3")
    app = create_app(MockConfig(db_path=db))
    try:
        install_audit(db)
        status, created = app_call(app)("SaveWebhook", {"Name": "shared"})
        assert status == 200
        ticks = itertools.count()
        webhook_id = created["WebhookId"]
        acks = [*itertools.chain(*in_threads(6, lambda n: contend(app_call(app), webhook_id, n, 15, ticks)))]
        _, final = app_call(app)("GetWebhook", query=f"?webhookId={webhook_id}")
        assert contention_problems(acks, audit_log(db, webhook_id), final) == []
        assert sqlite_webhooks(db)[webhook_id] == final
    finally:
        state_of(app).store.close()


def test_threads_that_end_leave_no_connection_open(tmp_path: Path) -> None:
    # Regression: the SQLite store kept one connection per thread and never closed it, so every
    # server thread that ended (granian ends one idle for 30 s and starts another on the next
    # burst) left its connection's file descriptors open for the life of the process.
    db = tmp_path / "state.sqlite3"
    app = create_app(MockConfig(db_path=str(db)))

    def open_on_db() -> int:
        links = (os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd"))
        return sum(1 for link in links if link.startswith(str(db)))

    try:
        call = app_call(app)
        assert call("SaveWebhook", {"Name": "x"})[0] == 200
        before = open_on_db()
        for n in range(30):  # one short-lived thread after another, as a server's pool renews them
            in_threads(2, lambda m, n=n: app_call(app)("SaveWebhook", {"Name": f"{n}-{m}"}))
        assert open_on_db() <= before + 4  # two more connections at most, not sixty
        assert len(call("GetAllWebhooks")[1]) == 61
    finally:
        state_of(app).store.close()


# ---------------------------------------------------------------------------------------------
# (b) several worker processes on one SQLite file


@pytest.mark.slow  # a sowebhook mock process
def test_worker_processes_on_one_file_lose_no_acknowledged_save(tmp_path: Path) -> None:
    db = str(tmp_path / "state.sqlite3")
    with MockProcess(db, workers=3) as mock:
        install_audit(db)
        status, shared = HttpClient(mock.port, fresh=True).call("SaveWebhook", {"Name": "shared"})
        assert status == 200
        ticks = itertools.count()

        def client(n: int) -> Any:  # a new connection per request: the requests spread over the workers
            call = HttpClient(mock.port, fresh=True).call
            if n < 3:
                return owner_mix(call, n, operations=40)
            return contend(call, shared["WebhookId"], n, 16, ticks)

        results = in_threads(8, client)
        ledgers = [r for r in results if isinstance(r, Ledger)]
        acks = [ack for r in results if isinstance(r, list) for ack in r]
        final = HttpClient(mock.port, fresh=True).call(
            "GetWebhook", query=f"?webhookId={shared['WebhookId']}"
        )[1]
        assert contention_problems(acks, audit_log(db, shared["WebhookId"]), final) == []
        ledgers.append(Ledger(-1, live={shared["WebhookId"]: final}))  # the last commit, checked just above
        for _ in range(6):  # whichever worker answers has the same state
            status, listed = HttpClient(mock.port, fresh=True).call("GetAllWebhooks")
            assert status == 200 and owner_problems(ledgers, by_id(listed)) == []
        assert owner_problems(ledgers, sqlite_webhooks(db)) == []  # the file itself, read without the mock
        assert integrity(db) == "ok"
        assert mock.stop() == 0
    assert "Traceback" not in mock.stderr()


# ---------------------------------------------------------------------------------------------
# A quick load check: a running mock keeps its open files, threads and memory flat


@pytest.mark.slow  # a sowebhook mock process
def test_a_load_leaves_open_files_threads_and_memory_flat(tmp_path: Path) -> None:
    with MockProcess(tmp_path / "state.sqlite3") as mock:
        clients = [HttpClient(mock.port) for _ in range(3)]
        in_threads(
            3, lambda n: ci_mix(clients[n], 150, seed=100 + n)
        )  # warm-up: every thread and cache in use
        before = mock.sample()
        tallies = in_threads(3, lambda n: ci_mix(clients[n], 1000, seed=n))
        after = mock.sample()
        total = Tally()
        for tally in tallies:
            total.merge(tally)
        assert total.sent >= 3000 and total.server_errors == 0 and total.unexpected == []
        assert total.rejected > 200
        assert HttpClient(mock.port, fresh=True).call("GetAllWebhooks") == (200, [])
        _, journal = HttpClient(mock.port, fresh=True).request("GET", "/__mock__/journal", headers=AUTH)
        assert len(json.loads(journal)) <= 1000  # bounded (limits.journal_entries)
        for client in clients:
            client.close()
        assert after.fds <= before.fds + 4, (before, after)
        assert after.threads <= before.threads + 2, (before, after)
        assert after.rss_kb - before.rss_kb < 30 * 1024, (
            before,
            after,
        )  # generous: catches a leak per request
        assert mock.stop() == 0
    assert "Traceback" not in mock.stderr()
