"""Webhook deliveries: the registration ping, TestWebhook, events, retries and TooManyErrors.

Sources: en/automation/webhook/dev/notification.md (payload, headers, three attempts with waits
of 1 s and 4 s, 9 consecutive failed attempts before TooManyErrors), security.md (signature),
register.md and dev/index.md (HTTPS, a valid certificate, 200 OK to the test POST),
reference/state-events.md (``webhook{id}.started/.stopped/.errors``; 410 Gone disables at once).

Events are delivered by worker threads, never in the API call that caused them; the ping and
TestWebhook are synchronous by nature. Waits go through the configured ``sleep`` and timestamps
through the configured clock, so tests of the retry schedule take milliseconds. Every attempt is
one POST through ``mockserver.outbound``, which checks the target against the allowed networks and
bounds the attempt in time and size.
"""

from __future__ import annotations

import functools
import json
import logging
import queue
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contracts.signatures import SIGNATURE_HEADER, sign
from contracts.spec import load
from contracts.wire import format_datetime
from mockserver.config import DeliveryConfig, MockConfig
from mockserver.outbound import Outbound, Outcome, TargetRefused, resolve
from mockserver.store import Store

__all__ = ["Deliveries", "Outcome", "TargetRefused", "resolve", "state_event"]

log = logging.getLogger("sowebhook.delivery")

_STATE_EVENTS = {"Active": "started", "Stopped": "stopped", "TooManyErrors": "errors"}


@functools.lru_cache(maxsize=1)
def _state_numbers() -> dict[str, int]:
    """The webhook table's WebhookState numbers (webhookstate.md; the contract's ``x-enum-numbers``);
    state-events.md numbers them otherwise (F-096)."""
    return dict(load().document["components"]["schemas"]["WebhookState"]["x-enum-numbers"])


@dataclass
class DeliveryRecord:
    webhook_id: int | None
    event: str
    event_id: str
    attempt: int
    target: str | None
    status: int | None
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    posted: bool = True
    owner: str | None = field(default=None, repr=False)  # the application the webhook belongs to (Online)

    def to_json(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if name != "owner"}


# Set by the mock on every delivery: a webhook's own Headers cannot replace them, whatever their case
# (F-092), nor the framing of the request (F-134).
_RESERVED_HEADERS = frozenset(
    {
        "content-type", "user-agent", "x-superoffice-event", "x-superoffice-eventid", "x-superoffice-retry",
        "x-hook-test", SIGNATURE_HEADER.lower(), "host", "content-length", "transfer-encoding", "connection",
    }
)


def state_event(webhook_id: int, state: str) -> str | None:
    suffix = _STATE_EVENTS.get(state)
    return f"webhook{webhook_id}.{suffix}" if suffix else None


