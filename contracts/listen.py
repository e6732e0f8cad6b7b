"""``sowebhook listen``: a receiver for real SuperOffice deliveries while developing.

``Listener`` serves plain HTTP on 127.0.0.1 by default (TLS with a certificate and key) in threads
of its own, so that tests start and stop it in-process. For every POST it reads the exact body
bytes (at most ``max_body`` of them, within ``read_timeout``), verifies ``X-SuperOffice-Signature``
with the secret (``contracts.signatures``), validates headers and payload against the contract's
``webhooks`` entry (``contracts.receiver.delivery_violations``), decides the answer, reports one
line and, with a folder, saves the delivery as a fixture (``contracts.delivery_fixture``).

The answer (docs/fidelity.md F-215 to F-217): the registration ping (``X-Hook-Test: true`` or the
event ``test``) gets 200 from the listener itself, so that registering succeeds whatever else is
set; any other delivery gets the forwarded app's answer (``forward``: the body and headers
passed on unchanged, one bounded POST through ``contracts.poster``; 502 when the app does not
answer), else the chosen ``respond`` status, else 200. An invalid or missing signature is reported,
not refused: what to refuse is the app's business. A body over ``max_body`` is 413 (and up to
``DRAIN_BYTES`` of it are read and dropped, so that the sender reads the answer), a client that
does not send its body in time 408, a POST without Content-Length 411, any other method 405.
Each connection has its own thread; nothing a client sends reaches more than its own thread. A
client has ``read_timeout`` for its request line and headers together (one dripping a byte at a
time is cut off then, not at each byte), and at most ``max_connections`` are served at once (the
next ones are closed at once, with a line), so that slow clients cannot pile up threads.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from contracts.background import Background
from contracts.delivery_fixture import SavedDelivery, save
from contracts.events import EVENT_ID_HEADER, RETRY_HEADER, TEST_EVENT, TEST_HEADER
from contracts.poster import PostError, post
from contracts.signatures import SIGNATURE_HEADER, verify_signature

__all__ = ["DEFAULT_MAX_BODY", "DEFAULT_MAX_CONNECTIONS", "ListenError", "Listener", "delivery_line"]

DEFAULT_MAX_BODY = 1024 * 1024
DRAIN_BYTES = 16 * 1024 * 1024  # of a refused body, read and dropped before the connection closes
DEFAULT_MAX_CONNECTIONS = 64
Clock = Callable[[], datetime]


class ListenError(Exception):
    """The listener cannot start: the address is taken, the certificate or key cannot be read."""


@dataclass(frozen=True)
class Forwarded:
    status: int
    reason: str
    content_type: str
    body: bytes
    note: str


def delivery_line(delivery: SavedDelivery, note: str = "") -> str:
    """One line: time, event, EventId, primary key, retry, signature verdict, violations, answer."""
    try:
        key = json.loads(delivery.body).get("PrimaryKey", "-")
    except (ValueError, AttributeError, UnicodeDecodeError):
        key = "-"
    problems = " ".join(
        "; ".join(delivery.violations).split()
    )  # one line, whatever a validator's message holds
    violations = f"violations={len(delivery.violations)}" + (f" [{problems[:300]}]" if problems else "")
    return " ".join(
        [
            delivery.received.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            delivery.event,
            delivery.header(EVENT_ID_HEADER) or "-",
            f"pk={key}",
            f"retry={delivery.header(RETRY_HEADER) or '-'}",
            f"signature={delivery.signature}",
            violations,
            f"-> {delivery.status} ({delivery.answered_by}{note})",
        ]
    )


def _printable(line: str) -> str:
    """``line`` safe for a terminal: a control character a client sent (an escape sequence in a
    header or the path) shown escaped, as ``\\x1b``."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in line)


