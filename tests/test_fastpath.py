"""The fast path and openapi-core give the same verdicts: a differential property test.

The oracle is openapi-core (``MockConfig(validator="openapi-core")``). For every operation of the
contract Hypothesis generates request bodies, sent in every documented content type and read back
through ``contracts.wire`` as the seam reads them; query strings and headers; and responses for
every status and media type. Values are built from the contract's own schemas with near-misses
mixed in: a wrong type, one character too many, an int32 bound, an integer-valued float, a
pattern's trailing newline or leading separator, a wrong-case enum value, an unknown property, a
missing required one, text that ``int()`` reads (``" 7"``, ``"1_000"``, ``"٣"``). Both seams bind a
request first (``contracts.binding``: names in any casing, Json.NET's conversions, unknown members
dropped), once, and validate the bound value; both must accept the same requests and responses
and, for the others, name the same fields with the same messages. jsonschema-rs's own verdict is checked too: it must never accept what openapi-core
rejects. It may be stricter (it bounds int32 fields for floats too, where OpenAPI's format check
lets ``3e9`` pass), because where it says "invalid" the reference decides.

Deliberate difference, asserted below: openapi-core validates nothing else when it cannot read the
credentials (the seam then drops its security error), so a request the Authenticator accepted with
an Authorization header that openapi-core does not parse (a leading space, possible only
in-process: servers strip it) goes unvalidated by the reference; the fast path validates it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

import docpages
from contracts.spec import Contract, Operation, load
from contracts.wire import FORM_TYPE, XML_TYPES, WireError, WireFormats
from mockserver import MockConfig, create_app
from mockserver.config import ConfigError
from mockserver.errors import AgentError
from mockserver.fastpath import FastPath, Unsupported
from mockserver.seam import Seam

CONTRACT = load()
WIRE = WireFormats(CONTRACT)
FAST = Seam(CONTRACT, WIRE, "fast")
REFERENCE = Seam(CONTRACT, WIRE, "openapi-core")
OPERATIONS = CONTRACT.operations
AUTH = ("Authorization", "Basic dGplMDpUamUw")

# -- values from the contract's schemas, with near-misses ----------------------------------------

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
ANY_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
EDGES = st.sampled_from(
    [
        2**31 - 1,
        2**31,
        -(2**31),
        -(2**31) - 1,
        2**63,
        -(2**64),
        3e9,
        2.0**31,
        1.0,
        -0.0,
        1.5,
        True,
        False,
        "",
        " ",
        "0",
        None,
        [],
        {},
    ]
)
INTEGER_TEXTS = [
    "7",
    " 7",
    "+7",
    "-1",
    "1_000",
    "٣",
    "7.0",
    "0x10",
    "abc",
    "2147483647",
    "2147483648",
    "9" * 5000,
    "١٢",
]
HEADER_CHARS = st.characters(min_codepoint=0x09, max_codepoint=0xFF, exclude_characters="\n\r\x0b\x0c")
STRING_EDGES = [
    "",
    " ",
    "\t",
    "*",
    "x",
    "fr",
    "\x1cfr",
    "\x85fr",
    "\xa0fr",
    "fr\x1f",
    "en-US;q=0.5",
    "UTC",
    "261",
    "NO, includeTZOffset",
]


def merged(schema: Any) -> dict[str, Any]:
    """The schema with $ref followed and allOf folded in (the contract's allOf is a $ref plus required)."""
    schema = CONTRACT.resolve(schema)
    if schema is True or schema is None:
        return {}
    if "allOf" not in schema:
        return schema
    result = {k: v for k, v in schema.items() if k != "allOf"}
    for part in map(merged, schema["allOf"]):
        for key, value in part.items():
            if key == "properties":
                result["properties"] = {**value, **result.get("properties", {})}
            elif key == "required":
                result["required"] = list(dict.fromkeys([*result.get("required", []), *value]))
            else:
                result.setdefault(key, value)
    return result


def from_schema(schema: Any, mistakes: bool) -> st.SearchStrategy[Any]:
    valid = _valid(schema, mistakes)
    if not mistakes:
        return valid
    wrong = _wrong(schema)
    return st.integers(0, 7).flatmap(lambda n: wrong if n == 0 else valid)


def _valid(schema: Any, mistakes: bool) -> st.SearchStrategy[Any]:
    s = merged(schema)
    if "anyOf" in s or "oneOf" in s:
        return st.one_of([from_schema(sub, mistakes) for sub in s.get("anyOf", s.get("oneOf"))])
    if "const" in s:
        return st.just(s["const"])
    if "enum" in s:
        return st.sampled_from(s["enum"])
    kinds = s.get("type")
    if kinds is None:
        return ANY_JSON
    return st.one_of([_of_type(kind, s, mistakes) for kind in ([kinds] if isinstance(kinds, str) else kinds)])


def _of_type(kind: str, s: dict[str, Any], mistakes: bool) -> st.SearchStrategy[Any]:
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        low, high = s.get("minimum"), s.get("maximum")
        if s.get("format") == "int32":
            low, high = (
                max(low if low is not None else -(2**31), -(2**31)),
                min(high if high is not None else 2**31 - 1, 2**31 - 1),
            )
        integers = st.integers(low, high)
        return integers | integers.filter(lambda n: abs(n) < 2**53).map(float)  # 5.0 is an integer too
    if kind == "string":
        if "pattern" in s:
            return st.from_regex(s["pattern"])  # Python's `$` also lets a final "\n" through
        limit = s.get("maxLength")
        text = st.text(min_size=s.get("minLength", 0), max_size=min(limit or 10, 10))
        return text if limit is None else text | st.just("é" * limit)
    if kind == "array":
        return st.lists(from_schema(s.get("items", True), mistakes), max_size=3)
    properties = s.get("properties", {})
    required = [name for name in s.get("required", []) if name in properties]
    objects = st.fixed_dictionaries(
        {name: from_schema(properties[name], mistakes) for name in required},
        optional={
            name: from_schema(sub, mistakes) for name, sub in properties.items() if name not in required
        },
    )
    extra = s.get("additionalProperties", True)
    if extra is not False and (not properties or mistakes):
        more = st.dictionaries(
            st.text(max_size=6).filter(lambda k: k not in properties),
            from_schema(extra, mistakes),
            max_size=2,
        )
        objects = st.tuples(objects, more).map(lambda pair: {**pair[1], **pair[0]})
    return objects


def _wrong(schema: Any) -> st.SearchStrategy[Any]:
    s = merged(schema)
    options = [ANY_JSON, EDGES]
    if "maxLength" in s:
        options.append(st.sampled_from(["x" * (s["maxLength"] + 1), "é" * (s["maxLength"] + 1)]))
    if "pattern" in s:
        near = ["{}\n", "{}x", "\x1c{}", "\x85{}", "\ufeff{}", "{}\n\n", " {} "]
        options.append(
            st.tuples(st.from_regex(s["pattern"]), st.sampled_from(near)).map(lambda t: t[1].format(t[0]))
        )
    if "enum" in s:
        options.append(st.sampled_from([v.lower() for v in s["enum"] if isinstance(v, str)] + ["Nope"]))
    if s.get("properties"):
        objects = _valid(schema, False).filter(lambda v: isinstance(v, dict))
        options.append(objects.map(lambda v: {**v, "Unexpected": 1}))
        if s.get("required"):
            options.append(objects.map(lambda v: {k: x for k, x in v.items() if k != s["required"][0]}))
    return st.one_of(options)


# -- running both seams --------------------------------------------------------------------------


def model_state(
    seam: Seam,
    operation: Operation,
    *,
    query: Iterable[tuple[str, str]] = (),
    headers: Iterable[tuple[str, str]] = (AUTH,),
    body: Any = None,
    media_type: str | None = None,
    path_values: dict[str, str] | None = None,
) -> tuple[list[tuple[str, list[str]]], dict[str, Any] | None]:
    """The ModelState of the 400 (in order), or ``[]`` and the validated query and path values.
    ``path_values``: the path's parameters as the router hands them (default: valid ones)."""
    if path_values is None:
        path_values = {p["name"]: ROUTED[p["name"]] for p in operation.parameters if p["in"] == "path"}
    try:
        validated = seam.validate_request(
            operation,
            path=operation.path,
            query=list(query),
            headers=Headers(list(headers)),
            cookies={},
            body=body,
            media_type=media_type,
            path_values=path_values,
        )
    except AgentError as error:
        assert error.status == 400  # noqa: PT017 - a helper, not a test: it returns the error's ModelState
        return list(error.body["ModelState"].items()), None
    return [], {**validated.query, **validated.path}


def encode(media_type: str, value: Any, schema: Any) -> bytes | None:
    try:
        if media_type in XML_TYPES:
            return WIRE.encode_xml(value, schema)
        if media_type == FORM_TYPE:
            return WIRE.encode_form(value, schema)
    except WireError:
        return None
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def same_body_verdict(operation: Operation, media_type: str, raw: bytes) -> None:
    try:
        body, media = FAST.read_body(operation, f"{media_type}; charset=utf-8", raw)
    except AgentError:
        return  # the wire refused it before validation, for both seams alike
    case = f"{operation.operation_id}, {media_type} body {raw[:200]!r}, read as {body!r}"[:500]
    fast, reference = (
        model_state(FAST, operation, body=body, media_type=media),
        model_state(REFERENCE, operation, body=body, media_type=media),
    )
    assert fast == reference, case
    if media is not None and reference[0]:
        bound = FAST.bind(operation, body, media)  # what both validators judged
        value = body if bound is None else bound.value
        verdict = FAST.checker.operations[operation.operation_id].bodies[media].fast_verdict(value)
        assert verdict is not True, f"jsonschema-rs alone accepts what openapi-core rejects: {case}"


BODIES = {
    op_id: {mt: from_schema(content["schema"], mistakes=True) for mt, content in op.body_content.items()}
    for op_id, op in OPERATIONS.items()
    if op.body_content
}


@pytest.mark.slow  # a long property run
@pytest.mark.parametrize("operation_id", sorted(BODIES))
@given(data=st.data())
def test_request_bodies_get_the_same_verdict_in_every_content_type(
    operation_id: str, data: st.DataObject
) -> None:
    operation = OPERATIONS[operation_id]
    media_type = data.draw(st.sampled_from(sorted(operation.body_content)), label="media type")
    value = data.draw(BODIES[operation_id][media_type], label="value")
    raw = encode(media_type, value, operation.body_content[media_type]["schema"])
    assume(raw is not None)
    same_body_verdict(operation, media_type, raw)


SEED = docpages.sample_request(docpages.SEED).json
TRICKY_SAVES = [
    SEED,
    {**SEED, "Registered": SEED["Registered"] + "\n"},  # Python's `$` matches before a final newline: valid
    {**SEED, "Registered": SEED["Registered"] + "\n\n"},
    {**SEED, "Updated": "2015-02-13T16:48:31.12345678"},
    {**SEED, "WebhookId": 2**31},
    {**SEED, "WebhookId": 7.0},
    {**SEED, "WebhookId": True},
    {
        **SEED,
        "RegisteredAssociate": {**SEED["RegisteredAssociate"], "AssociateId": 3e9},
    },  # int32 lets a float pass
    {**SEED, "RegisteredAssociate": {**SEED["RegisteredAssociate"], "AssociateId": 3000000000}},
    {**SEED, "RegisteredAssociate": {**SEED["RegisteredAssociate"], "Rank": -(2**31) - 1}},
    {**SEED, "Name": "x" * 401, "State": "active", "Headers": {"a": 1}, "Unexpected": None},
    {**SEED, "Properties": {"deep": json.loads("[" * 400 + "]" * 400)}},
    {**SEED, "Events": "contact.created"},
    None,
    [],
    # bound before either validator sees them (contracts.binding): names in any casing, Json.NET's
    # conversions, enums by number, a member in two casings, members the contract does not know
    {key[:1].lower() + key[1:]: value for key, value in SEED.items()},
    {key.upper(): value for key, value in SEED.items()},
    {**{key.lower(): str(value) for key, value in SEED.items() if isinstance(value, int)}, "Nmae": 1},
    {**SEED, "State": 1, "NAME": 5, "name": "x" * 401},
    {**SEED, "State": "2", "Events": [1, True, None]},
]


@pytest.mark.parametrize("media_type", sorted(OPERATIONS["SaveWebhook"].body_content))
def test_tricky_savewebhook_bodies_get_the_same_verdict(media_type: str) -> None:
    operation = OPERATIONS["SaveWebhook"]
    for value in TRICKY_SAVES:
        raw = encode(media_type, value, operation.body_content[media_type]["schema"])
        if raw is not None:
            same_body_verdict(operation, media_type, raw)


def _recased(value: Any, data: st.DataObject) -> Any:
    """``value`` with the keys of its objects, at any depth, in a casing drawn for each."""
    casings = st.sampled_from([str.lower, str.upper, str.swapcase, str])
    if isinstance(value, dict):
        return {data.draw(casings)(key): _recased(item, data) for key, item in value.items()}
    if isinstance(value, list):
        return [_recased(item, data) for item in value]
    return value


@pytest.mark.slow  # a long property run
@pytest.mark.parametrize("operation_id", sorted(BODIES))
@given(data=st.data())
def test_bodies_in_any_casing_get_the_same_verdict(operation_id: str, data: st.DataObject) -> None:
    operation = OPERATIONS[operation_id]
    value = _recased(data.draw(BODIES[operation_id]["application/json"], label="value"), data)
    same_body_verdict(operation, "application/json", json.dumps(value).encode("utf-8"))


def _parameter_values(parameter: dict[str, Any]) -> st.SearchStrategy[str]:
    schema = merged(parameter["schema"])
    if schema.get("type") == "integer":
        numbers = st.integers(-(2**33), 2**33) | st.integers(0, 2**31 - 1)
        return st.one_of(numbers.map(str), st.sampled_from(INTEGER_TEXTS), st.text(max_size=5))
    alphabet = HEADER_CHARS if parameter["in"] == "header" else st.characters(codec="utf-8")
    valid = (
        st.from_regex(schema["pattern"], alphabet=alphabet)
        if "pattern" in schema
        else st.text(alphabet, max_size=8)
    )
    text = st.one_of(
        valid,
        st.sampled_from(STRING_EDGES),
        st.text(alphabet, max_size=6),
        valid.map(lambda v: "\x1c" + v + "\x1f"),
    )
    return (
        text.map(lambda v: v.replace("\n", "")) if parameter["in"] == "header" else text
    )  # HTTP cannot carry a newline


# path parameters as the router hands them on: an int32 in .NET's int.TryParse form, or a segment
ROUTED = {"id": "1", "webhookId": "1", "eventName": "contact.created", "primaryKey": "1"}
ROUTED_INTEGERS = st.integers(-(2**31), 2**31 - 1).flatmap(
    lambda n: st.sampled_from([str(n), f"+{n}" if n >= 0 else str(n), f"{'-' if n < 0 else ''}00{abs(n)}"])
)
SEGMENTS = st.text(st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=8)


def _path_values(operation_id: str) -> st.SearchStrategy[dict[str, str]]:
    path = [p for p in CONTRACT.operation(operation_id).parameters if p["in"] == "path"]
    return st.fixed_dictionaries(
        {
            p["name"]: ROUTED_INTEGERS if merged(p["schema"]).get("type") == "integer" else SEGMENTS
            for p in path
        }
    )


def _requests(operation_id: str) -> st.SearchStrategy[tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    pairs = []
    for parameter in CONTRACT.operation(operation_id).query() + tuple(
        p for p in CONTRACT.operation(operation_id).parameters if p["in"] == "header"
    ):
        values = _parameter_values(parameter)
        name = parameter["name"]
        names = st.sampled_from([name, name.lower()]) if parameter["in"] == "header" else st.just(name)
        given_ = st.lists(st.tuples(names, values), max_size=2)  # absent, once, or repeated
        pairs.append(given_.map(lambda got, where=parameter["in"]: [(where, n, v) for n, v in got]))
    noise = st.lists(
        st.tuples(
            st.sampled_from(["query", "header"]),
            st.sampled_from(["x", "X-Other", "webhookid"]),
            st.text(HEADER_CHARS, max_size=3),
        ),
        max_size=2,
    )
    return st.tuples(*pairs, noise).map(
        lambda groups: (
            [(n, v) for group in groups for where, n, v in group if where == "query"],
            [AUTH] + [(n, v) for group in groups for where, n, v in group if where == "header"],
        )
    )


PARAMETERS = {op_id: _requests(op_id) for op_id in OPERATIONS}


@pytest.mark.slow  # a long property run
@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
@given(data=st.data())
def test_query_strings_and_headers_get_the_same_verdict(operation_id: str, data: st.DataObject) -> None:
    operation = OPERATIONS[operation_id]
    query, headers = data.draw(PARAMETERS[operation_id], label="query, headers")
    path_values = data.draw(_path_values(operation_id), label="path values")
    body, media_type = ({}, "application/json") if operation.body_required else (None, None)
    fast = model_state(
        FAST,
        operation,
        query=query,
        headers=headers,
        body=body,
        media_type=media_type,
        path_values=path_values,
    )
    reference = model_state(
        REFERENCE,
        operation,
        query=query,
        headers=headers,
        body=body,
        media_type=media_type,
        path_values=path_values,
    )
    assert fast == reference  # the same fields, messages, and (when valid) the same typed query values


def _responses(operation_id: str) -> list[tuple[str, str | None, Any]]:
    operation = OPERATIONS[operation_id]
    declared = []
    for status, response in operation.responses.items():
        content = response.get("content") or {None: {"schema": None}}
        declared += [(status, media_type, spec["schema"]) for media_type, spec in content.items()]
    return declared


RESPONSES = {
    op_id: st.sampled_from(_responses(op_id)).flatmap(
        lambda declared: st.tuples(
            st.just(declared[:2]), from_schema(declared[2], True) if declared[2] else st.none()
        )
    )
    for op_id in OPERATIONS
}


@pytest.mark.slow  # a long property run
@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
@given(data=st.data())
def test_responses_get_the_same_verdict_for_every_status_and_media_type(
    operation_id: str, data: st.DataObject
) -> None:
    operation = OPERATIONS[operation_id]
    (status, media_type), value = data.draw(RESPONSES[operation_id], label="response")
    headers = {"WWW-Authenticate": data.draw(st.text(HEADER_CHARS, max_size=12))} if status == "401" else {}
    check = dict(path=operation.path, status=int(status), media_type=media_type, value=value, headers=headers)
    reference = REFERENCE.check_response(operation, **check)
    assert FAST.check_response(operation, **check) == reference
    schema = FAST.checker.operations[operation_id].responses.get((status, media_type or ""))
    if schema is not None and reference:
        assert schema.fast_verdict(value) is not True, "jsonschema-rs alone accepts what openapi-core rejects"


# -- the cases named in the module docstring, and the switch -------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic dGplMDpUamUw",
        "basic dGplMDpUamUw",
        "SOTicket 7T:dGplMA==",
        "SoTicket 7T:dGplMA==",
        "Bearer 8A:Cust12345.tje0",
        "Basic  dGplMDpUamUw",
    ],
)
def test_every_credential_the_authenticator_accepts_passes_openapi_cores_security_check(
    authorization: str,
) -> None:
    operation = OPERATIONS["SaveWebhook"]
    bad = {"WebhookId": "x"}
    assert model_state(
        REFERENCE,
        operation,
        headers=[("Authorization", authorization)],
        body=bad,
        media_type="application/json",
    )[0]


