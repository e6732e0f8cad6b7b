"""What test modules and the scripts in ``stress/`` and ``bench/`` share; no tests here.

No test module imports another, nor ``conftest``: each imports what it shares from this module.
``tests/`` is on ``sys.path`` through pytest's rootdir conftest (as for ``docpages``);
``stress/_paths.py`` and ``bench/_paths.py`` put it there for the scripts.

- openapi-core's view of an exchange: ``wire_request``, ``wire_response``
- ``sowebhook mock`` as a process: ``start_mock`` (the process and its URL), ``MockProcess``
  (killed with its workers, as a crash would), ``Sample`` (memory, files, threads of its tree)
- clients, and the oracle of concurrent clients (what the mock acknowledged): ``HttpClient``,
  ``in_threads``, ``owner_mix``/``owner_problems``, ``contend``/``contention_problems``, the
  SQLite file read directly, and the CI mix of the load checks (``ci_mix``, ``Tally``)
- crashes: ``write_until_killed``, ``crash_problems``, ``stale_files``
- hostile bodies: ``hostile_app``, ``snapshot``, ``error_shape_problems``, ``no_traceback``,
  ``LAUGHS``, ``nested_json``, ``nested_xml``, ``BRIDGE``
- arbitrary requests for the fuzzers: ``requests``
- servers of another version, for ``verify`` and the checks: ``mock_app``, ``webhooks_changed``,
  ``newer``, ``events_of_wrong_type``, ``FUTURE``
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
from urllib.parse import quote
from xml.etree import ElementTree

from flask import Flask
from hypothesis import strategies as st
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from contracts import load
from contracts.wire import XML_TYPES, WireFormats
from mockserver import MockConfig, create_app, state_of
from mockserver.config import DeliveryConfig

AGENT = "/api/v1/Agents/Webhook/"
AUTH = {"Authorization": "Basic dGplMDpUamUw"}
JSON = {**AUTH, "Content-Type": "application/json"}
ROOT = Path(__file__).resolve().parent.parent

Call = Callable[..., "tuple[int, Any]"]  # call(operation, body=None, query="") -> (status, value)


# ---------------------------------------------------------------------------------------------
# openapi-core's view of an exchange


def wire_request(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    query: dict[str, str] | None = None,
) -> WerkzeugOpenAPIRequest:
    """An HTTP request as openapi-core sees it, built the way a WSGI server would build it."""
    headers = dict(headers or {})
    content_type = headers.pop("Content-Type", None)
    builder = EnvironBuilder(
        method=method,
        path=path,
        base_url="http://localhost",
        headers=headers,
        data=body,
        content_type=content_type,
        query_string=query,
    )
    return WerkzeugOpenAPIRequest(Request(builder.get_environ()))


def wire_response(status: int, *, headers: dict[str, str] | None = None, body: Any = None) -> WerkzeugOpenAPIResponse:
    headers = dict(headers or {})
    content_type = headers.pop("Content-Type", None)
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    response = Response(data, status=status, headers=headers, content_type=content_type)
    if status == 204:
        response.headers.pop("Content-Type", None)
    return WerkzeugOpenAPIResponse(response)


# ---------------------------------------------------------------------------------------------
# The mock as a process, and clients of it


def start_mock(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "contracts.cli", "mock", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # blocks until the mock says it is ready (no sleeping)
    assert line.startswith("sowebhook mock ready at http://127.0.0.1:"), line + (process.stderr.read() if process.poll() is not None else "")
    return process, line.split()[4]


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
        if (
            self._connection is not None
            and self._connection.sock is not None
            and select.select([self._connection.sock], [], [], 0)[0]  # closed by the server while idle
        ):
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
# Crashes: what the clients were answered before a SIGKILL


CUT = (OSError, http.client.HTTPException)  # what a client sees of a server that was killed


@dataclass
class CrashLoad:
    """What the clients were answered before the kill, and what each had in flight at the kill."""

    live: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> last acknowledged content
    deleted: set[int] = field(default_factory=set)
    created: list[int] = field(default_factory=list)  # every id acknowledged to a create
    in_flight: dict[int, tuple[str, str, int]] = field(default_factory=dict)  # client -> (kind, Name, id)
    acks: int = 0
    failures: list[str] = field(default_factory=list)


def write_until_killed(mock: MockProcess, *, clients: int, kill_after: int, seed: int = 0) -> CrashLoad:
    """``clients`` threads create (distinct Names), update and delete their own webhooks, each on
    a new connection per request, until the client that receives the ``kill_after``-th
    acknowledgement SIGKILLs the mock and its workers; the others are cut off mid-request."""
    load = CrashLoad()
    lock = threading.Lock()
    killed = threading.Event()

    def client(n: int) -> None:
        rng = random.Random(f"{seed}:{n}")
        mine: list[int] = []
        call = HttpClient(mock.port, fresh=True, timeout=60).call
        for version in itertools.count():
            roll = rng.random()
            name = f"k{n}-{version}"
            webhook_id, query = 0, ""
            if not mine or roll < 0.55:
                kind, operation, body = "create", "SaveWebhook", webhook_body(name, rng)
            elif roll < 0.85:
                webhook_id = rng.choice(mine)
                kind, operation, body = "update", "SaveWebhook", webhook_body(name, rng, webhook_id)
            else:
                webhook_id = rng.choice(mine)
                kind, operation, body, query = "delete", "DeleteWebhook", None, f"?WebhookId={webhook_id}"
            with lock:
                if killed.is_set():
                    return
                load.in_flight[n] = (kind, name, webhook_id)
            try:
                status, value = call(operation, body, query)
            except CUT as error:
                if not killed.is_set():
                    load.failures.append(f"client {n}: {kind} {name} failed before the kill: {error!r}")
                return
            with lock:
                if status != (204 if kind == "delete" else 200):
                    load.failures.append(f"client {n}: {kind} {name} answered {status}: {value}")
                    return
                del load.in_flight[n]
                load.acks += 1
                if kind == "create":
                    load.created.append(value["WebhookId"])
                    mine.append(value["WebhookId"])
                    load.live[value["WebhookId"]] = value
                elif kind == "update":
                    load.live[webhook_id] = value
                else:
                    mine.remove(webhook_id)
                    del load.live[webhook_id]
                    load.deleted.add(webhook_id)
                if load.acks >= kill_after and not killed.is_set():
                    killed.set()  # before the kill: a cut-off client knows it was the kill
                    mock.kill()

    in_threads(clients, client)
    if not killed.is_set():  # every client failed before the N-th acknowledgement
        mock.kill()
    return load


def crash_problems(load: CrashLoad, stored: dict[int, dict[str, Any]]) -> list[str]:
    """Acknowledged saves there with their content; deleted ones gone; nothing else, except what
    a request in flight at the kill may have done (its Name tells it apart)."""
    problems = list(load.failures)
    if len(load.created) != len(set(load.created)):
        problems.append("an id was acknowledged to two creates")
    pending = {
        (kind, webhook_id): name for kind, name, webhook_id in load.in_flight.values() if kind != "create"
    }
    pending_creates = {name for kind, name, _ in load.in_flight.values() if kind == "create"}
    for webhook_id, webhook in sorted(load.live.items()):
        got = stored.get(webhook_id)
        if got == webhook:
            continue
        if got is None and ("delete", webhook_id) in pending:
            continue  # deleted by the request in flight
        if got is not None and got.get("Name") == pending.get(("update", webhook_id)):
            continue  # updated by the request in flight
        problems.append(
            f"acknowledged webhook {webhook_id} ({webhook['Name']}) is "
            + ("missing" if got is None else f"stored as {got.get('Name')}")
        )
    for webhook_id in sorted(load.deleted & stored.keys()):
        problems.append(f"webhook {webhook_id} was deleted (acknowledged) but is stored again")
    for webhook_id in sorted(stored.keys() - load.live.keys() - load.deleted):
        name = stored[webhook_id].get("Name")
        if name in pending_creates:
            pending_creates.discard(name)  # a create the kill cut off after its commit: allowed, once
        else:
            problems.append(f"webhook {webhook_id} ({name}) is stored but nobody saved it")
    return problems


def stale_files(db: str) -> list[str]:
    return sorted(p.name for p in Path(db).parent.iterdir() if p.name.startswith(Path(db).name + "-"))


# ---------------------------------------------------------------------------------------------
# Hostile bodies, and the state a request could change


XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
LIMIT = 1_048_576  # Limits.max_body_bytes, the default


def offline(app: Flask) -> Flask:
    """Every TargetUrl host resolves to a documentation address (192.0.2.1), outside the networks
    the mock may call: registration pings and deliveries are refused without DNS or a connection."""
    state_of(app).deliveries.resolve = lambda host, port: ["192.0.2.1"]
    return app


def hostile_app(db_path: str | None = None) -> Flask:
    return offline(create_app(MockConfig(db_path=db_path, sleep=lambda seconds: None)))


def snapshot(app: Flask) -> tuple[Any, ...]:
    """Everything a request could change: the stored webhooks (with usage), active faults, the
    response mode and the events delivered (once the queue is drained). Not the journal nor the
    record of registration pings and TestWebhook calls (event ``test``), which log every request."""
    state = state_of(app)
    assert state.deliveries.drain(10), "deliveries still queued after 10 s"
    return (
        sorted((row.webhook_id, json.dumps(row.webhook, sort_keys=True), row.owner, row.last_error) for row in state.store.all()),
        [fault.to_json() for fault in state.faults.active()],
        state.agent.generated_seed,
        [(record.webhook_id, record.event, record.attempt) for record in state.deliveries.history() if record.event != "test"],
    )


def error_shape_problems(content_type: str, body: bytes) -> list[str]:
    """How an error body departs from ASP.NET's HttpError (F-032): ``{Message, MessageDetail?,
    ModelState?}`` in JSON, ``<Error><Message>…`` in XML; an empty list when it conforms."""
    if not body:
        return []
    kind = content_type.split(";")[0].strip()
    if kind in ("application/json", "text/json"):
        try:
            value = json.loads(body)
        except ValueError:
            return [f"not JSON: {body[:100]!r}"]
        if not isinstance(value, dict):
            return [f"not an object: {body[:100]!r}"]
        problems = [f"unexpected member {key}" for key in value if key not in ("Message", "MessageDetail", "ModelState")]
        if not isinstance(value.get("Message"), str):
            problems.append("no Message text")
        if not isinstance(value.get("MessageDetail", ""), str):
            problems.append("MessageDetail is not text")
        model_state = value.get("ModelState", {})
        if not isinstance(model_state, dict) or not all(
            isinstance(v, list) and all(isinstance(m, str) for m in v) for v in model_state.values()
        ):
            problems.append("ModelState is not an object of lists of texts")
        return problems
    if kind in ("application/xml", "text/xml"):
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            return [f"not XML: {body[:100]!r}"]
        if root.tag != "Error" or root.find("Message") is None:
            return [f"not <Error><Message>: {body[:100]!r}"]
        return []
    return [f"an error body of type {content_type!r}"]


def no_traceback(body: bytes) -> bool:
    return b"Traceback" not in body and b'File "' not in body


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
    + b"]><Webhook><Name>&lol9;</Name></Webhook>"
)


def nested_json(levels: int) -> bytes:
    """A SaveWebhook body whose containers nest ``levels`` deep: the body (1), Properties (2), then arrays."""
    return b'{"Properties":{"a":' + b"[" * (levels - 2) + b"]" * (levels - 2) + b"}}"


def nested_xml(levels: int) -> bytes:
    """A SaveWebhook body whose elements nest ``levels`` deep: <Webhook> (1), <Properties> (2), then
    typed dictionaries of one entry (<StringObjectKeyValuePair> and its <Value>, two levels each),
    the innermost value a string, or an array of one string for an odd count."""
    pairs = (levels - 2) // 2 if levels % 2 == 0 else (levels - 3) // 2
    if levels % 2 == 0:
        innermost = '<Value xsi:type="xsd:string">v</Value>'
    else:
        innermost = '<Value xsi:type="ArrayOfanyType"><anyType xsi:type="xsd:string">v</anyType></Value>'
    opening = '<StringObjectKeyValuePair><Key>k</Key><Value xsi:type="StringObjectDictionary">' * (pairs - 1)
    closing = "</Value></StringObjectKeyValuePair>" * (pairs - 1)
    leaf = f"<StringObjectKeyValuePair><Key>k</Key>{innermost}</StringObjectKeyValuePair>"
    return f"<Webhook {XSI}><Properties>{opening}{leaf}{closing}</Properties></Webhook>".encode()


# Serves create_app() through mockserver.app.BufferedRSGI on granian's RSGI interface, as
# mockserver.server does, with a short body deadline; prints a ready line.
BRIDGE = """
import socket, sys, threading
from granian.constants import Interfaces
from granian.server import Server
from mockserver import MockConfig, create_app
from mockserver.app import BufferedRSGI
port, timeout = int(sys.argv[1]), float(sys.argv[2])
def announce():
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            threading.Event().wait(0.01)
    print(f"bridge ready at http://127.0.0.1:{port}", flush=True)
