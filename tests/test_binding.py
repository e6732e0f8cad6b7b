"""Binding a request as SuperOffice's server (ASP.NET Web API, Json.NET) binds it: ``contracts.binding``
and the mock that runs it before validating.

Oracles, none of them the binding code: the same webhook saved with the contract's canonical
names (its answer and what GetWebhook reads back); the canonical value a generator drew from the
contract (``contracts.generated``) before the test re-cased it; the contract's own enum numbers
(``x-enum-numbers``) and flags (``x-flags``); Json.NET's documented conversions, stated as tables
of inputs and the values .NET reads them as. Every name is read from the contract; the rules on
local schemas use names of their own.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.binding import Binder, fold
from contracts.generated import generate
from contracts.spec import load
from contracts.strategies import from_webhook
from contracts.wire import FORM_TYPE, WireFormats, without_xml_unrepresentable
from mockserver import MockConfig, create_app, state_of
from mockserver.config import ConfigError, DeliveryConfig
from mockserver.journal import secrets_in

CONTRACT = load()
WIRE = WireFormats(CONTRACT)
BINDER = Binder(CONTRACT)
AGENT = "/api/v1/Agents/Webhook/"
AUTH = {"Authorization": "Basic dGplMDpUamUw"}
WEBHOOK = {"$ref": "#/components/schemas/Webhook"}
SCHEMAS = CONTRACT.document["components"]["schemas"]
PROPERTIES = SCHEMAS["Webhook"]["properties"]
CASINGS: list[Callable[[str], str]] = [str.lower, str.upper, str.swapcase, lambda name: name]
RECASED = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def new_app(**config: Any) -> Any:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    return create_app(
        MockConfig(clock=lambda: moment, delivery=DeliveryConfig(registration_ping=False), **config)
    )


def post(
    client: Any, operation: str, body: Any = None, *, query: str = "", content_type: str = "application/json"
) -> Any:
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    headers = {
        **AUTH,
        "Accept": "application/json",
        **({"Content-Type": content_type} if data is not None else {}),
    }
    return client.post(AGENT + operation + query, data=data, headers=headers)


def without_id(value: Any) -> Any:
    return {k: v for k, v in value.items() if k != "WebhookId"} if isinstance(value, dict) else value


def read_back(client: Any, answer: Any) -> Any:
    """The saved webhook as GetWebhook answers it (None when the save was refused)."""
    if answer.status_code != 200:
        return None
    query = f"?{_query_name('GetWebhook')}={answer.json['WebhookId']}"
    return without_id(post(client, "GetWebhook", query=query).json)


def _query_name(operation_id: str) -> str:
    """The operation's one integer query parameter, as the contract spells it."""
    (name,) = [p["name"] for p in CONTRACT.operation(operation_id).query() if p.get("required")]
    return name


def last_entry(app: Any, operation: str = "SaveWebhook") -> Any:
    return [entry for entry in state_of(app).journal.entries() if entry.operation == operation][-1]


# -- the test's own walk of the contract: where property names are -----------------------------


def shape(schema: Any) -> tuple[dict[str, Any], Any, Any]:
    """``(properties, additionalProperties, items)`` of a schema, $ref, allOf and anyOf followed."""
    properties: dict[str, Any] = {}
    additional = items = None
    stack = [schema]
    while stack:
        node = CONTRACT.resolve(stack.pop())
        if not isinstance(node, dict):
            continue
        for key in ("allOf", "anyOf", "oneOf"):
            stack.extend(node.get(key, ()))
        for name, sub in node.get("properties", {}).items():
            properties.setdefault(name, sub)
        additional = node.get("additionalProperties", additional)
        items = node.get("items", items)
    return properties, additional, items


