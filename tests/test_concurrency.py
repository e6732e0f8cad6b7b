"""Many clients at once (issue 7): threads on one app, several worker processes on one SQLite file,
and a quick load check of a running mock (open files, threads and memory stay flat).

The oracle is what the mock acknowledged to each client, never the mock's own view: every save
acknowledged (and not later deleted) must be stored with exactly the acknowledged content, no id
may be handed out twice, and no acknowledged update may be lost. Where several clients update the
same webhook, SQLite itself records the order in which the writes committed (a trigger the test
installs writes every new body to an audit table), and that order is checked against the clients'
acknowledgements. The helpers above the tests are shared with ``tests/test_crash.py`` and the
scripts in ``stress/``.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mockserver import MockConfig, create_app
from mockserver.app import state_of

AGENT = "/api/v1/Agents/Webhook/"
AUTH = {"Authorization": "Basic dGplMDpUamUw"}
JSON = {**AUTH, "Content-Type": "application/json"}
ROOT = Path(__file__).resolve().parent.parent

Call = Callable[..., "tuple[int, Any]"]  # call(operation, body=None, query="") -> (status, value)


# ---------------------------------------------------------------------------------------------
# The mock as a process, and clients of it


class MockProcess:
    """``sowebhook mock --db FILE`` in a session of its own, so that it and its workers can be
    killed together (``kill``), as a crash would; ``stop`` ends it as a user does (SIGTERM)."""

    def __init__(self, db: str | Path, *args: str, workers: int = 1) -> None:
        self.db = str(db)
        self.stderr_path = Path(f"{self.db}.stderr")
        with open(self.stderr_path, "ab") as stderr:  # a file, not a pipe: a chatty mock never blocks on it
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "contracts.cli",
                    "mock",
                    "--port",
                    "0",
                    "--db",
                    self.db,
                    "--quiet",
                    "--workers",
                    str(workers),
                    *args,
                ],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # blocks until the mock says it is ready
        if not line.startswith("sowebhook mock ready at http://127.0.0.1:"):
            self.kill()
            raise AssertionError(line + self.stderr())
        self.url = line.split()[4]
        self.port = int(self.url.rsplit(":", 1)[1])

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL to the whole process group: the server and every worker, at once."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=30)
        return self.process.returncode

    def __enter__(self) -> MockProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.kill()

    def pids(self) -> list[int]:
        """The server and its descendants (the workers)."""
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    todo += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
            except FileNotFoundError:
                pass
        return found

    def sample(self) -> Sample:
        return Sample.of(self.pids())


@dataclass(frozen=True)
class Sample:
    """Resident memory, open file descriptors and threads of a process tree, summed."""

    rss_kb: int
    fds: int
    threads: int
    processes: int

    @classmethod
    def of(cls, pids: list[int]) -> Sample:
        rss = fds = threads = alive = 0
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                fds += len(os.listdir(f"/proc/{pid}/fd"))
                threads += len(os.listdir(f"/proc/{pid}/task"))
            except FileNotFoundError:
                continue
            rss += int(status.split("VmRSS:")[1].split()[0])
            alive += 1
        return cls(rss, fds, threads, alive)


class HttpClient:
    """A client of the agent over ``http.client``: one keep-alive connection, or (``fresh``) a new
    connection per request, so that the kernel spreads the requests over the workers. A kept
    connection the server closed while it was idle is replaced before the next request (as
    urllib3 does), never after sending it."""

    def __init__(
        self, port: int, *, fresh: bool = False, timeout: float = 30, timings: list[float] | None = None
    ) -> None:
        self.port = port
        self.fresh = fresh
        self.timeout = timeout
        self.timings = timings  # when given, the seconds each request took are appended to it
        self._connection: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self._connection is not None and self._connection.sock is not None:
            if select.select([self._connection.sock], [], [], 0)[0]:  # closed by the server while idle
                self.close()
        if self._connection is None:
            self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        connection = self._connection
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
        except BaseException:
            self.close()
            raise
        if self.timings is not None:
            self.timings.append(time.perf_counter() - started)
        if self.fresh or response.will_close:
            self.close()
        return response.status, data

    def call(self, operation: str, body: Any = None, query: str = "") -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        status, raw = self.request(
            "POST", AGENT + operation + query, data, JSON if data is not None else AUTH
        )
        return status, (json.loads(raw) if raw else None)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def app_call(app: Any) -> Call:
    """``call`` over a Flask test client of ``app`` (one per thread)."""
    client = app.test_client()

    def call(operation: str, body: Any = None, query: str = "") -> tuple[int, Any]:
        answer = client.post(AGENT + operation + query, headers=AUTH, json=body)
        return answer.status_code, (answer.get_json() if answer.data else None)

    return call


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """``work(n)`` in ``count`` threads started together; their results, or the first exception."""
    results: list[Any] = [None] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(n: int) -> None:
        try:
            start.wait()
            results[n] = work(n)
        except BaseException as error:  # noqa: BLE001 - reported in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,), name=f"client-{n}") for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


# ---------------------------------------------------------------------------------------------
# The oracle: what the mock acknowledged


def webhook_body(name: str, rng: random.Random, webhook_id: int = 0) -> dict[str, Any]:
    """A SaveWebhook body whose Name identifies this very save (no ping: no Type)."""
    body: dict[str, Any] = {
        "Name": name,
        "Events": rng.sample(
            ["contact.created", "contact.changed", "sale.created", "project.deleted"], rng.randint(0, 3)
        ),
        "Secret": f"secret-{rng.randrange(10**6)}",
        "Headers": {"X-Version": name},
        "Properties": {"n": rng.randrange(1000)},
    }
    if webhook_id:
        body["WebhookId"] = webhook_id
    return body


@dataclass
class Ledger:
    """What the mock acknowledged to one client, which alone creates, updates and deletes its webhooks."""

    client: int
    live: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> the last acknowledged content
    deleted: set[int] = field(default_factory=set)
    created: list[int] = field(default_factory=list)  # ids in the order they were acknowledged
    requests: int = 0
    failures: list[str] = field(default_factory=list)


def owner_mix(
    call: Call, client: int, operations: int, seed: int = 0, keep: int = 4, deadline: float | None = None
) -> Ledger:
    """Create, update (SaveWebhook with its WebhookId), read and delete this client's own webhooks;
    every read must return the last acknowledged save (read-your-writes, across processes too).
    ``operations`` of them, or fewer if ``time.monotonic()`` passes ``deadline`` first."""
    rng = random.Random(f"{seed}:{client}")
    ledger = Ledger(client)
    versions = itertools.count()

    def expect(status: int, wanted: int, what: str) -> bool:
        ledger.requests += 1
        if status != wanted:
            ledger.failures.append(f"client {client}: {what} answered {status}")
        return status == wanted

    for _ in range(operations):
        if deadline is not None and time.monotonic() > deadline:
            break
        roll = rng.random()
        mine = sorted(ledger.live)
        if not mine or roll < 0.3 or (len(mine) < keep and roll < 0.45):
            status, saved = call("SaveWebhook", webhook_body(f"c{client}-v{next(versions)}", rng))
            if expect(status, 200, "a create"):
                ledger.live[saved["WebhookId"]] = saved
                ledger.created.append(saved["WebhookId"])
        elif roll < 0.65:
            webhook_id = rng.choice(mine)
            status, saved = call("SaveWebhook", webhook_body(f"c{client}-v{next(versions)}", rng, webhook_id))
            if expect(status, 200, f"an update of {webhook_id}"):
                if saved["WebhookId"] != webhook_id:
                    ledger.failures.append(
                        f"client {client}: the update of {webhook_id} saved {saved['WebhookId']}"
                    )
                ledger.live[webhook_id] = saved
        elif roll < 0.8:
            webhook_id = rng.choice(mine)
            status, _ = call("DeleteWebhook", query=f"?WebhookId={webhook_id}")
            if expect(status, 204, f"the delete of {webhook_id}"):
                del ledger.live[webhook_id]
                ledger.deleted.add(webhook_id)
        else:
            webhook_id = rng.choice(mine)
            status, got = call("GetWebhook", query=f"?webhookId={webhook_id}")
            if expect(status, 200, f"a read of {webhook_id}") and got != ledger.live[webhook_id]:
                ledger.failures.append(
                    f"client {client}: read {webhook_id} as {got}, not as last acknowledged"
                )
    return ledger


def owner_problems(ledgers: list[Ledger], stored: dict[int, dict[str, Any]]) -> list[str]:
    """Every acknowledged, undeleted save stored with exactly its acknowledged content; nothing
    else stored; no id acknowledged twice; each client's creates got increasing ids."""
    problems = [failure for ledger in ledgers for failure in ledger.failures]
    created = [webhook_id for ledger in ledgers for webhook_id in ledger.created]
    if len(created) != len(set(created)):
        twice = sorted(i for i in set(created) if created.count(i) > 1)
        problems.append(f"ids acknowledged to more than one create: {twice}")
    for ledger in ledgers:
        if ledger.created != sorted(ledger.created):
            problems.append(f"client {ledger.client} got ids out of order: {ledger.created}")
    expected = {webhook_id: webhook for ledger in ledgers for webhook_id, webhook in ledger.live.items()}
    for webhook_id, webhook in sorted(expected.items()):
        if webhook_id not in stored:
            problems.append(f"acknowledged webhook {webhook_id} ({webhook['Name']}) is missing")
        elif stored[webhook_id] != webhook:
            problems.append(
                f"webhook {webhook_id} is stored as {stored[webhook_id]['Name']}, acknowledged as {webhook['Name']}"
            )
    for webhook_id in sorted(stored.keys() - expected.keys()):
        problems.append(
            f"webhook {webhook_id} ({stored[webhook_id].get('Name')}) is stored but was deleted or never acknowledged"
        )
    return problems