def load():
    app = BufferedRSGI(create_app(MockConfig(response_validation="report")), threads=4, body_timeout=timeout)
    threading.Thread(target=announce, daemon=True).start()
    return app
Server("bridge", address="127.0.0.1", port=port, interface=Interfaces.RSGI, log_enabled=False).serve(target_loader=load, wrap_loader=False)
"""


# ---------------------------------------------------------------------------------------------
# Arbitrary requests: every operation, the admin endpoints, unknown paths


CONTRACT = load()
WIRE = WireFormats(CONTRACT)
OPERATIONS = {
    spec["operationId"]: (path, method.upper(), spec)
    for path, item in CONTRACT.document["paths"].items()
    for method, spec in item.items()
    if isinstance(spec, dict) and "operationId" in spec
}
ADMIN = [
    "/__mock__/journal", "/__mock__/reset", "/__mock__/webhooks", "/__mock__/events", "/__mock__/deliveries",
    "/__mock__/deliveries/drain", "/__mock__/responses", "/__mock__/faults", "/openapi.json", "/openapi.yaml",
]
UNKNOWN = [
    "/", "/api", "/api/v1/Agents/Webhook", "/api/v1/Agents/Webhook/", "/api/v1/agents/webhook/savewebhook",
    "/api/v1/Agents/Webhook/SaveWebhook/", "/api/v1/Agents/Webhook/SaveWebhook/1", "/Cust12345/api/v1/Agents/Webhook/GetWebhook",
    "/__mock__", "/__mock__/", "/__mock__/nope", "/api/v1/Agents/Webhook/Save%57ebhook", "/%00", "/..%2F..%2Fetc%2Fpasswd",
]
METHODS = ["POST"] * 12 + ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]
DOCUMENTED_TYPES = [
    "application/json", "text/json", "application/xml", "text/xml", "application/x-www-form-urlencoded",
    "application/json-patch+json", "application/merge-patch+json",
]
NEAR_TYPES = [
    "", "APPLICATION/JSON", "application/json ;", "application/json; charset", "application/json;;", "application/*",
    "*/*", "text/plain", "application/xml+json", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded;",
    "application/json; q=0", "application", "/", ";", "application/json,text/xml", 'application/json; charset="utf-8"',
]
CHARSETS = ["utf-8", "UTF-8", "utf-16", "utf-16le", "utf-32", "latin-1", "punycode", "utf-7", "idna", "rot13", "hex", "", "x" * 50]
WEBHOOK_SCHEMA = {"$ref": "#/components/schemas/Webhook"}

_TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~", min_size=1, max_size=20)
_FIELD_VALUE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60)
_SPECIAL_HEADERS = st.sampled_from(
    ["SO-TimeZone", "SO-Language", "SO-Culture", "Accept-Language", "SO-AppToken", "X-XSRF-TOKEN", "Cookie", "If-Match", "Expect", "Range"]
)
_MEDIA_TYPE = st.one_of(
    st.sampled_from(DOCUMENTED_TYPES),
    st.sampled_from(DOCUMENTED_TYPES[:5]),
    st.tuples(st.sampled_from(DOCUMENTED_TYPES), st.sampled_from(CHARSETS)).map(lambda t: f"{t[0]}; charset={t[1]}"),
    st.sampled_from(NEAR_TYPES),
    _FIELD_VALUE,
)
_ACCEPT = st.one_of(
    st.none(),
    _MEDIA_TYPE,
    st.lists(
        st.tuples(st.sampled_from([*DOCUMENTED_TYPES, "*/*", "text/*", "application/*", "image/png"]),
                  st.sampled_from(["", ";q=0", ";q=0.5", ";q=1", ";q=abc", ";q=nan", ";q=inf", ";q=-1", ";q=1e999"])),
        min_size=1, max_size=4,
    ).map(lambda parts: ", ".join(kind + q for kind, q in parts)),
)
_CREDENTIALS = st.sampled_from(
    [
        *[AUTH] * 20, {}, {"Authorization": "SOTicket 7T:dGplMA=="}, {"Authorization": "Bearer 8A:Cust12345.tje0"},
        {"X-XSRF-TOKEN": "xsrf-tje0", "Cookie": "XSRF-TOKEN=xsrf-tje0"}, {"Authorization": "Basic dGplMDpXcm9uZw=="},
        {"Authorization": "Basic !!!"}, {"Authorization": "Basic "}, {"Authorization": "basic dGplMDpUamUw"},
        {"Authorization": "Negotiate abc"}, {"Authorization": "SOTicket"}, {"X-XSRF-TOKEN": "xsrf-tje0"},
    ]
)
_URLS = st.sampled_from(["https://127.0.0.1:9/hook", "https://192.0.2.1/hook", "http://hooks.example.com/", "https://[::1]:9/", "ftp://x", "", "7"])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
_WEBHOOK = st.fixed_dictionaries(
    {},
    optional={
        "WebhookId": st.sampled_from([0, 1, 2, 3, -1, 2**31, 99]),
        "Name": st.text(max_size=30),
        "Events": st.lists(st.sampled_from(["contact.created", "person.changed", "x", ""]), max_size=3),
        "TargetUrl": _URLS,
        "Secret": st.text(max_size=20),
        "State": st.sampled_from(["Active", "Stopped", "TooManyErrors", "Unknown", "active", 1]),
        "Type": st.sampled_from(["webhook", "crmscript", "other", "", None]),
        "Headers": st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2),
        "Properties": st.dictionaries(st.text(max_size=8), _JSON, max_size=2),
        "ErrorsEmail": st.text(max_size=10),
    },
)


def _body_values(operation: str) -> st.SearchStrategy[Any]:
    """Values near an operation's documented body: its own member names with any values."""
    if operation == "SaveWebhook":
        return _WEBHOOK
    if operation == "TestWebhook":
        return st.fixed_dictionaries({}, optional={"Webhook": _WEBHOOK | _JSON})
    spec = OPERATIONS[operation][2]
    content = CONTRACT.resolve(spec.get("requestBody", {})).get("content", {})
    schema = CONTRACT.resolve(next(iter(content.values()), {}).get("schema", {}))
    names = list(schema.get("properties", {}))
    return st.dictionaries(st.sampled_from(names), _JSON, max_size=len(names)) if names else _JSON


