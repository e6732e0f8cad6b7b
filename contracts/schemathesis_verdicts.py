"""Which of schemathesis' failures the server is right about (the adapter's ``filter_failure``).

schemathesis judges a request by its schema alone; SuperOffice's server binds it first, routes it
as ASP.NET routes, and judges a PATCH by what it does to the stored webhook. Three kinds of its
failures are therefore the server being right, and each is decided here with the contract's own
modules as the oracle, never with the server's answer alone:

- ``read_as_valid``: a "schema-violating request accepted" (ST201) whose request the server's
  binder reads as a valid one: names in any casing, lenient values (``"42"`` for 42), unknown
  members and query parameters ignored, an empty query value read as none, a blank optional body
  read as none (docs/fidelity.md F-043, F-170 to F-189; ``contracts.binding``);
- ``unrouted`` and ``is_unrouted_answer``: any failure judged on the answer to a path no route
  takes, an integer path parameter that is no int32 (``/api/v1/Webhook/abc``), which is the
  document's ``x-sowebhook-unrouted`` 404 rather than one of the operation's answers (F-200);
- ``rightly_refused_save``: a "schema-valid request rejected" (ST202) save of a webhook whose
  Headers no HTTP request can carry (the server pings the TargetUrl with them as it saves);
- ``rightly_refused_patch``: a "schema-valid request rejected" (ST202) PATCH, whose schema (any
  JSON Patch, any merge patch) cannot say which patches apply: refused because the patch
  document names no property of the Webhook or lacks a value (``contracts.patch``, whatever the
  stored webhook), or, the stored webhook known from the run's own answers, because it does not
  apply to it, the result is no valid SaveWebhook body, or If-Unmodified-Since is earlier than
  its last change (F-203, F-205).

Nothing here imports schemathesis: a case and a response are read through their attributes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from contracts.binding import binder_for
from contracts.patch import PatchError, apply, operations, unmodified_since
from contracts.spec import load
from contracts.tenant_scope import (
    SAVED_SCHEMA,
    body_schema,
    header,
    is_patch,
    is_webhook,
    operation_id,
    operation_of,
    path_text,
    saves,
    variants,
)
from contracts.wire import WireError, WireFormats, parse_media_type

__all__ = [
    "int32",
    "is_unrouted_answer",
    "read_as_valid",
    "rightly_refused_patch",
    "rightly_refused_save",
    "unrouted",
    "valid",
]

_contract = load()
_wire = WireFormats(_contract)
_FIELDS = list(_wire.shape(SAVED_SCHEMA).properties)
_IF_UNMODIFIED_SINCE = "if-unmodified-since"
_HEADERS_FIELD = "Headers"  # the Webhook's "Custom HTTP Headers to add to webhook requests"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a header name (RFC 9110 5.1, 5.6.2)


def read_as_valid(case: Any, sent: bytes | None) -> bool:
    """Whether the server binds the case's request (``sent``: its body's bytes) to a valid one."""
    operation = operation_of(case)
    if operation is None:
        return False
    for parameter in operation.parameters:
        where = str(parameter.get("in"))
        values = {"query": case.query, "header": case.headers, "path": case.path_parameters}.get(where) or {}
        schema = parameter.get("schema", True)
        for key in variants(dict(values), parameter["name"]):
            value = values[key]
            if where == "query" and value in ("", [""]):
                continue  # ASP.NET binds an empty query value to null: none was sent (F-043)
            if not valid(
                schema, _as_path(value, schema) if where == "path" else _as_parameter(value, schema)
            ):
                return False
    if case.media_type is None or case.body is None or (sent is not None and not sent.strip()):
        return not operation.body_required  # a blank body is none (as the mock reads it)
    binder = binder_for(_contract).request_body(operation_id(case), case.media_type)
    if binder is None or not isinstance(case.body, (dict, list)):
        return False
    return valid(body_schema(case), binder.bind(case.body).value)


def unrouted(case: Any) -> bool:
    """Whether ASP.NET routes no operation for the case's path: a path parameter the contract types
    integer (``{id:int}``) whose segment is no int32 (an optional sign and digits, F-200)."""
    operation = operation_of(case)
    for parameter in operation.parameters if operation is not None else ():
        name = parameter["name"]
        if (
            parameter["in"] == "path"
            and name in (case.path_parameters or {})
            and "integer" in _wire.shape(parameter.get("schema", True)).types
            and int32(path_text(case.path_parameters[name])) is None
        ):
            return True
    return False


def is_unrouted_answer(response: Any) -> bool:
    """Whether the answer is the document's own to a path no route takes (its status, its body)."""
    declared = _contract.unrouted.get(str(response.status_code))
    if declared is None:
        return False
    media_type, _ = parse_media_type(header(response, "content-type"))
    schema = declared.get("content", {}).get(media_type, {}).get("schema")
    if schema is None:
        return False
    try:
        value = _wire.decode(media_type, response.content, schema)
    except (WireError, ValueError):
        return False
    return valid(schema, value)


