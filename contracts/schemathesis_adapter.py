"""schemathesis, taught the agent (importing this module registers everything):

- serializers for the agent's XML and form shapes (``contracts.wire``): schemathesis' own would
  flatten Headers and Properties, so a generated schema-valid body would not arrive as itself;
- our named checks (``contracts.checks``) as schemathesis checks, each prefixed ``sowebhook_``;
  assumed checks (docs/fidelity.md) never fail a run, they only log a warning;
- hooks that keep a run against a real tenant safe: generated SaveWebhook bodies get the run tag
  in their Name and, when ``SOWEBHOOK_TARGET_URL`` is set, that TargetUrl (an HTTPS receiver that
  answers the registration ping) and Type ``webhook``; every webhook the run creates is deleted
  when the process ends.

Use it with ``SCHEMATHESIS_HOOKS=contracts.schemathesis_adapter schemathesis run ...``.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import threading
from typing import Any

import schemathesis
from werkzeug.datastructures import Headers

from contracts.checks import CHECKS, CheckContext, Exchange, Violation
from contracts.strategies import WireRequest

from contracts.spec import load
from contracts.wire import FORM_TYPE, XML_TYPES, WireFormats

__all__ = ["RUN_TAG", "body_schema", "created_webhooks"]

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
_NAME_LIMIT = load().document["components"]["schemas"]["Webhook"]["properties"]["Name"]["maxLength"]
_created: dict[int, tuple[str, dict[str, str]]] = {}
_created_lock = threading.Lock()

_wire = WireFormats(load())


def body_schema(case: Any) -> Any:
    """The contract's schema of the case's request body, in its media type."""
    operation = load().document["paths"][case.operation.path][case.operation.method.lower()]
    content = load().resolve(operation.get("requestBody", {})).get("content", {})
    return content.get(case.media_type, {}).get("schema", True)


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
    """schemathesis turns None into the text "null" before serializers see a form body, at any
    depth; where the schema allows null but no text, that text can only have been None."""
    shape = _wire.shape(schema)
    if value == "null" and "string" not in shape.types and not shape.is_any:
        return None
    if isinstance(value, dict) and shape.properties:
        return {name: _restore_nulls(item, shape.properties.get(name, True)) for name, item in value.items()}
    return value


@schemathesis.serializer(*sorted(XML_TYPES))
def _xml(ctx: Any, value: Any) -> bytes | None:
    if value is None:
        return None
    return _wire.encode_xml(value, body_schema(ctx.case))


def _operation_id(case: Any) -> str:
    operation = load().document["paths"].get(case.operation.path, {}).get(case.operation.method.lower(), {})
    return operation.get("operationId", case.operation.label)


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


@schemathesis.hook("map_body")
def _tag_and_target(context: Any, body: Any) -> Any:
    operation = getattr(context, "operation", None)
    if operation is None or not operation.path.endswith("/SaveWebhook") or not isinstance(body, dict):
        return body
    name = body.get("Name")
    tagged = f"{RUN_TAG} {name or ''}"
    if (name is None or isinstance(name, str)) and len(tagged) <= _NAME_LIMIT:  # never make a body valid or invalid
        body = {**body, "Name": tagged}
    target = os.environ.get("SOWEBHOOK_TARGET_URL")
    if target and all(body.get(k) is None or isinstance(body.get(k), str) for k in ("TargetUrl", "Type")):
        body.update({"TargetUrl": target, "Type": "webhook"})
    return body


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    if not case.operation.path.endswith("/SaveWebhook") or response.status_code != 200 or response.request is None:
        return
    try:
        webhook_id = response.json().get("WebhookId")
    except ValueError:
        return
    if webhook_id:
        url = response.request.url.split("/api/v1/", 1)[0]
        credentials = {k: v for k, v in dict(response.request.headers).items() if k.lower() in ("authorization", "so-apptoken", "x-xsrf-token", "cookie")}
        with _created_lock:
            _created[webhook_id] = (url, credentials)


def created_webhooks() -> dict[int, tuple[str, dict[str, str]]]:
    with _created_lock:
        return dict(_created)


@atexit.register
def _delete_created() -> None:
    """Delete what the run created (on a real server; an in-process app goes away by itself)."""
    import requests

    for webhook_id, (url, headers) in created_webhooks().items():
        if not url.startswith("http") or "localhost" == url.split("//", 1)[-1].split(":")[0] and not url.split(":")[-1].isdigit():
            continue
        try:
            requests.post(f"{url}/api/v1/Agents/Webhook/DeleteWebhook?WebhookId={webhook_id}", headers=headers, timeout=10)
        except requests.RequestException:
            log.warning("could not delete webhook %s created by run %s", webhook_id, RUN_TAG)
