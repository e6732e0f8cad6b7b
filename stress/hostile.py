"""Hostile request bodies, many times over, against a standalone mock: statuses, times, memory.

    python stress/hostile.py [--repeat 20] [--seconds 300] [--slow 8] [--bridge] [--workers 1] [--agent-only]

Starts ``sowebhook mock`` on 127.0.0.1 (or, with ``--bridge``, the same app served through
``mockserver.app.BufferedRSGI`` on granian's RSGI interface), sends each body of
``tests/test_hostile.py`` ``--repeat`` times over real HTTP to SaveWebhook and (but with
``--agent-only``) to each REST operation that takes a body (POST, PUT and PATCH of a stored
webhook, Test, SignalEvent: ``harness.hostile.REST_BODIES``), and prints per body and operation the
statuses seen, the median and slowest time, and the resident memory of the server's process tree
(VmRSS of the process and its workers, from /proc) before and after; it counts the answers that
are 5xx or none, the 4xx bodies in neither of SuperOffice's shapes (the REST error object only on a
REST path) and the bodies whose every answer was a refusal but that changed the stored webhooks.
Then ``--slow`` connections send their headers and part of a body and stop: how long a normal
request then waits for its answer (at most 5 s), and what the stalled ones get. Bounded by
``--repeat`` and ``--seconds``; only loopback. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

from _paths import ROOT  # tests/ on sys.path, for harness

# isort: split
from harness.hostile import (
    BRIDGE,
    LAUGHS,
    LIMIT,
    REST_BODIES,
    error_shape_problems,
    nested_json,
    nested_xml,
    rest_path,
)

HOST = "127.0.0.1"
AUTH = b"Authorization: Basic dGplMDpUamUw\r\n"
SAVE = b"/api/v1/Agents/Webhook/SaveWebhook"
FORM = "application/x-www-form-urlencoded"
CLOSED_PORT = 9  # discard: nothing listens on loopback here; an entity that reached it would fail anyway


def bodies() -> dict[str, tuple[bytes, str, bool]]:
    """name -> (body, content type, chunked)."""
    wide = b'{"Unexpected":1,"Properties":{"a":[' + b"{}," * ((LIMIT - 60) // 3) + b"{}]}}"
    return {
        "billion laughs text/xml": (LAUGHS, "text/xml", False),
        "billion laughs application/xml": (LAUGHS, "application/xml", False),
        "external entity file": (
            b'<!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/passwd">]><Webhook><Name>&e;</Name></Webhook>',
            "application/xml",
            False,
        ),
        "external entity http": (
            f'<!DOCTYPE w [<!ENTITY e SYSTEM "http://{HOST}:{CLOSED_PORT}/e">]><Webhook><Name>&e;</Name></Webhook>'.encode(),
            "application/xml",
            False,
        ),
        "parameter entity": (
            f'<!DOCTYPE w [<!ENTITY % p SYSTEM "http://{HOST}:{CLOSED_PORT}/p"> %p;]><Webhook/>'.encode(),
            "application/xml",
            False,
        ),
        "JSON 100 000 [": (b"[" * 100_000, "application/json", False),
        "JSON nested 257": (nested_json(257), "application/json", False),
        "JSON nested 990": (nested_json(990), "application/json", False),
        "XML nested 100 000": (
            b"<Webhook>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</Webhook>",
            "application/xml",
            False,
        ),
        "XML nested 257": (nested_xml(257), "application/xml", False),
        "form JSON nested 100 000": (b"Properties=" + b"%5B" * 100_000, FORM, False),
        "2 MiB by Content-Length": (b'{"Name":"' + b"a" * (2 * LIMIT) + b'"}', "application/json", False),
        "2 MiB chunked": (b'{"Name":"' + b"a" * (2 * LIMIT) + b'"}', "application/json", True),
        "limit + 8 chunked (valid JSON prefix)": (
            b'{"Name":"cut"}' + b" " * (LIMIT - 14) + b"and more",
            "application/json",
            True,
        ),
        "invalid UTF-8 JSON": (b'{"Name":"\xff\xfe"}', "application/json", False),
        "invalid UTF-8 XML": (b"<Webhook><Name>\xff</Name></Webhook>", "application/xml", False),
        "invalid UTF-8 form": (b"Name=%FF%FE", FORM, False),
        "duplicate keys": (b'{"Name":"first","Name":"last","Type":"crmscript"}', "application/json", False),
        "1e999999": (b'{"WebhookId":1e999999}', "application/json", False),
        "5000 digits": (b'{"Properties":{"n":' + b"9" * 5000 + b"}}", "application/json", False),
        "-0 and 1e-400": (
            b'{"WebhookId":-0,"Type":"crmscript","Properties":{"t":1e-400}}',
            "application/json",
            False,
        ),
        "raw NUL": (b'{"Name":"a\x00b"}', "application/json", False),
        "UTF-8 BOM": (b'\xef\xbb\xbf{"Name":"bom","Type":"crmscript"}', "application/json", False),
        "charset=punycode": (b'{"Name":"x","Type":"crmscript"}', "application/json; charset=punycode", False),
        "1 MiB of {} and an unknown member": (wide, "application/json", False),
        "1 MiB of XML elements and an unknown one": (
            b"<Webhook><Nope/><Events>" + b"<s/>" * ((LIMIT - 50) // 4) + b"</Events></Webhook>",
            "application/xml",
            False,
        ),
        "1 MiB of form escapes": (b"Name=" + b"%41" * ((LIMIT - 5) // 3), FORM, False),
        "patch nested 257": (
            b'[{"op":"add","path":"/Properties/a","value":' + b"[" * 255 + b"]" * 255 + b"}]",
            "application/json",
            False,
        ),
        "patch of 12 000 ops": (
            json.dumps(
                [{"op": "add", "path": "/Events/-", "value": f"e.{i}"} for i in range(12_000)]
            ).encode(),
            "application/json-patch+json",
            False,
        ),
        "patch pointer into a string": (
            b'[{"op":"test","path":"/Name/0","value":"x"}]',
            "application/json",
            False,
        ),
        "merge patch of nested nulls": (
            b'{"Properties":{"a":{"b":null,"c":{"d":null}}},"Headers":null}',
            "application/merge-patch+json",
            False,
        ),
    }


def request(body: bytes, content_type: str, chunked: bool, method: str = "POST", path: bytes = SAVE) -> bytes:
    head = (
        method.encode()
        + b" "
        + path
        + b" HTTP/1.1\r\nHost: mock\r\n"
        + AUTH
        + b"Content-Type: "
        + content_type.encode()
        + b"\r\nConnection: close\r\n"
    )
    if not chunked:
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 65536]), body[i : i + 65536]) for i in range(0, len(body), 65536)
    )
    return head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"


def exchange(port: int, data: bytes, timeout: float = 30.0) -> tuple[int, float]:
    """Send ``data``, read the answer's status line; (status, seconds). Status 0: no answer."""
    started = time.perf_counter()
    with socket.create_connection((HOST, port), timeout=timeout) as connection:
        try:
            connection.sendall(data)
        except OSError:
            pass  # answered (413) and closed before all of it was sent
        answer = b""
        try:
            while b"\r\n" not in answer:
                chunk = connection.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except OSError:
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, time.perf_counter() - started


