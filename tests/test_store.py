"""The stores (``mockserver.store``): one suite, run against all three (memory, SQLite, PostgreSQL).

Oracles: the values the test built and handed to the store; the database read directly (sqlite3,
or psycopg), never through the store, for counts of rows and the schema version; and, for
concurrency, arithmetic on what the threads did (N creates: N distinct ids and N rows). The
PostgreSQL cases run on a throw-away cluster (``harness.postgres``) and are in the slow tier.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from harness.postgres import PASSWORD, cluster, database, psql_rows
from mockserver.config import ConfigError, MockConfig
from mockserver.rows import OutboxJob, SharedStore
from mockserver.store import MemoryStore, Store, describe_store, is_shared, open_store
from mockserver.store_pg import MIGRATIONS as PG_MIGRATIONS
from mockserver.store_sqlite import MIGRATIONS as SQLITE_MIGRATIONS


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    if request.param == "memory":
        return None
    if request.param == "sqlite":
        return str(tmp_path / "state.sqlite3")
    return database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def sql_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(tmp_path / "state.sqlite3") if request.param == "sqlite" else database()


def _opened(db: str | None) -> Iterator[Store]:
    store = open_store(db)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def store(db: str | None) -> Iterator[Store]:
    yield from _opened(db)


@pytest.fixture
def shared(sql_db: str) -> Iterator[SharedStore]:
    store = open_store(sql_db)
    assert is_shared(store)
    yield store  # type: ignore[misc]
    store.close()


def _rows(db: str, query: str) -> list[tuple[Any, ...]]:
    """``query`` on the database itself, not through the store."""
    if db.startswith("postgresql://"):
        return psql_rows(db, query)
    with sqlite3.connect(db) as reader:
        rows = reader.execute(query).fetchall()
    reader.close()
    return rows


def _hook(name: str, **more: Any) -> Any:
    return lambda webhook_id: {"WebhookId": webhook_id, "Name": name, "State": "Active", **more}


# -- the webhooks (every store) ---------------------------------------------------------------


def test_a_webhook_is_kept_exactly_as_built(store: Store) -> None:
    huge = 2**70  # beyond 64 bits: read back exactly, not as a float (F-115)
    created = store.create(_hook("first", Properties={"big": huge, "text": "æøå"}), "app-1")
    assert created.webhook == {
        "WebhookId": created.webhook_id,
        "Name": "first",
        "State": "Active",
        "Properties": {"big": huge, "text": "æøå"},
    }
    got = store.get(created.webhook_id)
    assert got is not None and got.webhook == created.webhook and got.owner == "app-1"
    assert type(got.webhook["Properties"]["big"]) is int
    updated = store.update(created.webhook_id, lambda row: {**row.webhook, "Name": "renamed"})
    assert updated is not None and store.get(created.webhook_id) == updated
    assert store.update(10**6, lambda row: row.webhook) is None
    assert [row.webhook["Name"] for row in store.all()] == ["renamed"]
    assert store.delete(created.webhook_id) and not store.delete(created.webhook_id)
    assert store.get(created.webhook_id) is None and store.all() == []


def test_statistics_and_state(store: Store) -> None:
    webhook_id = store.create(_hook("stats"), None).webhook_id
    for error in ["500 boom", "502 bad", None, "404 gone"]:
        store.record_call(webhook_id, error)
    row = store.get(webhook_id)
    assert row is not None
    assert (row.total_calls, row.total_errors, row.consecutive_errors, row.last_error) == (
        4,
        3,
        1,
        "404 gone",
    )
    changed = store.set_state(webhook_id, "Stopped")
    assert changed is not None and changed[0] == "Active" and changed[1].webhook["State"] == "Stopped"
    store.set_last_error(webhook_id, None)
    got = store.get(webhook_id)
    assert got is not None and got.webhook["State"] == "Stopped" and got.last_error is None
    assert store.record_call(10**6, None) is None and store.set_state(10**6, "Active") is None


def test_ids_are_never_handed_out_again(store: Store) -> None:
    first = store.create(_hook("a"), None).webhook_id
    second = store.create(_hook("b"), None).webhook_id
    assert second > first
    store.delete(second)
    assert store.create(_hook("c"), None).webhook_id > second


def test_free_texts_are_kept_exactly_nul_included(store: Store) -> None:
    """A target's answer (LastError) may hold anything, NUL too, which PostgreSQL's text cannot."""
    webhook_id = store.create(_hook("nul"), None).webhook_id
    counted = store.record_call(webhook_id, '500 a\x00b "quoted" \\ æ')
    assert counted is not None and counted.last_error == '500 a\x00b "quoted" \\ æ'
    got = store.get(webhook_id)
    assert got is not None and got.last_error == '500 a\x00b "quoted" \\ æ'
    store.set_last_error(webhook_id, "\x00")
    assert [row.last_error for row in store.all()] == ["\x00"]


def test_a_refused_update_changes_nothing(store: Store) -> None:
    webhook_id = store.create(_hook("kept"), None).webhook_id

    def refuse(row: Any) -> Any:
        raise PermissionError("another application's webhook")

    with pytest.raises(PermissionError):
        store.update(webhook_id, refuse)
    got = store.get(webhook_id)
    assert got is not None and got.webhook["Name"] == "kept"
    store.update(webhook_id, lambda row: {**row.webhook, "Name": "after"})  # no lock left behind


def test_reset_forgets_every_webhook(store: Store) -> None:
    for n in range(3):
        store.create(_hook(f"w{n}"), None)
    store.reset()
    assert store.all() == []


def test_concurrent_creates_and_updates_lose_nothing(db: str | None) -> None:
    """Threads on two stores of one database (one store for memory): 40 creates, 40 distinct ids,
    40 rows; 40 read-modify-write increments of one counter, none lost."""
    stores = [open_store(db)] if db is None else [open_store(db), open_store(db)]
    try:
        counter = stores[0].create(_hook("counter", Properties={"n": 0}), None).webhook_id

        def work(n: int) -> int:
            store = stores[n % len(stores)]
            store.update(
                counter, lambda row: {**row.webhook, "Properties": {"n": row.webhook["Properties"]["n"] + 1}}
            )
            return store.create(_hook(f"c{n}"), None).webhook_id

        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = list(pool.map(work, range(40)))
        assert len(set(ids)) == 40 and counter not in ids
        got = stores[-1].get(counter)
        assert got is not None and got.webhook["Properties"]["n"] == 40
        if db is not None:
            assert _rows(db, "SELECT count(*), count(DISTINCT webhook_id) FROM webhook") == [(41, 41)]
        else:
            assert len(stores[0].all()) == 41
    finally:
        for store in stores:
            store.close()


# -- the SQL stores: schema, journal, outbox, records -----------------------------------------


def test_the_schema_is_created_once_by_stores_opening_at_once(sql_db: str) -> None:
    barrier = threading.Barrier(4)

    def start(_: int) -> int:
        barrier.wait()
        store = open_store(sql_db)
        webhook_id = store.create(_hook("x"), None).webhook_id
        store.close()
        return webhook_id

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(start, range(4)))
    newest = len(PG_MIGRATIONS if sql_db.startswith("postgresql://") else SQLITE_MIGRATIONS)
    assert len(set(ids)) == 4
    assert _rows(sql_db, "SELECT version FROM schema_version ORDER BY version") == [
        (n,) for n in range(1, newest + 1)
    ]


def test_a_sqlite_file_of_an_older_mock_is_migrated_with_its_webhooks(tmp_path: Path) -> None:
    db = str(tmp_path / "old.sqlite3")
    with sqlite3.connect(db) as old:  # what the mock created before the version table
        old.execute(
            "CREATE TABLE webhook (webhook_id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT, body TEXT NOT NULL,"
            " last_error TEXT, total_calls INTEGER NOT NULL DEFAULT 0, total_errors INTEGER NOT NULL DEFAULT 0,"
            " consecutive_errors INTEGER NOT NULL DEFAULT 0)"
        )
        old.execute("""INSERT INTO webhook (body) VALUES ('{"WebhookId": 1, "Name": "old"}')""")
    old.close()
    store = open_store(db)
    try:
        assert [row.webhook for row in store.all()] == [{"WebhookId": 1, "Name": "old"}]
        assert _rows(db, "SELECT max(version) FROM schema_version") == [(len(SQLITE_MIGRATIONS),)]
        assert is_shared(store)
    finally:
        store.close()


def test_the_journal_keeps_the_newest_entries_of_every_store(shared: SharedStore, sql_db: str) -> None:
    other = open_store(sql_db)
    try:
        ids = [
            (shared if n % 2 else other).journal_append(f'{{"n": {n}}}', None, True, 10) for n in range(100)
        ]  # type: ignore[attr-defined]
        assert ids == sorted(ids) and len(set(ids)) == 100
        rows = shared.journal_rows(10)
        assert [row.entry for row in rows] == [f'{{"n": {n}}}' for n in range(90, 100)]
        assert _rows(sql_db, "SELECT count(*) FROM journal")[0][0] <= 10 + 32  # trimmed as it grows
        shared.journal_delete([rows[0].id], 10)  # and what had scrolled out: nothing comes back
        assert [row.id for row in shared.journal_rows(10)] == [row.id for row in rows[1:]]
        shared.journal_delete(None, 10)
        assert shared.journal_rows(10) == []
    finally:
        other.close()


def test_each_due_outbox_row_is_claimed_once_across_stores(shared: SharedStore, sql_db: str) -> None:
    others = [open_store(sql_db) for _ in range(2)]
    try:
        for n in range(30):
            shared.outbox_put(OutboxJob(n, "contact.created", f'{{"EventId": "{n}"}}'), 0.0)
        shared.outbox_put(OutboxJob(99, "later", "{}"), 3600.0)
        claimed: list[int] = []
        lock = threading.Lock()

        def claim(n: int) -> None:
            store = [shared, *others][n % 3]
            while (job := store.outbox_claim(60.0)) is not None:  # type: ignore[attr-defined]
                with lock:
                    claimed.append(job.webhook_id)

        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(claim, range(6)))
        assert sorted(claimed) == list(range(30))  # each once; the later one not yet
        assert shared.outbox_count() == 31
        next_due = shared.outbox_next()
        assert next_due is not None and 0 < next_due <= 60  # the held rows are claimable again in 60 s
    finally:
        for store in others:
            store.close()


def test_a_claim_whose_lease_ran_out_is_claimed_again_and_a_retry_waits(shared: SharedStore) -> None:
    shared.outbox_put(OutboxJob(7, "contact.created", "{}"), 0.0)
    job = shared.outbox_claim(0.0)  # a lease that ends at once: its worker died
    assert job is not None and job.attempt == 0
    again = shared.outbox_claim(3600.0)
    assert again is not None and again.id == job.id
    assert shared.outbox_claim(3600.0) is None  # held now
    shared.outbox_put(OutboxJob(7, "contact.created", "{}", attempt=1, id=job.id), 3600.0)  # the next attempt
    assert shared.outbox_claim(3600.0) is None and shared.outbox_count() == 1
    shared.outbox_done(job.id)
    assert shared.outbox_count() == 0 and shared.outbox_next() is None


def test_an_event_name_with_a_nul_goes_through_the_outbox_as_it_is(shared: SharedStore) -> None:
    shared.outbox_put(OutboxJob(3, "a\x00b", '{"EventId": "nul"}'), 0.0)  # a SignalEvent's EventName
    job = shared.outbox_claim(60.0)
    assert job is not None and (job.event, job.payload) == ("a\x00b", '{"EventId": "nul"}')


@pytest.mark.slow
def test_a_version_1_postgresql_database_is_migrated_with_its_texts() -> None:
    """Version 1 kept LastError and the outbox's event as plain text; they read back the same."""
    import psycopg

    url = database()
    with psycopg.connect(url, autocommit=True) as old:
        old.execute("CREATE TABLE schema_version (version integer NOT NULL)")
        for statement in filter(str.strip, PG_MIGRATIONS[0].split(";")):
            old.execute(statement.encode())
        old.execute("INSERT INTO schema_version VALUES (1)")
        old.execute("""INSERT INTO webhook (body, last_error) VALUES ('{"WebhookId": 1}', '404 "gone"')""")
        old.execute(
            "INSERT INTO outbox (webhook_id, event, payload, attempt, due) VALUES (1, 'contact.created', '{}', 1, 0)"
        )
    old.close()
    store = open_store(url)
    try:
        got = store.get(1)
        assert got is not None and got.last_error == '404 "gone"'
        job = store.outbox_claim(60.0)  # type: ignore[attr-defined]
        assert job is not None and (job.event, job.attempt) == ("contact.created", 1)
        assert _rows(url, "SELECT max(version) FROM schema_version") == [(len(PG_MIGRATIONS),)]
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("dbname", "why"),
    [
        ("no_such_database", 'database "no_such_database" does not exist'),
        ("postgres?options=-csearch_path%3Dnone_yet", "CREATE SCHEMA it first"),
    ],
)
def test_a_database_that_refuses_the_start_says_why_and_not_its_password(dbname: str, why: str) -> None:
    url = cluster().url(dbname)  # with the cluster's password, which the message must not show
    with pytest.raises(ConnectionError) as refused:
        open_store(url)
    assert why in str(refused.value) and PASSWORD not in str(refused.value)
    assert describe_store(url).split(" ", 1)[1] in str(refused.value)  # the URL, masked


