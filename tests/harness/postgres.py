"""A throw-away PostgreSQL cluster for the tests: Debian's ``postgresql`` binaries (``initdb``,
``pg_ctl``), on a free port of 127.0.0.1, started once per test process on first use and removed at
exit; never a mock of the database. ``database()`` gives each test a database of its own (its URL);
``psql_rows`` reads one with psycopg, independently of the mock's code.

initdb refuses to run as root: as root the cluster belongs to the ``postgres`` user and its commands
run through ``runuser``. Without the binaries (``apt-get install -y postgresql``) the tests that
need the cluster are skipped, saying so; ``.ci/run`` installs them.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

USER = "sowebhook"
PASSWORD = "pg-s3cret"  # the cluster trusts loopback; the password is there to be masked


class Cluster:
    def __init__(self, bindir: Path) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="sowebhook-pg-"))
        self.data = self.scratch / "data"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.scratch, "postgres", "postgres")
        self.bindir = bindir
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync")
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.scratch} -c fsync=off"
            " -c max_connections=300 -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "start", "-w", "-D", str(self.data), "-l", str(self.scratch / "log"), "-o", options
        )
        self._names = itertools.count(1)

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"{tool} failed: {done.stdout}{done.stderr}")

    def url(self, dbname: str = "postgres", *, password: bool = True) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{dbname}"

    def database(self) -> str:
        """A new, empty database; its URL (with the password)."""
        return create_database(self.url(), f"t{os.getpid()}_{next(self._names)}")

    def stop(self) -> None:
        """Stop the cluster and remove its files; a second call does nothing."""
        if not self.data.exists():
            return
        try:
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate")
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)


_cluster: Cluster | None = None
_lock = threading.Lock()


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def cluster() -> Cluster:
    """The cluster of this test process (started on first use); skips the test without binaries."""
    global _cluster
    with _lock:
        if _cluster is None:
            bindir = _bindir()
            if bindir is None:
                pytest.skip(
                    "PostgreSQL binaries not installed (apt-get install -y postgresql); .ci/run installs them"
                )
            if os.geteuid() == 0 and shutil.which("runuser") is None:
                pytest.skip("initdb refuses root, and runuser is not here to run it as postgres")
            try:
                import psycopg  # noqa: F401
            except ImportError:
                pytest.skip("psycopg is not installed (pip install -e '.[test]')")
            _cluster = Cluster(bindir)
            atexit.register(_cluster.stop)
        return _cluster


def database() -> str:
    return cluster().database()


def create_database(server: str, name: str) -> str:
    """A new, empty database ``name`` on the server of the URL ``server``; its URL."""
    import psycopg

    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}".encode())
    scheme, rest = server.split("://", 1)
    return f"{scheme}://{rest.partition('/')[0]}/{name}"


def drop_database(url: str) -> None:
    """Drop the database at ``url`` (connected to through the server's ``postgres`` database)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {conninfo_to_dict(url)['dbname']} WITH (FORCE)".encode())


def psql_rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of ``query`` on the database at ``url``, read with psycopg directly."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        return connection.execute(query.encode(), params).fetchall()


def pg_webhooks(url: str) -> dict[int, dict[str, Any]]:
    """The webhooks of the mock's database, read without the mock's code."""
    import json

    return {
        webhook_id: json.loads(body)
        for webhook_id, body in psql_rows(url, "SELECT webhook_id, body FROM webhook")
    }


class OutboxWatch:
    """Every committed change of an outbox row, as PostgreSQL announces it (a trigger and
    LISTEN/NOTIFY installed by the test): ``wait(attempt, free)`` blocks until a row has reached
    ``attempt`` and is held by nobody (put back for its next attempt), with no polling."""

    TRIGGER = """
    CREATE OR REPLACE FUNCTION outbox_watch() RETURNS trigger AS $$
    BEGIN PERFORM pg_notify('outbox_watch', NEW.attempt || ' ' || (NEW.lease_until IS NULL)); RETURN NEW; END
    $$ LANGUAGE plpgsql;
    CREATE TRIGGER outbox_watch AFTER UPDATE ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_watch();
    """

    def __init__(self, url: str) -> None:
        import psycopg

        self.connection = psycopg.connect(url, autocommit=True)
        self.connection.execute(self.TRIGGER.encode())
        self.connection.execute(b"LISTEN outbox_watch")

    def wait(self, attempt: int, timeout: float = 20.0) -> None:
        for note in self.connection.notifies(timeout=timeout):
            if note.payload == f"{attempt} true":
                return
        raise AssertionError(f"no outbox row was put back for attempt {attempt} within {timeout} s")

    def close(self) -> None:
        self.connection.close()