class Deliveries:
    def __init__(self, config: MockConfig, store: Store, sleep: Callable[[float], None]) -> None:
        self.config = config
        self.settings: DeliveryConfig = config.delivery
        self.store = store
        self.sleep = sleep
        # the HTTP client: target checks and one bounded POST per attempt (mockserver.outbound)
        self.outbound = Outbound(self.settings, resolve)
        self._queue: queue.Queue[tuple[int, dict[str, Any], str] | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._workers: list[threading.Thread] = []
        self._started = threading.Lock()
        self.records: deque[DeliveryRecord] = deque(maxlen=self.settings.log_entries)
        self._records_lock = threading.Lock()

    # -- payloads -----------------------------------------------------------------------------

    def payload(
        self,
        webhook: dict[str, Any],
        event: str,
        *,
        primary_key: int = 0,
        entity: str | None = None,
        changes: list[str] | None = None,
        field_values: dict[str, Any] | None = None,
        changed_by: int = 0,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "EventId": str(uuid.uuid4()),
            "Timestamp": format_datetime(self.config.clock()),
            "Changes": list(changes or []),
            "Event": event,
            "PrimaryKey": primary_key,
            "Entity": entity if entity is not None else event.split(".", 1)[0],
            "ContextIdentifier": self.config.context_identifier if self.config.profile == "online" else "Default",
            "ChangedByAssociateId": changed_by,
            "WebhookName": webhook.get("Name"),
        }
        if field_values is not None:
            # delete events carry the deleted row's ids as Values (reference/index.md)
            body["Values" if event.endswith(".deleted") else "FieldValues"] = field_values
        for name, value in (webhook.get("Properties") or {}).items():
            body.setdefault(name, value)  # injected into the body; the documented fields win (F-091)
        return body

    def request_for(
        self, webhook: dict[str, Any], payload: dict[str, Any], attempt: int, *, event: str, test: bool = False
    ) -> tuple[bytes, dict[str, str]]:
        """The exact body bytes and the headers of one attempt; the signature is over those bytes."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            name: str(value)
            for name, value in (webhook.get("Headers") or {}).items()
            if name.lower() not in _RESERVED_HEADERS
        }
        headers.update(
            {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": self.settings.user_agent,
                "X-SuperOffice-Event": event,
                "X-SuperOffice-EventId": payload["EventId"],
                "X-SuperOffice-Retry": str(attempt),
            }
        )
        if test:
            headers["X-Hook-Test"] = "true"
        if webhook.get("Secret"):
            headers[SIGNATURE_HEADER] = sign(webhook["Secret"], body)
        return body, headers

    # -- the ping (synchronous) ---------------------------------------------------------------

    def ping(self, webhook: dict[str, Any], changed_by: int = 0, owner: str | None = None) -> Outcome:
        """POST the ``test`` event to the webhook's TargetUrl (registration and TestWebhook);
        ``owner``, the calling application (Online), owns the record of it."""
        payload = self.payload(webhook, "test", entity="test", changed_by=changed_by)
        body, headers = self.request_for(webhook, payload, 0, event="test", test=True)
        outcome = self.outbound.post(webhook.get("TargetUrl"), body, headers)
        self._record(DeliveryRecord(webhook.get("WebhookId"), "test", payload["EventId"], 0, webhook.get("TargetUrl"), outcome.status, outcome.message, headers, body.decode("utf-8", "replace"), owner=owner))
        return outcome

    # -- events (in the background) -----------------------------------------------------------

    def signal(
        self,
        event: str,
        *,
        primary_key: int = 0,
        entity: str | None = None,
        changes: list[str] | None = None,
        field_values: dict[str, Any] | None = None,
        changed_by: int = 0,
    ) -> int:
        """Queue ``event`` for every Active webhook listening for it; the number queued."""
        wanted = event.casefold()
        queued = 0
        for row in self.store.all():
            webhook = row.webhook
            if webhook.get("State") != "Active":
                continue
            if wanted not in {e.casefold() for e in webhook.get("Events") or []}:
                continue
            body_event = event
            if event.startswith("webhook") and "." in event and event.split(".", 1)[0][7:].isdigit():
                body_event = "webhook." + event.split(".", 1)[1]  # the body names the kind, the header the hook
            payload = self.payload(
                webhook, body_event, primary_key=primary_key, entity=entity, changes=changes,
                field_values=field_values, changed_by=changed_by,
            )
            self._enqueue(row.webhook_id, payload, event)
            queued += 1
        return queued

    def state_changed(self, webhook_id: int, old: str | None, new: str, changed_by: int = 0) -> None:
        """Fire ``webhook{id}.started/.stopped/.errors`` when a webhook's State changes."""
        if old == new:
            return
        event = state_event(webhook_id, new)
        row = self.store.get(webhook_id)
        if event is None or row is None:
            return
        webhook = row.webhook
        self.signal(
            event,
            primary_key=webhook_id,
            entity="webhook",
            field_values={
                "events": len(webhook.get("Events") or []),
                "registered": webhook.get("Registered"),
                "registered_associate_id": (webhook.get("RegisteredAssociate") or {}).get("AssociateId", 0),
                "state": _state_numbers().get(new, 0),
                "updated": webhook.get("Updated"),
                "updated_associate_id": (webhook.get("UpdatedAssociate") or {}).get("AssociateId", 0),
            },
            changed_by=changed_by,
        )

    def _enqueue(self, webhook_id: int, payload: dict[str, Any], header_event: str) -> None:
        self._start_workers()
        with self._idle:
            self._pending += 1
        self._queue.put((webhook_id, payload, header_event))

    def _start_workers(self) -> None:
        with self._started:
            if self._workers:
                return
            for n in range(self.settings.workers):
                worker = threading.Thread(target=self._work, name=f"sowebhook-delivery-{n}", daemon=True)
                worker.start()
                self._workers.append(worker)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self._deliver(*job)
            except Exception:  # noqa: BLE001 - a delivery bug must not kill the worker
                log.exception("delivery failed unexpectedly")
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _deliver(self, webhook_id: int, payload: dict[str, Any], header_event: str) -> None:
        for attempt in range(self.settings.attempts):
            if attempt:
                self.sleep(self.settings.retry_waits[attempt - 1])
            row = self.store.get(webhook_id)
            if row is None or row.webhook.get("State") != "Active":
                return  # deleted or switched off meanwhile
            webhook = row.webhook
            body, headers = self.request_for(webhook, payload, attempt, event=header_event)
            if (webhook.get("Type") or "").casefold() != "webhook":
                self._record(DeliveryRecord(webhook_id, header_event, payload["EventId"], attempt, webhook.get("TargetUrl"), None, f"{webhook.get('Type')} webhooks are recorded, not posted", headers, body.decode("utf-8", "replace"), posted=False, owner=row.owner))
                return
            outcome = self.outbound.post(webhook.get("TargetUrl"), body, headers)
            self._record(DeliveryRecord(webhook_id, header_event, payload["EventId"], attempt, webhook.get("TargetUrl"), outcome.status, outcome.message, headers, body.decode("utf-8", "replace"), owner=row.owner))
            # every POSTed attempt is one call; not the ping, TestWebhook or unposted types (F-146)
            counted = self.store.record_call(webhook_id, None if outcome.ok else outcome.message)
            if outcome.ok:
                return
            if outcome.status == 410 or (counted and counted.consecutive_errors >= self.settings.too_many_errors_after):
                changed = self.store.set_state(webhook_id, "TooManyErrors")
                if changed:
                    self.state_changed(webhook_id, changed[0], "TooManyErrors")
                return
        # three failed attempts: the event is discarded; the next event gets a new EventId

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every queued delivery (retries included) is done; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def close(self) -> None:
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout=self.settings.timeout_seconds + 1)
        self._workers.clear()

    def _record(self, record: DeliveryRecord) -> None:
        with self._records_lock:
            self.records.append(record)

    def history(self) -> list[DeliveryRecord]:
        with self._records_lock:
            return list(self.records)

    # -- the HTTP client (mockserver.outbound) ------------------------------------------------

    @property
    def resolve(self) -> Callable[[str, int], list[str]]:
        """host, port -> addresses; replaceable, so that tests can make a name resolve anywhere."""
        return self.outbound.resolve

    @resolve.setter
    def resolve(self, resolver: Callable[[str, int], list[str]]) -> None:
        self.outbound.resolve = resolver
