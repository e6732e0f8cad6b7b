"""The documented webhook events, what their payloads carry, and a delivery built as SuperOffice sends it.

Event names come from the contract (``Webhook.Events``' ``x-documented-events``, read from
en/automation/webhook/dev/event-details.md) plus ``test`` (reference/test-event.md). What the
``FieldValues`` of an entity's events hold is written only on the event reference pages
(en/automation/webhook/reference/*-events.md), which the package does not carry: ``FIELD_VALUES``
below is that list, once, and tests/test_events.py holds it to the pages. A payload follows
dev/notification.md and the pages' samples; the choices they leave open are docs/fidelity.md F-210
to F-212.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from contracts.signatures import SIGNATURE_HEADER, sign
from contracts.spec import load
from contracts.wire import format_datetime

__all__ = [
    "EVENT_HEADER",
    "EVENT_ID_HEADER",
    "FIELD_VALUES",
    "RETRY_HEADER",
    "TEST_EVENT",
    "TEST_HEADER",
    "USER_AGENT",
    "EventInfo",
    "build_payload",
    "delivery_headers",
    "describe",
    "documented_events",
    "encode",
    "event_info",
    "wire_event",
]

# the headers of a delivery (the contract's ``webhooks: webhookDelivery`` parameters; a test holds them to it)
EVENT_HEADER = "X-SuperOffice-Event"
EVENT_ID_HEADER = "X-SuperOffice-EventId"
RETRY_HEADER = "X-SuperOffice-Retry"
TEST_HEADER = "X-Hook-Test"
USER_AGENT = "NetServer-Webhook/10.5.0.0"
TEST_EVENT = "test"

# FieldValues per entity, as listed on its reference page (page, names); names of dates are in _DATES
FIELD_VALUES: dict[str, tuple[str, tuple[str, ...]]] = {
    "activity": (
        "reference/activity-events.md",
        (
            "activeDate",
            "associate_id",
            "contact_id",
            "do_by",
            "document_id",
            "endDate",
            "modified_appointment_fields",
            "mother_id",
            "person_id",
            "private",
            "project_id",
            "sale_id",
            "status",
            "task_idx",
            "type",
            "updated",
            "userdef2_id",
            "userdef_id",
        ),
    ),
    "contact": (
        "reference/contact-events.md",
        (
            "activeInterests",
            "associate_id",
            "business_idx",
            "category_idx",
            "country_id",
            "deleted",
            "DeletedDate",
            "registered",
            "registered_associate_id",
            "source",
            "updated",
            "userdef2_id",
            "userdef_id",
        ),
    ),
    "person": (
        "reference/person-events.md",
        (
            "activeInterests",
            "associate_id",
            "business_idx",
            "category_idx",
            "contact_id",
            "country_id",
            "DeletedDate",
            "group_id",
            "person_id",
            "position_idx",
            "registered",
            "registered_associate_id",
            "retired",
            "source",
            "updated",
            "updated_associate_id",
            "userdef2_id",
            "userdef_id",
        ),
    ),
    "sale": (
        "reference/sale-events.md",
        (
            "activeLinks",
            "appointment_id",
            "associate_id",
            "comptr_id",
            "contact_id",
            "credited_id",
            "currency_id",
            "done",
            "group_idx",
            "person_id",
            "probability_idx",
            "project_id",
            "reason_id",
            "reasonSold_id",
            "reasonStalled_id",
            "registered",
            "registered_associate_id",
            "saleTypeCat_id",
            "saleType_id",
            "saledate",
            "source_id",
            "status",
            "updated",
            "updated_associate_id",
            "userdef2_id",
            "userdef_id",
        ),
    ),
    "webhook": (
        "reference/state-events.md",
        ("events", "registered", "registered_associate_id", "state", "updated", "updated_associate_id"),
    ),
}
_DATES = frozenset({"activeDate", "do_by", "endDate", "DeletedDate", "registered", "updated", "saledate"})
_STATE_EVENT = re.compile(r"^webhook(?P<id>\d+)\.(?P<kind>\w+)$")  # webhook{id}.started (state-events.md)


@dataclass(frozen=True)
class EventInfo:
    """What one event's payload carries: its entity, whether it is a delete event (``Values``
    instead of ``FieldValues``), a state event (no ``Entity``) or the ping, and the documented
    FieldValues names with their page (empty when no reference page lists them)."""

    name: str
    entity: str
    fields: tuple[str, ...]
    page: str | None
    deleted: bool = False
    state: bool = False
    test: bool = False

    @property
    def carries(self) -> str:
        if self.test:
            return "nothing but the envelope (PrimaryKey 0, Entity test)"
        if self.deleted:
            return f"Values: {self.entity}_id and the ids of its owners"
        if self.fields:
            return f"FieldValues ({self.page}): {', '.join(self.fields)}"
        return "FieldValues: none listed on a reference page"


def documented_events() -> list[str]:
    """Every documented event name: the contract's list, then ``test``."""
    events = load().document["components"]["schemas"]["Webhook"]["properties"]["Events"][
        "x-documented-events"
    ]
    return [*events["names"], TEST_EVENT]


