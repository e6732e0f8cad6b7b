"""What every named check shares: the registry, the failure, the context, and the few readings of an
exchange the agent's checks (``contracts.checks``) and the REST checks (``contracts.rest_checks``)
both make. Both modules import this one and neither imports the other back: ``checks`` imports
``rest_checks`` so that one import registers every check in the one ``CHECKS``.

::

    Violation(AssertionError)      operation, check, title, message, basis, request
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from contracts.binding import binder_for
from contracts.exchange import Exchange, WireRequest
from contracts.spec import Contract, Operation, load
from contracts.wire import XML_TYPES, WireFormats

__all__ = [
    "BASIS",
    "CHECKS",
    "REST",
    "Check",
    "CheckContext",
    "RestOperations",
    "Violation",
    "bound_body",
    "check",
    "client_fields",
    "echo_problems",
    "fail",
    "narrowed",
    "path_values",
    "rule_holds",
    "run_checks",
    "saving_operations",
    "webhook_id_of",
]


class Violation(AssertionError):
    """A check that failed: pytest shows it natively; the CLI selects and reports checks by name."""

    def __init__(
        self,
        *,
        operation: str,
        check: str,
        title: str,
        message: str,
        basis: str = "documented",
        request: WireRequest | None = None,
    ) -> None:
        self.operation = operation
        self.check = check
        self.title = title
        self.message = message
        self.basis = basis
        self.request = request
        super().__init__(f"[{check}] {operation}: {title}\n{message}")


@dataclass
class CheckContext:
    """What checks may read: the contract, and the model of what the server should now hold."""

    contract: Contract = field(default_factory=load)
    model: dict[int, dict[str, Any]] = field(default_factory=dict)
    seen_ids: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.wire = WireFormats(self.contract)

    def declared(self, operation: str) -> dict[str, Any]:
        return dict(self.contract.operation(operation).responses)

    def value(self, exchange: Exchange, schema: Any = None) -> Any:
        """The response body's value, read as its media type."""
        if not exchange.body:
            return None
        if exchange.media_type in XML_TYPES:
            return self.wire.decode_xml(exchange.body, schema or True)
        return json.loads(exchange.body)

    def answer(self, exchange: Exchange) -> Any:
        """The response body's value, read by the schema the contract declares for its status."""
        schema = self.contract.operation(exchange.operation).response_schema(
            exchange.status, exchange.media_type
        )
        return self.value(exchange, schema)


Check = Callable[[CheckContext, Exchange], None]
CHECKS: dict[str, Check] = {}
BASIS: dict[str, str] = {}


def check(*, basis: str, title: str) -> Callable[[Check], Check]:
    """Register a named check; ``basis`` is documented or assumed (docs/fidelity.md)."""

    def register(function: Check) -> Check:
        function.title = title  # type: ignore[attr-defined]
        function.basis = basis  # type: ignore[attr-defined]
        CHECKS[function.__name__] = function
        BASIS[function.__name__] = basis
        return function

    return register


def fail(function: Check, exchange: Exchange, message: str, *, basis: str | None = None) -> Violation:
    """The violation of ``function``; ``basis`` "assumed" for the part of a documented check's
    verdict that rests on an assumption (a warning, never a failure, against a real server)."""
    return Violation(
        operation=exchange.operation,
        check=function.__name__,
        title=function.title,  # type: ignore[attr-defined]
        message=message,
        basis=basis or function.basis,  # type: ignore[attr-defined]
        request=exchange.request,
    )


def run_checks(ctx: CheckContext, exchange: Exchange, names: list[str] | None = None) -> list[Violation]:
    """Every selected check's violation for this exchange (an empty list when all pass)."""
    found = []
    for name, function in CHECKS.items():
        if names is not None and name not in names:
            continue
        try:
            function(ctx, exchange)
        except Violation as violation:
            found.append(violation)
    return found


# -- the two faces ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestOperations:
    """The operationIds of the REST face (SuperOffice's Swagger-v1-Webhook.json names them)."""

    list: str = "v1Webhook_GetAllWebhooks"
    post: str = "v1Webhook_PostWebhook"
    get: str = "v1Webhook_GetWebhook"
    put: str = "v1Webhook_PutWebhook"
    patch: str = "v1Webhook_PatchWebhook"
    delete: str = "v1Webhook_DeleteWebhook"


REST = RestOperations()


@functools.cache
def saving_operations(contract: Contract) -> dict[str, str]:
    """The operations that save a webhook as SaveWebhook does (SaveWebhook and every one whose
    ``x-rules-of`` names it), each with what its body is: ``webhook`` or ``patch`` (a body that may
    be an array: a JSON Patch or a merge patch of the webhook)."""
    found = {}
    for operation in contract.operations.values():
        if operation.operation_id != "SaveWebhook" and operation.spec.get("x-rules-of") != "SaveWebhook":
            continue
        schema = contract.resolve(operation.body_content.get("application/json", {}).get("schema"))
        kinds = (schema or {}).get("type", [])
        found[operation.operation_id] = (
            "patch" if "array" in (kinds if isinstance(kinds, list) else [kinds]) else "webhook"
        )
    return found


