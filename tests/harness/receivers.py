"""Hostile webhook receivers on 127.0.0.1: ``RawReceiver``, a TLS server (a certificate from the
caller's throw-away ``trustme.CA``) that hands every connection to a behaviour, so that a receiver
can misbehave at any byte; and the behaviours (``answer``, hangs, resets, ``drip``, ``endless``).
Shared by ``tests/test_outbound.py`` and ``stress/outbound.py``.

Nothing sleeps: a receiver that hangs waits on an Event that ``stop`` sets; a dripping receiver
paces itself with ``Event.wait(interval)``, which is its behaviour."""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from collections.abc import Callable
from typing import Any

import trustme

NAMES = ("127.0.0.1", "localhost", "hooks.test", "rebind.test", "mapped.test")  # the certificate's names
HANG_BOUND = 10.0  # seconds: only catches a hang; attempts in the tests are configured at 0.3 to 0.5 s


class RawReceiver:
    """A TLS server on 127.0.0.1 that hands every connection to ``behaviour(receiver, socket)``."""

    def __init__(self, behaviour: Callable[[RawReceiver, socket.socket], None], ca: trustme.CA) -> None:
        self.behaviour = behaviour
        self.release = threading.Event()  # set at teardown: every hanging behaviour returns
        self.got_request = threading.Event()
        self.connections = 0
        self.requests: list[tuple[bytes, bytes]] = []
        self.sent = 0
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(*NAMES).configure_cert(self.context)

    def start(self) -> RawReceiver:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self._spawn(self._accept)
        return self

    def url(self, host: str = "127.0.0.1", path: str = "/hook") -> str:
        return f"https://{host}:{self.port}{path}"

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name="test-raw-receiver", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._sockets.append(conn)
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.behaviour(self, conn)
        except (OSError, ssl.SSLError):
            pass  # the mock hung up: that is what these tests want
        finally:
            conn.close()

    def tls(self, conn: socket.socket) -> ssl.SSLSocket:
        wrapped = self.context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        with self._lock:
            self._sockets.append(wrapped)  # closed at stop(), also when the handshake fails
        wrapped.do_handshake()
        return wrapped

    def read_request(self, conn: socket.socket) -> tuple[bytes, bytes]:
        """The request's head and body (by its Content-Length; the mock sends no other kind)."""
        lines: list[bytes] = []
        with conn.makefile("rb") as reader:
            for line in iter(reader.readline, b""):  # b"": the mock hung up
                if line == b"\r\n" or len(lines) > 200:
                    break
                lines.append(line)
            sizes = [
                int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length:")
            ]
            body = reader.read(sizes[0]) if sizes else b""
        head = b"".join(lines)
        self.requests.append((head, body))
        self.got_request.set()
        return head, body

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.sent += len(data)

    def stop(self) -> None:
        self.release.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.close()
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=HANG_BOUND)


# -- behaviours --------------------------------------------------------------------------------


def answer(
    status: int, reason: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> Callable[[RawReceiver, socket.socket], None]:
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    data = (
        "\r\n".join(lines) + "\r\n\r\n"
    ).encode() + body  # built once: tracemalloc then sees the mock's memory

    def behaviour(r: RawReceiver, conn: socket.socket) -> None:
        s = r.tls(conn)
        r.read_request(s)
        r.send(s, data)

    return behaviour


def hang_before_handshake(r: RawReceiver, conn: socket.socket) -> None:
    r.got_request.set()
    r.release.wait()


def hang_after_request(r: RawReceiver, conn: socket.socket) -> None:
    s = r.tls(conn)
    r.read_request(s)
    r.release.wait()
    s.close()  # then hang up


def reset_at_once(r: RawReceiver, conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST


def reset_after_request(r: RawReceiver, conn: socket.socket) -> None:
    s = r.tls(conn)
    r.read_request(s)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def drip(
    prefix: bytes, unit: bytes, interval: float = 0.04, most: int = 250
) -> Callable[[RawReceiver, socket.socket], None]:
    """Send ``prefix``, then ``unit`` every ``interval`` (far below the per-read timeout); after
    ``most`` units it stops, so that a regression fails the time bound instead of hanging."""

    def behaviour(r: RawReceiver, conn: socket.socket) -> None:
        s = r.tls(conn)
        r.read_request(s)
        r.send(s, prefix)
        for _ in range(most):
            if r.release.wait(interval):
                return
            r.send(s, unit)

    return behaviour


def endless(prefix: bytes, block: bytes) -> Callable[[RawReceiver, socket.socket], None]:
    def behaviour(r: RawReceiver, conn: socket.socket) -> None:
        s = r.tls(conn)
        r.read_request(s)
        r.send(s, prefix)
        while not r.release.is_set():
            r.send(s, block)

    return behaviour


BLOCK = b"x" * 65536
HUGE_LENGTH = endless(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n", BLOCK)
ENDLESS_CHUNKED = endless(
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"10000\r\n" + BLOCK + b"\r\n"
)