def recase(value: Any, schema: Any, pick: Callable[[str], Callable[[str], str]]) -> Any:
    """``value`` with every property name the contract describes re-cased by ``pick(name)``; the
    keys of dictionaries (additionalProperties without properties) are the user's and stay."""
    properties, additional, items = shape(schema)
    if isinstance(value, dict):
        if properties:
            return {
                (pick(key)(key) if key in properties else key): recase(item, properties.get(key, True), pick)
                for key, item in value.items()
            }
        if additional not in (None, True, False):
            return {key: recase(item, additional, pick) for key, item in value.items()}
    if isinstance(value, list) and items not in (None, True):
        return [recase(item, items, pick) for item in value]
    return value


def picker(data: st.DataObject) -> Callable[[str], Callable[[str], str]]:
    return lambda name: data.draw(st.sampled_from(CASINGS), label=f"casing of {name}")


def request_bodies() -> list[tuple[str, Any]]:
    """Every operation's JSON body schema."""
    found = []
    for item in CONTRACT.document["paths"].values():
        for spec in item.values():
            if isinstance(spec, dict) and "requestBody" in spec:
                body = CONTRACT.resolve(spec["requestBody"])
                found.append((spec["operationId"], body["content"]["application/json"]["schema"]))
    return found


# -- the binder on the contract's schemas ------------------------------------------------------


@pytest.mark.parametrize(("operation_id", "schema"), request_bodies(), ids=[op for op, _ in request_bodies()])
@given(data=st.data(), seed=st.integers(0, 2**32))
def test_a_value_in_any_casing_binds_to_the_canonical_value_the_generator_drew(
    operation_id: str, schema: Any, data: st.DataObject, seed: int
) -> None:
    canonical = generate(CONTRACT, schema, random.Random(seed))
    body = BINDER.body(schema)
    as_drawn = body.bind(canonical)
    assert as_drawn.value is canonical and as_drawn.notes == []  # canonical: nothing to do, nothing copied
    bound = body.bind(recase(canonical, schema, picker(data)))
    assert bound.value == canonical
    assert bound.notes == []  # a known name in another casing is valid and noted nowhere


@given(data=st.data(), seed=st.integers(0, 2**32))
def test_members_no_property_matches_are_dropped_and_noted_as_violations(
    data: st.DataObject, seed: int
) -> None:
    canonical = generate(CONTRACT, WEBHOOK, random.Random(seed))
    folded = {fold(name) for name in PROPERTIES} | {name.casefold() for name in PROPERTIES}
    unknown = data.draw(
        st.lists(
            st.text(min_size=1, max_size=12).filter(
                lambda k: fold(k) not in folded and k.casefold() not in folded
            ),
            min_size=1,
            max_size=4,
            unique=True,
        ),
        label="unknown members",
    )
    sent = {
        **{key: data.draw(st.integers() | st.text(max_size=5) | st.none()) for key in unknown},
        **canonical,
    }
    bound = BINDER.body(WEBHOOK).bind(sent)
    assert bound.value == canonical
    assert [(n.kind, n.path) for n in bound.notes] == [("unknown", (key,)) for key in unknown]
    assert all(note.violation and f"'{note.path[-1]}'" in note.message for note in bound.notes)


# -- Json.NET's rules, on local schemas ------------------------------------------------------------


def bind_one(schema: dict[str, Any], value: Any) -> tuple[Any, list[str]]:
    bound = BINDER.body({"type": "object", "additionalProperties": False, "properties": {"P": schema}}).bind(
        {"P": value}
    )
    return bound.value.get("P", "(dropped)"), [note.kind for note in bound.notes]


