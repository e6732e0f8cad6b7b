"""``create_app(config) -> Flask``: the mock of SuperOffice's Webhook agent.

Every request goes through the same steps, in the order ASP.NET Web API takes them: route
(404/405), authentication (401/403), media type (415), body (400), contract validation (400),
then the operation. Every answer, error or not, is encoded in the negotiated media type, checked
against the contract (``Seam.check_response``), journalled and logged in one line.

Calls to the agent's operations take a lean WSGI path (werkzeug's request and response, without
Flask's dispatch, which costs more than validating the call); Flask serves everything else: the
admin endpoints, the contract, and the SuperOffice-shaped 404/405 of any other path.

A body the server does not measure out (chunked, or one granian hands over as it arrives) is read
whole before routing: over ``limits.max_body_bytes`` it is 413, short of its Content-Length 400
(docs/fidelity.md F-112); a server that saw the connection fail mid-body says so
(``mockserver.rsgi.BODY_INCOMPLETE``), and the request is 400.

What the app owns is ``mockserver.state``; the admin endpoints are ``mockserver.admin``; serving it
on granian's RSGI interface is ``mockserver.rsgi`` (``BufferedRSGI``, importable from here too).
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request
from werkzeug.wsgi import get_content_length

from contracts.coverage import Coverage
from contracts.spec import load
from contracts.wire import WireFormats, encode_json, negotiate, parse_media_type
from mockserver.admin import blueprint
from mockserver.agent import Agent, Call
from mockserver.auth import Authenticator
from mockserver.config import MockConfig
from mockserver.delivery import Deliveries
from mockserver.errors import AgentError, MockError, ResponseContractViolation, bad_request
from mockserver.faults import Faults
from mockserver.inspector import blueprint as inspector
from mockserver.journal import JournalEntry, open_journal
from mockserver.masking import mask_body
from mockserver.rest import Rest
from mockserver.rsgi import BODY_INCOMPLETE, BufferedRSGI
from mockserver.seam import InvalidRequest, Operation, Seam
from mockserver.state import EXTENSION, MockState, state_of
from mockserver.store import Store, open_store

# BufferedRSGI, MockState and state_of live in mockserver.rsgi and mockserver.state; they stay
# importable from here as before.
__all__ = ["BufferedRSGI", "MockState", "create_app", "state_of"]

log = logging.getLogger("sowebhook.mock")
_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]
_ERROR_SCHEMA = {"$ref": "#/components/schemas/AgentError"}
# The journal keeps the decoded value of a body up to this size; of a larger body, the value as
# JSON text, secrets masked, cut to this many characters. A 1 MiB body can decode to some 50 MB of
# Python objects, and the journal keeps ``limits.journal_entries`` entries.
JOURNAL_VALUE_BYTES = 4096


@dataclass
class Answer:
    """A response of the agent: status, headers and the encoded body."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def flask(self) -> Response:
        response = Response(self.body, status=self.status, headers=self.headers)
        if "Content-Type" not in self.headers:
            del response.headers["Content-Type"]  # 204 carries no body, so no type (F-033)
        return response

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        headers = list(self.headers.items())
        if self.status != 204:
            headers.append(("Content-Length", str(len(self.body))))
        start_response(f"{self.status} {HTTP_STATUS_CODES.get(self.status, 'UNKNOWN')}", headers)
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else self.body]


class _Cookies(Mapping[str, str]):
    """The request's cookies, parsed only when read (only a session without Authorization needs them)."""

    def __init__(self, req: Request) -> None:
        self._req = req

    def __getitem__(self, name: str) -> str:
        return self._req.cookies[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._req.cookies)

    def __len__(self) -> int:
        return len(self._req.cookies)


