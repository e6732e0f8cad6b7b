"""Hostile webhook receivers, many times over: does the mock stay bounded in time, memory, threads
and open files?

    python stress/outbound.py [--rounds 40] [--parallel 4] [--timeout 0.5] [--seconds 300]

For each behaviour of ``tests/test_outbound.py`` (from ``harness.receivers``: hang before the TLS
handshake, hang after the request, reset, drip of headers or body, a 10 GB Content-Length, endless
chunks, a full header block, a redirect) it runs ``--rounds`` TestWebhook attempts from ``--parallel`` client threads
against an in-process mock (``timeout_seconds=--timeout``) and a receiver on 127.0.0.1, then
prints the median and the slowest attempt, tracemalloc's peak, and the threads and open file
descriptors of the process before and after. Bounded by ``--rounds`` and ``--seconds``; only
loopback. Not a test.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
import warnings
from typing import Any

import _paths  # noqa: F401  # tests/ on sys.path, for harness

# isort: split
import trustme

from harness.clients import AGENT, JSON
from harness.receivers import (
    ENDLESS_CHUNKED,
    HUGE_LENGTH,
    RawReceiver,
    answer,
    drip,
    hang_after_request,
    hang_before_handshake,
    reset_after_request,
    reset_at_once,
)
from mockserver import MockConfig, create_app, state_of
from mockserver.config import DeliveryConfig

BEHAVIOURS = {
    "hang before TLS": hang_before_handshake,
    "hang after request": hang_after_request,
    "reset at once": reset_at_once,
    "reset after request": reset_after_request,
    "drip headers": drip(b"HTTP/1.1 200 OK\r\n", b"X: y\r\n", interval=0.02, most=10_000),
    "drip body": drip(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b"x", interval=0.02, most=10_000),
    "10 GB Content-Length": HUGE_LENGTH,
    "endless chunks": ENDLESS_CHUNKED,
    "99 headers of 60 KB": answer(200, "OK", {f"X-Filler-{n}": "v" * 60000 for n in range(99)}),
    "redirect outside": answer(302, "Found", {"Location": "https://192.0.2.1/"}),
}


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="attempts per behaviour (1..500)")
    parser.add_argument("--parallel", type=int, default=4, help="client threads at once (1..32)")
    parser.add_argument(
        "--timeout", type=float, default=0.5, help="the mock's per-attempt deadline, seconds (0.1..10)"
    )
    parser.add_argument(
        "--seconds", type=float, default=300.0, help="stop starting rounds after this (1..1800)"
    )
    args = parser.parse_args()
    if not (
        1 <= args.rounds <= 500
        and 1 <= args.parallel <= 32
        and 0.1 <= args.timeout <= 10
        and 1 <= args.seconds <= 1800
    ):
        parser.error(
            "keep it bounded: --rounds 1..500, --parallel 1..32, --timeout 0.1..10, --seconds 1..1800"
        )

    warnings.simplefilter("ignore", ResourceWarning)  # CPython gh-113280, see tests/test_outbound.py
    ca = trustme.CA()
    stop_at = time.monotonic() + args.seconds
    with tempfile.TemporaryDirectory(prefix="sowebhook-outbound-") as scratch:
        ca_file = os.path.join(scratch, "ca.pem")
        ca.cert_pem.write_to_path(ca_file)
        app = create_app(MockConfig(delivery=DeliveryConfig(ca_file=ca_file, timeout_seconds=args.timeout)))
        gc.collect()
        threads0, fds0 = threading.active_count(), open_fds()
        print(
            f"before: {threads0} threads, {fds0} open files; deadline {args.timeout:g} s, "
            f"{args.rounds} attempts x {len(BEHAVIOURS)} behaviours, {args.parallel} at once"
        )
        print(f"{'behaviour':24} {'attempts':>8} {'median s':>9} {'max s':>7} {'peak MiB':>9}  outcome")
        total = 0
        for name, behaviour in BEHAVIOURS.items():
            if time.monotonic() > stop_at:
                print("(--seconds reached)")
                break
            receiver = RawReceiver(behaviour, ca).start()
            times: list[float] = []
            messages: set[str] = set()
            lock = threading.Lock()
            todo = iter(range(args.rounds))

            def client() -> None:
                test_client = app.test_client()
                while True:
                    with lock:
                        if next(todo, None) is None:
                            return
                    started = time.monotonic()
                    response = test_client.post(
                        AGENT + "TestWebhook",
                        headers=JSON,
                        data=json.dumps({"Webhook": {"Type": "webhook", "TargetUrl": receiver.url()}}),
                    )
                    elapsed = time.monotonic() - started
                    result: Any = response.json
                    with lock:
                        times.append(elapsed)
                        messages.add(
                            f"{response.status_code} Success={result['Success']} "
                            + result["Message"].split("(")[0][:48].strip()
                        )

            tracemalloc.start()
            workers = [threading.Thread(target=client) for _ in range(args.parallel)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            receiver.stop()
            total += len(times)
            print(
                f"{name:24} {len(times):8d} {statistics.median(times):9.3f} {max(times):7.2f} {peak / 2**20:9.2f}  {'; '.join(sorted(messages))[:110]}"
            )
        state_of(app).deliveries.close()
        gc.collect()
        threads1, fds1 = threading.active_count(), open_fds()
        print(
            f"after: {total} attempts; {threads1} threads ({threads1 - threads0:+d}), {fds1} open files ({fds1 - fds0:+d})"
        )
        return 0 if threads1 <= threads0 and fds1 <= fds0 else 1


if __name__ == "__main__":
    sys.exit(main())
