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
    processes_retry_once          (with a side-effect hook) the retry is not processed a second time

``processes_retry_once`` runs only when the caller gives ``side_effects``, a callable answering how
many deliveries the receiver has processed so far (a WSGI app in-process: ``lambda:
len(app.processed)``). It reads the count before the delivery, after its 200 and after the retry's
200, and passes when the first added exactly one and the retry none. It sees only what that hook
counts at the moment each answer arrives: not work queued in the background and done later, not
side effects in another process or database the hook does not read, not de-duplication over a
longer window, across restarts or between replicas. Over a URL without a hook only
``tolerates_retry`` (the 200) is judged; SuperOffice's signature covers no timestamp, so the
EventId is all a receiver has to de-duplicate by (docs/fidelity.md F-218).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contracts.events import RETRY_HEADER, TEST_EVENT, USER_AGENT, build_payload, delivery_headers, encode
from contracts.poster import post, shown
from contracts.signatures import SIGNATURE_HEADER

__all__ = ["ReceiverCheck", "Report", "check_receiver", "url_sender", "wsgi_sender"]

Send = Callable[[bytes, dict[str, str]], tuple[int, str]]
WEBHOOK_NAME = "sowebhook receiver check"


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
        lines = [f"Receiver check of {shown(self.target)}"]  # a password in the URL masked
        for check in self.checks:
            mark = "PASS" if check.passed else "FAIL"
            lines.append(
                f"  {mark}  {check.name}: {check.title}"
                + ("" if check.passed else f"\n        {check.detail}")
            )
        failed = sum(not c.passed for c in self.checks)
        lines.append(f"{len(self.checks) - failed} passed, {failed} failed")
        return "\n".join(lines)


def _payload(event: str = "contact.changed") -> dict[str, Any]:
    if event == TEST_EVENT:
        return build_payload(event, webhook_name=WEBHOOK_NAME, context_identifier="Cust54321", changed_by=5)
    fields = {"name": "Ærlig Æble AS"}  # a value a re-serialisation may escape
    return build_payload(
        event,
        primary_key=18,
        fields=fields,
        webhook_name=WEBHOOK_NAME,
        context_identifier="Cust54321",
        changed_by=5,
    )


def _headers(payload: dict[str, Any], body: bytes, secret: str | None, **extra: str) -> dict[str, str]:
    headers = delivery_headers(payload["Event"], payload["EventId"], body, secret, user_agent=USER_AGENT)
    headers.update(extra)
    return headers


_compact = encode


def _unusual(payload: dict[str, Any]) -> bytes:
    """The same value as a different text: reversed key order, other whitespace, \\u escapes."""
    reordered = dict(reversed(list(payload.items())))
    return (json.dumps(reordered, ensure_ascii=True, indent=3) + "\r\n").encode("ascii")


