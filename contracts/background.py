"""``Background``: a server run in a daemon thread of its own, as a context manager, that records what
it receives and lets a caller wait for it (no polling, no sleeping). The test receiver
(``contracts.receiver``) and ``sowebhook listen`` (``contracts.listen``) are both one. With ``keep``
only the newest ``keep`` are held (a server left running for days does not grow without end);
``wait_for`` counts those no longer held too.
"""

from __future__ import annotations

import threading
from typing import Any, Generic, TypeVar

__all__ = ["Background"]

T = TypeVar("T")
B = TypeVar("B", bound="Background[Any]")


class Background(Generic[T]):
    def __init__(self, keep: int | None = None) -> None:
        self.deliveries: list[T] = []
        self.dropped = 0  # recorded, then let go for ``keep``
        self.keep = keep
        self._lock = threading.Condition()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def _run(self, server: Any, name: str) -> None:
        """Serve ``server`` (``serve_forever``/``shutdown``/``server_close``) in a daemon thread."""
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )
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
            if self.keep is not None and len(self.deliveries) > self.keep:
                self.dropped += len(self.deliveries) - self.keep
                del self.deliveries[: len(self.deliveries) - self.keep]
            self._lock.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[T]:
        """Block until at least ``count`` deliveries arrived (no polling, no sleeping); the ones kept."""
        with self._lock:
            if not self._lock.wait_for(lambda: self.dropped + len(self.deliveries) >= count, timeout=timeout):
                raise AssertionError(
                    f"expected {count} deliveries within {timeout}s, got {self.dropped + len(self.deliveries)}"
                )
            return list(self.deliveries)
