"""The named checks (``contracts.checks``), one exchange at a time, and through the schemathesis
adapter: a property the contract does not know in a server's answer (a newer server's) is a
warning, an assumed violation naming its JSON path (F-190); a known property of the wrong type, or
a required one missing, is a failure. The oracles: the properties each test adds or breaks itself,
and, for the depths, a contract written out in this module with the paths it must report.

The REST checks (``contracts.rest_checks``) pass on the mock's real answers, sent to it here, and
fail on answers each test breaks itself (links dropped, 200 with null for a missing webhook, a
patch answered as if it did not apply); the agent's save and read checks judge REST answers too."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from contracts import Contract, load
from contracts.check_registry import BASIS, REST
from contracts.checks import (
    CHECKS,
    CheckContext,
    Exchange,
    Violation,
    response_schema_conformance,
    run_checks,
)
from contracts.rest_strategies import from_patch
from contracts.strategies import WireRequest
from contracts.wire import WireFormats
from harness.versions import FUTURE, events_of_wrong_type, mock_app, newer, webhooks_changed
from mockserver import MockConfig, create_app
from mockserver.config import DeliveryConfig

AUTH = {"Authorization": "Basic dGplMDpUamUw"}
AGENT = "/api/v1/Agents/Webhook/"
JSON = "application/json; charset=utf-8"
XML = "application/xml; charset=utf-8"


@pytest.fixture(scope="module")
def saved() -> dict[str, Any]:
    """A webhook exactly as the mock answers SaveWebhook."""
    client = create_app(MockConfig(delivery=DeliveryConfig(registration_ping=False))).test_client()
    answer = client.post(
        AGENT + "SaveWebhook",
        headers=AUTH,
        json={"Name": "n", "Type": "crmscript", "Events": ["contact.created"]},
    )
    assert answer.status_code == 200
    return answer.json


def exchange(
    operation: str, value: Any, content_type: str = JSON, contract: Contract | None = None
) -> Exchange:
    """A 200 answer of ``operation`` carrying ``value``, in JSON or (by the contract's schema) XML."""
    body = json.dumps(value).encode()
    if "xml" in content_type:
        contract = contract or load()
        schema = contract.operation(operation).response_schema(200, "application/xml")
        body = WireFormats(contract).encode_xml(value, schema)
    request = WireRequest("POST", AGENT + operation, {**AUTH, "Accept": content_type.split(";")[0]}, b"")
    return Exchange(operation, request, 200, Headers({"Content-Type": content_type}), body)


def violation(exchange: Exchange, ctx: CheckContext | None = None) -> Violation | None:
    try:
        response_schema_conformance(ctx or CheckContext(), exchange)
    except Violation as found:
        return found
    return None


def test_the_mocks_own_answers_pass(saved: dict[str, Any]) -> None:
    answers = (
        exchange("SaveWebhook", saved),
        exchange("GetWebhook", saved, XML),
        exchange("GetAllWebhooks", [saved, saved]),
    )
    for answer in answers:
        assert run_checks(CheckContext(), answer, ["response_schema_conformance"]) == []


@pytest.mark.parametrize(
    ("operation", "content_type", "in_list"),
    [
        ("SaveWebhook", JSON, False),
        ("GetWebhook", XML, False),
        ("GetAllWebhooks", JSON, True),
        ("GetAllWebhooks", XML, True),
    ],
)
def test_properties_the_contract_does_not_know_are_a_warning_that_names_their_paths(
    saved: dict[str, Any], operation: str, content_type: str, in_list: bool
) -> None:
    value = [saved, newer(saved)] if in_list else newer(saved)
    found = violation(exchange(operation, value, content_type))
    assert found is not None and found.basis == "assumed"
    assert found.check == "response_schema_conformance" and "F-190" in found.message
    prefix = "$[1]" if in_list else "$"
    assert [f"{prefix}.{name}" for name in FUTURE] == found.message.split(": ", 1)[1].split(", ")


@pytest.mark.parametrize(
    ("name", "wrong"),
    [("WebhookId", "x"), ("Events", 5), ("State", "Asleep"), ("Registered", "yesterday")],
)
@pytest.mark.parametrize("content_type", [JSON, XML])
def test_a_known_property_of_the_wrong_type_fails_next_to_unknown_ones(
    saved: dict[str, Any], name: str, wrong: Any, content_type: str
) -> None:
    found = violation(exchange("GetWebhook", {**newer(saved), name: wrong}, content_type))
    assert found is not None and found.basis == "documented", found
    assert found.message.startswith(f"{name}: {wrong!r} ")


def test_a_known_property_of_the_wrong_type_in_a_list_fails(saved: dict[str, Any]) -> None:
    found = violation(exchange("GetAllWebhooks", [newer(saved), events_of_wrong_type(saved)]))
    assert found is not None and found.basis == "documented"
    assert found.message.startswith("1.Events: 5 is not of type")


def test_a_missing_required_property_fails(saved: dict[str, Any]) -> None:
    found = violation(exchange("SaveWebhook", {k: v for k, v in newer(saved).items() if k != "Secret"}))
    assert found is not None and found.basis == "documented"
    assert "'Secret' is a required property" in found.message


def test_the_contract_itself_still_refuses_unknown_properties(saved: dict[str, Any]) -> None:
    violation(exchange("SaveWebhook", newer(saved)))  # derives the open schema
    contract = load()
    assert contract.document["components"]["schemas"]["Webhook"]["additionalProperties"] is False
    assert [e.validator for e in contract.validator("WebhookRecord").iter_errors(newer(saved))] == [
        "additionalProperties"
    ]


# A contract of this module's own: objects closed at several depths, behind $ref, in arrays, in
# anyOf, and below an open object. The paths each case must report are written out by hand.
DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "depths", "version": "1"},
    "paths": {
        "/probe": {
            "post": {
                "operationId": "Probe",
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Outer"}}},
                    }
                },
            }
        }
    },
    "components": {
        "schemas": {
            "Outer": {
                "type": "object",
                "additionalProperties": False,
                "required": ["Items"],
                "properties": {
                    "Items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
                    "Open": {
                        "type": "object",
                        "properties": {
                            "Deep": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {"Leaf": {"type": "integer"}},
                            }
                        },
                    },
                    "Either": {"anyOf": [{"type": "null"}, {"$ref": "#/components/schemas/Item"}]},
                    "Pairs": {"type": "object", "additionalProperties": {"type": "integer"}},
                },
            },
            "Item": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"Count": {"type": "integer"}},
            },
        }
    },
}
KNOWN = {
    "Items": [{"Count": 1}, {}],
    "Open": {"Deep": {"Leaf": 2}, "Unlisted": "open objects take anything"},
    "Either": {"Count": 3},
    "Pairs": {"any name": 4},
}


