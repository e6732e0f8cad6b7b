"""schemathesis, taught the agent (importing this module registers everything).

Use it with ``SCHEMATHESIS_HOOKS=contracts.schemathesis_adapter schemathesis run ...``. It registers:

- serializers for the agent's XML and form shapes (``contracts.wire``): schemathesis' own would
  flatten Headers and Properties, so a generated schema-valid body would not arrive as itself;
- a deserializer for XML answers, so that ``response_schema_conformance`` judges them too
  (schemathesis has none and would pass every XML answer unread);
- our named checks (``contracts.checks``) as schemathesis checks, each prefixed ``sowebhook_``;
  assumed checks (docs/fidelity.md) never fail a run, they only log a warning;
- the tenant guard: a run touches only what it created (below).

The tenant guard (``contracts.tenant_guard``; on by default, whatever the server's address: a
tunnel or a proxy on loopback can front a real tenant, so an address proves nothing) rewrites
every request just before it goes out, so that every SaveWebhook is a create or an update of the
run's own webhook; DeleteWebhook, GetWebhook, GetLastError and TestWebhook name only the run's ids
and TargetUrls; SignalEvent sets off nobody else's webhooks or scripts. GetAllWebhooks and
CreateDefaultWebhook only read.

Which hook covers which phase (schemathesis 4.32, read from its source):

- ``before_call`` runs in ``Case.call`` for every request sent through it: the examples,
  coverage, fuzzing and stateful phases, schemathesis' replays of cached cases and its requests
  without credentials, with ``--workers N`` in each worker thread. It is the guard.
- ``map_case`` and ``filter_case`` are applied to coverage cases and to generated strategies
  (fuzzing, stateful), but not to the examples phase (the seed example's ``WebhookId: 419`` went
  out untouched), and ``map_body`` not even to coverage: neither can be the guard.
- ``after_call`` runs after every answered ``Case.call``: it records the ids the run creates and
  deletes. The checks that probe without credentials (``ignored_auth``) send a copy of the case
  the guard already rewrote.

Cleanup: when the process ends (also after a failed run, Ctrl-C or SIGTERM), every webhook the
run created and did not delete itself is deleted, and stderr says which ones were deleted and
which could not be. ``SOWEBHOOK_UNRESTRICTED=1`` turns the guard off: unrestricted fuzzing of
every id, event and URL, for the mock only (it can delete and set off anything on a real server).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import secrets
import signal
import sys
import threading
from typing import Any

import schemathesis
from werkzeug.datastructures import Headers

from contracts.binding import binder_for
from contracts.checks import CHECKS, CheckContext, Exchange, Violation
from contracts.exchange import WireRequest
from contracts.spec import load
from contracts.tenant_guard import Guard, body_schema, header, operation_id, operation_of, ranges, variants
from contracts.wire import FORM_TYPE, XML_TYPES, WireError, WireFormats, parse_media_type

__all__ = ["RUN_TAG", "body_schema", "created_webhooks", "guard"]

log = logging.getLogger("sowebhook.schemathesis")
RUN_TAG = os.environ.get("SOWEBHOOK_RUN_TAG") or f"sowebhook-st-{secrets.token_hex(4)}"
# Single-exchange checks; the ones that need a model of the server's state run in `sowebhook verify`.
_EXCHANGE_CHECKS = [
    "content_type_conformance",
    "response_schema_conformance",
    "error_shape",
    "content_negotiation",
    "save_echoes_client_fields",
]
_contract = load()
_wire = WireFormats(_contract)


# -- wire formats ------------------------------------------------------------------------------


@schemathesis.serializer(FORM_TYPE)
def _form(ctx: Any, value: Any) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        return str(value).encode("utf-8")
    schema = body_schema(ctx.case)
    restored = _restore_nulls(value, schema)
    return _wire.encode_form(restored, schema)


def _restore_nulls(value: Any, schema: Any) -> Any:
    """schemathesis turns None into the text "null" and booleans into "true"/"false" before
    serializers see a form body, at any depth; where the schema allows null (a boolean) but not
    that text, the text can only have been None (the boolean)."""
    shape = _wire.shape(schema)
    if isinstance(value, str) and not shape.is_any and value in _FORM_TEXTS:
        original = _FORM_TEXTS[value]
        kind = "null" if original is None else "boolean"
        if kind in shape.types and ("string" not in shape.types or not _valid(schema, value)):
            return original
    if isinstance(value, dict) and shape.properties:
        return {name: _restore_nulls(item, shape.properties.get(name, True)) for name, item in value.items()}
    if isinstance(value, list) and shape.items is not None:
        return [_restore_nulls(item, shape.items) for item in value]
    return value


_FORM_TEXTS = {"null": None, "true": True, "false": False}


@schemathesis.serializer(*sorted(XML_TYPES))
def _xml(ctx: Any, value: Any) -> bytes | None:
    if value is None:
        return None
    return _wire.encode_xml(value, body_schema(ctx.case))


@schemathesis.deserializer(*sorted(XML_TYPES))
def _xml_answer(ctx: Any, response: Any) -> Any:
    """An XML answer as the JSON value it carries, read by the contract's schema of that answer,
    so that schemathesis' response_schema_conformance can judge it."""
    media_type, _ = parse_media_type(header(response, "content-type"))
    try:
        return _wire.decode_xml(response.content, _answer_schema(ctx.operation, response.status_code, media_type))
    except WireError as error:
        raise ValueError(f"{error}") from None