def test_delivery_records_are_kept_newest_last(shared: SharedStore) -> None:
    ids = [shared.record_append(f'{{"n": {n}}}', "app" if n % 2 else None, 5) for n in range(12)]
    assert ids == sorted(ids)
    assert shared.record_rows(5) == [
        (ids[n], f'{{"n": {n}}}', "app" if n % 2 else None) for n in range(7, 12)
    ]


# -- naming the store (no database) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("db", "shown"),
    [
        (None, "memory"),
        ("state.sqlite3", "sqlite state.sqlite3"),
        (
            "postgresql://ann:pw%40x@db.example:5432/mock",
            "postgresql postgresql://ann:***@db.example:5432/mock",
        ),
        (
            "postgres://ann@db/mock?password=pw&sslmode=require",
            "postgresql postgres://ann@db/mock?password=***&sslmode=require",
        ),
        ("postgresql:///mock", "postgresql postgresql:///mock"),
        ("postgresql://ann@db/mock?sslpassword=pw", "postgresql postgresql://ann@db/mock?sslpassword=***"),
        ("postgresql://ann:pw@[bad/mock", "postgresql postgresql://ann:***@[bad/mock"),  # urllib refuses it
    ],
)
def test_the_store_is_named_with_its_password_masked(db: str | None, shown: str) -> None:
    assert describe_store(db) == shown
    assert "pw" not in describe_store(db)


