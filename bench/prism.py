"""``sowebhook mock`` as a user starts it against Prism (``prism mock``) on the same contract.

    python bench/prism.py [--runs 3] [--duration 8] [--warmup 2] [--connections 32] [--quiet]
                          [--soak S] [--prism-dir ~/.cache/sowebhook/prism]

Prism 5.14.2 (``@stoplight/prism-cli``) is installed with npm into ``--prism-dir`` on first use and
reused after. Both servers serve ``openapi/webhook-agent.yaml`` as it is and bind to 127.0.0.1:
``sowebhook mock --port P`` (its defaults: one process x 4 threads, memory store, a log line per
request) and ``prism mock -h 127.0.0.1 -p P DOCUMENT`` (its defaults: static examples, info
logging); ``--quiet`` adds ``--quiet`` to the mock and ``-v warn`` to Prism. Their output goes to
/dev/null. Before measuring, Prism is asked the seed page's SaveWebhook request verbatim: Prism
drops ``readOnly`` properties from request schemas, and the contract's ``Webhook`` has
``additionalProperties: false``, so it answers 400 to the seed, which carries four of them; then
both servers get the seed without the members the contract marks ``readOnly`` (headers verbatim),
and the mock gets the verbatim seed as a third row, the request of bench/run.py.

Each round starts every server afresh (cold start: process start to the first 200, which is also
the check that the server accepts the request), runs a warm-up and then wrk (2 threads) for
``--duration`` s; servers alternate mock, Prism, mock (verbatim seed); the table shows medians.
``--soak S`` adds one long run of ``sowebhook mock`` as started above, under the same load for S
seconds, whose resident memory is sampled (at 10%, 50% and the end of the run: flat means no
leak per request). Loads are bounded in time and go only to 127.0.0.1. Not a test: nothing here
runs in the suite.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import run  # bench/run.py: the seed request, wrk's script and parser, the idle check, the sampler
from contracts import spec

PRISM_PACKAGE, PRISM_VERSION = "@stoplight/prism-cli", "5.14.2"
Request = tuple[str, dict[str, str], bytes]


@dataclass
class Variant:
    name: str
    label: str
    command: Callable[[int], list[str]]
    request: Request
    results: list[run.Result] = field(default_factory=list)
    idle: list[float] = field(default_factory=list)


# -- Prism ----------------------------------------------------------------------------------------


def ensure_prism(prefix: Path) -> Path:
    """The ``prism`` of ``prefix``, installed there with npm unless the right version is there."""
    prism = prefix / "node_modules" / ".bin" / "prism"
    if prism.exists():
        found = subprocess.run([str(prism), "--version"], capture_output=True, text=True).stdout.strip()
        if found == PRISM_VERSION:
            print(f"prism: reusing {PRISM_PACKAGE}@{found} in {prefix}", file=sys.stderr)
            return prism
        print(f"prism: {prefix} holds version {found or '?'}, not {PRISM_VERSION}", file=sys.stderr)
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("prism: npm is not on PATH (install Node.js and npm)")
    command = [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund"]
    command.append(f"{PRISM_PACKAGE}@{PRISM_VERSION}")
    print("prism: " + " ".join(command), file=sys.stderr, flush=True)
    prefix.mkdir(parents=True, exist_ok=True)
    subprocess.run(command, check=True, stdout=sys.stderr)
    return prism


# -- requests and processes -----------------------------------------------------------------------


def without_read_only(request: Request) -> tuple[Request, list[str]]:
    """The request with the body members the contract's SaveWebhook body marks ``readOnly`` removed."""
    contract = spec.load()
    schema = contract.resolve(contract.operation("SaveWebhook").body_content["application/json"]["schema"])
    read_only = {
        name
        for name, node in schema["properties"].items()
        if node.get("readOnly") or contract.resolve(node).get("readOnly")
    }
    path, headers, body = request
    data = json.loads(body)
    dropped = [name for name in data if name in read_only]
    kept = {name: value for name, value in data.items() if name not in read_only}
    return (path, headers, json.dumps(kept, indent=2).encode("utf-8")), dropped


