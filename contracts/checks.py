"""Named checks: small functions with one signature, ``check(ctx, exchange) -> None``, that raise a
:class:`Violation` when an exchange with a server breaks the contract.

Each check says what it rests on: ``documented`` (a SuperOffice page) or ``assumed`` (a row of
docs/fidelity.md). Against a real server an assumed check that fails is a warning, never a
failure (``Violation.basis``).

::

    Violation(AssertionError)      operation, check, title, message, basis, request
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from werkzeug.datastructures import Headers

from contracts.spec import Contract, load
from contracts.strategies import WireRequest
from contracts.wire import XML_TYPES, WireError, WireFormats, parse_media_type, xml_representable

__all__ = ["BASIS", "CHECKS", "CheckContext", "Exchange", "Violation", "check", "run_checks"]

UNSET = "0001-01-01T00:00:00"


class Violation(AssertionError):
    """A check that failed: pytest shows it natively; the CLI selects and reports checks by name."""

    def __init__(
        self, *, operation: str, check: str, title: str, message: str, basis: str = "documented",
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
class Exchange:
    """One request to a server and its answer."""

    operation: str
    request: WireRequest
    status: int
    headers: Headers
    body: bytes

    @property
    def media_type(self) -> str:
        return parse_media_type(self.headers.get("Content-Type"))[0]


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
        return self.contract.operation(operation)[2]["responses"]

    def value(self, exchange: Exchange, schema: Any = None) -> Any:
        """The response body's value, read as its media type."""
        if not exchange.body:
            return None
        if exchange.media_type in XML_TYPES:
            return self.wire.decode_xml(exchange.body, schema or True)
        return json.loads(exchange.body)


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


def _fail(function: Check, exchange: Exchange, message: str) -> Violation:
    return Violation(
        operation=exchange.operation, check=function.__name__, title=function.title,  # type: ignore[attr-defined]
        message=message, basis=function.basis, request=exchange.request,  # type: ignore[attr-defined]
    )


# -- the contract, for any operation ----------------------------------------------------------


@check(basis="documented", title="the status code is one the contract declares")
def status_code_conformance(ctx: CheckContext, exchange: Exchange) -> None:
    declared = ctx.declared(exchange.operation)
    if str(exchange.status) not in declared:
        raise _fail(status_code_conformance, exchange, f"got {exchange.status}; declared: {', '.join(sorted(declared))}")


@check(basis="documented", title="the Content-Type is one the contract declares for the status")
def content_type_conformance(ctx: CheckContext, exchange: Exchange) -> None:
    response = ctx.contract.resolve(ctx.declared(exchange.operation).get(str(exchange.status), {}))
    content = response.get("content")
    if not content:
        if exchange.body:
            raise _fail(content_type_conformance, exchange, f"{exchange.status} must have no body, got {len(exchange.body)} bytes")
        return
    if exchange.media_type not in content:
        raise _fail(content_type_conformance, exchange, f"got {exchange.media_type or '(none)'!r}; declared: {', '.join(content)}")