def probe(value: Any) -> Violation | None:
    contract = Contract(path=Path("depths.yaml"), text="", document=DOCUMENT)
    return violation(exchange("Probe", value, contract=contract), CheckContext(contract=contract))


def test_unknown_properties_are_found_at_every_depth_the_contract_closes_an_object() -> None:
    assert probe(KNOWN) is None
    value = json.loads(json.dumps(KNOWN))
    value["Top"] = 1
    value["Items"][1]["In an item"] = 2
    value["Open"]["Deep"]["Below"] = 3
    value["Either"]["Beside"] = 4
    found = probe(value)
    assert found is not None and found.basis == "assumed"
    reported = found.message.split(": ", 1)[1].split(", ")
    assert sorted(reported) == sorted(
        ["$.Top", '$.Items[1]["In an item"]', "$.Open.Deep.Below", "$.Either.Beside"]
    )


@pytest.mark.parametrize(
    ("path", "wrong", "named"),
    [
        (("Items", 0, "Count"), "x", "Items.0.Count"),
        (("Open", "Deep", "Leaf"), "x", "Open.Deep.Leaf"),
        (("Either", "Count"), "x", "Either.Count"),
        (("Pairs", "any name"), "x", "Pairs.any name"),
    ],
)
def test_a_wrong_type_fails_at_every_depth(path: tuple[Any, ...], wrong: Any, named: str) -> None:
    value = json.loads(json.dumps(KNOWN))
    value["Top"] = "unknown, and only a warning"
    parent = value
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = wrong
    found = probe(value)
    assert found is not None and found.basis == "documented"
    assert found.message.startswith(f"{named}: 'x' is not of type 'integer'")