def _encoded(value: Any, media_type: str) -> bytes:
    kind = media_type.split(";")[0].strip().lower()
    try:
        if kind in ("application/xml", "text/xml"):
            return WIRE.encode_xml(value, WEBHOOK_SCHEMA)
        if kind == "application/x-www-form-urlencoded":
            return WIRE.encode_form(value, WEBHOOK_SCHEMA)
    except (ValueError, TypeError):
        pass
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _mutated(draw: st.DrawFn, body: bytes) -> bytes:
    """The body as it is, cut short, with a byte replaced or with bytes inserted."""
    how = draw(st.sampled_from(["as is", "as is", "cut", "replace", "insert"]))
    if how == "as is" or not body:
        return body
    at = draw(st.integers(0, len(body) - 1))
    if how == "cut":
        return body[:at]
    if how == "replace":
        return body[:at] + bytes([draw(st.integers(0, 255))]) + body[at + 1 :]
    return body[:at] + draw(st.binary(min_size=1, max_size=8)) + body[at:]


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    where = draw(st.sampled_from(["operation"] * 8 + ["admin", "unknown"]))
    operation = draw(st.sampled_from(sorted(OPERATIONS)))
    if where == "operation":
        path = OPERATIONS[operation][0]
    elif where == "admin":
        path = draw(st.sampled_from(ADMIN))
    else:
        path = draw(st.one_of(st.sampled_from(UNKNOWN), _FIELD_VALUE.map(lambda t: "/" + quote(t, safe="/"))))
    query = draw(
        st.one_of(
            st.just(""),
            st.sampled_from(["webhookId=1", "WebhookId=1", "webhookId=2&$select=Name,State", "WebhookId=3"]),
            st.sampled_from(["webhookId=1", "WebhookId=2", "webhookId=-1", "webhookId=abc", "webhookId=99999999999",
                             "webhookId=1&webhookId=2", "$select=Name", "$select=", "$select=Nope,Name", "webhookId=%00",
                             "owner=x", "timeout=0", "timeout=nan"]),
            _FIELD_VALUE.map(lambda t: quote(t, safe="=&")),
        )
    )
    media_type = draw(st.one_of(st.none(), _MEDIA_TYPE, _MEDIA_TYPE, _MEDIA_TYPE))
    body_kind = draw(st.sampled_from(["none", "bytes", "json", "near", "near", "near", "near"]))
    if body_kind == "none":
        body = b""
    elif body_kind == "bytes":
        body = draw(st.binary(max_size=200))
    elif body_kind == "json":
        body = json.dumps(draw(_JSON)).encode()
    else:
        body = _mutated(draw, _encoded(draw(_body_values(operation)), media_type or "application/json"))
    headers: dict[str, str] = dict(draw(_CREDENTIALS))
    headers.update(draw(st.dictionaries(st.one_of(_TOKEN, _SPECIAL_HEADERS), _FIELD_VALUE, max_size=3)))
    for name in ("Content-Type", "Content-Length", "Host", "Transfer-Encoding"):
        headers.pop(name, None)
        headers.pop(name.lower(), None)
    accept = draw(_ACCEPT)
    if accept is not None:
        headers["Accept"] = accept
    return {
        "method": draw(st.sampled_from(METHODS) if draw(st.sampled_from([True] * 19 + [False])) else _TOKEN.map(str.upper)),
        "path": path,
        "query": query,
        "headers": headers,
        "media_type": media_type,
        "body": body,
    }


