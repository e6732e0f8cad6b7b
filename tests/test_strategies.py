"""The strategies, judged by oracles that are not the strategies: openapi-core for the schema,
this test's own reading of the documented rules, and SuperOffice's event-details page."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import docpages
from contracts import Contract, load
from contracts.strategies import (
    REQUEST_TYPES,
    Credentials,
    InvalidRequest,
    WireRequest,
    from_invalid_save_request,
    from_save_request,
    from_webhook,
    near_miss_rules,
)
from contracts.wire import WireFormats
from harness.wire import wire_request, wire_response

EVENT = re.compile(r"^[a-z]+\.[a-z]+$")
SLOW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def openapi_errors(contract: Contract, request: WireRequest, value: Any = None) -> list[tuple[list[Any], str]]:
    """openapi-core's verdict on the request; XML and form bodies are judged as their JSON value."""
    headers = dict(request.headers)
    body: bytes | str = request.body
    if request.content_type != "application/json":  # openapi-core reads only application/json itself
        headers["Content-Type"] = "application/json"
        body = json.dumps(value)
    result = contract.openapi.unmarshal_request(wire_request(request.method, request.path, headers=headers, body=body))
    found = []
    for error in result.errors:
        schema_errors = getattr(error.__cause__, "schema_errors", None) or ()
        found += [(list(e.absolute_path), e.message) for e in schema_errors] or [([], f"{type(error).__name__}")]
    return found


def test_documented_events_are_the_event_details_pages() -> None:
    page = (docpages.DOCS / "en/automation/webhook/dev/event-details.md").read_text(encoding="utf-8")
    rows = [line for line in page.split("## Event names", 1)[1].splitlines() if line.startswith("|")]
    documented = set(re.findall(r"\b([a-z]+\.[a-z]+)\b", "\n".join(rows)))
    contract_names = set(load().document["components"]["schemas"]["Webhook"]["properties"]["Events"]["x-documented-events"]["names"])
    assert contract_names == documented


def _types(contract: Any, schema: Any) -> list[str]:
    """The JSON types a property schema allows (following references)."""
    schema = contract.resolve(schema)
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


@SLOW
@given(request=from_save_request(content_types=REQUEST_TYPES, accept=("application/json", "application/xml")))
def test_every_generated_request_is_valid_and_keeps_the_documented_rules(request: WireRequest) -> None:
    contract = load()
    value = request.value
    if request.content_type not in ("application/json", "text/json", "application/json-patch+json", "application/merge-patch+json"):
        decoded = WireFormats(contract).decode(request.content_type or "", request.body, {"$ref": "#/components/schemas/Webhook"})
        # a form leaves a null scalar out, but writes a null array or object as JSON null (F-062)
        kept = {k for k, schema in contract.document["components"]["schemas"]["Webhook"]["properties"].items() if {"array", "object"} & set(_types(contract, schema))}
        sent = {k: v for k, v in value.items() if v is not None or k in kept} if "urlencoded" in (request.content_type or "") else value
        assert decoded == sent
    assert openapi_errors(contract, request, value) == []
    assert value["WebhookId"] == 0
    assert not {"Registered", "Updated", "RegisteredAssociate", "UpdatedAssociate"} & set(value)
    assert value["Type"] == "webhook" and value["TargetUrl"].startswith("https://")
    assert value["Events"] and all(EVENT.match(e) for e in value["Events"])
    assert len(",".join(value["Events"])) <= 4000
    assert request.headers["Authorization"] == "Basic dGplMDpUamUw"


@SLOW
@given(invalid=from_invalid_save_request())
def test_every_near_miss_is_invalid_for_the_reason_its_label_gives(invalid: InvalidRequest) -> None:
    contract = load()
    value = invalid.request.value
    errors = openapi_errors(contract, invalid.request, value)
    if invalid.kind == "schema":
        assert len(errors) == 1, (invalid.label, errors)
        path, message = errors[0]
        assert invalid.field in path or invalid.field in message, (invalid.label, errors)
        assert invalid.field in invalid.label
    else:
        assert errors == [], invalid.label  # JSON Schema cannot see these: only the documented rule can
        broken = {
            "https-target": not str(value["TargetUrl"]).startswith("https://"),
            "event-name-form": not all(EVENT.match(e) for e in value["Events"]),
            "events-length": len(",".join(value["Events"])) > 4000,
            "known-type": value["Type"] not in ("webhook", "crmscript"),
        }
        assert broken[invalid.rule], invalid.label
        assert [rule for rule, is_broken in broken.items() if is_broken] == [invalid.rule]


def test_every_constraint_of_the_contract_has_a_near_miss() -> None:
    contract = load()
    properties = contract.document["components"]["schemas"]["Webhook"]["properties"]
    expected = {f"{n}.maxLength" for n, s in properties.items() if "maxLength" in s and not s.get("readOnly")}
    expected |= {r["id"] for r in contract.operation("SaveWebhook").rules}
    expected |= {"additionalProperties", "State.enum", "WebhookId.type", "WebhookId.minimum", "Events.type"}
    assert expected <= set(near_miss_rules(contract))


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="webhook_type must be one of"):
        from_webhook(webhook_type="email")
    with pytest.raises(ValueError, match="content types not in the contract"):
        from_save_request(content_types=["text/plain"])
    assert Credentials("soticket", token="7T:x", app_token="app").headers() == {"Authorization": "SOTicket 7T:x", "SO-AppToken": "app"}


@pytest.mark.parametrize("operation", ["SaveWebhook", "GetWebhook", "GetAllWebhooks", "TestWebhook", "GetLastError", "CreateDefaultWebhook"])
def test_generated_responses_validate_with_openapi_core(operation: str) -> None:
    from contracts.strategies import from_response

    contract = load()
    path = contract.operation(operation).path
    request = wire_request("POST", path, headers={"Authorization": "Basic dGplMDpUamUw"})

    @settings(max_examples=25, deadline=None)
    @given(from_response(operation))
    def check(body: Any) -> None:
        response = wire_response(200, headers={"Content-Type": "application/json"}, body=json.dumps(body))
        assert contract.openapi.unmarshal_response(request, response).errors == []

    check()
