"""Does a webhook receiver handle SuperOffice's deliveries as it must? Check it, check by check.

Given a receiver (a URL, or a WSGI app in-process) and the webhook's secret, signed deliveries are
sent to it and each answer is judged (en/automation/webhook/dev/security.md, notification.md,
reference/test-event.md):

    accepts_valid_delivery        a correctly signed delivery gets 200
    accepts_test_event            the registration ping (X-Hook-Test: true) gets 200
    rejects_tampered_body         a body changed after signing is refused (4xx)
    rejects_wrong_secret          a signature made with another secret is refused
    rejects_missing_signature     a delivery without X-SuperOffice-Signature is refused
    rejects_hex_signature         the right HMAC written in hex instead of Base64 is refused
    accepts_unusual_serialisation a signed body in another key order, with other whitespace and
                                  \\u escapes, gets 200 (the signature is over the raw bytes)
    tolerates_retry               the same EventId again, with X-SuperOffice-Retry: 1, gets 200
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from contracts.signatures import SIGNATURE_HEADER, sign
from contracts.wire import format_datetime

__all__ = ["ReceiverCheck", "Report", "check_receiver", "url_sender", "wsgi_sender"]

Send = Callable[[bytes, dict[str, str]], tuple[int, str]]
USER_AGENT = "NetServer-Webhook/10.5.0.0"


@dataclass(frozen=True)
class ReceiverCheck:
    name: str
    title: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Report:
    target: str
    checks: list[ReceiverCheck]

    @property
    def ok(self) -> bool:
        return all(check.passed for check in self.checks)

    def render(self) -> str:
        lines = [f"Receiver check of {self.target}"]
        for check in self.checks:
            mark = "PASS" if check.passed else "FAIL"
            lines.append(f"  {mark}  {check.name}: {check.title}" + ("" if check.passed else f"\n        {check.detail}"))
        failed = sum(not c.passed for c in self.checks)
        lines.append(f"{len(self.checks) - failed} passed, {failed} failed")
        return "\n".join(lines)


def _payload(event: str = "contact.changed", event_id: str | None = None) -> dict[str, Any]:
    return {
        "EventId": event_id or str(uuid.uuid4()),
        "Timestamp": format_datetime(datetime.now(timezone.utc)),
        "Changes": ["contact_id", "name", "updated"] if event != "test" else [],
        "Event": event,
        "PrimaryKey": 18 if event != "test" else 0,
        "Entity": event.split(".")[0],
        "ContextIdentifier": "Cust54321",
        "ChangedByAssociateId": 5,
        "WebhookName": "sowebhook receiver check",
        "FieldValues": {"name": "Ærlig Æble AS", "updated": format_datetime(datetime.now(timezone.utc))},
    }


def _headers(payload: dict[str, Any], body: bytes, secret: str | None, **extra: str) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-SuperOffice-Event": payload["Event"],
        "X-SuperOffice-EventId": payload["EventId"],
        "X-SuperOffice-Retry": "0",
    }
    if secret is not None:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    headers.update(extra)
    return headers


def _compact(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _unusual(payload: dict[str, Any]) -> bytes:
    """The same value as a different text: reversed key order, other whitespace, \\u escapes."""
    reordered = dict(reversed(list(payload.items())))
    return (json.dumps(reordered, ensure_ascii=True, indent=3) + "\r\n").encode("ascii")


def check_receiver(send: Send, secret: str, *, target: str = "receiver") -> Report:
    """Run every check through ``send(body, headers) -> (status, text)``."""
    results: list[ReceiverCheck] = []

    def judge(name: str, title: str, body: bytes, headers: dict[str, str], accept: bool) -> None:
        try:
            status, text = send(body, headers)
        except Exception as error:  # noqa: BLE001 - any transport failure is this check's failure
            results.append(ReceiverCheck(name, title, False, f"the request failed: {type(error).__name__}: {error}"))
            return
        passed = status == 200 if accept else 400 <= status < 500
        expected = "200" if accept else "a 4xx refusal"
        detail = f"expected {expected}, got {status}: {text[:200]!r}"
        results.append(ReceiverCheck(name, title, passed, "" if passed else detail))

    valid = _payload()
    body = _compact(valid)
    judge("accepts_valid_delivery", "a correctly signed delivery gets 200", body, _headers(valid, body, secret), True)

    ping = _payload("test")
    ping_body = _compact(ping)
    judge("accepts_test_event", "the registration ping gets 200", ping_body, _headers(ping, ping_body, secret, **{"X-Hook-Test": "true"}), True)

    tampered = _payload()
    original = _compact(tampered)
    changed = original.replace(b'"PrimaryKey":18', b'"PrimaryKey":19')
    judge("rejects_tampered_body", "a body changed after signing is refused", changed, _headers(tampered, original, secret), False)

    other = _payload()
    other_body = _compact(other)
    judge("rejects_wrong_secret", "a signature made with another secret is refused", other_body, _headers(other, other_body, secret + "-not"), False)

    unsigned = _payload()
    unsigned_body = _compact(unsigned)
    judge("rejects_missing_signature", "a delivery without a signature is refused", unsigned_body, _headers(unsigned, unsigned_body, None), False)

    hexed = _payload()
    hex_body = _compact(hexed)
    hex_digest = hmac.new(secret.encode("utf-8"), hex_body, hashlib.sha256).hexdigest()
    judge("rejects_hex_signature", "the HMAC in hex instead of Base64 is refused", hex_body, _headers(hexed, hex_body, None, **{SIGNATURE_HEADER: hex_digest}), False)

    unusual = _payload()
    unusual_body = _unusual(unusual)
    judge(
        "accepts_unusual_serialisation",
        "a signed body in another key order, whitespace and escapes gets 200",
        unusual_body, _headers(unusual, unusual_body, secret), True,
    )

    retried = _payload()
    retried_body = _compact(retried)
    first = _headers(retried, retried_body, secret)
    judge("tolerates_retry", "the same EventId twice (X-SuperOffice-Retry 0, then 1) gets 200 both times", retried_body, first, True)
    if results[-1].passed:
        results.pop()
        judge(
            "tolerates_retry", "the same EventId twice (X-SuperOffice-Retry 0, then 1) gets 200 both times",
            retried_body, {**first, "X-SuperOffice-Retry": "1"}, True,
        )
    return Report(target, results)


def url_sender(url: str, *, ca_file: str | None = None, verify: bool = True, timeout: float = 10.0) -> Send:
    import requests

    session = requests.Session()

    def send(body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        response = session.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False,
            verify=(ca_file or True) if verify else False,
        )
        return response.status_code, response.text

    return send


def wsgi_sender(app: Any, path: str = "/") -> Send:
    from werkzeug.test import Client

    client = Client(app)

    def send(body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        response = client.post(path, data=body, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    return send
