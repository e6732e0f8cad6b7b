"""``sowebhook send``: one signed delivery, as SuperOffice sends it, to a receiver.

Three sources of a body: a documented event built as its reference page shows it
(``from_event``), a saved delivery re-signed (``from_fixture``: exact bytes, a fresh EventId
unless asked to keep it), or any file signed as it is (``from_body``). Each gives an ``Outgoing``
(body, headers, and notes for the user), which ``Outgoing.send`` posts once through the bounded
client (``contracts.poster``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.delivery_fixture import load
from contracts.events import (
    build_payload,
    delivery_headers,
    documented_events,
    encode,
    event_info,
    wire_event,
)
from contracts.poster import Answer, post

__all__ = ["Outgoing", "from_body", "from_event", "from_fixture", "parse_field"]


@dataclass(frozen=True)
class Outgoing:
    body: bytes
    headers: dict[str, str]
    notes: list[str] = field(default_factory=list)

    def send(
        self, url: str, *, timeout: float = 10.0, ca_file: str | None = None, verify: bool = True
    ) -> Answer:
        return post(url, self.body, self.headers, timeout=timeout, ca_file=ca_file, verify=verify)


def parse_field(text: str) -> tuple[str, Any]:
    """``KEY=VALUE``; the value read as JSON when it is JSON (``7``, ``null``, ``"x"``), else as text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--field {text!r}: expected KEY=VALUE")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def from_event(
    event: str,
    secret: str | None,
    *,
    primary_key: int = 0,
    fields: Mapping[str, Any] | None = None,
    webhook_name: str | None = "sowebhook",
    context_identifier: str = "Default",
    changed_by: int = 0,
) -> Outgoing:
    """A delivery of ``event`` (``test``: the registration ping) built as the reference pages show it."""
    info = event_info(event)  # ValueError for a name that is no event
    notes = []
    if event not in documented_events() and not info.state:
        notes.append(
            f"{event} is not a documented event (sowebhook events lists them); sent as a custom event"
        )
    header_event = wire_event(event, primary_key) if info.state else event
    payload = build_payload(
        event,
        primary_key=primary_key,
        fields=fields,
        webhook_name=webhook_name,
        context_identifier=context_identifier,
        changed_by=changed_by,
    )
    body = encode(payload)
    return Outgoing(body, delivery_headers(header_event, payload["EventId"], body, secret), notes)


def from_fixture(path: str, secret: str | None, *, same_event_id: bool = False) -> Outgoing:
    """A saved delivery, re-signed with ``secret``: a note when its saved signature is not its body's
    under that secret (a body edited after it was received, or another secret)."""
    saved = load(path)
    notes = []
    if secret is not None and saved.signature != "missing" and not saved.signed_by(secret):
        notes.append(
            f"{path}: its saved signature does not match its body under this secret (edited after it was received, or signed with another secret); sent re-signed"
        )
    body, headers = saved.resigned(secret, same_event_id=same_event_id)
    return Outgoing(body, headers, notes)


def from_body(data: bytes, secret: str | None, *, event: str | None = None) -> Outgoing:
    """Any body, signed as it is; the event and EventId headers from the body when it has them."""
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        parsed = None
    payload = parsed if isinstance(parsed, dict) else {}
    name = event or payload.get("Event")
    if not name or not isinstance(name, str):
        raise ValueError("the body names no Event: say which with --event")
    event_id = str(payload.get("EventId") or uuid.uuid4())
    notes = [] if payload else ["the body is not a JSON object: sent as it is"]
    return Outgoing(data, delivery_headers(name, event_id, data, secret), notes)
