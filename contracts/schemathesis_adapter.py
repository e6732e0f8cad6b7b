"""schemathesis, taught the agent (importing this module registers everything).

Use it with ``SCHEMATHESIS_HOOKS=contracts.schemathesis_adapter schemathesis run ...``. It registers:

- serializers for the agent's XML and form shapes (``contracts.wire``): schemathesis' own would
  flatten Headers and Properties, so a generated schema-valid body would not arrive as itself;
- a deserializer for XML answers, so that ``response_schema_conformance`` judges them too
  (schemathesis has none and would pass every XML answer unread);
- our named checks (``contracts.checks``) as schemathesis checks, each prefixed ``sowebhook_``;
  assumed checks (docs/fidelity.md) never fail a run, they only log a warning;
- the tenant guard: a run touches only what it created (below).

The tenant guard (on by default, whatever the server's address: a tunnel or a proxy on loopback
can front a real tenant, so an address proves nothing). Every request the run sends, in every
phase, is rewritten just before it goes out so that:

- a webhook id (any value the contract types as ``Int32Id``: query parameters and body
  properties, in any casing, at any depth) is 0 or an id this run created; anything else,
  including values a lenient server would convert to a number (``"419"``, ``419.0``, ``true``),
  becomes one of the run's own live ids, or 0 ("none") before the run has created any;
- every Webhook the run sends (SaveWebhook's body, TestWebhook's ``Webhook``) carries the run tag
  at the start of its Name, Type ``webhook`` and, as TargetUrl, ``SOWEBHOOK_TARGET_URL`` (an HTTPS
  receiver of yours that answers the registration ping with 200) or, without it, a URL under
  ``.invalid`` (RFC 6761: it never resolves, so the server pings nobody);
- SignalEvent's EventName is an event of this run's own (``<tag>.signal``), which no webhook but
  the run's can listen to.

So every SaveWebhook is a create or an update of the run's own webhook; DeleteWebhook, GetWebhook,
GetLastError and TestWebhook name only the run's ids and TargetUrls; SignalEvent sets off nobody
else's webhooks or scripts. GetAllWebhooks and CreateDefaultWebhook only read.

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
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import schemathesis
from werkzeug.datastructures import Headers

from contracts.binding import binder_for
from contracts.checks import CHECKS, CheckContext, Exchange, Violation
from contracts.spec import load
from contracts.strategies import WireRequest
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
_CREDENTIAL_HEADERS = ("authorization", "so-apptoken", "x-xsrf-token", "cookie")

_contract = load()
_wire = WireFormats(_contract)
_SCHEMAS = "#/components/schemas/"
_ID_SCHEMA = _SCHEMAS + "Int32Id"
_WEBHOOK_SCHEMA = _SCHEMAS + "Webhook"
_WEBHOOK = _contract.document["components"]["schemas"]["Webhook"]
_RULE_FIELDS = {
    rule["id"]: rule["field"]
    for rule in _contract.document["paths"]["/api/v1/Agents/Webhook/SaveWebhook"]["post"]["x-rules"]
}
_TYPE_FIELD = _RULE_FIELDS["known-type"]
_TARGET_FIELD = _RULE_FIELDS["https-target"]
_GUARDED_TYPE = _WEBHOOK["properties"][_TYPE_FIELD]["x-documented-values"][0]  # 'webhook': never a script
_NAME_FIELD = "Name"  # where the run tag goes
_NAME_LIMIT = _WEBHOOK["properties"][_NAME_FIELD]["maxLength"]
_EVENT_FIELD = "EventName"  # SignalEvent's event (SignalEventRequest)


def _operation(case: Any) -> dict[str, Any]:
    return _contract.document["paths"].get(case.operation.path, {}).get(case.operation.method.lower(), {})


def body_schema(case: Any) -> Any:
    """The contract's schema of the case's request body, in its media type."""
    content = _contract.resolve(_operation(case).get("requestBody", {})).get("content", {})
    return content.get(case.media_type, {}).get("schema", True)


def _operation_id(case: Any) -> str:
    return str(_operation(case).get("operationId", case.operation.label))


def _id_parameters(case: Any) -> list[str]:
    """The operation's query parameters that name a webhook (typed ``Int32Id`` by the contract)."""
    return [
        parameter["name"]
        for parameter in (_contract.resolve(p) for p in _operation(case).get("parameters", ()))
        if parameter.get("in") == "query" and _ID_SCHEMA in _refs(parameter.get("schema"))
    ]


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
    media_type, _ = parse_media_type(_header(response, "content-type"))
    try:
        return _wire.decode_xml(response.content, _answer_schema(ctx.operation, response.status_code, media_type))
    except WireError as error:
        raise ValueError(f"{error}") from None


