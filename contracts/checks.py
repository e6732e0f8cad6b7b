"""Named checks: small functions with one signature, ``check(ctx, exchange) -> None``, that raise a
:class:`Violation` when an exchange with a server breaks the contract.

Each check says what it rests on: ``documented`` (a SuperOffice page) or ``assumed`` (a row of
docs/fidelity.md). Against a real server an assumed check that fails is a warning, never a
failure (``Violation.basis``). A documented check may also raise an assumed violation for the
part of its verdict that rests on an assumption: ``response_schema_conformance`` fails a body the
contract's schemas reject, but only warns about properties the contract does not know (a newer
server's, F-190..F-194; ``unknown_properties``).

The agent's checks are here, and those of the contract that hold for any operation; the saves and
reads judge both faces (SaveWebhook and REST's POST, PUT and PATCH; GetWebhook and REST's GET).
The REST face's own semantics are ``contracts.rest_checks``, registered by importing this module;
the registry, the context and the failure are ``contracts.check_registry``'s.

::

    Violation(AssertionError)      operation, check, title, message, basis, request
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any

from contracts.check_registry import (
    BASIS,
    CHECKS,
    REST,
    Check,
    CheckContext,
    Violation,
    bound_body,
    check,
    echo_problems,
    fail,
    narrowed,
    run_checks,
    saving_operations,
    webhook_id_of,
)
from contracts.exchange import Exchange
from contracts.spec import Contract, _schema_validator
from contracts.wire import UNSET_DATE, XML_TYPES, WireError, xml_representable

__all__ = [
    "BASIS",
    "CHECKS",
    "Check",
    "CheckContext",
    "Exchange",
    "Violation",
    "check",
    "json_path",
    "known_only",
    "run_checks",
    "unknown_properties",
]

UNSET = UNSET_DATE  # the unset date, as contracts.wire writes it


# -- the contract, for any operation ----------------------------------------------------------


@check(basis="documented", title="the status code is one the contract declares")
def status_code_conformance(ctx: CheckContext, exchange: Exchange) -> None:
    declared = ctx.declared(exchange.operation)
    if str(exchange.status) not in declared:
        raise fail(
            status_code_conformance,
            exchange,
            f"got {exchange.status}; declared: {', '.join(sorted(declared))}",
        )


@check(basis="documented", title="the server does not fail (5xx) on a request (agents-webapi/index.md: 400)")
def no_server_error(ctx: CheckContext, exchange: Exchange) -> None:
    # the contract declares 500 so that its shape is judged; a malformed request is answered 400
    if exchange.status >= 500:
        raise fail(no_server_error, exchange, f"got {exchange.status}: {exchange.body[:200]!r}")


@check(basis="documented", title="the Content-Type is one the contract declares for the status")
def content_type_conformance(ctx: CheckContext, exchange: Exchange) -> None:
    response = ctx.contract.resolve(ctx.declared(exchange.operation).get(str(exchange.status), {}))
    content = response.get("content")
    if not content:
        if exchange.body:
            raise fail(
                content_type_conformance,
                exchange,
                f"{exchange.status} must have no body, got {len(exchange.body)} bytes",
            )
        return
    if exchange.media_type not in content:
        raise fail(
            content_type_conformance,
            exchange,
            f"got {exchange.media_type or '(none)'!r}; declared: {', '.join(content)}",
        )


@check(basis="documented", title="the body validates against the contract's schema")
def response_schema_conformance(ctx: CheckContext, exchange: Exchange) -> None:
    """Fails a body whose known properties break the contract (a wrong type, a missing required
    one); a property the contract does not know is an assumed violation, a warning (F-190)."""
    response = ctx.contract.resolve(ctx.declared(exchange.operation).get(str(exchange.status), {}))
    media = response.get("content", {}).get(exchange.media_type)
    if media is None:
        return  # content_type_conformance reports it
    try:
        value = ctx.value(exchange, media.get("schema"))
    except (WireError, ValueError) as error:
        raise fail(
            response_schema_conformance,
            exchange,
            f"the body is not readable as {exchange.media_type}: {error}",
        ) from None
    schema_name = media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
    if not schema_name or _fast_validator(ctx.contract, schema_name).is_valid(value):
        return  # valid against the closed schema: nothing wrong and nothing unknown
    # a newer server's properties are no error (F-190): the schema with every object left open
    errors = [
        f"{'.'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
        for e in map(_named, _open_validator(ctx.contract, schema_name).iter_errors(value))
    ]
    if errors:
        raise fail(response_schema_conformance, exchange, "; ".join(errors[:5]))
    unknown = unknown_properties(ctx.contract, schema_name, value)
    if unknown:
        shown = ", ".join(json_path(path) for path in unknown[:10])
        if len(unknown) > 10:
            shown += f" and {len(unknown) - 10} more"
        raise Violation(
            operation=exchange.operation,
            check=response_schema_conformance.__name__,
            title="the answer carries properties the contract does not know (F-190)",
            message=f"properties the contract does not know (a newer server's, F-190): {shown}",
            basis="assumed",
            request=exchange.request,
        )


@check(basis="documented", title="an error answer has SuperOffice's error shape")
def error_shape(ctx: CheckContext, exchange: Exchange) -> None:
    if not 400 <= exchange.status < 600:
        return
    try:
        value = ctx.value(exchange, {"$ref": "#/components/schemas/AnyError"})
    except (WireError, ValueError):
        raise fail(
            error_shape, exchange, f"the {exchange.status} body is not JSON or XML: {exchange.body[:120]!r}"
        ) from None
    problems = list(ctx.contract.validator("AnyError").iter_errors(value))
    if problems:
        raise fail(
            error_shape,
            exchange,
            f"neither {{Message, MessageDetail}} nor {{Error, ErrorType, ErrorMessage}}: {value!r:.200}",
        )


@check(basis="assumed", title="the response follows Accept as ASP.NET Web API negotiates (F-065)")
def content_negotiation(ctx: CheckContext, exchange: Exchange) -> None:
    from contracts.wire import negotiate

    if exchange.status == 204 or not exchange.body:
        return
    expected = negotiate(exchange.request.headers.get("Accept"), exchange.request.content_type)
    if exchange.media_type != expected:
        raise fail(
            content_negotiation,
            exchange,
            f"Accept {exchange.request.headers.get('Accept')!r}: expected {expected}, got {exchange.media_type}",
        )


# -- SaveWebhook and friends, on either face: what the server does with the state ----------------

_READS = ("GetWebhook", REST.get)  # the agent's read of one webhook, and REST's


def _saved(ctx: CheckContext, exchange: Exchange) -> dict[str, Any] | None:
    """The webhook a save answered (SaveWebhook, or REST's POST, PUT and PATCH), else None."""
    if (
        exchange.operation not in saving_operations(ctx.contract)
        or exchange.status != 200
        or narrowed(exchange)
    ):
        return None  # not a save, or an answer $select narrowed
    value = ctx.answer(exchange)
    return value if isinstance(value, dict) else None


@check(basis="documented", title="creating a webhook assigns a new, non-zero id")
def save_creates_new_id(ctx: CheckContext, exchange: Exchange) -> None:
    saved = _saved(ctx, exchange)
    if saved is None or webhook_id_of(ctx, exchange) is not None:
        return
    new_id = saved.get("WebhookId")
    if not new_id or new_id in ctx.seen_ids:
        raise fail(
            save_creates_new_id,
            exchange,
            f"WebhookId {new_id!r} is not a new id (seen: {sorted(ctx.seen_ids)[:10]})",
        )


@check(basis="documented", title="the saved webhook echoes every field the client set")
def save_echoes_client_fields(ctx: CheckContext, exchange: Exchange) -> None:
    """A patch's echo is ``rest_patch_semantics``' to judge: here the bodies that are webhooks."""
    saved = _saved(ctx, exchange)
    if saved is None or saving_operations(ctx.contract)[exchange.operation] != "webhook":
        return
    wrong = echo_problems(ctx, bound_body(ctx, exchange.operation, exchange.request.value), saved)
    if wrong:
        raise fail(save_echoes_client_fields, exchange, "; ".join(wrong))


@check(basis="documented", title="an update keeps Registered and RegisteredAssociate and moves Updated")
def save_update_keeps_registered(ctx: CheckContext, exchange: Exchange) -> None:
    saved = _saved(ctx, exchange)
    webhook_id = webhook_id_of(ctx, exchange)
    if saved is None or webhook_id is None or webhook_id not in ctx.model:
        return
    before = ctx.model[webhook_id]
    problems = [
        f"{name} changed from {before.get(name)!r:.80} to {saved.get(name)!r:.80}"
        for name in ("Registered", "RegisteredAssociate")
        if saved.get(name) != before.get(name)
    ]
    # a patch that changed nothing (only tests, or the values it had) need not be saved again
    unchanged = saving_operations(ctx.contract)[exchange.operation] == "patch" and not echo_problems(
        ctx, before, saved
    )
    if not unchanged and saved.get("Updated") in (None, UNSET, before.get("Updated")):
        problems.append(f"Updated did not move (still {saved.get('Updated')!r})")
    if problems:
        raise fail(save_update_keeps_registered, exchange, "; ".join(problems))


@check(basis="documented", title="saving an existing webhook again creates nothing new")
def save_twice_creates_nothing(ctx: CheckContext, exchange: Exchange) -> None:
    saved = _saved(ctx, exchange)
    webhook_id = webhook_id_of(ctx, exchange)
    if saved is None or webhook_id is None or webhook_id not in ctx.model:
        return
    if saved.get("WebhookId") != webhook_id:
        raise fail(
            save_twice_creates_nothing,
            exchange,
            f"saving WebhookId {webhook_id} answered WebhookId {saved.get('WebhookId')}",
        )


@check(
    basis="documented",
    title="GetWebhook (the agent's or REST's) returns what was saved through either face; null once deleted",
)
def get_returns_saved(ctx: CheckContext, exchange: Exchange) -> None:
    """REST answers a deleted webhook 404, not null: ``rest_missing_is_404`` judges that."""
    if exchange.operation not in _READS or exchange.status != 200 or narrowed(exchange):
        return
    webhook_id = webhook_id_of(ctx, exchange)
    got = ctx.answer(exchange)
    if webhook_id in ctx.deleted:
        if got is not None and exchange.operation == "GetWebhook":
            raise fail(
                get_returns_saved, exchange, f"webhook {webhook_id} was deleted, yet GetWebhook returned it"
            )
        return
    # what the contract does not know, the model cannot judge (F-192); nor are the links a field
    got = known_only(ctx.contract, _schema_name(ctx, exchange), got)
    if isinstance(got, dict):
        got = {k: v for k, v in got.items() if k != "_Links"}
    expected = ctx.model.get(webhook_id) if webhook_id is not None else None
    if expected is not None:
        expected = known_only(ctx.contract, "WebhookRecord", expected)
    if expected is not None and exchange.media_type in XML_TYPES and isinstance(got, dict):
        # text XML 1.0 cannot carry is the server's to handle (F-063): compare only what XML can say
        expected = {k: v for k, v in expected.items() if xml_representable(v)}
        got = {k: v for k, v in got.items() if k in expected}
    if expected is not None and got != expected:
        diff = [
            f"{k}: {expected.get(k)!r:.60} != {got.get(k) if isinstance(got, dict) else got!r:.60}"
            for k in expected
            if not isinstance(got, dict) or got.get(k) != expected.get(k)
        ]
        raise fail(get_returns_saved, exchange, ("; ".join(diff) or repr(got))[:600])


def _schema_name(ctx: CheckContext, exchange: Exchange) -> str:
    """The name of the component schema the contract declares for this answer."""
    schema = (
        ctx.contract.operation(exchange.operation).response_schema(exchange.status, exchange.media_type) or {}
    )
    return str(schema.get("$ref", "")).rsplit("/", 1)[-1]


# -- properties a newer server adds (F-190..F-194) -----------------------------------------------


def _opened(node: Any) -> Any:
    """``node`` with every ``additionalProperties: false`` left out, at every depth."""
    if isinstance(node, dict):
        return {
            key: _opened(item)
            for key, item in node.items()
            if not (key == "additionalProperties" and item is False)
        }
    if isinstance(node, list):
        return [_opened(item) for item in node]
    return node


@functools.cache
def _opened_document(contract: Contract) -> dict[str, Any]:
    """The contract's document with every object it closes left open (derived once per contract)."""
    opened: dict[str, Any] = _opened(contract.document)
    return opened


@functools.cache
def _fast_validator(contract: Contract, schema_name: str) -> Any:
    """jsonschema-rs' validator of ``components/schemas/<schema_name>``, closed objects and all:
    the quick "valid" that lets a conforming answer (a list of thousands of webhooks, say) pass
    without the slower walk that names errors and unknown properties."""
    import jsonschema_rs

    root = {"$ref": f"#/components/schemas/{schema_name}", "components": contract.document["components"]}
    return jsonschema_rs.Draft202012Validator(root)


@functools.cache
def _open_validator(contract: Contract, schema_name: str) -> Any:
    """A validator of ``components/schemas/<schema_name>`` that lets an answer carry properties the
    contract does not know, and holds every property it knows to its schema."""
    return _schema_validator(_opened_document(contract), schema_name)


def unknown_properties(contract: Contract, schema_name: str, value: Any) -> list[tuple[str | int, ...]]:
    """The paths of the properties of ``value`` the contract does not know: those of an object the
    contract closes (``additionalProperties: false``), at any depth. Where the schema offers
    alternatives (``anyOf``, ``oneOf``), the first that only unknown properties break is read.
    Errors of any other kind are not this function's to report (the open schema reports them)."""
    found: list[tuple[str | int, ...]] = []
    for error in contract.validator(schema_name).iter_errors(value):
        found.extend(_only_unknown(error) or ())
    return found


def _named(error: Any) -> Any:
    """Inside ``anyOf``/``oneOf`` (a webhook or null), the error of the alternative that fits the
    value's type, so that the message names the property (``WebhookId: 'x' is not of type ...``)."""
    from jsonschema.exceptions import best_match  # as contracts.spec, only when a check runs

    while error.context:
        fitting = [sub for sub in error.context if not (sub.validator == "type" and not sub.relative_path)]
        if not fitting:
            break
        error = best_match(fitting)
    return error


def _only_unknown(error: Any) -> list[tuple[str | int, ...]] | None:
    """The unknown properties ``error`` consists of, or None if it is (also) something else."""
    if (
        error.validator == "additionalProperties"
        and error.validator_value is False
        and isinstance(error.instance, dict)
    ):
        declared = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        base = tuple(error.absolute_path)
        return [
            (*base, name)
            for name in error.instance
            if name not in declared and not any(re.search(pattern, name) for pattern in patterns)
        ]
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[Any, list[Any]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        for index in sorted(branches):
            parts = [_only_unknown(sub) for sub in branches[index]]
            if all(part is not None for part in parts):
                return [path for part in parts for path in part or ()]
    return None


def known_only(contract: Contract, schema_name: str, value: Any) -> Any:
    """A copy of ``value`` without the properties the contract does not know (``unknown_properties``)."""
    unknown = unknown_properties(contract, schema_name, value)
    if not unknown:
        return value
    value = copy.deepcopy(value)
    for path in unknown:
        parent = value
        for part in path[:-1]:
            parent = parent[part]
        parent.pop(path[-1], None)
    return value


def json_path(path: tuple[str | int, ...]) -> str:
    """``("Webhooks", 0, "Name")`` as ``$.Webhooks[0].Name``."""
    text = "$"
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}"
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text


# The REST face's own checks register after the agent's (the order reports list them in).
import contracts.rest_checks  # noqa: E402, F401
