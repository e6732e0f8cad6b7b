"""Outbound calls (issue 7): deliveries never reach a host outside the allow-list, and a hostile
receiver (hanging, resetting, dripping bytes, answering gigabytes) cannot exhaust the mock.

Real HTTPS receivers on 127.0.0.1 (``harness.receivers``: a raw TLS socket server, so that a test
can misbehave at any byte), a certificate from a throw-away CA, and an injected resolver
(``harness.probes.Resolver`` as ``Deliveries.resolve``) that makes a name resolve anywhere.
Oracles: what the test's receivers saw (connections, requests), the addresses urllib3 was asked to
connect to (a spy on ``create_connection``), and for memory ``tracemalloc``'s peak. Nothing
sleeps: a receiver that hangs waits on an Event the test sets at teardown; a dripping receiver
paces itself with ``Event.wait(interval)``, which is its behaviour, not the test waiting; only
generous upper bounds on time, which catch hangs.
"""

from __future__ import annotations

import gc
import json
import os
import socket
import tempfile
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme
import urllib3.util.connection
from flask import Flask

from contracts.receiver import Receiver
from contracts.signatures import verify_signature
from harness.clients import AGENT, JSON
from harness.probes import Resolver, measured_probe, mock_threads, probe, timed_probe
from harness.receivers import (
    ENDLESS_CHUNKED,
    HANG_BOUND,
    HUGE_LENGTH,
    RawReceiver,
    answer,
    drip,
    endless,
    hang_after_request,
    hang_before_handshake,
    reset_after_request,
    reset_at_once,
)
from mockserver import MockConfig, create_app, state_of
from mockserver.config import DeliveryConfig

# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="test-outbound-") as folder:
        path = os.path.join(folder, "ca.pem")
        ca.cert_pem.write_to_path(path)
        yield path