def test_xsrf_sessions_pass_openapi_cores_security_check_too() -> None:
    operation = OPERATIONS["SaveWebhook"]
    headers = [("X-XSRF-TOKEN", "xsrf-tje0")]
    assert model_state(
        REFERENCE, operation, headers=headers, body={"WebhookId": "x"}, media_type="application/json"
    )[0]


def test_deliberate_difference_an_authorization_header_openapi_core_cannot_parse() -> None:
    # " Basic ..." (leading space): the Authenticator strips it and accepts; openapi-core's security
    # check fails, so it validates nothing else and the reference seam finds no error. The fast
    # path validates the body all the same. Real servers strip the space before the app sees it.
    operation = OPERATIONS["SaveWebhook"]
    headers = [("Authorization", " Basic dGplMDpUamUw")]
    body = {"WebhookId": "x"}
    assert model_state(REFERENCE, operation, headers=headers, body=body, media_type="application/json") == (
        [],
        {},
    )
    assert model_state(FAST, operation, headers=headers, body=body, media_type="application/json")[0] == [
        ("entity.WebhookId", ["'x' is not of type 'integer'"])
    ]


def test_a_repeated_query_parameter_is_read_as_its_first_value_by_both() -> None:
    operation = OPERATIONS["GetWebhook"]
    query = [("webhookId", "5"), ("webhookId", "abc")]
    assert (
        model_state(FAST, operation, query=query)
        == model_state(REFERENCE, operation, query=query)
        == ([], {"webhookId": 5})
    )


