"""The record of every delivery attempt (``DeliveryRecord``): in the process, or in a SQL store,
shared by every process on it. A record's id is unique within the app and never reused; its JSON
masks the credentials a webhook's own Headers carry (docs/fidelity.md F-220 to F-226).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from contracts.wire import format_datetime
from mockserver.masking import mask_headers
from mockserver.rows import SharedStore, load_json

__all__ = ["OUTCOMES", "DeliveryLog", "DeliveryRecord"]

# what an attempt came to: a 200 read whole, anything else, or not posted (crmscript and other types)
OUTCOMES = ("delivered", "failed", "recorded")


@dataclass
class DeliveryRecord:
    webhook_id: int | None
    event: str
    event_id: str
    attempt: int
    target: str | None
    status: int | None
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    posted: bool = True
    owner: str | None = field(default=None, repr=False)  # the application the webhook belongs to (Online)
    delivered: bool = False  # the target answered 200, read whole (Outcome.ok)
    raw: bytes = field(default=b"", repr=False)  # the exact body bytes sent (``body`` is their text)
    id: int = 0  # set when recorded: unique within the app, never reused
    time: str = ""  # set when recorded, by the configured clock

    @property
    def outcome(self) -> str:
        """One of OUTCOMES."""
        return OUTCOMES[0] if self.delivered else OUTCOMES[2] if not self.posted else OUTCOMES[1]

    def to_json(self) -> dict[str, Any]:
        shown = {name: value for name, value in self.__dict__.items() if name not in _NOT_SHOWN}
        # a webhook's own Headers may carry the target's credentials: masked wherever shown
        return {**shown, "headers": mask_headers(self.headers.items()), "outcome": self.outcome}


# a record's fields that its JSON leaves out: who owns it (Online), and the bytes (``body`` is their text)
_NOT_SHOWN = frozenset({"owner", "raw"})


class DeliveryLog:
    """The newest ``size`` records: of this process, or of the SQL store ``shared``."""

    def __init__(self, clock: Callable[[], datetime], shared: SharedStore | None, size: int) -> None:
        self._clock = clock
        self._shared = shared
        self._size = size
        self._records: deque[DeliveryRecord] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)  # record ids: never reset, so never reused

    def append(self, record: DeliveryRecord) -> DeliveryRecord:
        """Keep ``record``, stamped with its id and time."""
        record.time = format_datetime(self._clock())
        if self._shared is not None:  # the store's records; its headers masked there too
            stored = {**record.to_json(), "owner": record.owner}
            record.id = self._shared.record_append(json.dumps(stored), record.owner, self._size)
            return record
        with self._lock:
            record.id = next(self._ids)
            self._records.append(record)
        return record

    def history(self) -> list[DeliveryRecord]:
        if self._shared is not None:
            return [_stored(record_id, text) for record_id, text, _ in self._shared.record_rows(self._size)]
        with self._lock:
            return list(self._records)

    def record(self, record_id: int) -> DeliveryRecord | None:
        """The recorded attempt with this id (None: unknown, or no longer kept)."""
        return next((r for r in self.history() if r.id == record_id), None)


def _stored(record_id: int, text: str) -> DeliveryRecord:
    """A record as a SQL store keeps it (its headers masked; its body the exact bytes' text)."""
    value = load_json(text)
    names = {f.name for f in fields(DeliveryRecord)} - {"raw"}
    record = DeliveryRecord(**{name: value[name] for name in names if name in value})
    record.id, record.raw = record_id, record.body.encode("utf-8")
    return record
