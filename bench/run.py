"""The benchmark: ``sowebhook mock`` against the same app without validation and a bare Flask handler.

    python bench/run.py [--runs 3] [--duration 10] [--workers 2] [--threads 8] [--connections 32]

Each variant starts as a real process on 127.0.0.1 (a fresh SQLite file each time): cold start is
process start to the first 200; then a short warm-up and the measured load, the seed page's
SaveWebhook request (its body and headers, verbatim) from wrk (2 threads, ``--connections``) or,
without wrk, from a bounded Python load generator; meanwhile the resident memory of the process
and its workers is sampled. Rounds alternate the variants and the table shows medians. A last run
creates webhooks (the seed with ``WebhookId`` 0) and compares every id the mock acknowledged with
the rows in its SQLite file: none lost, none twice. Loads are bounded in time and go only to
127.0.0.1. Not a test: nothing here runs in the test suite.
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import docpages  # noqa: E402

HOST = "127.0.0.1"
VARIANTS = ("mock", "unvalidated", "bare")
TARGETS = {"req/s": 4000, "p99 ms": 15.0, "ratio": 0.60, "cold s": 0.5}


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    failures: int  # non-2xx answers and socket errors
    cold_s: float
    peak_rss_mb: float
    rss_growth_mb: float
    ids_report: dict[str, int] = field(default_factory=dict)


# -- the request ----------------------------------------------------------------------------------


def seed_request(webhook_id: int | None = None) -> tuple[str, dict[str, str], bytes]:
    seed = docpages.sample_request(docpages.SEED)
    body = seed.body_text
    if webhook_id is not None:
        body = json.dumps({**seed.json, "WebhookId": webhook_id}, indent=2)
    return seed.path, dict(seed.headers), body.encode("utf-8")


def _lua_string(data: bytes) -> str:
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03d}" for b in data) + '"'


def lua_script(path: str, headers: dict[str, str], body: bytes, ids_file: Path | None) -> str:
    lines = ['wrk.method = "POST"', f"wrk.path = {_lua_string(path.encode())}", f"wrk.body = {_lua_string(body)}"]
    lines += [f"wrk.headers[{_lua_string(k.encode())}] = {_lua_string(v.encode())}" for k, v in headers.items()]
    if ids_file is not None:  # keep the id of every 200, per thread; the main state writes them out
        lines += [
            "local threads = {}",
            "function setup(thread) table.insert(threads, thread) end",
            "ids = {}",
            "function response(status, headers, body)",
            '  if status == 200 then ids[#ids + 1] = tonumber(string.match(body, \'"WebhookId":(%d+)\')) or -1 end',
            "end",
        ]
    lines += [
        "function done(summary, latency, requests)",
        "  local e = summary.errors",
        '  io.write(string.format("BENCH {\\"requests\\": %.0f, \\"duration_us\\": %.0f, \\"failures\\": %.0f, '
        '\\"p50_us\\": %.0f, \\"p99_us\\": %.0f}\\n", summary.requests, summary.duration,'
        " e.connect + e.read + e.write + e.timeout + e.status, latency:percentile(50), latency:percentile(99)))",
    ]
    if ids_file is not None:
        lines += [
            f"  local out = io.open({_lua_string(str(ids_file).encode())}, 'w')",
            "  for _, t in ipairs(threads) do for _, id in ipairs(t:get('ids')) do out:write(id, '\\n') end end",
            "  out:close()",
        ]
    lines.append("end")
    return "\n".join(lines) + "\n"


# -- load -----------------------------------------------------------------------------------------


def run_wrk(port: int, script: Path, seconds: float, connections: int) -> dict[str, Any]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s", "-s", str(script), f"http://{HOST}:{port}"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    data = json.loads(line[6:])
    return {
        "rps": data["requests"] / (data["duration_us"] / 1e6),
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "requests": data["requests"],
        "failures": data["failures"],
    }


def run_python_load(
    port: int, request: tuple[str, dict[str, str], bytes], seconds: float, connections: int, ids_file: Path | None
) -> dict[str, Any]:
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
                status_line = await reader.readline()
                length = 0
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
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0  # noqa: E731
    return {"rps": len(latencies) / elapsed, "p50_ms": pick(0.50), "p99_ms": pick(0.99), "requests": len(latencies), "failures": failures}


class Load:
    def __init__(self, connections: int) -> None:
        self.connections = connections
        self.wrk = shutil.which("wrk")
        self.scratch = Path(tempfile.mkdtemp(prefix="sowebhook-bench-"))

    @property
    def tool(self) -> str:
        return "wrk" if self.wrk else "Python load generator (no wrk on PATH)"

    def run(self, port: int, seconds: float, *, webhook_id: int | None = None, ids_file: Path | None = None) -> dict[str, Any]:
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
    help_text = subprocess.run([sys.executable, "-m", "contracts.cli", "mock", "--help"], capture_output=True, text=True, cwd=ROOT).stdout
    return "--workers" in help_text


def command(variant: str, port: int, db: Path, workers: int, threads: int, use_cli: bool) -> list[str]:
    options = ["--port", str(port), "--db", str(db), "--workers", str(workers), "--threads", str(threads)]
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
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self.stopped = pid, [], threading.Event()
        self.available = Path("/proc/self/status").exists()

    def run(self) -> None:
        while self.available and not self.stopped.wait(0.1):
            self.samples.append(tree_rss_mb(self.pid))

    def stop(self) -> list[float]:
        self.stopped.set()
        self.join()
        return self.samples or [float("nan")]


def first_200(port: int, process: subprocess.Popen[bytes], started: float, timeout: float = 30) -> float:
    path, headers, body = seed_request(0)
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
        try:
            request = urllib.request.Request(f"http://{HOST}:{port}{path}", data=body, headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=2) as answer:
                if answer.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.002)
    raise RuntimeError("no 200 within the timeout")


def measure(variant: str, load: Load, args: argparse.Namespace, use_cli: bool, *, ids: bool = False) -> Result:
    port, db = free_port(), load.scratch / f"{variant}-{time.monotonic_ns()}.sqlite3"
    started = time.perf_counter()
    process = subprocess.Popen(
        command(variant, port, db, args.workers, args.threads, use_cli),
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE if args.verbose else subprocess.DEVNULL,
    )
    try:
        cold = first_200(port, process, started)
        load.run(port, args.warmup)
        before = _max_id(db) if ids else 0  # rows made by the cold start and the warm-up
        sampler = Sampler(process.pid)
        sampler.start()
        ids_file = load.scratch / "ids.txt" if ids else None
        figures = load.run(port, args.duration, webhook_id=0 if ids else None, ids_file=ids_file)
        rss = sampler.stop()
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    result = Result(**figures, cold_s=cold, peak_rss_mb=max(rss), rss_growth_mb=rss[-1] - rss[0])
    if ids:
        acknowledged = [int(line) for line in (load.scratch / "ids.txt").read_text().split()]
        with sqlite3.connect(db) as connection:
            rows = [row[0] for row in connection.execute("SELECT webhook_id FROM webhook WHERE webhook_id > ?", (before,))]
        result.ids_report = check_ids(acknowledged, rows)
    return result


def _max_id(db: Path) -> int:
    with sqlite3.connect(db, timeout=30) as connection:
        return int(connection.execute("SELECT COALESCE(MAX(webhook_id), 0) FROM webhook").fetchone()[0])


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


def median(results: list[Result], name: str) -> float:
    return statistics.median(getattr(r, name) for r in results)


def report(results: dict[str, list[Result]], ids: Result, load: Load, args: argparse.Namespace, use_cli: bool) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?") if Path("/proc/cpuinfo").exists() else "?"
    lines = [
        f"{os.cpu_count()} CPUs ({cpu}), Python {sys.version.split()[0]}, load: {load.tool}, {args.connections} connections, "
        f"{args.runs} rounds of {args.duration:g} s (medians), {args.workers} worker(s) x {args.threads} threads",
        f"mock started with: {'sowebhook mock' if use_cli else 'bench/serve.py mock (the CLI has no --workers yet)'}",
        "",
        f"{'variant':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'cold s':>9}{'peak RSS MB':>13}{'RSS growth MB':>15}{'failed':>8}",
    ]
    names = {"mock": "sowebhook mock (validated, SQLite)", "unvalidated": "same app, validation off", "bare": "bare Flask handler"}
    for variant in VARIANTS:
        rs = results[variant]
        lines.append(
            f"{names[variant]:<34}{median(rs, 'rps'):>9.0f}{median(rs, 'p50_ms'):>9.2f}{median(rs, 'p99_ms'):>9.2f}"
            f"{median(rs, 'cold_s'):>9.2f}{median(rs, 'peak_rss_mb'):>13.1f}{median(rs, 'rss_growth_mb'):>15.1f}{sum(r.failures for r in rs):>8}"
        )
    mock, unvalidated, bare = (median(results[v], "rps") for v in VARIANTS)
    lines += [
        "",
        f"ratios (req/s): mock / validation off = {mock / unvalidated:.2f}, mock / bare = {mock / bare:.2f}, "
        f"validation off / bare = {unvalidated / bare:.2f}; cold start mock / bare = "
        f"{median(results['mock'], 'cold_s') / median(results['bare'], 'cold_s'):.1f}x",
        f"ids (creates, {args.duration:g} s, {ids.rps:.0f} req/s, p99 {ids.p99_ms:.2f} ms): "
        + ", ".join(f"{k} {v}" for k, v in ids.ids_report.items()),
        "",
        "targets:",
    ]
    checks = [
        (f">= {TARGETS['req/s']} req/s", mock >= TARGETS["req/s"], f"{mock:.0f}"),
        (f"p99 < {TARGETS['p99 ms']:g} ms", median(results["mock"], "p99_ms") < TARGETS["p99 ms"], f"{median(results['mock'], 'p99_ms'):.2f}"),
        (f">= {TARGETS['ratio']:.0%} of validation off", mock / unvalidated >= TARGETS["ratio"], f"{mock / unvalidated:.0%}"),
        (f"cold start < {TARGETS['cold s']} s", median(results["mock"], "cold_s") < TARGETS["cold s"], f"{median(results['mock'], 'cold_s'):.2f}"),
        ("no lost or duplicated ids", ids.ids_report["lost"] == 0 and ids.ids_report["duplicated"] == 0, "lost {lost}, duplicated {duplicated}".format(**ids.ids_report)),
        ("memory flat (growth < 5 MB a run)", median(results["mock"], "rss_growth_mb") < 5, f"{median(results['mock'], 'rss_growth_mb'):.1f} MB"),
    ]
    lines += [f"  {'met   ' if ok else 'MISSED'} {name}: {value}" for name, ok, value in checks]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of measured load per variant and round")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each measurement")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--verbose", action="store_true", help="keep the servers' stderr (for failures)")
    args = parser.parse_args()
    if not 1 <= args.duration <= 600 or not 1 <= args.connections <= 256 or not 1 <= args.runs <= 20:
        parser.error("keep the load bounded: --duration 1..600, --connections 1..256, --runs 1..20")
    load = Load(args.connections)
    use_cli = mock_cli_has_workers()
    results: dict[str, list[Result]] = {v: [] for v in VARIANTS}
    try:
        for round_ in range(args.runs):
            for variant in VARIANTS if round_ % 2 == 0 else reversed(VARIANTS):
                result = measure(variant, load, args, use_cli)
                results[variant].append(result)
                print(f"round {round_ + 1} {variant:<12} {result.rps:8.0f} req/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
                      f"cold {result.cold_s:.2f} s  peak {result.peak_rss_mb:.0f} MB", file=sys.stderr, flush=True)
        ids = measure("mock", load, args, use_cli, ids=True)
    finally:
        shutil.rmtree(load.scratch, ignore_errors=True)
    print(report(results, ids, load, args, use_cli))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
