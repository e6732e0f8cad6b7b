"""Webhook deliveries from the mock, to a real HTTPS receiver on loopback, with an injected clock.

Oracles: an HMAC computed here with the standard library over the bytes the receiver got, the
contract's ``webhooks`` entry (validated by openapi-core in the receiver), the documented retry
schedule (notification.md: waits of 1 s and 4 s, 9 consecutive failed attempts), and what the
test itself asked the receiver to answer. The webhook's statistics (TotalCalls, TotalErrors,
ConsecutiveErrors, LastError) are judged by the deliveries the receiver recorded and the status it
answered each, never by the mock's own counters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.receiver import Receiver
from mockserver import MockConfig, create_app, state_of
from mockserver.config import DeliveryConfig

pytestmark = pytest.mark.slow  # a real HTTPS receiver per test; its stop waits out serve_forever's 0.5 s poll

AGENT = "/api/v1/Agents/Webhook/"
JSON = {"Authorization": "Basic dGplMDpUamUw", "Content-Type": "application/json"}
SECRET = "Something Super Secret"


def independent_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(secret=SECRET) as running:
        yield running


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def app(receiver: Receiver, waits: list[float]) -> Iterator[Flask]:
    app = create_app(
        MockConfig(sleep=waits.append, delivery=DeliveryConfig(ca_file=receiver.ca_file, timeout_seconds=5))
    )
    yield app
    state_of(app).deliveries.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def call(client: FlaskClient, operation: str, body: Any = None, query: str = "") -> Any:
    return client.post(
        AGENT + operation + query, data=None if body is None else json.dumps(body), headers=JSON
    )


def register(client: FlaskClient, receiver: Receiver, **changes: Any) -> dict[str, Any]:
    body = {
        "Name": "Tonys Contact Handler",
        "Events": ["contact.created", "contact.changed"],
        "TargetUrl": receiver.url,
        "Secret": SECRET,
        "State": "Active",
        "Type": "webhook",
        **changes,
    }
    response = call(client, "SaveWebhook", body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def drained(app: Flask) -> None:
    assert state_of(app).deliveries.drain(timeout=20)


# ---------------------------------------------------------------------------------------------
# The registration ping


def test_saving_a_webhook_pings_its_target_with_a_signed_test_event(
    client: FlaskClient, receiver: Receiver
) -> None:
    saved = register(client, receiver)
    (ping,) = receiver.wait_for(1)
    assert ping.headers["X-Hook-Test"] == "true"
    assert ping.event == "test"
    assert ping.headers["User-Agent"].startswith("NetServer-Webhook/")
    assert ping.headers["X-SuperOffice-Signature"] == independent_signature(SECRET, ping.body)
    assert ping.violations == []
    assert ping.json["Event"] == "test" and ping.json["Entity"] == "test" and ping.json["PrimaryKey"] == 0
    assert ping.json["EventId"] == ping.headers["X-SuperOffice-EventId"]
    assert ping.json["WebhookName"] == saved["Name"]


def test_a_target_that_does_not_answer_200_fails_the_save_and_stores_nothing(
    client: FlaskClient, app: Flask, receiver: Receiver
) -> None:
    receiver.fail(500)
    response = call(
        client, "SaveWebhook", {"Type": "webhook", "TargetUrl": receiver.url, "Events": ["contact.created"]}
    )
    assert response.status_code == 400
    assert "entity.TargetUrl" in response.json["ModelState"]
    assert "500" in response.json["ModelState"]["entity.TargetUrl"][0]
    assert state_of(app).store.all() == []


@pytest.mark.parametrize("status", [201, 204, 302])
def test_only_200_counts(client: FlaskClient, receiver: Receiver, status: int) -> None:
    receiver.respond(status, "")
    response = call(client, "SaveWebhook", {"Type": "webhook", "TargetUrl": receiver.url})
    assert response.status_code == 400


def test_plain_http_targets_are_refused_unless_opted_in(waits: list[float]) -> None:
    with Receiver(tls=False) as plain:
        app = create_app(MockConfig(sleep=waits.append))
        response = call(app.test_client(), "SaveWebhook", {"Type": "webhook", "TargetUrl": plain.url})
        assert response.status_code == 400
        assert "must be HTTPS" in response.json["ModelState"]["entity.TargetUrl"][0]
        assert plain.deliveries == []
        opted = create_app(MockConfig(sleep=waits.append, delivery=DeliveryConfig(allow_http=True)))
        assert (
            call(opted.test_client(), "SaveWebhook", {"Type": "webhook", "TargetUrl": plain.url}).status_code
            == 200
        )
        assert len(plain.wait_for(1)) == 1


def test_a_certificate_the_mock_does_not_trust_fails_the_save(receiver: Receiver) -> None:
    app = create_app(MockConfig())  # the system's CAs only: the receiver's test CA is not among them
    response = call(app.test_client(), "SaveWebhook", {"Type": "webhook", "TargetUrl": receiver.url})
    assert response.status_code == 400
    assert "certificate" in response.json["ModelState"]["entity.TargetUrl"][0].lower()
    assert receiver.deliveries == []


@pytest.mark.parametrize(
    "url", ["https://192.0.2.1/hook", "https://[2001:db8::1]/hook", "ftp://127.0.0.1/x", "https:///nohost"]
)
def test_targets_outside_the_allowed_networks_are_never_called(client: FlaskClient, url: str) -> None:
    response = call(client, "SaveWebhook", {"Type": "webhook", "TargetUrl": url})
    assert response.status_code == 400
    message = response.json["ModelState"]["entity.TargetUrl"][0]
    assert "outside the networks" in message or "HTTPS" in message or "no host" in message


def test_skipping_the_ping_is_an_opt_in_and_still_requires_https(receiver: Receiver) -> None:
    app = create_app(MockConfig(delivery=DeliveryConfig(registration_ping=False)))
    client = app.test_client()
    assert (
        call(
            client, "SaveWebhook", {"Type": "webhook", "TargetUrl": "https://example.invalid/hook"}
        ).status_code
        == 200
    )
    assert (
        call(
            client, "SaveWebhook", {"Type": "webhook", "TargetUrl": "http://example.invalid/hook"}
        ).status_code
        == 400
    )
    assert receiver.deliveries == []


def test_crmscript_webhooks_are_not_pinged(client: FlaskClient, receiver: Receiver) -> None:
    saved = call(
        client, "SaveWebhook", {"Type": "crmscript", "TargetUrl": "42", "Events": ["contact.created"]}
    )
    assert saved.status_code == 200
    assert receiver.deliveries == []


# ---------------------------------------------------------------------------------------------
# TestWebhook


def test_testwebhook_reports_the_targets_answer_and_stores_nothing(
    client: FlaskClient, app: Flask, receiver: Receiver
) -> None:
    definition = {"Type": "webhook", "TargetUrl": receiver.url, "Secret": SECRET, "Name": "probe"}
    receiver.respond(200, "all good")
    ok = call(client, "TestWebhook", {"Webhook": definition}).json
    assert ok["Success"] is True and "all good" in ok["Message"] and ok["Message"].startswith("HTTP/1.1 200")
    receiver.respond(503, "down for maintenance")
    failed = call(client, "TestWebhook", {"Webhook": definition}).json
    assert failed["Success"] is False and "down for maintenance" in failed["Message"]
    assert call(client, "TestWebhook", {"Webhook": None}).json["Success"] is False
    assert state_of(app).store.all() == []
    assert [d.is_test for d in receiver.deliveries] == [True, True]


# ---------------------------------------------------------------------------------------------
# Events


def test_signalevent_delivers_a_signed_payload_as_documented(
    client: FlaskClient, app: Flask, receiver: Receiver
) -> None:
    saved = register(
        client,
        receiver,
        Headers={"X-Tenant": "acme"},
        Properties={"tenant": "acme", "Event": "not overridden"},
    )
    response = call(
        client,
        "SignalEvent",
        {"EventName": "contact.created", "PrimaryKey": 994863, "Data": {"name": "Acme"}},
    )
    assert response.status_code == 204
    drained(app)
    event = receiver.wait_for(2)[1]
    assert event.violations == []
    assert event.headers["X-SuperOffice-Signature"] == independent_signature(SECRET, event.body)
    assert event.headers["X-SuperOffice-Event"] == "contact.created"
    assert event.headers["X-SuperOffice-Retry"] == "0"
    assert event.headers["X-Tenant"] == "acme"
    assert "X-Hook-Test" not in event.headers
    payload = event.json
    assert payload["EventId"] == event.headers["X-SuperOffice-EventId"]
    assert (payload["Event"], payload["Entity"], payload["PrimaryKey"]) == (
        "contact.created",
        "contact",
        994863,
    )
    assert payload["WebhookName"] == saved["Name"]
    assert payload["FieldValues"] == {"name": "Acme"}
    assert payload["ChangedByAssociateId"] == 5
    assert payload["tenant"] == "acme"  # Properties are injected into the body...
    assert payload["Event"] == "contact.created"  # ...without overriding the documented fields


def test_only_active_subscribed_webhooks_are_notified_and_crmscript_is_recorded(
    client: FlaskClient, app: Flask, receiver: Receiver
) -> None:
    listening = register(client, receiver, Name="listening")
    register(client, receiver, Name="other event", Events=["sale.changed"])
    stopped = register(client, receiver, Name="stopped")
    call(client, "SaveWebhook", {**stopped, "State": "Stopped"})
    call(
        client,
        "SaveWebhook",
        {"Type": "crmscript", "TargetUrl": "17", "Events": ["contact.created"], "Name": "script"},
    )
    receiver.clear()
    call(client, "SignalEvent", {"EventName": "contact.created", "PrimaryKey": 1})
    drained(app)
    assert [d.json["WebhookName"] for d in receiver.deliveries] == ["listening"]
    records = state_of(app).deliveries.history()
    script = [r for r in records if r.event == "contact.created" and not r.posted]
    assert len(script) == 1 and "recorded, not posted" in script[0].message
    assert listening["WebhookId"] in {r.webhook_id for r in records}


def test_the_admin_interface_raises_documented_entity_events(
    client: FlaskClient, app: Flask, receiver: Receiver
) -> None:
    register(client, receiver, Events=["sale.deleted"])
    raised = client.post(
        "/__mock__/events",
        headers=JSON,
        data=json.dumps(
            {
                "Event": "sale.deleted",
                "PrimaryKey": 994863,
                "FieldValues": {"sale_id": 994863, "contact_id": 43},
            }
        ),
    )
    assert raised.json == {"queued": 1}
    assert client.post("/__mock__/deliveries/drain", headers=JSON).json == {"idle": True}
    event = receiver.wait_for(2)[1]
    assert event.json["Values"] == {"sale_id": 994863, "contact_id": 43}  # delete events carry Values
    assert event.violations == []


def test_an_event_does_not_wait_for_a_slow_receiver(
    client: FlaskClient, app: Flask, receiver: Receiver
) -> None:
    register(client, receiver)
    receiver.hang()
    response = call(client, "SignalEvent", {"EventName": "contact.changed", "PrimaryKey": 7})
    assert response.status_code == 204  # answered while the delivery is still waiting on the receiver
    receiver.wait_for(2)
    receiver.respond(200)
    drained(app)


# ---------------------------------------------------------------------------------------------
# Failures: retries, TooManyErrors, 410, GetLastError


def test_three_attempts_per_event_then_toomanyerrors_after_nine(
    client: FlaskClient, app: Flask, receiver: Receiver, waits: list[float]
) -> None:
    saved = register(client, receiver)
    watcher = register(client, receiver, Name="watcher", Events=[f"webhook{saved['WebhookId']}.errors"])
    receiver.clear()
    receiver.fail(500, times=9)
    for n in range(3):
        call(client, "SignalEvent", {"EventName": "contact.created", "PrimaryKey": n})
        drained(app)
    attempts = [d for d in receiver.deliveries if d.json["WebhookName"] == saved["Name"]]
    assert [d.headers["X-SuperOffice-Retry"] for d in attempts] == ["0", "1", "2"] * 3
    assert waits == [1.0, 4.0] * 3
    event_ids = [d.headers["X-SuperOffice-EventId"] for d in attempts]
    assert len(set(event_ids[0:3])) == 1 and len(set(event_ids)) == 3  # same id per event, new per event
    assert (
        call(client, "GetWebhook", query=f"?webhookId={saved['WebhookId']}").json["State"] == "TooManyErrors"
    )
    last = call(client, "GetLastError", {"WebhookId": saved["WebhookId"]}).json
    assert last.startswith("HTTP/1.1 500") and "receiver told to fail with 500" in last
    drained(app)
    errors = [d for d in receiver.deliveries if d.event == f"webhook{saved['WebhookId']}.errors"]
    assert (
        len(errors) == 1
        and errors[0].json["Event"] == "webhook.errors"
        and errors[0].json["PrimaryKey"] == saved["WebhookId"]
    )
    assert errors[0].json["WebhookName"] == watcher["Name"]
    # a webhook in TooManyErrors gets nothing more until it is set Active again
    receiver.clear()
    call(client, "SignalEvent", {"EventName": "contact.created", "PrimaryKey": 9})
    drained(app)
    assert [d.json["WebhookName"] for d in receiver.deliveries] == []


def test_the_threshold_is_configurable(receiver: Receiver, waits: list[float]) -> None:
    app = create_app(
        MockConfig(
            sleep=waits.append, delivery=DeliveryConfig(ca_file=receiver.ca_file, too_many_errors_after=7)
        )
    )
    client = app.test_client()
    saved = register(client, receiver)
    receiver.fail(500)
    for n in range(3):
        call(client, "SignalEvent", {"EventName": "contact.created", "PrimaryKey": n})
        drained(app)
    assert len([d for d in receiver.deliveries if not d.is_test]) == 7
    assert state_of(app).store.get(saved["WebhookId"]).webhook["State"] == "TooManyErrors"
    state_of(app).deliveries.close()


def test_410_gone_stops_the_webhook_at_once(client: FlaskClient, app: Flask, receiver: Receiver) -> None:
    saved = register(client, receiver)
    receiver.gone()
    call(client, "SignalEvent", {"EventName": "contact.created", "PrimaryKey": 1})
    drained(app)
    assert len([d for d in receiver.deliveries if not d.is_test]) == 1
    assert state_of(app).store.get(saved["WebhookId"]).webhook["State"] == "TooManyErrors"


def test_a_success_resets_the_consecutive_errors(
    client: FlaskClient, app: Flask, receiver: Receiver, waits: list[float]
) -> None:
    saved = register(client, receiver)
    receiver.fail(500, times=2)
    call(client, "SignalEvent", {"EventName": "contact.created", "PrimaryKey": 1})
    drained(app)
    row = state_of(app).store.get(saved["WebhookId"])
    assert (row.consecutive_errors, row.total_errors, row.webhook["State"]) == (0, 2, "Active")
    assert waits == [1.0, 4.0]


def test_a_hung_receiver_cannot_hold_a_worker(receiver: Receiver, waits: list[float]) -> None:
    app = create_app(
        MockConfig(
            sleep=waits.append,
            delivery=DeliveryConfig(ca_file=receiver.ca_file, timeout_seconds=0.3, attempts=1),
        )
    )
    client = app.test_client()
    saved = register(client, receiver)
    receiver.hang()
    call(client, "SignalEvent", {"EventName": "contact.created", "PrimaryKey": 1})
    drained(app)
    assert (
        "ReadTimeout" in state_of(app).store.get(saved["WebhookId"]).last_error
        or "timed out" in state_of(app).store.get(saved["WebhookId"]).last_error
    )
    receiver.respond(200)
    state_of(app).deliveries.close()


def test_state_changes_fire_the_webhooks_own_events(
    client: FlaskClient, app: Flask, receiver: Receiver
) -> None:
    target = register(client, receiver, Name="target")
    watcher = register(
        client,
        receiver,
        Name="watcher",
        Events=[f"webhook{target['WebhookId']}.stopped", f"webhook{target['WebhookId']}.started"],
    )
    receiver.clear()
    call(client, "SaveWebhook", {**target, "State": "Stopped"})
    drained(app)
    call(client, "SaveWebhook", {**target, "State": "Active"})
    drained(app)
    events = [
        (d.event, d.json["Event"], d.json["PrimaryKey"], d.json["FieldValues"]["state"])
        for d in receiver.deliveries
        if not d.is_test
    ]
    assert events == [
        (f"webhook{target['WebhookId']}.stopped", "webhook.stopped", target["WebhookId"], 2),
        (f"webhook{target['WebhookId']}.started", "webhook.started", target["WebhookId"], 1),
    ]
    assert all(d.json["WebhookName"] == watcher["Name"] for d in receiver.deliveries if not d.is_test)


# ---------------------------------------------------------------------------------------------
# The webhook's statistics (TotalCalls, TotalErrors, ConsecutiveErrors, LastError: F-146, F-147).
# Oracle: the deliveries the receiver itself recorded, each with the status it answered, and the
# documented rule that only a 200 is a success (F-100); never the mock's counters.


def statistics(client: FlaskClient, webhook_id: int) -> dict[str, Any]:
    got = call(client, "GetWebhook", query=f"?webhookId={webhook_id}").json
    return {name: got[name] for name in ("TotalCalls", "TotalErrors", "ConsecutiveErrors", "LastError")}


def counted(deliveries: list[Any], name: str) -> tuple[int, int, int, int | None]:
    """``(calls, errors, consecutive errors, status of the last error)`` of the event deliveries
    (not the registration ping) of the webhook called ``name``, as the receiver saw them."""
    statuses = [d.status for d in deliveries if not d.is_test and d.json["WebhookName"] == name]
    errors = [s for s in statuses if s != 200]
    trailing = len(statuses) - (
        max(i for i, s in enumerate(statuses) if s == 200) + 1 if 200 in statuses else 0
    )
    return len(statuses), len(errors), trailing, errors[-1] if errors else None


def test_the_statistics_count_the_deliveries(client: FlaskClient, app: Flask, receiver: Receiver) -> None:
    saved = register(client, receiver)
    assert statistics(client, saved["WebhookId"]) == {
        "TotalCalls": 0,
        "TotalErrors": 0,
        "ConsecutiveErrors": 0,
        "LastError": None,
    }
    receiver.fail(503, times=2)  # two failures, then a success: one event, three attempts
    call(client, "SignalEvent", {"EventName": "contact.created", "PrimaryKey": 1})
    drained(app)
    receiver.fail(500, times=3)  # a whole event fails
    call(client, "SignalEvent", {"EventName": "contact.changed", "PrimaryKey": 2})
    drained(app)
    calls, errors, consecutive, last_status = counted(receiver.deliveries, saved["Name"])
    assert (calls, errors, consecutive, last_status) == (6, 5, 3, 500)  # what the test asked of the receiver
    got = statistics(client, saved["WebhookId"])
    assert (got["TotalCalls"], got["TotalErrors"], got["ConsecutiveErrors"]) == (calls, errors, consecutive)
    assert (
        got["LastError"].startswith(f"HTTP/1.1 {last_status}")
        and "receiver told to fail with 500" in got["LastError"]
    )
    assert got["LastError"] == call(client, "GetLastError", {"WebhookId": saved["WebhookId"]}).json
    listed = [w for w in call(client, "GetAllWebhooks").json if w["WebhookId"] == saved["WebhookId"]]
    assert {name: listed[0][name] for name in got} == got
    # a success resets the consecutive errors only, and keeps the last error
    call(client, "SignalEvent", {"EventName": "contact.created", "PrimaryKey": 3})
    drained(app)
    after = statistics(client, saved["WebhookId"])
    assert (after["TotalCalls"], after["TotalErrors"], after["ConsecutiveErrors"], after["LastError"]) == (
        7,
        5,
        0,
        got["LastError"],
    )
    # the mock's own record of the attempts agrees with the receiver's
    records = [
        r
        for r in state_of(app).deliveries.history()
        if r.webhook_id == saved["WebhookId"] and r.posted and r.event != "test"
    ]
    assert [r.status for r in records] == [
        d.status for d in receiver.deliveries if not d.is_test and d.json["WebhookName"] == saved["Name"]
    ]


def test_pings_tests_and_unposted_deliveries_are_not_calls(
    client: FlaskClient, app: Flask, receiver: Receiver
) -> None:
    saved = register(client, receiver)
    again = call(client, "SaveWebhook", {**saved, "Name": "renamed"}).json  # pinged again
    assert call(client, "TestWebhook", {"Webhook": again}).json["Success"] is True
    script = call(
        client,
        "SaveWebhook",
        {"Type": "crmscript", "TargetUrl": "17", "Events": ["contact.created"], "Name": "script"},
    ).json
    call(client, "SignalEvent", {"EventName": "sale.changed", "PrimaryKey": 1})  # nobody listens for it
    call(
        client, "SignalEvent", {"EventName": "contact.created", "PrimaryKey": 1}
    )  # the script is recorded, not run
    drained(app)
    assert [d.is_test for d in receiver.deliveries] == [True, True, True, False]  # the three pings, one event
    assert statistics(client, again["WebhookId"])["TotalCalls"] == 1
    assert statistics(client, script["WebhookId"]) == {
        "TotalCalls": 0,
        "TotalErrors": 0,
        "ConsecutiveErrors": 0,
        "LastError": None,
    }


def test_410_counts_one_error_and_stops_the_webhook(
    client: FlaskClient, app: Flask, receiver: Receiver
) -> None:
    saved = register(client, receiver)
    receiver.gone()
    call(client, "SignalEvent", {"EventName": "contact.created", "PrimaryKey": 1})
    drained(app)
    got = call(client, "GetWebhook", query=f"?webhookId={saved['WebhookId']}").json
    assert counted(receiver.deliveries, saved["Name"])[:3] == (1, 1, 1)
    assert (got["State"], got["TotalCalls"], got["TotalErrors"], got["ConsecutiveErrors"]) == (
        "TooManyErrors",
        1,
        1,
        1,
    )
    assert got["LastError"].startswith("HTTP/1.1 410")


@given(
    answers=st.lists(st.sampled_from([200, 200, 500, 503, 201, 302, 410]), max_size=14),
    events=st.integers(1, 5),
)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_statistics_are_always_the_counts_of_the_receivers_answers(
    receiver: Receiver, answers: list[int], events: int
) -> None:
    app = create_app(
        MockConfig(
            sleep=lambda seconds: None, delivery=DeliveryConfig(ca_file=receiver.ca_file, timeout_seconds=5)
        )
    )
    client = app.test_client()
    try:
        receiver.respond(200)
        saved = register(client, receiver)
        receiver.clear()
        for status in answers:  # the receiver's next answers, in order; 200 after them
            receiver.respond(
                status, "ok" if status == 200 else f"receiver told to fail with {status}", times=1
            )
        for n in range(events):
            call(client, "SignalEvent", {"EventName": "contact.created", "PrimaryKey": n})
            drained(app)
        calls, errors, consecutive, last_status = counted(receiver.deliveries, saved["Name"])
        got = statistics(client, saved["WebhookId"])
        assert (got["TotalCalls"], got["TotalErrors"], got["ConsecutiveErrors"]) == (
            calls,
            errors,
            consecutive,
        )
        if last_status is None:
            assert got["LastError"] is None
        else:
            assert got["LastError"].startswith(f"HTTP/1.1 {last_status}")
    finally:
        receiver.respond(200)
        state_of(app).deliveries.close()


@pytest.mark.parametrize("host", ["run.invalid", "a.b.INVALID", "invalid", "x.invalid."])
def test_a_host_under_dot_invalid_is_refused_without_asking_dns(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 6761 6.4 (F-195): the tenant guard's stand-in TargetUrl must cost no DNS time-out."""
    from mockserver import outbound as delivery  # resolve and its socket live in mockserver.outbound

    def no_dns(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"DNS was asked about {args[0]!r}")

    monkeypatch.setattr(delivery.socket, "getaddrinfo", no_dns)
    with pytest.raises(OSError, match="never resolves"):
        delivery.resolve(host, 443)