@pytest.fixture
def receivers(ca: trustme.CA) -> Iterator[Callable[..., RawReceiver]]:
    started: list[RawReceiver] = []

    def start(behaviour: Callable[[RawReceiver, socket.socket], None]) -> RawReceiver:
        receiver = RawReceiver(behaviour, ca).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def make_app(ca_file: str) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def make(**delivery: Any) -> Flask:
        settings = {"ca_file": ca_file, "timeout_seconds": 5.0, "retry_waits": (0.0, 0.0), **delivery}
        app = create_app(MockConfig(sleep=lambda seconds: None, delivery=DeliveryConfig(**settings)))
        apps.append(app)
        return app

    yield make
    for app in apps:
        state_of(app).deliveries.close()


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address urllib3 was asked to connect to."""
    seen: list[str] = []
    real = urllib3.util.connection.create_connection

    def spy(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        seen.append(address[0])
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", spy)
    return seen


# ---------------------------------------------------------------------------------------------
# Only allowed hosts


def test_a_name_that_resolves_outside_the_allow_list_is_never_called(
    make_app: Callable[..., Flask], receivers: Any, connections: list[str]
) -> None:
    receiver = receivers(answer(200, "OK"))
    app = make_app()
    resolver = Resolver({"hooks.test": ["192.0.2.10"]})
    state_of(app).deliveries.resolve = resolver
    result = probe(app.test_client(), receiver.url("hooks.test"))
    assert result["Success"] is False
    assert "resolves to 192.0.2.10, outside the networks" in result["Message"]
    assert resolver.lookups == ["hooks.test"] and connections == [] and receiver.connections == 0


@pytest.mark.parametrize(
    "addresses",
    [
        ["127.0.0.1", "10.0.0.1"],
        ["10.0.0.1", "127.0.0.1"],
        ["127.0.0.1", "::ffff:10.0.0.1"],
        ["::1", "2001:db8::1"],
    ],
)
def test_a_name_with_one_disallowed_address_among_several_is_never_called(
    make_app: Callable[..., Flask], receivers: Any, connections: list[str], addresses: list[str]
) -> None:
    receiver = receivers(answer(200, "OK"))
    app = make_app()
    state_of(app).deliveries.resolve = Resolver({"hooks.test": addresses})
    result = probe(app.test_client(), receiver.url("hooks.test"))
    assert result["Success"] is False and "outside the networks" in result["Message"]
    assert connections == [] and receiver.connections == 0


def test_the_connection_goes_to_the_address_that_was_checked(
    make_app: Callable[..., Flask], receivers: Any, connections: list[str]
) -> None:
    """DNS rebinding: the name resolves to loopback once, then elsewhere; the mock resolves once per
    attempt and connects to the address it checked."""
    receiver = receivers(answer(200, "OK"))
    app = make_app()
    answers = iter([["127.0.0.1"], ["192.0.2.66"], ["192.0.2.66"]])
    resolver = Resolver({"rebind.test": lambda: next(answers)})
    state_of(app).deliveries.resolve = resolver
    result = probe(app.test_client(), receiver.url("rebind.test"))
    assert result["Success"] is True, result["Message"]
    assert resolver.lookups == ["rebind.test"] and connections == ["127.0.0.1"]
    head = receiver.requests[0][0].decode()
    assert f"Host: rebind.test:{receiver.port}" in head.split("\r\n")  # the name, for the receiver
    second = probe(app.test_client(), receiver.url("rebind.test"))
    assert second["Success"] is False and "192.0.2.66" in second["Message"] and connections == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("target", "resolved", "reaches"),
    [
        ("[::ffff:10.0.0.1]", None, None),  # IPv4-mapped: reaches 10.0.0.1, not allowed
        ("[::ffff:192.0.2.1]", None, None),
        ("[::ffff:a00:1]", None, None),  # the same address, written in hex
        ("[::7f00:1]", None, None),  # IPv4-compatible ::127.0.0.1 is not loopback
        ("[2001:db8::1]", None, None),
        ("[fe80::1]", None, None),
        ("mapped.test", ["::ffff:10.0.0.1"], None),
        ("mapped.test", ["::ffff:127.0.0.1"], "127.0.0.1"),  # judged, and called, as the IPv4 it reaches
    ],
)
def test_ipv6_and_ipv4_mapped_forms_are_judged_by_the_address_they_reach(
    make_app: Callable[..., Flask],
    receivers: Any,
    connections: list[str],
    target: str,
    resolved: list[str] | None,
    reaches: str | None,
) -> None:
    receiver = receivers(answer(200, "OK"))
    app = make_app()
    if resolved is not None:
        state_of(app).deliveries.resolve = Resolver({"mapped.test": resolved})
    result = probe(app.test_client(), f"https://{target}:{receiver.port}/hook")
    if reaches is None:
        assert result["Success"] is False and "outside the networks" in result["Message"], result["Message"]
        assert connections == [] and receiver.connections == 0
    else:
        assert result["Success"] is True, result["Message"]
        assert connections == [reaches] and receiver.connections == 1


@pytest.mark.parametrize(
    "host", ["3221225985", "0300.0.02.01", "0xc0000201", "192.0.513", "0xc0.0.0x2.1"]
)  # all 192.0.2.1
def test_numeric_forms_of_an_outside_address_are_refused(
    make_app: Callable[..., Flask], connections: list[str], host: str
) -> None:
    result = probe(make_app().test_client(), f"https://{host}/hook")
    assert result["Success"] is False and "192.0.2.1, outside the networks" in result["Message"]
    assert connections == []


@pytest.mark.parametrize("host", ["2130706433", "0177.0.0.1", "0x7f000001", "127.1"])  # all 127.0.0.1
def test_numeric_forms_of_loopback_reach_loopback_only(
    make_app: Callable[..., Flask], connections: list[str], host: str
) -> None:
    with Receiver(tls=False) as plain:
        app = make_app(allow_http=True)
        result = probe(app.test_client(), f"http://{host}:{plain.url.split(':')[2]}")
        assert result["Success"] is True, result["Message"]
        assert connections == ["127.0.0.1"] and len(plain.deliveries) == 1


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("location", ["https://192.0.2.1/hook", "https://hooks.test:{port}/elsewhere"])
def test_redirects_are_never_followed_and_count_as_failures(
    make_app: Callable[..., Flask], receivers: Any, connections: list[str], status: int, location: str
) -> None:
    other = receivers(answer(200, "OK"))  # an allowed host the redirect points at: not called either
    redirecting = receivers(answer(status, "Moved", {"Location": location.format(port=other.port)}))
    app = make_app()
    resolver = Resolver({"hooks.test": ["127.0.0.1"]})
    state_of(app).deliveries.resolve = resolver
    result = probe(app.test_client(), redirecting.url())
    assert result["Success"] is False
    assert result["Message"].startswith(f"HTTP/1.1 {status} Moved") and "Location: " in result["Message"]
    assert other.connections == 0 and connections == ["127.0.0.1"] and resolver.lookups == ["127.0.0.1"]


def test_a_redirect_fails_the_registration_and_every_event_attempt(
    make_app: Callable[..., Flask], receivers: Any
) -> None:
    redirecting = receivers(answer(307, "Temporary Redirect", {"Location": "https://192.0.2.1/"}))
    app = make_app(registration_ping=False)
    client = app.test_client()
    pinged = (
        make_app()
        .test_client()
        .post(
            AGENT + "SaveWebhook",
            headers=JSON,
            data=json.dumps({"Type": "webhook", "TargetUrl": redirecting.url()}),
        )
    )
    assert pinged.status_code == 400 and "307" in pinged.json["ModelState"]["entity.TargetUrl"][0]
    saved = client.post(
        AGENT + "SaveWebhook",
        headers=JSON,
        data=json.dumps({"Type": "webhook", "TargetUrl": redirecting.url(), "Events": ["contact.created"]}),
    ).json
    client.post(
        AGENT + "SignalEvent",
        headers=JSON,
        data=json.dumps({"EventName": "contact.created", "PrimaryKey": 1}),
    )
    assert state_of(app).deliveries.drain(HANG_BOUND)
    assert [r.status for r in state_of(app).deliveries.history()] == [307, 307, 307]
    row = state_of(app).store.get(saved["WebhookId"])
    assert (row.consecutive_errors, row.last_error.splitlines()[0]) == (3, "HTTP/1.1 307 Temporary Redirect")


def test_userinfo_in_the_target_url_is_neither_sent_nor_followed(
    make_app: Callable[..., Flask], receivers: Any, connections: list[str]
) -> None:
    receiver = receivers(answer(200, "OK"))
    app = make_app()
    state_of(app).deliveries.resolve = Resolver({"hooks.test": ["192.0.2.5"]})
    assert probe(app.test_client(), f"https://user:pw@127.0.0.1:{receiver.port}/hook")["Success"] is True
    head = receiver.requests[0][0].decode().lower()
    assert (
        "authorization" not in head and "user:pw" not in head and f"host: 127.0.0.1:{receiver.port}" in head
    )
    # the host is what follows the last '@', for the check and for the connection alike
    refused = probe(app.test_client(), f"https://127.0.0.1:{receiver.port}@hooks.test/hook")
    assert refused["Success"] is False and "192.0.2.5" in refused["Message"]
    assert connections == ["127.0.0.1"]


@pytest.mark.parametrize("port", ["0", "65536", "99999", "-1", "x"])
def test_ports_outside_the_range_are_refused(
    make_app: Callable[..., Flask], connections: list[str], port: str
) -> None:
    """Regression: port 0 was taken as "no port" and the mock called port 443."""
    result = probe(make_app().test_client(), f"https://127.0.0.1:{port}/hook")
    assert result["Success"] is False and "invalid port" in result["Message"] and connections == []


# ---------------------------------------------------------------------------------------------
# Hostile receivers: every attempt bounded in time and memory, recorded as an error


@pytest.mark.slow  # hostile receivers that hang or drip until the deadline
@pytest.mark.parametrize(
    "behaviour", [hang_before_handshake, hang_after_request], ids=["before TLS", "after the request"]
)
def test_a_hung_receiver_costs_one_bounded_attempt_and_no_thread(
    make_app: Callable[..., Flask], receivers: Any, behaviour: Any
) -> None:
    before = mock_threads()
    receiver = receivers(behaviour)
    result, elapsed = timed_probe(make_app(timeout_seconds=0.3).test_client(), receiver.url())
    assert result["Success"] is False and "timed out" in result["Message"], result["Message"]
    assert elapsed < HANG_BOUND
    assert mock_threads() == before  # the deadline's timer is gone, nothing else was started


@pytest.mark.parametrize(
    "behaviour", [reset_at_once, reset_after_request], ids=["at once", "after the request"]
)
def test_a_reset_connection_is_a_failed_attempt(
    make_app: Callable[..., Flask], receivers: Any, behaviour: Any
) -> None:
    receiver = receivers(behaviour)
    with warnings.catch_warnings():
        # A reset that arrives before the TLS handshake starts leaves the client's SSLSocket to the
        # garbage collector (CPython gh-113280: SSLSocket._create raises without closing it);
        # collected here, so that its ResourceWarning does not land in a later test.
        warnings.simplefilter("ignore", ResourceWarning)
        result, elapsed = timed_probe(make_app(timeout_seconds=2).test_client(), receiver.url())
        gc.collect()
    assert result["Success"] is False and elapsed < HANG_BOUND
    assert any(word in result["Message"] for word in ("reset", "EOF", "aborted", "closed")), result["Message"]


@pytest.mark.slow  # hostile receivers that hang or drip until the deadline
@pytest.mark.parametrize(
    "behaviour",
    [
        drip(b"HTTP/1.1 200 OK\r\n", b"X: y\r\n"),  # headers that never end
        drip(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", b"x"),  # a body a byte at a time
        drip(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"1\r\nx\r\n"),
        drip(b"HTTP/1.1 2", b"0"),  # a status line that never ends
    ],
    ids=["headers", "body", "chunks", "status line"],
)
def test_a_receiver_dripping_bytes_cannot_outlast_the_deadline(
    make_app: Callable[..., Flask], receivers: Any, behaviour: Any
) -> None:
    """Regression: the timeout was per read, so a receiver sending a byte every 40 ms held the
    attempt (and a worker, or the request that pinged) for as long as it liked. Now one deadline
    covers the whole attempt."""
    receiver = receivers(behaviour)
    result, elapsed = timed_probe(make_app(timeout_seconds=0.4).test_client(), receiver.url())
    assert result["Success"] is False and "no complete answer within 0.4s" in result["Message"], result[
        "Message"
    ]
    assert elapsed < 5  # the drip lasts 10 s: a per-read timeout would not have ended it
    assert receiver.sent > 0


@pytest.mark.parametrize(
    "behaviour", [HUGE_LENGTH, ENDLESS_CHUNKED], ids=["10 GB Content-Length", "endless chunks"]
)
def test_a_huge_or_endless_body_is_read_only_up_to_the_cap(
    make_app: Callable[..., Flask], receivers: Any, behaviour: Any
) -> None:
    receiver = receivers(behaviour)
    result, elapsed, peak = measured_probe(make_app(timeout_seconds=5).test_client(), receiver.url())
    assert result["Success"] is False, "a body over the cap is not an answer the mock accepts"
    assert result["Message"].startswith("ResponseTooLarge: the answer's body is over 65536 bytes")
    assert "HTTP/1.1 200 OK" in result["Message"] and len(result["Message"]) <= 4000
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes"  # the cap is 64 KiB
    assert elapsed < HANG_BOUND


@pytest.mark.parametrize(
    ("behaviour", "words"),
    [
        (
            answer(200, "OK", {f"X-Filler-{n}": "v" * 60000 for n in range(99)}),
            "status line and headers are over 65536 bytes",
        ),
        (answer(200, "OK", {"X-Long": "v" * 100000}), "status line and headers are over 65536 bytes"),
        (
            endless(b"HTTP/1.1 100 Continue\r\n\r\n" * 1000, b"HTTP/1.1 100 Continue\r\n\r\n" * 1000),
            "over 65536 bytes",
        ),
        (answer(200, "OK", {f"X-Many-{n}": "v" for n in range(150)}), "more than 100 headers"),
    ],
    ids=["99 headers of 60 KB", "a 100 KB header line", "endless 100 Continue", "150 headers"],
)
def test_the_answers_head_is_capped_too(
    make_app: Callable[..., Flask], receivers: Any, behaviour: Any, words: str
) -> None:
    """Regression: http.client alone reads 100 header lines of 64 KiB (5.8 MiB traced for one
    attempt); the head is now capped at 64 KiB like the body."""
    receiver = receivers(behaviour)
    result, elapsed, peak = measured_probe(make_app(timeout_seconds=5).test_client(), receiver.url())
    assert result["Success"] is False and words in result["Message"], result["Message"]
    assert len(result["Message"]) <= 4000 and elapsed < HANG_BOUND
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes"


def test_the_mock_answers_while_a_delivery_waits_on_a_hung_receiver(
    make_app: Callable[..., Flask], receivers: Any
) -> None:
    receiver = receivers(hang_after_request)
    app = make_app(timeout_seconds=5)
    outcome: dict[str, Any] = {}
    pending = threading.Thread(
        target=lambda: outcome.update(probe(app.test_client(), receiver.url())), daemon=True
    )
    pending.start()
    assert receiver.got_request.wait(HANG_BOUND)
    client = app.test_client()
    assert client.post(AGENT + "GetAllWebhooks", headers=JSON, data="{}").status_code == 200
    assert client.post(AGENT + "CreateDefaultWebhook", headers=JSON).status_code == 200
    assert (
        client.post(AGENT + "SignalEvent", headers=JSON, data='{"EventName": "contact.created"}').status_code
        == 204
    )
    assert pending.is_alive()  # the TestWebhook still waits on the receiver meanwhile
    receiver.release.set()  # the receiver hangs up
    pending.join(HANG_BOUND)
    assert not pending.is_alive() and outcome["Success"] is False


@pytest.mark.slow  # hostile receivers that hang or drip until the deadline
@pytest.mark.parametrize(
    ("behaviour", "words"),
    [
        (hang_after_request, "timed out"),
        (drip(b"HTTP/1.1 200 OK\r\n", b"X: y\r\n"), "timed out"),
        (HUGE_LENGTH, "ResponseTooLarge"),
        (reset_after_request, ""),
        (answer(200, "OK", {f"X-{n}": "v" for n in range(150)}), "more than 100 headers"),
    ],
    ids=["hang", "drip", "huge", "reset", "headers"],
)
def test_events_to_hostile_receivers_are_recorded_as_errors_and_free_the_workers(
    make_app: Callable[..., Flask], receivers: Any, behaviour: Any, words: str
) -> None:
    before = Counter(mock_threads())  # other tests' apps may have left their workers running
    receiver = receivers(behaviour)
    app = make_app(timeout_seconds=0.3, registration_ping=False, workers=1)
    client = app.test_client()
    saved = client.post(
        AGENT + "SaveWebhook",
        headers=JSON,
        data=json.dumps({"Type": "webhook", "TargetUrl": receiver.url(), "Events": ["contact.created"]}),
    ).json
    for key in range(2):
        assert (
            client.post(
                AGENT + "SignalEvent",
                headers=JSON,
                data=json.dumps({"EventName": "contact.created", "PrimaryKey": key}),
            ).status_code
            == 204
        )
    assert state_of(app).deliveries.drain(HANG_BOUND)  # six attempts on one worker, each bounded
    history = state_of(app).deliveries.history()
    assert len(history) == 6 and all(r.status in (None, 200) for r in history)
    row = state_of(app).store.get(saved["WebhookId"])
    assert row.consecutive_errors == 6 and words in row.last_error
    last = client.post(
        AGENT + "GetLastError", headers=JSON, data=json.dumps({"WebhookId": saved["WebhookId"]})
    ).json
    assert last == row.last_error
    assert Counter(mock_threads()) - before == Counter(
        {"sowebhook-delivery-0": 1}
    )  # its one worker, no timer left


# ---------------------------------------------------------------------------------------------
# The webhook's own Headers


@pytest.mark.parametrize(
    "headers",
    [{"X-A": "a\r\nInjected: yes"}, {"Bad Name:": "v"}, {"X-A": "é€"}, {"X-A": "a\nb"}],
    ids=["CRLF in a value", "a bad name", "beyond Latin-1", "LF in a value"],
)
def test_headers_that_cannot_be_sent_fail_the_attempt_not_the_mock(
    make_app: Callable[..., Flask], receivers: Any, headers: dict[str, str]
) -> None:
    """Regression: http.client's ValueError escaped the delivery: 500 on TestWebhook and on
    SaveWebhook's ping, and an event attempt that was never recorded."""
    receiver = receivers(answer(200, "OK"))
    app = make_app(registration_ping=False)
    client = app.test_client()
    result = probe(client, receiver.url(), Headers=headers)
    assert result["Success"] is False and result["Message"].startswith("The request cannot be sent:")
    pinged = (
        make_app()
        .test_client()
        .post(
            AGENT + "SaveWebhook",
            headers=JSON,
            data=json.dumps({"Type": "webhook", "TargetUrl": receiver.url(), "Headers": headers}),
        )
    )
    assert pinged.status_code == 400
    client.post(
        AGENT + "SaveWebhook",
        headers=JSON,
        data=json.dumps(
            {"Type": "webhook", "TargetUrl": receiver.url(), "Headers": headers, "Events": ["e.x"]}
        ),
    )
    client.post(AGENT + "SignalEvent", headers=JSON, data='{"EventName": "e.x"}')
    assert state_of(app).deliveries.drain(HANG_BOUND)
    history = state_of(app).deliveries.history()  # the TestWebhook above, then three attempts of the event
    assert [(r.event, r.message.startswith("The request cannot be sent:")) for r in history] == [
        ("test", True)
    ] + [("e.x", True)] * 3
    assert receiver.connections == 0  # found before connecting


