"""``create_app(config) -> Flask``: the mock of SuperOffice's Webhook agent.

Every request goes through the same steps, in the order ASP.NET Web API takes them: route
(404/405), authentication (401/403), media type (415), body (400), contract validation (400),
then the operation. Every answer, error or not, is encoded in the negotiated media type, checked
against the contract (``Seam.check_response``), journalled and logged in one line.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from contracts.spec import Contract, load
from contracts.wire import WireFormats, encode_json, negotiate, parse_media_type
from mockserver.agent import Agent, Call
from mockserver.auth import Authenticator
from mockserver.config import MockConfig
from mockserver.delivery import Deliveries
from mockserver.errors import AgentError, MockError, ResponseContractViolation
from mockserver.faults import Faults
from mockserver.journal import Journal, JournalEntry, mask_body
from mockserver.seam import Operation, Seam
from mockserver.store import Store, open_store

__all__ = ["MockState", "create_app", "state_of"]

log = logging.getLogger("sowebhook.mock")
EXTENSION = "sowebhook"
_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]
_ERROR_SCHEMA = {"$ref": "#/components/schemas/AgentError"}


@dataclass
class MockState:
    """Everything one mock app owns; ``app.extensions['sowebhook']``."""

    config: MockConfig
    contract: Contract
    wire: WireFormats
    seam: Seam
    store: Store
    journal: Journal
    faults: Faults
    auth: Authenticator
    deliveries: Deliveries
    agent: Agent


def state_of(app: Flask) -> MockState:
    return app.extensions[EXTENSION]


def create_app(config: MockConfig | None = None, *, store: Store | None = None) -> Flask:
    """A new, independent mock app. ``store`` overrides the store ``config.db_path`` names."""
    config = config or MockConfig()
    contract = load()
    wire = WireFormats(contract)
    store = store or open_store(config.db_path)
    sleep = config.sleep or time.sleep
    deliveries = Deliveries(config, store, sleep)
    state = MockState(
        config=config,
        contract=contract,
        wire=wire,
        seam=Seam(contract, wire),
        store=store,
        journal=Journal(config.limits.journal_entries),
        faults=Faults(sleep),
        auth=Authenticator(config),
        deliveries=deliveries,
        agent=Agent(config, store, contract, deliveries),
    )
    app = Flask("mockserver")
    app.config["MAX_CONTENT_LENGTH"] = config.limits.max_body_bytes
    # "raise": a response that breaks the contract (a bug in the mock) reaches the test that caused it
    app.config["PROPAGATE_EXCEPTIONS"] = config.response_validation == "raise"
    app.extensions[EXTENSION] = state

    from mockserver.admin import blueprint

    app.register_blueprint(blueprint, url_prefix="/__mock__")

    @app.get("/openapi.json")
    def openapi_json() -> Response:
        return Response(contract.as_json(), mimetype="application/json")

    @app.get("/openapi.yaml")
    def openapi_yaml() -> Response:
        return Response(contract.text, mimetype="application/yaml")

    @app.route("/", defaults={"path": ""}, methods=_ALL_METHODS)
    @app.route("/<path:path>", methods=_ALL_METHODS)
    def agent_call(path: str) -> Response:
        return _answer(state)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        # Werkzeug's own refusals (a body over the limit, a malformed request line) in the agent's shape.
        if isinstance(error, MethodNotAllowed):  # a method no route lists: the seam says 405 with Allow
            return _answer(state)
        if isinstance(error, RequestEntityTooLarge):
            failure = AgentError(
                413,
                "The request entity is too large.",
                f"The body exceeds the limit of {config.limits.max_body_bytes} bytes.",
            )
        else:
            failure = AgentError(error.code or 400, error.name, error.description)
        return _error_response(state, failure, None, None)

    return app


def _answer(state: MockState) -> Response:
    started = time.perf_counter()
    raw = request.get_data(cache=True)
    entry = state.journal.begin(request.method, request.path, request.args, request.headers.items(), raw)
    operation: Operation | None = None
    accept = negotiate(request.headers.get("Accept"), parse_media_type(request.content_type)[0])
    try:
        operation = state.seam.route(request.path, request.method)
        entry.operation = operation.operation_id
        injected = state.faults.before(operation.operation_id)
        if injected is not None:
            entry.verdict = "injected"
            response = _encode(state, injected.status, injected.body, _ERROR_SCHEMA, accept)
            return _finish(state, entry, response, started)
        principal = state.auth.authenticate(request.headers, request.cookies)
        state.auth.authorize_agent(principal)
        body, media_type = state.seam.read_body(operation, request.content_type, raw)
        entry.body = mask_body(body) if media_type else entry.body
        validated = state.seam.validate_request(
            operation,
            path=request.path,
            query=request.args,
            headers=request.headers,
            cookies=request.cookies,
            body=body,
            media_type=media_type,
        )
        entry.verdict = "valid"
        status, value = state.agent.handle(operation.operation_id, Call(principal, validated))
        response = _ok_response(state, operation, status, value, accept, entry)
    except MockError as failure:
        entry.verdict = "rejected" if entry.verdict == "pending" else entry.verdict
        if failure.status == 400:
            entry.verdict = "invalid"
            entry.violations = [f"{k}: {m}" for k, ms in failure.body.get("ModelState", {}).items() for m in ms] or [
                str(failure.body.get("MessageDetail", failure))
            ]
        response = _error_response(state, failure, operation, accept, entry)
    return _finish(state, entry, response, started)


def _ok_response(
    state: MockState, operation: Operation, status: int, value: Any, accept: str, entry: JournalEntry
) -> Response:
    schema = operation.response_schema(status, accept)
    response = _encode(state, status, value, schema, accept)
    _check(state, operation, response, status, accept if status != 204 else None, value, entry)
    return response


def _error_response(
    state: MockState,
    failure: MockError,
    operation: Operation | None,
    accept: str | None,
    entry: JournalEntry | None = None,
) -> Response:
    accept = accept or negotiate(request.headers.get("Accept"), parse_media_type(request.content_type)[0])
    schema = operation.response_schema(failure.status, accept) if operation else None
    response = _encode(state, failure.status, failure.body, schema or _ERROR_SCHEMA, accept)
    for name, value in failure.headers.items():
        response.headers[name] = value
    if operation is not None and entry is not None:
        _check(state, operation, response, failure.status, accept, failure.body, entry)
    return response


def _encode(state: MockState, status: int, value: Any, schema: Any, media_type: str) -> Response:
    if status == 204:
        response = Response(status=204)
        del response.headers["Content-Type"]  # 204 carries no body, so no type (F-033)
        return response
    if media_type in ("application/xml", "text/xml"):
        data = state.wire.encode_xml(value, schema)
    else:
        data = encode_json(value)
    return Response(data, status=status, content_type=f"{media_type}; charset=utf-8")


def _check(
    state: MockState,
    operation: Operation,
    response: Response,
    status: int,
    media_type: str | None,
    value: Any,
    entry: JournalEntry,
) -> None:
    if state.config.response_validation == "off":
        return
    problems = state.seam.check_response(
        operation, path=request.path, status=status, media_type=media_type, value=value, headers=response.headers
    )
    if not problems:
        return
    entry.response_violations = problems
    if state.config.response_validation == "raise":
        raise ResponseContractViolation(operation.operation_id, status, problems)
    log.error("response of %s breaks the contract: %s", operation.operation_id, "; ".join(problems))


def _finish(state: MockState, entry: JournalEntry, response: Response, started: float) -> Response:
    entry.status = response.status_code
    entry.duration_ms = round((time.perf_counter() - started) * 1000, 3)
    if entry.verdict == "pending":
        entry.verdict = "rejected"
    detail = f": {'; '.join(entry.violations)}" if entry.violations else ""
    log.info("%s %s %s %s %.1fms%s", entry.method, entry.path, entry.status, entry.verdict, entry.duration_ms, detail)
    return response