def answered(port: int, data: bytes, timeout: float = 30.0) -> tuple[int, str, bytes, float]:
    """Send ``data`` (a request that asks the server to close), read the whole answer: (status,
    Content-Type, body, seconds). Status 0: no answer."""
    started = time.perf_counter()
    received = b""
    with socket.create_connection((HOST, port), timeout=timeout) as connection:
        try:
            connection.sendall(data)
        except OSError:
            pass  # answered (413) and closed before all of it was sent
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except OSError:
            pass
    seconds = time.perf_counter() - started
    if not received.startswith(b"HTTP/"):
        return 0, "", b"", seconds
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])
    }
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _unchunked(body)
    return int(lines[0].split(" ", 2)[1]), headers.get("content-type", ""), body, seconds


def _unchunked(data: bytes) -> bytes:
    body = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        body, data = body + rest[:size], rest[size + 2 :]
    return body


def stored_webhooks(port: int) -> bytes:
    """The stored webhooks as the admin endpoint lists them (what a refused body must not change)."""
    data = b"GET /__mock__/webhooks HTTP/1.1\r\nHost: mock\r\n" + AUTH + b"Connection: close\r\n\r\n"
    status, _, body, _ = answered(port, data)
    assert status == 200, status
    return body


def targets(port: int, agent_only: bool) -> dict[str, tuple[str, bytes]]:
    """Where each body is sent: SaveWebhook, and the REST operations with a body (PUT and PATCH of a
    webhook stored for them here)."""
    found = {"SaveWebhook": ("POST", SAVE)}
    if agent_only:
        return found
    seed = json.dumps({"Name": "hostile", "Type": "crmscript", "Events": ["contact.created"]}).encode()
    status, _, body, _ = answered(port, request(seed, "application/json", False, "POST", b"/api/v1/Webhook"))
    assert status == 200, (status, body[:300])
    webhook_id = json.loads(body)["WebhookId"]
    for operation, (method, path) in REST_BODIES.items():
        found[operation.removeprefix("v1Webhook_")] = (method, path.format(id=webhook_id).encode())
    return found


def tree_rss_mb(pid: int) -> float:
    """VmRSS of ``pid`` and its descendants, in MB."""
    pids, total = [pid], 0
    while pids:
        current = pids.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
            with open(f"/proc/{current}/task/{current}/children") as children:
                pids += [int(child) for child in children.read().split()]
        except (FileNotFoundError, StopIteration, ProcessLookupError):
            continue
    return total / 1024