def test_a_missing_required_property_fails_in_a_contract_of_its_own() -> None:
    found = probe({"Top": 1})
    assert (
        found is not None
        and found.basis == "documented"
        and "'Items' is a required property" in found.message
    )


# -- the same through the schemathesis adapter's registered check ------------------------------


def test_the_schemathesis_check_only_logs_unknown_properties_and_fails_a_wrong_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import schemathesis
    import schemathesis.errors
    from schemathesis.checks import CHECKS as REGISTERED

    import contracts.schemathesis_adapter  # noqa: F401  (registers the sowebhook_* checks)

    check = REGISTERED.get_one("sowebhook_response_schema_conformance")
    newer_server = schemathesis.openapi.from_wsgi("/openapi.json", webhooks_changed(mock_app(), newer))
    save = newer_server[AGENT + "SaveWebhook"]["POST"].Case(
        body={"Name": "n"}, headers=AUTH, media_type="application/json"
    )
    listing = newer_server[AGENT + "GetAllWebhooks"]["POST"].Case(
        body={}, headers=AUTH, media_type="application/json"
    )
    with caplog.at_level(logging.WARNING, logger="sowebhook.schemathesis"):
        for case in (save, listing):
            response = case.call()
            assert response.status_code == 200
            case.validate_response(response, checks=[check])  # no failure
    warned = [r.getMessage() for r in caplog.records if r.name == "sowebhook.schemathesis"]
    assert any(all(f"$.{name}" in m for name in FUTURE) for m in warned), warned
    assert any(all(f"$[0].{name}" in m for name in FUTURE) for m in warned), warned

    wrong_server = schemathesis.openapi.from_wsgi(
        "/openapi.json", webhooks_changed(mock_app(), events_of_wrong_type)
    )
    case = wrong_server[AGENT + "SaveWebhook"]["POST"].Case(
        body={"Name": "n"}, headers=AUTH, media_type="application/json"
    )
    response = case.call()
    with pytest.raises(schemathesis.errors.FailureGroup) as failure:
        case.validate_response(response, checks=[check])
    assert "Events: 5 is not of type" in str(failure.value)


@pytest.mark.parametrize(
    ("status", "fails"), [(500, True), (503, True), (400, False), (413, False), (200, False)]
)
def test_a_server_error_fails_no_server_error_though_the_contract_declares_500(
    status: int, fails: bool
) -> None:
    assert "500" in load().operation("SaveWebhook").responses  # declared, so that its shape is judged
    request = WireRequest("POST", AGENT + "SaveWebhook", AUTH, b"{}", {}, "application/json")
    answer = Exchange(
        "SaveWebhook",
        request,
        status,
        Headers({"Content-Type": JSON}),
        b'{"Message": "An error has occurred."}',
    )
    found = run_checks(CheckContext(), answer, ["no_server_error"])
    assert [v.check for v in found] == (["no_server_error"] if fails else [])


# -- the REST face: the REST checks, and the agent's checks on REST exchanges -------------------
# Each check passes on the mock's real answers (requests sent to it here) and fails on an answer
# this test breaks itself; the oracle of "broken" is the defect the test put in.


def rest_path(operation: str, webhook_id: int) -> str:
    return load().operation(operation).path.replace("{id}", str(webhook_id))


def rest_call(
    client: Any, operation: str, webhook_id: int | None = None, value: Any = None, **headers: str
) -> Exchange:
    """``operation`` sent to the mock, and its answer, as an Exchange."""
    called = load().operation(operation)
    path = rest_path(operation, webhook_id) if webhook_id is not None else called.path
    sent = {**AUTH, "Accept": "application/json", **headers}
    body = json.dumps(value).encode() if value is not None else b""
    if value is not None:
        sent["Content-Type"] = "application/json"
    answer = client.open(path, method=called.method, data=body or None, headers=sent)
    request = WireRequest(
        called.method, path, sent, body, value, "application/json" if value is not None else None
    )
    return Exchange(
        operation, request, answer.status_code, Headers(list(answer.headers.items())), answer.get_data()
    )


def changed(exchange: Exchange, status: int | None = None, value: Any = ..., **fields: Any) -> Exchange:
    """The exchange with its answer broken: another status, body, or fields of the webhook changed."""
    body = (
        exchange.body
        if value is ... and not fields
        else json.dumps({**json.loads(exchange.body), **fields} if value is ... else value).encode()
    )
    return Exchange(exchange.operation, exchange.request, status or exchange.status, exchange.headers, body)