def ask(port: int, request: Request) -> tuple[int, str]:
    """One POST: the status and a short account of a non-200 answer (Prism's violations, the body)."""
    path, headers, body = request
    url = f"http://{run.HOST}:{port}{path}"
    sent = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(sent, timeout=5) as answer:
            return answer.status, ""
    except urllib.error.HTTPError as error:
        violations = error.headers.get("sl-violations") or ""
        return error.code, violations or error.read(400).decode("utf-8", "replace")


Process = subprocess.Popen[bytes]


def start(command: list[str], port: int, request: Request, cwd: Path) -> tuple[Process, float]:
    """Start the server and wait for its first answer, which must be a 200: (process, cold start s)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while time.perf_counter() - started < 60:
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited with {process.returncode} before answering")
        try:
            status, why = ask(port, request)
        except OSError:  # not listening yet
            time.sleep(0.005)
            continue
        if status == 200:
            return process, time.perf_counter() - started
        stop(process)
        raise RuntimeError(f"{' '.join(command)} answered {status}: {why}")
    stop(process)
    raise RuntimeError(f"{' '.join(command)}: no answer within 60 s")


def stop(process: Process) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def load(port: int, request: Request, seconds: float, args: argparse.Namespace, script: Path) -> run.Result:
    if shutil.which("wrk") is None:
        return run.run_python_load(port, request, seconds, args.connections, None)
    script.write_text(run.lua_script(*request, None))
    return run.run_wrk(port, script, seconds, args.connections)


def measure(
    variant: Variant, args: argparse.Namespace, scratch: Path, seconds: float | None = None
) -> tuple[run.Result, float]:
    idle = run.idle_share()
    if idle < 0.9:
        warning = f"warning: the machine was {idle:.0%} idle before {variant.name}: other load skews it"
        print(warning, file=sys.stderr)
    port = run.free_port()
    process, cold = start(variant.command(port), port, variant.request, scratch)
    try:
        script = scratch / f"{variant.name}.lua"
        load(port, variant.request, args.warmup, args, script)
        sampler = run.Sampler(process.pid)
        sampler.start()
        result = load(port, variant.request, seconds or args.duration, args, script)
        result.rss_mb = sampler.stop()
    finally:
        stop(process)
    result.cold_s = cold
    return result, idle


# -- report ---------------------------------------------------------------------------------------


def median(results: list[run.Result], name: str) -> float:
    return float(statistics.median(getattr(r, name) for r in results))


def report(
    variants: list[Variant], args: argparse.Namespace, note: str, soak: run.Result | None = None
) -> str:
    tool = "wrk -t2" if shutil.which("wrk") else "Python load generator (no wrk: a floor)"
    lines = [
        f"servers on {run.HOST}, {tool} -c{args.connections}, {args.runs} rounds of {args.duration:g} s "
        f"after {args.warmup:g} s of warm-up (medians){', quiet' if args.quiet else ''}",
        note,
        "",
        f"{'server':<44}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'cold s':>8}{'peak RSS MB':>13}{'failed':>8}",
    ]
    for v in variants:
        rs = v.results
        lines.append(
            f"{v.label:<44}{median(rs, 'rps'):>8.0f}{median(rs, 'p50_ms'):>8.2f}{median(rs, 'p99_ms'):>8.2f}"
            f"{median(rs, 'cold_s'):>8.2f}{median(rs, 'peak_rss_mb'):>13.0f}{sum(r.failures for r in rs):>8}"
        )
    mock, prism = variants[0].results, variants[1].results
    lines += [
        "",
        f"mock / Prism: req/s {median(mock, 'rps') / median(prism, 'rps'):.2f}, "
        f"p99 {median(mock, 'p99_ms') / median(prism, 'p99_ms'):.2f}, "
        f"cold start {median(mock, 'cold_s') / median(prism, 'cold_s'):.2f} (below 1: the mock is quicker)",
        "rounds (req/s): "
        + "; ".join(f"{v.name} " + " / ".join(f"{r.rps:.0f}" for r in v.results) for v in variants),
        "idle before each measurement: "
        + "; ".join(f"{v.name} " + " / ".join(f"{i:.0%}" for i in v.idle) for v in variants),
    ]
    if soak is not None and soak.rss_mb:
        rss = soak.rss_mb
        lines.append(
            f"soak of {variants[0].name} ({args.soak:g} s, {soak.rps:.0f} req/s, {soak.requests} requests, "
            f"p99 {soak.p99_ms:.2f} ms, failed {soak.failures}): RSS MB at 10% / 50% / end "
            f"{rss[len(rss) // 10]:.1f} / {rss[len(rss) // 2]:.1f} / {rss[-1]:.1f}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of load per server and round")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--quiet", action="store_true", help="mock --quiet, prism -v warn")
    parser.add_argument("--soak", type=float, default=0.0, help="seconds of one more, long run of the mock")
    parser.add_argument("--prism-dir", type=Path, default=Path.home() / ".cache" / "sowebhook" / "prism")
    args = parser.parse_args()
    bounded = 1 <= args.duration <= 600 and 1 <= args.runs <= 20 and 1 <= args.connections <= 256
    if not bounded or not 0 <= args.soak <= 3600:
        parser.error(
            "keep the load bounded: --duration 1..600, --runs 1..20, --connections 1..256, --soak 0..3600"
        )
    prism = ensure_prism(args.prism_dir.expanduser())
    document = spec.document_path()
    cli = Path(sys.executable).parent / "sowebhook"
    mock_command = [str(cli)] if cli.exists() else [sys.executable, "-m", "contracts.cli"]

    def mock(port: int) -> list[str]:
        return [*mock_command, "mock", "--port", str(port), *(["--quiet"] if args.quiet else [])]

    def prism_mock(port: int) -> list[str]:
        quiet = ["-v", "warn"] if args.quiet else []
        return [str(prism), "mock", "-h", run.HOST, "-p", str(port), *quiet, str(document)]

    scratch = Path(tempfile.mkdtemp(prefix="sowebhook-prism-"))
    try:
        seed = run.seed_request()
        port = run.free_port()
        try:
            process, _ = start(prism_mock(port), port, seed, scratch)
            stop(process)
            request, note = seed, "request: the seed page's SaveWebhook request verbatim, for both"
        except RuntimeError as refused:
            print(f"prism refuses the verbatim seed: {refused}", file=sys.stderr)
            request, dropped = without_read_only(seed)
            note = (
                f"request: the seed without its readOnly members ({', '.join(dropped)}), headers verbatim, "
                "for both (Prism answers the verbatim seed 400: it drops readOnly properties from request "
                "schemas and Webhook has additionalProperties: false)"
            )
        shown = (" --quiet", " -v warn") if args.quiet else ("", "")
        variants = [
            Variant("mock", "sowebhook mock" + shown[0], mock, request),
            Variant("prism", f"prism mock {PRISM_VERSION}" + shown[1], prism_mock, request),
        ]
        if request is not seed:
            variants.append(Variant("mock-seed", f"sowebhook mock{shown[0]}, the verbatim seed", mock, seed))
        print(note, file=sys.stderr)
        for round_ in range(args.runs):
            for v in variants:
                result, idle = measure(v, args, scratch)
                v.results.append(result)
                v.idle.append(idle)
                print(
                    f"round {round_ + 1} {v.name:<10} idle {idle:4.0%}  {result.rps:6.0f} req/s  "
                    f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  cold {result.cold_s:.2f} s  "
                    f"peak {result.peak_rss_mb:.0f} MB  failed {result.failures}",
                    file=sys.stderr,
                    flush=True,
                )
        soak = measure(variants[0], args, scratch, seconds=args.soak)[0] if args.soak else None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(report(variants, args, note, soak))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
