"""SuperOffice's guide "Register a webhook" (en/automation/webhook/dev/register.md), end to end.

The guide's own request, read from the page, is posted to ``/api/v1/Webhook`` with its TargetUrl
pointed at an HTTPS receiver on loopback: the mock pings it with a signed ``test`` event, then an
event signalled through the REST SignalEvent reaches it signed, with the guide's payload fields.
Oracles: the page's request body, an HMAC computed here with the standard library, the contract's
``webhooks`` entry (validated by the receiver), and what the test asked the receiver to answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest

import docpages
from contracts.receiver import Receiver
from mockserver import MockConfig, create_app, state_of
from mockserver.config import DeliveryConfig

REGISTER = docpages.DOCS / "en/automation/webhook/dev/register.md"
AUTH = {"Authorization": "Basic dGplMDpUamUw"}


def guide_request() -> docpages.HttpMessage:
    (block,) = [
        body
        for info, body in docpages.fences(REGISTER.read_text(encoding="utf-8"))
        if body.startswith("POST ")
    ]
    return docpages.parse_http(block)


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def receiver_and_body() -> Iterator[tuple[Receiver, dict[str, object]]]:
    body = json.loads(guide_request().body_text)
    with Receiver(secret=str(body["Secret"])) as receiver:
        yield receiver, body


def test_the_guides_request_registers_pings_and_then_delivers_signed_events(
    receiver_and_body: tuple[Receiver, dict[str, object]],
) -> None:
    receiver, body = receiver_and_body
    request = guide_request()
    method, path = request.start_line.split()[:2]
    assert (method, path) == ("POST", "/api/v1/Webhook")
    app = create_app(MockConfig(delivery=DeliveryConfig(ca_file=receiver.ca_file, timeout_seconds=5)))
    try:
        client = app.test_client()
        registered = client.open(
            path,
            method=method,
            data=json.dumps({**body, "TargetUrl": receiver.url}),
            headers={**AUTH, **request.headers},
        )
        assert registered.status_code == 200, registered.get_data(as_text=True)
        saved = registered.json
        assert saved["WebhookId"] > 0 and saved["Name"] == body["Name"] and saved["Events"] == body["Events"]
        assert saved["_Links"]["Self"].endswith(f"/api/v1/Webhook/{saved['WebhookId']}")

        (ping,) = receiver.wait_for(1)  # "check that the TargetUrl responds to a test POST"
        assert ping.event == "test" and ping.headers["X-Hook-Test"] == "true"
        assert ping.headers["X-SuperOffice-Signature"] == signature(str(body["Secret"]), ping.body)
        assert ping.json["WebhookName"] == body["Name"]

        signalled = client.post(
            "/api/v1/Webhook/contact.changed/994863", json={"department": "sales"}, headers=AUTH
        )
        assert signalled.status_code == 204
        _, event = receiver.wait_for(2)
        assert event.violations == []
        assert event.headers["X-SuperOffice-Signature"] == signature(str(body["Secret"]), event.body)
        assert (event.json["Event"], event.json["PrimaryKey"], event.json["WebhookName"]) == (
            "contact.changed",
            994863,
            body["Name"],
        )
        # the state the troubleshooting page reads, through both faces, once the delivery is done
        assert state_of(app).deliveries.drain(10)
        listed = client.get("/api/v1/Webhook", headers=AUTH).json
        assert [(w["WebhookId"], w["State"], w["TotalCalls"]) for w in listed] == [
            (saved["WebhookId"], "Active", 1)
        ]
        assert (
            client.post(
                f"/api/v1/Agents/Webhook/GetWebhook?webhookId={saved['WebhookId']}", headers=AUTH
            ).json["TotalCalls"]
            == 1
        )
    finally:
        state_of(app).deliveries.close()


def test_a_target_that_fails_the_ping_registers_nothing(
    receiver_and_body: tuple[Receiver, dict[str, object]],
) -> None:
    receiver, body = receiver_and_body
    receiver.respond(500, b"down")
    app = create_app(MockConfig(delivery=DeliveryConfig(ca_file=receiver.ca_file, timeout_seconds=5)))
    try:
        client = app.test_client()
        refused = client.post("/api/v1/Webhook", json={**body, "TargetUrl": receiver.url}, headers=AUTH)
        assert refused.status_code == 400
        assert "entity.TargetUrl" in refused.json["ModelState"]
        assert client.get("/api/v1/Webhook", headers=AUTH).json == []
    finally:
        state_of(app).deliveries.close()