INT32 = {"type": "integer", "format": "int32"}
LENIENT = [
    # (schema, sent, read as): JsonReader.ReadAsInt32 / ReadInt32String: int.TryParse(s, NumberStyles.Integer)
    (INT32, "42", 42),
    (INT32, " 42\t", 42),
    (INT32, "+42", 42),
    (INT32, "-7", -7),
    (INT32, "2147483647", 2147483647),
    (INT32, "2147483648", "2147483648"),  # overflows Int32: Json.NET fails, validation says so
    (INT32, "1_000", "1_000"),
    (INT32, "٣", "٣"),  # .NET reads ASCII digits only
    (INT32, "0x10", "0x10"),
    (INT32, "1.0", "1.0"),
    (INT32, "abc", "abc"),
    (INT32, "", ""),  # null for an int: Json.NET fails
    (INT32, True, True),  # "Unexpected token: Boolean"
    ({"type": ["integer", "null"], "format": "int32"}, "", None),  # ReadInt32String: empty is null
    # ReadAsString: a number's text, true/false
    ({"type": ["string", "null"]}, 42, "42"),
    ({"type": ["string", "null"]}, -0.5, "-0.5"),
    ({"type": ["string", "null"]}, True, "true"),
    ({"type": ["string", "null"]}, False, "false"),
    ({"type": "string"}, ["a"], ["a"]),  # an array is no string: validation says so
    ({"type": "array", "items": {"type": "string"}}, "a", "a"),  # a string is no array
    ({"type": "array", "items": {"type": "string"}}, [1, True], ["1", "true"]),
    # ReadAsBoolean: a number (0 is false), bool.TryParse (any casing, white space and NULs around)
    ({"type": "boolean"}, 1, True),
    ({"type": "boolean"}, 0, False),
    ({"type": "boolean"}, 2.5, True),
    ({"type": "boolean"}, "TRUE", True),
    ({"type": "boolean"}, " false\x00", False),
    ({"type": "boolean"}, "yes", "yes"),
    # ReadAsDouble: double.TryParse(s, NumberStyles.Float | AllowThousands)
    ({"type": "number"}, "1.5", 1.5),
    ({"type": "number"}, "1,000.5", 1000.5),
    ({"type": "number"}, "-2e3", -2000.0),
    ({"type": "number"}, "1e999", "1e999"),  # no JSON number carries a double's overflow
    ({"type": "number"}, "NaN", "NaN"),
]


@pytest.mark.parametrize(
    ("schema", "sent", "expected"), LENIENT, ids=[f"{s.get('type')}<-{v!r}" for s, v, _ in LENIENT]
)
def test_json_net_conversions(schema: dict[str, Any], sent: Any, expected: Any) -> None:
    value, kinds = bind_one(schema, sent)
    assert value == expected and type(value) is type(expected)
    assert set(kinds) == (set() if expected == sent and type(expected) is type(sent) else {"converted"})


STATES = {
    "type": "string",
    "enum": ["Off", "On", "Broken"],
    "x-enum-numbers": {"Off": 0, "On": 1, "Broken": 2},
}
FLAGS = {"type": "string", "x-flags": {"None": 0, "Mail": 1, "Chat": 2, "Sms": 4}, "pattern": "^.*$"}
ENUMS = [
    # StringEnumConverter (AllowIntegerValues), EnumUtils.ParseEnum / TryToString
    (STATES, "On", "On"),
    (STATES, "on", "On"),
    (STATES, " ON ", "On"),
    (STATES, 1, "On"),
    (STATES, "1", "On"),
    (STATES, " +2 ", "Broken"),
    (STATES, "Off, On", "On"),  # the names' numbers OR-ed: 0 | 1
    (STATES, "On, Broken", "On, Broken"),  # 3 has no name: the server would write 3; refused
    (STATES, 7, 7),
    (STATES, 1.0, 1.0),  # "Unexpected token Float when parsing enum"
    (STATES, "2147483648", "2147483648"),  # OverflowException, not caught
    (STATES, "Onn", "Onn"),
    (STATES, "", ""),
    (FLAGS, "Mail, Chat", "Mail, Chat"),
    (FLAGS, "chat,mail", "Mail, Chat"),
    (FLAGS, "SMS , mail", "Mail, Sms"),
    (FLAGS, 7, "Mail, Chat, Sms"),
    (FLAGS, "3", "Mail, Chat"),
    (FLAGS, 0, "None"),
    (FLAGS, "none", "None"),
    (FLAGS, 8, 8),  # no flag has 8: the server would write 8
    (FLAGS, "Mail,", "Mail,"),  # an empty name after the comma: Json.NET fails
    (FLAGS, "Mail, Fax", "Mail, Fax"),
    ({"type": ["string", "null"], "enum": ["A", "B", None]}, "", None),  # nullable: empty is null
    ({"type": "string", "enum": ["A", "B"]}, "b", "B"),  # names without numbers: one name, any casing
    ({"type": "string", "enum": ["A", "B"]}, "A, B", "A, B"),  # ... but no numbers to OR
]


