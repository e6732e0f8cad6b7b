"""The bounded POST of send, listen --forward and replay, against receivers that misbehave on a real socket.

Oracles: what each raw receiver here was built to do (hang, redirect, answer megabytes, drip),
and the bytes it read off the socket.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from contracts.poster import PostError, post

Behaviour = Callable[[socket.socket, threading.Event], None]
DEADLINE = 0.3


def read_request(conn: socket.socket) -> bytes:
    """The whole request: its head line by line, then the body its Content-Length announces."""
    reader = conn.makefile("rb")
    head = []
    while (line := reader.readline()) not in (b"", b"\r\n"):
        head.append(line)
    length = sum(int(line.split(b":", 1)[1]) for line in head if line.lower().startswith(b"content-length:"))
    return b"".join(head) + b"\r\n" + reader.read(length)


class Raw:
    """A plain TCP server on 127.0.0.1 that hands each connection to a behaviour, in a thread."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.release = threading.Event()
        self.received = b""
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            try:
                self.received = read_request(conn)
                self.behaviour(conn, self.release)
            except OSError:
                pass

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        self.release.set()
        self.listener.close()
        self.thread.join(timeout=5)


@pytest.fixture
def raw() -> Iterator[Callable[[Behaviour], Raw]]:
    started: list[Raw] = []

    def start(behaviour: Behaviour) -> Raw:
        started.append(Raw(behaviour))
        return started[-1]

    yield start
    for server in started:
        server.close()


def test_an_answer_comes_back_with_status_headers_and_body(raw: Callable[[Behaviour], Raw]) -> None:
    server = raw(
        lambda conn, _: conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-A: 1\r\n\r\nhi")
    )
    answer = post(
        server.url, b'{"a":1}', {"X-SuperOffice-Event": "test", "Host": "evil", "Content-Length": "9"}
    )
    assert (answer.status, answer.body, answer.header("x-a")) == (201, b"hi", "1")
    assert b"X-SuperOffice-Event: test" in server.received and b"Host: evil" not in server.received
    assert server.received.endswith(b'\r\n\r\n{"a":1}') and b"Content-Length: 7\r\n" in server.received


def test_a_receiver_that_hangs_is_given_up_on_at_the_deadline(raw: Callable[[Behaviour], Raw]) -> None:
    server = raw(lambda conn, release: release.wait())
    with pytest.raises(PostError, match=f"within {DEADLINE:g}s"):
        post(server.url, b"{}", {}, timeout=DEADLINE)


def test_a_receiver_that_drips_cannot_stretch_the_deadline(raw: Callable[[Behaviour], Raw]) -> None:
    def drip(conn: socket.socket, release: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        while not release.wait(DEADLINE / 10):  # each byte well inside a per-read timeout
            conn.sendall(b"x")

    server = raw(drip)
    with pytest.raises(PostError, match="within"):
        post(server.url, b"{}", {}, timeout=DEADLINE)


def test_megabytes_are_not_read(raw: Callable[[Behaviour], Raw]) -> None:
    def flood(conn: socket.socket, release: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 8388608\r\n\r\n")
        chunk = b"x" * 65536
        for _ in range(128):
            conn.sendall(chunk)

    answer = post(raw(flood).url, b"{}", {}, max_bytes=1000)
    assert answer.truncated and len(answer.body) == 1000 and answer.status == 200


def test_a_redirect_is_not_followed(raw: Callable[[Behaviour], Raw]) -> None:
    server = raw(
        lambda conn, _: conn.sendall(
            b"HTTP/1.1 302 Found\r\nLocation: http://elsewhere.invalid/\r\nContent-Length: 0\r\n\r\n"
        )
    )
    answer = post(server.url, b"{}", {})
    assert answer.status == 302 and "not followed" in answer.summary()


def test_garbage_and_refusals_are_one_line_errors(raw: Callable[[Behaviour], Raw]) -> None:
    server = raw(lambda conn, _: conn.sendall(b"\x00\x01 not http\r\n\r\n"))
    with pytest.raises(PostError) as garbage:
        post(server.url, b"{}", {})
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(PostError) as refused:
        post(f"http://127.0.0.1:{port}/", b"{}", {})
    with pytest.raises(PostError, match="not an http"):
        post("ftp://127.0.0.1/", b"{}", {})
    assert "\n" not in str(garbage.value) + str(refused.value)


def test_a_password_in_the_url_is_never_shown() -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(PostError) as refused:
        post(f"http://ann:s3cret@127.0.0.1:{port}/hook", b"{}", {})
    assert "s3cret" not in str(refused.value) and "ann:***@127.0.0.1" in str(refused.value)
