"""What every store keeps, and the interfaces of the stores (``mockserver.store`` builds them).

``Store``: webhooks, their ids and usage statistics; every store has it. ``SharedStore``: what the
SQL stores (SQLite, PostgreSQL) keep besides, for every process on the database: the journal
(bounded), the delivery outbox (an event to deliver is a row with its next attempt time, claimed by
one delivery worker of any process for a lease) and the delivery records. The memory store keeps
those in the process (``mockserver.journal.Journal``, ``mockserver.delivery``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson

__all__ = ["JournalRow", "OutboxJob", "SharedStore", "Store", "StoredWebhook", "counted", "load_json"]


@dataclass(frozen=True)
class StoredWebhook:
    """A webhook and its usage statistics (the webhook_usage table: total_calls, total_errors,
    consecutive_errors, last_error). The attributes are named as the table's columns, which the
    contract's ``x-webhook-usage`` names for the fields the agent answers them as (TotalCalls...,
    F-146); ``webhook`` holds the webhook as its last save answered it, so its copy of those
    fields is that save's, and the attributes are the current values."""

    webhook: dict[str, Any]
    owner: str | None = None
    last_error: str | None = None
    total_calls: int = 0
    total_errors: int = 0
    consecutive_errors: int = 0

    @property
    def webhook_id(self) -> int:
        return int(self.webhook["WebhookId"])


@dataclass(frozen=True)
class JournalRow:
    """A journal entry as a SQL store keeps it: its JSON (secrets and credentials masked), and to
    whom it is attributed: ``credited`` (its credentials named a caller) and that caller's
    application (``owner``; None: none, or shared)."""

    id: int
    entry: str
    owner: str | None
    credited: bool


@dataclass(frozen=True)
class OutboxJob:
    """An event on its way to one webhook: the attempt to make next and when (seconds since the
    epoch, the store's clock). ``id`` is the outbox row's (0 before it is stored)."""

    webhook_id: int
    event: str  # the event as the X-SuperOffice-Event header names it
    payload: str  # the payload's JSON; its EventId stays the same over the attempts
    attempt: int = 0
    due: float = 0.0
    id: int = 0


class Store(Protocol):
    def create(self, build: Callable[[int], dict[str, Any]], owner: str | None) -> StoredWebhook: ...

    def update(
        self, webhook_id: int, build: Callable[[StoredWebhook], dict[str, Any]]
    ) -> StoredWebhook | None: ...

    def get(self, webhook_id: int) -> StoredWebhook | None: ...

    def all(self) -> list[StoredWebhook]: ...

    def delete(self, webhook_id: int) -> bool: ...

    def set_last_error(self, webhook_id: int, message: str | None) -> None: ...

    def record_call(self, webhook_id: int, error: str | None) -> StoredWebhook | None: ...

    def set_state(self, webhook_id: int, state: str) -> tuple[str, StoredWebhook] | None: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


class SharedStore(Store, Protocol):
    """A store that processes share: the journal, the outbox and the delivery records in it too."""

    def journal_append(self, entry: str, owner: str | None, credited: bool, keep: int) -> int:
        """Store an entry; the entry's id (ascending across processes). Older entries than the
        newest ``keep`` are deleted now and then (``journal_rows`` never shows them)."""
        ...

    def journal_rows(self, keep: int) -> list[JournalRow]:
        """The newest ``keep`` entries, oldest first."""
        ...

    def journal_delete(self, ids: Sequence[int] | None, keep: int) -> None:
        """Forget the entries of ``ids`` and those older than the newest ``keep``, or every entry
        (None)."""
        ...

    def outbox_put(self, job: OutboxJob, delay: float) -> None:
        """Store ``job`` (a new one when its id is 0, else its next attempt) due in ``delay`` s."""
        ...

    def outbox_claim(self, lease: float) -> OutboxJob | None:
        """The earliest due job nobody holds, now held for ``lease`` seconds; None if none is due."""
        ...

    def outbox_next(self) -> float | None:
        """Seconds until the earliest job nobody holds is due (0 if one is); None if there is none."""
        ...

    def outbox_done(self, job_id: int) -> None: ...

    def outbox_count(self) -> int: ...

    def record_append(self, record: str, owner: str | None, keep: int) -> int:
        """Store a delivery record, keep the newest ``keep``; the record's id."""
        ...

    def record_rows(self, keep: int) -> list[tuple[int, str, str | None]]:
        """(id, record JSON, owner) of the newest ``keep`` records, oldest first."""
        ...


def counted(current: StoredWebhook, error: str | None) -> StoredWebhook:
    """The statistics after one more POSTed attempt (``error``: None when it got 200)."""
    if error is None:
        return replace(current, total_calls=current.total_calls + 1, consecutive_errors=0)
    return replace(
        current,
        total_calls=current.total_calls + 1,
        total_errors=current.total_errors + 1,
        consecutive_errors=current.consecutive_errors + 1,
        last_error=error,
    )


_LONG_NUMBER = re.compile(r"\d{19}")  # could be beyond 64 bits, which orjson reads as a float


def load_json(text: str) -> Any:
    """A stored JSON text: orjson, or the standard library when a number might not fit in 64 bits
    (Properties may hold one, F-115), so that it is read back exactly as it was saved."""
    return json.loads(text) if _LONG_NUMBER.search(text) else orjson.loads(text)
