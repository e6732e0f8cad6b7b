"""A long fuzz run against a standalone mock over real HTTP: arbitrary requests, counted.

    python stress/fuzz.py [--examples 20000] [--seconds 600] [--workers 1] [--seed N]

Starts ``sowebhook mock`` on 127.0.0.1 (delivery attempts 1, no waits, so that queued events
settle at once) and sends ``--examples`` requests drawn from the strategy
``tests/test_fuzz.py`` draws from (``harness.arbitrary.requests``: every operation of the contract, the admin endpoints and unknown paths;
any method, bytes, headers, content types, Accept and credentials) over ``http.client``. Around
each it reads the state (``GET /__mock__/webhooks`` and ``/__mock__/faults``; for the requests that
can queue events also the deliveries, once drained) and counts: requests sent, answered 2xx,
rejected 4xx, 5xx (must be 0), bodies with a traceback, 4xx bodies not in SuperOffice's shape,
state changes by a rejected request, connection errors; and the server's resident memory (its
process tree, from /proc) at the start and the end. The state is seeded again after any request
that changed it. Bounded by ``--examples`` and ``--seconds``; only loopback. Not a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings

from _paths import ROOT  # tests/ on sys.path, for harness

# isort: split
from harness.arbitrary import requests
from harness.clients import AUTH
from harness.hostile import error_shape_problems, no_traceback
from hostile import HOST, stop, tree_rss_mb

SEED = [
    {"WebhookId": 0, "Name": name, "Events": ["contact.created"], "TargetUrl": "https://192.0.2.1/hook", "Secret": "s", "State": "Active",
     "Type": "crmscript", "Headers": None, "Properties": None, "Registered": "2026-01-02T03:04:05.0000000Z",
     "RegisteredAssociate": None, "Updated": "0001-01-01T00:00:00", "UpdatedAssociate": None, "ErrorsEmail": None}
    for name in ("first", "second")
]
QUEUERS = ("/SaveWebhook", "/SignalEvent", "/__mock__/events", "/TestWebhook")


class Mock:
    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection(HOST, port, timeout=30)

    def call(self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
        for attempt in range(2):
            try:
                self.connection.request(method, url, body=body, headers=headers or {})
                response = self.connection.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.connection.close()
                return response.status, response.getheader("Content-Type", ""), data
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def admin(self, method: str, path: str, value: Any = None) -> Any:
        body = None if value is None else json.dumps(value).encode()
        status, _, data = self.call(method, path, body, {**AUTH, "Content-Type": "application/json"})
        assert status < 300, (method, path, status, data[:200])
        return json.loads(data) if data else None

    def state(self, deliveries: bool) -> Any:
        webhooks = self.admin("GET", "/__mock__/webhooks")
        faults = self.admin("GET", "/__mock__/faults")
        delivered = None
        if deliveries:
            self.admin("POST", "/__mock__/deliveries/drain?timeout=10")
            delivered = [(d["webhook_id"], d["event"], d["attempt"]) for d in self.admin("GET", "/__mock__/deliveries") if d["event"] != "test"]
        return webhooks, faults, delivered

    def seed(self) -> None:
        self.admin("POST", "/__mock__/reset")
        self.admin("POST", "/__mock__/responses", {"mode": "stateful"})
        self.admin("POST", "/__mock__/webhooks", SEED)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20000, help="fuzzed requests (1..200000)")
    parser.add_argument("--seconds", type=float, default=600.0, help="stop sending after this (1..7200)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes of sowebhook mock (1..8)")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed, for a run that can be repeated")
    args = parser.parse_args()
    if not (1 <= args.examples <= 200_000 and 1 <= args.seconds <= 7200 and 1 <= args.workers <= 8):
        parser.error("keep it bounded: --examples 1..200000, --seconds 1..7200, --workers 1..8")

    import subprocess

    with tempfile.TemporaryDirectory(prefix="sowebhook-fuzz-") as scratch:
        config = Path(scratch, "mock.json")
        config.write_text(json.dumps({"delivery": {"attempts": 1, "retry_waits": [], "timeout_seconds": 2}}))
        process = subprocess.Popen(
            [sys.executable, "-m", "contracts.cli", "mock", "--port", "0", "--quiet", "--workers", str(args.workers), "--config", str(config)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        port = int(next(word for word in line.split() if word.startswith("http://")).rsplit(":", 1)[1])
        mock = Mock(port)
        counts = {"sent": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, "traceback": 0, "not SuperOffice-shaped": 0,
                  "state changed by a rejected request": 0, "connection errors": 0}
        statuses: dict[int, int] = {}
        times: list[float] = []
        examples: list[str] = []
        deadline = time.monotonic() + args.seconds
        try:
            mock.seed()
            rss_start = tree_rss_mb(process.pid)

            @settings(max_examples=args.examples, deadline=None, database=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(requests())
            def fuzz(request: dict[str, Any]) -> None:
                if time.monotonic() > deadline:
                    return
                queues = any(request["path"].endswith(p) for p in QUEUERS)
                before = mock.state(queues)
                headers = dict(request["headers"])
                if request["media_type"] is not None:
                    headers["Content-Type"] = request["media_type"]
                url = request["path"] + (f"?{request['query']}" if request["query"] else "")
                started = time.perf_counter()
                try:
                    status, content_type, body = mock.call(request["method"], url, request["body"] or None, headers)
                except (http.client.HTTPException, OSError) as error:
                    counts["connection errors"] += 1
                    examples.append(f"connection error {error!r}: {request['method']} {url}")
                    return
                times.append((time.perf_counter() - started) * 1000)
                counts["sent"] += 1
                statuses[status] = statuses.get(status, 0) + 1
                counts[f"{status // 100}xx"] = counts.get(f"{status // 100}xx", 0) + 1
                problems = []
                if status >= 500:
                    problems.append(f"{status}")
                if not no_traceback(body):
                    counts["traceback"] += 1
                    problems.append("traceback")
                if 400 <= status < 500 and error_shape_problems(content_type, body):
                    counts["not SuperOffice-shaped"] += 1
                    problems.append("shape: " + "; ".join(error_shape_problems(content_type, body)))
                after = mock.state(queues)
                if after != before:
                    if not 200 <= status < 300:
                        counts["state changed by a rejected request"] += 1
                        problems.append("state changed")
                    mock.seed()
                if problems and len(examples) < 10:
                    examples.append(f"{', '.join(problems)}: {request['method']} {url} {headers} {request['body'][:150]!r} -> {status} {body[:200]!r}")

            if args.seed is not None:
                fuzz = seed(args.seed)(fuzz)
            fuzz()
            rss_end = tree_rss_mb(process.pid)
        finally:
            stop(process)
        err = process.stderr.read() if process.stderr else ""

    print(f"sowebhook mock ({args.workers} worker(s)), {counts['sent']} fuzzed requests in {args.seconds:g} s at most")
    for name, value in counts.items():
        print(f"  {name:38} {value}")
    print("  statuses                               " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    if times:
        print(f"  median {statistics.median(times):.2f} ms, p99 {sorted(times)[int(len(times) * 0.99) - 1]:.2f} ms, max {max(times):.1f} ms")
    print(f"  server RSS {rss_start:.1f} MB at the start, {rss_end:.1f} MB at the end")
    print(f"  tracebacks in the server's log: {err.count('Traceback')}")
    for example in examples:
        print("  example:", example[:600])
    bad = counts["5xx"] + counts["traceback"] + counts["state changed by a rejected request"] + counts["not SuperOffice-shaped"]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
