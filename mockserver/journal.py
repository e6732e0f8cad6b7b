"""A bounded journal of every request the mock answered, with its verdict; secrets masked.

The newest ``limits.journal_entries`` entries are kept (per process). Credentials
(Authorization, Cookie, X-XSRF-TOKEN, SO-AppToken) and every ``Secret`` value in a body are
replaced by ``***`` before anything is recorded.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
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


@dataclass
class JournalEntry:
    id: int
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    operation: str | None = None
    status: int | None = None
    verdict: str = "pending"  # valid | invalid | rejected | injected | error
    violations: list[str] = field(default_factory=list)
    response_violations: list[str] = field(default_factory=list)
    duration_ms: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Journal:
    def __init__(self, size: int) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def begin(self, method: str, path: str, query: Mapping[str, str], headers: Iterable[tuple[str, str]], raw: bytes) -> JournalEntry:
        text = raw[:4096].decode("utf-8", "replace")
        entry = JournalEntry(
            id=next(self._ids),
            method=method,
            path=path,
            query=dict(query),
            headers=mask_headers(headers),
            body=mask_text(text) if text else None,
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