@functools.cache
def _path_pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", path)
    pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
    return re.compile(pattern + "/?", re.IGNORECASE)  # routes match in any casing (F-200)


def path_values(operation: Operation, path: str) -> dict[str, str]:
    """The path parameters of a request ``path`` (its query left off) of ``operation``."""
    found = _path_pattern(operation.path).fullmatch(path.split("?", 1)[0])
    return dict(found.groupdict()) if found else {}


def narrowed(exchange: Exchange) -> bool:
    """Whether ``$select`` may have narrowed the answer (fields not named are null): no model judges
    it. Any ``$select`` counts, a blank one too (whether a server reads it as "nothing" is open)."""
    query = exchange.request.path.split("?", 1)[1] if "?" in exchange.request.path else ""
    return any(name.strip().casefold() == "$select" for name, _ in parse_qsl(query, keep_blank_values=True))


def webhook_id_of(ctx: CheckContext, exchange: Exchange) -> int | None:
    """The webhook an exchange is about: an id of its path, its query (``webhookId`` in any casing),
    or the ``WebhookId`` of its body (an update; 0 and none: a new webhook)."""
    request = exchange.request
    operation = ctx.contract.operation(exchange.operation)
    texts = [
        v for k, v in path_values(operation, request.path).items() if k.casefold() in ("id", "webhookid")
    ]
    query = request.path.split("?", 1)[1] if "?" in request.path else ""
    texts += [v for k, v in parse_qsl(query) if k.casefold() == "webhookid"]
    for text in texts:
        try:
            return int(text)
        except ValueError:
            return None
    if saving_operations(ctx.contract).get(exchange.operation) == "webhook":
        number = bound_body(ctx, exchange.operation, request.value).get("WebhookId")
        return number if isinstance(number, int) and number else None
    return None


# -- what a server makes of a webhook it saves ---------------------------------------------------


def client_fields(contract: Contract) -> list[str]:
    """The Webhook's properties a client sets (not the server's, not the id)."""
    properties = contract.document["components"]["schemas"]["Webhook"]["properties"]
    return [name for name, schema in properties.items() if not schema.get("readOnly") and name != "WebhookId"]


def bound_body(ctx: CheckContext, operation_id: str, value: Any) -> Any:
    """A request's body as the server binds it: canonical names, enums by name (contracts.binding)."""
    binder = binder_for(ctx.contract).request_body(operation_id)
    return binder.bind(value).value if binder is not None else value


def echo_problems(ctx: CheckContext, sent: Any, saved: dict[str, Any]) -> list[str]:
    """How ``saved`` (a server's answer) differs from the client fields a save ``sent`` (bound)."""
    if not isinstance(sent, dict):
        return []
    properties = ctx.contract.document["components"]["schemas"]["Webhook"]["properties"]
    wrong = []
    for name in client_fields(ctx.contract):
        if name not in sent or _derived(properties, name, sent):
            continue
        expected = _canonical(ctx, properties[name], sent[name])
        if expected != saved.get(name) and not (properties[name].get("x-replaced-by") and name not in saved):
            wrong.append(f"{name}: sent {sent[name]!r:.80}, got {saved.get(name)!r:.80}")
    return wrong


def _derived(properties: dict[str, Any], name: str, sent: dict[str, Any]) -> bool:
    """Whether the server sets ``name`` from another field the client sent (``x-replaced-by``):
    an obsolete field from its non-null replacement, or the replacement from the obsolete one."""
    replaced = properties[name].get("x-replaced-by")
    if replaced:
        return sent.get(replaced["property"]) is not None
    return any(
        (schema.get("x-replaced-by") or {}).get("property") == name
        and sent.get(name) is None
        and sent.get(old) is not None
        for old, schema in properties.items()
    )


def _canonical(ctx: CheckContext, schema: Any, value: Any) -> Any:
    """What a server answers for ``value``: a null flags enum is its flag numbered 0 ("None")."""
    flags = ctx.contract.resolve(schema).get("x-flags")
    if value is None and flags:
        return next((flag for flag, number in flags.items() if number == 0), None)
    return value


def rule_holds(rule: str, webhook: dict[str, Any], contract: Contract | None = None) -> bool:
    """Whether ``webhook`` keeps the documented rule ``rule`` (an id of SaveWebhook's x-rules)."""
    contract = contract or load()
    kind = (webhook.get("Type") or "").casefold()
    events = webhook.get("Events") or []
    if rule == "https-target":
        return kind != "webhook" or str(webhook.get("TargetUrl") or "").lower().startswith("https://")
    if rule == "event-name-form":
        return all(_is_event_name(event) for event in events)
    if rule == "events-length":
        return len(",".join(events)) <= 4000
    if rule == "known-type":
        documented = contract.document["components"]["schemas"]["Webhook"]["properties"]["Type"][
            "x-documented-values"
        ]
        return kind in {t.casefold() for t in documented}
    raise KeyError(f"no rule {rule!r} in the contract's x-rules")


def _is_event_name(name: Any) -> bool:
    entity, dot, event = str(name).partition(".")
    return bool(dot and entity and event and entity.isalnum() and event.replace("_", "").isalnum())
