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

Every attempt is recorded (``DeliveryRecord``) under an id unique within the app, never reused;
``redeliver(record)`` sends a recorded attempt again: the same EventId and body bytes, signed
with the webhook's current Secret, to its current TargetUrl (docs/fidelity.md F-220 to F-226).

On a SQL store the events go through the store's durable outbox instead (``mockserver.outbox``),
which every process on the store serves, and the records are the store's, shared by all of them:
the schedule is then the outbox's (due times), not ``sleep`` (docs/fidelity.md F-253 to F-255).
"""

from __future__ import annotations

import functools
import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from typing import Any

from contracts.events import TEST_EVENT, TEST_HEADER, delivery_headers
from contracts.spec import load
from contracts.wire import format_datetime
from mockserver.config import DeliveryConfig, MockConfig
from mockserver.delivery_log import OUTCOMES, DeliveryLog, DeliveryRecord
from mockserver.outbound import Outbound, Outcome, TargetRefused, resolve
from mockserver.outbox import Outbox
from mockserver.rows import OutboxJob, SharedStore, load_json
from mockserver.store import Store, is_shared

__all__ = ["OUTCOMES", "Deliveries", "DeliveryRecord", "Outcome", "TargetRefused", "resolve", "state_event"]

log = logging.getLogger("sowebhook.delivery")

_STATE_EVENTS = {"Active": "started", "Stopped": "stopped", "TooManyErrors": "errors"}


def _posted(webhook: dict[str, Any]) -> bool:
    """Whether the webhook's events are POSTed to its TargetUrl: Type ``webhook`` (F-007)."""
    return (webhook.get("Type") or "").casefold() == "webhook"


@functools.lru_cache(maxsize=1)
def _state_numbers() -> dict[str, int]:
    """The webhook table's WebhookState numbers (webhookstate.md; the contract's ``x-enum-numbers``);
    state-events.md numbers them otherwise (F-096)."""
    return dict(load().document["components"]["schemas"]["WebhookState"]["x-enum-numbers"])


