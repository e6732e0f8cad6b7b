"""Replicas: several ``sowebhook mock --db postgresql://...`` processes on one database, as behind a
load balancer (issue 18).

Oracles: the database read directly with psycopg (rows and ids, never through the mock), the
receiver's own record of what reached it (EventIds and X-SuperOffice-Retry of every request), and
what the clients were answered. Retry waits are configured small (0.2 s and 0.4 s) so that no test
waits out the documented 1 s and 4 s; nothing sleeps: the tests wait on the receiver, on the
mocks' drain endpoint and on PostgreSQL's notifications.
"""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.receiver import Receiver
from harness.clients import AUTH, HttpClient, in_threads
from harness.postgres import OutboxWatch, database, pg_webhooks, psql_rows
from harness.process import MockProcess

pytestmark = pytest.mark.slow  # PostgreSQL and mock processes

SECRET = "replicated secret"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver(secret=SECRET) as running:
        yield running


def _config(tmp: Path, receiver: Receiver, **delivery: Any) -> str:
    path = tmp / f"mock-{len(list(tmp.glob('mock-*.json')))}.json"
    settings = {
        "ca_file": receiver.ca_file,
        "retry_waits": [0.2, 0.4],
        "poll_seconds": 0.05,
        "timeout_seconds": 5,
        **delivery,
    }
    path.write_text(json.dumps({"delivery": settings}))
    return str(path)


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, receiver: Receiver
) -> Iterator[tuple[str, list[MockProcess]]]:
    """Three replicas on one database: two of one process, one of two worker processes."""
    tmp = tmp_path_factory.mktemp("replicas")
    url = database()
    config = _config(tmp, receiver, too_many_errors_after=3)
    started: list[MockProcess] = []
    try:
        for n, workers in enumerate([1, 1, 2]):
            started.append(
                MockProcess(url, "--config", config, workers=workers, stderr=tmp / f"replica{n}.stderr")
            )
        yield url, started
    finally:
        for mock in started:
            mock.kill()
    for mock in started:
        assert "Traceback" not in mock.stderr(), mock.stderr()


def _admin(mock: MockProcess, method: str, path: str) -> Any:
    request = urllib.request.Request(
        f"{mock.url}/__mock__/{path}", method=method, headers=AUTH, data=b"" if method == "POST" else None
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read() or b"null")


def _register(mock: MockProcess, receiver: Receiver, name: str, events: list[str]) -> dict[str, Any]:
    status, webhook = HttpClient(mock.port, fresh=True).call(
        "SaveWebhook",
        {
            "Name": name,
            "Events": events,
            "TargetUrl": receiver.url,
            "Secret": SECRET,
            "Type": "webhook",
            "State": "Active",
        },
    )
    assert status == 200, webhook
    return dict(webhook)


def _signal(mock: MockProcess, event: str, key: int) -> None:
    status, _ = HttpClient(mock.port, fresh=True).call("SignalEvent", {"EventName": event, "PrimaryKey": key})
    assert status == 204


def test_concurrent_creates_on_every_replica_lose_no_id_and_repeat_none(
    replicas: tuple[str, list[MockProcess]],
) -> None:
    url, mocks = replicas
    before = set(pg_webhooks(url))

    def client(n: int) -> list[int]:
        call = HttpClient(mocks[n % 3].port, fresh=True).call
        ids = []
        for k in range(15):
            status, webhook = call("SaveWebhook", {"Name": f"create {n}.{k}", "Type": "crmscript"})
            assert status == 200, webhook
            ids.append(webhook["WebhookId"])
        return ids

    acknowledged = [webhook_id for ids in in_threads(6, client) for webhook_id in ids]
    assert len(acknowledged) == len(set(acknowledged)) == 90
    rows = psql_rows(
        url,
        "SELECT count(*), count(DISTINCT webhook_id) FROM webhook WHERE webhook_id <> ALL(%s)",
        list(before),
    )
    assert rows == [(90, 90)]
    assert set(pg_webhooks(url)) - before == set(acknowledged)


