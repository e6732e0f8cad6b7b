"""A longer mixed load of many clients on ``sowebhook mock --workers N --db FILE``: nothing lost?

    python stress/concurrency.py [--workers 3] [--clients 8] [--contenders 4] [--operations 400] [--seconds 120]

``--clients`` threads each create, update, read and delete their own webhooks; ``--contenders``
threads update one shared webhook all at once. Every request goes on a new connection, so the
kernel spreads them over the worker processes. At the end: every acknowledged, undeleted save is
stored with exactly its acknowledged content (through the API, from every worker, and in the SQLite
file read directly), ids were never acknowledged twice, every read returned the last acknowledged
save, and the shared webhook's commits (logged by a trigger SQLite runs) match the acknowledged
updates: none lost, the last one stored, in real-time order. ``PRAGMA integrity_check`` at the end.
Bounded by ``--operations`` per client and ``--seconds``; only loopback. Not a test.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from pathlib import Path

import _paths  # noqa: F401  # tests/ on sys.path, for harness

# isort: split
from harness.clients import HttpClient, in_threads
from harness.oracle import Ledger, contend, contention_problems, owner_mix, owner_problems
from harness.process import MockProcess
from harness.store import audit_log, by_id, install_audit, integrity, sqlite_webhooks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3, help="the mock's worker processes")
    parser.add_argument("--clients", type=int, default=8, help="threads that own their webhooks")
    parser.add_argument("--contenders", type=int, default=4, help="threads updating one shared webhook")
    parser.add_argument("--operations", type=int, default=400, help="requests per thread (at most 100000)")
    parser.add_argument(
        "--seconds", type=float, default=120.0, help="stop earlier after this many seconds (at most 3600)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not (1 <= args.operations <= 100_000 and 1 <= args.seconds <= 3600):
        parser.error("keep the load bounded: --operations 1..100000, --seconds 1..3600")
    if not (1 <= args.workers <= 8 and 1 <= args.clients <= 64 and 0 <= args.contenders <= 64):
        parser.error("--workers 1..8, --clients 1..64, --contenders 0..64")

    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sowebhook-concurrency-") as scratch:
        db = str(Path(scratch) / "state.sqlite3")
        with MockProcess(db, workers=args.workers) as mock:
            install_audit(db)
            status, shared = HttpClient(mock.port, fresh=True).call("SaveWebhook", {"Name": "shared"})
            assert status == 200, shared
            ticks = itertools.count()
            timings: list[list[float]] = [[] for _ in range(args.clients + args.contenders)]
            started = time.monotonic()
            deadline = started + args.seconds

            def client(n: int) -> object:
                call = HttpClient(mock.port, fresh=True, timings=timings[n]).call
                if n < args.clients:
                    return owner_mix(call, n, args.operations, seed=args.seed, deadline=deadline)
                return contend(call, shared["WebhookId"], n, args.operations, ticks, deadline=deadline)

            results = in_threads(args.clients + args.contenders, client)
            elapsed = time.monotonic() - started
            ledgers = [r for r in results if isinstance(r, Ledger)]
            acks = [ack for r in results if isinstance(r, list) for ack in r]

            final = HttpClient(mock.port, fresh=True).call(
                "GetWebhook", query=f"?webhookId={shared['WebhookId']}"
            )[1]
            problems += contention_problems(acks, audit_log(db, shared["WebhookId"]), final) if acks else []
            ledgers.append(Ledger(-1, live={shared["WebhookId"]: final}))
            views = 0
            for _ in range(2 * args.workers):  # whichever worker answers
                status, listed = HttpClient(mock.port, fresh=True).call("GetAllWebhooks")
                problems += (
                    [f"GetAllWebhooks answered {status}"]
                    if status != 200
                    else owner_problems(ledgers, by_id(listed))
                )
                views += 1
            problems += [f"in the file: {p}" for p in owner_problems(ledgers, sqlite_webhooks(db))]
            ok_file = integrity(db)
            exit_status = mock.stop()
        stderr = mock.stderr()

    requests = sum(ledger.requests for ledger in ledgers) + len(acks)
    creates = sum(len(ledger.created) for ledger in ledgers)
    deletes = sum(len(ledger.deleted) for ledger in ledgers)
    durations = sorted(t for series in timings for t in series)
    print(
        f"concurrency: {requests} requests in {elapsed:.1f} s ({requests / elapsed:.0f}/s), {args.clients} owners and "
        f"{args.contenders} contenders on {args.workers} worker(s), a new connection per request"
    )
    print(
        f"acknowledged: {creates} creates, {deletes} deletes, {len(acks)} updates of the shared webhook; "
        f"{sum(len(ledger.live) for ledger in ledgers[:-1])} webhooks alive at the end"
    )
    if durations:
        print(
            f"latency: median {statistics.median(durations) * 1000:.2f} ms, "
            f"p99 {durations[int(len(durations) * 0.99) - 1] * 1000:.2f} ms, max {durations[-1] * 1000:.1f} ms"
        )
    print(
        f"checked through the API {views} times and in the file; integrity {ok_file}; mock exit {exit_status}; "
        f"traceback in stderr: {'Traceback' in stderr}"
    )
    print(f"problems: {len(problems)}")
    for problem in problems[:20]:
        print("  " + problem)
    return 0 if not problems and ok_file == "ok" and exit_status == 0 and "Traceback" not in stderr else 1


if __name__ == "__main__":
    raise SystemExit(main())
