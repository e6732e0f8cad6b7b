"""``sowebhook listen`` on real sockets: against ``send``, the mock's own deliveries, a forwarded app,
and clients that misbehave.

Oracles: an HMAC computed here with the standard library over the bytes the listener recorded, the
bytes the test sent, what the test told the forwarded app (contracts.receiver.Receiver) to answer,
and the mock's delivery records (what it sent, and its redelivery of the same EventId).
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

from contracts.delivery_fixture import load_many
from contracts.listen import Listener, ListenError
from contracts.receiver import Receiver
from contracts.send import from_body, from_event

SECRET = "Something Super Secret"


def independent_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def lines() -> list[str]:
    return []


@pytest.fixture
def listener(lines: list[str], tmp_path: Path) -> Iterator[Listener]:
    with Listener(secret=SECRET, save_dir=tmp_path / "saved", echo=lines.append, read_timeout=0.5) as running:
        yield running


def raw_exchange(listener: Listener, request: bytes, *, then_wait: bool = True) -> bytes:
    """Send ``request`` bytes as they are and read the answer to the end."""
    host, port = listener.url.split("//")[1].rstrip("/").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        return answer


def test_a_sent_event_is_verified_validated_printed_and_saved(
    listener: Listener, lines: list[str], tmp_path: Path
) -> None:
    outgoing = from_event("contact.created", SECRET, primary_key=994863, fields={"name": "Ærlig Æble AS"})
    answer = outgoing.send(listener.url)
    assert answer.status == 200
    (got,) = listener.wait_for(1)
    assert got.body == outgoing.body
    assert got.header("X-SuperOffice-Signature") == independent_signature(SECRET, got.body)
    assert got.signature == "valid" and got.violations == []
    event_id = json.loads(got.body)["EventId"]
    (line,) = lines
    for part in (
        "contact.created",
        event_id,
        "pk=994863",
        "retry=0",
        "signature=valid",
        "violations=0",
        "-> 200",
    ):
        assert part in line
    (saved,) = load_many(tmp_path / "saved")
    assert saved.body == outgoing.body and saved.signature == "valid" and saved.status == 200


def test_bad_signatures_are_reported_not_crashed_on(listener: Listener, lines: list[str]) -> None:
    good = from_event("sale.sold", SECRET, primary_key=5)
    tampered = good.body.replace(b'"PrimaryKey":5', b'"PrimaryKey":6')
    assert from_body(tampered, None).send(listener.url).status == 200  # unsigned
    from contracts.poster import post

    post(listener.url, tampered, good.headers)  # signed over other bytes
    from_event("sale.sold", "another secret").send(listener.url)
    verdicts = [d.signature for d in listener.wait_for(3)]
    assert verdicts == ["missing", "invalid", "invalid"]
    assert all("-> 200" in line for line in lines)


def test_the_ping_gets_200_whatever_the_listener_is_told_to_answer(tmp_path: Path) -> None:
    with Listener(secret=SECRET, respond=500) as listener:
        assert from_event("test", SECRET).send(listener.url).status == 200
        assert from_event("contact.changed", SECRET).send(listener.url).status == 500
        ping, event = listener.wait_for(2)
        assert ping.answered_by.startswith("listen") and event.answered_by == "respond"


def test_forward_passes_the_delivery_unchanged_and_answers_with_the_apps_status(lines: list[str]) -> None:
    with (
        Receiver(secret=SECRET, tls=False) as app,
        Listener(secret=SECRET, forward=app.url, echo=lines.append) as listener,
    ):
        app.fail(503)
        outgoing = from_event("person.changed", SECRET, primary_key=18)
        answer = outgoing.send(listener.url)
        assert answer.status == 503 and "told to fail" in answer.text
        (seen,) = app.wait_for(1)
        assert seen.body == outgoing.body and seen.signature_valid
        app.respond(200)
        assert outgoing.send(listener.url).status == 200
    assert "(forward: 503" in lines[0] and "(forward: 200" in lines[1]


def test_forward_to_an_app_that_is_down_is_a_502() -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with Listener(forward=f"http://127.0.0.1:{port}/hook") as listener:
        answer = from_event("contact.changed", SECRET).send(listener.url)
        assert answer.status == 502 and listener.wait_for(1)[0].answered_by == "error"


def test_bodies_over_the_limit_are_413_without_being_read(lines: list[str]) -> None:
    """The 413 is sent as soon as the headers say too much, before the body (which the listener
    then drains, bounded, and drops: see the sender's test below)."""
    with Listener(max_body=100, echo=lines.append) as listener:
        host, port = listener.url.split("//")[1].rstrip("/").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            conn.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n" + b"x" * 100)
            answer = b""
            while b"\r\n\r\n" not in answer and (chunk := conn.recv(65536)):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 413")
        assert listener.deliveries == [] and "413" in lines[0]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"Event":', b"408"),  # then silence
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"411"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"405"),
        (b"\x16\x03\x01\x00\xa5garbage\r\n\r\n", None),  # http.server answers an HTML page, no status line
    ],
    ids=["slow-client", "chunked", "get", "garbage"],
)
def test_misbehaving_clients_get_an_answer_and_the_listener_goes_on(
    listener: Listener, request_bytes: bytes, status: bytes | None
) -> None:
    answer = raw_exchange(listener, request_bytes)
    assert answer.split(b" ")[1] == status if status else answer
    assert from_event("test", SECRET).send(listener.url).status == 200


