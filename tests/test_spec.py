"""The contract, checked against SuperOffice's own pages (``docpages``) and independent validators."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from werkzeug.datastructures import Headers, ImmutableMultiDict

import docpages
from contracts import Contract, load
from harness.wire import wire_request, wire_response

AGENT = "/api/v1/Agents/Webhook/"
OPERATIONS = [
    "SaveWebhook",
    "GetWebhook",
    "GetAllWebhooks",
    "DeleteWebhook",
    "CreateDefaultWebhook",
    "TestWebhook",
    "SignalEvent",
    "GetLastError",
]
# Header names of the request-header tables that are not parameters in OpenAPI: Authorization is
# security, Content-Type and Accept are media types (OpenAPI 3.1, Parameter Object).
NOT_PARAMETERS = {"Authorization", "Content-Type", "Accept"}


def header_table(page: Path, heading: str = "## Request Headers") -> dict[str, str]:
    """``name -> description`` of a page's markdown table under ``heading``."""
    text = page.read_text(encoding="utf-8").split(heading, 1)[1]
    rows = {}
    for line in text.splitlines()[1:]:
        if line.startswith("#"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if (
            len(cells) >= 2
            and cells[0]
            and not set(cells[0]) <= {"-"}
            and cells[0] not in ("Parameter Name", "Property Name")
        ):
            rows[cells[0]] = cells[-1]
    return rows


def property_table(page: Path, heading: str) -> dict[str, str]:
    return header_table(page, heading)


def errors_of(result: Any) -> list[tuple[list[Any], str]]:
    """``(path, message)`` of every schema error behind an openapi-core result."""
    found = []
    for error in result.errors:
        cause = error.__cause__
        for schema_error in getattr(cause, "schema_errors", ()) or ():
            found.append((list(schema_error.absolute_path), schema_error.message))
        if not getattr(cause, "schema_errors", None):
            found.append(([], f"{type(error).__name__}: {error}"))
    return found


# ---------------------------------------------------------------------------------------------
# The document loads, validates and has the documented operations


def test_openapi_spec_validator_accepts_the_document(contract: Contract) -> None:
    errors = list(OpenAPIV31SpecValidator(contract.document).iter_errors())
    assert errors == []
    assert contract.document["openapi"] == "3.1.0"


def test_openapi_core_and_schemathesis_load_it(contract: Contract) -> None:
    import schemathesis

    assert isinstance(contract.openapi, OpenAPI)
    schema = schemathesis.openapi.from_dict(contract.document)
    labels = {operation.ok().label for operation in schema.get_all_operations()}
    assert labels == {f"POST {AGENT}{name}" for name in OPERATIONS} | set(docpages.rest_operations().values())


def test_every_rest_page_is_an_operation_of_the_contract_at_its_request_line(contract: Contract) -> None:
    pages = docpages.rest_operations()
    assert len(pages) == 10  # the index's ten endpoints, PATCH included
    for operation_id, line in pages.items():
        operation = contract.operation(operation_id)
        assert f"{operation.method} {operation.path}" == line


def test_load_reads_the_document_once() -> None:
    assert load() is load()


def test_every_operation_of_the_agent_index_is_in_the_contract(contract: Contract) -> None:
    index = (docpages.AGENT_PAGES / "index.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"\[POST Agents/Webhook/(\w+)\]", index))
    assert documented == set(OPERATIONS)
    for name in OPERATIONS:
        operation = contract.operation(name)
        assert (operation.path, operation.method) == (AGENT + name, "POST")


@pytest.mark.parametrize("name", OPERATIONS)
def test_success_status_is_the_documented_one(contract: Contract, name: str) -> None:
    page_statuses = header_table(docpages.agent_page(name), "| Response | Description |")
    documented = {code for code in page_statuses if code.isdigit()}
    successes = {code for code in contract.operation(name).responses if code.startswith("2")}
    assert successes == documented


@pytest.mark.parametrize("name", ["GetWebhook", "DeleteWebhook"])
def test_query_parameters_are_the_documented_ones(contract: Contract, name: str) -> None:
    page = docpages.agent_page(name)
    documented = header_table(page, "## Query String Parameters")
    params = {p["name"]: p for p in contract.operation(name).parameters}
    for param_name, description in documented.items():
        assert params[param_name]["in"] == "query"
        assert params[param_name]["required"] is ("**Required**" in description)


def test_testwebhook_wraps_the_webhook_and_savewebhook_does_not(contract: Contract) -> None:
    def body_schema(name: str) -> dict[str, Any]:
        return contract.resolve(contract.operation(name).body_content["application/json"]["schema"])

    assert list(body_schema("TestWebhook")["properties"]) == ["Webhook"]
    assert "WebhookId" in body_schema("SaveWebhook")["properties"]


# ---------------------------------------------------------------------------------------------
# SaveWebhook in detail, against the seed page


def test_savewebhook_declares_every_request_header_of_the_seed(contract: Contract) -> None:
    documented = set(header_table(docpages.SEED)) - NOT_PARAMETERS
    assert documented == {
        "Accept-Language",
        "SO-Language",
        "SO-Culture",
        "SO-TimeZone",
        "SO-AppToken",
        "X-XSRF-TOKEN",
    }
    declared = {p["name"] for p in contract.operation("SaveWebhook").parameters if p["in"] == "header"}
    assert declared == documented


def test_savewebhook_media_types_are_the_seeds(contract: Contract) -> None:
    table = header_table(docpages.SEED)
    request_types = set(re.findall(r"`([^`]+)`", table["Content-Type"]))
    accept_types = set(re.findall(r"`([^`]+)`", table["Accept"]))
    assert len(request_types) == 7
    operation = contract.operation("SaveWebhook")
    assert set(operation.media_types) == request_types
    response_types = set(operation.responses["200"]["content"])
    assert response_types == {"application/json", "text/json", "application/xml", "text/xml"}
    assert response_types <= accept_types


def test_savewebhook_body_has_every_documented_property(contract: Contract) -> None:
    current = docpages.agent_page("SaveWebhook")
    documented = set(property_table(current, "## Request Body: entity")) | set(
        property_table(docpages.SEED, "## Request Body: entity")
    )
    webhook = contract.document["components"]["schemas"]["Webhook"]
    assert documented <= set(webhook["properties"])
    assert "ErrorsEmail" in documented
    # every property beyond the pages is the current carrier's, and says so (docs/fidelity.md F-140 on)
    newer = {
        name
        for name, schema in webhook["properties"].items()
        if "@superoffice/webapi 12.4.1514" in (schema.get("description") or "")
    }
    assert set(webhook["properties"]) - documented == newer - documented


@pytest.mark.parametrize(
    ("authorization", "extra", "scheme"),
    [
        ("Basic dGplMDpUamUw", {}, "BasicAuth"),
        ("SOTicket 7T:xyz123abc==", {}, "SOTicket"),
        ("Bearer 8A:Cust12345.AGYA", {}, "BearerAuth"),
        (None, {"X-XSRF-TOKEN": "abc1234"}, "XsrfToken"),
    ],
)
def test_each_documented_authorization_alternative_is_accepted(
    contract: Contract, authorization: str | None, extra: dict[str, str], scheme: str
) -> None:
    headers = {"Content-Type": "application/json", **extra}
    if authorization:
        headers["Authorization"] = authorization
    result = contract.openapi.unmarshal_request(
        wire_request("POST", AGENT + "SaveWebhook", headers=headers, body="{}")
    )
    assert result.errors == []
    assert scheme in result.security


def test_a_request_without_credentials_is_not_valid(contract: Contract) -> None:
    request = wire_request(
        "POST", AGENT + "SaveWebhook", headers={"Content-Type": "application/json"}, body="{}"
    )
    result = contract.openapi.unmarshal_request(request)
    assert [type(e).__name__ for e in result.errors] == ["SecurityValidationError"]


# ---------------------------------------------------------------------------------------------
# The pages' own samples validate


def _page_request(name: str) -> docpages.HttpMessage:
    page = docpages.SEED if name == "seed" else docpages.agent_page(name)
    request = docpages.sample_request(page)
    if not request.query:
        # GetWebhook and DeleteWebhook: the sample omits the required id, the page's query example has it.
        for example in docpages.query_examples(page):
            request.query.update(example)
    return request


@pytest.mark.parametrize("name", ["seed", *OPERATIONS])
def test_sample_request_of_each_page_is_valid(contract: Contract, name: str) -> None:
    sample = _page_request(name)
    request = wire_request(
        sample.method, sample.path, headers=sample.headers, body=sample.body_text or None, query=sample.query
    )
    result = contract.openapi.unmarshal_request(request)
    assert errors_of(result) == []
    assert "BasicAuth" in result.security


@pytest.mark.parametrize("name", ["seed", *OPERATIONS])
def test_sample_response_of_each_page_is_valid(contract: Contract, name: str) -> None:
    page = docpages.SEED if name == "seed" else docpages.agent_page(name)
    sample = docpages.sample_response(page)
    request = _page_request(name)
    openapi_request = wire_request(
        request.method,
        request.path,
        headers=request.headers,
        body=request.body_text or None,
        query=request.query,
    )
    if sample.status == 204:
        # The pages show "null" with a Content-Type on 204, which HTTP forbids; the contract says no body.
        assert sample.body_text == "null"
        response = wire_response(204)
    else:
        response = wire_response(sample.status, headers=sample.headers, body=sample.body_text)
    result = contract.openapi.unmarshal_response(openapi_request, response)
    assert errors_of(result) == []


def test_documented_default_webhook_is_a_valid_createdefaultwebhook_response(contract: Contract) -> None:
    page = docpages.DOCS / "en/automation/webhook/dev/subscription.md"
    default = json.loads(next(body for info, body in docpages.fences(page.read_text()) if info == "json"))
    assert default["Registered"] == "0001-01-01T00:00:00"
    request = wire_request(
        "POST", AGENT + "CreateDefaultWebhook", headers={"Authorization": "Basic dGplMDpUamUw"}
    )
    response = wire_response(200, headers={"Content-Type": "application/json; charset=utf-8"}, body=default)
    assert errors_of(contract.openapi.unmarshal_response(request, response)) == []


def test_seed_examples_in_the_document_are_verbatim(contract: Contract) -> None:
    examples = contract.document["components"]["examples"]
    request, response = docpages.sample_request(docpages.SEED), docpages.sample_response(docpages.SEED)
    assert examples["SeedSaveWebhookRequest"]["value"] == request.json
    assert examples["SeedSaveWebhookRequest"]["x-headers"] == request.headers
    assert examples["SeedSaveWebhookRequest"]["x-request-line"] == request.start_line
    assert examples["SeedSaveWebhookResponse"]["value"] == response.json
    assert examples["SeedSaveWebhookResponse"]["x-headers"] == response.headers
    assert examples["SeedSaveWebhookResponse"]["x-status"] == response.status


class _Delivery:
    """A webhook delivery as openapi-core's webhook validator reads it."""

    def __init__(self, headers: dict[str, str], body: bytes) -> None:
        self.name = "webhookDelivery"
        self.method = "post"
        self.body = body
        self.content_type = "application/json"
        self.parameters = RequestParameters(
            header=Headers(headers), query=ImmutableMultiDict(), cookie=ImmutableMultiDict()
        )


def test_every_payload_sample_of_the_delivery_pages_is_valid(contract: Contract) -> None:
    samples = docpages.payload_samples()
    assert len(samples) >= 20
    broken = [where for where, _, body in samples if isinstance(body, json.JSONDecodeError)]
    # A documentation defect: the first contact sample misses a comma after "category_idx".
    assert broken == ["contact-events.md#0"]
    schema = Draft202012Validator(
        _schema_with_components(contract, {"$ref": "#/components/schemas/WebhookPayload"}),
        registry=_registry(contract),
    )
    checked_with_headers = 0
    for where, headers, body in samples:
        if isinstance(body, json.JSONDecodeError):
            continue
        assert [e.message for e in schema.iter_errors(body)] == [], where
        if headers:
            result = contract.openapi.unmarshal_webhook_request(_Delivery(headers, json.dumps(body).encode()))
            assert errors_of(result) == [], where
            checked_with_headers += 1
    assert checked_with_headers >= 5


# ---------------------------------------------------------------------------------------------
# Every example in the document validates against its schema (oracle: jsonschema)


def _registry(contract: Contract) -> Registry:
    resource = Resource.from_contents(contract.document, default_specification=_DRAFT)
    return Registry().with_resource("urn:contract", resource)


def _schema_with_components(contract: Contract, schema: dict[str, Any]) -> dict[str, Any]:
    def rebase(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: ("urn:contract" + v if k == "$ref" and v.startswith("#") else rebase(v))
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [rebase(v) for v in node]
        return node

    return rebase(schema)


from referencing.jsonschema import DRAFT202012 as _DRAFT  # noqa: E402


def _examples(contract: Contract) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """``(where, schema, value)`` of every example in the document."""
    doc = contract.document

    def media_examples(where: str, media: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
        schema = media.get("schema", {})
        if "example" in media:
            yield where, schema, media["example"]
        for key, example in media.get("examples", {}).items():
            yield f"{where}/examples/{key}", schema, contract.resolve(example)["value"]

    for path, item in doc["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {})
            for media_type, media in body.get("content", {}).items():
                yield from media_examples(f"{method} {path} request {media_type}", media)
            for status, response in operation["responses"].items():
                for media_type, media in contract.resolve(response).get("content", {}).items():
                    yield from media_examples(f"{method} {path} {status} {media_type}", media)
            for param in operation.get("parameters", []):
                param = contract.resolve(param)
                yield from media_examples(f"{method} {path} parameter {param['name']}", param)
    for name, param in doc["components"]["parameters"].items():
        yield from media_examples(f"parameter {name}", param)
    for name, schema in doc["components"]["schemas"].items():
        for value in schema.get("examples", []):
            yield f"schema {name}", schema, value


def test_every_example_in_the_document_validates_against_its_schema(contract: Contract) -> None:
    registry = _registry(contract)
    examples = list(_examples(contract))
    assert len(examples) >= 8
    for where, schema, value in examples:
        validator = Draft202012Validator(_schema_with_components(contract, schema), registry=registry)
        assert [e.message for e in validator.iter_errors(value)] == [], where


# ---------------------------------------------------------------------------------------------
# Validation is live: mutated samples fail, naming the field


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("WebhookId", "419", "is not of type 'integer'"),
        ("State", "Paused", "is not one of ['Unknown', 'Active', 'Stopped', 'TooManyErrors']"),
        ("Events", "non", "is not of type 'array', 'null'"),
        ("Secret", "s" * 401, "is too long"),
        ("Name", "n" * 401, "is too long"),
        ("TargetUrl", "https://x/" + "u" * 3991, "is too long"),
        ("Type", "t" * 101, "is too long"),
        ("ErrorsEmail", "e" * 240, "is too long"),
        ("Registered", "13/02/2015", "does not match"),
        ("WebHookId", 1, "Additional properties are not allowed"),
    ],
)
def test_a_mutated_seed_request_fails_naming_the_field(
    contract: Contract, field: str, value: Any, message: str
) -> None:
    seed = docpages.sample_request(docpages.SEED)
    body = copy.deepcopy(seed.json)
    body[field] = value
    request = wire_request(seed.method, seed.path, headers=seed.headers, body=json.dumps(body))
    errors = errors_of(contract.openapi.unmarshal_request(request))
    assert len(errors) == 1
    path, text = errors[0]
    assert message in text
    assert field in path or field in text


@pytest.mark.parametrize(
    ("header", "value"),
    [("SO-TimeZone", "Mars/Olympus Mons!"), ("Accept-Language", "fr;;de"), ("SO-Culture", "1")],
)
def test_a_malformed_header_fails_naming_the_header(contract: Contract, header: str, value: str) -> None:
    seed = docpages.sample_request(docpages.SEED)
    request = wire_request(
        seed.method, seed.path, headers={**seed.headers, header: value}, body=seed.body_text
    )
    result = contract.openapi.unmarshal_request(request)
    assert [type(e).__name__ for e in result.errors] == ["InvalidParameter"]
    assert header in str(result.errors[0])


@pytest.mark.parametrize(
    "value", ["NO", "261", "US-NY", "NO, includeTZOffset", "US-NY, includeTZOffset", "UTC"]
)
def test_documented_timezone_headers_are_valid(contract: Contract, value: str) -> None:
    seed = docpages.sample_request(docpages.SEED)
    request = wire_request(
        seed.method, seed.path, headers={**seed.headers, "SO-TimeZone": value}, body=seed.body_text
    )
    assert contract.openapi.unmarshal_request(request).errors == []


# ---------------------------------------------------------------------------------------------
# SuperOffice's date-time format


def _datetime_pattern(contract: Contract) -> re.Pattern[str]:
    return re.compile(contract.document["components"]["schemas"]["SuperOfficeDateTime"]["pattern"])


@given(
    moment=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    digits=st.integers(min_value=0, max_value=7),
    offset_minutes=st.one_of(st.none(), st.just("Z"), st.integers(min_value=-14 * 60, max_value=14 * 60)),
    colon=st.booleans(),
)
def test_every_date_time_superoffice_writes_matches(
    contract: Contract, moment: datetime, digits: int, offset_minutes: int | str | None, colon: bool
) -> None:
    # Oracle: the text is built from a real datetime, field by field, as .NET's "o" format writes it.
    m = moment
    text = f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
    if digits:
        text += "." + f"{moment.microsecond:06d}0"[:digits]
    if offset_minutes == "Z":
        text += "Z"
    elif isinstance(offset_minutes, int):
        sign = "+" if offset_minutes >= 0 else "-"
        hours, minutes = divmod(abs(offset_minutes), 60)
        text += f"{sign}{hours:02d}{':' if colon else ''}{minutes:02d}"
    assert _datetime_pattern(contract).match(text), text


@pytest.mark.parametrize(
    "text",
    [
        "2015-02-13",
        "2015-13-01T00:00:00",
        "2015-02-13T24:00:00",
        "2015-02-13T16:48:31.12345678Z",
        "2015-02-13 16:48:31",
        "",
    ],
)
def test_malformed_date_times_do_not_match(contract: Contract, text: str) -> None:
    assert not _datetime_pattern(contract).match(text)


def test_pure_python_and_libyaml_parsers_read_the_same_document(contract: Contract) -> None:
    import yaml

    assert yaml.load(contract.text, Loader=yaml.SafeLoader) == contract.document


# ---------------------------------------------------------------------------------------------
# The fidelity table covers every field and header of SaveWebhook

FIDELITY = Path(__file__).resolve().parents[1] / "docs" / "fidelity.md"


def fidelity_rows() -> dict[str, tuple[str, str]]:
    """``backticked name -> (row id, status)`` of every row of docs/fidelity.md."""
    rows = {}
    for line in FIDELITY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and re.fullmatch(r"F-\d{3}", cells[0]):
            for name in re.findall(r"`([^`]+)`", cells[1]):
                rows[name] = (cells[0], cells[2])
    return rows


def test_fidelity_table_covers_every_field_and_header_of_savewebhook(contract: Contract) -> None:
    rows = fidelity_rows()
    fields = set(contract.document["components"]["schemas"]["Webhook"]["properties"])
    headers = set(header_table(docpages.SEED))
    missing = sorted((fields | headers) - set(rows))
    assert missing == []
    assert {status for _, status in rows.values()} <= {"documented", "assumed", "conflict"}


def test_fidelity_row_ids_are_unique() -> None:
    ids = re.findall(r"^\| (F-\d{3}) \|", FIDELITY.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert len(ids) == len(set(ids)) > 30


def test_the_operation_index_is_the_documents_paths_read_independently(contract: Contract) -> None:
    # the oracle: a JSON pointer walk over the raw document, not the index's own resolution
    found = {}
    for path, item in contract.document["paths"].items():
        for method, spec in item.items():
            if isinstance(spec, dict) and "operationId" in spec:
                found[spec["operationId"]] = (path, method.upper(), spec)
    assert set(contract.operations) == set(found) and len(found) >= 8
    for operation_id, (path, method, spec) in found.items():
        operation = contract.operation(operation_id)
        assert (operation.path, operation.method) == (path, method)
        assert contract.paths[path][method] is operation
        node: Any = contract.document
        for token in operation.pointer.split("/")[1:]:
            node = node[token.replace("~1", "/").replace("~0", "~")]
        assert node is spec
        assert all("$ref" not in p for p in operation.parameters)
        assert [p["name"] for p in operation.parameters] == [
            contract.resolve(p)["name"] for p in spec.get("parameters", [])
        ]
    with pytest.raises(KeyError, match="NoSuchOperation"):
        contract.operation("NoSuchOperation")


def test_the_rest_saves_carry_savewebhooks_rules(contract: Contract) -> None:
    save = contract.document["paths"]["/api/v1/Agents/Webhook/SaveWebhook"]["post"]["x-rules"]
    for operation_id in ("v1Webhook_PostWebhook", "v1Webhook_PutWebhook", "v1Webhook_PatchWebhook"):
        assert contract.operation(operation_id).rules == save
    assert contract.operation("v1Webhook_GetWebhook").rules == []