def _answer_schema(operation: Any, status: int, media_type: str) -> Any:
    responses = _contract.document["paths"].get(operation.path, {}).get(operation.method.lower(), {}).get("responses", {})
    answer = _contract.resolve(responses.get(str(status), {}))
    return answer.get("content", {}).get(media_type, {}).get("schema", True)


def _header(response: Any, name: str) -> str | None:
    for key, value in response.headers.items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None


# -- checks ------------------------------------------------------------------------------------


def _exchange(case: Any, response: Any) -> Exchange:
    request = response.request
    headers = {k: v for k, v in dict(request.headers).items()} if request is not None else dict(case.headers or {})
    body = request.body if request is not None and isinstance(request.body, bytes) else b""
    wire = WireRequest(case.method.upper(), case.formatted_path, headers, body, _sent_value(case, body), case.media_type)
    pairs = [(k, v) for k, values in response.headers.items() for v in (values if isinstance(values, list) else [values])]
    return Exchange(_operation_id(case), wire, response.status_code, Headers(pairs), response.content)


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
    operation = _operation(case)
    for parameter in (_contract.resolve(p) for p in operation.get("parameters", ())):
        sent = {"query": case.query, "header": case.headers}.get(parameter.get("in"))
        for key in _variants(dict(sent or {}), parameter["name"]):
            value = sent[key]
            if not _valid(parameter.get("schema", True), _as_parameter(value, parameter.get("schema", True))):
                return False
    if case.media_type is None or case.body is None:
        return "requestBody" not in operation or not _contract.resolve(operation["requestBody"]).get("required", False)
    binder = binder_for(_contract).request_body(_operation_id(case), case.media_type)
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


def _refs(schema: Any) -> set[str]:
    """The component references a schema is (through allOf/anyOf/oneOf, not into properties)."""
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        if "$ref" in node:
            found.add(node["$ref"])
            stack.append(_contract.resolve(node))
        for key in ("allOf", "anyOf", "oneOf"):
            stack.extend(node.get(key, ()))
    return found


def _variants(value: dict[str, Any], name: str) -> list[str]:
    """The keys of ``value`` a case-insensitive binder reads as property ``name`` (JSON.NET does)."""
    folded = name.casefold()
    return [key for key in value if isinstance(key, str) and key.casefold() == folded]


def _could_name_an_id(value: Any) -> bool:
    """Whether a lenient server could read ``value`` as a webhook id (a number in any form)."""
    if isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return any(character.isdigit() for character in value)
    return False  # null, arrays and objects never bind to an int32


@dataclass
class _Target:
    """Where and as whom the run's webhooks were created: what cleanup needs to delete them."""

    base_url: str
    headers: dict[str, str]
    verify: Any = True
    app: Any = None


