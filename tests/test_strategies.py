"""The strategies, judged by oracles that are not the strategies: openapi-core for the schema,
this test's own reading of the documented rules, SuperOffice's event-details page, and for the REST
face the mock's answers and the RFCs applied here (python-json-patch, RFC 7396 as written)."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import jsonpatch
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import docpages
from contracts import Contract, load
from contracts.check_registry import REST
from contracts.rest_near_misses import PATCH_RULES, from_invalid_patch
from contracts.rest_strategies import (
    from_patch,
    from_patch_request,
    from_rest_webhook,
    patchable_fields,
)
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
from contracts.wire import WireFormats, xml_representable
from harness.oracle import rfc7396
from harness.wire import wire_request, wire_response

EVENT = re.compile(r"^[a-z]+\.[a-z]+$")
SLOW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def openapi_errors(
    contract: Contract, request: WireRequest, value: Any = None
) -> list[tuple[list[Any], str]]:
    """openapi-core's verdict on the request; XML and form bodies are judged as their JSON value."""
    headers = dict(request.headers)
    body: bytes | str = request.body
    if request.content_type != "application/json":  # openapi-core reads only application/json itself
        headers["Content-Type"] = "application/json"
        body = json.dumps(value)
    result = contract.openapi.unmarshal_request(
        wire_request(request.method, request.path, headers=headers, body=body)
    )
    found = []
    for error in result.errors:
        schema_errors = getattr(error.__cause__, "schema_errors", None) or ()
        found += [(list(e.absolute_path), e.message) for e in schema_errors] or [
            ([], f"{type(error).__name__}")
        ]
    return found


def test_documented_events_are_the_event_details_pages() -> None:
    page = (docpages.DOCS / "en/automation/webhook/dev/event-details.md").read_text(encoding="utf-8")
    rows = [line for line in page.split("## Event names", 1)[1].splitlines() if line.startswith("|")]
    documented = set(re.findall(r"\b([a-z]+\.[a-z]+)\b", "\n".join(rows)))
    contract_names = set(
        load().document["components"]["schemas"]["Webhook"]["properties"]["Events"]["x-documented-events"][
            "names"
        ]
    )
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
    if request.content_type not in (
        "application/json",
        "text/json",
        "application/json-patch+json",
        "application/merge-patch+json",
    ):
        decoded = WireFormats(contract).decode(
            request.content_type or "", request.body, {"$ref": "#/components/schemas/Webhook"}
        )
        # a form leaves a null scalar out, but writes a null array or object as JSON null (F-062)
        kept = {
            k
            for k, schema in contract.document["components"]["schemas"]["Webhook"]["properties"].items()
            if {"array", "object"} & set(_types(contract, schema))
        }
        sent = (
            {k: v for k, v in value.items() if v is not None or k in kept}
            if "urlencoded" in (request.content_type or "")
            else value
        )
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
    assert Credentials("soticket", token="7T:x", app_token="app").headers() == {
        "Authorization": "SOTicket 7T:x",
        "SO-AppToken": "app",
    }


@pytest.mark.parametrize(
    "operation",
    ["SaveWebhook", "GetWebhook", "GetAllWebhooks", "TestWebhook", "GetLastError", "CreateDefaultWebhook"],
)
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


# -- the REST face (contracts.rest_strategies) ---------------------------------------------------
# Oracles: openapi-core for the requests; the mock's answer (200, or 400 naming the labelled field);
# RFC 6902 by python-json-patch and RFC 7396 as the RFC writes it, on paths this test spells itself.

REST_AUTH = {"Authorization": "Basic dGplMDpUamUw"}
WEBHOOK_PROPERTIES = load().document["components"]["schemas"]["Webhook"]["properties"]
CLIENT_FIELDS = [n for n, s in WEBHOOK_PROPERTIES.items() if not s.get("readOnly") and n != "WebhookId"]
REST_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def rest_client() -> Any:
    from mockserver import MockConfig, create_app
    from mockserver.config import DeliveryConfig

    return create_app(MockConfig(delivery=DeliveryConfig(registration_ping=False))).test_client()


def registered(client: Any, **fields: Any) -> dict[str, Any]:
    """A webhook the mock holds, as it answers it (without its links)."""
    webhook = {
        "Name": "n",
        "Type": "webhook",
        "TargetUrl": "https://hooks.example/h",
        "Events": ["contact.created"],
        "Headers": {"X-Key": "1", "a/b~c": "2"},
        "Properties": {"p": 1, "nested": {"x": 1}},
        **fields,
    }
    answer = client.post(load().operation(REST.post).path, json=webhook, headers=REST_AUTH)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return {k: v for k, v in answer.json.items() if k != "_Links"}