def rightly_refused_patch(
    case: Any, response: Any, current: Mapping[str, Any] | None, *, changed: Mapping[str, Any] | None = None
) -> bool:
    """Whether a PATCH the server refused (400, 412) had to be refused; ``current`` is the stored
    webhook as the run last saw it (None: not known, and only what holds of any webhook counts),
    ``changed`` what the run knows of its last change (``Updated``, ``Registered``; else ``current``)."""
    operation = operation_of(case)
    if (
        operation is None
        or not is_patch(operation, body_schema(case))
        or response.status_code not in (400, 412)
    ):
        return False
    binder = binder_for(_contract).request_body(operation_id(case), case.media_type or "application/json")
    if binder is None or not isinstance(case.body, (dict, list)):
        return False
    changes = binder.bind(case.body).value
    if response.status_code == 412:  # whatever the patch is: the server may look at the date first
        since = [value for key, value in (case.headers or {}).items() if key.lower() == _IF_UNMODIFIED_SINCE]
        dates = changed if changed is not None else current
        return dates is not None and bool(since) and not unmodified_since(str(since[-1]), dates)
    try:
        operations(changes, current or {}, _FIELDS)
    except PatchError:
        return True  # refused whatever the stored webhook is
    if current is None:
        return False
    try:
        patched = apply(current, changes, _FIELDS)
    except PatchError as error:
        return bool(error.status == 400)
    return not valid(SAVED_SCHEMA, patched)


def rightly_refused_save(case: Any, response: Any) -> bool:
    """Whether a save the server refused (400) had to be refused because its webhook's Headers
    cannot go on the wire: the server pings the TargetUrl with them as it saves (the registration
    ping of register.md), and no HTTP request carries a header name that is no token (RFC 9110
    5.1), nor a value with CR, LF or NUL (5.5) or beyond Latin-1 (octets)."""
    operation = operation_of(case)
    schema = body_schema(case)
    if operation is None or response.status_code != 400 or not saves(operation) or not is_webhook(schema):
        return False
    binder = binder_for(_contract).request_body(operation.operation_id, case.media_type or "application/json")
    if binder is None or not isinstance(case.body, dict):
        return False
    headers = binder.bind(case.body).value.get(_HEADERS_FIELD)
    return isinstance(headers, dict) and any(
        not _TOKEN.fullmatch(str(name)) or not _sendable(value) for name, value in headers.items()
    )


def _sendable(value: Any) -> bool:
    text = value if isinstance(value, str) else ""
    return not any(char in text for char in "\r\n\0") and all(ord(char) < 256 for char in text)


def int32(text: str) -> int | None:
    """The int32 a route's ``{id:int}`` reads from a segment (None: the constraint fails)."""
    digits = text[1:] if text[:1] in "+-" else text
    if not (digits.isascii() and digits.isdigit()):
        return None
    value = int(text)
    return value if -(2**31) <= value < 2**31 else None


def _as_path(value: Any, schema: Any) -> Any:
    """A path segment as the route reads it: an int32 where the schema has an integer, else text."""
    text = path_text(value)
    number = int32(text) if "integer" in _wire.shape(schema).types else None
    return text if number is None else number


def _as_parameter(value: Any, schema: Any) -> Any:
    """A query or header value as ASP.NET reads it: text, an integer where the schema has one."""
    if isinstance(value, list):
        value = value[0] if value else ""
    text = value if isinstance(value, str) else json.dumps(value)
    if "integer" in _wire.shape(schema).types:
        try:
            return int(text.strip())
        except ValueError:
            return text
    return text


def valid(schema: Any, value: Any) -> bool:
    """Whether ``value`` is valid against ``schema`` (a node of the contract)."""
    validator = _VALIDATORS.get(id(schema))
    if validator is None:
        validator = _VALIDATORS[id(schema)] = _validator(schema)
    return bool(validator.is_valid(value))


_VALIDATORS: dict[int, Any] = {}  # by the id of a schema node of the contract (they live as long)


def _validator(schema: Any) -> Any:
    """A JSON Schema validator of ``schema``, with the contract as the document its
    ``#/components/...`` references resolve in."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    document = {**_contract.document, "x-judged": schema}
    registry = Registry().with_resource(
        _URN, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    return Draft202012Validator({"$ref": f"{_URN}#/x-judged"}, registry=registry)


_URN = "urn:sowebhook:schemathesis-adapter"
