"""``BufferedRSGI``: a WSGI app (the mock's) served on granian's RSGI interface, each request's body
read whole on the event loop before a thread runs the app, so that a body that stalls holds no
thread and is answered 408 (docs/fidelity.md F-114). ``mockserver.server`` serves the mock so.
"""

from __future__ import annotations

import asyncio
import io
import logging
import queue
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from flask import Flask

from contracts.wire import XML_TYPES, encode_json, negotiate, parse_media_type
from mockserver.config import Limits
from mockserver.state import EXTENSION, MockState

__all__ = ["BODY_INCOMPLETE", "BODY_TIMEOUT_SECONDS", "BufferedRSGI"]

log = logging.getLogger("sowebhook.mock")
_ERROR_SCHEMA = {"$ref": "#/components/schemas/AgentError"}  # the 408's shape, as the app's errors
# Set in the environ by a server that saw the connection fail before the body was complete; the
# app answers 400 (mockserver.app).
BODY_INCOMPLETE = "sowebhook.body_incomplete"

# How long a request's body may take to arrive, headers excluded (docs/fidelity.md F-114).
BODY_TIMEOUT_SECONDS = 10.0
# A body over the limit is read and thrown away up to this many bytes before the 413 is sent, so
# that a client that writes its whole body before it reads (Python's requests and urllib do) reads
# the 413 rather than a reset connection: nginx's lingering close, bounded (F-112). Beyond it, or
# after the body deadline, the 413 is sent and the connection closed.
DRAIN_BYTES = 64 * 1024 * 1024


