"""A delivery kept as a fixture file: what ``sowebhook listen --save`` writes and what ``send --fixture``
and the ``sowebhook_replay`` fixture read.

The format (``"format": "sowebhook-delivery"``, ``"version": 1``) is one JSON object per file::

    {"format": "sowebhook-delivery", "version": 1,
     "received": "2026-11-29T19:21:10.123456Z",          # UTC, when the body was read
     "method": "POST", "path": "/webhook",
     "headers": [["Content-Type", "application/json; charset=utf-8"], ...],   # as received, in order
     "body": {"encoding": "utf-8", "text": "{...}"},      # or {"encoding": "base64", "data": "..."}
     "verdicts": {"signature": "valid", "violations": []},  # valid | invalid | missing | unchecked
     "answer": {"status": 200, "by": "listen"}}             # listen | respond | forward | error

The body is exact: ``utf-8`` text when the bytes are valid UTF-8 (JSON escapes the text, so the
file holds it losslessly), base64 of the bytes otherwise. Credential headers a proxy or a webhook's
own Headers may add (``contracts.credentials.CREDENTIAL_HEADERS``: ``Authorization``, ``Cookie``,
``SO-AppToken``, ``X-XSRF-TOKEN``...) are stored masked; the signature is kept (it is an HMAC, not the
secret). File names sort by the time of receipt: ``20261129T191510123456Z-0001-contact.created.json``.
A newer ``version`` is refused, never guessed at.

Errors::

    FixtureError    a file that is not a readable delivery of this format, or a body without an EventId
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import os
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from contracts.credentials import CREDENTIAL_HEADERS
from contracts.events import EVENT_HEADER, EVENT_ID_HEADER, RETRY_HEADER
from contracts.signatures import SIGNATURE_HEADER, sign, verify_signature

__all__ = ["FORMAT", "VERSION", "FixtureError", "SavedDelivery", "load", "load_many", "save", "with_event_id"]

FORMAT = "sowebhook-delivery"
VERSION = 1
MAX_FILE_BYTES = 16 * 1024 * 1024
_MASKED = CREDENTIAL_HEADERS
_NOT_REPLAYED = frozenset({"host", "content-length", "connection", "transfer-encoding", "keep-alive"})
_sequence = itertools.count(1)
_sequence_lock = threading.Lock()


class FixtureError(ValueError):
    """Not a readable delivery fixture; the message is one line and names the file."""


@dataclass
class SavedDelivery:
    headers: list[tuple[str, str]]
    body: bytes
    received: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    method: str = "POST"
    path: str = "/"
    signature: str = "unchecked"
    violations: list[str] = field(default_factory=list)
    status: int | None = None
    answered_by: str = "listen"
    source: str = "<memory>"

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def event(self) -> str:
        return self.header(EVENT_HEADER) or "unknown"

    def to_json(self) -> dict[str, Any]:
        try:
            body: dict[str, str] = {"encoding": "utf-8", "text": self.body.decode("utf-8")}
        except UnicodeDecodeError:
            body = {"encoding": "base64", "data": base64.b64encode(self.body).decode("ascii")}
        return {
            "format": FORMAT,
            "version": VERSION,
            "received": self.received.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "method": self.method,
            "path": self.path,
            "headers": [[k, "***" if k.lower() in _MASKED else v] for k, v in self.headers],
            "body": body,
            "verdicts": {"signature": self.signature, "violations": list(self.violations)},
            "answer": {"status": self.status, "by": self.answered_by},
        }

    @classmethod
    def from_json(cls, data: Any, source: str = "<memory>") -> SavedDelivery:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise FixtureError(f"{source}: not a {FORMAT} file")
        if data.get("version") != VERSION:
            raise FixtureError(
                f"{source}: version {data.get('version')!r} of {FORMAT}; this tool reads version {VERSION}"
            )
        try:
            encoded = data["body"]
            if encoded["encoding"] == "utf-8":
                body = encoded["text"].encode("utf-8")
            elif encoded["encoding"] == "base64":
                body = base64.b64decode(encoded["data"], validate=True)
            else:
                raise FixtureError(f"{source}: unknown body encoding {encoded['encoding']!r}")
            headers = [(str(k), str(v)) for k, v in data["headers"]]
            verdicts, answer = data.get("verdicts") or {}, data.get("answer") or {}
            received = datetime.strptime(data["received"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=timezone.utc
            )
            return cls(
                headers,
                body,
                received,
                str(data.get("method", "POST")),
                str(data.get("path", "/")),
                str(verdicts.get("signature", "unchecked")),
                list(verdicts.get("violations", [])),
                answer.get("status"),
                str(answer.get("by", "listen")),
                source,
            )
        except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as error:
            if isinstance(error, FixtureError):
                raise
            raise FixtureError(
                f"{source}: malformed {FORMAT} file ({type(error).__name__}: {error})"
            ) from None

    def signed_by(self, secret: str) -> bool:
        """Whether the saved signature is the body's under ``secret``: False for a body edited after it was signed."""
        return verify_signature(secret, self.body, self.header(SIGNATURE_HEADER))

    def resigned(self, secret: str | None, *, same_event_id: bool = False) -> tuple[bytes, dict[str, str]]:
        """The body and headers to send again: a fresh EventId in the body and its header (every other
        byte kept; F-214) unless ``same_event_id``, and the signature made with ``secret`` (none without)."""
        body = self.body
        headers = {k: v for k, v in self.headers if k.lower() not in _NOT_REPLAYED | _MASKED}
        if not same_event_id:
            fresh = str(uuid.uuid4())
            body = with_event_id(body, fresh, source=self.source)
            headers = _replace(headers, EVENT_ID_HEADER, fresh)
            headers = (
                _replace(headers, RETRY_HEADER, "0") if self.header(RETRY_HEADER) is not None else headers
            )
        headers = {k: v for k, v in headers.items() if k.lower() != SIGNATURE_HEADER.lower()}
        if secret is not None:
            headers[SIGNATURE_HEADER] = sign(secret, body)
        return body, headers