@pytest.mark.parametrize(("schema", "sent", "expected"), ENUMS, ids=[repr(v) for _, v, _ in ENUMS])
def test_enums_and_flags_bind_as_string_enum_converter_reads_them(
    schema: dict[str, Any], sent: Any, expected: Any
) -> None:
    value, kinds = bind_one(schema, sent)
    assert value == expected
    assert kinds == ([] if value == sent else ["enum"])


@given(names=st.lists(st.sampled_from(["Mail", "Chat", "Sms"]), unique=True), data=st.data())
def test_flags_in_any_order_casing_and_spacing_or_as_their_number_bind_to_the_canonical_form(
    names: list[str], data: st.DataObject
) -> None:
    numbers = FLAGS["x-flags"]
    # .NET writes the set flags in the order of their numbers, joined by ", "; no flag set is "None"
    canonical = ", ".join(sorted(names, key=numbers.__getitem__)) or "None"
    spaces = st.sampled_from(["", " ", "  ", "\t"])
    shuffled = data.draw(st.permutations(names)) if names else ["None"]
    text = ",".join(
        data.draw(spaces) + data.draw(st.sampled_from(CASINGS))(n) + data.draw(spaces) for n in shuffled
    )
    assert bind_one(FLAGS, text)[0] == canonical
    assert bind_one(FLAGS, sum(numbers[n] for n in names))[0] == canonical


def test_the_same_property_twice_in_different_casings_last_one_counts() -> None:
    schema = {"type": "object", "additionalProperties": False, "properties": {"Alpha": {"type": "string"}}}
    first, second = (
        BINDER.body(schema).bind({"Alpha": "a", "ALPHA": "b"}),
        BINDER.body(schema).bind({"alpha": "b", "Alpha": "a"}),
    )
    assert first.value == {"Alpha": "b"} and second.value == {"Alpha": "a"}
    assert [n.kind for n in first.notes] == ["duplicate"] and not first.notes[0].violation
    assert "'Alpha' and as 'ALPHA'" in first.notes[0].message


def test_dictionary_keys_are_the_users_and_only_their_values_bind() -> None:
    schema = {
        "type": "object",
        "properties": {"Map": {"type": "object", "additionalProperties": {"type": "string"}}},
    }
    bound = BINDER.body(schema).bind({"map": {"alpha": 1, "ALPHA": "x", "Beta": True}})
    assert bound.value == {"Map": {"alpha": "1", "ALPHA": "x", "Beta": "true"}}
    assert [n.path for n in bound.notes] == [("Map", "alpha"), ("Map", "Beta")]


def test_where_the_contract_allows_other_members_they_are_kept_as_sent() -> None:
    schema = {"type": "object", "properties": {"Alpha": {"type": "integer"}}}
    bound = BINDER.body(schema).bind({"alpha": 1, "Gamma": 2})
    assert bound.value == {"Alpha": 1, "Gamma": 2} and bound.notes == []


@pytest.mark.parametrize("key", ["ſk", "\u212ab", "sK\u0307"], ids=["long s", "Kelvin sign", "combining dot"])
def test_no_non_ascii_character_matches_an_ascii_name(key: str) -> None:
    # OrdinalIgnoreCase maps no non-ASCII character onto an ASCII one: "ſecret" is not Secret
    schema = {"type": "object", "additionalProperties": False, "properties": {"Sk": {}, "Kb": {}}}
    bound = BINDER.body(schema).bind({key: 1})
    assert bound.value == {} and [n.kind for n in bound.notes] == ["unknown"]