class BufferedRSGI:
    """A WSGI app (the mock's, or any) as an RSGI application (granian's native interface): each
    request's body is read on the event loop, at most ``max_body_bytes`` of it (the mock's
    ``limits.max_body_bytes``) and within ``body_timeout`` seconds, and only then does one of
    ``threads`` threads run the WSGI app on it.

    Under granian's WSGI interface the app is called once the headers are in, and a thread that
    reads ``wsgi.input`` waits for as long as the client takes: granian has no timeout for a body
    (its ``header_read_timeout`` covers headers only). A few clients that send headers and then
    part of a body would hold every thread, and the mock would answer nobody. Here such a client
    holds no thread; after ``body_timeout`` it is answered 408 and the connection closed.
    """

    def __init__(
        self,
        app: Any,
        *,
        threads: int,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
        max_body_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.state: MockState | None = app.extensions.get(EXTENSION) if isinstance(app, Flask) else None
        limits = self.state.config.limits if self.state else Limits()
        self.limit = max_body_bytes or limits.max_body_bytes
        self.body_timeout = body_timeout
        self.threads = _Threads(threads, "sowebhook-mock")

    def __rsgi_init__(self, loop: Any) -> None:
        pass

    def __rsgi_del__(self, loop: Any) -> None:
        self.threads.shutdown()

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if scope.proto != "http":
            return
        headers = scope.headers
        declared = headers.get("content-length")
        if declared == "0" or (declared is None and "transfer-encoding" not in headers):
            body, complete = b"", True  # no body: nothing to wait for
        else:
            try:
                body, complete = await self._within_deadline(self._body(proto, declared))
            except asyncio.TimeoutError:
                if not (declared is not None and declared.strip().isdigit() and int(declared) > self.limit):
                    self._timed_out(scope, proto)
                    return
                body, complete = b"", True  # refused by its Content-Length, drained as long as allowed: 413

        environ = self._environ(scope, body, complete)
        status, headers, data = await self.threads.run(self._call, environ)
        proto.response_bytes(status, headers, data)

    if sys.version_info >= (3, 11):

        async def _within_deadline(
            self, reading: Coroutine[Any, Any, tuple[bytes, bool]]
        ) -> tuple[bytes, bool]:
            # asyncio.timeout schedules one cancellation on the loop; wait_for (3.10) runs the read
            # as a task of its own, about 20 µs more a request
            async with asyncio.timeout(self.body_timeout):
                return await reading

    else:  # pragma: no cover - Python 3.10

        async def _within_deadline(
            self, reading: Coroutine[Any, Any, tuple[bytes, bool]]
        ) -> tuple[bytes, bool]:
            return await asyncio.wait_for(reading, self.body_timeout)

    async def _body(self, proto: Any, declared: str | None) -> tuple[bytes, bool]:
        """The body, at most one byte over the limit, and whether the connection held until its
        end. A body within its Content-Length limit is read at once; one over the limit (by its
        Content-Length, or as its chunks arrive) is drained, up to ``DRAIN_BYTES``, and not kept:
        the app answers 413 by the Content-Length, or by the one byte over the limit it is given."""
        if declared is not None and declared.strip().isdigit():
            if int(declared) > self.limit:
                await self._drain(proto, 0)
                return b"", True
            try:
                return await proto(), True  # the app compares it with its Content-Length
            except Exception:  # the connection failed mid-body
                return b"", False
        body, read = bytearray(), 0
        try:
            async for chunk in proto:
                read += len(chunk)
                if len(body) <= self.limit:
                    body += chunk[: self.limit + 1 - len(body)]  # one byte over says "too large"
                elif read > DRAIN_BYTES:
                    break
        except Exception:  # the connection failed mid-body
            return bytes(body), False
        return bytes(body), True

    @staticmethod
    async def _drain(proto: Any, read: int) -> None:
        """Read and drop what is left of a refused body, up to ``DRAIN_BYTES`` in all."""
        try:
            async for chunk in proto:
                read += len(chunk)
                if read > DRAIN_BYTES:
                    return
        except Exception:  # the client went away: nothing to answer
            return

    def _environ(self, scope: Any, body: bytes, complete: bool) -> dict[str, Any]:
        """The WSGI environ of the request (PEP 3333), its body in memory; the app checks the body
        against the limit and the Content-Length as with any server that terminates its input."""
        host, _, port = scope.server.rpartition(":")
        client, _, client_port = scope.client.rpartition(":")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": scope.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": scope.path.encode("utf-8").decode("latin-1"),  # a WSGI string
            "QUERY_STRING": scope.query_string,
            "SERVER_NAME": host,
            "SERVER_PORT": port,
            "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
            "REMOTE_ADDR": client,
            "REMOTE_PORT": client_port,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scope.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if not complete:
            environ[BODY_INCOMPLETE] = True
        for name, value in scope.headers.items():
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            if key in environ:  # a repeated header: one value, as HTTP/1.1 folds them
                value = f"{environ[key]}{'; ' if key == 'HTTP_COOKIE' else ','}{value}"
            environ[key] = value
        return environ

    def _call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            started[:] = [status, headers]

        result = self.app(environ, start_response)
        try:
            data = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = started
        return int(status.split(" ", 1)[0]), list(headers), data

    def _timed_out(self, scope: Any, proto: Any) -> None:
        headers = scope.headers
        accept = negotiate(headers.get("accept"), parse_media_type(headers.get("content-type"))[0])
        detail = f"The body did not arrive within {self.body_timeout:g} seconds."
        error = {"Message": "The request timed out.", "MessageDetail": detail}
        if self.state is None:
            accept, data = "application/json", encode_json(error)
        elif accept in XML_TYPES:  # as the app encodes its errors
            data = self.state.wire.encode_xml(error, _ERROR_SCHEMA)
        else:
            data = encode_json(error)
        log.info("%s %s 408 rejected: %s", scope.method, scope.path, detail)
        proto.response_bytes(
            408, [("Content-Type", f"{accept}; charset=utf-8"), ("connection", "close")], data
        )


Answer = tuple[int, list[tuple[str, str]], bytes]


class _Threads:
    """``threads`` threads that run the app for the event loop. ``loop.run_in_executor`` would do,
    at the cost of a ``concurrent.futures.Future`` (a Condition, a lock), its chaining to an
    asyncio future and two callbacks a request: here a request is one item on a queue and one
    ``call_soon_threadsafe`` back (bench/README.md, the breakdown)."""

    def __init__(self, threads: int, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True) for n in range(threads)
        ]
        self._started = False
        self._lock = threading.Lock()

    def run(
        self, call: Callable[[dict[str, Any]], Answer], environ: dict[str, Any]
    ) -> asyncio.Future[Answer]:
        if not self._started:
            with self._lock:
                if not self._started:
                    for thread in self._threads:
                        thread.start()
                    self._started = True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self._queue.put((loop, future, call, environ))
        return future

    def shutdown(self) -> None:
        if self._started:
            for _ in self._threads:
                self._queue.put(None)

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            loop, future, call, environ = job
            try:
                answer, error = call(environ), None
            except BaseException as raised:  # noqa: BLE001 - handed to the awaiting request
                answer, error = None, raised
            try:
                loop.call_soon_threadsafe(_settle, future, answer, error)
            except RuntimeError:  # the loop closed meanwhile: nobody waits for the answer
                pass


def _settle(future: asyncio.Future[Answer], answer: Answer | None, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(answer)  # type: ignore[arg-type]
