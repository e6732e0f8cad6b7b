"""Admin endpoints under the reserved prefix ``/__mock__`` (no SuperOffice path starts so: every
WebAPI path is ``/api/...`` or ``/{tenant}/api/...``). They need the same credentials as the agent
(F-081), and in the Online profile an application reaches through them only what it reaches through
the agent (F-131): its own webhooks and the shared ones (registered without an application), the
journal entries its credentials made and the deliveries to its webhooks, besides the requests and
deliveries no application can be told from. Faults, the response mode and raised events act on the
whole mock, as the harness's switches.

GET    /__mock__/journal        the journal, oldest first
DELETE /__mock__/journal        clear it
POST   /__mock__/reset          forget every webhook, the journal and the faults
GET    /__mock__/webhooks       every stored webhook, with its owner and last error
POST   /__mock__/webhooks       seed webhooks: a list of webhooks, each valid against the contract
POST   /__mock__/events         raise an entity event: {"Event": "contact.created", "PrimaryKey": 5,
                                "FieldValues": {...}, "Changes": [...], "ChangedByAssociateId": 5}
GET    /__mock__/deliveries     every delivery attempt (and recorded crmscript call), oldest first
POST   /__mock__/deliveries/drain  wait until queued deliveries are done: {"idle": true|false}
POST   /__mock__/responses      {"mode": "generated", "seed": 7}: answer with any response the contract
                                allows, reproducibly; {"mode": "stateful"}: back to the real behaviour
GET    /__mock__/faults         the active faults
POST   /__mock__/faults         add a fault (see mockserver.faults.Fault)
DELETE /__mock__/faults         clear them
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from contracts.wire import WireError, decode_json
from mockserver.auth import Principal
from mockserver.errors import AgentError, MockError, bad_request
from mockserver.faults import Fault
from mockserver.journal import JournalEntry
from mockserver.masking import mask_secrets
from mockserver.state import MockState, entry_visible, same_owner, state_of
from mockserver.state import reset as reset_state

__all__ = ["blueprint"]

blueprint = Blueprint("sowebhook_admin", __name__)


def _state() -> MockState:
    return state_of(current_app)


@blueprint.before_request
def _authenticate() -> None:
    state = _state()
    principal = state.auth.authenticate(request.headers, request.cookies)
    state.auth.authorize_agent(principal)  # Online Restricted holds here too
    g.sowebhook_principal = principal


def _principal() -> Principal:
    principal: Principal = g.sowebhook_principal
    return principal


def _entry_visible(entry: JournalEntry, principal: Principal) -> bool:
    return entry_visible(_state(), entry, principal)


@blueprint.errorhandler(MockError)
def _mock_error(error: MockError) -> Response:
    response = jsonify(error.body)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _json_body() -> Any:
    try:
        return decode_json(request.get_data(as_text=False).decode("utf-8"))
    except (WireError, UnicodeDecodeError) as error:
        raise bad_request(f"The admin request body is not JSON: {error}") from None


def _configured_secrets() -> list[str]:
    """Every credential the configuration holds, and the Basic header value of each password."""
    config = _state().config
    found: list[str] = []
    for user in config.users:
        if user.password:
            found += [user.password, base64.b64encode(f"{user.username}:{user.password}".encode()).decode()]
        found += [*user.tickets, *user.bearer_tokens, *user.xsrf_tokens]
    for application in config.applications:
        found += [application.app_token, *application.bearer_tokens]
    return [secret for secret in found if secret]


def _without(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return mask_secrets(value, secrets)
    if isinstance(value, dict):
        return {key: _without(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_without(item, secrets) for item in value]
    return value


@blueprint.get("/journal")
def journal() -> Response:
    """The journal: credential headers and Secret values are masked by the journal itself; a
    configured credential sent anywhere else (another header, the query, a body) is masked here."""
    principal = _principal()
    secrets = sorted(set(_configured_secrets()), key=len, reverse=True)
    entries = [entry.to_json() for entry in _state().journal.entries() if _entry_visible(entry, principal)]
    return jsonify(_without(entries, secrets))


@blueprint.delete("/journal")
def clear_journal() -> Response:
    principal = _principal()
    _state().journal.clear(None if principal.application is None else lambda e: _entry_visible(e, principal))
    return Response(status=204)


@blueprint.post("/reset")
def reset() -> Response:
    reset_state(_state(), _principal())  # Online: the caller's webhooks and the shared ones only
    return Response(status=204)


@blueprint.get("/webhooks")
def webhooks() -> Response:
    principal = _principal()
    rows = [r for r in _state().store.all() if same_owner(r.owner, principal)]
    return jsonify([{"webhook": r.webhook, "owner": r.owner, "last_error": r.last_error} for r in rows])


@blueprint.post("/webhooks")
def seed() -> Response:
    """Store webhooks as given (server-set fields included), each checked against the contract."""
    state = _state()
    body = _json_body()
    if not isinstance(body, list):
        raise bad_request("Send a list of webhooks.")
    validator = state.contract.validator("WebhookRecord")
    problems = {}
    for index, webhook in enumerate(body):
        errors = [f"{'.'.join(map(str, e.absolute_path)) or '(webhook)'}: {e.message}" for e in validator.iter_errors(webhook)]
        if errors:
            problems[f"[{index}]"] = errors
    if problems:
        raise bad_request("A seeded webhook breaks the contract.", problems)
    owner = request.args.get("owner")
    principal = _principal()
    if owner is not None and principal.application is not None and not same_owner(owner, principal):
        raise AgentError(
            403,
            "An application can only seed webhooks for itself.",
            "Leave out ?owner= (a shared webhook) or give the caller's own SO-AppToken.",
        )
    stored = []
    for webhook in body:
        stored.append(state.store.create(_with_id(webhook), owner).webhook)
    return jsonify(stored)


@blueprint.post("/events")
def raise_event() -> Response:
    body = _json_body()
    if not isinstance(body, dict) or not isinstance(body.get("Event"), str) or not body["Event"]:
        raise bad_request('Send {"Event": "entity.event", "PrimaryKey": 1, ...}.')
    unknown = set(body) - {"Event", "PrimaryKey", "Entity", "Changes", "FieldValues", "ChangedByAssociateId"}
    if unknown:
        raise bad_request(f"Unknown event fields: {', '.join(sorted(unknown))}.")
    if not isinstance(body.get("PrimaryKey", 0), int) or not isinstance(body.get("FieldValues", {}), (dict, type(None))):
        raise bad_request("PrimaryKey is a whole number and FieldValues an object.")
    if not isinstance(body.get("Changes", []), list):
        raise bad_request("Changes is a list of field names.")
    queued = _state().deliveries.signal(
        body["Event"],
        primary_key=body.get("PrimaryKey", 0),
        entity=body.get("Entity"),
        changes=body.get("Changes"),
        field_values=body.get("FieldValues"),
        changed_by=body.get("ChangedByAssociateId", 0),
    )
    return jsonify({"queued": queued})


@blueprint.get("/deliveries")
def deliveries() -> Response:
    principal = _principal()
    records = _state().deliveries.history()
    return jsonify([record.to_json() for record in records if same_owner(record.owner, principal)])


@blueprint.post("/deliveries/drain")
def drain() -> Response:
    try:
        timeout = min(float(request.args.get("timeout", "30")), 300.0)
    except ValueError:
        raise bad_request("timeout is a number of seconds.") from None
    return jsonify({"idle": _state().deliveries.drain(timeout)})


@blueprint.post("/responses")
def responses_mode() -> Response:
    body = _json_body()
    mode = body.get("mode") if isinstance(body, dict) else None
    seed = body.get("seed", 0) if isinstance(body, dict) else None
    if mode not in ("generated", "stateful") or not isinstance(seed, int) or isinstance(seed, bool):
        raise bad_request('Send {"mode": "generated", "seed": 7} or {"mode": "stateful"}.')
    _state().agent.generate_responses(seed if mode == "generated" else None)
    return jsonify({"mode": mode, "seed": seed if mode == "generated" else None})


@blueprint.get("/faults")
def faults() -> Response:
    return jsonify([f.to_json() for f in _state().faults.active()])


@blueprint.post("/faults")
def add_fault() -> Response:
    body = _json_body()
    if not isinstance(body, dict):
        raise bad_request("Send a fault object.")
    try:
        fault = Fault.from_json(body)
    except ValueError as error:
        raise bad_request(str(error)) from None
    _state().faults.add(fault)
    return jsonify(fault.to_json())


@blueprint.delete("/faults")
def clear_faults() -> Response:
    _state().faults.clear()
    return Response(status=204)


def _with_id(webhook: dict[str, Any]) -> Callable[[int], dict[str, Any]]:
    """The webhook as stored under the id the store gives it."""
    return lambda new_id: {**webhook, "WebhookId": new_id}
