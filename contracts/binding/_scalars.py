"""Strings, integers, numbers and booleans: Json.NET's lenient conversions between them (``ReadAsInt32``,
``ReadAsString``, ``ReadAsBoolean``, ``ReadAsDouble``), each noted as a warning."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from contracts.binding._nodes import _ALL, _NONE, Node
from contracts.binding._notes import Note, _Context
from contracts.binding._text import _DOTNET_FLOAT, _DOTNET_INTEGER, _dotnet_trim, _kind, _shown

# what each JSON type can be converted *from* (Json.NET's readers), by the schema's type
_CONVERTIBLE: dict[str, frozenset[type]] = {
    "string": frozenset({int, float, bool}),
    "integer": frozenset({str}),
    "number": frozenset({str}),
    "boolean": frozenset({int, float, str}),
}
_NATIVE: dict[str, frozenset[type]] = {
    "string": frozenset({str}),
    "integer": frozenset({int}),
    "number": frozenset({int, float}),
    "boolean": frozenset({bool}),
    "null": frozenset({_NONE}),
    "object": frozenset({dict}),
    "array": frozenset({list}),
}
_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_LONGEST_SCALAR = 400  # a text longer than this is no number or boolean .NET reads (nor padding of one)


class _Scalar(Node):
    """A string, integer, number or boolean schema (or a union of them): Json.NET's conversions."""

    def __init__(self, types: frozenset[str], integer_format: str | None) -> None:
        self.types = types
        native = frozenset().union(*(_NATIVE.get(t, frozenset()) for t in types))
        convertible = frozenset().union(*(_CONVERTIBLE.get(t, frozenset()) for t in types)) - native
        self.ok = _ALL - convertible
        self.low, self.high = _RANGES.get(integer_format or "int64", _RANGES["int64"])

    def bind(self, value: Any, path: tuple[Any, ...], ctx: _Context) -> Any:
        kind = type(value)
        result: Any = value
        types = self.types
        if kind is str and value == "" and "null" in types and "string" not in types:
            result = None  # ReadInt32String, ReadBooleanString, ReadDoubleString: empty is null
        elif kind is str:
            if "integer" in types:
                result = self._integer(value)
            if result is value and "number" in types:
                result = _number(value)
            if result is value and "boolean" in types:
                result = _boolean(value)
        elif kind in (int, float):
            if "string" in types:
                text = str(value) if kind is int else _float_text(value)
                shown = json.dumps(text, ensure_ascii=False)
                message = f"the number was read as the string {shown} (Json.NET converts it)"
                ctx.add(Note("converted", path, message))
                return text
            if "boolean" in types:
                result = value != 0
        elif kind is bool and "string" in types:
            text = "true" if value else "false"
            message = f'the boolean was read as the string "{text}" (Json.NET converts it)'
            ctx.add(Note("converted", path, message))
            return text
        if result is not value:
            message = f"{_kind(value)} {_shown(value)} was read as {_shown(result)} (Json.NET converts it)"
            ctx.add(Note("converted", path, message))
        return result

    def _integer(self, text: str) -> Any:
        if len(text) > _LONGEST_SCALAR:
            return text
        match = _DOTNET_INTEGER.fullmatch(text)
        if match is None or len(match.group(1)) > 30:
            return text
        number = int(match.group(1))
        return number if self.low <= number <= self.high else text


def _number(text: str) -> Any:
    if len(text) > _LONGEST_SCALAR:
        return text
    match = _DOTNET_FLOAT.fullmatch(text)
    if match is None:
        return text
    digits = match.group(1).replace(",", "")
    try:
        number = float(digits)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text  # a double's overflow: no JSON number carries it
    return int(digits) if re.fullmatch(r"[+-]?[0-9]+", digits) else number


def _boolean(text: str) -> Any:
    """``bool.TryParse``: ``True``/``False`` in any casing, white space and NULs around ignored."""
    if len(text) > _LONGEST_SCALAR:
        return text
    word = _dotnet_trim(text, "\0")
    if word.isascii() and word.lower() in ("true", "false"):
        return word.lower() == "true"
    return text


def _float_text(value: float) -> str:
    """A double as text. Json.NET keeps the number's text as sent (``1.50`` stays ``1.50``); the
    decoded value no longer has it, so this is Python's shortest round-trip form (F-175)."""
    return repr(value)
