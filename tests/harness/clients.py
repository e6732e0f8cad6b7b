"""Clients of the agent: the paths and credentials every client uses, ``HttpClient`` (one keep-alive
connection, or a new one per request) and ``in_threads`` (clients started together)."""

from __future__ import annotations

import http.client
import json
import select
import threading
import time
from collections.abc import Callable
from typing import Any

AGENT = "/api/v1/Agents/Webhook/"
AUTH = {"Authorization": "Basic dGplMDpUamUw"}
JSON = {**AUTH, "Content-Type": "application/json"}

Call = Callable[..., "tuple[int, Any]"]  # call(operation, body=None, query="") -> (status, value)


class HttpClient:
    """A client of the agent over ``http.client``: one keep-alive connection, or (``fresh``) a new
    connection per request, so that the kernel spreads the requests over the workers. A kept
    connection the server closed while it was idle is replaced before the next request (as
    urllib3 does), never after sending it."""

    def __init__(
        self, port: int, *, fresh: bool = False, timeout: float = 30, timings: list[float] | None = None
    ) -> None:
        self.port = port
        self.fresh = fresh
        self.timeout = timeout
        self.timings = timings  # when given, the seconds each request took are appended to it
        self._connection: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if (
            self._connection is not None
            and self._connection.sock is not None
            and select.select([self._connection.sock], [], [], 0)[0]  # closed by the server while idle
        ):
            self.close()
        if self._connection is None:
            self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        connection = self._connection
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
        except BaseException:
            self.close()
            raise
        if self.timings is not None:
            self.timings.append(time.perf_counter() - started)
        if self.fresh or response.will_close:
            self.close()
        return response.status, data

    def call(self, operation: str, body: Any = None, query: str = "") -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        status, raw = self.request(
            "POST", AGENT + operation + query, data, JSON if data is not None else AUTH
        )
        return status, (json.loads(raw) if raw else None)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """``work(n)`` in ``count`` threads started together; their results, or the first exception."""
    results: list[Any] = [None] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(n: int) -> None:
        try:
            start.wait()
            results[n] = work(n)
        except BaseException as error:  # noqa: BLE001 - reported in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,), name=f"client-{n}") for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
