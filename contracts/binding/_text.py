"""Text as .NET reads and compares it: ``fold`` (``OrdinalIgnoreCase``), ``char.IsWhiteSpace`` and
trimming, ``NumberStyles.Integer`` and ``NumberStyles.Float``; and values and names as notes show them."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

# NumberStyles.Integer: white space (U+0009 to U+000D, U+0020) around, a leading sign, ASCII digits
_DOTNET_INTEGER = re.compile(r"[\t\n\v\f\r ]*([+-]?[0-9]+)[\t\n\v\f\r ]*", re.ASCII)
# NumberStyles.Float | NumberStyles.AllowThousands, invariant culture
_DOTNET_FLOAT = re.compile(
    r"[\t\n\v\f\r ]*([+-]?(?:[0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[\t\n\v\f\r ]*", re.ASCII
)
_SHOWN = 40
_LONGEST_SHOWN = 100  # an unknown member's name, in notes


def fold(text: str) -> str:
    """``text`` as ``OrdinalIgnoreCase`` compares it: upper-cased character by character by the
    simple mapping; a character whose mapping is not one character, or would turn a non-ASCII
    character into an ASCII one, stays as it is."""
    if text.isascii():
        return text.upper()
    return "".join(_fold_char(c) for c in text)


def _fold_char(char: str) -> str:
    upper = char.upper()
    if len(upper) != 1 or (upper.isascii() and not char.isascii()):
        return char
    return upper


def _is_dotnet_space(char: str) -> bool:
    """``char.IsWhiteSpace``: U+0009 to U+000D, U+0085, and the separators (Zs, Zl, Zp)."""
    return char in "\t\n\v\f\r\x85" or unicodedata.category(char) in ("Zs", "Zl", "Zp")


def _dotnet_trim(text: str, also: str = "") -> str:
    start, end = 0, len(text)
    while start < end and (_is_dotnet_space(text[start]) or text[start] in also):
        start += 1
    while end > start and (_is_dotnet_space(text[end - 1]) or text[end - 1] in also):
        end -= 1
    return text[start:end]


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _name_shown(name: str) -> str:
    return name if len(name) <= _LONGEST_SHOWN else name[: _LONGEST_SHOWN - 1] + "…"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "the boolean"
    if isinstance(value, (int, float)):
        return "the number"
    return "the string"