def test_parts_of_openapi_the_fast_path_does_not_compile_are_refused_by_name() -> None:
    document = {
        "paths": {
            "/x": {
                "post": {
                    "operationId": "X",
                    "parameters": [{"name": "ids", "in": "query", "schema": {"type": "array"}}],
                    "responses": {},
                }
            }
        }
    }
    with pytest.raises(Unsupported, match="'ids'"):
        FastPath(Contract(path=Path("x.yaml"), text="", document=document))


def test_the_validator_is_chosen_in_the_configuration_and_both_answer_alike() -> None:
    with pytest.raises(ConfigError, match="validator"):
        MockConfig(validator="jsonschema")  # type: ignore[arg-type]
    answers = []
    for validator in ("fast", "openapi-core"):
        client = create_app(MockConfig(validator=validator)).test_client()
        headers = {AUTH[0]: AUTH[1], "Content-Type": "application/json"}
        ok = client.post("/api/v1/Agents/Webhook/SaveWebhook", json=SEED, headers=headers)
        bad = client.post(
            "/api/v1/Agents/Webhook/SaveWebhook",
            json={**SEED, "Secret": "s" * 401, "State": "Paused"},
            headers=headers,
        )
        answers.append((ok.status_code, ok.json["Name"], bad.status_code, bad.json))
    assert answers[0] == answers[1]
    assert answers[0][2] == 400 and set(answers[0][3]["ModelState"]) == {"entity.Secret", "entity.State"}
