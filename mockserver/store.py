"""Where the mock keeps its webhooks: in memory, or in SQLite shared by several processes.

Both stores keep, per webhook, the webhook's JSON value exactly as the mock answers it, the
application that registered it (Online) and the last delivery error. Ids are allocated by the
store, never reused, and unique across every process that shares a SQLite file.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson

from contracts.wire import encode_json

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["MemoryStore", "SqliteStore", "Store", "StoredWebhook", "open_store"]


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

    def update(self, webhook_id: int, build: Callable[[StoredWebhook], dict[str, Any]]) -> StoredWebhook | None:
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
            row = _counted(current, error)
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


_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook (
    webhook_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    owner              TEXT,
    body               TEXT NOT NULL,
    last_error         TEXT,
    total_calls        INTEGER NOT NULL DEFAULT 0,
    total_errors       INTEGER NOT NULL DEFAULT 0,
    consecutive_errors INTEGER NOT NULL DEFAULT 0
);
"""
_COLUMNS = "body, owner, last_error, total_calls, total_errors, consecutive_errors"


def _counted(current: StoredWebhook, error: str | None) -> StoredWebhook:
    if error is None:
        return replace(current, total_calls=current.total_calls + 1, consecutive_errors=0)
    return replace(
        current,
        total_calls=current.total_calls + 1,
        total_errors=current.total_errors + 1,
        consecutive_errors=current.consecutive_errors + 1,
        last_error=error,
    )


