"""Probes of an in-process mock's outbound client: ``probe`` (one synchronous TestWebhook attempt),
timed and with tracemalloc's peak; ``mock_threads`` (the mock's own threads); and ``Resolver``,
the name resolution a test injects (``Deliveries.resolve``), which records the lookups."""

from __future__ import annotations

import json
import threading
import time
import tracemalloc
from typing import Any

from flask.testing import FlaskClient

from harness.clients import AGENT, JSON
from mockserver.outbound import resolve


class Resolver:
    """Names resolve as the test says; IP literals as the system resolves them. Records lookups."""

    def __init__(self, names: dict[str, Any]) -> None:
        self.names = names
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host in self.names:
            found = self.names[host]
            return list(found() if callable(found) else found)
        return resolve(host, port)


def probe(client: FlaskClient, url: str, **fields: Any) -> dict[str, Any]:
    """TestWebhook: one synchronous attempt; its Success and Message."""
    response = client.post(
        AGENT + "TestWebhook",
        data=json.dumps({"Webhook": {"Type": "webhook", "TargetUrl": url, **fields}}),
        headers=JSON,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    result: dict[str, Any] = response.json
    return result


def timed_probe(client: FlaskClient, url: str) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    result = probe(client, url)
    return result, time.monotonic() - started


def measured_probe(client: FlaskClient, url: str) -> tuple[dict[str, Any], float, int]:
    """A probe, how long it took and the peak of memory traced meanwhile (bytes)."""
    tracemalloc.start()
    try:
        result, elapsed = timed_probe(client, url)
        return result, elapsed, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def mock_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("sowebhook-"))
