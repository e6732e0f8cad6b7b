"""The named checks (``contracts.checks``), one exchange at a time, and through the schemathesis
adapter: a property the contract does not know in a server's answer (a newer server's) is a
warning, an assumed violation naming its JSON path (F-190); a known property of the wrong type, or
a required one missing, is a failure. The oracles: the properties each test adds or breaks itself,
and, for the depths, a contract written out in this module with the paths it must report."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import Headers

from contracts import Contract, load
from contracts.checks import CheckContext, Exchange, Violation, response_schema_conformance, run_checks
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
    answer = client.post(AGENT + "SaveWebhook", headers=AUTH, json={"Name": "n", "Type": "crmscript", "Events": ["contact.created"]})
    assert answer.status_code == 200
    return answer.json


def exchange(operation: str, value: Any, content_type: str = JSON, contract: Contract | None = None) -> Exchange:
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
    answers = (exchange("SaveWebhook", saved), exchange("GetWebhook", saved, XML), exchange("GetAllWebhooks", [saved, saved]))
    for answer in answers:
        assert run_checks(CheckContext(), answer, ["response_schema_conformance"]) == []


@pytest.mark.parametrize(
    ("operation", "content_type", "in_list"),
    [("SaveWebhook", JSON, False), ("GetWebhook", XML, False), ("GetAllWebhooks", JSON, True), ("GetAllWebhooks", XML, True)],
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
    assert [e.validator for e in contract.validator("WebhookRecord").iter_errors(newer(saved))] == ["additionalProperties"]


# A contract of this module's own: objects closed at several depths, behind $ref, in arrays, in
# anyOf, and below an open object. The paths each case must report are written out by hand.
DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "depths", "version": "1"},
    "paths": {"/probe": {"post": {"operationId": "Probe", "responses": {"200": {"description": "ok", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Outer"}}}}}}}},
    "components": {"schemas": {
        "Outer": {"type": "object", "additionalProperties": False, "required": ["Items"], "properties": {
            "Items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
            "Open": {"type": "object", "properties": {
                "Deep": {"type": "object", "additionalProperties": False, "properties": {"Leaf": {"type": "integer"}}}}},
            "Either": {"anyOf": [{"type": "null"}, {"$ref": "#/components/schemas/Item"}]},
            "Pairs": {"type": "object", "additionalProperties": {"type": "integer"}},
        }},
        "Item": {"type": "object", "additionalProperties": False, "properties": {"Count": {"type": "integer"}}},
    }},
}
KNOWN = {"Items": [{"Count": 1}, {}], "Open": {"Deep": {"Leaf": 2}, "Unlisted": "open objects take anything"},
         "Either": {"Count": 3}, "Pairs": {"any name": 4}}


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
    assert sorted(reported) == sorted(['$.Top', '$.Items[1]["In an item"]', "$.Open.Deep.Below", "$.Either.Beside"])


@pytest.mark.parametrize(
    ("path", "wrong", "named"),
    [(("Items", 0, "Count"), "x", "Items.0.Count"), (("Open", "Deep", "Leaf"), "x", "Open.Deep.Leaf"),
     (("Either", "Count"), "x", "Either.Count"), (("Pairs", "any name"), "x", "Pairs.any name")],
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
    assert found is not None and found.basis == "documented" and "'Items' is a required property" in found.message


# -- the same through the schemathesis adapter's registered check ------------------------------


def test_the_schemathesis_check_only_logs_unknown_properties_and_fails_a_wrong_type(caplog: pytest.LogCaptureFixture) -> None:
    import schemathesis
    import schemathesis.errors
    from schemathesis.checks import CHECKS as REGISTERED

    import contracts.schemathesis_adapter  # noqa: F401  (registers the sowebhook_* checks)

    check = REGISTERED.get_one("sowebhook_response_schema_conformance")
    newer_server = schemathesis.openapi.from_wsgi("/openapi.json", webhooks_changed(mock_app(), newer))
    save = newer_server[AGENT + "SaveWebhook"]["POST"].Case(body={"Name": "n"}, headers=AUTH, media_type="application/json")
    listing = newer_server[AGENT + "GetAllWebhooks"]["POST"].Case(body={}, headers=AUTH, media_type="application/json")
    with caplog.at_level(logging.WARNING, logger="sowebhook.schemathesis"):
        for case in (save, listing):
            response = case.call()
            assert response.status_code == 200
            case.validate_response(response, checks=[check])  # no failure
    warned = [r.getMessage() for r in caplog.records if r.name == "sowebhook.schemathesis"]
    assert any(all(f"$.{name}" in m for name in FUTURE) for m in warned), warned
    assert any(all(f"$[0].{name}" in m for name in FUTURE) for m in warned), warned

    wrong_server = schemathesis.openapi.from_wsgi("/openapi.json", webhooks_changed(mock_app(), events_of_wrong_type))
    case = wrong_server[AGENT + "SaveWebhook"]["POST"].Case(body={"Name": "n"}, headers=AUTH, media_type="application/json")
    response = case.call()
    with pytest.raises(schemathesis.errors.FailureGroup) as failure:
        case.validate_response(response, checks=[check])
    assert "Events: 5 is not of type" in str(failure.value)


@pytest.mark.parametrize(("status", "fails"), [(500, True), (503, True), (400, False), (413, False), (200, False)])
def test_a_server_error_fails_no_server_error_though_the_contract_declares_500(status: int, fails: bool) -> None:
    assert "500" in load().operation("SaveWebhook").responses  # declared, so that its shape is judged
    request = WireRequest("POST", AGENT + "SaveWebhook", AUTH, b"{}", {}, "application/json")
    answer = Exchange("SaveWebhook", request, status, Headers({"Content-Type": JSON}), b'{"Message": "An error has occurred."}')
    found = run_checks(CheckContext(), answer, ["no_server_error"])
    assert [v.check for v in found] == (["no_server_error"] if fails else [])