# -- several clients updating one webhook ---------------------------------------------------------

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


@dataclass(frozen=True)
class Ack:
    name: str
    value: dict[str, Any]
    sent: int  # ticks of one counter shared by the clients: sent < acked of the same request
    acked: int


def contend(
    call: Call,
    webhook_id: int,
    client: int,
    updates: int,
    ticks: Iterator[int],
    deadline: float | None = None,
) -> list[Ack]:
    """Update one webhook that other clients update too, each time with a Name of its own."""
    acks, rng = [], random.Random(client)
    for n in range(updates):
        if deadline is not None and time.monotonic() > deadline:
            break
        name = f"u{client}-{n}"
        sent = next(ticks)
        status, value = call("SaveWebhook", webhook_body(name, rng, webhook_id))
        acked = next(ticks)
        assert status == 200, (status, value)
        assert value["WebhookId"] == webhook_id and value["Name"] == name
        acks.append(Ack(name, value, sent, acked))
    return acks


def contention_problems(acks: list[Ack], log: list[dict[str, Any]], final: dict[str, Any]) -> list[str]:
    """What the store promises to concurrent updates of one webhook: each acknowledged update was
    committed exactly once with the acknowledged content (none lost); nothing was committed that
    nobody was answered for; the stored webhook is the last commit; and commits follow real time:
    an update acknowledged before another was sent committed before it."""
    problems = []
    updates = [w for w in log if w["Name"].startswith("u")]  # the log also holds the create's write
    position = {w["Name"]: n for n, w in enumerate(updates)}
    if len(position) != len(updates):
        problems.append("an update was committed twice")
    for ack in acks:
        if ack.name not in position:
            problems.append(f"acknowledged update {ack.name} was never committed (lost)")
        elif updates[position[ack.name]] != ack.value:
            problems.append(f"update {ack.name} committed other content than acknowledged")
    if len(updates) != len(acks):
        problems.append(f"{len(updates)} updates committed, {len(acks)} acknowledged")
    if not updates or final != updates[-1]:
        problems.append(
            f"stored {final.get('Name')}, but the last commit was {updates[-1]['Name'] if updates else None}"
        )
    # real time: no update may commit after one that was sent only once it had been acknowledged
    latest_sent: Ack | None = None  # of the updates committed so far, the one sent last
    for ack in sorted((a for a in acks if a.name in position), key=lambda a: position[a.name]):
        if latest_sent is not None and ack.acked < latest_sent.sent:
            problems.append(
                f"{ack.name} was acknowledged before {latest_sent.name} was sent, but committed after it"
            )
        if latest_sent is None or ack.sent > latest_sent.sent:
            latest_sent = ack
    return problems


