"""Admin endpoints under the reserved prefix ``/__mock__`` (no SuperOffice path starts so: every
WebAPI path is ``/api/...`` or ``/{tenant}/api/...``). They need the same credentials as the agent
(F-081), and in the Online profile an application reaches through them only what it reaches through
the agent (F-131): its own webhooks and the shared ones (registered without an application), the
journal entries its credentials made and the deliveries to its webhooks, besides the requests and
deliveries no application can be told from. Faults, the response mode and raised events act on the
whole mock, as the harness's switches.

GET    /__mock__/journal        the journal, oldest first (each entry: its request and answer, masked);
                                ?since=ID: only the entries after entry ID
DELETE /__mock__/journal        clear it
POST   /__mock__/reset          forget every webhook, the journal and the faults
GET    /__mock__/webhooks       every stored webhook, with its owner and last error
POST   /__mock__/webhooks       seed webhooks: a list of webhooks, each valid against the contract
POST   /__mock__/events         raise an entity event: {"Event": "contact.created", "PrimaryKey": 5,
                                "FieldValues": {...}, "Changes": [...], "ChangedByAssociateId": 5}
GET    /__mock__/deliveries     every delivery attempt (and recorded crmscript call), oldest first;
                                filters: ?webhook=ID&event=NAME&outcome=delivered|failed|recorded&since=ID
POST   /__mock__/deliveries/ID/redeliver  send attempt ID again (same EventId and body), synchronously:
                                the new attempt's record; 404 for an unknown id or a deleted webhook,
                                400 for an id that is not a whole number
POST   /__mock__/deliveries/drain  wait until queued deliveries are done: {"idle": true|false}
POST   /__mock__/responses      {"mode": "generated", "seed": 7}: answer with any response the contract
                                allows, reproducibly; {"mode": "stateful"}: back to the real behaviour
GET    /__mock__/coverage       which operations x statuses x media types the mock has answered since
                                the last reset, against all the contract declares (contracts.coverage)
GET    /__mock__/faults         the active faults
POST   /__mock__/faults         add a fault (see mockserver.faults.Fault)
DELETE /__mock__/faults         clear them
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, g, jsonify, request

from contracts.wire import WireError, decode_json
from mockserver.auth import Principal
from mockserver.delivery import OUTCOMES, DeliveryRecord
from mockserver.errors import AgentError, MockError, bad_request
from mockserver.faults import Fault
from mockserver.journal import JournalEntry, credentials
from mockserver.masking import mask_json
from mockserver.state import MockState, entry_visible, same_owner, state_of
from mockserver.state import reset as reset_state

__all__ = ["blueprint"]

blueprint = Blueprint("sowebhook_admin", __name__)


def _state() -> MockState:
    return state_of(current_app)


@blueprint.before_request
def _authenticate() -> None:
    _same_origin_only()
    state = _state()
    principal = state.auth.authenticate(request.headers, request.cookies)
    state.auth.authorize_agent(principal)  # Online Restricted holds here too
    g.sowebhook_principal = principal


def _same_origin_only() -> None:
    """A browser that remembers the mock's login (the inspector asks for it) would send it with a
    request another page makes: a form or a fetch of ``text/plain`` needs no consent of the server.
    A request that changes something and names another origin (browsers send ``Origin`` with every
    such request; curl and other clients send none) is refused (F-237)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    origin = request.headers.get("Origin")
    if origin is None:
        return
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != request.host.lower():
        raise AgentError(
            403,
            "The admin endpoints answer only the mock's own pages.",
            f"A request from {origin[:100]!r} (the Origin header) was refused: a page elsewhere may not change the mock.",
        )


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


@blueprint.get("/journal")
def journal() -> Response:
    """The journal: credential headers and Secret values are masked by the journal itself; a
    configured credential sent anywhere else (another header, the query, a body) is masked here."""
    principal = _principal()
    since = _id_filter("since") or 0
    secrets = sorted(set(credentials(_state().config)), key=len, reverse=True)
    entries = [
        entry.to_json()
        for entry in _state().journal.entries()
        if entry.id > since and _entry_visible(entry, principal)
    ]
    return jsonify(mask_json(entries, secrets))


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
        errors = [
            f"{'.'.join(map(str, e.absolute_path)) or '(webhook)'}: {e.message}"
            for e in validator.iter_errors(webhook)
        ]
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
    if not isinstance(body.get("PrimaryKey", 0), int) or not isinstance(
        body.get("FieldValues", {}), (dict, type(None))
    ):
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


_DELIVERY_FILTERS = ("webhook", "event", "outcome", "since")


def _whole_number(name: str, text: str) -> int:
    """An id: 400 naming ``name`` unless ``text`` is a whole number."""
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise bad_request(f"{name} is an id: a whole number (got {text!r}).")
    return int(text)


def _id_filter(name: str) -> int | None:
    text = request.args.get(name)
    if text is None:
        return None
    return _whole_number(name, text)


def _delivery_filter() -> Callable[[DeliveryRecord], bool]:
    """The filter of ``GET /__mock__/deliveries``: 400 naming an unknown parameter or a bad value."""
    unknown = sorted(set(request.args) - set(_DELIVERY_FILTERS))
    if unknown:
        raise bad_request(
            f"Unknown delivery filter {', '.join(unknown)}; the filters are {', '.join(_DELIVERY_FILTERS)}."
        )
    webhook, since = _id_filter("webhook"), _id_filter("since")
    event = request.args.get("event")
    outcome = request.args.get("outcome")
    if outcome is not None and outcome not in OUTCOMES:
        raise bad_request(f"outcome is one of {', '.join(OUTCOMES)} (got {outcome!r}).")
    wanted = event.casefold() if event is not None else None
    return lambda r: (
        (webhook is None or r.webhook_id == webhook)
        and (wanted is None or r.event.casefold() == wanted)
        and (outcome is None or r.outcome == outcome)
        and (since is None or r.id > since)
    )


@blueprint.get("/deliveries")
def deliveries() -> Response:
    principal = _principal()
    chosen = _delivery_filter()
    records = _state().deliveries.history()
    return jsonify(
        [record.to_json() for record in records if same_owner(record.owner, principal) and chosen(record)]
    )


@blueprint.post("/deliveries/<record>/redeliver")
def redeliver(record: str) -> Response:
    """Send a recorded attempt again and answer the new attempt's record (F-220 to F-226)."""
    state, principal = _state(), _principal()
    record_id = _whole_number("The delivery id", record)
    original = state.deliveries.record(record_id)
    if original is None or not same_owner(original.owner, principal):  # another application's: none
        raise AgentError(
            404, f"No delivery {record_id}.", "GET /__mock__/deliveries lists the attempts the mock keeps."
        )
    if not original.webhook_id:  # the ping of a webhook being saved: no webhook yet to send it to
        raise bad_request(
            f"Delivery {record_id} is a registration ping, which is not redelivered: save the webhook again to ping its TargetUrl."
        )
    row = state.store.get(original.webhook_id)
    again = (
        state.deliveries.redeliver(original) if row is not None and same_owner(row.owner, principal) else None
    )
    if again is None:
        raise AgentError(
            404,
            f"The webhook of delivery {record_id} no longer exists.",
            "A redelivery goes to the webhook as it is now.",
        )
    return jsonify(again.to_json())


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


@blueprint.get("/coverage")
def coverage() -> Response:
    return jsonify(_state().coverage.to_json())


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
