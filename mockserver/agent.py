"""What the eight operations of the Webhook agent do to the mock's state.

Each handler takes the validated call and answers ``(status, value)``; the app encodes the value
in the negotiated media type. Which fields the server sets (``readOnly`` in the contract), what a
new webhook looks like (the contract's default webhook), which fields may be null, which fields
are the webhook_usage statistics (``x-webhook-usage``) and which obsolete field mirrors which
(``x-replaced-by``) are read from the contract, not restated here.
"""

from __future__ import annotations

import copy
import itertools
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.generated import generate
from contracts.spec import Contract
from contracts.wire import UNSET_DATE, format_datetime
from mockserver.auth import Principal
from mockserver.config import MockConfig
from mockserver.delivery import Deliveries
from mockserver.errors import AgentError, bad_request
from mockserver.seam import ValidatedRequest
from mockserver.store import Store, StoredWebhook

__all__ = ["Agent", "Call", "Changed"]


@dataclass(frozen=True)
class Call:
    principal: Principal
    request: ValidatedRequest
    # scheme://host[/prefix] of the request, for the REST answers' _Links: computed when asked
    # (werkzeug's url_root costs about 50 µs, which every other request would pay)
    base_url: Callable[[], str] = lambda: ""
    headers: Mapping[str, str] = field(default_factory=dict)  # the request's (If-Unmodified-Since)


class Changed(Exception):
    """The webhook changed between reading it and saving it (``Agent.save(expected=...)``)."""


