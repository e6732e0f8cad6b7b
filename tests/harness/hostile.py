"""Hostile bodies, and the state a request could change: ``hostile_app``, ``snapshot``,
``error_shape_problems``, ``rest_path``, ``no_traceback``, ``LAUGHS``, ``nested_json``, ``nested_xml``,
``BRIDGE``, and the REST operations that take a body (``REST_BODIES``)."""

from __future__ import annotations

import json
import re
from typing import Any, Literal
from xml.etree import ElementTree

from flask import Flask

from mockserver import MockConfig, create_app, state_of

XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
LIMIT = 1_048_576  # Limits.max_body_bytes, the default


def offline(app: Flask) -> Flask:
    """Every TargetUrl host resolves to a documentation address (192.0.2.1), outside the networks
    the mock may call: registration pings and deliveries are refused without DNS or a connection."""
    state_of(app).deliveries.resolve = lambda host, port: ["192.0.2.1"]
    return app


# The REST operations that take a body, by a path of each (``{id}``: a stored webhook's id):
# what a hostile body is sent to besides SaveWebhook (the operation's method, path, and media type
# when the body's own is not offered: PATCH takes only the JSON media types)
REST_BODIES = {
    "v1Webhook_PostWebhook": ("POST", "/api/v1/Webhook"),
    "v1Webhook_PutWebhook": ("PUT", "/api/v1/Webhook/{id}"),
    "v1Webhook_PatchWebhook": ("PATCH", "/api/v1/Webhook/{id}"),
    "v1Webhook_TestWebhook": ("POST", "/api/v1/Webhook/Test"),
    "v1Webhook_SignalEvent": ("POST", "/api/v1/Webhook/contact.created/7"),
}
_REST = re.compile(r"/api/v1/webhook(/|$)", re.IGNORECASE)


def rest_path(path: str) -> bool:
    """Whether ``path`` is one of the REST Webhook endpoints' (any case), whose answers may carry the
    REST error object (docs/fidelity.md F-202, F-203, F-205) besides the agent's."""
    return _REST.match(path) is not None


def hostile_app(
    db_path: str | None = None, *, response_validation: Literal["raise", "report"] = "raise"
) -> Flask:
    """The mock, offline, without waits. ``response_validation="report"`` records an answer that
    breaks the contract in the journal (``response_violations``) instead of raising."""
    config = MockConfig(db_path=db_path, sleep=lambda seconds: None, response_validation=response_validation)
    return offline(create_app(config))


def snapshot(app: Flask) -> tuple[Any, ...]:
    """Everything a request could change: the stored webhooks (with usage), active faults, the
    response mode and the events delivered (once the queue is drained). Not the journal nor the
    record of registration pings and TestWebhook calls (event ``test``), which log every request."""
    state = state_of(app)
    assert state.deliveries.drain(10), "deliveries still queued after 10 s"
    return (
        sorted(
            (row.webhook_id, json.dumps(row.webhook, sort_keys=True), row.owner, row.last_error)
            for row in state.store.all()
        ),
        [fault.to_json() for fault in state.faults.active()],
        state.agent.generated_seed,
        [
            (record.webhook_id, record.event, record.attempt)
            for record in state.deliveries.history()
            if record.event != "test"
        ],
    )


