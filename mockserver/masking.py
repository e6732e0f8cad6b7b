"""Masking: secrets and credentials out of headers, decoded bodies, body texts and messages.

Credentials (Authorization, Cookie, X-XSRF-TOKEN, SO-AppToken) are replaced by ``***``; so is the
value of every ``Secret`` key in a decoded body, at any depth. In the text of a body that was not
decoded the value of every ``Secret`` key is masked in its JSON, XML or form spelling; a text that
still names a secret after that is withheld. A message (which may quote a value) has every given
secret masked, however it is quoted or cut short.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_plus

from contracts.credentials import CREDENTIAL_HEADERS

__all__ = [
    "MASK",
    "SENSITIVE_HEADERS",
    "mask_body",
    "mask_headers",
    "mask_json",
    "mask_secrets",
    "mask_text",
    "secret_forms",
    "secrets_in",
]

MASK = "***"
SENSITIVE_HEADERS = CREDENTIAL_HEADERS
_WITHHELD = "(not shown: the body names a Secret in a form the journal cannot mask)"


def mask_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name: (MASK if name.lower() in SENSITIVE_HEADERS else value) for name, value in headers}


def _secret_key(key: Any) -> bool:
    """``Secret``, or the name of a credential header (a webhook's own ``Headers`` may carry an
    ``Authorization`` for its target), in any letter case."""
    return isinstance(key, str) and (key.lower() == "secret" or key.lower() in SENSITIVE_HEADERS)


def mask_body(value: Any) -> Any:
    """A copy of a decoded body with the value of every ``Secret`` and credential header masked,
    at any depth."""
    if isinstance(value, dict):
        return {k: (MASK if _secret_key(k) and v is not None else mask_body(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_body(v) for v in value]
    return value


def secrets_in(value: Any) -> list[str]:
    """Every ``Secret`` (and credential header) value in a decoded body, at any depth, as text (a
    Secret sent as a list or an object gives its JSON and every string in it)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if _secret_key(key) and item is not None:
                found += (
                    [item]
                    if isinstance(item, str)
                    else [json.dumps(item, ensure_ascii=False), *_strings(item)]
                )
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
# a webhook's own Headers in XML (StringKeyValuePair): the Value of a credential header's Key
_XML_HEADER_VALUE = re.compile(
    r"(<(?:[\w.-]+:)?Key\b[^>]*>\s*(?:" + "|".join(map(re.escape, sorted(SENSITIVE_HEADERS))) + r")\s*"
    r"</(?:[\w.-]+:)?Key\s*>\s*<(?:[\w.-]+:)?Value\b[^>]*?(?<!/)>)(.*?)(?=</(?:[\w.-]+:)?Value\s*>|\Z)",
    re.IGNORECASE | re.DOTALL,
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
        if match.start() < pos or not _secret_key(_json_key(match.group(1))):
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
        if equals and (
            "secret" in unquote_plus(key).casefold() or "secret" in unquote_plus(value).casefold()
        ):
            value = MASK
        pairs.append(f"{key}{equals}{value}")
    return "&".join(pairs)


def _normal(text: str) -> str:
    text = _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return unquote_plus(text).casefold()


def mask_text(text: str) -> str:
    """The text of a body with the value of every ``Secret`` masked (JSON, XML or form spelling),
    and of every credential header a webhook's ``Headers`` carries (JSON, XML);
    a note instead of the text when it still names a secret that could not be told apart."""
    text = _mask_json(text)
    text = _XML_SECRET.sub(lambda m: m.group(1) + MASK, text)
    text = _XML_ATTRIBUTE.sub(lambda m: m.group(1) + f'"{MASK}"', text)
    text = _XML_HEADER_VALUE.sub(lambda m: m.group(1) + MASK, text)
    text = _mask_form(text)
    if "secret" in _MASKED.sub("", _normal(text)):
        return _WITHHELD
    return text


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every given secret masked: as sent, as Python or JSON quotes it, and a
    prefix of it cut off with "…" (messages shorten long values so)."""
    cut = "…" in text
    for secret in secrets:
        for form in secret_forms(secret):
            if len(form) >= 4:
                if form in text:
                    text = text.replace(form, MASK)
            else:
                for quote in "'\"":
                    text = text.replace(f"{quote}{form}{quote}", f"{quote}{MASK}{quote}")
            if cut:
                text = _mask_cut_prefix(text, form)
    return text


@functools.lru_cache(maxsize=1024)
def secret_forms(secret: str) -> tuple[str, ...]:
    """A secret as sent and as Python or JSON quote it, longest first: the spellings
    ``mask_secrets`` masks (the journal masks every string of every entry with every configured
    credential: these are worked out once a secret)."""
    forms = {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    return tuple(sorted((form for form in forms if form), key=len, reverse=True))


def mask_json(value: Any, secrets: list[str]) -> Any:
    """A copy of ``value`` (JSON) with every one of ``secrets`` masked in every string of it, keys
    included."""
    if isinstance(value, str):
        return mask_secrets(value, secrets)
    if isinstance(value, dict):
        return {mask_json(key, secrets): mask_json(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_json(item, secrets) for item in value]
    return value


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
