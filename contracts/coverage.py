"""Contract coverage: which answers the contract declares (operation x status x response media
type) a server has served, so that a team sees what its client never exercised.

``Coverage(contract)`` reads the declared cells from the operation model (``Contract.operations``)
once; ``record(operation, status, media_type)`` is one dict increment under a lock, cheap enough
for every answer of the mock; ``to_json()`` maps what was recorded onto the cells::

    {"declared": 376, "served": 12, "ratio": 0.0319,
     "operations": [{"operation": "SaveWebhook", "method": "POST", "path": "/api/v1/...",
                     "cells": [{"status": "200", "media_type": "application/json", "count": 3}, ...]}],
     "undeclared": [{"operation": "SaveWebhook", "status": "503", "media_type": "application/json", "count": 1}]}

What counts:

- A cell is a status the operation declares and one media type of that response's ``content``.
  A response that declares no content (``204``) is one cell whose ``media_type`` is ``None``,
  served by an answer with that status and no ``Content-Type``.
- The media type of an answer is the one it was sent in (its ``Content-Type``, parameters such
  as ``charset`` dropped, lower case), for an error answer as for a success: a ``400`` sent as
  ``application/xml`` covers the ``400`` x ``application/xml`` cell and no other.
- A served status matches its declared code, else the declared range (``4XX``), else ``default``.
- Whatever matches no cell (a status or media type the operation does not declare, an injected
  ``503``, an operation the contract does not have) is listed under ``undeclared``, never
  counted as served. Answers to a request no operation serves (the contract's
  ``x-sowebhook-unrouted`` 404 and 405) are no operation's: callers do not record them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from contracts.spec import Contract

__all__ = ["Cell", "Coverage"]

Cell = tuple[str, str, "str | None"]  # operation id, declared status key, media type (None: no content)
_Served = tuple[str, int, "str | None"]  # as recorded: operation id, status, Content-Type as sent


def _media(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


class Coverage:
    """The declared cells of ``contract`` and the answers recorded against them (thread-safe)."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        # operation id -> declared status key -> declared media types (None: no content)
        self._declared: dict[str, dict[str, tuple[str | None, ...]]] = {
            operation.operation_id: {
                str(status): tuple(response.get("content") or {}) or (None,)
                for status, response in operation.responses.items()
            }
            for operation in contract.operations.values()
        }
        self._counts: dict[_Served, int] = {}
        self._lock = threading.Lock()

    # -- recording -------------------------------------------------------------------------------

    def record(self, operation: str, status: int, media_type: str | None) -> None:
        """One answer of ``operation``: its status and its Content-Type (None: no body)."""
        key = (operation, status, media_type)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def merge(self, other: Coverage) -> None:
        """Add what ``other`` recorded to this coverage."""
        for key, count in other._snapshot().items():
            with self._lock:
                self._counts[key] = self._counts.get(key, 0) + count

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()

    def _snapshot(self) -> dict[_Served, int]:
        with self._lock:
            return dict(self._counts)

    # -- reading ---------------------------------------------------------------------------------

    def cell_of(self, operation: str, status: int, media_type: str | None) -> Cell | None:
        """The declared cell an answer covers, or None (undeclared)."""
        responses = self._declared.get(operation)
        if responses is None:
            return None
        code = str(status)
        for key in (code, f"{code[:1]}XX", "default"):
            media_types = responses.get(key)
            if media_types is not None:
                media = _media(media_type)
                return (operation, key, media) if media in media_types else None
        return None

    def counts(self) -> tuple[dict[Cell, int], dict[tuple[str, str, str | None], int]]:
        """Answers per declared cell (every cell, 0 included) and per undeclared answer."""
        cells: dict[Cell, int] = {
            (operation, status, media): 0
            for operation, responses in self._declared.items()
            for status, media_types in responses.items()
            for media in media_types
        }
        undeclared: dict[tuple[str, str, str | None], int] = {}
        for (operation, status, media_type), count in self._snapshot().items():
            cell = self.cell_of(operation, status, media_type)
            if cell is not None:
                cells[cell] += count
            else:
                key = (operation, str(status), _media(media_type))
                undeclared[key] = undeclared.get(key, 0) + count
        return cells, undeclared

    @property
    def ratio(self) -> float:
        cells, _ = self.counts()
        return sum(1 for count in cells.values() if count) / len(cells) if cells else 1.0

    def missing_by_operation(self) -> dict[str, list[str]]:
        """The cells never served, by operation: ``{"SaveWebhook": ["415 text/xml", ...]}``."""
        cells, _ = self.counts()
        missing: dict[str, list[str]] = {}
        for (operation, status, media), count in cells.items():
            if not count:
                missing.setdefault(operation, []).append(f"{status} {media or '(no body)'}")
        return missing

    def to_json(self) -> dict[str, Any]:
        cells, undeclared = self.counts()
        served = sum(1 for count in cells.values() if count)
        operations = []
        for operation in self.contract.operations.values():
            responses = self._declared[operation.operation_id]
            operations.append(
                {
                    "operation": operation.operation_id,
                    "method": operation.method,
                    "path": operation.path,
                    "cells": [
                        {
                            "status": status,
                            "media_type": media,
                            "count": cells[(operation.operation_id, status, media)],
                        }
                        for status, media_types in responses.items()
                        for media in media_types
                    ],
                }
            )
        return {
            "declared": len(cells),
            "served": served,
            "ratio": round(served / len(cells), 4) if cells else 1.0,
            "operations": operations,
            "undeclared": [
                {"operation": op, "status": status, "media_type": media, "count": count}
                for (op, status, media), count in undeclared.items()
            ],
        }

    @classmethod
    def from_json(cls, contract: Contract, data: Mapping[str, Any]) -> Coverage:
        """A coverage holding the counts of ``to_json()``'s output (of this contract or another
        process's mock), so that coverages can be merged across processes."""
        coverage = cls(contract)
        rows = [
            (entry["operation"], cell["status"], cell["media_type"], cell["count"])
            for entry in data.get("operations", [])
            for cell in entry.get("cells", [])
        ]
        rows += [
            (u["operation"], u["status"], u["media_type"], u["count"]) for u in data.get("undeclared", [])
        ]
        for operation, status, media_type, count in rows:
            if not count:
                continue
            code = int(status) if str(status).isdigit() else 0  # a range or default keeps no exact status
            if code == 0:
                code = int(str(status)[0]) * 100 if str(status)[:1].isdigit() else 0
            key = (str(operation), code, media_type)
            coverage._counts[key] = coverage._counts.get(key, 0) + int(count)
        return coverage
