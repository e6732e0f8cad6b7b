"""Redelivery from the mock, the delivery filters and ``sowebhook deliveries`` (docs/fidelity.md
F-220 to F-226).

Oracles: what a real HTTPS receiver got (its bytes, an HMAC computed here with the standard
library, the EventId header), the unfiltered list filtered here with plain comprehensions, and
what the test itself set up (owners, deletions, the Secret it changed to). The quick tests use
in-process apps and ``.invalid`` targets, which the mock refuses without a socket (F-195).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

import contracts.cli_deliveries
from contracts.cli import main
from contracts.cli_deliveries import follow, format_line
from contracts.receiver import Receiver
from mockserver import Application, MockConfig, User, create_app, state_of
from mockserver.config import Associate, DeliveryConfig
from mockserver.testing import MockServer

AGENT = "/api/v1/Agents/Webhook/"
AUTH = {"Authorization": "Basic dGplMDpUamUw"}
NO_PING = DeliveryConfig(registration_ping=False)
EVENTS = ("contact.created", "person.changed")

ANN = User("ann", Associate(11, "ANN"), bearer_tokens=("8A:bearer-ann-redeliver",))
BOB = User("bob", Associate(12, "BOB"), bearer_tokens=("8A:bearer-bob-redeliver",))
AS_A = {"Authorization": "Bearer 8A:bearer-ann-redeliver"}
AS_B = {"Authorization": "Bearer 8A:bearer-bob-redeliver"}
ONLINE = MockConfig(
    profile="online",
    users=(ANN, BOB),
    delivery=NO_PING,
    applications=(
        Application("A", "apptoken-A-redeliver", bearer_tokens=ANN.bearer_tokens),
        Application("B", "apptoken-B-redeliver", bearer_tokens=BOB.bearer_tokens),
    ),
)


def independent_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def save(client: FlaskClient, headers: dict[str, str] = AUTH, **webhook: Any) -> dict[str, Any]:
    body = {
        "Name": "n",
        "Events": list(EVENTS),
        "Type": "crmscript",
        "TargetUrl": "17",
        "Secret": "s",
        **webhook,
    }
    answer = client.post(AGENT + "SaveWebhook", headers=headers, json=body)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    saved: dict[str, Any] = answer.json
    return saved


def signal(app: Flask, event: str, key: int = 1) -> None:
    state_of(app).deliveries.signal(event, primary_key=key)
    assert state_of(app).deliveries.drain(10)


def listed(client: FlaskClient, query: str = "", headers: dict[str, str] = AUTH) -> list[dict[str, Any]]:
    answer = client.get(f"/__mock__/deliveries{query}", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    records: list[dict[str, Any]] = answer.json
    return records


@pytest.fixture
def app() -> Iterator[Flask]:
    app = create_app(MockConfig(delivery=NO_PING, sleep=lambda seconds: None))
    yield app
    state_of(app).deliveries.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# ---------------------------------------------------------------------------------------------
# Records: ids, outcomes, filters


def test_ids_are_unique_and_never_reused_across_a_reset(app: Flask, client: FlaskClient) -> None:
    save(client)
    signal(app, "contact.created")
    first = listed(client)
    assert client.post("/__mock__/reset", headers=AUTH).status_code == 204
    save(client)
    signal(app, "contact.created")
    signal(app, "person.changed")
    after = [r for r in listed(client) if r not in first]  # a reset keeps the attempts (it forgets webhooks)
    ids = [r["id"] for r in first + after]
    assert len(ids) == len(set(ids)) == 3 and ids == sorted(ids)
    for record in listed(client):
        assert state_of(app).deliveries.record(record["id"]).to_json() == record  # type: ignore[union-attr]


def test_outcomes_say_what_each_attempt_came_to(app: Flask, client: FlaskClient) -> None:
    save(client)  # crmscript: recorded
    save(
        client, Type="webhook", TargetUrl="https://hooks.invalid/x"
    )  # refused without DNS: failed, 3 attempts
    signal(app, "contact.created")
    got = sorted((r["webhook_id"], r["outcome"], r["status"], r["posted"]) for r in listed(client))
    assert got == [
        (1, "recorded", None, False),
        (2, "failed", None, True),
        (2, "failed", None, True),
        (2, "failed", None, True),
    ]


@pytest.fixture(scope="module")
def filled() -> Iterator[tuple[FlaskClient, list[dict[str, Any]]]]:
    """An app holding recorded and failed attempts of two events on three webhooks."""
    app = create_app(MockConfig(delivery=NO_PING, sleep=lambda seconds: None))
    client = app.test_client()
    save(client)
    save(client, Type="webhook", TargetUrl="https://hooks.invalid/x")
    save(client, Events=["Contact.Created"])
    for n, event in enumerate(["contact.created", "person.changed", "CONTACT.created"]):
        signal(app, event, n)
    yield client, listed(client)
    state_of(app).deliveries.close()


@settings(max_examples=60, deadline=None)
@given(
    webhook=st.none() | st.integers(0, 4),
    event=st.none()
    | st.sampled_from(["contact.created", "Contact.CREATED", "person.changed", "sale.created"]),
    outcome=st.none() | st.sampled_from(["delivered", "failed", "recorded"]),
    since=st.none() | st.integers(0, 12),
)
def test_filters_choose_what_the_unfiltered_list_says(
    filled: tuple[FlaskClient, list[dict[str, Any]]],
    webhook: int | None,
    event: str | None,
    outcome: str | None,
    since: int | None,
) -> None:
    client, everything = filled
    query = {
        k: v
        for k, v in {"webhook": webhook, "event": event, "outcome": outcome, "since": since}.items()
        if v is not None
    }
    expected = [
        r
        for r in everything
        if (webhook is None or r["webhook_id"] == webhook)
        and (event is None or r["event"].lower() == event.lower())
        and (outcome is None or r["outcome"] == outcome)
        and (since is None or r["id"] > since)
    ]
    assert listed(client, "?" + "&".join(f"{k}={v}" for k, v in query.items())) == expected


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("?outcome=ok", "outcome"),
        ("?webhook=x", "webhook"),
        ("?since=-1", "since"),
        ("?since=1.5", "since"),
        ("?webhook=" + "9" * 40, "webhook"),
        ("?state=Active", "state"),
        ("?Outcome=failed", "Outcome"),
    ],
)
def test_a_bad_filter_is_400_naming_it(client: FlaskClient, query: str, named: str) -> None:
    answer = client.get(f"/__mock__/deliveries{query}", headers=AUTH)
    assert answer.status_code == 400
    assert named in answer.json["MessageDetail"]


def test_the_webhooks_own_credentials_are_masked_in_the_list(app: Flask, client: FlaskClient) -> None:
    save(client, Headers={"Authorization": "Bearer target-token-7f3e", "X-Plain": "shown"})
    signal(app, "contact.created")
    (record,) = listed(client)
    assert "target-token-7f3e" not in json.dumps(record)
    assert record["headers"]["X-Plain"] == "shown"


# ---------------------------------------------------------------------------------------------
# Redelivery, in-process


def test_redelivery_sends_the_same_event_again_and_records_a_new_attempt(
    app: Flask, client: FlaskClient
) -> None:
    save(client)
    signal(app, "contact.created")
    (original,) = listed(client)
    answer = client.post(f"/__mock__/deliveries/{original['id']}/redeliver", headers=AUTH)
    assert answer.status_code == 200
    again = answer.json
    assert again["id"] > original["id"]
    assert (again["event_id"], again["body"], again["event"]) == (
        original["event_id"],
        original["body"],
        original["event"],
    )
    assert again["headers"]["X-SuperOffice-Retry"] == "1" and again["attempt"] == 1
    assert listed(client, f"?since={original['id']}") == [again]
    third = client.post(f"/__mock__/deliveries/{original['id']}/redeliver", headers=AUTH).json
    assert third["attempt"] == 2  # one above the highest sent with that EventId (F-221)


def test_what_cannot_be_redelivered_is_404_never_5xx(app: Flask, client: FlaskClient) -> None:
    webhook = save(client)
    signal(app, "contact.created")
    (record,) = listed(client)
    for record_id in ("999", "0", "000"):
        assert client.post(f"/__mock__/deliveries/{record_id}/redeliver", headers=AUTH).status_code == 404, (
            record_id
        )
    for record_id in ("abc", "-1", "1.0", "9" * 30, "%C2%B2"):  # not an id: 400 naming it
        refused = client.post(f"/__mock__/deliveries/{record_id}/redeliver", headers=AUTH)
        assert refused.status_code == 400 and "The delivery id is an id" in refused.json["MessageDetail"], (
            record_id
        )
    assert client.post(f"/__mock__/deliveries/{record['id']}/redeliver").status_code == 401
    deleted = client.post(AGENT + f"DeleteWebhook?webhookId={webhook['WebhookId']}", headers=AUTH)
    assert deleted.status_code == 204
    gone = client.post(f"/__mock__/deliveries/{record['id']}/redeliver", headers=AUTH)
    assert gone.status_code == 404 and "no longer exists" in gone.json["Message"]
    assert len(listed(client)) == 1  # nothing was sent or recorded


def test_online_an_application_cannot_see_or_redeliver_anothers_attempts() -> None:
    app = create_app(ONLINE)
    client = app.test_client()
    save(client, AS_A, Name="A's")
    save(client, AS_B, Name="B's")
    signal(app, "contact.created")
    (mine,) = listed(client, headers=AS_A)
    (theirs,) = listed(client, headers=AS_B)
    assert client.post(f"/__mock__/deliveries/{theirs['id']}/redeliver", headers=AS_A).status_code == 404
    assert client.post(f"/__mock__/deliveries/{mine['id']}/redeliver", headers=AS_A).status_code == 200
    assert [r["webhook_id"] for r in listed(client, headers=AS_B)] == [theirs["webhook_id"]]
    state_of(app).deliveries.close()


# ---------------------------------------------------------------------------------------------
# The follower and the CLI


def test_follow_asks_only_for_what_is_new(app: Flask, client: FlaskClient) -> None:
    save(client)
    signal(app, "contact.created")
    queries: list[dict[str, str]] = []

    def fetch(query: Any) -> list[dict[str, Any]]:
        queries.append(dict(query))
        return listed(client, "?" + "&".join(f"{k}={v}" for k, v in query.items()))

    polls = iter(
        [lambda: signal(app, "person.changed"), lambda: None, lambda: signal(app, "contact.created")]
    )

    def wait() -> bool:
        step = next(polls, None)
        if step is None:
            return True
        step()
        return False

    seen = list(follow(fetch, {"webhook": "1"}, wait))
    assert [r["event"] for r in seen] == ["contact.created", "person.changed", "contact.created"]
    assert [q.get("since") for q in queries] == [None, "1", "2", "2"]
    assert all(q["webhook"] == "1" for q in queries)


def test_a_line_names_time_id_webhook_event_eventid_attempt_outcome_and_target() -> None:
    record = {
        "time": "2026-01-02T03:04:05.0000000Z",
        "id": 7,
        "webhook_id": 3,
        "event": "contact.created",
        "event_id": "4b5ce038-50f2-4796-bdb2-f96908cf31c2",
        "attempt": 2,
        "status": 500,
        "outcome": "failed",
        "target": "https://127.0.0.1:9/hook",
    }
    assert format_line(record).split() == [
        "2026-01-02T03:04:05.0000000Z",
        "#7",
        "webhook",
        "3",
        "contact.created",
        "4b5ce038-50f2-4796-bdb2-f96908cf31c2",
        "retry",
        "2",
        "500",
        "failed",
        "https://127.0.0.1:9/hook",
    ]


@pytest.fixture(scope="module")
def served() -> Iterator[MockServer]:
    with MockServer(MockConfig(delivery=NO_PING, sleep=lambda seconds: None)) as mock:
        client = mock.app.test_client()
        save(client)
        save(client, Type="webhook", TargetUrl="https://hooks.invalid/x")
        signal(mock.app, "contact.created")
        yield mock


def test_the_cli_prints_one_line_per_attempt_and_filters(served: MockServer) -> None:
    everything = listed(served.app.test_client())
    result = CliRunner().invoke(main, ["deliveries", served.url])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [format_line(r) for r in everything]
    failed = CliRunner().invoke(main, ["deliveries", served.url, "--outcome", "failed", "--json"])
    assert [json.loads(line) for line in failed.output.splitlines()] == [
        r for r in everything if r["outcome"] == "failed"
    ]


def test_the_cli_says_what_the_mock_refused(served: MockServer) -> None:
    bad = CliRunner().invoke(main, ["deliveries", served.url, "--outcome", "fine"])
    assert bad.exit_code == 1 and "answered 400: outcome is one of delivered, failed, recorded" in bad.output
    denied = CliRunner().invoke(main, ["deliveries", served.url, "--auth", "basic:tje0:wrong"])
    assert denied.exit_code == 1 and "answered 401" in denied.output
    nobody = CliRunner().invoke(main, ["deliveries", "http://127.0.0.1:9", "--timeout", "2"])
    assert nobody.exit_code == 1 and "ConnectionError" in nobody.output


def test_the_cli_never_shows_a_password_in_the_url() -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    result = CliRunner().invoke(main, ["deliveries", f"http://ann:s3cret@127.0.0.1:{port}", "--timeout", "2"])
    assert result.exit_code == 1 and "s3cret" not in result.output and "ann:***@127.0.0.1" in result.output


def test_the_cli_follows_until_interrupted(served: MockServer, monkeypatch: pytest.MonkeyPatch) -> None:
    before = listed(served.app.test_client())
    pauses: list[float] = []

    def pause(stop: Any, interval: float) -> bool:
        pauses.append(interval)
        if len(pauses) == 1:
            signal(served.app, "person.changed", 9)
            return False
        raise KeyboardInterrupt

    monkeypatch.setattr(contracts.cli_deliveries, "_pause", pause)
    result = CliRunner().invoke(
        main, ["deliveries", served.url, "--follow", "--interval", "0.5", "--webhook", "1"]
    )
    assert result.exit_code == 0, result.output
    new = [r for r in listed(served.app.test_client()) if r not in before]
    assert result.output.splitlines() == [format_line(r) for r in before + new if r["webhook_id"] == 1]
    assert new and pauses == [0.5, 0.5]


# ---------------------------------------------------------------------------------------------
# Over real sockets: what the receiver sees


@pytest.mark.slow
def test_a_receiver_sees_the_same_eventid_and_bytes_signed_with_the_current_secret() -> None:
    with Receiver(secret="first secret") as receiver:
        app = create_app(
            MockConfig(
                sleep=lambda s: None, delivery=DeliveryConfig(ca_file=receiver.ca_file, timeout_seconds=5)
            )
        )
        client = app.test_client()
        try:
            webhook = save(client, Type="webhook", TargetUrl=receiver.url, Secret="first secret")
            receiver.fail(500)
            signal(app, "contact.created")
            failed = receiver.wait_for(4)[1:]  # the ping, then three failed attempts
            assert [d.headers["X-SuperOffice-Retry"] for d in failed] == ["0", "1", "2"]
            receiver.respond(200)
            receiver.secret = "second secret"
            save(client, **{**webhook, "Secret": "second secret"})  # pinged again: answered 200
            last = listed(client, f"?webhook={webhook['WebhookId']}&event=contact.created&outcome=failed")[-1]
            answer = client.post(f"/__mock__/deliveries/{last['id']}/redeliver", headers=AUTH)
            assert (
                answer.status_code == 200
                and answer.json["outcome"] == "delivered"
                and answer.json["status"] == 200
            )
            redelivered = receiver.wait_for(6)[-1]
            assert redelivered.body == failed[0].body  # the exact bytes (F-220)
            assert redelivered.headers["X-SuperOffice-EventId"] == failed[0].headers["X-SuperOffice-EventId"]
            assert redelivered.headers["X-SuperOffice-Retry"] == "3"
            assert redelivered.headers["X-SuperOffice-Signature"] == independent_signature(
                "second secret", redelivered.body
            )
            assert redelivered.signature_valid and not redelivered.violations
            got = client.post(
                AGENT + "GetWebhook", headers=AUTH, query_string={"webhookId": webhook["WebhookId"]}
            ).json
            assert (got["TotalCalls"], got["ConsecutiveErrors"]) == (
                4,
                0,
            )  # the redelivery is one more call (F-225)
        finally:
            state_of(app).deliveries.close()


@pytest.mark.slow
def test_a_registration_ping_is_not_redelivered_and_the_answer_says_why() -> None:
    with Receiver(secret="s") as receiver:
        app = create_app(
            MockConfig(
                sleep=lambda s: None, delivery=DeliveryConfig(ca_file=receiver.ca_file, timeout_seconds=5)
            )
        )
        client = app.test_client()
        try:
            save(client, Type="webhook", TargetUrl=receiver.url, Secret="s")
            [ping] = listed(client)
            answer = client.post(f"/__mock__/deliveries/{ping['id']}/redeliver", headers=AUTH)
            assert answer.status_code == 400 and "registration ping" in answer.json["MessageDetail"]
            assert len(receiver.wait_for(1)) == 1 and listed(client) == [
                ping
            ]  # nothing sent, nothing recorded
        finally:
            state_of(app).deliveries.close()