@dataclass
class Guard:
    """What the run created, and the rewriting that keeps every request to it (see the module)."""

    tag: str
    target_url: str | None
    enabled: bool = True
    created: dict[int, _Target] = field(default_factory=dict)
    live: list[int] = field(default_factory=list)
    deleted_by_run: set[int] = field(default_factory=set)
    rewritten: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)

    @property
    def event(self) -> str:
        return f"{self.tag}.signal"

    @property
    def url(self) -> str:
        return self.target_url or f"https://{self.tag}.invalid/hook"

    def own(self) -> set[int]:
        with self._lock:
            return set(self.created)

    # -- rewriting --

    def before(self, case: Any, kwargs: dict[str, Any]) -> None:
        self._local.app = kwargs.get("app", case.operation.app)
        self._local.verify = kwargs.get("verify", True)
        phase = str(getattr(getattr(case.meta, "phase", None), "name", None) or "direct")
        with self._lock:
            self.requests[phase] = self.requests.get(phase, 0) + 1
        if not self.enabled:
            return
        changed = self._guard_query(case)
        if case.body is not None and case.media_type:
            body = case.body
            if case.media_type == FORM_TYPE and isinstance(body, (str, bytes)):
                body = self._form_as_value(body)
            if isinstance(body, dict):
                guarded = self._guard_value(body, body_schema(case), operation_id=_operation_id(case))
                if guarded != body:
                    case.body = guarded
                    changed = True
        if changed:
            with self._lock:
                self.rewritten += 1

    def _form_as_value(self, body: str | bytes) -> Any:
        """A raw form text: as its pairs when any of them could bind to a guarded property."""
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        return dict(parse_qsl(text, keep_blank_values=True))

    def _guard_query(self, case: Any) -> bool:
        names = _id_parameters(case)
        if not names or not case.query:
            return False
        query = dict(case.query)
        changed = False
        for name in names:
            for key in _variants(query, name):
                value = query[key]
                safe = [self._safe_id(item) for item in value] if isinstance(value, list) else self._safe_id(value)
                if safe != value:
                    query[key] = safe
                    changed = True
        if changed:
            case.query = query
        return changed

    def _safe_id(self, value: Any) -> Any:
        if not _could_name_an_id(value) or (type(value) is int and (value == 0 or value in self.own())):
            return value
        with self._lock:
            if not self.live:
                return 0
            # a repeatable choice among the run's own live webhooks
            return self.live[zlib.crc32(repr(value).encode()) % len(self.live)]

    def _guard_value(self, value: dict[str, Any], schema: Any, *, operation_id: str) -> dict[str, Any]:
        value = dict(value)
        shape = _wire.shape(schema)
        for name, sub in shape.properties.items():
            keys = _variants(value, name)
            if not keys:
                continue
            refs = _refs(sub)
            if _ID_SCHEMA in refs:
                for key in keys:
                    value[key] = self._safe_id(value[key])
            elif _WEBHOOK_SCHEMA in refs:
                for key in keys:
                    if isinstance(value[key], dict):
                        value[key] = self._guard_value(value[key], sub, operation_id=operation_id)
        if _WEBHOOK_SCHEMA in _refs(schema):
            self._guard_webhook(value)
        if operation_id == "SignalEvent":
            self._set(value, _EVENT_FIELD, self.event)
        return value

    def _guard_webhook(self, webhook: dict[str, Any]) -> None:
        self._set(webhook, _TYPE_FIELD, _GUARDED_TYPE)
        self._set(webhook, _TARGET_FIELD, self.url)
        names = _variants(webhook, _NAME_FIELD)
        name = webhook[names[-1]] if names else None  # the last of duplicate keys binds (JSON.NET)
        if isinstance(name, (list, dict)):
            return  # cannot bind to a string: the server refuses the whole body
        self._set(webhook, _NAME_FIELD, self.tagged(name))

    def tagged(self, name: Any) -> str:
        """The run tag at the start of ``name``, keeping its length when the tag no longer fits,
        so that a Name over the limit stays over it (the server must still refuse it)."""
        text = name if isinstance(name, str) else ("" if name is None else str(name))
        if text.startswith(self.tag):
            return text
        prefix = f"{self.tag} "
        if len(prefix) + len(text) <= _NAME_LIMIT or len(text) < len(prefix):
            return (prefix + text)[: max(_NAME_LIMIT, len(text))]
        return prefix + text[len(prefix):]

    @staticmethod
    def _set(value: dict[str, Any], name: str, new: Any) -> None:
        for key in _variants(value, name):
            del value[key]
        value[name] = new

    # -- recording --

    def after(self, case: Any, response: Any) -> None:
        operation_id = _operation_id(case)
        if case.method.lower() != case.operation.method.lower():
            return
        if operation_id == "SaveWebhook" and response.status_code == 200:
            webhook_id = self._answered_id(response)
            if webhook_id:
                self._remember(webhook_id, response)
        elif operation_id == "DeleteWebhook" and 200 <= response.status_code < 300:
            query = dict(case.query or {})
            for key in (key for name in _id_parameters(case) for key in _variants(query, name)):
                webhook_id = query[key]
                with self._lock:
                    if type(webhook_id) is int and webhook_id in self.live:
                        self.live.remove(webhook_id)
                        self.deleted_by_run.add(webhook_id)

    def _answered_id(self, response: Any) -> int | None:
        media_type, _ = parse_media_type(_header(response, "content-type"))
        try:
            answer = _wire.decode(media_type, response.content, {"$ref": _SCHEMAS + "WebhookRecord"})
        except (WireError, ValueError):
            return None
        webhook_id = answer.get("WebhookId") if isinstance(answer, dict) else None
        return webhook_id if type(webhook_id) is int and webhook_id > 0 else None

    def _remember(self, webhook_id: int, response: Any) -> None:
        request = response.request
        url = request.url.split("/api/v1/", 1)[0] if request is not None else ""
        headers = {k: v for k, v in dict(request.headers).items() if k.lower() in _CREDENTIAL_HEADERS} if request is not None else {}
        target = _Target(url, headers, getattr(self._local, "verify", True), getattr(self._local, "app", None))
        with self._lock:
            if webhook_id not in self.created:
                self.created[webhook_id] = target
                self.live.append(webhook_id)
                self.deleted_by_run.discard(webhook_id)

    # -- cleanup --

    def cleanup(self) -> tuple[list[int], dict[int, str]]:
        """Delete every webhook the run created and still holds; (deleted, {id: why not})."""
        with self._lock:
            pending = [(webhook_id, self.created[webhook_id]) for webhook_id in self.live]
            self.live.clear()
        deleted: list[int] = []
        failed: dict[int, str] = {}
        for webhook_id, target in pending:
            try:
                status = _delete(webhook_id, target)
            except Exception as error:  # noqa: BLE001 - every failure is reported, none stops the others
                failed[webhook_id] = f"{type(error).__name__}: {error}"
                continue
            if 200 <= status < 300:
                deleted.append(webhook_id)
            else:
                failed[webhook_id] = f"answered {status}"
        return deleted, failed


