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
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import unquote_plus

from werkzeug.datastructures import Headers

__all__ = ["Journal", "JournalEntry", "mask_body", "mask_headers", "mask_text"]

MASK = "***"
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-xsrf-token", "so-apptoken"})
_WITHHELD = "(not shown: the body names a Secret in a form the journal cannot mask)"


def mask_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name: (MASK if name.lower() in SENSITIVE_HEADERS else value) for name, value in headers}


def mask_body(value: Any) -> Any:
    """A copy of a decoded body with every ``Secret`` value masked, at any depth."""
    if isinstance(value, dict):
        return {k: (MASK if k.lower() == "secret" and v is not None else mask_body(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_body(v) for v in value]
    return value


def secrets_in(value: Any) -> list[str]:
    """Every ``Secret`` value in a decoded body, at any depth, as text (a Secret sent as a list or
    an object gives its JSON and every string in it)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and key.lower() == "secret" and item is not None:
                found += [item] if isinstance(item, str) else [json.dumps(item, ensure_ascii=False), *_strings(item)]
            else:
                found += secrets_in(item)
    elif isinstance(value, list):
        for item in value:
            found += secrets_in(item)
    return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


# -- the text of a body that was not decoded ----------------------------------------------------

_JSON_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*')
_XML_SECRET = re.compile(
    r"(<(?:[\w.-]+:)?Secret\b[^>]*?(?<!/)>)(.*?)(?=</(?:[\w.-]+:)?Secret\s*>|\Z)", re.IGNORECASE | re.DOTALL
)
_XML_ATTRIBUTE = re.compile(r"""(\bSecret\s*=\s*)("[^"]*"?|'[^']*'?)""", re.IGNORECASE)
_FORM = re.compile(r"[^\s{}<>\[\]\"]+")
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_MASKED = re.compile(
    r"""(?:"secret"\s*:\s*"\*\*\*"|<(?:[\w.-]+:)?secret\b[^>]*>\*\*\*(?:</(?:[\w.-]+:)?secret\s*>)?"""
    r"""|<(?:[\w.-]+:)?secret\b[^>]*/>|(?:^|&)secret=\*\*\*|\bsecret\s*=\s*"\*\*\*")""",
    re.IGNORECASE,
)


def _json_value_end(text: str, start: int) -> int:
    """Where the JSON value starting at ``start`` ends (or the end of a cut-off text)."""
    if start >= len(text):
        return start
    if text[start] == '"':
        i = start + 1
        while i < len(text):
            if text[i] == "\\":
                i += 2
                continue
            if text[i] == '"':
                return i + 1
            i += 1
        return len(text)
    if text[start] in "[{":
        depth, i = 0, start
        while i < len(text):
            char = text[i]
            if char == '"':
                i = _json_value_end(text, i)
                continue
            if char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return len(text)
    match = re.compile(r"[,}\]\s]").search(text, start)
    return match.start() if match else len(text)


def _json_key(raw: str) -> str:
    try:
        return str(json.loads(f'"{raw}"'))
    except ValueError:
        return raw


def _mask_json(text: str) -> str:
    out, pos = [], 0
    for match in _JSON_KEY.finditer(text):
        if match.start() < pos or _json_key(match.group(1)).casefold() != "secret":
            continue
        out += [text[pos : match.end()], f'"{MASK}"']
        pos = _json_value_end(text, match.end())
    return "".join(out) + text[pos:]


def _mask_form(text: str) -> str:
    if not _FORM.fullmatch(text):
        return text
    pairs = []
    for pair in text.split("&"):
        key, equals, value = pair.partition("=")
        if equals and ("secret" in unquote_plus(key).casefold() or "secret" in unquote_plus(value).casefold()):
            value = MASK
        pairs.append(f"{key}{equals}{value}")
    return "&".join(pairs)


def _normal(text: str) -> str:
    text = _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return unquote_plus(text).casefold()


def mask_text(text: str) -> str:
    """The text of a body with the value of every ``Secret`` masked (JSON, XML or form spelling);
    a note instead of the text when it still names a secret that could not be told apart."""
    text = _mask_json(text)
    text = _XML_SECRET.sub(lambda m: m.group(1) + MASK, text)
    text = _XML_ATTRIBUTE.sub(lambda m: m.group(1) + f'"{MASK}"', text)
    text = _mask_form(text)
    if "secret" in _MASKED.sub("", _normal(text)):
        return _WITHHELD
    return text


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every given secret masked: as sent, as Python or JSON quotes it, and a
    prefix of it cut off with "…" (messages shorten long values so)."""
    for secret in secrets:
        forms = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
        for form in sorted(forms, key=len, reverse=True):
            if len(form) >= 4:
                text = text.replace(form, MASK)
            else:
                for quote in "'\"":
                    text = text.replace(f"{quote}{form}{quote}", f"{quote}{MASK}{quote}")
            text = _mask_cut_prefix(text, form)
    return text


def _mask_cut_prefix(text: str, form: str) -> str:
    at = text.find("…")
    while at != -1:
        for length in range(min(len(form), at), min(len(form), 4) - 1, -1):
            if length and text[at - length : at] == form[:length]:
                text = text[: at - length] + MASK + text[at + 1 :]
                at = at - length + len(MASK) - 1
                break
        at = text.find("…", at + 1)
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
