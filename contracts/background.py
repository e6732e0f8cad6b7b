"""``Background``: a server run in a daemon thread of its own, as a context manager, that records what
it receives and lets a caller wait for it (no polling, no sleeping). The test receiver
(``contracts.receiver``) and ``sowebhook listen`` (``contracts.listen``) are both one.
"""

from __future__ import annotations

import threading
from typing import Any, Generic, TypeVar

__all__ = ["Background"]

T = TypeVar("T")
B = TypeVar("B", bound="Background[Any]")


class Background(Generic[T]):
    def __init__(self) -> None:
        self.deliveries: list[T] = []
        self._lock = threading.Condition()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def _run(self, server: Any, name: str) -> None:
        """Serve ``server`` (``serve_forever``/``shutdown``/``server_close``) in a daemon thread."""
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def start(self: B) -> B:
        raise NotImplementedError

    def __enter__(self: B) -> B:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _record(self, item: T) -> None:
        with self._lock:
            self.deliveries.append(item)
            self._lock.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[T]:
        """Block until at least ``count`` deliveries arrived (no polling, no sleeping)."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.deliveries) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} deliveries within {timeout}s, got {len(self.deliveries)}")
            return list(self.deliveries)