def start(bridge: bool, workers: int) -> tuple[subprocess.Popen[str], int]:
    if bridge:
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            port = probe.getsockname()[1]
        command = [sys.executable, "-c", BRIDGE, str(port), "10"]
    else:
        command = [
            sys.executable,
            "-m",
            "contracts.cli",
            "mock",
            "--port",
            "0",
            "--quiet",
            "--workers",
            str(workers),
        ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    url = next(word for word in line.split() if word.startswith("http://"))
    return process, int(url.rsplit(":", 1)[1])


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def slow_bodies(port: int, count: int) -> None:
    stalled = []
    for _ in range(count):
        connection = socket.create_connection((HOST, port), timeout=60)
        connection.sendall(
            b"POST "
            + SAVE
            + b" HTTP/1.1\r\nHost: mock\r\n"
            + AUTH
            + b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Name":'
        )
        stalled.append(connection)
    body = b'{"Name":"meanwhile"}'
    normal = request(body, "application/json", False)
    for attempt in range(3):
        try:
            status, seconds = exchange(port, normal, timeout=5.0)
            print(
                f"  with {count} stalled bodies, request {attempt + 1}: {status} in {seconds * 1000:.1f} ms"
            )
        except OSError as error:
            print(
                f"  with {count} stalled bodies, request {attempt + 1}: no answer within 5 s ({type(error).__name__})"
            )
    stalled[0].settimeout(15)
    started = time.perf_counter()
    try:
        answer = stalled[0].recv(200)
        what = answer.split(b"\r\n", 1)[0].decode() if answer else "closed"
    except OSError as error:
        what = f"nothing ({type(error).__name__})"
    print(f"  a stalled connection got: {what} after {time.perf_counter() - started:.1f} s more")
    for connection in stalled:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="sends of each body (1..1000)")
    parser.add_argument(
        "--seconds", type=float, default=300.0, help="stop starting bodies after this (1..3600)"
    )
    parser.add_argument("--slow", type=int, default=8, help="stalled bodies at the end (0..200)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes of sowebhook mock (1..8)")
    parser.add_argument(
        "--bridge", action="store_true", help="serve through mockserver.app.BufferedRSGI (RSGI) instead"
    )
    parser.add_argument(
        "--agent-only",
        action="store_true",
        help="send the bodies to SaveWebhook only, not to the REST operations",
    )
    args = parser.parse_args()
    if not (
        1 <= args.repeat <= 1000
        and 1 <= args.seconds <= 3600
        and 0 <= args.slow <= 200
        and 1 <= args.workers <= 8
    ):
        parser.error("keep it bounded: --repeat 1..1000, --seconds 1..3600, --slow 0..200, --workers 1..8")

    process, port = start(args.bridge, args.workers)
    deadline = time.monotonic() + args.seconds
    sent = five_hundreds = misshaped = changed = 0
    try:
        first = tree_rss_mb(process.pid)
        served = "RSGI bridge" if args.bridge else f"sowebhook mock, {args.workers} worker(s)"
        print(f"{served} on port {port}; RSS {first:.1f} MB at start\n")
        print(
            f"{'body':40} {'operation':16} {'statuses':>16} {'median ms':>10} {'max ms':>9} {'RSS before':>11} {'after':>7}"
        )
        where = targets(port, args.agent_only)
        for name, (body, content_type, chunked) in bodies().items():
            for operation, (method, path) in where.items():
                if time.monotonic() > deadline:
                    break
                before = tree_rss_mb(process.pid)
                webhooks = stored_webhooks(port)
                statuses: dict[int, int] = {}
                times = []
                data = request(body, content_type, chunked, method, path)
                for _ in range(args.repeat):
                    status, answer_type, answer, seconds = answered(port, data)
                    statuses[status] = statuses.get(status, 0) + 1
                    times.append(seconds * 1000)
                    sent += 1
                    five_hundreds += status >= 500 or status == 0
                    if 400 <= status < 500 and error_shape_problems(
                        answer_type, answer, rest=rest_path(path.decode())
                    ):
                        misshaped += 1
                if all(400 <= status < 500 for status in statuses) and stored_webhooks(port) != webhooks:
                    changed += 1
                    print(f"  !! {name} refused by {operation} but the stored webhooks changed")
                shown = ",".join(f"{s}x{n}" for s, n in sorted(statuses.items()))
                print(
                    f"{name:40} {operation:16} {shown:>16} {statistics.median(times):10.1f} {max(times):9.1f} {before:10.1f}M "
                    f"{tree_rss_mb(process.pid):6.1f}M"
                )
            if time.monotonic() > deadline:
                print("(stopped: --seconds reached)")
                break
        last = tree_rss_mb(process.pid)
        print(
            f"\n{sent} requests, {five_hundreds} answered 5xx or not at all, {misshaped} 4xx in neither of SuperOffice's shapes, "
            f"{changed} refused bodies that changed the stored webhooks; RSS {first:.1f} MB at start, {last:.1f} MB at the end"
        )
        if args.slow:
            print(f"\n{args.slow} bodies that stall after 9 of 100 bytes:")
            slow_bodies(port, args.slow)
    finally:
        stop(process)
    return 1 if five_hundreds or misshaped or changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
