"""Enums as ``StringEnumConverter`` reads them (``EnumUtils.ParseEnum``): names in any casing, numbers
when the contract gives them (``x-enum-numbers``), flags (``x-flags``) OR-ed and written back by name."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from contracts.binding._nodes import _ALL, Node
from contracts.binding._notes import Note, _Context
from contracts.binding._text import _DOTNET_INTEGER, _dotnet_trim, _kind, _shown, fold


class _Enum(Node):
    """An enum of names: ``enum`` (with ``x-enum-numbers``), or flags (``x-flags``)."""

    def __init__(self, names: list[str], numbers: Mapping[str, int] | None, flags: bool) -> None:
        self.names = names
        self.known = frozenset(names)
        self.folded: dict[str, str] = {}
        for name in names:
            self.folded.setdefault(fold(name), name)
        self.numbers = dict(numbers) if numbers else None
        self.flags = flags
        self.texts = frozenset() if flags else self.known
        self.longest = 2 * sum(len(name) + 2 for name in names) + 64
        self.ok = _ALL - {str, int}
        # (value, name), by value: EnumInfo sorts values as unsigned numbers
        pairs = ((number, name) for name, number in (self.numbers or {}).items())
        self.by_value = sorted(pairs, key=lambda pair: pair[0] % 2**64)
        self.name_of: dict[int, str] = {}
        for number, name in self.by_value:
            self.name_of.setdefault(number, name)

    def bind(self, value: Any, path: tuple[Any, ...], ctx: _Context) -> Any:
        kind = type(value)
        if kind is str:
            if value in self.known and not self.flags:
                return value
            result = self._parse(value)
        elif kind is int:
            result = self._name(value) if self.numbers else None  # AllowIntegerValues
        else:
            return value
        if result is None or result == value:
            return value  # not a value of the enum: validation names it
        how = "accepts numbers" if kind is int or _looks_numeric(value) else "reads names in any casing"
        read = f"{_kind(value)} {_shown(value)} was read as {_shown(result)}"
        message = f"{read} (Json.NET's StringEnumConverter {how})"
        ctx.add(Note("enum", path, message))
        return result

    def _match(self, part: str) -> str | None:
        return part if part in self.known else self.folded.get(fold(part))

    def _parse(self, text: str) -> Any:
        """``EnumUtils.ParseEnum``: the canonical result, or None when Json.NET fails."""
        if len(text) > self.longest:
            return None  # longer than every name, all names joined and any padding a client sends
        stripped = _dotnet_trim(text)
        if not stripped:
            return None
        first = stripped[0]
        if first in "+-" or unicodedata.category(first) == "Nd":
            match = _DOTNET_INTEGER.fullmatch(stripped)  # Convert.ChangeType(text, int)
            if match is not None:
                number = int(match.group(1))
                if not -(2**31) <= number < 2**31:
                    return None  # OverflowException: not caught
                return self._name(number) if self.numbers else None
        total = 0
        parts = text.split(",")
        for part in parts:
            name = self._match(_dotnet_trim(part))
            if name is None:
                return self.folded.get(fold(text))  # the whole text, case-insensitively, else an error
            if self.numbers is None:
                if len(parts) > 1:
                    return None  # names cannot be OR-ed without their numbers
                return name
            total |= self.numbers[name]
        return self._name(total)

    def _name(self, number: int) -> str | None:
        """``EnumUtils.TryToString``: the name of a value, flags as ``"A, B"``; None when the value
        has none (the server would then write the number, which the contract does not allow)."""
        if not self.flags:
            return self.name_of.get(number)
        result, saved = number % 2**64, number % 2**64
        chosen: list[str] = []
        for value, name in reversed(self.by_value):
            value %= 2**64
            if value == 0:
                continue
            if result & value == value:
                result -= value
                chosen.insert(0, name)
        if result != 0:
            return None
        if saved == 0:
            return self.by_value[0][1] if self.by_value and self.by_value[0][0] == 0 else None
        return ", ".join(chosen)


def _looks_numeric(value: Any) -> bool:
    return isinstance(value, str) and _DOTNET_INTEGER.fullmatch(_dotnet_trim(value)) is not None


class _NullableEnum(_Enum):
    """An enum that may be null: the empty string reads as null (``StringEnumConverter``)."""

    def bind(self, value: Any, path: tuple[Any, ...], ctx: _Context) -> Any:
        if value == "":
            ctx.add(Note("enum", path, "the empty string was read as null (Json.NET's StringEnumConverter)"))
            return None
        return super().bind(value, path, ctx)