def sent(client: Any, request: WireRequest) -> Any:
    return client.open(request.path, method=request.method, data=request.body, headers=request.headers)


def spelt_as_the_contract(path: str) -> str:
    """The path with its leading slash and its property named as the contract names it."""
    first, *rest = path.lstrip("/").split("/")
    (name,) = [n for n in WEBHOOK_PROPERTIES if n.casefold() == first.casefold()]
    return "/".join(["", name, *rest])


def rfc6902(current: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902 by python-json-patch; a whole property removed is null, added is replaced (F-203)."""
    doc = current
    for op in ops:
        op = {**op, "path": spelt_as_the_contract(op["path"])}
        if op["path"].count("/") == 1 and op["op"] in ("remove", "add"):
            op = {"op": "replace", "path": op["path"], "value": op.get("value")}
        doc = jsonpatch.apply_patch(doc, [op])
    return doc


def merged(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    canonical = {spelt_as_the_contract(k)[1:]: v for k, v in patch.items()}
    return {name: None for name in CLIENT_FIELDS} | rfc7396(
        current, canonical
    )  # a webhook has every property


@REST_SETTINGS
@given(
    request=from_rest_webhook(
        ids=st.just(0),
        content_types=list(load().operation(REST.put).media_types),
        accept=("application/json", "application/xml"),
    )
)
def test_every_rest_webhook_request_is_valid_and_the_mock_saves_it(
    rest_client: Any, request: WireRequest
) -> None:
    contract = load()
    if request.method == "PUT":  # the id of a webhook the mock holds, in the path the strategy built
        webhook_id = registered(rest_client)["WebhookId"]
        request = dataclasses.replace(
            request, path=contract.operation(REST.put).path.replace("{id}", str(webhook_id))
        )
    assert openapi_errors(contract, request, request.value) == []
    answer = sent(rest_client, request)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    value = WireFormats(contract).decode(
        answer.mimetype, answer.get_data(), contract.operation(REST.get).response_schema(200, answer.mimetype)
    )
    if request.method == "PUT":
        assert value["WebhookId"] == webhook_id
    shown = ("Name", "Events", "Type")  # what an XML answer cannot carry, the server replaces (F-063)
    expected = {
        k: request.value.get(k)
        for k in shown
        if "xml" not in answer.mimetype or xml_representable(request.value.get(k))
    }
    assert {k: value[k] for k in expected} == expected
    assert request.headers["Authorization"] == "Basic dGplMDpUamUw"


@REST_SETTINGS
@given(data=st.data())
def test_every_patch_applies_as_the_rfcs_say_and_the_mock_agrees(
    rest_client: Any, data: st.DataObject
) -> None:
    contract = load()
    current = registered(rest_client)
    request = data.draw(from_patch_request(current["WebhookId"], current))
    assert openapi_errors(contract, request, request.value) == []
    changes = request.value
    expected = rfc6902(current, changes) if isinstance(changes, list) else merged(current, changes)
    answer = sent(rest_client, request)
    assert answer.status_code == 200, (changes, answer.get_data(as_text=True))
    assert {n: answer.json[n] for n in CLIENT_FIELDS} == {n: expected[n] for n in CLIENT_FIELDS}
    assert contract.validator("Webhook").is_valid({n: expected[n] for n in CLIENT_FIELDS})


PATCH_FEATURES = {
    "a JSON Patch without a leading slash": lambda d: (
        isinstance(d, list) and any(not op["path"].startswith("/") for op in d)
    ),
    "a property in another casing": lambda d: (
        isinstance(d, list)
        and any(op["path"].lstrip("/").split("/")[0] not in WEBHOOK_PROPERTIES for op in d)
    ),
    "a pointer below a property": lambda d: (
        isinstance(d, list) and any(op["path"].strip("/").count("/") for op in d)
    ),
    "a test": lambda d: isinstance(d, list) and any(op["op"] == "test" for op in d),
    "a remove": lambda d: isinstance(d, list) and any(op["op"] == "remove" for op in d),
    "an escaped member": lambda d: isinstance(d, list) and any("~1" in op["path"] for op in d),
    "a merge patch with a null": lambda d: isinstance(d, dict) and None in d.values(),
    "a merge patch merging an object": lambda d: (
        isinstance(d, dict) and any(isinstance(v, dict) and None in v.values() for v in d.values())
    ),
    "a merge patch member in another casing": lambda d: (
        isinstance(d, dict) and any(k not in WEBHOOK_PROPERTIES for k in d)
    ),
}


def test_patches_vary_as_the_page_allows() -> None:
    current = {
        **{n: None for n in CLIENT_FIELDS},
        "State": "Active",
        "Events": ["contact.created"],
        "Headers": {"a/b": "1"},
        "Properties": {"p": 1},
    }
    other = {
        **current,
        "Name": "other",
        "Events": ["contact.changed", "sale.created"],
        "Headers": {"X-Other": "2"},
        "Properties": {"q": [1]},
        "Description": "d",
    }
    seen: set[str] = set()

    @settings(
        max_examples=600,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        from_patch(current, values=st.just(other))
    )  # the values do not shape the paths: one source is quick
    def collect(changes: Any) -> None:
        seen.update(what for what, found in PATCH_FEATURES.items() if found(changes))

    collect()
    assert seen == set(PATCH_FEATURES)


@REST_SETTINGS
@given(data=st.data())
def test_every_patch_near_miss_is_refused_naming_its_field_and_changes_nothing(
    rest_client: Any, data: st.DataObject
) -> None:
    contract = load()
    current = registered(rest_client)
    invalid = data.draw(
        from_invalid_patch(
            current["WebhookId"], content_types=list(contract.operation(REST.patch).media_types)
        )
    )
    changes = invalid.request.value
    errors = openapi_errors(contract, invalid.request, changes)
    assert bool(errors) == (invalid.kind == "schema"), (invalid.label, errors)
    if invalid.kind == "patched":  # the patch applies; what it makes breaks the Webhook's schema there
        patched = rfc6902(current, changes) if isinstance(changes, list) else merged(current, changes)
        wrong = [
            e.absolute_path[0]
            for e in contract.validator("Webhook").iter_errors({n: patched[n] for n in CLIENT_FIELDS})
        ]
        assert invalid.field.split(".", 1)[1] in wrong, (invalid.label, wrong)
    if invalid.rule == "path-property":
        named = (
            changes[-1]["path"].lstrip("/").split("/")[0]
            if isinstance(changes, list)
            else next(iter(changes))
        )
        assert named.casefold() not in {n.casefold() for n in WEBHOOK_PROPERTIES}
    if invalid.rule == "value-required":
        assert "value" not in changes[-1] and changes[-1]["op"] != "remove"
    answer = sent(rest_client, invalid.request)
    assert answer.status_code == 400, (invalid.label, answer.get_data(as_text=True))
    assert invalid.field in answer.json["ModelState"], (invalid.label, answer.json)
    after = rest_client.get(
        contract.operation(REST.get).path.replace("{id}", str(current["WebhookId"])), headers=REST_AUTH
    ).json
    assert {k: v for k, v in after.items() if k != "_Links"} == current


def test_every_patch_rule_and_form_has_a_near_miss() -> None:
    seen = set()

    @settings(max_examples=300, database=None, deadline=None)
    @given(from_invalid_patch(1))
    def collect(invalid: InvalidRequest) -> None:
        seen.add((invalid.rule, invalid.extra["form"]))

    collect()
    assert seen == {(rule, "json-patch") for rule in PATCH_RULES if rule != "document-shape"} | {
        ("path-property", "merge-patch"),
        ("value-type", "merge-patch"),
        ("document-shape", "neither"),
    }


def test_rest_options_are_checked() -> None:
    with pytest.raises(ValueError, match="methods must name POST or PUT"):
        from_rest_webhook(methods=["DELETE"])
    with pytest.raises(ValueError, match="content types not in the contract"):
        from_rest_webhook(content_types=["text/plain"])
    with pytest.raises(ValueError, match="fields must be client fields"):
        from_patch({}, fields=["TotalCalls"])
    with pytest.raises(ValueError, match="forms are some of"):
        from_patch({}, forms=["xml-patch"])
    with pytest.raises(ValueError, match="PATCH's content types"):
        from_patch_request(1, {}, content_types=["application/xml"])
    with pytest.raises(ValueError, match="rules are some of"):
        from_invalid_patch(1, rules=["nope"])
    with pytest.raises(ValueError, match="no near-miss"):
        from_invalid_patch(1, rules=["op-supported"], forms=["merge-patch"])
    assert "Name" in patchable_fields() and not {"Type", "TargetUrl"} & set(patchable_fields())