def test_a_webhook_saved_on_one_replica_is_read_on_the_others_and_the_journal_is_one(
    replicas: tuple[str, list[MockProcess]],
) -> None:
    url, mocks = replicas
    status, saved = HttpClient(mocks[0].port, fresh=True).call(
        "SaveWebhook", {"Name": "saved on one", "Type": "crmscript"}
    )
    assert status == 200
    for mock in mocks[1:]:
        status, got = HttpClient(mock.port, fresh=True).call(
            "GetWebhook", query=f"?webhookId={saved['WebhookId']}"
        )
        assert status == 200 and got == saved
    assert pg_webhooks(url)[saved["WebhookId"]]["Name"] == "saved on one"
    # the GetWebhook answered by the third replica is in the journal the first one shows, masked
    journal = _admin(mocks[0], "GET", "journal")
    reads = [
        e
        for e in journal
        if e["operation"] == "GetWebhook" and e["query"].get("webhookId") == str(saved["WebhookId"])
    ]
    assert len(reads) == 2 and all(e["headers"]["Authorization"] == "***" for e in reads)
    assert not any("dGplMDpUamUw" in json.dumps(row) for row in psql_rows(url, "SELECT entry FROM journal"))


def test_a_signal_on_one_replica_is_delivered_once_and_failed_attempts_once_each(
    replicas: tuple[str, list[MockProcess]], receiver: Receiver
) -> None:
    url, mocks = replicas
    receiver.clear()
    receiver.respond(200)
    webhook = _register(mocks[0], receiver, "exactly once", ["contact.created", "person.created"])
    for key in range(5):
        _signal(mocks[key % 3], "contact.created", key)
    assert _admin(mocks[1], "POST", "deliveries/drain?timeout=60") == {"idle": True}
    events = [d for d in receiver.deliveries if not d.is_test]
    assert sorted(d.json["PrimaryKey"] for d in events) == list(range(5))  # each event once
    assert {d.headers["X-SuperOffice-Retry"] for d in events} == {"0"}

    receiver.clear()
    receiver.fail(500)
    try:
        _signal(mocks[2], "person.created", 42)
        assert _admin(mocks[0], "POST", "deliveries/drain?timeout=60") == {"idle": True}
    finally:
        receiver.respond(200)
    attempts = Counter((d.json["EventId"], d.headers["X-SuperOffice-Retry"]) for d in receiver.deliveries)
    assert len({event_id for event_id, _ in attempts}) == 1
    assert sorted(retry for _, retry in attempts) == ["0", "1", "2"] and set(attempts.values()) == {1}
    # three consecutive failures (too_many_errors_after 3), wherever they were made: TooManyErrors
    status, now = HttpClient(mocks[1].port, fresh=True).call(
        "GetWebhook", query=f"?webhookId={webhook['WebhookId']}"
    )
    assert status == 200 and now["State"] == "TooManyErrors" and now["ConsecutiveErrors"] == 3
    assert psql_rows(url, "SELECT count(*) FROM outbox") == [(0,)]
    # the attempt history is one too: every replica lists the same records
    assert _admin(mocks[0], "GET", "deliveries") == _admin(mocks[2], "GET", "deliveries")


def test_a_replica_killed_between_attempts_leaves_its_retries_to_another(
    tmp_path: Path, receiver: Receiver
) -> None:
    url = database()
    config = _config(tmp_path, receiver, retry_waits=[0.3, 0.3])
    first = MockProcess(url, "--config", config, stderr=tmp_path / "first.stderr")
    watch = OutboxWatch(url)
    try:
        receiver.clear()
        receiver.respond(200)
        _register(first, receiver, "killed", ["sale.created"])
        receiver.fail(500)
        _signal(first, "sale.created", 9)
        watch.wait(attempt=1)  # attempt 0 failed, and the row is back, due in 0.3 s, held by nobody
        first.kill()
        assert [d.headers["X-SuperOffice-Retry"] for d in receiver.deliveries if not d.is_test] == ["0"]
        with MockProcess(url, "--config", config, stderr=tmp_path / "second.stderr") as second:
            assert _admin(second, "POST", "deliveries/drain?timeout=60") == {"idle": True}
            second.stop()
        assert "Traceback" not in second.stderr()
    finally:
        receiver.respond(200)
        watch.close()
        first.kill()
    events = [d for d in receiver.deliveries if not d.is_test]
    assert [d.headers["X-SuperOffice-Retry"] for d in events] == ["0", "1", "2"]
    assert len({d.json["EventId"] for d in events}) == 1 and all(d.signature_valid for d in events)