def test_the_contract_enums_numbers_and_flags_are_read_from_the_contract() -> None:
    enums = [s for s in SCHEMAS.values() if "x-enum-numbers" in s]
    assert enums, "the contract gives enum numbers (x-enum-numbers)"
    for schema in enums:
        body = BINDER.body(schema)
        for name, number in schema["x-enum-numbers"].items():
            assert body.bind(number).value == name
            assert body.bind(name.swapcase()).value == name


# -- the mock: every content type, the journal, the answers ---------------------------------------


@given(data=st.data(), webhook=from_webhook(webhook_type=None))
@RECASED
def test_a_webhook_saved_in_any_casing_reads_back_as_the_canonical_save(
    data: st.DataObject, webhook: dict[str, Any]
) -> None:
    app = new_app()
    client = app.test_client()
    canonical = post(client, "SaveWebhook", webhook)
    sent = recase(webhook, WEBHOOK, picker(data))
    recased = post(client, "SaveWebhook", sent)
    assert recased.status_code == canonical.status_code, recased.get_data(as_text=True)
    assert without_id(recased.json) == without_id(canonical.json)
    assert read_back(client, recased) == read_back(client, canonical)
    entry = last_entry(app)
    assert entry.violations == [] or recased.status_code != 200
    assert entry.warnings == []


def _recased_xml(value: dict[str, Any], pick: Callable[[str], Callable[[str], str]]) -> bytes:
    root = ElementTree.fromstring(WIRE.encode_xml(value, WEBHOOK))
    for child in root:
        child.tag = pick(child.tag)(child.tag)
    return ElementTree.tostring(root, encoding="utf-8").replace(b"\r", b"&#13;")


def _recased_form(value: dict[str, Any], pick: Callable[[str], Callable[[str], str]]) -> bytes:
    pairs = parse_qsl(WIRE.encode_form(value, WEBHOOK).decode("ascii"), keep_blank_values=True)
    return urlencode([(pick(name)(name), text) for name, text in pairs]).encode("ascii")


@pytest.mark.parametrize("content_type", ["application/xml", "text/xml", FORM_TYPE])
@given(data=st.data(), webhook=from_webhook(webhook_type=None))
@RECASED
def test_xml_elements_and_form_fields_in_any_casing_read_back_as_the_canonical_save(
    content_type: str, data: st.DataObject, webhook: dict[str, Any]
) -> None:
    webhook = without_xml_unrepresentable(webhook)
    app = new_app()
    client = app.test_client()
    pick = picker(data)
    if content_type == FORM_TYPE:
        canonical_body, sent = WIRE.encode_form(webhook, WEBHOOK), _recased_form(webhook, pick)
    else:
        canonical_body, sent = WIRE.encode_xml(webhook, WEBHOOK), _recased_xml(webhook, pick)
    canonical = post(client, "SaveWebhook", canonical_body, content_type=content_type)
    recased = post(client, "SaveWebhook", sent, content_type=content_type)
    assert recased.status_code == canonical.status_code, recased.get_data(as_text=True)
    assert without_id(recased.json) == without_id(canonical.json)
    assert read_back(client, recased) == read_back(client, canonical)
    assert last_entry(app).warnings == []


@pytest.mark.parametrize("content_type", ["application/json", "application/xml", FORM_TYPE])
def test_one_lower_cased_webhook_in_json_xml_and_form(content_type: str) -> None:
    # the example the property tests above generalise: every name lower-cased, arrays and dictionaries included
    webhook = {
        "Name": "n",
        "Events": ["contact.created", "sale.changed"],
        "Type": "crmscript",
        "TargetUrl": "7",
        "Headers": {"X-A": "1"},
        "Properties": {"k": [1, "two"]},
    }
    webhook = {name: value for name, value in webhook.items() if name in PROPERTIES}  # read from the contract
    app = new_app()
    client = app.test_client()
    lower = lambda name: str.lower  # noqa: E731
    if content_type == FORM_TYPE:
        body: Any = _recased_form(webhook, lower)
    elif content_type == "application/xml":
        body = _recased_xml(webhook, lower)
    else:
        body = recase(webhook, WEBHOOK, lower)
    saved = post(client, "SaveWebhook", body, content_type=content_type)
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert {name: saved.json[name] for name in webhook} == webhook
    assert last_entry(app).violations == [] and last_entry(app).warnings == []


