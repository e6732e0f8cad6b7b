"""The benchmark: ``sowebhook mock`` against the same app without validation and a bare Flask handler.

    python bench/run.py [--runs 3] [--duration 10] [--workers 2] [--threads N] [--connections 32] [--soak S]
                        [--postgres postgresql://user@host/postgres]

Each variant starts as a real process on 127.0.0.1 (a fresh SQLite file each time): cold start is
process start to the first 200; then a short warm-up and the measured load, the seed page's
SaveWebhook request (its body and headers, verbatim) from wrk (2 threads, ``--connections``) or,
without wrk, from a bounded Python load generator; meanwhile the resident memory of the process
and its workers is sampled. Rounds alternate the variants and the table shows medians. A last run
creates webhooks (the seed with ``WebhookId`` 0) and compares every id the mock acknowledged with
the rows of its SQLite file: none lost, none twice. ``--postgres URL`` keeps the state in PostgreSQL
instead: a new database on that server for each run (created through URL, dropped after it), the
ids compared with its rows. ``--soak S`` adds one long run of the mock
that samples its memory. Loads are bounded in time and go only to 127.0.0.1. Not a test: nothing
here runs in the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from _paths import ROOT  # tests/ on sys.path, for docpages

# isort: split
import docpages
from harness.postgres import create_database, drop_database, psql_rows

HOST = "127.0.0.1"
VARIANTS = {
    "mock": "sowebhook mock (validated, SQLite)",
    "unvalidated": "same app, validation off",
    "bare": "bare Flask handler",
}
TARGET_RPS, TARGET_P99_MS, TARGET_RATIO, TARGET_COLD_S, FLAT_MB = 4000, 15.0, 0.60, 0.5, 5.0


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    failures: int  # non-2xx answers and socket errors
    cold_s: float = 0.0
    rss_mb: list[float] = field(default_factory=list)  # samples of the measured run
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def peak_rss_mb(self) -> float:
        return max(self.rss_mb, default=float("nan"))

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_mb[-1] - self.rss_mb[0] if self.rss_mb else float("nan")


# -- the request ----------------------------------------------------------------------------------


def seed_request(webhook_id: int | None = None) -> tuple[str, dict[str, str], bytes]:
    """The seed page's sample request; with ``webhook_id``, its body with that WebhookId."""
    seed = docpages.sample_request(docpages.SEED)
    body = seed.body_text
    if webhook_id is not None:
        body = json.dumps({**seed.json, "WebhookId": webhook_id}, indent=2)
    return seed.path, dict(seed.headers), body.encode("utf-8")


def _lua(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03d}" for b in raw) + '"'


_DONE = """function done(summary, latency, requests)
  local e = summary.errors
  local failures = e.connect + e.read + e.write + e.timeout + e.status
  io.write(string.format("BENCH %.0f %.0f %.0f %.0f %.0f\\n", summary.requests, summary.duration,
    failures, latency:percentile(50), latency:percentile(99)))
"""
_KEEP_IDS = """local threads = {}
function setup(thread) table.insert(threads, thread) end
ids = {}
function response(status, headers, body)
  if status == 200 then ids[#ids + 1] = tonumber(string.match(body, '"WebhookId":(%d+)')) or -1 end
end
"""
_WRITE_IDS = """  local out = io.open(%s, 'w')
  for _, t in ipairs(threads) do
    for _, id in ipairs(t:get('ids')) do out:write(id, '\\n') end
  end
  out:close()
"""


def lua_script(path: str, headers: dict[str, str], body: bytes, ids_file: Path | None) -> str:
    """wrk's script: the request, a summary line, and (``ids_file``) the id of every 200."""
    lines = ['wrk.method = "POST"', f"wrk.path = {_lua(path)}", f"wrk.body = {_lua(body)}"]
    lines += [f"wrk.headers[{_lua(name)}] = {_lua(value)}" for name, value in headers.items()]
    script = "\n".join(lines) + "\n" + (_KEEP_IDS if ids_file else "") + _DONE
    if ids_file is not None:
        script += _WRITE_IDS % _lua(str(ids_file))
    return script + "end\n"


# -- load -----------------------------------------------------------------------------------------


