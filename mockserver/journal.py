"""A bounded journal of every request the mock answered, with its verdict; secrets masked.

The newest ``limits.journal_entries`` entries are kept (per process). Credentials
(Authorization, Cookie, X-XSRF-TOKEN, SO-AppToken) are replaced by ``***`` before anything is
recorded; every ``Secret`` value in a body is replaced whenever an entry's body is read (``body``,
``to_json()``, the journal endpoint), so that masking costs nothing on the request path and
nothing the journal hands out holds a secret. Of a body that was not read (not valid in its
content type) the first 4096 bytes are kept, as text, with the value of every ``Secret`` key
masked in its JSON, XML or form spelling; a text that still names a secret after that is not
shown at all. A violation (which may quote the value it judges) is stored with the request's
secrets and credentials masked, so that neither the journal nor the log line carries them; so is
a warning (a conversion binding made, ``contracts.binding``, which may quote the value too).
The masking itself is ``mockserver.masking``'s.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import Headers

from mockserver.masking import SENSITIVE_HEADERS, mask_body, mask_headers, mask_secrets, mask_text, secrets_in

# the masking names are re-exported for callers that import them from here
__all__ = ["Journal", "JournalEntry", "mask_body", "mask_headers", "mask_text", "secrets_in"]

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
    warnings: list[str] = field(default_factory=list)  # what binding converted (contracts.binding)
    response_violations: list[str] = field(default_factory=list)
    duration_ms: float | None = None
    raw: bytes = field(default=b"", repr=False)  # the first 4096 bytes of the body, as sent
    decoded: Any = field(default=_UNREAD, repr=False)  # the body's value, once it was read

    def __setattr__(self, name: str, value: Any) -> None:
        # a violation may quote the value it judges: no secret of the request is kept in one
        if name in ("violations", "warnings", "response_violations") and value:
            secrets = self._secrets()
            value = [mask_secrets(str(v), secrets) for v in value] if secrets else value
        object.__setattr__(self, name, value)

    def _secrets(self) -> list[str]:
        found = [] if self.decoded is _UNREAD else secrets_in(self.decoded)
        for key, value in self.raw_headers:
            if _header_name(key).lower() in SENSITIVE_HEADERS and value:
                found += [value, *value.split()[1:]]  # "Basic dGplMDpUamUw" and its credentials
        return [s for s in found if s]

    def request_headers(self) -> Headers:
        """The request's headers as sent, credentials included: for attributing the entry to a
        caller (``mockserver.admin``), never handed out."""
        return Headers([(_header_name(key), value) for key, value in self.raw_headers])

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
            "warnings": list(self.warnings),
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

    def clear(self, which: Callable[[JournalEntry], bool] | None = None) -> None:
        """Forget every entry, or those ``which`` selects."""
        with self._lock:
            if which is None:
                self._entries.clear()
                return
            kept = [entry for entry in self._entries if not which(entry)]
            self._entries.clear()
            self._entries.extend(kept)
