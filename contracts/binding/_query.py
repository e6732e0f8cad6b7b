"""Query parameter names bound to the contract's in any casing."""

from __future__ import annotations

from collections.abc import Iterable

from contracts.binding._text import _LONGEST_SHOWN, fold


class QueryNames:
    """Query parameter names bound case-insensitively to the contract's (ASP.NET's model binding
    reads the query string without regard to case)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(names)
        self.folded: dict[str, str] = {}
        for name in self.names:
            self.folded.setdefault(fold(name), name)

    def bind(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        names = self.names
        if all(key in names for key, _ in pairs):
            return pairs
        folded = self.folded
        return [
            (key if key in names or len(key) > _LONGEST_SHOWN else folded.get(fold(key), key), value)
            for key, value in pairs
        ]
