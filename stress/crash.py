"""Kill ``sowebhook mock --db FILE`` with SIGKILL mid write load, again and again: is every
acknowledged save still there?

    python stress/crash.py [--cycles 30] [--seconds 150] [--workers 1|2|mixed] [--clients 4]
                           [--postgres postgresql://user@host/postgres]

Each cycle starts the mock on the same file (after the last cycle's kill: stale WAL, shared memory
and writer-lock files included), checks that the state is exactly what the clients were answered
before the kill (the one request each had in flight may or may not have taken effect; nothing else
may differ), that ``PRAGMA integrity_check`` is ok and that a new save gets an id above every id
handed out before; then ``--clients`` threads create (distinct Names), update and delete until the
one that receives a random N-th acknowledgement (20..200) SIGKILLs the mock and its workers. The
last cycle ends with a final restart and check. Bounded by ``--cycles`` and ``--seconds``; only
loopback. Not a test.

``--postgres URL`` runs the same cycles on a PostgreSQL store: a new database on the server of URL
(created through it, dropped at the end) instead of a SQLite file; the state is read with psycopg,
and the file checks (stale files, ``integrity_check``) have no counterpart: the database is not
killed, only the mock.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import _paths  # noqa: F401  # tests/ on sys.path, for harness

# isort: split
from harness.clients import HttpClient
from harness.crash import CrashLoad, crash_problems, stale_files, write_until_killed
from harness.postgres import create_database, drop_database, pg_webhooks, psql_rows
from harness.process import MockProcess
from harness.store import by_id, highest_id_ever, integrity, sqlite_webhooks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=30, help="kill/restart cycles (at most 1000)")
    parser.add_argument(
        "--seconds", type=float, default=150.0, help="stop earlier after this many seconds (at most 3600)"
    )
    parser.add_argument(
        "--workers", default="mixed", choices=["1", "2", "3", "mixed"], help="worker processes per start"
    )
    parser.add_argument("--clients", type=int, default=4, help="writer threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--postgres", metavar="URL", help="a PostgreSQL server (a database of it to connect to)"
    )
    args = parser.parse_args()
    if not (1 <= args.cycles <= 1000 and 1 <= args.seconds <= 3600 and 1 <= args.clients <= 32):
        parser.error("keep it bounded: --cycles 1..1000, --seconds 1..3600, --clients 1..32")
    rng = random.Random(args.seed)

    problems: list[str] = []
    restarts: list[float] = []
    totals = dict.fromkeys(
        [
            "acks",
            "saves acknowledged",
            "found",
            "changed by the request in flight",
            "missing",
            "in flight",
            "took effect",
            "integrity ok",
        ],
        0,
    )
    cycles = 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sowebhook-crash-") as scratch:
        db = (
            str(Path(scratch) / "state.sqlite3")
            if not args.postgres
            else create_database(args.postgres, f"sowebhook_crash_{time.monotonic_ns()}")
        )
        stored_now = pg_webhooks if args.postgres else sqlite_webhooks
        check_file = not args.postgres
        baseline: dict[int, dict[str, Any]] = {}  # what the last check found: later cycles must not change it
        highest = 0
        load: CrashLoad | None = None
        while True:
            last = cycles >= args.cycles or time.monotonic() - started > args.seconds
            workers = rng.choice([1, 2]) if args.workers == "mixed" else int(args.workers)
            if load is not None and check_file:
                missing = {"state.sqlite3-wal", "state.sqlite3-writer.lock"} - set(stale_files(db))
                if missing:
                    problems.append(f"cycle {cycles}: the kill left no {sorted(missing)} (not a crash?)")
            began = time.monotonic()
            mock = MockProcess(db, workers=workers, stderr=Path(scratch) / "mock.stderr")
            restarts.append(time.monotonic() - began)
            try:
                status, listed = HttpClient(mock.port, fresh=True).call("GetAllWebhooks")
                stored = by_id(listed) if status == 200 else {}
                if status != 200:
                    problems.append(f"cycle {cycles}: GetAllWebhooks answered {status} after the restart")
                if stored != stored_now(db):
                    problems.append(f"cycle {cycles}: the API and the database disagree")
                for webhook_id, webhook in baseline.items():
                    if stored.get(webhook_id) != webhook:
                        problems.append(
                            f"cycle {cycles}: webhook {webhook_id} of an earlier cycle changed or vanished"
                        )
                if load is not None:
                    new = {k: v for k, v in stored.items() if k not in baseline}
                    problems += [f"cycle {cycles}: {p}" for p in crash_problems(load, new)]
                    totals["saves acknowledged"] += len(load.live)
                    totals["found"] += sum(1 for k, v in load.live.items() if new.get(k) == v)
                    totals["changed by the request in flight"] += sum(
                        1 for k, v in load.live.items() if new.get(k) not in (v, None)
                    )
                    totals["missing"] += sum(1 for k in load.live if k not in new)
                    totals["in flight"] += len(load.in_flight)
                    totals["took effect"] += _took_effect(load, new)
                    totals["acks"] += load.acks
                check = integrity(db) if check_file else "ok"
                totals["integrity ok"] += check == "ok"
                if check != "ok":
                    problems.append(f"cycle {cycles}: integrity_check: {check}")
                highest = max([highest, *stored])
                status, probe = HttpClient(mock.port, fresh=True).call(
                    "SaveWebhook", {"Name": f"probe {cycles}"}
                )
                if status != 200 or probe["WebhookId"] <= highest:
                    problems.append(f"cycle {cycles}: a new save got {probe} (highest id so far {highest})")
                else:
                    highest = probe["WebhookId"]
                    stored[highest] = probe
                baseline = stored
                if last:
                    exit_status = mock.stop()
                    if exit_status != 0:
                        problems.append(f"the final stop exited {exit_status}")
                    break
                load = write_until_killed(
                    mock, clients=args.clients, kill_after=rng.randint(20, 200), seed=rng.random()
                )
                highest = max([highest, *load.created])
                cycles += 1
            finally:
                mock.kill() if mock.process.poll() is None else None
        stderr = mock.stderr()
        if args.postgres:
            sequence = psql_rows(db, "SELECT last_value FROM webhook_webhook_id_seq")[0][0]
            drop_database(db)
        else:
            sequence = highest_id_ever(db)

    elapsed = time.monotonic() - started
    print(
        f"crash: {cycles} SIGKILL/restart cycles in {elapsed:.1f} s, {args.clients} writer threads, workers {args.workers}"
    )
    print(
        f"requests acknowledged before the kills: {totals['acks']}; acknowledged webhooks expected after the restarts: "
        f"{totals['saves acknowledged']}, found with the acknowledged content: {totals['found']}, changed by the "
        f"request in flight at the kill: {totals['changed by the request in flight']}, missing (deleted by the "
        f"request in flight, else a problem): {totals['missing']}"
    )
    print(
        f"requests in flight at the kills: {totals['in flight']}, of which took effect: {totals['took effect']}"
    )
    checked = (
        "no file to check (PostgreSQL)"
        if args.postgres
        else f"{totals['integrity ok']} of {cycles + 1} starts"
    )
    print(
        f"integrity_check ok: {checked}; highest id {highest} (the store's sequence "
        f"{sequence}); restart to ready: median {statistics.median(restarts):.2f} s, max {max(restarts):.2f} s"
    )
    print(f"tracebacks in the mock's stderr: {stderr.count('Traceback')}")
    print(f"problems: {len(problems)}")
    for problem in problems[:20]:
        print("  " + problem)
    return 0 if not problems and "Traceback" not in stderr else 1


def _took_effect(load: CrashLoad, stored: dict[int, dict[str, Any]]) -> int:
    """How many of the requests in flight at the kill had committed (they were never answered)."""
    names = {w.get("Name") for w in stored.values()}
    count = 0
    for kind, name, webhook_id in load.in_flight.values():
        if kind == "create":
            count += name in names
        elif kind == "update":
            count += (stored.get(webhook_id) or {}).get("Name") == name
        else:
            count += webhook_id not in stored
    return count


if __name__ == "__main__":
    raise SystemExit(main())