def check_receiver(
    send: Send,
    secret: str,
    *,
    target: str = "receiver",
    side_effects: Callable[[], int] | None = None,
) -> Report:
    """Run every check through ``send(body, headers) -> (status, text)``; with ``side_effects`` (how
    many deliveries the receiver has processed so far) also ``processes_retry_once``."""
    results: list[ReceiverCheck] = []

    def judge(name: str, title: str, body: bytes, headers: dict[str, str], accept: bool) -> None:
        try:
            status, text = send(body, headers)
        except Exception as error:  # noqa: BLE001 - any transport failure is this check's failure
            results.append(
                ReceiverCheck(name, title, False, f"the request failed: {type(error).__name__}: {error}")
            )
            return
        passed = status == 200 if accept else 400 <= status < 500
        expected = "200" if accept else "a 4xx refusal"
        detail = f"expected {expected}, got {status}: {text[:200]!r}"
        results.append(ReceiverCheck(name, title, passed, "" if passed else detail))

    valid = _payload()
    body = _compact(valid)
    judge(
        "accepts_valid_delivery",
        "a correctly signed delivery gets 200",
        body,
        _headers(valid, body, secret),
        True,
    )

    ping = _payload("test")
    ping_body = _compact(ping)
    judge(
        "accepts_test_event",
        "the registration ping gets 200",
        ping_body,
        _headers(ping, ping_body, secret),
        True,
    )

    tampered = _payload()
    original = _compact(tampered)
    changed = original.replace(b'"PrimaryKey":18', b'"PrimaryKey":19')
    judge(
        "rejects_tampered_body",
        "a body changed after signing is refused",
        changed,
        _headers(tampered, original, secret),
        False,
    )

    other = _payload()
    other_body = _compact(other)
    judge(
        "rejects_wrong_secret",
        "a signature made with another secret is refused",
        other_body,
        _headers(other, other_body, secret + "-not"),
        False,
    )

    unsigned = _payload()
    unsigned_body = _compact(unsigned)
    judge(
        "rejects_missing_signature",
        "a delivery without a signature is refused",
        unsigned_body,
        _headers(unsigned, unsigned_body, None),
        False,
    )

    hexed = _payload()
    hex_body = _compact(hexed)
    hex_digest = hmac.new(secret.encode("utf-8"), hex_body, hashlib.sha256).hexdigest()
    judge(
        "rejects_hex_signature",
        "the HMAC in hex instead of Base64 is refused",
        hex_body,
        _headers(hexed, hex_body, None, **{SIGNATURE_HEADER: hex_digest}),
        False,
    )

    unusual = _payload()
    unusual_body = _unusual(unusual)
    judge(
        "accepts_unusual_serialisation",
        "a signed body in another key order, whitespace and escapes gets 200",
        unusual_body,
        _headers(unusual, unusual_body, secret),
        True,
    )

    retried = _payload()
    retried_body = _compact(retried)
    first = _headers(retried, retried_body, secret)
    title = "the same EventId twice (X-SuperOffice-Retry 0, then 1) gets 200 both times"
    counts = [side_effects()] if side_effects else []
    judge("tolerates_retry", title, retried_body, first, True)
    counts += [side_effects()] if side_effects else []
    if results[-1].passed:
        results.pop()
        judge("tolerates_retry", title, retried_body, {**first, RETRY_HEADER: "1"}, True)
        counts += [side_effects()] if side_effects else []
    if side_effects:
        results.append(_processed_once(counts))
    return Report(target, results)


def _processed_once(counts: list[int]) -> ReceiverCheck:
    name, title = "processes_retry_once", "a retry of a processed EventId has no second side effect"
    if len(counts) < 3:
        return ReceiverCheck(name, title, False, "not judged: the first delivery was not answered 200")
    before, first, retry = counts
    if first - before != 1:
        detail = f"the first delivery changed the side-effect count by {first - before}, not 1"
        if first == before:
            detail += " (processed in the background, or the hook counts something else? the check sees only what the hook counts when the answer arrives)"
        return ReceiverCheck(name, title, False, detail)
    if retry != first:
        return ReceiverCheck(
            name,
            title,
            False,
            f"the retry (same EventId, X-SuperOffice-Retry: 1) was processed again: the count went from {first} to {retry}",
        )
    return ReceiverCheck(name, title, True, "")


def url_sender(url: str, *, ca_file: str | None = None, verify: bool = True, timeout: float = 10.0) -> Send:
    """Each delivery one bounded POST (``contracts.poster``): ``timeout`` for the whole exchange, at
    most 64 KiB of an answer read, redirects not followed; a PostError fails that check."""

    def send(body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        answer = post(url, body, headers, timeout=timeout, ca_file=ca_file, verify=verify)
        return answer.status, answer.text

    return send


def wsgi_sender(app: Any, path: str = "/") -> Send:
    from werkzeug.test import Client

    client = Client(app)

    def send(body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        response = client.post(path, data=body, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    return send