@given(data=st.data(), webhook=from_webhook(webhook_type=None))
@RECASED
def test_unknown_members_never_change_what_is_stored_and_always_reach_the_journal(
    data: st.DataObject, webhook: dict[str, Any]
) -> None:
    folded = {name.casefold() for name in PROPERTIES} | {fold(name) for name in PROPERTIES}
    secrets = secrets_in(webhook)  # the journal masks them wherever they appear: keep them out of the names
    unknown = data.draw(
        st.lists(
            st.text(st.characters(codec="utf-8"), min_size=1, max_size=10).filter(
                lambda k: (
                    k.casefold() not in folded
                    and fold(k) not in folded
                    and not any(s and s in k for s in secrets)
                )
            ),
            min_size=1,
            max_size=3,
            unique=True,
        ),
        label="unknown members",
    )
    sent = dict(webhook)
    for key in unknown:  # anywhere among the known ones
        items = list(sent.items())
        items.insert(
            data.draw(st.integers(0, len(items))),
            (key, data.draw(st.integers() | st.text(max_size=4) | st.none())),
        )
        sent = dict(items)
    app = new_app()
    client = app.test_client()
    expected = post(client, "SaveWebhook", webhook)
    got = post(client, "SaveWebhook", sent)
    assert got.status_code == expected.status_code
    assert without_id(got.json) == without_id(expected.json)
    assert read_back(client, got) == read_back(client, expected)
    entry = last_entry(app)
    assert entry.verdict == "invalid"  # the request breaks the contract, whatever the answer
    for key in unknown:
        assert any(f"'{key}' is not a property of" in violation for violation in entry.violations), (
            key,
            entry.violations,
        )


def test_unknown_members_can_be_refused_with_a_400_naming_each() -> None:
    app = new_app(unknown_properties="reject")
    client = app.test_client()
    name = next(n for n in PROPERTIES if fold(n[-1]) != fold(n[-2]))
    typo = name[:-2] + name[-1] + name[-2]  # two letters swapped: a typo
    refused = post(client, "SaveWebhook", {typo: 1, "Zzz": None})
    assert refused.status_code == 400
    assert set(refused.json["ModelState"]) == {f"entity.{typo}", "entity.Zzz"}
    assert refused.json["ModelState"][f"entity.{typo}"] == [f"'{typo}' is not a property of Webhook."]
    assert state_of(app).store.all() == []
    assert last_entry(app).violations == [
        f"entity.{typo}: '{typo}' is not a property of Webhook.",
        "entity.Zzz: 'Zzz' is not a property of Webhook.",
    ]
    with pytest.raises(ConfigError, match="unknown_properties"):
        MockConfig(unknown_properties="drop")  # type: ignore[arg-type]
    assert MockConfig.from_mapping({"unknown_properties": "reject"}).unknown_properties == "reject"


def _enum_property(extension: str) -> list[tuple[str, dict[str, Any]]]:
    """The Webhook's properties whose schema carries ``extension``, with that schema."""
    found = []
    for name, sub in PROPERTIES.items():
        resolved = CONTRACT.resolve(sub)
        if extension in resolved and not sub.get("readOnly"):
            found.append((name, resolved))
    return found


@pytest.mark.parametrize(
    ("name", "schema"), _enum_property("x-enum-numbers"), ids=lambda v: v if isinstance(v, str) else ""
)
@given(data=st.data())
@RECASED
def test_an_enum_by_name_in_any_casing_or_by_number_is_stored_by_its_name(
    name: str, schema: dict[str, Any], data: st.DataObject
) -> None:
    canonical, number = data.draw(st.sampled_from(sorted(schema["x-enum-numbers"].items())))
    sent = data.draw(
        st.sampled_from(CASINGS).map(lambda casing: casing(canonical))
        | st.just(number)
        | st.sampled_from([str(number), f" {number} ", f"+{number}"]),
        label="sent",
    )
    app = new_app()
    client = app.test_client()
    saved = post(client, "SaveWebhook", {name: sent})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert saved.json[name] == canonical and read_back(client, saved)[name] == canonical
    entry = last_entry(app)
    assert entry.violations == []
    assert bool(entry.warnings) == (sent != canonical)


