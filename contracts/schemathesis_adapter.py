"""schemathesis, taught the agent (importing this module registers everything).

Use it with ``SCHEMATHESIS_HOOKS=contracts.schemathesis_adapter schemathesis run ...``. It registers:

- serializers for the agent's XML and form shapes (``contracts.wire``): schemathesis' own would
  flatten Headers and Properties, so a generated schema-valid body would not arrive as itself;
- a deserializer for XML answers, so that ``response_schema_conformance`` judges them too
  (schemathesis has none and would pass every XML answer unread);
- our named checks (``contracts.checks``) as schemathesis checks, each prefixed ``sowebhook_``;
  assumed checks (docs/fidelity.md) never fail a run, they only log a warning;
- a ``filter_failure`` hook that drops the failures the server is right about
  (``contracts.schemathesis_verdicts``): negative cases its binder reads as valid, answers to a
  path no route takes, PATCHes that do not apply to the stored webhook (for which it keeps the
  webhooks as the run last saw them answered);
- the tenant guard: a run touches only what it created (below).

The tenant guard (``contracts.tenant_guard``; on by default, whatever the server's address: a
tunnel or a proxy on loopback can front a real tenant, so an address proves nothing) rewrites
every request just before it goes out, so that every SaveWebhook (and REST POST, PUT and PATCH of
/api/v1/Webhook) is a create or an update of the run's own webhook; DeleteWebhook, GetWebhook,
GetLastError and TestWebhook, by the agent or by REST path, name only the run's ids and TargetUrls;
SignalEvent sets off nobody else's webhooks or scripts. GetAllWebhooks and CreateDefaultWebhook
(and their REST faces) only read.

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
import logging
import os
import secrets
import signal
import sys
import threading
from typing import Any
from urllib.parse import urlencode, urlsplit

import schemathesis
from werkzeug.datastructures import Headers

from contracts.checks import CHECKS, CheckContext, Exchange, Violation
from contracts.exchange import WireRequest
from contracts.schemathesis_verdicts import (
    is_unrouted_answer,
    read_as_valid,
    rightly_refused_patch,
    rightly_refused_save,
    unrouted,
    valid,
)
from contracts.spec import load
from contracts.tenant_guard import Guard
from contracts.tenant_scope import (
    body_schema,
    deletes,
    header,
    id_parameters,
    is_webhook,
    operation_id,
    operation_of,
    ranges,
    variants,
)
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
        if kind in shape.types and ("string" not in shape.types or not valid(schema, value)):
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
    errors: list[WireError] = []
    for schema in _answer_schemas(ctx.operation, response.status_code, media_type):
        try:
            return _wire.decode_xml(response.content, schema)
        except WireError as error:
            errors.append(error)
    raise ValueError(f"{errors[0]}") from None


def _answer_schemas(operation: Any, status: int, media_type: str) -> list[Any]:
    """The schemas an answer may be read by: the operation's for the status, then the document's
    answer to a request no route takes (a REST path with an id that is no int32 is one, F-200)."""
    served = _contract.paths.get(operation.path, {}).get(operation.method.upper())
    schemas = [None if served is None else served.response_schema(status, media_type)]
    unrouted = _contract.unrouted.get(str(status))
    if unrouted is not None:
        schemas.append(unrouted.get("content", {}).get(media_type, {}).get("schema"))
    return [schema for schema in schemas if schema is not None] or [True]


# -- checks ------------------------------------------------------------------------------------


def _exchange(case: Any, response: Any) -> Exchange:
    request = response.request
    headers = (
        {k: v for k, v in dict(request.headers).items()} if request is not None else dict(case.headers or {})
    )
    body = request.body if request is not None and isinstance(request.body, bytes) else b""
    # the path as the contract names it (no base path of the server's), with the query as sent
    query = (
        urlsplit(str(request.url)).query if request is not None else urlencode(case.query or {}, doseq=True)
    )
    path = case.formatted_path + (f"?{query}" if query else "")
    wire = WireRequest(case.method.upper(), path, headers, body, _sent_value(case, body), case.media_type)
    pairs = [
        (k, v)
        for k, values in response.headers.items()
        for v in (values if isinstance(values, list) else [values])
    ]
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


# -- what the server is right about ------------------------------------------------------------


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but those the server is right about (``contracts.schemathesis_verdicts``):
    an accepted "schema-violating" request (ST201) that the server binds to a valid one; anything
    judged on the answer to a path no route takes (F-200); a rejected "schema-valid" PATCH (ST202)
    that does not apply, or does not leave a valid webhook (F-203), or a save whose Headers no HTTP
    request can carry."""
    from schemathesis.core.failures import AcceptedNegativeData
    from schemathesis.openapi.checks import RejectedPositiveData

    if unrouted(case) and is_unrouted_answer(response):
        return False
    if isinstance(failure, AcceptedNegativeData):
        request = response.request
        return not read_as_valid(
            case, request.body if request is not None and isinstance(request.body, bytes) else None
        )
    if isinstance(failure, RejectedPositiveData):
        return not (_judge_patch(case, response) or rightly_refused_save(case, response))
    return True