def create_app(config: MockConfig | None = None, *, store: Store | None = None) -> Flask:
    """A new, independent mock app. ``store`` overrides the store ``config.db_path`` names."""
    config = config or MockConfig()
    contract = load()
    wire = WireFormats(contract)
    store = store or open_store(config.db_path)
    sleep = config.sleep or time.sleep
    auth = Authenticator(config)
    deliveries = Deliveries(config, store, sleep)
    seam = Seam(contract, wire, config.validator, config.unknown_properties)
    agent = Agent(config, store, contract, deliveries)
    agent.handlers.update(Rest(agent, seam).handlers)  # the REST endpoints: the agent's services by path
    state = MockState(
        config=config,
        contract=contract,
        wire=wire,
        seam=seam,
        store=store,
        journal=open_journal(config, store, auth),  # the store's, if processes share it
        faults=Faults(sleep),
        auth=auth,
        deliveries=deliveries,
        agent=agent,
        coverage=Coverage(contract),
    )
    app = Flask(
        "mockserver", static_folder=None
    )  # no static route: nothing answers without credentials but the contract
    app.config["MAX_CONTENT_LENGTH"] = config.limits.max_body_bytes
    # "raise": a response that breaks the contract (a bug in the mock) reaches the test that caused it
    app.config["PROPAGATE_EXCEPTIONS"] = config.response_validation == "raise"
    app.extensions[EXTENSION] = state
    app.register_blueprint(blueprint, url_prefix="/__mock__")
    app.register_blueprint(
        inspector
    )  # the page at /__mock__/ (inspector.INSPECTOR_PATH): no per-request work

    @app.get("/openapi.json")
    def openapi_json() -> Response:
        return Response(contract.as_json(), mimetype="application/json")

    @app.get("/openapi.yaml")
    def openapi_yaml() -> Response:
        return Response(contract.text, mimetype="application/yaml")

    @app.route("/", defaults={"path": ""}, methods=_ALL_METHODS)
    @app.route("/<path:path>", methods=_ALL_METHODS)
    def other_path(path: str) -> Response:  # no operation: the seam answers 404 (or 405 with Allow)
        return _answer(state, _current(request)).flask()

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        # Werkzeug's own refusals (a body over the limit, a malformed request line) in the agent's shape.
        if isinstance(error, MethodNotAllowed):  # a method no route lists: the seam says 405 with Allow
            return _answer(state, _current(request)).flask()
        return _http_error(state, error, _current(request)).flask()

    router = state.seam.router
    flask_app = app.wsgi_app

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ.get("wsgi.input_terminated"):
            refused = _buffer_body(state, environ)
            if refused is not None:
                return _covered(state, Request(environ), refused).wsgi(environ, start_response)
        if router.find(environ.get("PATH_INFO", "")) is not None:
            return _agent_call(state, environ, start_response)
        return _buffered(flask_app(environ, start_response))

    app.wsgi_app = wsgi_app  # type: ignore[method-assign]
    return app


def _agent_call(state: MockState, environ: dict[str, Any], start_response: Any) -> list[bytes]:
    req = Request(environ)
    req.max_content_length = state.config.limits.max_body_bytes
    try:
        answer = _answer(state, req)
    except HTTPException as error:  # a body over the limit
        answer = _covered(state, req, _http_error(state, error, req))
    except Exception:
        if state.config.response_validation == "raise":
            raise  # a bug in the mock reaches the test that found it
        log.exception("%s %s failed", req.method, req.path)
        answer = _encode(state, 500, {"Message": "An error has occurred."}, _ERROR_SCHEMA, "application/json")
    return answer.wsgi(environ, start_response)


def _covered(state: MockState, req: Request, answer: Answer) -> Answer:
    """Record in the coverage an answer given before the request was journalled (a body refused whole)."""
    found = state.seam.router.find(req.path)
    operation = found[0].get(req.method.upper()) if found is not None else None
    if operation is not None:
        state.coverage.record(operation.operation_id, answer.status, answer.headers.get("Content-Type"))
    return answer