# -- reading the SQLite file directly ------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# The CI mix of the load checks


@dataclass
class Tally:
    """Requests sent and what they were answered, by kind; answers that were not the expected one."""

    sent: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)

    def count(self, kind: str, status: int, wanted: int) -> None:
        self.sent += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if status != wanted and len(self.unexpected) < 20:
            self.unexpected.append(f"{kind}: {status}, expected {wanted}")

    def merge(self, other: Tally) -> None:
        self.sent += other.sent
        for status, n in other.by_status.items():
            self.by_status[status] = self.by_status.get(status, 0) + n
        self.unexpected += other.unexpected[: max(0, 20 - len(self.unexpected))]

    @property
    def rejected(self) -> int:
        return sum(n for status, n in self.by_status.items() if 400 <= status < 500)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.by_status.items() if status >= 500)


_BAD_REQUESTS: list[tuple[str, str, str, bytes | None, dict[str, str], int]] = [
    ("a bad WebhookId", "POST", AGENT + "SaveWebhook", b'{"WebhookId": "x"}', JSON, 400),
    ("no credentials", "POST", AGENT + "GetAllWebhooks", None, {}, 401),
    ("wrong credentials", "POST", AGENT + "GetAllWebhooks", None, {"Authorization": "Basic eDp5"}, 401),
    ("an unknown path", "POST", "/api/v1/Agents/Webhook/NoSuchThing", None, AUTH, 404),
    ("a wrong method", "GET", AGENT + "GetAllWebhooks", None, AUTH, 405),
    (
        "an unsupported type",
        "POST",
        AGENT + "SaveWebhook",
        b"<x/>",
        {**AUTH, "Content-Type": "image/png"},
        415,
    ),
    ("a broken JSON body", "POST", AGENT + "SaveWebhook", b'{"Name": ', JSON, 400),
]


