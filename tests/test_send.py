"""``sowebhook send``, in-process (click's runner), against ``listen`` and receivers that misbehave.

Oracles: an HMAC computed here with the standard library over the bytes the listener got, the
bytes of the fixture file the test wrote, and what each receiver was built to answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from contracts.cli import main
from contracts.delivery_fixture import load_many
from contracts.listen import Listener

SECRET = "Something Super Secret"


def independent_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def send(*args: str) -> Result:
    return CliRunner().invoke(main, ["send", *args])


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    with Listener(secret=SECRET, save_dir=tmp_path / "saved") as running:
        yield running


def test_send_event_builds_signs_and_posts_it(listener: Listener) -> None:
    result = send(
        listener.url,
        "--secret",
        SECRET,
        "--event",
        "contact.created",
        "--primary-key",
        "7",
        "--field",
        "name=Acme",
        "--field",
        "business_idx=3",
        "--webhook-name",
        "My app",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("200 OK")
    (got,) = listener.wait_for(1)
    assert got.header("X-SuperOffice-Signature") == independent_signature(SECRET, got.body)
    payload = json.loads(got.body)
    assert (
        payload["PrimaryKey"] == 7
        and payload["FieldValues"]["name"] == "Acme"
        and payload["FieldValues"]["business_idx"] == 3
    )
    assert payload["WebhookName"] == "My app" and payload["EventId"] == got.header("X-SuperOffice-EventId")
    assert got.violations == []


def test_send_test_is_the_registration_ping(listener: Listener) -> None:
    assert send(listener.url, "--secret", SECRET, "--test").exit_code == 0
    (ping,) = listener.wait_for(1)
    assert ping.header("X-Hook-Test") == "true" and json.loads(ping.body)["Event"] == "test"


def test_a_fixture_is_resent_with_a_fresh_eventid_and_every_other_byte_kept(
    listener: Listener, tmp_path: Path
) -> None:
    assert send(listener.url, "--secret", SECRET, "--event", "sale.sold", "--primary-key", "5").exit_code == 0
    (fixture,) = sorted((tmp_path / "saved").glob("*.json"))
    original = load_many(fixture)[0]
    assert send(listener.url, "--secret", SECRET, "--fixture", str(fixture)).exit_code == 0
    assert send(listener.url, "--secret", SECRET, "--fixture", str(fixture), "--same-event-id").exit_code == 0
    _, fresh, same = listener.wait_for(3)
    old_id, new_id = original.header("X-SuperOffice-EventId"), fresh.header("X-SuperOffice-EventId")
    assert old_id and new_id and new_id != old_id
    assert fresh.body == original.body.replace(old_id.encode(), new_id.encode())
    assert fresh.signature == same.signature == "valid"
    assert same.body == original.body and same.header("X-SuperOffice-EventId") == old_id


def test_a_tampered_fixture_is_reported_as_such(listener: Listener, tmp_path: Path) -> None:
    assert send(listener.url, "--secret", SECRET, "--event", "sale.sold", "--primary-key", "5").exit_code == 0
    (fixture,) = sorted((tmp_path / "saved").glob("*.json"))
    fixture.write_text(
        fixture.read_text(encoding="utf-8").replace('\\"PrimaryKey\\":5', '\\"PrimaryKey\\":6'),
        encoding="utf-8",
    )
    result = send(listener.url, "--secret", SECRET, "--fixture", str(fixture))
    assert result.exit_code == 0
    assert "saved signature does not match its body" in result.stderr
    assert json.loads(listener.wait_for(2)[1].body)["PrimaryKey"] == 6


def test_send_body_signs_the_bytes_as_they_are(listener: Listener, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_bytes(b'{ "Event" : "contact.changed",\r\n  "PrimaryKey": 1, "Timestamp": "x" }')
    assert send(listener.url, "--secret", SECRET, "--body", str(body)).exit_code == 0
    (got,) = listener.wait_for(1)
    assert got.body == body.read_bytes() and got.signature == "valid" and got.event == "contact.changed"


def test_send_body_without_an_event_takes_it_from_event(listener: Listener, tmp_path: Path) -> None:
    body = tmp_path / "body.txt"
    body.write_bytes(b"not json\n")
    refused = send(listener.url, "--secret", SECRET, "--body", str(body))
    assert refused.exit_code == 1 and "say which with --event" in refused.output
    result = send(listener.url, "--secret", SECRET, "--body", str(body), "--event", "contact.changed")
    assert result.exit_code == 0, result.output
    (got,) = listener.wait_for(1)
    assert got.body == b"not json\n" and got.event == "contact.changed" and got.signature == "valid"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--event", "contact.created"], 2, "Missing option '--secret'"),
        (["--secret", "", "--test"], 2, "--secret is empty"),
        (["--secret", "s"], 2, "exactly one of"),
        (["--secret", "s", "--test", "--event", "contact.created"], 2, "exactly one of"),
        (["--secret", "s", "--fixture", "/nonexistent/x.json"], 1, "cannot read it"),
        (["--secret", "s", "--event", "contact"], 1, "not an event name"),
        (["--secret", "s", "--event", "contact.created", "--field", "novalue"], 1, "expected KEY=VALUE"),
    ],
)
def test_bad_input_is_a_one_line_error(args: list[str], code: int, message: str) -> None:
    result = send("http://127.0.0.1:9/", *args)
    assert result.exit_code == code
    assert message in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("Error")]) == 1


def test_only_200_exits_0(tmp_path: Path) -> None:
    with Listener(respond=500) as failing:
        result = send(failing.url, "--secret", SECRET, "--event", "contact.created")
    assert result.exit_code == 1 and result.stdout.startswith("500")


def test_a_receiver_that_hangs_is_an_error_within_the_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (the kernel's backlog), never answers
        port = silent.getsockname()[1]
        result = send(f"http://127.0.0.1:{port}/", "--secret", SECRET, "--test", "--timeout", "0.3")
    assert result.exit_code == 1 and "within 0.3s" in result.output


def test_a_receiver_that_answers_megabytes_is_an_error() -> None:
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    flood = Response(b"x" * 4 * 1024 * 1024)
    server = make_server(
        "127.0.0.1", 0, lambda environ, start_response: flood(environ, start_response), threaded=True
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = send(f"http://127.0.0.1:{server.server_port}/", "--secret", SECRET, "--test")
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 1 and "over 65536 bytes" in result.output
    assert len(result.output.strip().splitlines()) == 1
