"""Faults a test injects on purpose: latency (fixed or random) and a forced status for the next N calls."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Fault", "Faults", "ForcedAnswer"]


@dataclass
class ForcedAnswer:
    status: int
    body: dict[str, Any]


@dataclass
class Fault:
    """``latency_ms`` (a number, or ``[min, max]`` for a uniform random latency), and/or ``status``
    forced for the next ``count`` calls; ``operations`` limits it to some operationIds."""

    latency_ms: float | tuple[float, float] | None = None
    status: int | None = None
    count: int | None = None
    operations: frozenset[str] | None = None
    seed: int | None = None
    _random: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        unknown = set(data) - {"latency_ms", "status", "count", "operations", "seed"}
        if unknown:
            raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
        latency = data.get("latency_ms")
        if isinstance(latency, list):
            if (
                len(latency) != 2
                or not all(isinstance(x, (int, float)) and x >= 0 for x in latency)
                or latency[0] > latency[1]
            ):
                raise ValueError("latency_ms as a list is [min, max] with 0 <= min <= max")
            latency = (float(latency[0]), float(latency[1]))
        elif latency is not None and (
            not isinstance(latency, (int, float)) or isinstance(latency, bool) or latency < 0
        ):
            raise ValueError("latency_ms is a non-negative number or [min, max]")
        status = data.get("status")
        if status is not None and (
            not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599
        ):
            raise ValueError("status is an HTTP status code from 200 to 599")
        count = data.get("count")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise ValueError("count is a positive whole number")
        if latency is None and status is None:
            raise ValueError("a fault needs latency_ms or status")
        operations = data.get("operations")
        if operations is not None and (
            not isinstance(operations, list) or not all(isinstance(o, str) for o in operations)
        ):
            raise ValueError("operations is a list of operationIds")
        seed = data.get("seed")
        return cls(
            latency, status, count, frozenset(operations) if operations else None, seed, random.Random(seed)
        )

    def to_json(self) -> dict[str, Any]:
        latency = list(self.latency_ms) if isinstance(self.latency_ms, tuple) else self.latency_ms
        return {
            "latency_ms": latency,
            "status": self.status,
            "count": self.count,
            "operations": sorted(self.operations) if self.operations else None,
            "seed": self.seed,
        }


class Faults:
    def __init__(self, sleep: Callable[[float], None]) -> None:
        self._sleep = sleep
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def before(self, operation_id: str) -> ForcedAnswer | None:
        """Apply the faults that match this call: wait, and/or answer with a forced status."""
        delay = 0.0
        forced = None
        with self._lock:
            for fault in list(self._faults):
                if fault.operations and operation_id not in fault.operations:
                    continue
                if isinstance(fault.latency_ms, tuple):
                    delay += fault._random.uniform(*fault.latency_ms) / 1000
                elif fault.latency_ms:
                    delay += fault.latency_ms / 1000
                if fault.status is not None and forced is None:
                    forced = ForcedAnswer(
                        fault.status,
                        {
                            "Message": f"Injected fault: status {fault.status}.",
                            "MessageDetail": "Set with POST /__mock__/faults.",
                        },
                    )
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
        if delay:
            self._sleep(delay)
        return forced
