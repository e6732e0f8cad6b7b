"""Where a request's CPU goes: ``sowebhook mock`` as a user starts it, sampled by py-spy under load.

    python bench/profile.py [--duration 10] [--connections 32] [--rate 250] [--quiet] [--raw FILE]

Starts ``sowebhook mock --port P`` (its defaults) on 127.0.0.1, loads it with the seed page's
SaveWebhook request (bench/run.py's request and wrk script) for ``--duration`` s, and meanwhile
samples the mock's processes with ``py-spy record --subprocesses --gil --format raw``
(``pip install py-spy``; it needs ptrace rights over the mock: root, or
``kernel.yama.ptrace_scope`` 0): only the thread holding the GIL, so that a thread waiting for a
lock or the GIL is not counted, and the shares are of the Python time of the workers (what the
GIL serialises). The server process's samples (granian's supervisor) are left out. Each sample is put in the first category whose pattern its stack
matches, leaf first: the innermost frame decides (JSON, validation, logging, ...), so that time
spent inside the JSON encoder called by the agent counts as JSON. The table gives each category's
share and its microseconds per request: the CPU the mock used in the run (from /proc, all its
processes) times the share, over the requests answered. Not a test: nothing here runs in the suite.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import run  # bench/run.py: the seed request, wrk's script and parser, ports, the idle check

# (category, substrings of a frame's "function (file:line)" text), the innermost match wins
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("JSON encode/decode", ("orjson", "(json/", "encode_json", "decode_json", "contracts/wire/_json")),
    (
        "validation (jsonschema-rs, fast path)",
        ("jsonschema_rs", "mockserver/fastpath", "mockserver/reference"),
    ),
    ("binding (names, enums, conversions)", ("contracts/binding",)),
    ("logging", ("(logging/",)),
    ("journal and masking", ("mockserver/journal", "mockserver/masking")),
    ("store", ("mockserver/store",)),
    ("agent (save, answer)", ("mockserver/agent", "mockserver/rest", "mockserver/delivery")),
    (
        "seam, routing, auth",
        ("mockserver/seam", "mockserver/routing", "mockserver/auth", "mockserver/errors"),
    ),
    ("werkzeug", ("(werkzeug/",)),
    ("flask", ("(flask/",)),
    ("app (request handling)", ("mockserver/app",)),
    ("RSGI bridge (mockserver.rsgi)", ("mockserver/rsgi",)),
    (
        "asyncio and threads",
        ("(asyncio/", "(threading.py", "(concurrent/futures/", "(queue.py", "(selectors.py"),
    ),
    ("granian", ("(granian/",)),
]


def categorise(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):  # innermost first
        for name, patterns in CATEGORIES:
            if any(p in frame for p in patterns):
                return name
    return "other (interpreter, C without a Python frame)"


def _supervisor(stack: str, root: int) -> bool:
    """Whether a sample is of the server process itself (granian's supervisor), not of a worker."""
    processes = [frame for frame in stack.split(";") if frame.startswith("process ")]
    return len(processes) == 1 and processes[0].startswith(f"process {root}:")


def process_cpu_seconds(root: int) -> float:
    """User + system CPU of ``root`` and every process below it, from /proc (clock ticks)."""
    import os

    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [root]
    while pending:
        pid = pending.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except (OSError, IndexError, ValueError):
            continue
        pending += [int(c) for c in children]
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load and sampling")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples a second")
    parser.add_argument("--quiet", action="store_true", help="sowebhook mock --quiet")
    parser.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks in this file")
    args = parser.parse_args()
    if not (1 <= args.duration <= 120 and 1 <= args.connections <= 256 and 10 <= args.rate <= 1000):
        parser.error("keep it bounded: --duration 1..120, --connections 1..256, --rate 10..1000")
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("py-spy is not installed: pip install py-spy")
    if shutil.which("wrk") is None:
        raise SystemExit(
            "wrk is not installed (apt-get install wrk): the Python load generator would share the sampled CPU"
        )
    cli = Path(sys.executable).parent / "sowebhook"
    port = run.free_port()
    command = [str(cli), "mock", "--port", str(port), *(["--quiet"] if args.quiet else [])]
    scratch = Path(tempfile.mkdtemp(prefix="sowebhook-profile-"))
    request = run.seed_request()
    mock = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run.first_200(port, mock, time.perf_counter())
        script = scratch / "load.lua"
        script.write_text(run.lua_script(*request, None))
        run.run_wrk(port, script, 2.0, args.connections)  # warm-up
        raw = args.raw or scratch / "stacks.txt"
        cpu_before = process_cpu_seconds(mock.pid)
        sampler = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(mock.pid),
                "--subprocesses",
                "--format",
                "raw",
                "--rate",
                str(args.rate),
                "--duration",
                str(int(args.duration)),
                "--output",
                str(raw),
                "--nonblocking",
                "--gil",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        result = run.run_wrk(port, script, args.duration, args.connections)
        cpu = process_cpu_seconds(mock.pid) - cpu_before
        _, error = sampler.communicate(timeout=args.duration + 60)
        if sampler.returncode:
            raise SystemExit(f"py-spy failed: {error.decode(errors='replace').strip()}")
    finally:
        mock.terminate()
        mock.wait(timeout=30)
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit() and not _supervisor(stack, mock.pid):
            counts[categorise(stack)] += int(n)
    shutil.rmtree(scratch, ignore_errors=True)
    samples = sum(counts.values())
    per_request_us = cpu / result.requests * 1e6 if result.requests else float("nan")
    print(
        f"{' '.join(command[1:])}: {result.rps:.0f} req/s, p99 {result.p99_ms:.2f} ms, {result.requests} requests "
        f"in {args.duration:g} s; CPU {cpu:.2f} s = {per_request_us:.0f} µs a request; {samples} samples"
    )
    print(f"\n{'category':<48}{'share':>8}{'µs/req':>9}")
    for name, n in counts.most_common():
        print(f"{name:<48}{n / samples:>8.1%}{n / samples * per_request_us:>9.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
