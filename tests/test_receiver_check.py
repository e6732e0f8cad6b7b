"""The receiver-conformance check, against receivers whose defects the test built in (the oracle)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from contracts.cli import main
from contracts.receiver_check import check_receiver, url_sender, wsgi_sender
from contracts.signatures import verify_signature

SECRET = "Something Super Secret"
CHECKS = {
    "accepts_valid_delivery",
    "accepts_test_event",
    "rejects_tampered_body",
    "rejects_wrong_secret",
    "rejects_missing_signature",
    "rejects_hex_signature",
    "accepts_unusual_serialisation",
    "tolerates_retry",
}


def receiver(verify: Callable[[bytes, str | None], bool], *, dedupe: bool = False) -> Any:
    seen: set[str] = set()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data()
        if not verify(body, request.headers.get("X-SuperOffice-Signature")):
            return Response("bad signature", status=401)(environ, start_response)
        event_id = request.headers.get("X-SuperOffice-EventId", "")
        if dedupe and event_id in seen:
            return Response("duplicate", status=409)(environ, start_response)
        seen.add(event_id)
        return Response("OK")(environ, start_response)

    return app


def correct(body: bytes, header: str | None) -> bool:
    return verify_signature(SECRET, body, header)


def reserialising(body: bytes, header: str | None) -> bool:  # the classic mistake
    again = json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":")).encode()
    return verify_signature(SECRET, again, header)


def hex_too(body: bytes, header: str | None) -> bool:
    import hashlib
    import hmac

    return correct(body, header) or header == hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("app", "failing"),
    [
        (receiver(correct), set()),
        (receiver(reserialising), {"accepts_unusual_serialisation"}),
        (receiver(hex_too), {"rejects_hex_signature"}),
        (
            receiver(lambda body, header: True),
            {
                "rejects_tampered_body",
                "rejects_wrong_secret",
                "rejects_missing_signature",
                "rejects_hex_signature",
            },
        ),
        (receiver(correct, dedupe=True), {"tolerates_retry"}),
    ],
    ids=["correct", "re-serialising", "hex-accepting", "not-verifying", "deduplicating-with-409"],
)
def test_each_defect_fails_exactly_its_check(app: Any, failing: set[str]) -> None:
    report = check_receiver(wsgi_sender(app), SECRET)
    assert {c.name for c in report.checks} == CHECKS
    assert {c.name for c in report.checks if not c.passed} == failing
    assert report.ok is (not failing)


@pytest.fixture
def served() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, receiver(reserialising), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_the_cli_reports_check_by_check_and_exits_non_zero(served: str) -> None:
    result = CliRunner().invoke(main, ["receiver-check", served, "--secret", SECRET])
    assert result.exit_code == 1
    assert "FAIL  accepts_unusual_serialisation" in result.output
    assert "PASS  rejects_hex_signature" in result.output
    assert result.output.strip().endswith("7 passed, 1 failed")


def test_an_unreachable_receiver_fails_every_check() -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(
        main, ["receiver-check", f"http://ann:s3cret@127.0.0.1:{port}/", "--secret", "s", "--timeout", "2"]
    )
    assert result.exit_code == 1
    assert "0 passed, 8 failed" in result.output
    assert "s3cret" not in result.output and "Receiver check of http://ann:***@127.0.0.1" in result.output


def counting_receiver(*, dedupe: bool, background: bool = False) -> tuple[Any, list[str]]:
    """A verifying receiver whose side effect (the list) the test reads; ``dedupe``: by EventId;
    ``background``: the work is queued and not done before the answer (the check cannot see it)."""
    processed: list[str] = []
    queued: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if not correct(request.get_data(), request.headers.get("X-SuperOffice-Signature")):
            return Response("bad signature", status=401)(environ, start_response)
        event_id = request.headers.get("X-SuperOffice-EventId", "")
        if not (dedupe and event_id in processed):
            (queued if background else processed).append(event_id)
        return Response("OK")(environ, start_response)

    return app, processed


@pytest.mark.parametrize(
    ("dedupe", "background", "passed", "detail"),
    [
        (True, False, True, ""),
        (False, False, False, "was processed again: the count went from"),
        (True, True, False, "processed in the background"),
    ],
    ids=["deduplicating", "processing-twice", "background"],
)
def test_processes_retry_once_reads_the_side_effect_hook(
    dedupe: bool, background: bool, passed: bool, detail: str
) -> None:
    app, processed = counting_receiver(dedupe=dedupe, background=background)
    report = check_receiver(wsgi_sender(app), SECRET, side_effects=lambda: len(processed))
    assert {c.name for c in report.checks} == CHECKS | {"processes_retry_once"}
    (check,) = [c for c in report.checks if c.name == "processes_retry_once"]
    assert check.passed is passed and detail in check.detail
    assert next(c for c in report.checks if c.name == "tolerates_retry").passed


def test_without_a_hook_the_idempotency_check_is_not_run() -> None:
    app, _ = counting_receiver(dedupe=False)
    assert "processes_retry_once" not in {c.name for c in check_receiver(wsgi_sender(app), SECRET).checks}


def test_a_receiver_that_drips_its_answer_is_given_up_on_at_the_timeout() -> None:
    import socket

    from contracts.poster import PostError

    release = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as dripping:

        def drip() -> None:
            conn, _ = dripping.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n")
                for _ in range(500):  # a byte well within each read's timeout, 5 s in all
                    if release.wait(0.01):
                        return
                    try:
                        conn.sendall(b"x")
                    except OSError:
                        return

        thread = threading.Thread(target=drip, daemon=True)
        thread.start()
        send = url_sender(f"http://127.0.0.1:{dripping.getsockname()[1]}/", timeout=0.3)
        try:
            with pytest.raises(PostError, match="within 0.3s"):
                send(b"{}", {})
        finally:
            release.set()
            thread.join(timeout=10)