def failures(exchange: Exchange, ctx: CheckContext, name: str) -> list[Violation]:
    return run_checks(ctx, exchange, [name])


@pytest.fixture
def rest_mock() -> Any:
    return create_app(MockConfig(delivery=DeliveryConfig(registration_ping=False))).test_client()


def remembered(ctx: CheckContext, exchange: Exchange) -> dict[str, Any]:
    saved = {k: v for k, v in json.loads(exchange.body).items() if k != "_Links"}
    ctx.model[saved["WebhookId"]] = saved
    ctx.seen_ids.add(saved["WebhookId"])
    return saved


NEW = {
    "Name": "n",
    "Type": "crmscript",
    "Events": ["contact.created"],
    "Headers": {"X-Key": "1"},
    "Properties": {"a": 1},
}


def test_the_rest_checks_are_registered_with_their_basis() -> None:
    assert {name: BASIS[name] for name in CHECKS if name.startswith("rest_")} == {
        "rest_missing_is_404": "documented",
        "rest_error_object": "documented",
        "rest_links": "documented",
        "rest_patch_semantics": "documented",
    }


def test_every_check_passes_on_the_mocks_answers_through_both_faces(rest_mock: Any) -> None:
    ctx = CheckContext()
    posted = rest_call(rest_mock, REST.post, value=NEW)
    assert run_checks(ctx, posted) == []
    webhook_id = remembered(ctx, posted)["WebhookId"]
    for accept in ("application/json", "application/xml"):
        assert run_checks(ctx, rest_call(rest_mock, REST.get, webhook_id, Accept=accept)) == [], accept
    put = rest_call(rest_mock, REST.put, webhook_id, {**NEW, "WebhookId": 0, "Name": "put"})
    assert run_checks(ctx, put) == []
    remembered(ctx, put)
    patch = rest_call(
        rest_mock, REST.patch, webhook_id, [{"op": "add", "path": "events/-", "value": "contact.changed"}]
    )
    assert run_checks(ctx, patch) == []
    remembered(ctx, patch)
    conflict = rest_call(
        rest_mock, REST.patch, webhook_id, [{"op": "test", "path": "/Name", "value": "not it"}]
    )
    stale = rest_call(
        rest_mock,
        REST.patch,
        webhook_id,
        {"Name": "x"},
        **{"If-Unmodified-Since": "Wed, 21 Oct 2015 07:28:00 GMT"},
    )
    assert (conflict.status, stale.status) == (409, 412)
    assert run_checks(ctx, conflict) == run_checks(ctx, stale) == []
    agent = Exchange(
        "GetWebhook",
        WireRequest("POST", f"{AGENT}GetWebhook?webhookId={webhook_id}", AUTH, b""),
        200,
        Headers({"Content-Type": JSON}),
        rest_mock.post(f"{AGENT}GetWebhook?webhookId={webhook_id}", headers=AUTH).get_data(),
    )
    assert run_checks(ctx, agent) == []
    assert rest_call(rest_mock, REST.delete, webhook_id).status == 204
    del ctx.model[webhook_id]
    ctx.deleted.add(webhook_id)
    missing = [
        rest_call(rest_mock, REST.get, webhook_id),
        rest_call(rest_mock, REST.put, webhook_id, NEW),
        rest_call(rest_mock, REST.patch, webhook_id, {"Name": "x"}),
    ]
    assert [m.status for m in missing] == [404, 404, 404]
    for answer in missing:
        assert run_checks(ctx, answer) == [], answer.operation


@pytest.mark.parametrize(
    ("operation", "basis"), [(REST.get, "documented"), (REST.patch, "documented"), (REST.put, "assumed")]
)
def test_a_missing_webhook_answered_200_null_fails_rest_missing_is_404(
    rest_mock: Any, operation: str, basis: str
) -> None:
    ctx = CheckContext()
    webhook_id = remembered(ctx, rest_call(rest_mock, REST.post, value=NEW))["WebhookId"]
    rest_call(rest_mock, REST.delete, webhook_id)
    del ctx.model[webhook_id]
    ctx.deleted.add(webhook_id)
    value = {"Name": "x"} if operation != REST.get else None
    real = rest_call(rest_mock, operation, webhook_id, value)
    assert failures(real, ctx, "rest_missing_is_404") == []
    (found,) = failures(changed(real, 200, None), ctx, "rest_missing_is_404")
    assert found.basis == basis and "200 with null" in found.message


