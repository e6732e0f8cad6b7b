"""A bounded journal of every request the mock answered, with its verdict; secrets masked.

The newest ``limits.journal_entries`` entries are kept (per process). Credentials
(Authorization, Cookie, X-XSRF-TOKEN, SO-AppToken) are replaced by ``***`` before anything is
recorded; every ``Secret`` value in a body is replaced whenever an entry's body is read (``body``,
``to_json()``, the journal endpoint), so that masking costs nothing on the request path and
nothing the journal hands out holds a secret. Of a body that was not read (not valid in its
content type) the first 4096 bytes are kept, as text.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

__all__ = ["Journal", "JournalEntry", "mask_body", "mask_headers"]

MASK = "***"
SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "x-xsrf-token", "so-apptoken"})
_SECRET_TEXT = [
    re.compile(r'("Secret"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE),
    re.compile(r"(<(?:\w+:)?Secret\b[^>]*>)[^<]*", re.IGNORECASE),
    re.compile(r"((?:^|&)Secret=)[^&]*", re.IGNORECASE),
]


def mask_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name: (MASK if name.lower() in SENSITIVE_HEADERS else value) for name, value in headers}


def mask_body(value: Any) -> Any:
    """A copy of a decoded body with every ``Secret`` value masked, at any depth."""
    if isinstance(value, dict):
        return {k: (MASK if k.lower() == "secret" and v is not None else mask_body(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_body(v) for v in value]
    return value


def mask_text(text: str) -> str:
    for pattern in _SECRET_TEXT:
        text = pattern.sub(lambda m: m.group(1) + (f'"{MASK}"' if m.group(1).rstrip().endswith(":") else MASK), text)
    return text


_UNREAD = object()
_HEADER_KEYS = ("HTTP_", "CONTENT_TYPE", "CONTENT_LENGTH")


def _header_name(key: str) -> str:
    """``HTTP_ACCEPT_LANGUAGE`` -> ``Accept-Language``, as werkzeug's EnvironHeaders names them."""
    return (key[5:] if key.startswith("HTTP_") else key).replace("_", "-").title()


@dataclass
class JournalEntry:
    id: int
    method: str
    path: str
    query: dict[str, str]
    raw_headers: list[tuple[str, str]] = field(default_factory=list, repr=False)  # WSGI names, as sent
    operation: str | None = None
    status: int | None = None
    verdict: str = "pending"  # valid | invalid | rejected | injected | error
    violations: list[str] = field(default_factory=list)
    response_violations: list[str] = field(default_factory=list)
    duration_ms: float | None = None
    raw: bytes = field(default=b"", repr=False)  # the first 4096 bytes of the body, as sent
    decoded: Any = field(default=_UNREAD, repr=False)  # the body's value, once it was read

    @property
    def headers(self) -> dict[str, str]:
        """The request's headers, credentials masked."""
        return mask_headers((_header_name(key), value) for key, value in self.raw_headers)

    @property
    def body(self) -> Any:
        """The body, every secret masked: its value once read, else its text."""
        if self.decoded is not _UNREAD:
            return mask_body(self.decoded)
        text = self.raw.decode("utf-8", "replace")
        return mask_text(text) if text else None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "query": dict(self.query),
            "headers": self.headers,
            "body": self.body,
            "operation": self.operation,
            "status": self.status,
            "verdict": self.verdict,
            "violations": list(self.violations),
            "response_violations": list(self.response_violations),
            "duration_ms": self.duration_ms,
        }


class Journal:
    def __init__(self, size: int) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def begin(
        self, method: str, path: str, query: Mapping[str, str], environ: Mapping[str, Any], raw: bytes
    ) -> JournalEntry:
        """A new entry for a request (its headers as the WSGI ``environ`` holds them)."""
        headers = [
            (key, value)
            for key, value in environ.items()
            if key.startswith(_HEADER_KEYS) and isinstance(value, str) and (value or key[0] == "H")
        ]
        entry = JournalEntry(
            id=next(self._ids), method=method, path=path, query=dict(query), raw_headers=headers, raw=raw[:4096]
        )
        with self._lock:
            self._entries.append(entry)
        return entry

    def entries(self) -> list[JournalEntry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