@pytest.mark.parametrize(
    ("name", "schema"), _enum_property("x-flags"), ids=lambda v: v if isinstance(v, str) else ""
)
@given(data=st.data())
@RECASED
def test_flags_of_the_contract_by_names_or_number_are_stored_in_their_canonical_form(
    name: str, schema: dict[str, Any], data: st.DataObject
) -> None:
    numbers = schema["x-flags"]
    chosen = data.draw(st.lists(st.sampled_from([n for n, v in numbers.items() if v]), unique=True))
    canonical = ", ".join(sorted(chosen, key=numbers.__getitem__)) or next(
        n for n, v in numbers.items() if v == 0
    )
    sent = data.draw(
        st.just(sum(numbers[n] for n in chosen))
        | st.permutations(chosen or [canonical]).map(lambda names: ",".join(n.lower() for n in names))
    )
    client = new_app().test_client()
    saved = post(client, "SaveWebhook", {name: sent})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert read_back(client, saved)[name] == canonical
    assert re.fullmatch(schema["pattern"], canonical)


@pytest.mark.parametrize("operation_id", ["GetWebhook", "DeleteWebhook"])
@pytest.mark.parametrize("casing", CASINGS, ids=["lower", "upper", "swapcase", "as-is"])
def test_query_parameter_names_bind_in_any_casing(operation_id: str, casing: Callable[[str], str]) -> None:
    app = new_app()
    client = app.test_client()
    saved = post(client, "SaveWebhook", {})
    name = _query_name(operation_id)
    answer = post(client, operation_id, query=f"?{casing(name)}={saved.json['WebhookId']}")
    assert answer.status_code in (200, 204), answer.get_data(as_text=True)
    if operation_id == "GetWebhook":
        assert answer.json == saved.json
    else:
        assert state_of(app).store.all() == []


def test_lenient_values_are_answered_as_the_server_would_and_journalled_as_warnings() -> None:
    (id_name,) = [
        n
        for n, s in PROPERTIES.items()
        if CONTRACT.resolve(s).get("format") == "int32" and not s.get("readOnly")
    ]
    text_name = next(
        n for n, s in PROPERTIES.items() if s.get("type") == ["string", "null"] and "maxLength" in s
    )
    app = new_app()
    client = app.test_client()
    saved = post(client, "SaveWebhook", {id_name: "0", text_name: 12345})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert saved.json[id_name] > 0 and saved.json[text_name] == "12345"
    entry = last_entry(app)
    assert entry.verdict == "valid" and entry.violations == []
    assert [w.split(":")[0] for w in entry.warnings] == [f"entity.{id_name}", f"entity.{text_name}"]
    journal = client.get("/__mock__/journal", headers=AUTH).json
    assert journal[-1]["warnings"] == entry.warnings
    # a value Json.NET cannot convert stays the 400 naming the field it always was
    refused = post(client, "SaveWebhook", {id_name: "abc"})
    assert refused.status_code == 400 and f"entity.{id_name}" in refused.json["ModelState"]


def test_every_content_type_binds_the_same_lenient_value() -> None:
    (id_name,) = [
        n
        for n, s in PROPERTIES.items()
        if CONTRACT.resolve(s).get("format") == "int32" and not s.get("readOnly")
    ]
    state = _enum_property("x-enum-numbers")[0][0]
    app = new_app()
    client = app.test_client()
    root = SCHEMAS["Webhook"]["xml"]["name"]
    bodies = {
        "application/json": json.dumps({id_name.lower(): " 0 ", state: "1"}),
        "application/xml": f"<{root}><{id_name.upper()}> 0 </{id_name.upper()}><{state}>1</{state}></{root}>",
        FORM_TYPE: urlencode({id_name.swapcase(): "0", state.lower(): "1"}),
    }
    states = set()
    for content_type, body in bodies.items():
        saved = post(client, "SaveWebhook", body, content_type=content_type)
        assert saved.status_code == 200, (content_type, saved.get_data(as_text=True))
        states.add(saved.json[state])
    assert len(states) == 1 and states <= set(_enum_property("x-enum-numbers")[0][1]["enum"])


