"""What binding did: a ``Note`` for each thing, the ``Binding`` a caller gets, and the notes of one
request (``_Context``), the ones past ``_MAX_NOTES`` counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_MAX_NOTES = 100  # per request; the rest are counted in one note


@dataclass(frozen=True)
class Note:
    """One thing binding did. ``kind``: ``unknown`` (a member the contract forbids, dropped: a
    violation), ``duplicate``, ``converted`` or ``enum`` (warnings). ``path`` is where, in
    canonical names (the unknown member's own name last, cut to ``_LONGEST_SHOWN`` characters);
    ``refusal`` is what a server that refused the member would say."""

    kind: str
    path: tuple[Any, ...]
    message: str
    refusal: str = ""

    @property
    def violation(self) -> bool:
        return self.kind == "unknown"


@dataclass(eq=False)
class Binding:
    """The bound value, and what binding did to get it."""

    value: Any
    notes: list[Note] = field(default_factory=list)
    renamed: bool = False  # some name matched only case-insensitively

    @property
    def violations(self) -> list[Note]:
        return [note for note in self.notes if note.violation]

    @property
    def warnings(self) -> list[Note]:
        return [note for note in self.notes if not note.violation]


class _Context:
    __slots__ = ("notes", "renamed", "more_unknown", "more_warnings")

    def __init__(self) -> None:
        self.notes: list[Note] = []
        self.renamed = False
        self.more_unknown = self.more_warnings = 0  # notes past _MAX_NOTES, counted

    def add(self, note: Note) -> None:
        if len(self.notes) < _MAX_NOTES:
            self.notes.append(note)
        elif note.violation:
            self.more_unknown += 1
        else:
            self.more_warnings += 1

    def finish(self) -> list[Note]:
        """The notes, and one note for each kind of those past the first ``_MAX_NOTES``."""
        notes = self.notes
        if self.more_unknown:
            text = f"and {self.more_unknown} more members that are no property"
            notes.append(Note("unknown", (), f"{text}; SuperOffice ignores them", f"{text}."))
        if self.more_warnings:
            notes.append(Note("converted", (), f"and {self.more_warnings} more values read leniently"))
        return notes