def _replace(headers: dict[str, str], name: str, value: str) -> dict[str, str]:
    kept = {k: v for k, v in headers.items() if k.lower() != name.lower()}
    return {**kept, name: value}


_EVENT_ID = re.compile(rb'("EventId"\s*:\s*")([^"\\]*)(")')


def with_event_id(body: bytes, event_id: str, *, source: str = "the body") -> bytes:
    """``body`` with the value of its one ``"EventId": "..."`` member replaced; every other byte kept."""
    found = list(_EVENT_ID.finditer(body))
    if len(found) != 1:
        raise FixtureError(
            f'{source}: {"no" if not found else len(found)} "EventId" member(s) in the body to replace (use --same-event-id)'
        )
    match = found[0]
    return body[: match.start(2)] + event_id.encode("ascii") + body[match.end(2) :]


def save(directory: str | os.PathLike[str], delivery: SavedDelivery) -> Path:
    """Write ``delivery`` as a new file in ``directory`` (created if missing); atomically, so that
    a reader never sees half a file."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    with _sequence_lock:
        number = next(_sequence)
    stamp = delivery.received.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    event = re.sub(r"[^A-Za-z0-9_.-]", "_", delivery.event)[:80]
    path = folder / f"{stamp}-{number:04d}-{event}.json"
    partial = path.with_suffix(".part")
    partial.write_text(_readable(delivery.to_json()), encoding="utf-8")
    partial.replace(path)
    delivery.source = str(path)
    return path


def _readable(data: dict[str, Any]) -> str:
    """JSON with one member a line and one header a line (diffs of fixtures stay small)."""
    members = []
    for name, value in data.items():
        if name == "headers" and value:
            text = "[\n" + ",\n".join("  " + json.dumps(pair, ensure_ascii=False) for pair in value) + "\n ]"
        else:
            text = json.dumps(value, ensure_ascii=False)
        members.append(f" {json.dumps(name)}: {text}")
    return "{\n" + ",\n".join(members) + "\n}\n"


def load(path: str | os.PathLike[str]) -> SavedDelivery:
    """One fixture file; FixtureError (one line) for anything else."""
    name = str(path)
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise FixtureError(f"{name}: cannot read it ({error.strerror or error})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise FixtureError(f"{name}: over {MAX_FILE_BYTES} bytes; not a delivery fixture")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise FixtureError(f"{name}: not JSON ({error})") from None
    return SavedDelivery.from_json(data, name)


def load_many(path: str | os.PathLike[str]) -> list[SavedDelivery]:
    """A fixture file, or every ``*.json`` of a folder in name order (the order they were received)."""
    folder = Path(path)
    if folder.is_dir():
        files = sorted(folder.glob("*.json"))
        if not files:
            raise FixtureError(f"{folder}: no *.json delivery fixtures in it")
        return [load(file) for file in files]
    return [load(folder)]
