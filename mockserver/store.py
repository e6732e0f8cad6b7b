"""Where the mock keeps its state: in memory (the default), in a SQLite file that the processes of
one machine share, or in PostgreSQL, which replicas on several hosts share (``open_store``).

Every store keeps, per webhook, the webhook's JSON value exactly as the mock answers it, the
application that registered it (Online) and the usage statistics (``mockserver.rows``). Ids are
allocated by the store, never reused, and unique across every process that shares the database.
The SQL stores also keep the journal, the delivery outbox and the delivery records
(``SharedStore``); the memory store leaves those to the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from mockserver.rows import SharedStore, Store, StoredWebhook, counted
from mockserver.store_pg import PostgresStore, is_postgres_url, masked_url
from mockserver.store_sqlite import SqliteStore

__all__ = [
    "MemoryStore",
    "PostgresStore",
    "SharedStore",
    "SqliteStore",
    "Store",
    "StoredWebhook",
    "describe_store",
    "is_shared",
    "open_store",
]


class MemoryStore:
    """A dict behind a lock: for tests and the default standalone mock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[int, StoredWebhook] = {}
        self._next_id = 1

    def create(self, build: Callable[[int], dict[str, Any]], owner: str | None) -> StoredWebhook:
        with self._lock:
            webhook_id = self._next_id
            self._next_id += 1
            row = StoredWebhook(build(webhook_id), owner)
            self._rows[webhook_id] = row
            return row

    def update(
        self, webhook_id: int, build: Callable[[StoredWebhook], dict[str, Any]]
    ) -> StoredWebhook | None:
        with self._lock:
            current = self._rows.get(webhook_id)
            if current is None:
                return None
            row = replace(current, webhook=build(current))
            self._rows[webhook_id] = row
            return row

    def get(self, webhook_id: int) -> StoredWebhook | None:
        with self._lock:
            return self._rows.get(webhook_id)

    def all(self) -> list[StoredWebhook]:
        with self._lock:
            return [self._rows[k] for k in sorted(self._rows)]

    def delete(self, webhook_id: int) -> bool:
        with self._lock:
            return self._rows.pop(webhook_id, None) is not None

    def set_last_error(self, webhook_id: int, message: str | None) -> None:
        with self._lock:
            current = self._rows.get(webhook_id)
            if current is not None:
                self._rows[webhook_id] = replace(current, last_error=message)

    def record_call(self, webhook_id: int, error: str | None) -> StoredWebhook | None:
        with self._lock:
            current = self._rows.get(webhook_id)
            if current is None:
                return None
            row = counted(current, error)
            self._rows[webhook_id] = row
            return row

    def set_state(self, webhook_id: int, state: str) -> tuple[str, StoredWebhook] | None:
        with self._lock:
            current = self._rows.get(webhook_id)
            if current is None:
                return None
            row = replace(current, webhook={**current.webhook, "State": state})
            self._rows[webhook_id] = row
            return current.webhook["State"], row

    def reset(self) -> None:
        with self._lock:
            self._rows.clear()

    def close(self) -> None:
        pass


def open_store(db: str | None) -> Store:
    """The store ``db`` names: a ``postgresql://`` URL, a SQLite file's path, or nothing (memory).
    The SQL stores create or migrate their schema as they open."""
    if not db:
        return MemoryStore()
    if is_postgres_url(db):
        return PostgresStore(db)
    return SqliteStore(db)


def is_shared(store: Store) -> bool:
    """Whether processes share ``store``, and with it the journal, the outbox and the records."""
    return isinstance(store, (SqliteStore, PostgresStore))


def describe_store(db: str | None) -> str:
    """The store as the ready line names it, a password in a URL masked."""
    if not db:
        return "memory"
    if not is_postgres_url(db):
        return f"sqlite {db}"
    return f"postgresql {masked_url(db)}"
