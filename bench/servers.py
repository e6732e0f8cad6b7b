"""WSGI servers compared on the same two apps: the mock (validated, state in SQLite) and a bare handler.

    python bench/servers.py [--runs 2] [--duration 8]

Each server runs from its own command line, the way a user would start it, with what suits it on
two cores: waitress (one process, 8 threads: the mock's server before), gunicorn (2 sync
workers; 2 gthread workers of 4 threads), granian (one worker of 4 threads and of 1 thread; 2
workers of 1 thread). The mock is ``mockserver.wsgi:app`` configured with a
SQLite file (``SOWEBHOOK_MOCK_CONFIG``) and logging one line per request, as ``sowebhook mock``
does (bench/logged.py). Load: wrk with the seed's SaveWebhook request, as bench/run.py. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, Load, first_200, free_port  # noqa: E402

BIN = Path(sys.executable).parent
SERVERS = {
    "waitress (1 process x 8 threads)": lambda app, port: [
        str(BIN / "waitress-serve"), "--host=127.0.0.1", f"--port={port}", "--threads=8", app,
    ],
    "gunicorn (2 sync workers)": lambda app, port: [
        str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning", app,
    ],
    "gunicorn (2 gthread workers x 4)": lambda app, port: [
        str(BIN / "gunicorn"), "-w", "2", "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
        "--log-level", "warning", app,
    ],
    "granian (1 worker x 4 threads)": lambda app, port: [
        str(BIN / "granian"), "--interface", "wsgi", "--workers", "1", "--blocking-threads", "4",
        "--host", "127.0.0.1", "--port", str(port), "--no-ws", "--log-level", "warning", app,
    ],
    "granian (1 worker x 1 thread)": lambda app, port: [
        str(BIN / "granian"), "--interface", "wsgi", "--workers", "1", "--blocking-threads", "1",
        "--host", "127.0.0.1", "--port", str(port), "--no-ws", "--log-level", "warning", app,
    ],
    "granian (2 workers x 1 thread)": lambda app, port: [
        str(BIN / "granian"), "--interface", "wsgi", "--workers", "2", "--blocking-threads", "1",
        "--host", "127.0.0.1", "--port", str(port), "--no-ws", "--log-level", "warning", app,
    ],
}  # fmt: skip
APPS = {"mock": "bench.logged:app", "bare": "bench.bare:app"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--duration", type=float, default=8.0)
    args = parser.parse_args()
    if not (1 <= args.runs <= 10 and 1 <= args.duration <= 120):
        parser.error("keep the load bounded: --runs 1..10, --duration 1..120")
    load = Load(32)
    if load.wrk is None:
        parser.error("this comparison needs wrk")
    figures: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    try:
        for _ in range(args.runs):
            for server, build in SERVERS.items():
                if not Path(build("", 0)[0]).exists():
                    print(f"{server}: not installed, skipped", file=sys.stderr)
                    continue
                for app, target in APPS.items():
                    port, db = free_port(), load.scratch / f"{time.monotonic_ns()}.sqlite3"
                    env = {**os.environ, "SOWEBHOOK_MOCK_CONFIG": json.dumps({"db_path": str(db)})}
                    started = time.perf_counter()
                    process = subprocess.Popen(
                        build(target, port),
                        cwd=ROOT,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    try:
                        first_200(port, process, started)
                        load.run(port, 2)
                        result = load.run(port, args.duration)
                    finally:
                        process.terminate()
                        process.wait(timeout=30)
                    figures.setdefault((server, app), []).append((result.rps, result.p50_ms, result.p99_ms))
                    print(
                        f"{server:<34} {app:<5} {result.rps:7.0f} req/s  p99 {result.p99_ms:.2f} ms",
                        file=sys.stderr,
                    )
    finally:
        shutil.rmtree(load.scratch, ignore_errors=True)
    print(f"{'server':<34}{'mock req/s':>11}{'p50 ms':>8}{'p99 ms':>8}{'bare req/s':>12}{'p99 ms':>8}")
    for server in (server for server in SERVERS if (server, "mock") in figures):
        mock = [statistics.median(v) for v in zip(*figures[(server, "mock")], strict=True)]
        bare = [statistics.median(v) for v in zip(*figures[(server, "bare")], strict=True)]
        print(f"{server:<34}{mock[0]:>11.0f}{mock[1]:>8.2f}{mock[2]:>8.2f}{bare[0]:>12.0f}{bare[2]:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