class Listener(Background[SavedDelivery]):
    """Receive, judge, report, save and answer webhook deliveries on ``host:port``."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        cert: str | None = None,
        key: str | None = None,
        save_dir: str | Path | None = None,
        forward: str | None = None,
        respond: int | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        read_timeout: float = 10.0,
        forward_timeout: float = 10.0,
        forward_ca_file: str | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        keep: int | None = None,
        echo: Callable[[str], None] = lambda line: None,
        clock: Clock = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.secret, self.host, self.port = secret, host, port
        self.cert, self.key = cert, key
        self.save_dir = Path(save_dir) if save_dir is not None else None
        self.forward, self.respond = forward, respond
        self.max_body, self.read_timeout = max_body, read_timeout
        self.forward_timeout, self.forward_ca_file = forward_timeout, forward_ca_file
        self.max_connections = max_connections
        self.echo: Callable[[str], None] = lambda line: echo(_printable(line))
        self.clock = clock
        super().__init__(keep)
        self._context: ssl.SSLContext | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Listener:
        if self.cert or self.key:
            if not (self.cert and self.key):
                raise ListenError("TLS needs both a certificate (--cert) and its key (--key)")
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            try:
                context.load_cert_chain(self.cert, self.key)
            except (OSError, ssl.SSLError) as error:
                raise ListenError(
                    f"cannot load the certificate {self.cert} and key {self.key}: {error}"
                ) from None
            self._context = context
        try:
            handler = type(
                "_TimedHandler", (_Handler,), {"timeout": self.read_timeout}
            )  # each socket operation's bound
            server = _Server((self.host, self.port), handler, self)
        except OSError as error:
            raise ListenError(
                f"cannot listen on {self.host}:{self.port}: {error.strerror or error}"
            ) from None
        self._run(server, "sowebhook-listen")
        return self

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        address = self._server.server_address
        host = address[0].decode() if isinstance(address[0], bytes) else str(address[0])
        port = address[1]
        name = f"[{host}]" if ":" in host else host
        return f"{'https' if self._context else 'http'}://{name}:{port}/"

    # -- one delivery -------------------------------------------------------------------------

    def judge(self, path: str, headers: list[tuple[str, str]], body: bytes) -> SavedDelivery:
        from contracts.receiver import delivery_violations  # openapi-core: only once a delivery arrives

        delivery = SavedDelivery(headers, body, self.clock(), "POST", path)
        signature = delivery.header(SIGNATURE_HEADER)
        if self.secret is None:
            delivery.signature = "unchecked"
        elif signature is None:
            delivery.signature = "missing"
        else:
            delivery.signature = "valid" if verify_signature(self.secret, body, signature) else "invalid"
        try:
            delivery.violations = delivery_violations(headers, body)
        except Exception as error:  # noqa: BLE001 - a body no validator can read is a violation, not a crash
            delivery.violations = [f"unreadable: {type(error).__name__}: {error}"]
        return delivery

    def answer(self, delivery: SavedDelivery) -> Forwarded:
        """The status, content type and body to answer ``delivery`` with, and a note for its line."""
        if delivery.header(TEST_HEADER) == "true" or delivery.event == TEST_EVENT:
            return Forwarded(200, "OK", "text/plain", b"OK", ": the registration ping")
        if self.forward:
            headers = dict(delivery.headers)
            try:
                got = post(
                    self.forward,
                    delivery.body,
                    headers,
                    timeout=self.forward_timeout,
                    ca_file=self.forward_ca_file,
                )
            except PostError as error:
                delivery.answered_by = "error"
                return Forwarded(502, "Bad Gateway", "text/plain", b"the app did not answer", f": {error}")
            delivery.answered_by = "forward"
            return Forwarded(
                got.status,
                got.reason,
                got.header("Content-Type") or "text/plain",
                got.body,
                f": {got.summary(80)}",
            )
        if self.respond is not None:
            delivery.answered_by = "respond"
            return Forwarded(
                self.respond, "", "text/plain", f"sowebhook listen answers {self.respond}".encode(), ""
            )
        return Forwarded(200, "OK", "text/plain", b"OK", "")

    def handle(self, path: str, headers: list[tuple[str, str]], body: bytes) -> Forwarded:
        delivery = self.judge(path, headers, body)
        reply = self.answer(delivery)
        delivery.status = reply.status
        note = reply.note
        if self.save_dir is not None:
            try:
                note += f"; saved {save(self.save_dir, delivery).name}"
            except OSError as error:
                note += f"; NOT saved: {error}"
        self.echo(delivery_line(delivery, note))
        self._record(delivery)
        return reply


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[_Handler], listener: Listener) -> None:
        self.listener = listener
        self.slots = threading.BoundedSemaphore(listener.max_connections)
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self.listener.echo(
                f"connection from {client_address[0]} closed: {self.listener.max_connections} connections are open already"
            )
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that broke (TLS garbage, a reset): one line, never a traceback."""
        import sys

        error = sys.exc_info()[1]
        self.listener.echo(
            f"connection from {client_address[0]} dropped: {type(error).__name__}: {error}"[:300]
        )


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        listener = self.server.listener
        self.expired = threading.Event()
        self.deadline = threading.Timer(
            listener.read_timeout, self._expire
        )  # for the request line and headers
        self.deadline.daemon = True
        self.deadline.start()
        if listener._context is not None:
            self.request.settimeout(listener.read_timeout)
            try:
                self.request = listener._context.wrap_socket(self.request, server_side=True)
            except BaseException:  # the handshake failed: the server reports it; this deadline is moot
                self.deadline.cancel()
                raise
        super().setup()

    def _expire(self) -> None:
        """The head did not arrive in time: shut the socket (the reading thread sees its end), say so."""
        self.expired.set()
        listener = self.server.listener
        listener.echo(
            f"connection from {self.client_address[0]} dropped: its request line and headers did not arrive within {listener.read_timeout:g}s"
        )
        try:
            socket.socket.shutdown(self.request, socket.SHUT_RDWR)  # the plain socket's, TLS or not
        except OSError:
            pass

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:
            if not self.expired.is_set():  # a socket shut by the deadline has been reported already
                raise
        finally:
            self.deadline.cancel()

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        self.deadline.cancel()  # the head is in: the body has its own bound (_read)
        if self.expired.is_set():
            self.close_connection = True
            return False
        return parsed

    def finish(self) -> None:
        self.deadline.cancel()
        try:
            super().finish()
        finally:
            if isinstance(self.request, ssl.SSLSocket):  # the wrapped socket is this handler's to close
                self.request.close()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        """Quiet: the listener reports one line per delivery itself."""

    def _reply(
        self, status: int, body: bytes, content_type: str = "text/plain", reason: str = "", **headers: str
    ) -> None:
        self.close_connection = True
        self.send_response(status, reason.replace("\r", " ").replace("\n", " ") or None)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _refuse(self, status: int, why: str, **headers: str) -> None:
        self.server.listener.echo(
            f"{self.server.listener.clock().astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ} refused {self.command} {self.path[:200]}: {why} -> {status}"
        )
        self._reply(status, why.encode(), **headers)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        listener = self.server.listener
        if (
            "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
            or self.headers.get("Content-Length") is None
        ):
            self._refuse(411, "a delivery needs a Content-Length")
            return
        try:
            length = int(self.headers["Content-Length"])
            if length < 0:
                raise ValueError(length)
        except ValueError:
            self._refuse(400, "the Content-Length is not a number")
            return
        if length > listener.max_body:
            self._refuse(413, f"the body is {length} bytes, over the limit of {listener.max_body}")
            # read and drop a bounded part of the rest (nginx's lingering close): a sender that writes its
            # whole body before it reads gets the 413, not a connection reset that discards it
            self._read(min(length, DRAIN_BYTES), keep=False)
            return
        body = self._read(length)
        if body is None:
            self._refuse(408, f"the body did not arrive within {listener.read_timeout:g}s")
            return
        reply = listener.handle(self.path, list(self.headers.items()), body)
        self._reply(reply.status, reply.body, reply.content_type, reply.reason)

    def _read(self, length: int, *, keep: bool = True) -> bytes | None:
        """``length`` bytes of the body within the read timeout (None if they do not come), or with
        ``keep`` false, as many as come, dropped."""
        deadline = time.monotonic() + self.server.listener.read_timeout
        parts, left = [], length
        try:
            while left:
                if time.monotonic() > deadline:
                    return None
                chunk = (
                    self.rfile.read1(min(left, 65536))
                    if hasattr(self.rfile, "read1")
                    else self.rfile.read(min(left, 65536))
                )
                if not chunk:
                    return None
                if keep:
                    parts.append(chunk)
                left -= len(chunk)
        except TimeoutError:
            return None
        return b"".join(parts)

    def _not_allowed(self) -> None:
        self._refuse(405, "webhook deliveries are POSTs", Allow="POST")

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_allowed  # noqa: N815