class SqliteStore:
    """SQLite in WAL mode; writes in ``BEGIN IMMEDIATE`` transactions so that concurrent processes
    neither lose updates nor hand out an id twice.

    ``synchronous=NORMAL``: a commit survives the crash of any process that shares the file, not a
    power cut (what a mock needs; FULL would fsync every commit, about 2 ms each). Writers take
    turns before they ask SQLite for its write lock (:class:`_WriterLock`), so that none of them
    waits in SQLite's busy handler, which sleeps in steps of 1, 2, 5... ms.

    Connections are lent from a pool for one operation and taken back, not kept per thread: the
    server's threads come and go (granian ends one idle for 30 s and starts a new one on the next
    burst), and a connection kept per thread stayed open, with its file descriptors, after its
    thread had ended. The pool holds as many connections as threads used the store at once.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._write_lock = _WriterLock(path)
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._closed = False
        with self._transaction() as db:
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=30000")
        return db

    def _borrow(self) -> sqlite3.Connection:
        with self._pool_lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _give_back(self, db: sqlite3.Connection) -> None:
        if not db.in_transaction:  # one a failed COMMIT left in a transaction is not lent again
            with self._pool_lock:
                if not self._closed:
                    self._idle.append(db)
                    return
        db.close()

    def _connection(self) -> _Lent:
        return _Lent(self)

    def _transaction(self) -> _Transaction:
        return _Transaction(self, self._write_lock)

    @staticmethod
    def _row(row: tuple[Any, ...] | None) -> StoredWebhook | None:
        if row is None:
            return None
        return StoredWebhook(_load(row[0]), row[1], row[2], row[3], row[4], row[5])

    def _select(self, db: sqlite3.Connection, webhook_id: int) -> StoredWebhook | None:
        return self._row(db.execute(f"SELECT {_COLUMNS} FROM webhook WHERE webhook_id = ?", (webhook_id,)).fetchone())

    def create(self, build: Callable[[int], dict[str, Any]], owner: str | None) -> StoredWebhook:
        with self._transaction() as db:
            cursor = db.execute("INSERT INTO webhook (owner, body) VALUES (?, '{}')", (owner,))
            webhook_id = int(cursor.lastrowid or 0)
            webhook = build(webhook_id)
            db.execute("UPDATE webhook SET body = ? WHERE webhook_id = ?", (encode_json(webhook).decode(), webhook_id))
            return StoredWebhook(webhook, owner)

    def update(self, webhook_id: int, build: Callable[[StoredWebhook], dict[str, Any]]) -> StoredWebhook | None:
        """Read, build and write back, the write only if nobody changed the webhook in between
        (else again): the write lock is held for one statement, not for the whole build."""
        with self._connection() as db:
            while True:
                row = db.execute(f"SELECT {_COLUMNS} FROM webhook WHERE webhook_id = ?", (webhook_id,)).fetchone()
                current = self._row(row)
                if current is None:
                    return None
                webhook = build(current)
                text = encode_json(webhook).decode()
                with self._write_lock:  # one statement is its own transaction (autocommit)
                    changed = db.execute(
                        "UPDATE webhook SET body = ? WHERE webhook_id = ? AND body = ?",
                        (text, webhook_id, row[0]),
                    ).rowcount
                if changed:
                    return replace(current, webhook=webhook)

    def get(self, webhook_id: int) -> StoredWebhook | None:
        with self._connection() as db:
            return self._select(db, webhook_id)

    def all(self) -> list[StoredWebhook]:
        with self._connection() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM webhook ORDER BY webhook_id").fetchall()
        return [row for row in map(self._row, rows) if row is not None]

    def delete(self, webhook_id: int) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM webhook WHERE webhook_id = ?", (webhook_id,)).rowcount > 0

    def set_last_error(self, webhook_id: int, message: str | None) -> None:
        with self._transaction() as db:
            db.execute("UPDATE webhook SET last_error = ? WHERE webhook_id = ?", (message, webhook_id))

    def record_call(self, webhook_id: int, error: str | None) -> StoredWebhook | None:
        with self._transaction() as db:
            current = self._select(db, webhook_id)
            if current is None:
                return None
            row = _counted(current, error)
            db.execute(
                "UPDATE webhook SET total_calls = ?, total_errors = ?, consecutive_errors = ?, last_error = ?"
                " WHERE webhook_id = ?",
                (row.total_calls, row.total_errors, row.consecutive_errors, row.last_error, webhook_id),
            )
            return row

    def set_state(self, webhook_id: int, state: str) -> tuple[str, StoredWebhook] | None:
        with self._transaction() as db:
            current = self._select(db, webhook_id)
            if current is None:
                return None
            row = replace(current, webhook={**current.webhook, "State": state})
            db.execute("UPDATE webhook SET body = ? WHERE webhook_id = ?", (encode_json(row.webhook).decode(), webhook_id))
            return current.webhook["State"], row

    def reset(self) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM webhook")

    def close(self) -> None:
        """Close the pooled connections (one lent at the moment is closed when it comes back)."""
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()
        self._write_lock.close()


class _WriterLock:
    """One writer at a time: the threads of a process on a lock, then every store of the file (in
    any process) on an ``flock`` of ``<file>-writer.lock``, which the kernel hands to the next
    waiter at once. Without ``flock`` (Windows) SQLite's busy handler alone sorts processes out."""

    def __init__(self, path: str) -> None:
        self._threads = threading.Lock()
        self._file = open(f"{path}-writer.lock", "ab") if fcntl is not None else None  # noqa: SIM115

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        self._threads.acquire()
        if self._file is not None:
            try:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
            except BaseException:
                self._threads.release()
                raise

    def release(self) -> None:
        try:
            if self._file is not None:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class _Lent:
    """A connection of the store's pool for the length of a ``with`` block."""

    __slots__ = ("db", "store")

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        self.db = self.store._borrow()
        return self.db

    def __exit__(self, *exc: object) -> None:
        self.store._give_back(self.db)


class _Transaction:
    """A pooled connection in a write transaction, the writer lock held."""

    __slots__ = ("db", "lock", "store")

    def __init__(self, store: SqliteStore, lock: _WriterLock) -> None:
        self.store = store
        self.lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self.db = self.store._borrow()
        self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            self.store._give_back(self.db)
            raise
        return self.db

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        try:
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            self.lock.release()
            self.store._give_back(self.db)


def open_store(db_path: str | None) -> Store:
    return SqliteStore(db_path) if db_path else MemoryStore()



_LONG_NUMBER = re.compile(r"\d{19}")  # could be beyond 64 bits, which orjson reads as a float


def _load(text: str) -> dict[str, Any]:
    """A stored webhook's JSON: orjson, or the standard library when a number might not fit in 64
    bits (Properties may hold one, F-115), so that it is read back exactly as it was saved."""
    value: dict[str, Any] = json.loads(text) if _LONG_NUMBER.search(text) else orjson.loads(text)
    return value