# -- the pytest plugin: a typo fails the test; warnings on request ----------------------------------

PLUGIN_USER = """
import requests

AUTH = {"Authorization": "Basic dGplMDpUamUw"}

def save(mock, body):
    answer = requests.post(mock.url + "/api/v1/Agents/Webhook/SaveWebhook", json=body, headers=AUTH, timeout=10)
    assert answer.status_code == 200
    return answer.json()

def test_typo(sowebhook_mock):
    save(sowebhook_mock, {%(typo)r: "x"})

def test_lenient(sowebhook_mock):
    save(sowebhook_mock, {%(name)r: 42})

def test_camel_case(sowebhook_mock):
    save(sowebhook_mock, {%(camel)r: "x"})
"""


@pytest.mark.slow  # pytest in a subprocess (pytester)
@pytest.mark.parametrize("fail_on_warnings", [False, True])
def test_the_plugin_fails_a_typo_and_on_request_a_lenient_value(
    pytester: pytest.Pytester, fail_on_warnings: bool
) -> None:
    name = next(n for n, s in PROPERTIES.items() if s.get("type") == ["string", "null"])
    pytester.makepyfile(
        test_user=PLUGIN_USER % {"typo": name + name[-1], "name": name, "camel": name.lower()}
    )
    options = ["--sowebhook-fail-on-warnings"] if fail_on_warnings else []
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *options)
    result.assert_outcomes(passed=3, errors=1 + fail_on_warnings)  # errors: at the fixture's teardown
    result.stdout.fnmatch_lines(
        [f"*'{name + name[-1]}' is not a property of Webhook; SuperOffice ignores it*"]
    )
    if fail_on_warnings:
        result.stdout.fnmatch_lines(
            ["*was read only leniently*", f"*entity.{name}: the number was read as the string*"]
        )


def test_checks_can_bind_what_a_client_sent_as_the_server_bound_it() -> None:
    from contracts.binding import binder_for

    binder = binder_for(CONTRACT)
    assert binder is binder_for(CONTRACT)  # once per process
    name = next(n for n, s in PROPERTIES.items() if s.get("type") == ["string", "null"])
    assert binder.request_body("SaveWebhook").bind({name.lower(): 5}).value == {name: "5"}
    assert binder.request_body("GetWebhook") is None  # an operation without a body


def test_hostile_members_cost_little_and_journal_little() -> None:
    import time

    body = BINDER.body(WEBHOOK)
    started = time.perf_counter()
    huge = body.bind({"é" * 1_000_000: 1, **{f"x{n}": n for n in range(300)}})
    enum_name = _enum_property("x-enum-numbers")[0][0]
    padded = body.bind({enum_name: " " * 1_000_000, next(iter(PROPERTIES)): "\u3000" * 1_000_000})
    assert time.perf_counter() - started < 5  # linear at worst: no per-character Python work on long texts
    assert huge.value == {}
    assert len(huge.notes) == 101 and all(
        n.violation for n in huge.notes
    )  # 100, then one that counts the rest
    assert len(huge.notes[0].path[-1]) <= 100 and "and 201 more members" in huge.notes[-1].message
    assert padded.notes == []  # no enum name or number is that long: left for validation to name


def test_the_command_line_can_refuse_unknown_members() -> None:
    from click.testing import CliRunner

    from contracts.cli import main

    result = CliRunner().invoke(main, ["mock", "--help"])
    assert result.exit_code == 0 and "--unknown-properties [ignore|reject]" in result.output
