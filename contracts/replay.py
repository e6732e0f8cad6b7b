"""Replay saved deliveries (``sowebhook listen --save``) to a WSGI app in-process or to a URL,
re-signed with the test's secret: regression tests from real traffic (the ``sowebhook_replay``
fixture of the pytest plugin is this function).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from contracts.delivery_fixture import SavedDelivery, load_many
from contracts.events import EVENT_ID_HEADER
from contracts.poster import post

__all__ = ["Replayed", "replay"]


@dataclass(frozen=True)
class Replayed:
    """One saved delivery sent again, and the receiver's answer."""

    fixture: str
    event: str
    event_id: str | None
    body: bytes
    status: int
    answer: bytes

    @property
    def text(self) -> str:
        return self.answer.decode("utf-8", "replace")


def replay(
    source: str | os.PathLike[str] | SavedDelivery | list[SavedDelivery],
    target: Any,
    secret: str | None,
    *,
    path: str | None = None,
    same_event_id: bool = False,
    timeout: float = 10.0,
    ca_file: str | None = None,
) -> list[Replayed]:
    """Send every delivery of ``source`` (a fixture file, a folder of them in the order they were
    received, or loaded deliveries) to ``target`` (a URL, or a WSGI app with ``path``, by default the
    path it was received on), re-signed with ``secret``, a fresh EventId each unless ``same_event_id``."""
    if isinstance(source, SavedDelivery):
        deliveries = [source]
    elif isinstance(source, list):
        deliveries = source
    else:
        deliveries = load_many(source)
    results = []
    client = None
    if not isinstance(target, str):
        from werkzeug.test import Client

        client = Client(target)
    for delivery in deliveries:
        body, headers = delivery.resigned(secret, same_event_id=same_event_id)
        if client is None:
            answer = post(str(target), body, headers, timeout=timeout, ca_file=ca_file)
            status, data = answer.status, answer.body
        else:
            response = client.post(path or delivery.path, data=body, headers=headers)
            status, data = response.status_code, response.get_data()
        event_id = next((v for k, v in headers.items() if k.lower() == EVENT_ID_HEADER.lower()), None)
        results.append(Replayed(delivery.source, delivery.event, event_id, body, status, data))
    return results