def ci_mix(
    client: HttpClient, requests: int, seed: int = 0, keep: int = 20, deadline: float | None = None
) -> Tally:
    """What a CI run sends: saves (create and update), reads, lists, deletes and some requests the
    mock must refuse (4xx). At most ``keep`` webhooks of this client are alive at a time, so that
    GetAllWebhooks does not grow with the run; at the end it deletes them."""
    rng = random.Random(seed)
    tally = Tally()
    mine: list[int] = []
    for n in range(requests):
        if deadline is not None and time.monotonic() > deadline:
            break
        roll = rng.random()
        if len(mine) >= keep or (mine and roll < 0.12):
            webhook_id = mine.pop(rng.randrange(len(mine)))
            status, _ = client.call("DeleteWebhook", query=f"?WebhookId={webhook_id}")
            tally.count("DeleteWebhook", status, 204)
        elif not mine or roll < 0.32:
            status, saved = client.call("SaveWebhook", webhook_body(f"load-{seed}-{n}", rng))
            tally.count("SaveWebhook create", status, 200)
            if status == 200:
                mine.append(saved["WebhookId"])
        elif roll < 0.52:
            webhook_id = rng.choice(mine)
            status, _ = client.call("SaveWebhook", webhook_body(f"load-{seed}-{n}", rng, webhook_id))
            tally.count("SaveWebhook update", status, 200)
        elif roll < 0.77:
            status, _ = client.call("GetWebhook", query=f"?webhookId={rng.choice(mine)}")
            tally.count("GetWebhook", status, 200)
        elif roll < 0.87:
            status, _ = client.call("GetAllWebhooks")
            tally.count("GetAllWebhooks", status, 200)
        else:
            kind, method, path, body, headers, wanted = rng.choice(_BAD_REQUESTS)
            status, _ = client.request(method, path, body, headers)
            tally.count(kind, status, wanted)
    for webhook_id in mine:  # leave nothing behind
        status, _ = client.call("DeleteWebhook", query=f"?WebhookId={webhook_id}")
        tally.count("DeleteWebhook", status, 204)
    return tally


# ---------------------------------------------------------------------------------------------
# (a) threads on one app


@pytest.mark.parametrize("db", [True, False], ids=["sqlite", "memory"])
def test_threads_on_one_app_lose_no_acknowledged_save(tmp_path: Path, db: bool) -> None:
    app = create_app(MockConfig(db_path=str(tmp_path / "state.sqlite3") if db else None))
    try:
        ledgers = in_threads(8, lambda n: owner_mix(app_call(app), n, operations=40))
        status, listed = app_call(app)("GetAllWebhooks")
        assert status == 200
        assert owner_problems(ledgers, by_id(listed)) == []
        assert sum(len(ledger.created) for ledger in ledgers) > 8 * 5  # the mix did create, update and delete
        assert all(ledger.deleted and ledger.live for ledger in ledgers)
        if db:
            assert owner_problems(ledgers, sqlite_webhooks(str(tmp_path / "state.sqlite3"))) == []
    finally:
        state_of(app).store.close()


def test_threads_updating_one_webhook_lose_no_acknowledged_update(tmp_path: Path) -> None:
    db = str(tmp_path / "state.sqlite3")
    app = create_app(MockConfig(db_path=db))
    try:
        install_audit(db)
        status, created = app_call(app)("SaveWebhook", {"Name": "shared"})
        assert status == 200
        ticks = itertools.count()
        webhook_id = created["WebhookId"]
        acks = [*itertools.chain(*in_threads(6, lambda n: contend(app_call(app), webhook_id, n, 15, ticks)))]
        _, final = app_call(app)("GetWebhook", query=f"?webhookId={webhook_id}")
        assert contention_problems(acks, audit_log(db, webhook_id), final) == []
        assert sqlite_webhooks(db)[webhook_id] == final
    finally:
        state_of(app).store.close()