def error_shape_problems(content_type: str, body: bytes, *, rest: bool = False) -> list[str]:
    """How an error body departs from SuperOffice's error shapes; an empty list when it conforms.

    ASP.NET's HttpError (F-032): ``{Message, MessageDetail?, ModelState?}`` in JSON,
    ``<Error><Message>…`` in XML. With ``rest`` (a REST endpoint's answer) also the REST error object
    of api/webapi/rest/index.md: ``{Error: true, ErrorType, ErrorMessage, ErrorSource?}``, in XML
    ``<Error><Error>true</Error><ErrorType>…``."""
    if not body:
        return []
    kind = content_type.split(";")[0].strip()
    if kind in ("application/json", "text/json"):
        try:
            value = json.loads(body)
        except ValueError:
            return [f"not JSON: {body[:100]!r}"]
        if not isinstance(value, dict):
            return [f"not an object: {body[:100]!r}"]
        if rest and "Error" in value:
            return _rest_error_problems(value)
        problems = [
            f"unexpected member {key}"
            for key in value
            if key not in ("Message", "MessageDetail", "ModelState")
        ]
        if not isinstance(value.get("Message"), str):
            problems.append("no Message text")
        if not isinstance(value.get("MessageDetail", ""), str):
            problems.append("MessageDetail is not text")
        model_state = value.get("ModelState", {})
        if not isinstance(model_state, dict) or not all(
            isinstance(v, list) and all(isinstance(m, str) for m in v) for v in model_state.values()
        ):
            problems.append("ModelState is not an object of lists of texts")
        return problems
    if kind in ("application/xml", "text/xml"):
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            return [f"not XML: {body[:100]!r}"]
        if rest and root.tag == "Error" and root.find("Error") is not None:
            return _rest_error_problems({child.tag: child.text or "" for child in root}, xml=True)
        if root.tag != "Error" or root.find("Message") is None:
            return [f"not <Error><Message>: {body[:100]!r}"]
        return []
    return [f"an error body of type {content_type!r}"]


def _rest_error_problems(value: dict[str, Any], *, xml: bool = False) -> list[str]:
    problems = [
        f"unexpected member {key}"
        for key in value
        if key not in ("Error", "ErrorType", "ErrorMessage", "ErrorSource")
    ]
    if value.get("Error") != ("true" if xml else True):
        problems.append(f"Error is {value.get('Error')!r}, not true")
    for name in ("ErrorType", "ErrorMessage"):
        if not isinstance(value.get(name), str) or not value[name]:
            problems.append(f"no {name} text")
    if not isinstance(value.get("ErrorSource", ""), str):
        problems.append("ErrorSource is not text")
    return problems


def no_traceback(body: bytes) -> bool:
    return b"Traceback" not in body and b'File "' not in body


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]><Webhook><Name>&lol9;</Name></Webhook>"
)


def nested_json(levels: int) -> bytes:
    """A SaveWebhook body whose containers nest ``levels`` deep: the body (1), Properties (2), then arrays."""
    return b'{"Properties":{"a":' + b"[" * (levels - 2) + b"]" * (levels - 2) + b"}}"


def nested_xml(levels: int) -> bytes:
    """A SaveWebhook body whose elements nest ``levels`` deep: <Webhook> (1), <Properties> (2), then
    typed dictionaries of one entry (<StringObjectKeyValuePair> and its <Value>, two levels each),
    the innermost value a string, or an array of one string for an odd count."""
    pairs = (levels - 2) // 2 if levels % 2 == 0 else (levels - 3) // 2
    if levels % 2 == 0:
        innermost = '<Value xsi:type="xsd:string">v</Value>'
    else:
        innermost = '<Value xsi:type="ArrayOfanyType"><anyType xsi:type="xsd:string">v</anyType></Value>'
    opening = '<StringObjectKeyValuePair><Key>k</Key><Value xsi:type="StringObjectDictionary">' * (pairs - 1)
    closing = "</Value></StringObjectKeyValuePair>" * (pairs - 1)
    leaf = f"<StringObjectKeyValuePair><Key>k</Key>{innermost}</StringObjectKeyValuePair>"
    return f"<Webhook {XSI}><Properties>{opening}{leaf}{closing}</Properties></Webhook>".encode()


# Serves create_app() through mockserver.app.BufferedRSGI on granian's RSGI interface, as
# mockserver.server does, with a short body deadline; prints a ready line.
BRIDGE = """
import socket, sys, threading
from granian.constants import Interfaces
from granian.server import Server
from mockserver import MockConfig, create_app
from mockserver.app import BufferedRSGI
port, timeout = int(sys.argv[1]), float(sys.argv[2])
def announce():
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            threading.Event().wait(0.01)
    print(f"bridge ready at http://127.0.0.1:{port}", flush=True)
def load():
    app = BufferedRSGI(create_app(MockConfig(response_validation="report")), threads=4, body_timeout=timeout)
    threading.Thread(target=announce, daemon=True).start()
    return app
Server("bridge", address="127.0.0.1", port=port, interface=Interfaces.RSGI, log_enabled=False).serve(target_loader=load, wrap_loader=False)
"""