def event_info(name: str) -> EventInfo:
    """What the payload of ``name`` carries; any ``entity.kind`` is accepted (SignalEvent sends custom events)."""
    state = _STATE_EVENT.match(name)
    if name == TEST_EVENT:
        return EventInfo(name, TEST_EVENT, (), "reference/test-event.md", test=True)
    if "." not in name or not all(name.split(".", 1)):
        raise ValueError(f"{name!r} is not an event name (entity.kind, such as contact.created)")
    entity = "webhook" if state else name.split(".", 1)[0]
    page, fields = FIELD_VALUES.get(entity, (None, ()))
    return EventInfo(name, entity, fields, page, deleted=name.endswith(".deleted"), state=entity == "webhook")


def build_payload(
    event: str,
    *,
    primary_key: int = 0,
    fields: Mapping[str, Any] | None = None,
    webhook_name: str | None = "sowebhook",
    context_identifier: str = "Default",
    changed_by: int = 0,
    event_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The WebhookPayload of ``event`` as the reference pages show it (F-210): a ``.created`` or
    state event carries every documented FieldValues name (dates ``now``, ``<entity>_id`` the primary key, other
    values 0) under ``fields``, other events only ``fields`` (their samples carry no FieldValues);
    a delete event's ``Values`` hold ``<entity>_id`` and ``fields``; a state event
    (``webhook{id}.started``) names its kind in the body (``webhook.started``) and has no Entity."""
    info = event_info(event)
    moment = format_datetime(now or datetime.now(timezone.utc))
    state = _STATE_EVENT.match(event)
    body_event = f"webhook.{state['kind']}" if state else event
    key = int(state["id"]) if state and not primary_key else primary_key
    payload: dict[str, Any] = {
        "EventId": event_id or str(uuid.uuid4()),
        "Timestamp": moment,
        "Changes": [],
        "Event": body_event,
        "PrimaryKey": key,
        "Entity": info.entity,
        "ContextIdentifier": context_identifier,
        "ChangedByAssociateId": changed_by,
        "WebhookName": webhook_name,
    }
    if info.state:
        del payload["Entity"]
    if info.test:
        return payload
    given = dict(fields or {})
    if info.deleted:
        payload["Values"] = {f"{info.entity}_id": key, **given}
        return payload
    created = event.endswith(".created")
    full = created or info.state  # the samples of created and state events carry every FieldValues name
    values: dict[str, Any] = {name: moment if name in _DATES else 0 for name in info.fields} if full else {}
    if f"{info.entity}_id" in values:
        values[f"{info.entity}_id"] = key
    values.update(given)
    payload["Changes"] = list(values) if created else list(given)
    if values:
        payload["FieldValues"] = values
    return payload


def encode(payload: Mapping[str, Any]) -> bytes:
    """The body bytes SuperOffice would send: compact JSON in UTF-8."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def delivery_headers(
    event: str,
    event_id: str,
    body: bytes,
    secret: str | None,
    *,
    retry: int = 0,
    user_agent: str = USER_AGENT,
    test: bool | None = None,
) -> dict[str, str]:
    """SuperOffice's headers of a delivery (notification.md); signed over ``body`` when there is a
    secret; ``X-Hook-Test`` on the registration ping (``test``: by default, the ``test`` event)."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": user_agent,
        EVENT_HEADER: event,
        EVENT_ID_HEADER: event_id,
        RETRY_HEADER: str(retry),
    }
    if test or (test is None and event == TEST_EVENT):
        headers[TEST_HEADER] = "true"
    if secret is not None:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    return headers


def wire_event(event: str, primary_key: int) -> str:
    """The header's event name: a state event names its webhook there (``webhook66.started``, state-events.md)."""
    entity, _, kind = event.partition(".")
    return f"webhook{primary_key}.{kind}" if entity == "webhook" and kind else event


def describe() -> str:
    """The text of ``sowebhook events``: each documented event and what its payload carries."""
    lines = []
    for name in documented_events():
        info = event_info(name)
        lines.append(f"{name:26} {info.carries}")
    lines.append(
        "webhook{id}.started|stopped|errors: the state events of webhook {id} (reference/state-events.md)"
    )
    return "\n".join(lines)
