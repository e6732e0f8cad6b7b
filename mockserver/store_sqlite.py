"""The SQLite store: one file that the processes of one machine share (``--workers``, ``--db FILE``).

Webhooks, ids (AUTOINCREMENT: never handed out twice, not even after a delete and a crash), the
journal, the delivery outbox and the delivery records, in one file in WAL mode. Every write is a
``BEGIN IMMEDIATE`` transaction with the writer lock held, so that processes take turns; the outbox
is claimed in one (:meth:`SqliteStore.outbox_claim`), which makes every claim exclusive across the
processes of the file. The schema is created and migrated at start, in such a transaction too, so
that processes starting at once migrate it once (``schema_version``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from contracts.wire import encode_json
from mockserver.rows import JournalRow, OutboxJob, StoredWebhook, counted, load_json

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["MIGRATIONS", "SqliteStore"]

# Migration n brings the schema from version n - 1 to n (a file of an older mock has version 0: the
# webhook table only, created without a version table).
MIGRATIONS = (
    """
    CREATE TABLE IF NOT EXISTS webhook (
        webhook_id         INTEGER PRIMARY KEY AUTOINCREMENT,
        owner              TEXT,
        body               TEXT NOT NULL,
        last_error         TEXT,
        total_calls        INTEGER NOT NULL DEFAULT 0,
        total_errors       INTEGER NOT NULL DEFAULT 0,
        consecutive_errors INTEGER NOT NULL DEFAULT 0
    );
    """,
    """
    CREATE TABLE journal (id INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL, owner TEXT,
                          credited INTEGER NOT NULL);
    CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, webhook_id INTEGER NOT NULL,
                         event TEXT NOT NULL, payload TEXT NOT NULL, attempt INTEGER NOT NULL,
                         due REAL NOT NULL, lease_until REAL);
    CREATE INDEX outbox_due ON outbox (due);
    CREATE TABLE delivery_record (id INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT NOT NULL, owner TEXT);
    """,
)
_COLUMNS = "body, owner, last_error, total_calls, total_errors, consecutive_errors"
_JOB = "id, webhook_id, event, payload, attempt, due"
_TRIM_EVERY = 32  # the journal and the records are trimmed to their bound every so many rows


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
            _migrate(db)

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
        return StoredWebhook(load_json(row[0]), row[1], row[2], row[3], row[4], row[5])

    def _select(self, db: sqlite3.Connection, webhook_id: int) -> StoredWebhook | None:
        return self._row(
            db.execute(f"SELECT {_COLUMNS} FROM webhook WHERE webhook_id = ?", (webhook_id,)).fetchone()
        )

    def create(self, build: Callable[[int], dict[str, Any]], owner: str | None) -> StoredWebhook:
        with self._transaction() as db:
            cursor = db.execute("INSERT INTO webhook (owner, body) VALUES (?, '{}')", (owner,))
            webhook_id = int(cursor.lastrowid or 0)
            webhook = build(webhook_id)
            db.execute(
                "UPDATE webhook SET body = ? WHERE webhook_id = ?",
                (encode_json(webhook).decode(), webhook_id),
            )
            return StoredWebhook(webhook, owner)

    def update(
        self, webhook_id: int, build: Callable[[StoredWebhook], dict[str, Any]]
    ) -> StoredWebhook | None:
        """Read, build and write back, the write only if nobody changed the webhook in between
        (else again): the write lock is held for one statement, not for the whole build."""
        with self._connection() as db:
            while True:
                row = db.execute(
                    f"SELECT {_COLUMNS} FROM webhook WHERE webhook_id = ?", (webhook_id,)
                ).fetchone()
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
            row = counted(current, error)
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
            db.execute(
                "UPDATE webhook SET body = ? WHERE webhook_id = ?",
                (encode_json(row.webhook).decode(), webhook_id),
            )
            return current.webhook["State"], row

    def reset(self) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM webhook")
            db.execute("DELETE FROM outbox")

    # -- the journal, the outbox and the delivery records (every process of the file) ---------

    def journal_append(self, entry: str, owner: str | None, credited: bool, keep: int) -> int:
        with self._transaction() as db:
            new = int(
                db.execute(
                    "INSERT INTO journal (entry, owner, credited) VALUES (?, ?, ?)",
                    (entry, owner, int(credited)),
                ).lastrowid
                or 0
            )
            if new % _TRIM_EVERY == 0:
                db.execute("DELETE FROM journal WHERE id <= ?", (new - keep,))
            return new

    def journal_rows(self, keep: int) -> list[JournalRow]:
        with self._connection() as db:
            rows = db.execute(
                "SELECT id, entry, owner, credited FROM journal ORDER BY id DESC LIMIT ?", (keep,)
            ).fetchall()
        return [JournalRow(row[0], row[1], row[2], bool(row[3])) for row in reversed(rows)]

    def journal_delete(self, ids: Sequence[int] | None, keep: int) -> None:
        with self._transaction() as db:
            if ids is None:
                db.execute("DELETE FROM journal")
                return
            db.execute(
                "DELETE FROM journal WHERE id <= coalesce((SELECT id FROM journal ORDER BY id DESC LIMIT 1 OFFSET ?), 0)",
                (keep,),
            )
            db.executemany("DELETE FROM journal WHERE id = ?", [(i,) for i in ids])

    def outbox_put(self, job: OutboxJob, delay: float) -> None:
        due = time.time() + delay
        with self._transaction() as db:
            if job.id:
                db.execute(
                    "UPDATE outbox SET attempt = ?, due = ?, lease_until = NULL WHERE id = ?",
                    (job.attempt, due, job.id),
                )
            else:
                db.execute(
                    "INSERT INTO outbox (webhook_id, event, payload, attempt, due) VALUES (?, ?, ?, ?, ?)",
                    (job.webhook_id, job.event, job.payload, job.attempt, due),
                )

    def outbox_claim(self, lease: float) -> OutboxJob | None:
        if self.outbox_next() != 0.0:  # a read first: an idle poll takes no write lock
            return None
        now = time.time()
        with self._transaction() as db:  # BEGIN IMMEDIATE: one claim at a time, in every process
            row = db.execute(
                f"SELECT {_JOB} FROM outbox WHERE due <= ? AND (lease_until IS NULL OR lease_until < ?)"
                " ORDER BY due, id LIMIT 1",
                (now, now),
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE outbox SET lease_until = ? WHERE id = ?", (now + lease, row[0]))
        return OutboxJob(row[1], row[2], row[3], row[4], row[5], row[0])

    def outbox_next(self) -> float | None:
        now = time.time()
        with self._connection() as db:
            row = db.execute("SELECT min(max(due, coalesce(lease_until, due))) FROM outbox", ()).fetchone()
        return None if row[0] is None else max(0.0, float(row[0]) - now)

    def outbox_done(self, job_id: int) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM outbox WHERE id = ?", (job_id,))

    def outbox_count(self) -> int:
        with self._connection() as db:
            return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def record_append(self, record: str, owner: str | None, keep: int) -> int:
        with self._transaction() as db:
            new = int(
                db.execute(
                    "INSERT INTO delivery_record (record, owner) VALUES (?, ?)", (record, owner)
                ).lastrowid
                or 0
            )
            if new % _TRIM_EVERY == 0:
                db.execute("DELETE FROM delivery_record WHERE id <= ?", (new - keep,))
            return new

    def record_rows(self, keep: int) -> list[tuple[int, str, str | None]]:
        with self._connection() as db:
            rows = db.execute(
                "SELECT id, record, owner FROM delivery_record ORDER BY id DESC LIMIT ?", (keep,)
            ).fetchall()
        return [(row[0], row[1], row[2]) for row in reversed(rows)]

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


def _migrate(db: sqlite3.Connection) -> None:
    """Bring the file's schema to the newest version, in the caller's write transaction."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT max(version) FROM schema_version").fetchone()
    version = int(row[0] or 0)
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        for statement in filter(str.strip, script.split(";")):
            db.execute(statement)
        db.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