class Agent:
    def __init__(self, config: MockConfig, store: Store, contract: Contract, deliveries: Deliveries) -> None:
        self.config = config
        self.store = store
        self.deliveries = deliveries
        self.contract = contract
        self.generated_seed: int | None = None
        self._generated_lock = threading.Lock()
        self._generated_count = itertools.count()
        webhook = contract.document["components"]["schemas"]["Webhook"]
        self.fields = list(webhook["properties"])
        self.server_set = {name for name, s in webhook["properties"].items() if s.get("readOnly")}
        # flags enums (x-flags) may be sent as null, but a .NET enum is a value: null is stored and
        # answered as the default (None), and $select does not null them out (F-144)
        self.flags = {name for name, s in webhook["properties"].items() if "x-flags" in contract.resolve(s)}
        self.nullable = {
            name for name, s in webhook["properties"].items() if _allows_null(contract, s)
        } - self.flags
        self.default = copy.deepcopy(contract.document["components"]["examples"]["DefaultWebhook"]["value"])
        # the webhook_usage columns a webhook answers (F-146, F-147): field -> StoredWebhook attribute
        self.usage = {
            name: s["x-webhook-usage"] for name, s in webhook["properties"].items() if "x-webhook-usage" in s
        }
        # obsolete field -> (the field that replaces it, separator, maxLength of the obsolete one) (F-141)
        self.replaced = {
            name: (
                s["x-replaced-by"]["property"],
                s["x-replaced-by"]["separator"],
                contract.resolve(s).get("maxLength"),
            )
            for name, s in webhook["properties"].items()
            if "x-replaced-by" in s
        }
        self.handlers: dict[str, Callable[[Call], tuple[int, Any]]] = {
            "SaveWebhook": self.save_webhook,
            "GetWebhook": self.get_webhook,
            "GetAllWebhooks": self.get_all_webhooks,
            "DeleteWebhook": self.delete_webhook,
            "CreateDefaultWebhook": self.create_default_webhook,
            "TestWebhook": self.test_webhook,
            "SignalEvent": self.signal_event,
            "GetLastError": self.get_last_error,
        }

    def handle(self, operation_id: str, call: Call) -> tuple[int, Any]:
        if self.generated_seed is not None:
            return self._generated(operation_id)
        return self.handlers[operation_id](call)

    def generate_responses(self, seed: int | None) -> None:
        """From now on answer with generated responses (reproducible from ``seed``); None: stateful again."""
        with self._generated_lock:
            self.generated_seed = seed
            self._generated_count = itertools.count()

    def _generated(self, operation_id: str) -> tuple[int, Any]:
        operation = self.contract.operation(operation_id)
        status = operation.success_status
        schema = operation.response_schema(status, "application/json")
        if schema is None:
            return status, None
        with self._generated_lock:
            rng = random.Random(f"{self.generated_seed}:{next(self._generated_count)}")
        return status, generate(self.contract, schema, rng)

    # -- visibility (Online: an application sees and changes only what it registered) ----------

    def visible(self, row: StoredWebhook | None, principal: Principal) -> bool:
        return row is not None and (principal.application is None or row.owner in (None, principal.owner))

    def _changeable(self, row: StoredWebhook, principal: Principal) -> None:
        if principal.application is not None and row.owner not in (None, principal.owner):
            raise AgentError(
                403,
                f"Webhook {row.webhook_id} was registered by another application.",
                "An application can only change the webhooks it registered (application_token of the webhook table).",
            )

    # -- operations ---------------------------------------------------------------------------

    def save_webhook(self, call: Call) -> tuple[int, Any]:
        sent = call.request.body or {}
        saved = self.save(sent, call.principal, sent.get("WebhookId") or 0)
        assert saved is not None
        return 200, saved

    def save(
        self,
        sent: dict[str, Any],
        principal: Principal,
        webhook_id: int,
        *,
        existing_only: bool = False,
        expected: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """What SaveWebhook does with ``sent``: create (``webhook_id`` 0), or update that webhook.
        ``existing_only`` (REST's PUT and PATCH): None rather than create when there is no such
        webhook; ``expected``: Changed when the webhook is no longer as answered then."""
        now = format_datetime(self.config.clock())
        associate = principal.user.associate.to_json()

        fields: dict[str, Any] = {}  # what the client sets, copied once (the journal keeps ``sent``)
        for name in self.fields:
            if name in self.server_set or name == "WebhookId":
                continue
            if name in sent:
                fields[name] = _copy(sent[name])
            else:
                fields[name] = None if name in self.nullable else _copy(self.default[name])
        for name in self.flags:
            if fields[name] is None:
                fields[name] = _copy(self.default[name])
        self._link_replaced(fields, sent)

        def created(new_id: int) -> dict[str, Any]:
            return self._ordered(
                {
                    **fields,
                    "WebhookId": new_id,
                    "Registered": now,
                    "RegisteredAssociate": associate,
                    "Updated": UNSET_DATE,
                    "UpdatedAssociate": None,
                    **self._usage(StoredWebhook({})),  # a new webhook has no calls yet
                }
            )

        self._registration_ping(
            {**fields, "WebhookId": webhook_id}, associate["AssociateId"], principal.owner
        )
        if webhook_id:
            before: dict[str, Any] = {}

            def updated(current: StoredWebhook) -> dict[str, Any]:
                # in the store's write transaction: another application's webhook is refused (403)
                self._changeable(current, principal)
                if expected is not None and self._stored(self.answer(current)) != self._stored(expected):
                    raise Changed(current.webhook_id)
                before["State"] = current.webhook.get("State")
                return self._ordered(
                    {
                        **fields,
                        "WebhookId": current.webhook_id,
                        "Registered": current.webhook["Registered"],
                        "RegisteredAssociate": current.webhook["RegisteredAssociate"],
                        "Updated": now,
                        "UpdatedAssociate": associate,
                        **self._usage(current),  # the statistics are the server's (readOnly)
                    }
                )

            row = self.store.update(webhook_id, updated)
            if row is not None:
                self.deliveries.state_changed(
                    webhook_id, before["State"], row.webhook["State"], associate["AssociateId"]
                )
                return row.webhook
            if existing_only:
                return None
            if self.config.unknown_webhook_id == "reject":
                raise bad_request(
                    f"There is no webhook with WebhookId {webhook_id}.",
                    {
                        "entity.WebhookId": [
                            f"There is no webhook with WebhookId {webhook_id}; send 0 to create one."
                        ]
                    },
                )
        row = self.store.create(created, principal.owner)
        return row.webhook

    def get_webhook(self, call: Call) -> tuple[int, Any]:
        row = self.store.get(call.request.query["webhookId"])
        if not self.visible(row, call.principal):
            return 200, None
        assert row is not None
        return 200, self.select(self.answer(row), call.request.query.get("$select"))

    def get_all_webhooks(self, call: Call) -> tuple[int, Any]:
        filters = call.request.body or {}
        name = (filters.get("NameFilter") or "").casefold()
        event = (filters.get("EventFilter") or "").casefold()
        status = filters.get("StatusFilter") or "Unknown"
        found = []
        for row in self.store.all():
            if not self.visible(row, call.principal):
                continue
            webhook = self.answer(row)
            if name and (webhook.get("Name") or "").casefold() != name:
                continue
            if event and event not in {e.casefold() for e in webhook.get("Events") or []}:
                continue
            if status != "Unknown" and webhook.get("State") != status:
                continue
            found.append(self.select(webhook, call.request.query.get("$select")))
        return 200, found

    def delete_webhook(self, call: Call) -> tuple[int, Any]:
        webhook_id = call.request.query["WebhookId"]
        row = self.store.get(webhook_id)
        if row is not None:
            self._changeable(row, call.principal)
            self.store.delete(webhook_id)
        return 204, None

    def create_default_webhook(self, call: Call) -> tuple[int, Any]:
        return 200, copy.deepcopy(self.default)

    def get_last_error(self, call: Call) -> tuple[int, Any]:
        body = call.request.body or {}
        row = self.store.get(body.get("WebhookId") or 0)
        if not self.visible(row, call.principal):
            return 200, None
        assert row is not None
        return 200, row.last_error

    def test_webhook(self, call: Call) -> tuple[int, Any]:
        """Ping the given definition with a ``test`` event; nothing is stored."""
        webhook = (call.request.body or {}).get("Webhook")
        if webhook is None:
            return 200, _result(False, "No webhook was given to test.")
        kind = webhook.get("Type")
        if (kind or "").casefold() != "webhook":
            return 200, _result(
                False, f"Only webhooks of type 'webhook' are tested with a POST; this one has type {kind!r}."
            )
        principal = call.principal
        outcome = self.deliveries.ping(webhook, principal.user.associate.associate_id, principal.owner)
        return 200, _result(outcome.ok, outcome.message)

    def signal_event(self, call: Call) -> tuple[int, Any]:
        """Notify every Active webhook listening for the event, in the background."""
        body = call.request.body or {}
        event = body.get("EventName")
        if event:
            self.deliveries.signal(
                event,
                primary_key=body.get("PrimaryKey") or 0,
                field_values=body.get("Data"),
                changed_by=call.principal.user.associate.associate_id,
            )
        return 204, None

    def _registration_ping(self, webhook: dict[str, Any], changed_by: int, owner: str | None) -> None:
        """A `webhook`-type definition is saved only if its TargetUrl answers the test event with 200;
        the record of the ping belongs to ``owner`` (the calling application in Online)."""
        if (webhook.get("Type") or "").casefold() != "webhook":
            return
        settings = self.config.delivery
        if not settings.registration_ping:
            url = webhook.get("TargetUrl") or ""
            if not (
                url.lower().startswith("https://")
                or (settings.allow_http and url.lower().startswith("http://"))
            ):
                raise bad_request(
                    "TargetUrl must be HTTPS.", {"entity.TargetUrl": ["TargetUrl must be HTTPS."]}
                )
            return
        outcome = self.deliveries.ping(webhook, changed_by, owner)
        if not outcome.ok:
            raise bad_request(
                "The TargetUrl did not answer the test event with 200 OK; nothing was saved.",
                {"entity.TargetUrl": [outcome.message.splitlines()[0] if outcome.message else "no answer"]},
            )

    # -- helpers ------------------------------------------------------------------------------

    def _stored(self, webhook: dict[str, Any]) -> dict[str, Any]:
        """The webhook without its statistics, which deliveries change at any time."""
        return {name: value for name, value in webhook.items() if name not in self.usage}

    def _ordered(self, webhook: dict[str, Any]) -> dict[str, Any]:
        return {name: webhook[name] for name in self.fields if name in webhook}

    def _usage(self, row: StoredWebhook) -> dict[str, Any]:
        """The webhook_usage statistics of ``row`` as the webhook's fields (F-146, F-147)."""
        return {name: getattr(row, column) for name, column in self.usage.items()}

    def answer(self, row: StoredWebhook) -> dict[str, Any]:
        """A stored webhook as the agent answers it: its statistics as they are now (deliveries
        change them after the save that stored the webhook), and every field of the current
        carrier, also for a webhook stored before the mock knew the field (a SQLite file of an
        older version; ``POST /__mock__/webhooks``): null, the default, or derived (F-141)."""
        stored = row.webhook
        missing = [
            name
            for name in self.fields
            if name not in stored or (name in self.flags and stored[name] is None)
        ]
        if missing:
            stored = dict(stored)
            for name in missing:
                stored[name] = None if name in self.nullable else _copy(self.default[name])
            for obsolete, (replacing, separator, limit) in self.replaced.items():
                if replacing in missing and stored[obsolete] is not None:
                    stored[replacing] = _split(stored[obsolete], separator)
                elif obsolete in missing and stored[replacing] is not None:
                    stored[obsolete] = _joined(stored[replacing], separator, limit)
        return self._ordered({**stored, **self._usage(row)})

    def _link_replaced(self, fields: dict[str, Any], sent: dict[str, Any]) -> None:
        """Keep an obsolete field and the one that replaces it consistent (ErrorsEmail and
        ErrorEmails, F-141): the replacing field, when sent (not null), sets both; else the
        obsolete one, when sent (not null), sets the replacing one to its parts."""
        for obsolete, (replacing, separator, limit) in self.replaced.items():
            if sent.get(replacing) is not None:
                fields[obsolete] = _joined(fields[replacing], separator, limit)
            elif sent.get(obsolete) is not None:
                fields[replacing] = _split(fields[obsolete], separator)

    def select(self, webhook: dict[str, Any], select: str | None) -> dict[str, Any]:
        """``$select``: fields not named are nulled out, where the contract lets them be null."""
        if not select:
            return webhook
        wanted = {part.strip().casefold() for part in select.split(",") if part.strip()}
        return {
            name: (value if name.casefold() in wanted or name not in self.nullable else None)
            for name, value in webhook.items()
        }


def _copy(value: Any) -> Any:
    """A deep copy of a JSON value (several times faster than copy.deepcopy)."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _split(text: Any, separator: str) -> list[str]:
    """The parts of ``text`` between separators, trimmed; empty parts left out."""
    return [part.strip() for part in str(text).split(separator) if part.strip()]


def _joined(parts: list[Any], separator: str, limit: int | None) -> str:
    """``parts`` joined with ``separator``: as many whole parts, from the first, as fit ``limit``."""
    taken: list[str] = []
    length = -len(separator)
    for part in parts:
        text = str(part)
        length += len(separator) + len(text)
        if limit is not None and length > limit:
            break
        taken.append(text)
    return separator.join(taken)


def _result(success: bool, message: str) -> dict[str, Any]:
    return {"Success": success, "Message": message, "TableRight": None, "FieldProperties": None}


def _allows_null(contract: Contract, schema: Any) -> bool:
    node = contract.resolve(schema)
    kind = node.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_allows_null(contract, sub) for sub in node.get("anyOf", []) + node.get("oneOf", []))