def run_wrk(port: int, script: Path, seconds: float, connections: int) -> Result:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s"]
    command += ["-s", str(script), f"http://{HOST}:{port}"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    requests, duration_us, failures, p50_us, p99_us = (float(v) for v in line.split()[1:])
    return Result(requests / (duration_us / 1e6), p50_us / 1000, p99_us / 1000, int(requests), int(failures))


def run_python_load(
    port: int,
    request: tuple[str, dict[str, str], bytes],
    seconds: float,
    connections: int,
    ids_file: Path | None,
) -> Result:
    """A bounded stand-in for wrk: ``connections`` keep-alive connections for ``seconds``, at most
    200,000 requests. It shares the CPU with the server, so its figures are a floor."""
    path, headers, body = request
    head = f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Length: {len(body)}\r\n"
    raw = (head + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode("latin-1") + body
    latencies: list[float] = []
    ids: list[int] = []
    failures = 0

    async def connection(deadline: float) -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while time.perf_counter() < deadline and len(latencies) < 200_000:
                started = time.perf_counter()
                writer.write(raw)
                status_line, length = await reader.readline(), 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                answer = await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if b" 200 " not in status_line:
                    failures += 1
                elif ids_file is not None:
                    ids.append(int(json.loads(answer).get("WebhookId", -1)))
        except (OSError, asyncio.IncompleteReadError):
            failures += 1
        finally:
            writer.close()

    async def main() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(connection(started + seconds) for _ in range(connections)))
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    if ids_file is not None:
        ids_file.write_text("".join(f"{i}\n" for i in ids))
    latencies.sort()

    def ms(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0

    return Result(len(latencies) / elapsed, ms(0.50), ms(0.99), len(latencies), failures)


class Load:
    def __init__(self, connections: int) -> None:
        self.connections = connections
        self.wrk = shutil.which("wrk")
        self.scratch = Path(tempfile.mkdtemp(prefix="sowebhook-bench-"))

    @property
    def tool(self) -> str:
        return "wrk" if self.wrk else "Python load generator (no wrk on PATH)"

    def run(
        self, port: int, seconds: float, *, webhook_id: int | None = None, ids_file: Path | None = None
    ) -> Result:
        request = seed_request(webhook_id)
        if self.wrk is None:
            return run_python_load(port, request, seconds, self.connections, ids_file)
        script = self.scratch / ("ids.lua" if ids_file else f"seed-{webhook_id}.lua")
        script.write_text(lua_script(*request, ids_file))
        return run_wrk(port, script, seconds, self.connections)


# -- processes ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def mock_cli_has_workers() -> bool:
    command = [sys.executable, "-m", "contracts.cli", "mock", "--help"]
    return "--workers" in subprocess.run(command, capture_output=True, text=True, cwd=ROOT).stdout


def command(variant: str, port: int, db: Path | str, args: argparse.Namespace, use_cli: bool) -> list[str]:
    options = ["--port", str(port), "--db", str(db), "--workers", str(args.workers)]
    options += ["--threads", str(args.threads)] if args.threads else []
    options += ["--stream-bodies"] if args.stream_bodies else []
    if variant == "mock" and use_cli:
        return [sys.executable, "-m", "contracts.cli", "mock", *options]
    return [sys.executable, str(ROOT / "bench" / "serve.py"), variant, *options]


def tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and all its descendants (Linux /proc), in MB."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
            except (OSError, ValueError):
                continue
    family, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in family]
        family.update(children)
        frontier += children
    total = 0
    for pid in family:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return total / 1024


class Sampler(threading.Thread):
    """Samples the memory of a process tree every ``interval`` seconds (Linux only)."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.samples = pid, interval, []
        self.stopped = threading.Event()

    def run(self) -> None:
        while Path("/proc/self/status").exists() and not self.stopped.wait(self.interval):
            self.samples.append(tree_rss_mb(self.pid))

    def stop(self) -> list[float]:
        self.stopped.set()
        self.join()
        return self.samples


def idle_share(seconds: float = 0.5) -> float:
    """The share of CPU time nobody used over ``seconds`` (1.0 where /proc/stat is missing)."""

    def sample() -> list[int]:
        return [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]

    if not Path("/proc/stat").exists():
        return 1.0
    before = sample()
    time.sleep(seconds)
    delta = [b - a for a, b in zip(before, sample(), strict=True)]
    return (delta[3] + delta[4]) / max(1, sum(delta))  # idle + iowait


def first_200(port: int, process: subprocess.Popen[bytes], started: float, timeout: float = 30) -> float:
    path, headers, body = seed_request(0)
    url = f"http://{HOST}:{port}{path}"
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} (--verbose shows its stderr)")
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
                if answer.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.002)
    raise RuntimeError("no 200 within the timeout")


def measure(
    variant: str, load: Load, args: argparse.Namespace, use_cli: bool, *, seconds: float, ids: bool = False
) -> Result:
    idle = idle_share()
    if idle < 0.9:
        print(
            f"warning: the machine was {idle:.0%} idle before {variant}: other load skews it", file=sys.stderr
        )
    port = free_port()
    db: Path | str = load.scratch / f"{variant}-{time.monotonic_ns()}.sqlite3"
    if args.postgres:
        db = create_database(args.postgres, f"sowebhook_bench_{time.monotonic_ns()}")
    started = time.perf_counter()
    process = subprocess.Popen(
        command(variant, port, db, args, use_cli),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=None if args.verbose else subprocess.DEVNULL,
    )
    try:
        cold = first_200(port, process, started)
        load.run(port, args.warmup)
        before = _max_id(db) if ids else 0  # rows made by the cold start and the warm-up
        sampler = Sampler(process.pid, interval=0.1 if seconds <= 60 else 1.0)
        sampler.start()
        ids_file = load.scratch / "ids.txt" if ids else None
        result = load.run(port, seconds, webhook_id=0 if ids else None, ids_file=ids_file)
        result.rss_mb = sampler.stop()
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    result.cold_s = cold
    try:
        if ids_file is not None:
            acknowledged = [int(line) for line in ids_file.read_text().split()]
            rows = [
                row[0] for row in _query(db, f"SELECT webhook_id FROM webhook WHERE webhook_id > {before}")
            ]
            result.ids = check_ids(acknowledged, rows)
    finally:
        if isinstance(db, str):
            drop_database(db)
    return result


def _max_id(db: Path | str) -> int:
    return int(_query(db, "SELECT COALESCE(MAX(webhook_id), 0) FROM webhook")[0][0])


def _query(db: Path | str, query: str) -> list[tuple[int, ...]]:
    """Rows of the mock's database, SQLite or PostgreSQL, read directly."""
    if isinstance(db, str):
        return psql_rows(db, query)
    with sqlite3.connect(db, timeout=30) as connection:
        return connection.execute(query).fetchall()


def check_ids(acknowledged: list[int], rows: list[int]) -> dict[str, int]:
    stored = set(rows)
    return {
        "acknowledged": len(acknowledged),
        "rows": len(rows),
        "duplicated": len(acknowledged) - len(set(acknowledged)),
        "lost": len(set(acknowledged) - stored),
        "unacknowledged rows": len(stored - set(acknowledged)),  # answered after the load generator stopped
    }


# -- report ---------------------------------------------------------------------------------------


def _median(results: list[Result], name: str) -> float:
    return statistics.median(getattr(r, name) for r in results)


def _cpu() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return "?"
    names = [
        line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line
    ]
    return names[0] if names else "?"


def report(
    results: dict[str, list[Result]],
    ids: Result,
    soak: Result | None,
    load: Load,
    args: argparse.Namespace,
    use_cli: bool,
) -> str:
    started_by = "sowebhook mock" if use_cli else "bench/serve.py mock (the CLI has no --workers yet)"
    lines = [
        f"{os.cpu_count()} CPUs ({_cpu()}), Python {sys.version.split()[0]}, load: {load.tool}, "
        f"{args.connections} connections, {args.runs} rounds of {args.duration:g} s (medians)",
        f"mock: {started_by}, {args.workers} worker(s) x {args.threads or 'default'} threads",
        "",
        f"{'variant':<36}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'cold s':>8}{'peak RSS MB':>13}"
        f"{'RSS growth MB':>15}{'failed':>8}",
    ]
    for variant, name in VARIANTS.items():
        rs = results[variant]
        lines.append(
            f"{name:<36}{_median(rs, 'rps'):>8.0f}{_median(rs, 'p50_ms'):>8.2f}{_median(rs, 'p99_ms'):>8.2f}"
            f"{_median(rs, 'cold_s'):>8.2f}{_median(rs, 'peak_rss_mb'):>13.1f}"
            f"{_median(rs, 'rss_growth_mb'):>15.1f}{sum(r.failures for r in rs):>8}"
        )
    mock, unvalidated, bare = (_median(results[v], "rps") for v in VARIANTS)
    p99, cold = _median(results["mock"], "p99_ms"), _median(results["mock"], "cold_s")
    growth = _median(results["mock"], "rss_growth_mb")
    lines += [
        "",
        f"ratios (req/s): mock / validation off {mock / unvalidated:.2f}, mock / bare {mock / bare:.2f}, "
        f"validation off / bare {unvalidated / bare:.2f}",
        f"ids (creates, {args.duration:g} s, {ids.rps:.0f} req/s, p99 {ids.p99_ms:.2f} ms): "
        + ", ".join(f"{k} {v}" for k, v in ids.ids.items()),
    ]
    if soak is not None and soak.rss_mb:
        rss = soak.rss_mb
        lines.append(
            f"soak ({args.soak:g} s, {soak.rps:.0f} req/s, {soak.requests} requests): "
            "RSS MB at 10% / 50% / end "
            f"{rss[len(rss) // 10]:.1f} / {rss[len(rss) // 2]:.1f} / {rss[-1]:.1f}"
        )
        growth = rss[-1] - rss[len(rss) // 10]
    ratio = mock / unvalidated
    checks = [
        (f">= {TARGET_RPS} req/s", mock >= TARGET_RPS, f"{mock:.0f}"),
        (f"p99 < {TARGET_P99_MS:g} ms", p99 < TARGET_P99_MS, f"{p99:.2f} ms"),
        (f">= {TARGET_RATIO:.0%} of validation off", ratio >= TARGET_RATIO, f"{ratio:.0%}"),
        (f"cold start < {TARGET_COLD_S} s", cold < TARGET_COLD_S, f"{cold:.2f} s"),
        ("no lost or duplicated ids", not ids.ids["lost"] and not ids.ids["duplicated"], str(ids.ids)),
        (f"memory flat (growth < {FLAT_MB:g} MB)", growth < FLAT_MB, f"{growth:.1f} MB"),
    ]
    lines += ["", "targets:"] + [
        f"  {'met   ' if ok else 'MISSED'} {name}: {value}" for name, ok, value in checks
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per variant and round")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each measurement")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, help="threads per process [the mock's default]")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--stream-bodies", action="store_true", help="every variant on granian's WSGI interface"
    )
    parser.add_argument("--soak", type=float, default=0.0, help="seconds of one more, long run of the mock")
    parser.add_argument("--verbose", action="store_true", help="show the servers' stderr")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="state in PostgreSQL: a new database per run on the server of URL (a database to connect to)",
    )
    args = parser.parse_args()
    if args.postgres:
        VARIANTS["mock"] = "sowebhook mock (validated, PostgreSQL)"
    if not (1 <= args.duration <= 600 and 0 <= args.soak <= 3600 and 1 <= args.connections <= 256):
        parser.error("keep the load bounded: --duration 1..600, --soak 0..3600, --connections 1..256")
    if not 1 <= args.runs <= 20:
        parser.error("--runs 1..20")
    load = Load(args.connections)
    use_cli = mock_cli_has_workers()
    results: dict[str, list[Result]] = {variant: [] for variant in VARIANTS}
    soak = None
    try:
        for round_ in range(args.runs):
            for variant in list(VARIANTS)[:: 1 if round_ % 2 == 0 else -1]:
                result = measure(variant, load, args, use_cli, seconds=args.duration)
                results[variant].append(result)
                print(
                    f"round {round_ + 1} {variant:<12} {result.rps:6.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
                    f"p99 {result.p99_ms:6.2f} ms  cold {result.cold_s:.2f} s  "
                    f"peak {result.peak_rss_mb:.0f} MB",
                    file=sys.stderr,
                    flush=True,
                )
        ids = measure("mock", load, args, use_cli, seconds=args.duration, ids=True)
        if args.soak:
            soak = measure("mock", load, args, use_cli, seconds=args.soak)
    finally:
        shutil.rmtree(load.scratch, ignore_errors=True)
    print(report(results, ids, soak, load, args, use_cli))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
