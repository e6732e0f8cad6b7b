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

On a SQL store (``SharedJournal``) the journal is the store's, shared by every process on it: an
entry is written when its request is answered (``finish``), as its JSON (what the journal
endpoint shows: credentials and Secrets masked, and every credential of the request masked
wherever else it appears), with the caller it is attributed to; the request's raw headers never
leave the process that received them (docs/fidelity.md F-252).
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from werkzeug.datastructures import Headers

from contracts.wire import encode_json
from mockserver.auth import Authenticator
from mockserver.config import MockConfig
from mockserver.errors import MockError
from mockserver.masking import (
    SENSITIVE_HEADERS,
    mask_body,
    mask_headers,
    mask_json,
    mask_secrets,
    mask_text,
    secret_forms,
    secrets_in,
)
from mockserver.rows import SharedStore, load_json
from mockserver.store import Store, is_shared

log = logging.getLogger("sowebhook.mock")

# the masking names are re-exported for callers that import them from here
__all__ = [
    "Journal",
    "JournalEntry",
    "SharedJournal",
    "attribute",
    "credentials",
    "mask_body",
    "mask_headers",
    "mask_text",
    "open_journal",
    "secrets_in",
]

_UNREAD = object()
_KEPT = 4096  # bytes of a request's and of an answer's body that an entry keeps
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
    # (credited, application) of an entry read from a SQL store, whose raw headers stayed behind
    attribution: tuple[bool, str | None] | None = field(default=None, repr=False)
    received: float = field(default_factory=time.time, repr=False)  # when the request came in (epoch s)
    answer: bytes = field(default=b"", repr=False)  # the first 4096 bytes of the answer's body, as sent
    answer_type: str | None = None  # the answer's Content-Type
    shown_answer: Any = field(default=_UNREAD, repr=False)  # an entry read from a SQL store: masked already

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

    @property
    def answer_body(self) -> Any:
        """The answer's body, every secret masked (a webhook's answer carries its Secret): its
        JSON value when whole and JSON, else its text."""
        if self.shown_answer is not _UNREAD:
            return self.shown_answer
        if not self.answer:
            return None
        text = self.answer.decode("utf-8", "replace")
        if self.answer_type and "json" in self.answer_type.lower() and len(self.answer) < _KEPT:
            try:
                return mask_body(json.loads(text))
            except ValueError:
                pass
        return mask_text(text)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": datetime.fromtimestamp(self.received, timezone.utc).isoformat(timespec="milliseconds"),
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
            "answer_type": self.answer_type,
            "answer": self.answer_body,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any], attribution: tuple[bool, str | None]) -> JournalEntry:
        """An entry as ``to_json`` gave it (its headers and body masked already)."""
        entry = cls(
            id=value["id"],
            method=value["method"],
            path=value["path"],
            query=value["query"],
            raw_headers=[
                (f"HTTP_{name.upper().replace('-', '_')}", text) for name, text in value["headers"].items()
            ],
            operation=value["operation"],
            status=value["status"],
            verdict=value["verdict"],
            duration_ms=value["duration_ms"],
            attribution=attribution,
            answer_type=value.get("answer_type"),
            shown_answer=value.get("answer"),
        )
        if value.get("time"):
            entry.received = datetime.fromisoformat(value["time"]).timestamp()
        if value["body"] is not None:
            entry.decoded = value["body"]
        for name in ("violations", "warnings", "response_violations"):
            object.__setattr__(entry, name, value[name])  # masked when they were recorded
        return entry


def attribute(auth: Authenticator, entry: JournalEntry) -> tuple[bool, str | None]:
    """Whether the entry's credentials name a caller, and that caller's application (Online)."""
    if entry.attribution is not None:
        return entry.attribution
    try:
        return True, auth.authenticate(entry.request_headers(), {}).owner
    except MockError:
        return False, None


class Journal:
    """The journal of one process (the memory store's)."""

    def __init__(self, size: int) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def begin(
        self, method: str, path: str, query: Mapping[str, str], environ: Mapping[str, Any], raw: bytes
    ) -> JournalEntry:
        """A new entry for a request (its headers as the WSGI ``environ`` holds them)."""
        entry = self._entry(method, path, query, environ, raw)
        with self._lock:
            self._entries.append(entry)
        return entry

    def _entry(
        self, method: str, path: str, query: Mapping[str, str], environ: Mapping[str, Any], raw: bytes
    ) -> JournalEntry:
        headers = [
            (key, value)
            for key, value in environ.items()
            if key.startswith(_HEADER_KEYS) and isinstance(value, str) and (value or key[0] == "H")
        ]
        return JournalEntry(
            id=next(self._ids),
            method=method,
            path=path,
            query=dict(query),
            raw_headers=headers,
            raw=raw[:_KEPT],
        )

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

    def finish(self, entry: JournalEntry) -> None:
        """The entry's request was answered (it is in the journal from ``begin`` on)."""


class SharedJournal(Journal):
    """The journal in a SQL store, shared by every process on it: ``limits.journal_entries`` entries
    in all. An entry is stored when its request is answered, with what ``to_json`` shows of it (the
    request's own credentials masked wherever else they appear) and its attribution."""

    def __init__(
        self, size: int, store: SharedStore, auth: Authenticator, credentials: Sequence[str] = ()
    ) -> None:
        super().__init__(0)
        self._size = size
        self._store = store
        self._auth = auth
        self._credentials = list(credentials)  # the configured ones: masked wherever a request quotes them

    def begin(
        self, method: str, path: str, query: Mapping[str, str], environ: Mapping[str, Any], raw: bytes
    ) -> JournalEntry:
        return self._entry(method, path, query, environ, raw)  # stored once answered (finish)

    def finish(self, entry: JournalEntry) -> None:
        secrets = sorted({*entry._secrets(), *self._credentials}, key=len, reverse=True)
        value = entry.to_json()
        text = encode_json(value).decode()
        if "…" in text or any(form in text for secret in secrets for form in secret_forms(secret)):
            text = encode_json(mask_json(value, secrets)).decode()  # only then: masking every string costs ms
        credited, owner = attribute(self._auth, entry)
        try:
            entry.id = self._store.journal_append(text, owner, credited, self._size)
        except Exception:  # noqa: BLE001 - the request is answered all the same; the log says why
            log.exception("the journal entry of %s %s could not be stored", entry.method, entry.path)

    def entries(self) -> list[JournalEntry]:
        found = []
        for row in self._store.journal_rows(self._size):
            value = load_json(row.entry)
            value["id"] = row.id
            found.append(JournalEntry.from_json(value, (row.credited, row.owner)))
        return found

    def clear(self, which: Callable[[JournalEntry], bool] | None = None) -> None:
        if which is None:
            self._store.journal_delete(None, self._size)
        else:
            self._store.journal_delete([entry.id for entry in self.entries() if which(entry)], self._size)


def open_journal(config: MockConfig, store: Store, auth: Authenticator) -> Journal:
    """The store's journal if processes share the store, else one of this process."""
    size = config.limits.journal_entries
    if not is_shared(store):
        return Journal(size)
    return SharedJournal(size, store, auth, credentials(config))  # type: ignore[arg-type]


def credentials(config: MockConfig) -> list[str]:
    """Every credential of the configuration (each password also as its Basic header's value)."""
    found = [app.app_token for app in config.applications]
    found += [token for app in config.applications for token in app.bearer_tokens]
    for user in config.users:
        found += [*user.tickets, *user.bearer_tokens, *user.xsrf_tokens]
        if user.password:
            found += [user.password, base64.b64encode(f"{user.username}:{user.password}".encode()).decode()]
    return [text for text in found if text]