@check(basis="documented", title="the body validates against the contract's schema")
def response_schema_conformance(ctx: CheckContext, exchange: Exchange) -> None:
    response = ctx.contract.resolve(ctx.declared(exchange.operation).get(str(exchange.status), {}))
    media = response.get("content", {}).get(exchange.media_type)
    if media is None:
        return  # content_type_conformance reports it
    try:
        value = ctx.value(exchange, media.get("schema"))
    except (WireError, ValueError) as error:
        raise _fail(response_schema_conformance, exchange, f"the body is not readable as {exchange.media_type}: {error}") from None
    schema_name = media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
    if not schema_name:
        return
    errors = [f"{'.'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in ctx.contract.validator(schema_name).iter_errors(value)]
    if errors:
        raise _fail(response_schema_conformance, exchange, "; ".join(errors[:5]))


@check(basis="documented", title="an error answer has SuperOffice's error shape")
def error_shape(ctx: CheckContext, exchange: Exchange) -> None:
    if not 400 <= exchange.status < 600:
        return
    try:
        value = ctx.value(exchange, {"$ref": "#/components/schemas/AnyError"})
    except (WireError, ValueError):
        raise _fail(error_shape, exchange, f"the {exchange.status} body is not JSON or XML: {exchange.body[:120]!r}") from None
    problems = list(ctx.contract.validator("AnyError").iter_errors(value))
    if problems:
        raise _fail(error_shape, exchange, f"neither {{Message, MessageDetail}} nor {{Error, ErrorType, ErrorMessage}}: {value!r:.200}")


@check(basis="assumed", title="the response follows Accept as ASP.NET Web API negotiates (F-065)")
def content_negotiation(ctx: CheckContext, exchange: Exchange) -> None:
    from contracts.wire import negotiate

    if exchange.status == 204 or not exchange.body:
        return
    expected = negotiate(exchange.request.headers.get("Accept"), exchange.request.content_type)
    if exchange.media_type != expected:
        raise _fail(content_negotiation, exchange, f"Accept {exchange.request.headers.get('Accept')!r}: expected {expected}, got {exchange.media_type}")


# -- SaveWebhook and friends: what the server does with the state -------------------------------


def _client_fields(ctx: CheckContext) -> list[str]:
    properties = ctx.contract.document["components"]["schemas"]["Webhook"]["properties"]
    return [name for name, schema in properties.items() if not schema.get("readOnly") and name != "WebhookId"]


def _saved(ctx: CheckContext, exchange: Exchange) -> dict[str, Any] | None:
    if exchange.operation != "SaveWebhook" or exchange.status != 200:
        return None
    value = ctx.value(exchange, {"$ref": "#/components/schemas/WebhookRecord"})
    return value if isinstance(value, dict) else None


@check(basis="documented", title="creating a webhook assigns a new, non-zero id")
def save_creates_new_id(ctx: CheckContext, exchange: Exchange) -> None:
    saved = _saved(ctx, exchange)
    if saved is None or (exchange.request.value or {}).get("WebhookId"):
        return
    new_id = saved.get("WebhookId")
    if not new_id or new_id in ctx.seen_ids:
        raise _fail(save_creates_new_id, exchange, f"WebhookId {new_id!r} is not a new id (seen: {sorted(ctx.seen_ids)[:10]})")


@check(basis="documented", title="the saved webhook echoes every field the client set")
def save_echoes_client_fields(ctx: CheckContext, exchange: Exchange) -> None:
    saved = _saved(ctx, exchange)
    if saved is None:
        return
    sent = exchange.request.value or {}
    wrong = [
        f"{name}: sent {sent[name]!r:.80}, got {saved.get(name)!r:.80}"
        for name in _client_fields(ctx)
        if name in sent and sent[name] != saved.get(name) and not (name == "ErrorsEmail" and name not in saved)
    ]
    if wrong:
        raise _fail(save_echoes_client_fields, exchange, "; ".join(wrong))


@check(basis="documented", title="an update keeps Registered and RegisteredAssociate and moves Updated")
def save_update_keeps_registered(ctx: CheckContext, exchange: Exchange) -> None:
    saved = _saved(ctx, exchange)
    webhook_id = (exchange.request.value or {}).get("WebhookId")
    if saved is None or not webhook_id or webhook_id not in ctx.model:
        return
    before = ctx.model[webhook_id]
    problems = [
        f"{name} changed from {before.get(name)!r:.80} to {saved.get(name)!r:.80}"
        for name in ("Registered", "RegisteredAssociate")
        if saved.get(name) != before.get(name)
    ]
    if saved.get("Updated") in (None, UNSET, before.get("Updated")):
        problems.append(f"Updated did not move (still {saved.get('Updated')!r})")
    if problems:
        raise _fail(save_update_keeps_registered, exchange, "; ".join(problems))


@check(basis="documented", title="saving an existing webhook again creates nothing new")
def save_twice_creates_nothing(ctx: CheckContext, exchange: Exchange) -> None:
    saved = _saved(ctx, exchange)
    webhook_id = (exchange.request.value or {}).get("WebhookId")
    if saved is None or not webhook_id or webhook_id not in ctx.model:
        return
    if saved.get("WebhookId") != webhook_id:
        raise _fail(save_twice_creates_nothing, exchange, f"saving WebhookId {webhook_id} answered WebhookId {saved.get('WebhookId')}")


@check(basis="documented", title="GetWebhook returns what SaveWebhook saved; null once deleted")
def get_returns_saved(ctx: CheckContext, exchange: Exchange) -> None:
    if exchange.operation != "GetWebhook" or exchange.status != 200:
        return
    webhook_id = int(exchange.request.path.split("webhookId=", 1)[1].split("&", 1)[0]) if "webhookId=" in exchange.request.path else None
    got = ctx.value(exchange, {"$ref": "#/components/schemas/NullableWebhookRecord"})
    if webhook_id in ctx.deleted:
        if got is not None:
            raise _fail(get_returns_saved, exchange, f"webhook {webhook_id} was deleted, yet GetWebhook returned it")
        return
    expected = ctx.model.get(webhook_id) if webhook_id is not None else None
    if expected is not None and exchange.media_type in XML_TYPES and isinstance(got, dict):
        # text XML 1.0 cannot carry is the server's to handle (F-063): compare only what XML can say
        expected = {k: v for k, v in expected.items() if xml_representable(v)}
        got = {k: v for k, v in got.items() if k in expected}
    if expected is not None and got != expected:
        diff = [f"{k}: {expected.get(k)!r:.60} != {got.get(k) if isinstance(got, dict) else got!r:.60}" for k in expected if not isinstance(got, dict) or got.get(k) != expected.get(k)]
        raise _fail(get_returns_saved, exchange, ("; ".join(diff) or repr(got))[:600])


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