def test_threads_that_end_leave_no_connection_open(tmp_path: Path) -> None:
    # Regression: the SQLite store kept one connection per thread and never closed it, so every
    # server thread that ended (granian ends one idle for 30 s and starts another on the next
    # burst) left its connection's file descriptors open for the life of the process.
    db = tmp_path / "state.sqlite3"
    app = create_app(MockConfig(db_path=str(db)))

    def open_on_db() -> int:
        links = (os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd"))
        return sum(1 for link in links if link.startswith(str(db)))

    try:
        call = app_call(app)
        assert call("SaveWebhook", {"Name": "x"})[0] == 200
        before = open_on_db()
        for n in range(30):  # one short-lived thread after another, as a server's pool renews them
            in_threads(2, lambda m, n=n: app_call(app)("SaveWebhook", {"Name": f"{n}-{m}"}))
        assert open_on_db() <= before + 4  # two more connections at most, not sixty
        assert len(call("GetAllWebhooks")[1]) == 61
    finally:
        state_of(app).store.close()


# ---------------------------------------------------------------------------------------------
# (b) several worker processes on one SQLite file


def test_worker_processes_on_one_file_lose_no_acknowledged_save(tmp_path: Path) -> None:
    db = str(tmp_path / "state.sqlite3")
    with MockProcess(db, workers=3) as mock:
        install_audit(db)
        status, shared = HttpClient(mock.port, fresh=True).call("SaveWebhook", {"Name": "shared"})
        assert status == 200
        ticks = itertools.count()

        def client(n: int) -> Any:  # a new connection per request: the requests spread over the workers
            call = HttpClient(mock.port, fresh=True).call
            if n < 3:
                return owner_mix(call, n, operations=40)
            return contend(call, shared["WebhookId"], n, 16, ticks)

        results = in_threads(8, client)
        ledgers = [r for r in results if isinstance(r, Ledger)]
        acks = [ack for r in results if isinstance(r, list) for ack in r]
        final = HttpClient(mock.port, fresh=True).call(
            "GetWebhook", query=f"?webhookId={shared['WebhookId']}"
        )[1]
        assert contention_problems(acks, audit_log(db, shared["WebhookId"]), final) == []
        ledgers.append(Ledger(-1, live={shared["WebhookId"]: final}))  # the last commit, checked just above
        for _ in range(6):  # whichever worker answers has the same state
            status, listed = HttpClient(mock.port, fresh=True).call("GetAllWebhooks")
            assert status == 200 and owner_problems(ledgers, by_id(listed)) == []
        assert owner_problems(ledgers, sqlite_webhooks(db)) == []  # the file itself, read without the mock
        assert integrity(db) == "ok"
        assert mock.stop() == 0
    assert "Traceback" not in mock.stderr()


# ---------------------------------------------------------------------------------------------
# A quick load check: a running mock keeps its open files, threads and memory flat


def test_a_load_leaves_open_files_threads_and_memory_flat(tmp_path: Path) -> None:
    with MockProcess(tmp_path / "state.sqlite3") as mock:
        clients = [HttpClient(mock.port) for _ in range(3)]
        in_threads(
            3, lambda n: ci_mix(clients[n], 150, seed=100 + n)
        )  # warm-up: every thread and cache in use
        before = mock.sample()
        tallies = in_threads(3, lambda n: ci_mix(clients[n], 1000, seed=n))
        after = mock.sample()
        total = Tally()
        for tally in tallies:
            total.merge(tally)
        assert total.sent >= 3000 and total.server_errors == 0 and total.unexpected == []
        assert total.rejected > 200
        assert HttpClient(mock.port, fresh=True).call("GetAllWebhooks") == (200, [])
        _, journal = HttpClient(mock.port, fresh=True).request("GET", "/__mock__/journal", headers=AUTH)
        assert len(json.loads(journal)) <= 1000  # bounded (limits.journal_entries)
        for client in clients:
            client.close()
        assert after.fds <= before.fds + 4, (before, after)
        assert after.threads <= before.threads + 2, (before, after)
        assert after.rss_kb - before.rss_kb < 30 * 1024, (
            before,
            after,
        )  # generous: catches a leak per request
        assert mock.stop() == 0
    assert "Traceback" not in mock.stderr()