def test_a_body_that_is_not_json_is_reported_as_a_violation_on_one_line(
    listener: Listener, lines: list[str]
) -> None:
    assert from_body(b"\xff\x00 not json", SECRET, event="contact.created").send(listener.url).status == 200
    assert from_body(b"not json\nat all\n", SECRET, event="contact.created").send(listener.url).status == 200
    got = listener.wait_for(2)
    assert [d.signature for d in got] == ["valid", "valid"] and all(d.violations for d in got)
    assert len(lines) == 2 and all("\n" not in line and "violations=1 [" in line for line in lines)


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A certificate for 127.0.0.1, its key, and the throw-away CA that issued it (trustme)."""
    import trustme

    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    cert, key, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    return cert, key, ca_file


def test_tls_with_a_certificate_and_key(tls_files: tuple[Path, Path, Path]) -> None:
    cert, key, ca_file = tls_files
    lines: list[str] = []
    reported = threading.Event()

    def echo(line: str) -> None:
        lines.append(line)
        reported.set()

    with Listener(secret=SECRET, cert=str(cert), key=str(key), echo=echo) as listener:
        assert listener.url.startswith("https://")
        try:  # plain HTTP to a TLS port: the handshake fails, the connection is closed or reset
            assert raw_exchange(listener, b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}") == b""
        except ConnectionResetError:
            pass
        assert reported.wait(10) and "dropped" in lines[0]
        assert from_event("contact.created", SECRET).send(listener.url, ca_file=str(ca_file)).status == 200
        assert listener.wait_for(1)[0].signature == "valid"


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_a_sender_still_reads_the_413_of_a_body_over_the_limit(
    tls: bool, tls_files: tuple[Path, Path, Path]
) -> None:
    """The listener answers 413 and closes before the body is in; the sender reads that answer
    rather than failing on the connection it closed (over TLS too)."""
    cert, key, ca_file = tls_files
    options = {"cert": str(cert), "key": str(key)} if tls else {}
    with Listener(secret=SECRET, max_body=1024, echo=lambda line: None, **options) as listener:  # type: ignore[arg-type]
        answer = from_body(b"x" * (4 * 1024 * 1024), SECRET, event="contact.created").send(
            listener.url, ca_file=str(ca_file)
        )
        assert answer.status == 413
        assert listener.deliveries == []


def test_what_cannot_start_is_a_one_line_error(listener: Listener, tmp_path: Path) -> None:
    port = int(listener.url.rstrip("/").rsplit(":", 1)[1])
    with pytest.raises(ListenError, match="cannot listen"):
        Listener(port=port).start()
    with pytest.raises(ListenError, match="both"):
        Listener(cert=str(tmp_path / "cert.pem")).start()
    with pytest.raises(ListenError, match="cannot load"):
        Listener(cert=str(tmp_path / "none.pem"), key=str(tmp_path / "none.pem")).start()


@pytest.mark.slow  # the mock's app and its delivery workers
def test_the_mocks_deliveries_and_a_redelivery_reach_listen(listener: Listener) -> None:
    from mockserver import MockConfig, create_app, state_of
    from mockserver.config import DeliveryConfig

    app = create_app(MockConfig(delivery=DeliveryConfig(allow_http=True, timeout_seconds=5)))
    client = app.test_client()
    auth = {"Authorization": "Basic dGplMDpUamUw"}
    try:
        saved = client.post(
            "/api/v1/Agents/Webhook/SaveWebhook",
            headers=auth,
            json={
                "Name": "listen",
                "Events": ["contact.created"],
                "TargetUrl": listener.url,
                "Secret": SECRET,
                "Type": "webhook",
            },
        )
        assert saved.status_code == 200, saved.get_data(as_text=True)
        client.post(
            "/api/v1/Agents/Webhook/SignalEvent",
            headers=auth,
            json={"EventName": "contact.created", "PrimaryKey": 7},
        )
        assert state_of(app).deliveries.drain(timeout=20)
        ping, event = listener.wait_for(2)
        assert ping.event == "test" and ping.status == 200
        assert (
            event.signature == "valid"
            and event.violations == []
            and json.loads(event.body)["PrimaryKey"] == 7
        )
        assert event.header("X-SuperOffice-Signature") == independent_signature(SECRET, event.body)
        records = client.get("/__mock__/deliveries?event=contact.created", headers=auth).json
        again = client.post(f"/__mock__/deliveries/{records[0]['id']}/redeliver", headers=auth)
        assert again.status_code == 200, again.get_data(as_text=True)
        redelivered = listener.wait_for(3)[2]
        assert redelivered.body == event.body
        assert redelivered.header("X-SuperOffice-EventId") == event.header("X-SuperOffice-EventId")
        assert int(redelivered.header("X-SuperOffice-Retry") or 0) > int(
            event.header("X-SuperOffice-Retry") or 0
        )
    finally:
        state_of(app).deliveries.close()


def test_a_client_dripping_its_headers_is_cut_off_at_the_deadline_not_kept(lines: list[str]) -> None:
    with Listener(read_timeout=0.3, echo=lines.append) as listener:
        host, port = listener.url.split("//")[1].rstrip("/").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            closed = threading.Event()

            def read_to_the_end() -> None:
                try:
                    conn.recv(1024)
                except OSError:
                    pass
                closed.set()

            threading.Thread(target=read_to_the_end, daemon=True).start()
            conn.sendall(b"POST / HTTP/1.1\r\n")
            for _ in range(400):  # a header byte well within each read's timeout, for up to 40 timeouts
                if closed.wait(0.03):
                    break
                try:
                    conn.sendall(b"X-A: b\r\n")
                except OSError:
                    break
            assert closed.wait(10)
        assert any("did not arrive within 0.3s" in line for line in lines)
        assert from_event("test", SECRET).send(listener.url).status == 200  # and it goes on


def test_connections_over_the_limit_are_closed_at_once(lines: list[str]) -> None:
    with Listener(max_connections=2, echo=lines.append) as listener:
        host, port = listener.url.split("//")[1].rstrip("/").rsplit(":", 1)
        idle = [socket.create_connection((host, int(port)), timeout=10) for _ in range(2)]
        try:
            with socket.create_connection((host, int(port)), timeout=10) as extra:
                assert extra.recv(1024) == b""  # closed by the listener, while the two idle ones wait
            assert any("2 connections are open already" in line for line in lines)
        finally:
            for conn in idle:
                conn.close()


def test_control_characters_a_client_sends_never_reach_the_terminal(
    listener: Listener, lines: list[str]
) -> None:
    from contracts.poster import post

    outgoing = from_event("contact.changed", SECRET)
    hostile = {
        **outgoing.headers,
        "X-SuperOffice-Event": "contact.changed\x1b[2J",
        "X-SuperOffice-EventId": "\x07\x1b]0;owned\x07",
    }
    assert post(listener.url, outgoing.body, hostile).status == 200
    raw_exchange(listener, b"GET /\x1b[31m HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (
        listener.wait_for(1)[0].header("X-SuperOffice-Event") == "contact.changed\x1b[2J"
    )  # kept as received
    assert len(lines) == 2 and not any(ord(c) < 32 for line in lines for c in line)
    assert "contact.changed\\x1b[2J" in lines[0] and "/\\x1b[31m" in lines[1]


def test_a_listener_left_running_holds_only_the_newest_deliveries() -> None:
    with Listener(keep=2) as listener:
        sent = [from_event("test", SECRET) for _ in range(3)]
        for outgoing in sent:
            assert outgoing.send(listener.url).status == 200
        kept = listener.wait_for(3)  # counts all three
    assert [d.body for d in kept] == [o.body for o in sent[1:]]
