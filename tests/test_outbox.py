"""The durable delivery outbox (``mockserver.outbox``) of a SQLite store, in-process, against a real
HTTPS receiver: the receiver's own record of EventIds and X-SuperOffice-Retry is the oracle, and the
outbox table is read with sqlite3. Across processes and on PostgreSQL: ``tests/test_replicas.py``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from contracts.receiver import Receiver
from mockserver import MockConfig, create_app, state_of
from mockserver.config import DeliveryConfig
from mockserver.outbox import Outbox
from mockserver.rows import OutboxJob
from mockserver.store import open_store

pytestmark = pytest.mark.slow  # a real HTTPS receiver

JSON = {"Authorization": "Basic dGplMDpUamUw", "Content-Type": "application/json"}
SECRET = "outbox secret"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(secret=SECRET) as running:
        yield running


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "state.sqlite3")


@pytest.fixture
def app(receiver: Receiver, db: str) -> Iterator[Flask]:
    delivery = DeliveryConfig(
        ca_file=receiver.ca_file, timeout_seconds=5, retry_waits=(0.05, 0.1), poll_seconds=0.05
    )
    app = create_app(MockConfig(db_path=db, delivery=delivery, sleep=_never))
    yield app
    state_of(app).deliveries.close()
    state_of(app).store.close()


def _never(seconds: float) -> None:
    raise AssertionError("a SQL store's retries are scheduled by the outbox, not slept")


def _register(app: Flask, receiver: Receiver) -> int:
    webhook = {
        "Name": "outbox",
        "Events": ["contact.created"],
        "TargetUrl": receiver.url,
        "Secret": SECRET,
        "Type": "webhook",
        "State": "Active",
    }
    answer = app.test_client().post(
        "/api/v1/Agents/Webhook/SaveWebhook", headers=JSON, data=json.dumps(webhook)
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return int(answer.json["WebhookId"])


def _outbox_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("sowebhook-outbox-")]


def test_retries_go_through_the_outbox_and_its_workers_end_when_it_is_empty(
    app: Flask, receiver: Receiver, db: str
) -> None:
    _register(app, receiver)
    receiver.fail(500, times=2)
    client = app.test_client()
    signalled = client.post(
        "/api/v1/Agents/Webhook/SignalEvent", headers=JSON, data='{"EventName": "contact.created"}'
    )
    assert signalled.status_code == 204
    assert state_of(app).deliveries.drain(timeout=30)
    events = [d for d in receiver.deliveries if not d.is_test]
    assert [(d.headers["X-SuperOffice-Retry"], d.status) for d in events] == [
        ("0", 500),
        ("1", 500),
        ("2", 200),
    ]
    assert len({d.json["EventId"] for d in events}) == 1 and all(d.signature_valid for d in events)
    with sqlite3.connect(db) as reader:
        assert reader.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
        assert reader.execute("SELECT count(*) FROM delivery_record").fetchone() == (
            4,
        )  # the ping, 3 attempts
    reader.close()
    for worker in _outbox_threads():  # an app that only sent its own events leaves no poller behind
        worker.join(timeout=10)
    assert _outbox_threads() == []


def test_a_serving_app_makes_the_attempts_another_process_left(
    app: Flask, receiver: Receiver, db: str
) -> None:
    webhook_id = _register(app, receiver)
    other = open_store(db)  # another process's store: the event it queued, its second attempt due now
    body = json.dumps({"EventId": "left-by-another", "Event": "contact.created"})
    other.outbox_put(OutboxJob(webhook_id, "contact.created", body, attempt=1), 0.0)  # type: ignore[attr-defined]
    other.close()
    state_of(app).deliveries.start()
    (ping, event) = receiver.wait_for(2)
    assert ping.is_test and event.json == {"EventId": "left-by-another", "Event": "contact.created"}
    assert event.headers["X-SuperOffice-Retry"] == "1" and event.signature_valid
    assert state_of(app).deliveries.drain(timeout=30)
    history = app.test_client().get("/__mock__/deliveries", headers=JSON).json
    assert [(r["event_id"], r["attempt"], r["outcome"]) for r in history][-1] == (
        "left-by-another",
        1,
        "delivered",
    )


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("nan")])
def test_a_drain_that_may_not_wait_looks_once(db: str, timeout: float) -> None:
    """An event due in an hour: a drain with no time to wait answers False after one look at the
    outbox (a NaN timeout, which admin's ``?timeout=nan`` hands on, looked again and again)."""
    store = open_store(db)
    looks: list[int] = []

    class Counted:
        def outbox_count(self) -> int:
            looks.append(1)
            assert len(looks) < 50, "the drain keeps looking"
            return store.outbox_count()  # type: ignore[attr-defined, no-any-return]

    try:
        store.outbox_put(OutboxJob(1, "contact.created", "{}"), 3600.0)  # type: ignore[attr-defined]
        outbox = Outbox(Counted(), DeliveryConfig(), lambda job: True)  # type: ignore[arg-type]
        assert outbox.drain(timeout) is False and looks == [1]
    finally:
        store.close()