def _answer_schema(operation: Any, status: int, media_type: str) -> Any:
    served = _contract.paths.get(operation.path, {}).get(operation.method.upper())
    schema = None if served is None else served.response_schema(status, media_type)
    return True if schema is None else schema


# -- checks ------------------------------------------------------------------------------------


def _exchange(case: Any, response: Any) -> Exchange:
    request = response.request
    headers = {k: v for k, v in dict(request.headers).items()} if request is not None else dict(case.headers or {})
    body = request.body if request is not None and isinstance(request.body, bytes) else b""
    wire = WireRequest(case.method.upper(), case.formatted_path, headers, body, _sent_value(case, body), case.media_type)
    pairs = [(k, v) for k, values in response.headers.items() for v in (values if isinstance(values, list) else [values])]
    return Exchange(operation_id(case), wire, response.status_code, Headers(pairs), response.content)


def _sent_value(case: Any, body: bytes) -> Any:
    """The value the bytes on the wire carry (schemathesis may have rewritten the case's body)."""
    if not body or not case.media_type:
        return None
    try:
        return _wire.decode(case.media_type, body, body_schema(case))
    except ValueError:
        return None


def _register(name: str) -> None:
    function = CHECKS[name]

    def run(ctx: Any, response: Any, case: Any) -> bool | None:
        if case.method.lower() != case.operation.method.lower():
            return None  # schemathesis probing an undeclared method: the contract says nothing
        try:
            function(CheckContext(), _exchange(case, response))
        except Violation as violation:
            if violation.basis == "assumed":
                log.warning("assumption not met (%s): %s", name, violation.message)
                return None
            raise AssertionError(f"{violation.title}: {violation.message}") from None
        return None

    run.__name__ = f"sowebhook_{name}"
    schemathesis.check(run)


for _name in _EXCHANGE_CHECKS:
    _register(_name)


# -- what the server rightly accepts -----------------------------------------------------------


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but a "schema-violating request accepted" (ST201) that SuperOffice is
    right to accept: one its binder reads as a valid request. JSON.NET and ASP.NET bind names in
    any casing and convert lenient values (``"42"`` for 42, ``3`` for a flags enum), and ignore
    unknown members and query parameters (docs/fidelity.md F-170 to F-189, ``contracts.binding``),
    so schemathesis' negative cases of that kind are valid requests to the server."""
    from schemathesis.core.failures import AcceptedNegativeData

    return not (isinstance(failure, AcceptedNegativeData) and _read_as_valid(case))


def _read_as_valid(case: Any) -> bool:
    operation = operation_of(case)
    if operation is None:
        return False
    for parameter in operation.parameters:
        sent = {"query": case.query, "header": case.headers}.get(str(parameter.get("in"))) or {}
        for key in variants(dict(sent), parameter["name"]):
            value = sent[key]
            if not _valid(parameter.get("schema", True), _as_parameter(value, parameter.get("schema", True))):
                return False
    if case.media_type is None or case.body is None:
        return not operation.body_required
    binder = binder_for(_contract).request_body(operation_id(case), case.media_type)
    if binder is None or not isinstance(case.body, (dict, list)):
        return False
    return _valid(body_schema(case), binder.bind(case.body).value)


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


def _valid(schema: Any, value: Any) -> bool:
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
    registry = Registry().with_resource(_URN, Resource.from_contents(document, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"{_URN}#/x-judged"}, registry=registry)


_URN = "urn:sowebhook:schemathesis-adapter"


# -- the tenant guard --------------------------------------------------------------------------


guard = Guard(
    RUN_TAG,
    os.environ.get("SOWEBHOOK_TARGET_URL") or None,
    enabled=os.environ.get("SOWEBHOOK_UNRESTRICTED", "") not in ("1", "true", "yes"),
)
if not guard.enabled:
    log.warning("SOWEBHOOK_UNRESTRICTED is set: the run may change, delete and set off webhooks it did not create")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    guard.before(case, kwargs)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    guard.after(case, response)


def created_webhooks() -> dict[int, tuple[str, dict[str, str]]]:
    """Every webhook the run created: id -> (base URL, the credentials it was created with)."""
    with guard._lock:
        return {webhook_id: (target.base_url, target.headers) for webhook_id, target in guard.created.items()}


@atexit.register
def _clean_up_at_exit() -> None:
    if not guard.requests:
        return
    deleted, failed = guard.cleanup()
    sent = ", ".join(f"{phase} {count}" for phase, count in sorted(guard.requests.items()))
    print(
        f"sowebhook: run {guard.tag} sent {sum(guard.requests.values())} request(s) ({sent}), {guard.rewritten} rewritten"
        f" by the tenant guard; created {len(guard.created)} webhook(s): deleted by the run itself"
        f" {ranges(sorted(guard.deleted_by_run))}; deleted now {ranges(deleted)}",
        file=sys.stderr,
    )
    for webhook_id, why in sorted(failed.items()):
        print(f"sowebhook: could NOT delete webhook {webhook_id} of run {guard.tag}: {why}", file=sys.stderr)


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # schemathesis stops the run as on Ctrl-C, and the exit cleans up


if (
    os.path.basename(sys.argv[0]) in ("schemathesis", "st")
    and threading.current_thread() is threading.main_thread()
    and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
):
    signal.signal(signal.SIGTERM, _terminate)