@pytest.mark.parametrize("url", ["postgresql://ann:pw-9@[bad/mock", "postgresql://ann:pw-9%zz@db/mock"])
def test_a_url_libpq_cannot_read_is_refused_without_its_password(url: str) -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(ConnectionError) as refused:  # libpq's message quotes the URL, or the password
        open_store(url)
    assert "pw-9" not in str(refused.value) and "ann:***@" in str(refused.value)


def test_a_configuration_names_the_store_as_db() -> None:
    assert MockConfig.from_mapping({"db": "postgresql://h/mock"}).db_path == "postgresql://h/mock"
    with pytest.raises(ConfigError, match="not both"):
        MockConfig.from_mapping({"db": "a.sqlite3", "db_path": "b.sqlite3"})
    with pytest.raises(ConfigError, match="mysql:// is not a store"):
        MockConfig(db_path="mysql://h/mock")


def test_a_directory_is_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        MockConfig(db_path=str(tmp_path))
    assert isinstance(open_store(None), MemoryStore)


# -- the journal of a SQL store, through two apps on one file (quick) ---------------------------


def test_two_apps_on_one_file_share_one_journal_attributed_and_masked_where_it_is_kept(
    tmp_path: Path,
) -> None:
    """Online (F-131): each application sees its own entries and those no caller is named by,
    whichever process answered them; the rows hold no credential, anywhere (F-252)."""
    import json

    from mockserver import create_app, state_of
    from mockserver.config import DEFAULT_USERS, Application, Associate, DeliveryConfig, User

    db = str(tmp_path / "state.sqlite3")
    ann = User(username="ann", associate=Associate(associate_id=11, name="ANN"), bearer_tokens=("8A:ann",))
    config = MockConfig(
        profile="online",
        users=(*DEFAULT_USERS, ann),
        db_path=db,
        delivery=DeliveryConfig(registration_ping=False),
        applications=(
            Application(name="A", app_token="token-a", bearer_tokens=("8A:Cust12345.tje0",)),
            Application(name="B", app_token="token-b", bearer_tokens=("8A:ann",)),
        ),
    )
    one, two = create_app(config), create_app(config)
    as_a = {"Authorization": "Bearer 8A:Cust12345.tje0", "Content-Type": "application/json"}
    as_b = {"Authorization": "Bearer 8A:ann", "Content-Type": "application/json"}
    save = "/api/v1/Agents/Webhook/SaveWebhook"
    body = json.dumps({"Name": "a", "Type": "crmscript", "Secret": "top-secret"})
    assert one.test_client().post(f"{save}?quoted=8A:ann", headers=as_a, data=body).status_code == 200
    assert (
        two.test_client().post(save, headers=as_b, data='{"Name": "b", "Type": "crmscript"}').status_code
        == 200
    )
    assert (
        two.test_client().post(save, headers={"Authorization": "Bearer nobody"}, data="{}").status_code == 401
    )
    seen_by_a = two.test_client().get("/__mock__/journal", headers=as_a).json
    seen_by_b = one.test_client().get("/__mock__/journal", headers=as_b).json
    assert [(e["status"], e["body"]) for e in seen_by_a] == [
        (200, {"Name": "a", "Type": "crmscript", "Secret": "***"}),
        (401, "{}"),
    ]
    assert [(e["status"], e["body"]) for e in seen_by_b] == [
        (200, {"Name": "b", "Type": "crmscript"}),
        (401, "{}"),
    ]
    kept = " ".join(entry for (entry,) in _rows(db, "SELECT entry FROM journal"))
    for secret in ("top-secret", "8A:ann", "8A:Cust12345.tje0", "Bearer nobody", "nobody"):
        assert secret not in kept
    assert one.test_client().delete("/__mock__/journal", headers=as_b).status_code == 204  # B's and nobody's
    assert [e["body"] for e in two.test_client().get("/__mock__/journal", headers=as_a).json] == [
        {"Name": "a", "Type": "crmscript", "Secret": "***"}
    ]
    for app in (one, two):
        state_of(app).store.close()


def test_the_ready_line_names_a_postgresql_store_without_its_password() -> None:
    from mockserver.server import ready_line

    line = ready_line("http://127.0.0.1:1", MockConfig(db_path="postgresql://mock:pw-42@db.example/sandbox"))
    assert "store postgresql postgresql://mock:***@db.example/sandbox" in line and "pw-42" not in line