# Set by the mock on every delivery: a webhook's own Headers cannot replace them, whatever their case
# (F-092), nor the framing of the request (F-134).
_RESERVED_HEADERS = frozenset(
    name.lower()
    for name in (
        *delivery_headers(TEST_EVENT, "", b"", "", test=True),
        "Host",
        "Content-Length",
        "Transfer-Encoding",
        "Connection",
    )
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
        # a SQL store: its outbox and its records, shared by every process on it
        self._shared: SharedStore | None = store if is_shared(store) else None  # type: ignore[assignment]
        self._outbox = Outbox(self._shared, self.settings, self._attempt_job) if self._shared else None
        self.log = DeliveryLog(config.clock, self._shared, self.settings.log_entries)
        self._record = self.log.append
        self.history = self.log.history
        self.record = self.log.record

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
            "ContextIdentifier": self.config.context_identifier
            if self.config.profile == "online"
            else "Default",
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
        self,
        webhook: dict[str, Any],
        payload: dict[str, Any],
        attempt: int,
        *,
        event: str,
        test: bool = False,
    ) -> tuple[bytes, dict[str, str]]:
        """The exact body bytes and the headers of one attempt; the signature is over those bytes."""
        body = _encoded(payload)
        return body, self._headers(webhook, body, payload["EventId"], attempt, event=event, test=test)

    def _headers(
        self, webhook: dict[str, Any], body: bytes, event_id: str, attempt: int, *, event: str, test: bool
    ) -> dict[str, str]:
        """The headers of one attempt: the webhook's own, the reserved ones, the signature of ``body``."""
        headers = {
            name: str(value)
            for name, value in (webhook.get("Headers") or {}).items()
            if name.lower() not in _RESERVED_HEADERS
        }
        secret = webhook.get("Secret") or None
        user_agent = self.settings.user_agent
        headers.update(
            delivery_headers(event, event_id, body, secret, retry=attempt, user_agent=user_agent, test=test)
        )
        return headers

    # -- the ping (synchronous) ---------------------------------------------------------------

    def ping(self, webhook: dict[str, Any], changed_by: int = 0, owner: str | None = None) -> Outcome:
        """POST the ``test`` event to the webhook's TargetUrl (registration and TestWebhook);
        ``owner``, the calling application (Online), owns the record of it."""
        payload = self.payload(webhook, "test", entity="test", changed_by=changed_by)
        body, headers = self.request_for(webhook, payload, 0, event="test", test=True)
        _, outcome = self._send(
            webhook, webhook.get("WebhookId"), "test", payload["EventId"], 0, body, headers, owner
        )
        assert outcome is not None  # posted
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
                body_event = (
                    "webhook." + event.split(".", 1)[1]
                )  # the body names the kind, the header the hook
            payload = self.payload(
                webhook,
                body_event,
                primary_key=primary_key,
                entity=entity,
                changes=changes,
                field_values=field_values,
                changed_by=changed_by,
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
        if self._outbox is not None:
            self._outbox.put(webhook_id, header_event, _encoded(payload))
            return
        self._start_workers()
        with self._idle:
            self._pending += 1
        self._queue.put((webhook_id, payload, header_event))

    def start(self) -> None:
        """Serve a SQL store's outbox from now on (every process's rows), not only once this process
        queues an event: a serving process calls it at start."""
        if self._outbox is not None:
            self._outbox.start()

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
        body = _encoded(payload)
        for attempt in range(self.settings.attempts):
            if attempt:
                self.sleep(self.settings.retry_waits[attempt - 1])
            if self._attempt(webhook_id, body, payload["EventId"], header_event, attempt):
                return
        # three failed attempts: the event is discarded; the next event gets a new EventId

    def _attempt_job(self, job: OutboxJob) -> bool:
        """One attempt of an outbox row (``mockserver.outbox``)."""
        body = job.payload.encode("utf-8")
        return self._attempt(job.webhook_id, body, load_json(job.payload)["EventId"], job.event, job.attempt)

    def _attempt(self, webhook_id: int, body: bytes, event_id: str, header_event: str, attempt: int) -> bool:
        """Attempt ``attempt`` of an event: whether no retry follows."""
        row = self.store.get(webhook_id)
        if row is None or row.webhook.get("State") != "Active":
            return True  # deleted or switched off meanwhile
        webhook = row.webhook
        headers = self._headers(webhook, body, event_id, attempt, event=header_event, test=False)
        sent = (webhook, webhook_id, header_event, event_id, attempt, body, headers, row.owner)
        _, outcome = self._send(*sent, post=_posted(webhook))
        return True if outcome is None else self._counted(webhook_id, outcome)

    def _counted(self, webhook_id: int, outcome: Outcome) -> bool:
        """Count a POSTed attempt as a call (not the ping, TestWebhook or unposted types: F-146) and
        set TooManyErrors on a 410 or the last consecutive error; whether no retry follows."""
        counted = self.store.record_call(webhook_id, None if outcome.ok else outcome.message)
        if outcome.ok:
            return True
        if outcome.status == 410 or (
            counted and counted.consecutive_errors >= self.settings.too_many_errors_after
        ):
            changed = self.store.set_state(webhook_id, "TooManyErrors")
            if changed:
                self.state_changed(webhook_id, changed[0], "TooManyErrors")
            return True
        return False

    # -- redelivery (synchronous; F-220 to F-226) ---------------------------------------------

    def redeliver(self, original: DeliveryRecord) -> DeliveryRecord | None:
        """Send a recorded attempt again, as one more attempt of its event: the same EventId and
        body bytes, X-SuperOffice-Retry one above the highest sent for that EventId, signed with
        the webhook's current Secret, to its current TargetUrl and Headers, whatever its State.
        The new record, or None when the webhook no longer exists."""
        row = self.store.get(original.webhook_id) if original.webhook_id else None
        if row is None:
            return None
        webhook = row.webhook
        body = original.raw or original.body.encode("utf-8")
        test = original.headers.get(TEST_HEADER) == "true"
        sent = [r.attempt for r in self.history() if r.event_id == original.event_id]
        attempt = max(sent, default=original.attempt) + 1
        headers = self._headers(webhook, body, original.event_id, attempt, event=original.event, test=test)
        again = (
            webhook,
            row.webhook_id,
            original.event,
            original.event_id,
            attempt,
            body,
            headers,
            original.owner,
        )
        record, outcome = self._send(*again, post=_posted(webhook))
        if outcome is not None and not test:
            self._counted(row.webhook_id, outcome)
        return record

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every queued delivery (retries included) is done; False on timeout. On a SQL
        store: until its outbox is empty, every process's deliveries done."""
        if self._outbox is not None:
            return self._outbox.drain(timeout)
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def close(self) -> None:
        if self._outbox is not None:
            self._outbox.close()
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout=self.settings.timeout_seconds + 1)
        self._workers.clear()

    def _send(
        self,
        webhook: dict[str, Any],
        webhook_id: int | None,
        event: str,
        event_id: str,
        attempt: int,
        body: bytes,
        headers: dict[str, str],
        owner: str | None,
        *,
        post: bool = True,
    ) -> tuple[DeliveryRecord, Outcome | None]:
        """POST one attempt to the webhook's TargetUrl (mockserver.outbound) and record it; with
        ``post`` false (a crmscript webhook runs in the server) only record it."""
        outcome = self.outbound.post(webhook.get("TargetUrl"), body, headers) if post else None
        unposted = f"{webhook.get('Type')} webhooks are recorded, not posted"
        record = DeliveryRecord(
            webhook_id,
            event,
            event_id,
            attempt,
            webhook.get("TargetUrl"),
            outcome.status if outcome else None,
            outcome.message if outcome else unposted,
            headers,
            body.decode("utf-8", "replace"),
            posted=post,
            owner=owner,
            delivered=bool(outcome and outcome.ok),
            raw=body,
        )
        return self._record(record), outcome

    # -- the HTTP client (mockserver.outbound) ------------------------------------------------

    @property
    def resolve(self) -> Callable[[str, int], list[str]]:
        """host, port -> addresses; replaceable, so that tests can make a name resolve anywhere."""
        return self.outbound.resolve

    @resolve.setter
    def resolve(self, resolver: Callable[[str, int], list[str]]) -> None:
        self.outbound.resolve = resolver


def _encoded(payload: dict[str, Any]) -> bytes:
    """The exact body bytes of an event (the same for each of its attempts)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
