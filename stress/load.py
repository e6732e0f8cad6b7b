"""An hour-equivalent of CI requests to a standalone ``sowebhook mock --db FILE``: is it flat?

    python stress/load.py [--requests 200000] [--seconds 600] [--connections 4] [--workers 1]

A realistic CI mix over keep-alive connections on 127.0.0.1 (SaveWebhook create and update,
GetWebhook, GetAllWebhooks, DeleteWebhook, and about one request in eight that the mock must
refuse: bad body, no or wrong credentials, unknown path, wrong method, unsupported type). Each
connection keeps at most 20 webhooks alive, so GetAllWebhooks does not grow with the run. After a
warm-up that fills the journal (bounded: ``limits.journal_entries``), the resident memory, open
file descriptors and threads of the mock's process tree are sampled at 10 points; ``--idle S``
pauses twice (before the 3rd and 6th sample) so that the server replaces its threads. Bounded by
``--requests``, ``--seconds`` and ``--idle``; only loopback. Not a test.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import _paths  # noqa: F401  # tests/ on sys.path, for harness

# isort: split
from harness.clients import HttpClient, in_threads
from harness.loadmix import Tally, ci_mix
from harness.process import MockProcess, Sample
from harness.store import integrity

POINTS = 10
FLAT_MB, FLAT_FDS, FLAT_THREADS = 5.0, 2, 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=200_000, help="requests after the warm-up (at most 2,000,000)"
    )
    parser.add_argument(
        "--seconds", type=float, default=600.0, help="stop earlier after this many seconds (at most 3600)"
    )
    parser.add_argument(
        "--connections", type=int, default=4, help="keep-alive connections, one client thread each"
    )
    parser.add_argument("--workers", type=int, default=1, help="the mock's worker processes")
    parser.add_argument("--warmup", type=int, default=3000, help="requests before the first sample")
    parser.add_argument(
        "--idle",
        type=float,
        default=0.0,
        help="seconds without requests, twice in the run (over 30: the server ends its idle threads and "
        "starts new ones on the next request, as between the jobs of a CI run; at most 120)",
    )
    args = parser.parse_args()
    if not (POINTS <= args.requests <= 2_000_000 and 1 <= args.seconds <= 3600):
        parser.error("keep the load bounded: --requests 10..2000000, --seconds 1..3600")
    if not (1 <= args.connections <= 64 and 1 <= args.workers <= 8 and 0 <= args.warmup <= 100_000):
        parser.error("--connections 1..64, --workers 1..8, --warmup 0..100000")
    if not 0 <= args.idle <= 120:
        parser.error("--idle 0..120")

    with tempfile.TemporaryDirectory(prefix="sowebhook-load-") as scratch:
        db = Path(scratch) / "state.sqlite3"
        with MockProcess(db, workers=args.workers) as mock:
            timings: list[list[float]] = [[] for _ in range(args.connections)]
            clients = [HttpClient(mock.port, timings=timings[n]) for n in range(args.connections)]
            per_client = max(1, args.warmup // args.connections)
            in_threads(args.connections, lambda n: ci_mix(clients[n], per_client, seed=10_000 + n))
            for series in timings:
                series.clear()
            samples: list[tuple[int, float, Sample]] = [(0, 0.0, mock.sample())]
            total, started = Tally(), time.monotonic()
            deadline = started + args.seconds
            per_client = max(1, args.requests // POINTS // args.connections)

            def one_round(point: int) -> list[Tally]:
                return in_threads(
                    args.connections,
                    lambda n: ci_mix(clients[n], per_client, seed=point * 1000 + n, deadline=deadline),
                )

            for point in range(1, POINTS + 1):
                if args.idle and point in (POINTS // 3, 2 * POINTS // 3):
                    time.sleep(
                        args.idle
                    )  # not a test: a pause a CI run makes, for the server to retire threads
                    deadline += args.idle
                if time.monotonic() > deadline:
                    break
                tallies = one_round(point)
                for tally in tallies:
                    total.merge(tally)
                samples.append((total.sent, time.monotonic() - started, mock.sample()))
            elapsed = time.monotonic() - started
            for client in clients:
                client.close()
            check = HttpClient(mock.port, fresh=True)
            left = check.call("GetAllWebhooks")
            status = mock.stop()
        ok_file = integrity(str(db))
        stderr = mock.stderr()

    durations = sorted(t for series in timings for t in series)
    print(
        f"load: {total.sent} requests in {elapsed:.1f} s ({total.sent / elapsed:.0f}/s) over {args.connections} "
        f"keep-alive connections, {args.workers} worker(s)"
    )
    print(
        f"answers: {dict(sorted(total.by_status.items()))}; rejected (4xx) {total.rejected}; 5xx {total.server_errors}; "
        f"unexpected {len(total.unexpected)} {total.unexpected[:3]}"
    )
    if durations:
        print(
            f"latency: median {statistics.median(durations) * 1000:.2f} ms, "
            f"p99 {durations[int(len(durations) * 0.99) - 1] * 1000:.2f} ms, max {durations[-1] * 1000:.1f} ms"
        )
    print(f"{'requests':>10} {'seconds':>8} {'RSS MB':>8} {'fds':>5} {'threads':>8} {'processes':>9}")
    for sent, at, sample in samples:
        print(
            f"{sent:>10} {at:>8.1f} {sample.rss_kb / 1024:>8.1f} {sample.fds:>5} {sample.threads:>8} {sample.processes:>9}"
        )
    first, last = samples[0][2], samples[-1][2]
    rss = [s.rss_kb / 1024 for _, _, s in samples]
    fds = [s.fds for _, _, s in samples]
    threads = [s.threads for _, _, s in samples]
    flat = {
        "memory": (last.rss_kb - first.rss_kb) / 1024 <= FLAT_MB,
        "open files": max(fds) - min(fds) <= FLAT_FDS,
        "threads": max(threads) - min(threads) <= FLAT_THREADS,
    }
    print(
        f"RSS {rss[0]:.1f} -> {rss[-1]:.1f} MB (min {min(rss):.1f}, max {max(rss):.1f}); fds {min(fds)}..{max(fds)}; "
        f"threads {min(threads)}..{max(threads)}"
    )
    print(
        "flat: "
        + ", ".join(f"{name} {'yes' if ok else 'NO'}" for name, ok in flat.items())
        + f" (bounds: {FLAT_MB} MB, {FLAT_FDS} fds, {FLAT_THREADS} threads)"
    )
    print(
        f"left behind: {left}; mock exit {status}; integrity {ok_file}; traceback in stderr: {'Traceback' in stderr}"
    )
    good = (
        all(flat.values())
        and total.server_errors == 0
        and not total.unexpected
        and left == (200, [])
        and status == 0
        and ok_file == "ok"
        and "Traceback" not in stderr
    )
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
