"""Crashes (issue 7): ``sowebhook mock --db FILE`` killed with SIGKILL in the middle of a write
load, then started again on the same file (and on the same PostgreSQL database).

The oracle is what the clients were answered before the kill: every save acknowledged (and not
later deleted) must be there with its acknowledged content; the one request each client had in
flight at the kill may or may not have taken effect, and nothing else may appear. The file is read
with ``sqlite3`` directly (``PRAGMA integrity_check``), and the kill is triggered by the client
that receives the N-th acknowledgement, not by a timer.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from harness.clients import HttpClient, in_threads
from harness.crash import crash_problems, stale_files, write_until_killed
from harness.oracle import owner_mix
from harness.postgres import database, pg_webhooks
from harness.process import MockProcess
from harness.store import by_id, highest_id_ever, integrity, sqlite_webhooks

pytestmark = pytest.mark.slow  # SIGKILLed mock processes and restarts


@pytest.mark.parametrize("workers", [1, 2])
def test_every_acknowledged_save_survives_a_sigkill_mid_load(tmp_path: Path, workers: int) -> None:
    db = str(tmp_path / "state.sqlite3")
    mock = MockProcess(db, workers=workers)
    load = write_until_killed(mock, clients=4, kill_after=60)
    assert mock.process.returncode == -signal.SIGKILL
    assert load.acks >= 60 and load.deleted  # killed mid-load, after deletes too
    # the killed processes left their WAL, shared-memory index and writer lock behind
    assert {"state.sqlite3-wal", "state.sqlite3-shm", "state.sqlite3-writer.lock"} <= set(stale_files(db))

    with MockProcess(db, workers=workers) as again:  # the stale files do not block the restart
        status, listed = HttpClient(again.port, fresh=True).call("GetAllWebhooks")
        assert status == 200
        assert crash_problems(load, by_id(listed)) == []
        assert by_id(listed) == sqlite_webhooks(db)  # the file, read without the mock, agrees
        assert integrity(db) == "ok"
        # ids are not handed out again: a new save gets an id above every one acknowledged before
        status, new = HttpClient(again.port, fresh=True).call("SaveWebhook", {"Name": "after the crash"})
        assert (
            status == 200
            and new["WebhookId"] > max(load.created)
            and new["WebhookId"] > max(listed_ids(listed))
        )
        # and the mock serves normally
        ledgers = in_threads(
            3, lambda n: owner_mix(HttpClient(again.port, fresh=True).call, n, operations=15)
        )
        assert [failure for ledger in ledgers for failure in ledger.failures] == []
        assert again.stop() == 0
    assert "Traceback" not in again.stderr()


def test_every_acknowledged_save_survives_a_sigkill_on_postgresql(tmp_path: Path) -> None:
    # the same load and oracle on a PostgreSQL store (issue 18): the mock dies, the database does not
    url = database()
    mock = MockProcess(url, workers=2, stderr=tmp_path / "mock.stderr")
    load = write_until_killed(mock, clients=4, kill_after=60)
    assert mock.process.returncode == -signal.SIGKILL and load.acks >= 60 and load.deleted
    with MockProcess(url, workers=2, stderr=tmp_path / "again.stderr") as again:
        status, listed = HttpClient(again.port, fresh=True).call("GetAllWebhooks")
        assert status == 200
        assert crash_problems(load, by_id(listed)) == []
        assert by_id(listed) == pg_webhooks(url)  # the database, read without the mock, agrees
        status, new = HttpClient(again.port, fresh=True).call("SaveWebhook", {"Name": "after the crash"})
        assert (
            status == 200
            and new["WebhookId"] > max(load.created)
            and new["WebhookId"] > max(listed_ids(listed))
        )
        assert again.stop() == 0
    assert "Traceback" not in again.stderr()


def listed_ids(listed: list[dict[str, Any]]) -> list[int]:
    return [w["WebhookId"] for w in listed] or [0]


def test_the_id_of_a_deleted_webhook_is_not_handed_out_again_after_a_crash(tmp_path: Path) -> None:
    # F-120: the highest id, deleted just before a SIGKILL, stays used after the restart
    db = str(tmp_path / "state.sqlite3")
    with MockProcess(db) as mock:
        call = HttpClient(mock.port, fresh=True).call
        kept = call("SaveWebhook", {"Name": "kept"})[1]["WebhookId"]
        gone = call("SaveWebhook", {"Name": "gone"})[1]["WebhookId"]
        assert call("DeleteWebhook", query=f"?WebhookId={gone}")[0] == 204
        mock.kill()
    assert sorted(sqlite_webhooks(db)) == [kept] and highest_id_ever(db) == gone
    with MockProcess(db) as again:
        status, new = HttpClient(again.port, fresh=True).call("SaveWebhook", {"Name": "new"})
        assert status == 200 and new["WebhookId"] > gone
        again.kill()