def _buffer_body(state: MockState, environ: dict[str, Any]) -> Answer | None:
    """Read a body the server terminates (``wsgi.input_terminated``: granian) whole, before the
    request is routed; the answer when it is refused. werkzeug would cut a body without
    Content-Length (chunked) at the limit and read it as if that were all of it, and would take
    a body that ends before its Content-Length (the client went away) as whole: here the first is
    413 and the second 400, and neither reaches an operation."""
    limit = state.config.limits.max_body_bytes
    declared = get_content_length(environ)
    if declared is not None and declared > limit:
        return None  # werkzeug refuses it by its Content-Length (413), unread
    stream = environ["wsgi.input"]
    body = bytearray()
    incomplete = bool(environ.get(BODY_INCOMPLETE))
    while True:
        try:
            chunk = stream.read(65536)
        except (OSError, ValueError):  # the connection failed mid-body
            incomplete = True
            break
        if not chunk:
            break
        body += chunk
        if len(body) > limit:
            return _http_error(state, RequestEntityTooLarge(), Request(environ))
    if incomplete or (declared is not None and len(body) < declared):
        expected = f" of the {declared} its Content-Length announces" if declared is not None else ""
        failure = bad_request(f"The body ended after {len(body)} bytes{expected}: the request is incomplete.")
        return _error_response(state, failure, None, None, Request(environ))
    environ["wsgi.input"] = io.BytesIO(bytes(body))
    if body or declared is not None:
        environ["CONTENT_LENGTH"] = str(len(body))
    return None


def _journal_text(body: Any) -> str:
    """What the journal keeps of a large decoded body, once the request is answered (its
    violations, masked with the body's secrets, are recorded by then): its JSON text with
    secrets masked, cut to JOURNAL_VALUE_BYTES characters."""
    text = encode_json(mask_body(body)).decode("utf-8")
    return text if len(text) <= JOURNAL_VALUE_BYTES else text[:JOURNAL_VALUE_BYTES] + "…"


def _buffered(iterable: Any) -> list[bytes]:
    """The whole body as one chunk: servers send a list in one call instead of iterating."""
    try:
        return [b"".join(iterable)]
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()


def _http_error(state: MockState, error: HTTPException, req: Request) -> Answer:
    if isinstance(error, RequestEntityTooLarge):
        failure = AgentError(
            413,
            "The request entity is too large.",
            f"The body exceeds the limit of {state.config.limits.max_body_bytes} bytes.",
        )
    else:
        failure = AgentError(error.code or 400, error.name, error.description)
    return _error_response(state, failure, None, None, req)


def _answer(state: MockState, req: Request) -> Answer:
    started = time.perf_counter()
    raw = req.get_data(cache=True)
    entry = state.journal.begin(req.method, req.path, req.args, req.environ, raw)
    operation: Operation | None = None
    media_type: str | None = None
    accept = negotiate(req.headers.get("Accept"), parse_media_type(req.content_type)[0])
    try:
        operation, path_values = state.seam.route(req.path, req.method)
        entry.operation = operation.operation_id
        injected = state.faults.before(operation.operation_id)
        if injected is not None:
            entry.verdict = "injected"
            response = _encode(state, injected.status, injected.body, _ERROR_SCHEMA, accept)
            return _finish(state, entry, response, started)
        cookies = _Cookies(req)
        principal = state.auth.authenticate(req.headers, cookies)
        state.auth.authorize_agent(principal)
        body, media_type = state.seam.read_body(operation, req.content_type, raw)
        if media_type:
            entry.decoded = body
        try:
            validated = state.seam.validate_request(
                operation,
                path=req.path,
                query=req.args,
                headers=req.headers,
                cookies=cookies,
                body=body,
                media_type=media_type,
                path_values=path_values,
            )
        except InvalidRequest as refused:
            _bound(entry, refused.violations, refused.warnings)
            raise
        _bound(entry, validated.violations, validated.warnings)
        # a member the server ignores breaks the contract; the answer is the server's all the same
        entry.verdict = "invalid" if validated.violations else "valid"
        headers = cast(Mapping[str, str], req.headers)  # werkzeug's Headers: looked up case-insensitively
        call = Call(principal, validated, base_url=lambda: req.url_root.rstrip("/"), headers=headers)
        status, value = state.agent.handle(operation.operation_id, call)
        response = _ok_response(state, operation, status, value, accept, entry, req)
    except MockError as failure:
        entry.verdict = "rejected" if entry.verdict == "pending" else entry.verdict
        if failure.status == 400:
            entry.verdict = "invalid"
            reasons = [f"{k}: {m}" for k, ms in failure.body.get("ModelState", {}).items() for m in ms] or [
                str(failure.body.get("MessageDetail", failure))
            ]
            entry.violations = [*entry.violations, *reasons]
        response = _error_response(state, failure, operation, accept, req, entry)
    if media_type and len(raw) > JOURNAL_VALUE_BYTES:
        entry.decoded = _journal_text(entry.decoded)
    return _finish(state, entry, response, started)


