"""The mock's SQLite file, read directly and independently of the mock's code (``ReadOnly``,
``sqlite_webhooks``, ``integrity``, ``highest_id_ever``), and an audit trigger that logs every
committed write of a webhook (``install_audit``, ``audit_log``)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

AUDIT = """
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, webhook_id INTEGER, body TEXT);
CREATE TRIGGER IF NOT EXISTS audit_body AFTER UPDATE OF body ON webhook
BEGIN INSERT INTO audit (webhook_id, body) VALUES (new.webhook_id, new.body); END;
"""


def install_audit(db: str) -> None:
    """From now on SQLite logs every committed write of a webhook's body, in commit order (the
    trigger runs inside the writing transaction; the mock's writes are serialised)."""
    with sqlite3.connect(db, timeout=30) as audit:
        audit.executescript(AUDIT)
    audit.close()


def audit_log(db: str, webhook_id: int) -> list[dict[str, Any]]:
    with ReadOnly(db) as reader:
        rows = reader.execute(
            "SELECT body FROM audit WHERE webhook_id = ? ORDER BY seq", (webhook_id,)
        ).fetchall()
    return [json.loads(body) for (body,) in rows]


class ReadOnly:
    """A read-only connection to the mock's SQLite file, independent of the mock's code."""

    def __init__(self, db: str) -> None:
        self.connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)

    def __enter__(self) -> sqlite3.Connection:
        return self.connection

    def __exit__(self, *exc: object) -> None:
        self.connection.close()


def sqlite_webhooks(db: str) -> dict[int, dict[str, Any]]:
    with ReadOnly(db) as reader:
        rows = reader.execute("SELECT webhook_id, body FROM webhook").fetchall()
    return {webhook_id: json.loads(body) for webhook_id, body in rows}


def integrity(db: str) -> str:
    with ReadOnly(db) as reader:
        return "; ".join(row[0] for row in reader.execute("PRAGMA integrity_check").fetchall())


def highest_id_ever(db: str) -> int:
    """The highest id SQLite ever handed out for a webhook (AUTOINCREMENT's sqlite_sequence)."""
    with ReadOnly(db) as reader:
        row = reader.execute("SELECT seq FROM sqlite_sequence WHERE name = 'webhook'").fetchone()
    return int(row[0]) if row else 0


def by_id(webhooks: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {w["WebhookId"]: w for w in webhooks}