# The webhooks as the run last saw them answered, by id, and whether the answer was whole ($select
# nulls what it does not name, but never the dates of the last change): what a PATCH was applied
# to, for judging its refusal.
_seen: dict[int, tuple[dict[str, Any], bool]] = {}
_seen_lock = threading.Lock()


def _sent_ids(case: Any) -> list[Any]:
    """The id values the request sent: a repeated query parameter (a list) gives each of its values."""
    operation = operation_of(case)
    query = dict(case.query or {})
    sent = [
        value
        for where, name in id_parameters(operation)
        for value in (
            [case.path_parameters.get(name)]
            if where == "path"
            else [query[key] for key in variants(query, name)]
        )
    ]
    return [
        item for value in sent for item in (value if isinstance(value, list) else [value]) if _scalar(item)
    ]


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float))


def _judge_patch(case: Any, response: Any) -> bool:
    ids = _sent_ids(case)
    with _seen_lock:
        seen, whole = _seen.get(ids[0], ({}, False)) if len(ids) == 1 and type(ids[0]) is int else ({}, False)
    return rightly_refused_patch(case, response, seen if whole else None, changed=seen or None)


def _see(case: Any, response: Any) -> None:
    operation = operation_of(case)
    if operation is None or case.method.lower() != case.operation.method.lower():
        return
    if deletes(operation) and 200 <= response.status_code < 300:
        with _seen_lock:
            for webhook_id in _sent_ids(case):
                _seen.pop(webhook_id, None)
        return
    media_type, _ = parse_media_type(header(response, "content-type"))
    schema = operation.response_schema(response.status_code, media_type)
    if response.status_code != 200 or not is_webhook(schema):
        return
    try:
        answer = _wire.decode(media_type, response.content, schema)
    except (WireError, ValueError):
        return
    webhook_id = answer.get("WebhookId") if isinstance(answer, dict) else None
    if type(webhook_id) is int:
        narrowed = any(
            value not in ("", None)
            for key, value in (case.query or {}).items()
            if key.casefold() == "$select"
        )
        with _seen_lock:
            _seen[webhook_id] = (
                {name: value for name, value in answer.items() if name != "_Links"},
                not narrowed,
            )


# -- the tenant guard --------------------------------------------------------------------------


guard = Guard(
    RUN_TAG,
    os.environ.get("SOWEBHOOK_TARGET_URL") or None,
    enabled=os.environ.get("SOWEBHOOK_UNRESTRICTED", "") not in ("1", "true", "yes"),
)
if not guard.enabled:
    log.warning(
        "SOWEBHOOK_UNRESTRICTED is set: the run may change, delete and set off webhooks it did not create"
    )


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    guard.before(case, kwargs)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    guard.after(case, response)
    _see(case, response)


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