def test_headers_cannot_replace_the_mocks_own_or_the_framing_in_any_case(
    make_app: Callable[..., Flask],
) -> None:
    with Receiver(secret="s3cret") as receiver:
        app = make_app(ca_file=receiver.ca_file)
        forged = {
            "content-type": "text/plain",
            "x-superoffice-signature": "forged",
            "X-SUPEROFFICE-EVENT": "forged",
            "HOST": "evil.example",
            "Content-Length": "0",
            "transfer-encoding": "chunked",
            "Connection": "keep-alive",
            "X-Kept": "yes",
        }
        assert probe(app.test_client(), receiver.url, Headers=forged, Secret="s3cret")["Success"] is True
        (delivery,) = receiver.deliveries
        for name in (
            "Content-Type",
            "X-SuperOffice-Signature",
            "X-SuperOffice-Event",
            "Host",
            "Content-Length",
        ):
            assert len(delivery.headers.getlist(name)) == 1, name
        assert delivery.headers["Content-Type"] == "application/json; charset=utf-8"
        assert delivery.headers["Host"] == receiver.url.split("/")[2]
        assert delivery.headers["X-Kept"] == "yes" and "Transfer-Encoding" not in delivery.headers
        assert verify_signature("s3cret", delivery.body, delivery.headers["X-SuperOffice-Signature"])
        assert delivery.json["Event"] == "test" and delivery.violations == []