# ---------------------------------------------------------------------------------------------
# Servers of another version


def mock_app(config: MockConfig | None = None) -> Flask:
    return create_app(config or MockConfig(delivery=DeliveryConfig(registration_ping=False)))


def behind_proxy(app: Flask, rewrite: Callable[[Request, Response], Response]) -> Callable[..., Any]:
    """The mock behind a WSGI proxy: ``rewrite(request, answer)`` changes what the mock answered,
    so the server differs from the mock only there (a different assumption, a newer server)."""

    def proxy(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = Response.from_app(app, environ)
        return rewrite(request, response)(environ, start_response)

    return proxy


def webhooks_changed(app: Flask, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[..., Any]:
    """The mock behind a proxy that passes every object it answers an agent call with (a webhook,
    each webhook of a list), in JSON or XML, through ``change``: a server of another version."""
    wire = state_of(app).wire
    contract = load()

    def rewrite(request: Request, response: Response) -> Response:
        operation = contract.document["paths"].get(request.path, {}).get("post")
        if operation is None or response.status_code != 200:
            return response
        declared = contract.resolve(operation["responses"]["200"]).get("content", {})
        schema = declared.get(response.mimetype, {}).get("schema")
        value = wire.decode(response.mimetype, response.get_data(), schema) if schema else None
        if isinstance(value, dict):
            value = change(value)
        elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
            value = [change(item) for item in value]
        else:
            return response
        body = wire.encode_xml(value, schema) if response.mimetype in XML_TYPES else json.dumps(value, ensure_ascii=False).encode()
        return Response(body, status=200, content_type=response.content_type)

    return behind_proxy(app, rewrite)


# Properties a next SuperOffice version could add to its Webhook carrier (no contract knows them).
FUTURE = ("NextVersionField", "Links")


def newer(webhook: dict[str, Any], counter: Iterator[int] = itertools.count(1)) -> dict[str, Any]:  # noqa: B008 - one counter for all calls, on purpose
    """A webhook as a newer server answers it: two properties more, whose values change with every
    answer, so that a model that compared them would fail."""
    serial = next(counter)
    return {**webhook, FUTURE[0]: serial, FUTURE[1]: {"Self": f"webhook/{webhook.get('WebhookId')}", "Serial": serial}}


def events_of_wrong_type(webhook: dict[str, Any]) -> dict[str, Any]:
    """A known property of the wrong type (Events is an array or null), next to a newer server's."""
    return {**newer(webhook), "Events": 5}