def test_an_existing_webhook_answered_404_fails_rest_missing_is_404(rest_mock: Any) -> None:
    ctx = CheckContext()
    webhook_id = remembered(ctx, rest_call(rest_mock, REST.post, value=NEW))["WebhookId"]
    real = rest_call(rest_mock, REST.get, webhook_id)
    assert failures(real, ctx, "rest_missing_is_404") == []
    (found,) = failures(
        changed(real, 404, {"Error": True, "ErrorType": "SoNotFoundException", "ErrorMessage": "gone"}),
        ctx,
        "rest_missing_is_404",
    )
    assert "exists" in found.message


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        ({"Message": "Not found."}, "ErrorType"),
        ({"Error": True, "ErrorType": "NotFound", "ErrorMessage": "gone"}, "SoNotFoundException"),
        ({"Error": False, "ErrorType": "SoNotFoundException", "ErrorMessage": "gone"}, "Error"),
    ],
)
def test_a_404_that_is_not_the_rest_error_object_fails_rest_error_object(
    rest_mock: Any, broken: Any, named: str
) -> None:
    real = rest_call(rest_mock, REST.get, 77)
    assert real.status == 404 and failures(real, CheckContext(), "rest_error_object") == []
    (found,) = failures(changed(real, value=broken), CheckContext(), "rest_error_object")
    assert named in found.message and found.basis == "documented"


@pytest.mark.parametrize("operation", [REST.post, REST.get, REST.put, REST.patch])
def test_answers_without_links_or_with_wrong_ones_fail_rest_links(rest_mock: Any, operation: str) -> None:
    ctx = CheckContext()
    posted = rest_call(rest_mock, REST.post, value=NEW)
    webhook_id = remembered(ctx, posted)["WebhookId"]
    real = {
        REST.post: posted,
        REST.get: rest_call(rest_mock, REST.get, webhook_id),
        REST.put: rest_call(rest_mock, REST.put, webhook_id, NEW),
        REST.patch: rest_call(rest_mock, REST.patch, webhook_id, {"Name": "p"}),
    }[operation]
    assert failures(real, ctx, "rest_links") == []
    links = json.loads(real.body)["_Links"]
    dropped = {k: v for k, v in json.loads(real.body).items() if k != "_Links"}
    (found,) = failures(changed(real, value=dropped), ctx, "rest_links")
    assert found.basis == "documented" and "no _Links" in found.message
    elsewhere = {**links, "Self": links["Self"].replace(f"/{webhook_id}", f"/{webhook_id + 1}")}
    (found,) = failures(changed(real, _Links=elsewhere), ctx, "rest_links")
    assert found.basis == "assumed" and "Self" in found.message
    (found,) = failures(changed(real, _Links={**links, "Archive": "/api/v1/Webhook"}), ctx, "rest_links")
    assert found.basis == "assumed" and "Archive" in found.message


