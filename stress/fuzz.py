"""A long fuzz run against a standalone mock over real HTTP: arbitrary requests, counted.

    python stress/fuzz.py [--examples 20000] [--seconds 600] [--workers 1] [--seed N]

Starts ``sowebhook mock`` on 127.0.0.1 (delivery attempts 1, no waits, so that queued events
settle at once) and sends ``--examples`` requests drawn from the strategy
``tests/test_fuzz.py`` draws from (``harness.arbitrary.requests``: every operation of the contract,
the REST endpoints' paths with arbitrary segments in any case and patch documents among their
bodies, the admin endpoints and unknown paths; any method, bytes, headers, content types, Accept
and credentials) over ``http.client``. Around each it reads the state (``GET /__mock__/webhooks``
and ``/__mock__/faults``; for the requests that can queue events, the REST endpoints' among them,
also the deliveries, once drained) and counts: requests sent, answered 2xx, rejected 4xx, 5xx
(must be 0), bodies with a traceback, 4xx bodies in neither of SuperOffice's shapes (the REST error
object only on a REST path), state changes by a rejected request, routing against .NET's
``int.TryParse`` (an integer segment that is no int32: 404 from no route; one that is: routed),
answers the mock's journal says broke the contract (``response_violations``, read every 100
requests and at every reseed; with ``--workers`` above 1 only the journal of the worker that answers
that read), connection errors; and the server's resident memory (its process tree, from /proc) at
the start and the end. The state is seeded again after any request that changed it. Bounded by
``--examples`` and ``--seconds``; only loopback. Not a test.
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
from harness.arbitrary import requests, resolve
from harness.clients import AUTH
from harness.hostile import error_shape_problems, no_traceback, rest_path
from hostile import HOST, stop, tree_rss_mb

SEED = [
    {
        "WebhookId": 0,
        "Name": name,
        "Events": ["contact.created"],
        "TargetUrl": "https://192.0.2.1/hook",
        "Secret": "s",
        "State": "Active",
        "Type": "crmscript",
        "Headers": None,
        "Properties": None,
        "Registered": "2026-01-02T03:04:05.0000000Z",
        "RegisteredAssociate": None,
        "Updated": "0001-01-01T00:00:00",
        "UpdatedAssociate": None,
        "ErrorsEmail": None,
    }
    for name in ("first", "second")
]
QUEUERS = ("/SaveWebhook", "/SignalEvent", "/__mock__/events", "/TestWebhook")  # and every REST path


class Mock:
    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection(HOST, port, timeout=30)
        self.broken: list[str] = []  # answers the journal says broke the contract

    def call(
        self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, str, bytes]:
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
            delivered = [
                (d["webhook_id"], d["event"], d["attempt"])
                for d in self.admin("GET", "/__mock__/deliveries")
                if d["event"] != "test"
            ]
        return webhooks, faults, delivered

    def seed(self) -> tuple[int, int]:
        """The two webhooks every request starts from (after reading what the journal says of the
        answers since the last seed: the reset clears it); their ids."""
        self.read_journal()
        self.admin("POST", "/__mock__/reset")
        self.admin("POST", "/__mock__/responses", {"mode": "stateful"})
        stored = self.admin("POST", "/__mock__/webhooks", SEED)
        return int(stored[0]["WebhookId"]), int(stored[1]["WebhookId"])

    def read_journal(self) -> None:
        """Keep the journal's entries whose answers broke the contract, then clear it."""
        for entry in self.admin("GET", "/__mock__/journal") or []:
            if entry.get("response_violations"):
                self.broken.append(
                    f"{entry['method']} {entry['path']} ({entry['operation']}) -> {entry['status']}: "
                    + "; ".join(entry["response_violations"])
                )
        self.admin("DELETE", "/__mock__/journal")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20000, help="fuzzed requests (1..200000)")
    parser.add_argument("--seconds", type=float, default=600.0, help="stop sending after this (1..7200)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes of sowebhook mock (1..8)")
    parser.add_argument(
        "--seed", type=int, default=None, help="Hypothesis seed, for a run that can be repeated"
    )
    args = parser.parse_args()
    if not (1 <= args.examples <= 200_000 and 1 <= args.seconds <= 7200 and 1 <= args.workers <= 8):
        parser.error("keep it bounded: --examples 1..200000, --seconds 1..7200, --workers 1..8")

    import subprocess

    with tempfile.TemporaryDirectory(prefix="sowebhook-fuzz-") as scratch:
        config = Path(scratch, "mock.json")
        config.write_text(json.dumps({"delivery": {"attempts": 1, "retry_waits": [], "timeout_seconds": 2}}))
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "contracts.cli",
                "mock",
                "--port",
                "0",
                "--quiet",
                "--workers",
                str(args.workers),
                "--config",
                str(config),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        port = int(next(word for word in line.split() if word.startswith("http://")).rsplit(":", 1)[1])
        mock = Mock(port)
        counts = {
            "sent": 0,
            "2xx": 0,
            "3xx": 0,
            "4xx": 0,
            "5xx": 0,
            "traceback": 0,
            "not SuperOffice-shaped": 0,
            "state changed by a rejected request": 0,
            "routed against int.TryParse": 0,
            "REST requests": 0,
            "answers breaking the contract": 0,
            "connection errors": 0,
        }
        statuses: dict[int, int] = {}
        times: list[float] = []
        examples: list[str] = []
        deadline = time.monotonic() + args.seconds
        try:
            ids = mock.seed()
            rss_start = tree_rss_mb(process.pid)

            @settings(
                max_examples=args.examples,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(requests())
            def fuzz(request: dict[str, Any]) -> None:
                nonlocal ids
                if time.monotonic() > deadline:
                    return
                request = resolve(request, ids)
                rest = rest_path(request["path"])
                queues = rest or any(request["path"].endswith(p) for p in QUEUERS)
                before = mock.state(queues)
                headers = dict(request["headers"])
                if request["media_type"] is not None:
                    headers["Content-Type"] = request["media_type"]
                url = request["path"] + (f"?{request['query']}" if request["query"] else "")
                started = time.perf_counter()
                try:
                    status, content_type, body = mock.call(
                        request["method"], url, request["body"] or None, headers
                    )
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
                counts["REST requests"] += rest
                if 400 <= status < 500 and error_shape_problems(content_type, body, rest=rest):
                    counts["not SuperOffice-shaped"] += 1
                    problems.append(
                        "shape: " + "; ".join(error_shape_problems(content_type, body, rest=rest))
                    )
                if (request["route"] == "unrouted" and (status != 404 or b"ErrorType" in body)) or (
                    request["route"] == "routed"
                    and status == 404
                    and body
                    and b"SoNotFoundException" not in body
                ):
                    counts["routed against int.TryParse"] += 1
                    problems.append(f"routing ({request['route']} by int.TryParse)")
                after = mock.state(queues)
                if after != before:
                    if not 200 <= status < 300:
                        counts["state changed by a rejected request"] += 1
                        problems.append("state changed")
                    ids = mock.seed()
                elif counts["sent"] % 100 == 0:
                    mock.read_journal()
                if problems and len(examples) < 10:
                    examples.append(
                        f"{', '.join(problems)}: {request['method']} {url} {headers} {request['body'][:150]!r} -> {status} {body[:200]!r}"
                    )

            if args.seed is not None:
                fuzz = seed(args.seed)(fuzz)
            fuzz()
            mock.read_journal()
            counts["answers breaking the contract"] = len(mock.broken)
            examples += [f"broke the contract: {line}" for line in mock.broken[: max(0, 10 - len(examples))]]
            rss_end = tree_rss_mb(process.pid)
        finally:
            stop(process)
        err = process.stderr.read() if process.stderr else ""

    print(
        f"sowebhook mock ({args.workers} worker(s)), {counts['sent']} fuzzed requests in {args.seconds:g} s at most"
    )
    for name, value in counts.items():
        print(f"  {name:38} {value}")
    print(
        "  statuses                               "
        + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
    )
    if times:
        print(
            f"  median {statistics.median(times):.2f} ms, p99 {sorted(times)[int(len(times) * 0.99) - 1]:.2f} ms, max {max(times):.1f} ms"
        )
    print(f"  server RSS {rss_start:.1f} MB at the start, {rss_end:.1f} MB at the end")
    print(f"  tracebacks in the server's log: {err.count('Traceback')}")
    for example in examples:
        print("  example:", example[:600])
    bad = (
        counts["5xx"]
        + counts["traceback"]
        + counts["state changed by a rejected request"]
        + counts["not SuperOffice-shaped"]
        + counts["routed against int.TryParse"]
        + counts["answers breaking the contract"]
    )
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