def _delete(webhook_id: int, target: _Target) -> int:
    path = f"/api/v1/Agents/Webhook/DeleteWebhook?WebhookId={webhook_id}"
    if target.app is not None:
        from werkzeug.test import Client

        return Client(target.app).post(path, headers=target.headers).status_code
    import requests

    return requests.post(target.base_url + path, headers=target.headers, verify=target.verify, timeout=30).status_code


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


def _ranges(ids: list[int]) -> str:
    """``[1, 2, 3, 7]`` as ``1-3, 7``: every id, without a line of thousands."""
    spans: list[list[int]] = []
    for webhook_id in sorted(ids):
        if spans and webhook_id == spans[-1][1] + 1:
            spans[-1][1] = webhook_id
        else:
            spans.append([webhook_id, webhook_id])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans) or "none"


@atexit.register
def _clean_up_at_exit() -> None:
    if not guard.requests:
        return
    deleted, failed = guard.cleanup()
    sent = ", ".join(f"{phase} {count}" for phase, count in sorted(guard.requests.items()))
    print(
        f"sowebhook: run {guard.tag} sent {sum(guard.requests.values())} request(s) ({sent}), {guard.rewritten} rewritten"
        f" by the tenant guard; created {len(guard.created)} webhook(s): deleted by the run itself"
        f" {_ranges(sorted(guard.deleted_by_run))}; deleted now {_ranges(deleted)}",
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