def test_the_list_and_the_defaults_carry_no_links_and_are_not_judged_for_them(rest_mock: Any) -> None:
    rest_call(rest_mock, REST.post, value=NEW)
    listed = rest_call(rest_mock, REST.list)
    default = rest_call(rest_mock, "v1Webhook_DefaultWebhook")
    assert all("_Links" not in w for w in json.loads(listed.body)) and "_Links" not in json.loads(
        default.body
    )
    assert (
        failures(listed, CheckContext(), "rest_links")
        == failures(default, CheckContext(), "rest_links")
        == []
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_patch_the_mock_applies_passes_and_a_different_answer_fails(
    rest_mock: Any, data: st.DataObject
) -> None:
    ctx = CheckContext()
    current = remembered(ctx, rest_call(rest_mock, REST.post, value=NEW))
    changes = data.draw(from_patch(current))
    real = rest_call(rest_mock, REST.patch, current["WebhookId"], changes)
    assert real.status == 200 and failures(real, ctx, "rest_patch_semantics") == []
    # the server answers the webhook as it was: it did not apply the patch (unless it changed nothing)
    unpatched = changed(
        real,
        value={**json.loads(real.body), **{k: current[k] for k in current if k in CLIENT_FIELDS_OF_WEBHOOK}},
    )
    if json.loads(unpatched.body) != json.loads(real.body):
        (found,) = failures(unpatched, ctx, "rest_patch_semantics")
        assert "not the patched webhook" in found.message


CLIENT_FIELDS_OF_WEBHOOK = [
    n
    for n, s in load().document["components"]["schemas"]["Webhook"]["properties"].items()
    if not s.get("readOnly") and n != "WebhookId"
]


@pytest.mark.parametrize(
    ("changes", "headers", "real_status", "basis"),
    [
        (
            [
                {"op": "test", "path": "name", "value": "not it"},
                {"op": "replace", "path": "/Name", "value": "x"},
            ],
            {},
            409,
            "documented",
        ),
        ({"Name": "x"}, {"If-Unmodified-Since": "Wed, 21 Oct 2015 07:28:00 GMT"}, 412, "documented"),
        ([{"op": "replace", "path": "/Nope", "value": 1}], {}, 400, "assumed"),
    ],
    ids=["failed-test", "stale", "unknown-path"],
)
def test_a_patch_answered_200_where_it_cannot_apply_fails_rest_patch_semantics(
    rest_mock: Any, changes: Any, headers: dict[str, str], real_status: int, basis: str
) -> None:
    ctx = CheckContext()
    current = remembered(ctx, rest_call(rest_mock, REST.post, value=NEW))
    real = rest_call(rest_mock, REST.patch, current["WebhookId"], changes, **headers)
    assert real.status == real_status and failures(real, ctx, "rest_patch_semantics") == []
    (found,) = failures(changed(real, 200, {**current, "Name": "x"}), ctx, "rest_patch_semantics")
    assert found.basis == basis and f"expected {real_status}, got 200" in found.message


def test_a_patch_the_page_leaves_open_only_warns(rest_mock: Any) -> None:
    ctx = CheckContext()
    current = remembered(ctx, rest_call(rest_mock, REST.post, value=NEW))
    real = rest_call(rest_mock, REST.patch, current["WebhookId"], [{"op": "remove", "path": "Headers"}])
    assert json.loads(real.body)["Headers"] is None and failures(real, ctx, "rest_patch_semantics") == []
    (found,) = failures(
        changed(real, Headers={}), ctx, "rest_patch_semantics"
    )  # "removed" as empty, not null
    assert found.basis == "assumed"


def test_the_agents_save_and_read_checks_judge_rest_too(rest_mock: Any) -> None:
    ctx = CheckContext()
    posted = rest_call(rest_mock, REST.post, value=NEW)
    (found,) = failures(changed(posted, Properties=None), ctx, "save_echoes_client_fields")
    assert "Properties" in found.message
    webhook_id = remembered(ctx, posted)["WebhookId"]
    put = rest_call(rest_mock, REST.put, webhook_id, {**NEW, "WebhookId": 0})
    assert failures(put, ctx, "save_twice_creates_nothing") == []
    (found,) = failures(changed(put, WebhookId=webhook_id + 100), ctx, "save_twice_creates_nothing")
    assert f"saving WebhookId {webhook_id}" in found.message
    (found,) = failures(changed(put, Registered="2001-01-01T00:00:00"), ctx, "save_update_keeps_registered")
    assert "Registered changed" in found.message
    remembered(ctx, put)
    got = rest_call(rest_mock, REST.get, webhook_id)
    assert failures(got, ctx, "get_returns_saved") == []
    (found,) = failures(changed(got, Name="someone else's"), ctx, "get_returns_saved")
    assert "Name" in found.message
    narrowed = rest_call(rest_mock, REST.put, webhook_id, NEW)
    narrowed = Exchange(
        narrowed.operation,
        dataclasses.replace(narrowed.request, path=narrowed.request.path + "?$select=Name"),
        narrowed.status,
        narrowed.headers,
        changed(narrowed, Properties=None).body,
    )
    assert (
        failures(narrowed, ctx, "save_echoes_client_fields") == []
    )  # $select narrowed it: no model judges it