def _bound(entry: JournalEntry, violations: list[str], warnings: list[str]) -> None:
    """What binding did (``contracts.binding``), into the journal: ignored members as violations,
    conversions as warnings."""
    if violations:
        entry.violations = violations
    if warnings:
        entry.warnings = warnings


def _ok_response(
    state: MockState,
    operation: Operation,
    status: int,
    value: Any,
    accept: str,
    entry: JournalEntry,
    req: Request,
) -> Answer:
    schema = operation.response_schema(status, accept)
    response = _encode(state, status, value, schema, accept)
    _check(state, operation, response, status, accept if status != 204 else None, value, entry, req)
    return response


def _error_response(
    state: MockState,
    failure: MockError,
    operation: Operation | None,
    accept: str | None,
    req: Request,
    entry: JournalEntry | None = None,
) -> Answer:
    accept = accept or negotiate(req.headers.get("Accept"), parse_media_type(req.content_type)[0])
    if operation is not None:
        schema = operation.response_schema(failure.status, accept)
    else:  # no operation serves the request (404, 405): the contract's x-sowebhook-unrouted
        unrouted = state.contract.unrouted.get(str(failure.status), {})
        schema = unrouted.get("content", {}).get(accept, {}).get("schema")
    response = _encode(state, failure.status, failure.body, schema or _ERROR_SCHEMA, accept)
    response.headers.update(failure.headers)
    if operation is not None and entry is not None:
        _check(state, operation, response, failure.status, accept, failure.body, entry, req)
    return response


def _encode(state: MockState, status: int, value: Any, schema: Any, media_type: str) -> Answer:
    if status == 204:
        return Answer(204)  # no body, so no type (F-033)
    if media_type in ("application/xml", "text/xml"):
        data = state.wire.encode_xml(value, schema)
    else:
        data = encode_json(value)
    return Answer(status, data, {"Content-Type": f"{media_type}; charset=utf-8"})


def _check(
    state: MockState,
    operation: Operation,
    response: Answer,
    status: int,
    media_type: str | None,
    value: Any,
    entry: JournalEntry,
    req: Request,
) -> None:
    if state.config.response_validation == "off":
        return
    problems = state.seam.check_response(
        operation, path=req.path, status=status, media_type=media_type, value=value, headers=response.headers
    )
    if not problems:
        return
    entry.response_violations = problems
    if state.config.response_validation == "raise":
        raise ResponseContractViolation(operation.operation_id, status, problems)
    # the entry keeps them masked (F-133): log that copy, not the raw problems
    log.error(
        "response of %s breaks the contract: %s", operation.operation_id, "; ".join(entry.response_violations)
    )


def _finish(state: MockState, entry: JournalEntry, response: Answer, started: float) -> Answer:
    entry.status = response.status
    entry.answer, entry.answer_type = response.body[:4096], response.headers.get("Content-Type")
    if entry.operation is not None:
        state.coverage.record(entry.operation, response.status, response.headers.get("Content-Type"))
    entry.duration_ms = round((time.perf_counter() - started) * 1000, 3)
    if entry.verdict == "pending":
        entry.verdict = "rejected"
    noted = [*entry.violations, *(f"(warning) {w}" for w in entry.warnings)]
    detail = f": {'; '.join(noted)}" if noted else ""
    log.info(
        "%s %s %s %s %.1fms%s",
        entry.method,
        entry.path,
        entry.status,
        entry.verdict,
        entry.duration_ms,
        detail,
    )
    state.journal.finish(entry)  # a SQL store's journal stores it now
    return response


def _current(proxy: Any) -> Request:
    """The request behind Flask's context-local proxy (werkzeug's LocalProxy)."""
    current: Request = proxy._get_current_object()
    return current
