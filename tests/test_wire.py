"""The wire formats (``contracts.wire``), checked against oracles that are not the code under test.

Round trips are property-based: a webhook valid against the contract's ``Webhook`` schema is built
from plain Hypothesis primitives, encoded to XML or a form and decoded again. Three oracles judge
the result: the generated value itself (compared type-strictly, so ``True`` is not ``1`` and
``1.0`` is not ``1``), the contract's own JSON Schema validator, and the standard library's XML
parser reading the encoder's output independently.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as StdET
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from contracts import Contract, load
from contracts.wire import FORM_TYPE, JSON_TYPES, XML_TYPES, WireError, WireFormats, decode_json, negotiate

WEBHOOK = {"$ref": "#/components/schemas/Webhook"}
GET_ALL = {"$ref": "#/components/schemas/GetAllWebhooksRequest"}
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSI_NIL = f"{{{XSI}}}nil"

# The Webhook schema of openapi/webhook-agent.yaml, restated by hand (test_schema_limits_are_the_contracts
# keeps the two in step): maxLength of each string field, the WebhookState enum, the property order.
MAX_LENGTH = {
    "Name": 400,
    "TargetUrl": 4000,
    "Secret": 400,
    "Type": 100,
    "ErrorsEmail": 239,
    "LastError": 4000,
}
STATES = ["Unknown", "Active", "Stopped", "TooManyErrors"]
# The flags enums of the current carrier (src/Enums.ts of @superoffice/webapi 12.4.1514), in the form
# .NET writes them: the set flags in the order of their numbers, joined by ", ", or the zero name.
NOTIFY_VIA = ["None", "Email", "InApp", "Email, InApp"]
NOTIFY_WHEN = ["None", "FirstFailure", "Disabling", "FirstFailure, Disabling"]
PROPERTY_ORDER = [
    "WebhookId",
    "Name",
    "Events",
    "TargetUrl",
    "Secret",
    "State",
    "Type",
    "Headers",
    "Properties",
    "Registered",
    "RegisteredAssociate",
    "Updated",
    "UpdatedAssociate",
    "ErrorsEmail",
    "ErrorEmails",
    "ErrorAssociates",
    "Description",
    "NotifyVia",
    "NotifyWhen",
    "TotalCalls",
    "TotalErrors",
    "ConsecutiveErrors",
    "LastError",
]
# Fields whose null encode_form leaves out (absent and null mean the same to the agent).
SCALAR_FIELDS = {
    "WebhookId",
    "Name",
    "TargetUrl",
    "Secret",
    "State",
    "Type",
    "ErrorsEmail",
    "Description",
    "NotifyVia",
    "NotifyWhen",
    "TotalCalls",
    "TotalErrors",
    "ConsecutiveErrors",
    "LastError",
}
# The XML element of one item of each array field.
ITEM_TAGS = {"Events": "string", "ErrorEmails": "string", "ErrorAssociates": "MDOListItem"}
INT32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
COUNTS = st.integers(min_value=0, max_value=2**31 - 1)


@pytest.fixture(scope="module")
def wire(contract: Contract) -> WireFormats:
    return WireFormats(contract)


# ---------------------------------------------------------------------------------------------
# Strategies: webhooks valid against the contract, from plain Hypothesis primitives

# XML 1.0's Char production: no C0 controls but tab, LF and CR; no surrogates; no U+FFFE, U+FFFF.
_NOT_XML = "".join(chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]) + "\ufffe\uffff"
XML_CHARACTERS = st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters=_NOT_XML)


def texts(max_size: int = 20) -> st.SearchStrategy[str]:
    return st.text(XML_CHARACTERS, max_size=max_size)


def nullable_texts(max_size: int = 20) -> st.SearchStrategy[str | None]:
    return st.none() | texts(max_size)


JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts(), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def webhooks(draw: st.DrawFn) -> dict[str, Any]:
    """Any subset of the writable Webhook fields, in any order."""
    fields = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "WebhookId": st.integers(min_value=0, max_value=2**31 - 1),
                "Name": st.none() | texts(MAX_LENGTH["Name"]),
                "Events": st.none() | st.lists(texts(), max_size=4),
                "TargetUrl": st.none() | texts(MAX_LENGTH["TargetUrl"]),
                "Secret": st.none() | texts(MAX_LENGTH["Secret"]),
                "State": st.sampled_from(STATES),
                "Type": st.none() | texts(MAX_LENGTH["Type"]),
                "Headers": st.none() | st.dictionaries(texts(), texts(), max_size=3),
                "Properties": st.none() | st.dictionaries(texts(), JSON_VALUES, max_size=3),
                "ErrorsEmail": st.none() | texts(MAX_LENGTH["ErrorsEmail"]),
                "ErrorEmails": st.none() | st.lists(texts(), max_size=3),
                "ErrorAssociates": st.none() | st.lists(MDO_LIST_ITEMS, max_size=2),
                "Description": nullable_texts(),
                "NotifyVia": st.none() | st.sampled_from(NOTIFY_VIA),
                "NotifyWhen": st.none() | st.sampled_from(NOTIFY_WHEN),
                "TotalCalls": COUNTS,
                "TotalErrors": COUNTS,
                "ConsecutiveErrors": COUNTS,
                "LastError": st.none() | texts(MAX_LENGTH["LastError"]),
            },
        )
    )
    order = draw(st.permutations(list(fields)))
    return {name: fields[name] for name in order}


# An MDOListItem (src/Carriers.ts of @superoffice/webapi 12.4.1514); its ChildItems are left open.
MDO_LIST_ITEMS = st.fixed_dictionaries(
    {},
    optional={
        "Id": INT32,
        "Name": nullable_texts(),
        "ToolTip": nullable_texts(),
        "Deleted": st.booleans(),
        "Rank": INT32,
        "Type": nullable_texts(),
        "ChildItems": st.none() | st.lists(JSON_VALUES, max_size=2),
        "IconHint": nullable_texts(),
        "ColorBlock": INT32,
        "ExtraInfo": nullable_texts(),
        "StyleHint": nullable_texts(),
        "FullName": nullable_texts(),
    },
)


# Values every run tries: line ends (XML parsers turn a raw CR into LF), edges of each field.
EXAMPLES = [
    {"Name": "a\r\nb\rc\n", "Headers": {"\r": "\r\n"}, "Properties": {"p": "x\ry"}, "Events": ["\r"]},
    {"Name": None, "WebhookId": 0, "Events": None, "Headers": None, "Properties": None, "TargetUrl": None},
    {"Name": "", "Events": [], "Headers": {}, "Properties": {}, "Secret": " ", "Type": "\t"},
    {"WebhookId": 2**31 - 1, "Name": "n" * 400, "ErrorsEmail": "e" * 239, "State": "TooManyErrors"},
    {"Properties": {"f": -0.0, "g": 1e300, "i": 2**70, "b": True, "z": 0, "l": [None, [], {}], "s": "12"}},
    {"Events": ["1", "true", " 2 "], "Headers": {"Key": "Value"}, "Name": "null", "Secret": "<&>]]>"},
    # the current carrier's fields: arrays of texts and of objects, flags, int32 counts, the nested open ChildItems
    {
        "ErrorEmails": ["ops@example.com", "1", ""],
        "Description": "12",
        "NotifyVia": "Email, InApp",
        "NotifyWhen": "FirstFailure, Disabling",
        "TotalCalls": 2**31 - 1,
        "TotalErrors": 0,
        "ConsecutiveErrors": 9,
        "ErrorAssociates": [
            {
                "Id": 5,
                "Name": "TJE0",
                "Deleted": False,
                "Rank": -1,
                "ChildItems": [{"Id": 6, "x": [True, None]}, 7, "8"],
            },
            {"ChildItems": [], "FullName": None},
        ],
        "LastError": "HTTP/1.1 500 Internal Server Error\r\n\r\nboom",
    },
    {
        "ErrorEmails": [],
        "ErrorAssociates": [],
        "NotifyVia": "None",
        "NotifyWhen": "None",
        "LastError": None,
        "Description": None,
    },
]


def with_examples(test: Any) -> Any:
    for value in EXAMPLES:
        test = example(value=value)(test)
    return test


def same(a: Any, b: Any) -> bool:
    """Type-strict equality of JSON values: ``True`` is not ``1``, ``1.0`` is not ``1``, -0.0 is not 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return repr(a) == repr(b)
    return a == b


def schema_errors(contract: Contract, value: Any) -> list[tuple[list[Any], str]]:
    return [(list(e.absolute_path), e.message) for e in contract.validator("Webhook").iter_errors(value)]


def test_schema_limits_are_the_contracts(contract: Contract) -> None:
    webhook = contract.document["components"]["schemas"]["Webhook"]
    assert list(webhook["properties"]) == PROPERTY_ORDER
    limits = {name: p["maxLength"] for name, p in webhook["properties"].items() if "maxLength" in p}
    assert limits == MAX_LENGTH
    assert contract.resolve(webhook["properties"]["State"])["enum"] == STATES
    assert contract.resolve(webhook["properties"]["WebhookId"])["maximum"] == 2**31 - 1
    for name, canonical in (("NotifyVia", NOTIFY_VIA), ("NotifyWhen", NOTIFY_WHEN)):
        flags = contract.resolve(webhook["properties"][name])
        assert [n for n, _ in sorted(flags["x-flags"].items(), key=lambda item: item[1])] == [
            canonical[0],
            *canonical[1:3],
        ]


# ---------------------------------------------------------------------------------------------
# 1. Round trips


@given(value=webhooks())
@with_examples
def test_generated_webhooks_are_valid(contract: Contract, value: dict[str, Any]) -> None:
    # The strategy itself is checked by the oracle, so that the round trips below start from valid values.
    assert schema_errors(contract, value) == []


@given(value=webhooks())
@with_examples
def test_xml_round_trip_returns_the_value(
    contract: Contract, wire: WireFormats, value: dict[str, Any]
) -> None:
    decoded = wire.decode_xml(wire.encode_xml(value, WEBHOOK), WEBHOOK)
    assert decoded == value
    assert same(decoded, value)
    assert schema_errors(contract, decoded) == []


@given(value=webhooks())
@with_examples
def test_xml_output_reads_with_the_standard_parser_in_contract_order(
    wire: WireFormats, value: dict[str, Any]
) -> None:
    root = StdET.fromstring(wire.encode_xml(value, WEBHOOK))
    assert root.tag == "Webhook"
    children = list(root)
    assert [child.tag for child in children] == [name for name in PROPERTY_ORDER if name in value]
    for child in children:
        # null is xsi:nil="true" and nothing else; a value is never nil
        assert (child.get(XSI_NIL) == "true") is (value[child.tag] is None), child.tag
        if isinstance(value[child.tag], str):
            assert (child.text or "") == value[child.tag]
            assert list(child) == []
        if isinstance(value[child.tag], list):
            assert [item.tag for item in child] == [ITEM_TAGS[child.tag]] * len(value[child.tag])
            if ITEM_TAGS[child.tag] == "string":
                assert [item.text or "" for item in child] == value[child.tag]
        if child.tag == "Headers" and value["Headers"] is not None:
            pairs = {pair.findtext("Key"): pair.findtext("Value") for pair in child}
            assert [pair.tag for pair in child] == ["StringKeyValuePair"] * len(value["Headers"])
            assert pairs == value["Headers"]


@given(value=webhooks())
@with_examples
def test_form_round_trip_returns_the_value_without_null_scalars(
    contract: Contract, wire: WireFormats, value: dict[str, Any]
) -> None:
    # encode_form leaves out a null scalar; absent and null mean the same, so the oracle drops them too.
    expected = {name: item for name, item in value.items() if not (item is None and name in SCALAR_FIELDS)}
    body = wire.encode_form(value, WEBHOOK)
    decoded = wire.decode_form(body.decode("ascii"), WEBHOOK)
    assert decoded == expected
    assert same(decoded, expected)
    assert schema_errors(contract, decoded) == []
    # read independently: one pair per field; objects and arrays as JSON texts, scalars as text
    pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True)
    assert [name for name, _ in pairs] == list(expected)
    for name, text in pairs:
        if name in SCALAR_FIELDS:
            assert text == str(expected[name])
        else:
            assert same(json.loads(text), expected[name])


def test_the_flags_patterns_accept_exactly_the_canonical_forms(contract: Contract) -> None:
    import itertools
    import re

    webhook = contract.document["components"]["schemas"]["Webhook"]
    for name, canonical in (("NotifyVia", NOTIFY_VIA), ("NotifyWhen", NOTIFY_WHEN)):
        pattern = contract.resolve(webhook["properties"][name])["pattern"]
        words = [*canonical[:3], "email", "Nope"]
        candidates = {"", " None", "None ", "Email,InApp", "1", "3"}
        for size in (1, 2, 3):
            for chosen in itertools.permutations(words, size):
                candidates.update({", ".join(chosen), ",".join(chosen)})
        accepted = sorted(text for text in candidates if re.search(pattern, text))
        assert accepted == sorted(canonical), name


def test_the_current_carriers_fields_round_trip_through_xml_with_their_types(
    contract: Contract, wire: WireFormats
) -> None:
    record = {
        "WebhookId": 7,
        "ErrorsEmail": "ops@example.com,dev@example.com",
        "ErrorEmails": ["ops@example.com", "dev@example.com"],
        "ErrorAssociates": [
            {
                "Id": 5,
                "Name": "TJE0",
                "Deleted": False,
                "Rank": 2,
                "ColorBlock": 0,
                "ChildItems": [{"Id": 6, "Deleted": True}],
            },
            {"Id": 11, "ChildItems": None, "ToolTip": ""},
        ],
        "Description": "Notifies the ERP",
        "NotifyVia": "Email, InApp",
        "NotifyWhen": "Disabling",
        "TotalCalls": 12,
        "TotalErrors": 3,
        "ConsecutiveErrors": 0,
        "LastError": None,
    }
    body = wire.encode_xml(record, WEBHOOK)
    decoded = wire.decode_xml(body, WEBHOOK)
    assert same(decoded, record)  # integers stay integers, booleans booleans, texts texts
    assert schema_errors(contract, decoded) == []
    # read independently with the standard library
    root = StdET.fromstring(body)
    assert [item.text for item in root.find("ErrorEmails")] == record["ErrorEmails"]
    associates = root.find("ErrorAssociates")
    assert [item.tag for item in associates] == ["MDOListItem", "MDOListItem"]
    assert [(item.findtext("Id"), item.findtext("Name")) for item in associates] == [
        ("5", "TJE0"),
        ("11", None),
    ]
    assert associates[0].findtext("Deleted") == "false"
    assert [root.findtext(n) for n in ("NotifyVia", "NotifyWhen", "TotalCalls", "ConsecutiveErrors")] == [
        "Email, InApp",
        "Disabling",
        "12",
        "0",
    ]
    assert root.find("LastError").get(XSI_NIL) == "true"
    # and in a form, where the arrays travel as JSON texts and the null LastError is left out
    form = wire.decode_form(wire.encode_form(record, WEBHOOK).decode("ascii"), WEBHOOK)
    assert same(form, {k: v for k, v in record.items() if k != "LastError"})


def test_the_contracts_own_examples_round_trip_through_xml_and_forms(
    contract: Contract, wire: WireFormats
) -> None:
    examples = contract.document["components"]["examples"]
    for name, schema in [
        ("SeedSaveWebhookRequest", WEBHOOK),
        ("SeedSaveWebhookResponse", {"$ref": "#/components/schemas/WebhookRecord"}),
        ("DefaultWebhook", {"$ref": "#/components/schemas/WebhookRecord"}),
    ]:
        value = examples[name]["value"]
        body = wire.encode_xml(value, schema)
        assert StdET.fromstring(body).tag == "Webhook"
        assert same(wire.decode_xml(body, schema), value), name
        in_form = {
            k: v for k, v in value.items() if not (v is None and k in SCALAR_FIELDS)
        }  # null scalars are left out
        assert same(wire.decode_form(wire.encode_form(value, schema).decode("ascii"), schema), in_form), name


@pytest.mark.parametrize("media_type", sorted(JSON_TYPES | XML_TYPES | {FORM_TYPE}))
def test_decode_reads_every_documented_request_type_to_the_same_value(
    contract: Contract, wire: WireFormats, media_type: str
) -> None:
    value = contract.document["components"]["examples"]["SeedSaveWebhookRequest"]["value"]
    if media_type in XML_TYPES:
        body = wire.encode_xml(value, WEBHOOK)
    elif media_type == FORM_TYPE:
        body = wire.encode_form(value, WEBHOOK)
    else:
        body = json.dumps(value).encode("utf-8")
    assert same(wire.decode(media_type, body, WEBHOOK), value)


def test_decode_refuses_an_unknown_media_type(wire: WireFormats) -> None:
    with pytest.raises(WireError, match="text/csv"):
        wire.decode("text/csv", b"a,b", WEBHOOK)


def test_characters_xml_cannot_carry_become_the_replacement_character(wire: WireFormats) -> None:
    body = wire.encode_xml({"Name": "a\x00b\x1f\ufffe"}, WEBHOOK)
    assert StdET.fromstring(body).findtext("Name") == "a\ufffdb\ufffd\ufffd"


# ---------------------------------------------------------------------------------------------
# 2. A value of the wrong type survives encoding, so that validation names the field


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("Events", {}, "{} is not of type 'array', 'null'"),
        ("Events", {"a": 1}, "is not of type 'array', 'null'"),
        ("Events", "non", "'non' is not of type 'array', 'null'"),
        ("Events", ["a", 1], "1 is not of type 'string'"),
        ("WebhookId", "abc", "'abc' is not of type 'integer'"),
        ("WebhookId", "419", "'419' is not of type 'integer'"),
        ("WebhookId", 1.5, "1.5 is not of type 'integer'"),
        ("WebhookId", True, "True is not of type 'integer'"),
        ("WebhookId", None, "None is not of type 'integer'"),
        ("WebhookId", -1, "-1 is less than the minimum of 0"),
        ("WebhookId", 2**31, "2147483648 is greater than the maximum of 2147483647"),
        ("Name", 5, "5 is not of type 'string', 'null'"),
        ("Name", ["a"], "['a'] is not of type 'string', 'null'"),
        ("State", 1, "1 is not of type 'string'"),
        ("State", "Paused", "'Paused' is not one of"),
        ("Headers", ["x"], "['x'] is not of type 'object', 'null'"),
        ("Headers", {"X": 1}, "1 is not of type 'string'"),
        ("Headers", "text", "'text' is not of type 'object', 'null'"),
        ("Properties", "x", "'x' is not of type 'object', 'null'"),
        ("Properties", [1], "[1] is not of type 'object', 'null'"),
    ],
)
def test_a_mismatched_value_survives_xml_so_validation_names_the_field(
    contract: Contract, wire: WireFormats, field: str, value: Any, message: str
) -> None:
    body = {"Name": "n", field: value}
    decoded = wire.decode_xml(wire.encode_xml(body, WEBHOOK), WEBHOOK)
    assert same(decoded, body)
    errors = schema_errors(contract, decoded)
    assert errors, decoded
    assert all(path[:1] == [field] for path, _ in errors)
    assert any(message in text for _, text in errors), errors


# ---------------------------------------------------------------------------------------------
# 3. XML security and malformed XML


def _billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE Webhook [\n' + "\n".join(entities) + "\n]>\n"
        "<Webhook><Name>&lol9;</Name></Webhook>"
    ).encode("utf-8")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_billion_laughs(), id="billion-laughs"),
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE Webhook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b"<Webhook><Name>&xxe;</Name></Webhook>",
            id="external-entity",
        ),
        pytest.param(
            b'<!DOCTYPE Webhook [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><Webhook/>',
            id="parameter-entity",
        ),
        pytest.param(b'<!DOCTYPE Webhook SYSTEM "webhook.dtd"><Webhook/>', id="external-dtd"),
        pytest.param(b"<!DOCTYPE Webhook><Webhook><Name>n</Name></Webhook>", id="plain-doctype"),
    ],
)
def test_dtds_and_entities_are_refused_without_expansion(wire: WireFormats, body: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(WireError) as caught:
        wire.decode_xml(body, WEBHOOK)
    assert time.perf_counter() - started < 1.0
    assert caught.value.message == "The XML body is refused."
    assert "DTD" in caught.value.detail
    assert "lol" not in caught.value.detail and "root:" not in caught.value.detail


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<Webhook>",
        b"<Webhook></Hook>",
        b"<Webhook><Name>a</Webhook>",
        b"<Webhook/><Webhook/>",
        b"<Webhook><Name>\xff</Name></Webhook>",
        b"<Webhook><Name>&undefined;</Name></Webhook>",
        b"<Webhook><Name>\x01</Name></Webhook>",
        b'<Webhook><Name xsi:nil="true"/></Webhook>',
    ],
)
def test_malformed_xml_raises_wire_error(wire: WireFormats, body: bytes) -> None:
    with pytest.raises(WireError) as caught:
        wire.decode_xml(body, WEBHOOK)
    assert caught.value.message == "The XML body is not well-formed."
    assert caught.value.detail


@pytest.mark.parametrize(
    ("schema", "body", "expected", "found"),
    [
        (WEBHOOK, b"<Hook><Name>n</Name></Hook>", "Webhook", "Hook"),
        (WEBHOOK, b'<GetAllWebhooksRequest xmlns="urn:x"/>', "Webhook", "GetAllWebhooksRequest"),
        (GET_ALL, b"<Webhook/>", "GetAllWebhooksRequest", "Webhook"),
        ({"$ref": "#/components/schemas/WebhookRecord"}, b"<WebhookRecord/>", "Webhook", "WebhookRecord"),
    ],
)
def test_a_wrong_root_element_is_named_with_the_expected_one(
    wire: WireFormats, schema: dict[str, str], body: bytes, expected: str, found: str
) -> None:
    with pytest.raises(WireError) as caught:
        wire.decode_xml(body, schema)
    assert caught.value.message == "The XML body has the wrong root element."
    assert f"<{expected}>" in caught.value.detail
    assert f"<{found}>" in caught.value.detail


@pytest.mark.parametrize(
    "headers",
    [
        "<Entry><K>a</K><V>b</V></Entry>",
        "<Key>a</Key><Value>b</Value>",
        "<StringKeyValuePair><Key>a</Key></StringKeyValuePair>",
        "<StringKeyValuePair><Value>b</Value></StringKeyValuePair>",
        "<StringKeyValuePair><Key>a</Key><Value>b</Value></StringKeyValuePair><Other/>",
    ],
)
def test_a_dictionary_whose_entries_are_not_key_value_pairs_raises(wire: WireFormats, headers: str) -> None:
    body = f"<Webhook><Headers>{headers}</Headers></Webhook>".encode()
    with pytest.raises(WireError) as caught:
        wire.decode_xml(body, WEBHOOK)
    assert "<Headers>" in caught.value.message
    assert "<Key>" in caught.value.detail and "<Value>" in caught.value.detail


# ---------------------------------------------------------------------------------------------
# 4. XML in the style of the SOAP sample: a default namespace, xsi:type on every element

SOAP_STYLE = b"""<?xml version="1.0" encoding="utf-8"?>
<Webhook xmlns="http://www.superoffice.net/ws/crm/NetServer/Services88"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xmlns:xsd="http://www.w3.org/2001/XMLSchema"
         xmlns:NetServerServices88="http://www.superoffice.net/ws/crm/NetServer/Services88">
  <WebhookId xsi:type="xsd:int">419</WebhookId>
  <Name xsi:type="xsd:string">Boyer, Effertz and Anderson</Name>
  <Events xsi:type="NetServerServices88:ArrayOfstring">
    <string xsi:type="xsd:string">contact.created</string>
    <string xsi:type="xsd:string">sale.changed</string>
  </Events>
  <TargetUrl xsi:type="xsd:string">https://www.example.com/</TargetUrl>
  <Secret xsi:type="xsd:string">sit</Secret>
  <State xsi:type="NetServerServices88:WebhookState">Active</State>
  <Type xsi:type="xsd:string">webhook</Type>
  <Headers xsi:type="NetServerServices88:StringDictionary">
    <StringKeyValuePair>
      <Key>Headers1</Key>
      <Value>odio</Value>
    </StringKeyValuePair>
    <StringKeyValuePair>
      <Key>Headers2</Key>
      <Value>quod</Value>
    </StringKeyValuePair>
  </Headers>
  <Properties xsi:type="NetServerServices88:StringObjectDictionary">
    <StringObjectKeyValuePair>
      <Key>count</Key>
      <Value xsi:type="xsd:int">7</Value>
    </StringObjectKeyValuePair>
    <StringObjectKeyValuePair>
      <Key>ratio</Key>
      <Value xsi:type="xsd:double">0.5</Value>
    </StringObjectKeyValuePair>
    <StringObjectKeyValuePair>
      <Key>on</Key>
      <Value xsi:type="xsd:boolean">true</Value>
    </StringObjectKeyValuePair>
    <StringObjectKeyValuePair>
      <Key>text</Key>
      <Value xsi:type="xsd:string">42</Value>
    </StringObjectKeyValuePair>
    <StringObjectKeyValuePair>
      <Key>none</Key>
      <Value xsi:nil="true"/>
    </StringObjectKeyValuePair>
  </Properties>
  <ErrorsEmail xsi:nil="true"/>
</Webhook>"""

SOAP_STYLE_VALUE = {
    "WebhookId": 419,
    "Name": "Boyer, Effertz and Anderson",
    "Events": ["contact.created", "sale.changed"],
    "TargetUrl": "https://www.example.com/",
    "Secret": "sit",
    "State": "Active",
    "Type": "webhook",
    "Headers": {"Headers1": "odio", "Headers2": "quod"},
    "Properties": {"count": 7, "ratio": 0.5, "on": True, "text": "42", "none": None},
    "ErrorsEmail": None,
}


def test_soap_style_xml_decodes_to_the_expected_value(contract: Contract, wire: WireFormats) -> None:
    decoded = wire.decode_xml(SOAP_STYLE, WEBHOOK)
    assert decoded == SOAP_STYLE_VALUE
    assert same(decoded, SOAP_STYLE_VALUE)
    assert schema_errors(contract, decoded) == []


def test_soap_style_xml_without_container_types_decodes_the_same(wire: WireFormats) -> None:
    # Without xsi:type on the containers the contract's schema guides the decoder instead.
    body = SOAP_STYLE
    for kind in (b"ArrayOfstring", b"StringDictionary", b"StringObjectDictionary"):
        body = body.replace(b' xsi:type="NetServerServices88:' + kind + b'"', b"")
    assert b"Dictionary" not in body and b"ArrayOf" not in body
    assert same(wire.decode_xml(body, WEBHOOK), SOAP_STYLE_VALUE)


def test_prefixed_namespaced_elements_are_read_by_local_name(wire: WireFormats) -> None:
    body = (
        b'<so:Webhook xmlns:so="urn:so"><so:WebhookId>5</so:WebhookId>'
        b"<so:Events><so:string>a</so:string></so:Events></so:Webhook>"
    )
    assert same(wire.decode_xml(body, WEBHOOK), {"WebhookId": 5, "Events": ["a"]})


# ---------------------------------------------------------------------------------------------
# 5. Forms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("Events=a&Events=b", {"Events": ["a", "b"]}),
        ("Events[]=a&Events[]=b", {"Events": ["a", "b"]}),
        ("Events[0]=a&Events[1]=b", {"Events": ["a", "b"]}),
        ("Events=a", {"Events": ["a"]}),
        ("Events=1&Events=2", {"Events": ["1", "2"]}),
        ("Headers[X]=1", {"Headers": {"X": "1"}}),
        ("Headers[X-One]=1&Headers[X-Two]=2", {"Headers": {"X-One": "1", "X-Two": "2"}}),
        ("Properties[a]=b", {"Properties": {"a": "b"}}),
        ("Events=%5B%22a%22%2C%22b%22%5D", {"Events": ["a", "b"]}),
        ("Events=null", {"Events": None}),
        ("Headers=%7B%22X%22%3A%221%22%7D", {"Headers": {"X": "1"}}),
        (
            "Properties=%7B%22a%22%3A%5B1%2C2.5%2Ctrue%2Cnull%5D%7D",
            {"Properties": {"a": [1, 2.5, True, None]}},
        ),
        ("WebhookId=419", {"WebhookId": 419}),
        ("WebhookId=abc", {"WebhookId": "abc"}),
        ("WebhookId=1.5", {"WebhookId": "1.5"}),
        ("WebhookId=", {"WebhookId": ""}),
        ("Name=419", {"Name": "419"}),
        ("Name=null", {"Name": "null"}),
        ("Name=a+b%26c%3Dd", {"Name": "a b&c=d"}),
        ("Name=%C3%A6%F0%9F%98%80", {"Name": "\u00e6\U0001f600"}),
        ("Name=", {"Name": ""}),
        ("State=Active&Type=webhook", {"State": "Active", "Type": "webhook"}),
        # as the WHATWG URL standard's urlencoded parser (and .NET's UrlDecode): a % that does not
        # start an escape is kept as it is
        ("Name=100%25&Secret=50%", {"Name": "100%", "Secret": "50%"}),
    ],
)
def test_form_decoding(wire: WireFormats, text: str, expected: dict[str, Any]) -> None:
    assert same(wire.decode_form(text, WEBHOOK), expected)


@pytest.mark.parametrize(
    "text",
    [
        "Name=%FF",  # a byte UTF-8 never uses
        "Name=%C3%28",  # an invalid UTF-8 sequence
        "Name=%E2%82",  # a truncated UTF-8 sequence
        "Name=%ED%A0%80",  # an encoded surrogate
        "Name=a&&Secret=b",  # an empty field
        "Name",  # no '='
    ],
)
def test_invalid_form_bodies_raise_wire_error(wire: WireFormats, text: str) -> None:
    with pytest.raises(WireError) as caught:
        wire.decode_form(text, WEBHOOK)
    assert caught.value.message == "The form body is not valid application/x-www-form-urlencoded."


def test_a_form_body_that_is_not_utf8_raises_wire_error(wire: WireFormats) -> None:
    with pytest.raises(WireError, match="not valid utf-8 text"):
        wire.decode(FORM_TYPE, b"Name=\xff", WEBHOOK)


@pytest.mark.parametrize("text", ["Events=%5B1", "Headers=%7B", "Properties=-Infinity", "Events=%5BNaN%5D"])
def test_a_broken_json_text_in_a_form_field_names_the_field(wire: WireFormats, text: str) -> None:
    field = text.split("=", 1)[0]
    with pytest.raises(WireError, match=f"form field '{field}' is not valid JSON"):
        wire.decode_form(text, WEBHOOK)


def test_a_form_mismatch_is_kept_so_validation_names_the_field(contract: Contract, wire: WireFormats) -> None:
    decoded = wire.decode_form("WebhookId=abc&Events=%7B%7D", WEBHOOK)
    assert same(decoded, {"WebhookId": "abc", "Events": {}})
    assert sorted(path[0] for path, _ in schema_errors(contract, decoded)) == ["Events", "WebhookId"]


def test_encode_form_refuses_a_value_that_is_not_an_object(wire: WireFormats) -> None:
    with pytest.raises(WireError):
        wire.encode_form([1], WEBHOOK)


# ---------------------------------------------------------------------------------------------
# 6. JSON, and numbers no JSON value can hold


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "Infinity",
        "-Infinity",
        '{"Properties": {"x": NaN}}',
        "[1, Infinity]",
        '"\\ud800"',
        '"\\udc00"',
        '"a\\ud83d"',
        '{"\\udfff": 1}',
        '{"Events": ["ok", "\\ud800x"]}',
        "",
        "{",
        "[1,]",
        "{'a': 1}",
        '{"a": 1} x',
        "nul",
        '"\t"',
        "01",
    ],
)
def test_decode_json_rejects_what_rfc_8259_does_not_allow(text: str) -> None:
    with pytest.raises(WireError) as caught:
        decode_json(text)
    assert caught.value.message.startswith("The JSON body is not valid")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"\\ud83d\\ude00"', "\U0001f600"),
        ('{"a": [1, 2.5, true, null, "x"]}', {"a": [1, 2.5, True, None, "x"]}),
        ("1e308", 1e308),
        ("-0.0", -0.0),
        ("null", None),
    ],
)
def test_decode_json_reads_valid_json(text: str, expected: Any) -> None:
    assert same(decode_json(text), expected)


@pytest.mark.parametrize("text", ["1e400", "-1e400", '{"Properties": {"x": [1E999]}}', "1" * 5000])
def test_decode_json_refuses_a_number_python_cannot_hold(text: str) -> None:
    # 1e400 overflows a double (json.loads would read it as inf, which no encoder can write back);
    # 5000 digits exceed int()'s digit limit (json.loads raises a bare ValueError for them).
    with pytest.raises(WireError):
        decode_json(text)


def _xml_property(kind: str, text: str) -> bytes:
    """A Webhook whose Properties hold one value ``x`` of xsi:type ``kind``."""
    return (
        f'<Webhook xmlns:xsi="{XSI}"><Properties><StringObjectKeyValuePair><Key>x</Key>'
        f'<Value xsi:type="{kind}">{text}</Value></StringObjectKeyValuePair></Properties></Webhook>'
    ).encode()


@pytest.mark.parametrize(
    ("media_type", "body"),
    [
        ("application/xml", _xml_property("xsd:double", "1e400")),
        ("application/xml", _xml_property("xsd:long", "9" * 5000)),
        ("application/xml", b"<Webhook><WebhookId>" + b"1" * 5000 + b"</WebhookId></Webhook>"),
        (FORM_TYPE, b"WebhookId=" + b"1" * 5000),
        (FORM_TYPE, b"Properties=%7B%22x%22%3A1e400%7D"),
    ],
)
def test_xml_and_forms_refuse_a_number_python_cannot_hold(
    wire: WireFormats, media_type: str, body: bytes
) -> None:
    with pytest.raises(WireError):
        wire.decode(media_type, body, WEBHOOK)


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("xsd:double", "1.7976931348623157e308", 1.7976931348623157e308),
        ("xsd:double", "-5e-324", -5e-324),
        ("xsd:long", "9" * 4300, int("9" * 4300)),
    ],
)
def test_the_largest_numbers_python_holds_still_read(
    wire: WireFormats, kind: str, text: str, expected: Any
) -> None:
    assert same(wire.decode_xml(_xml_property(kind, text), WEBHOOK), {"Properties": {"x": expected}})


# ---------------------------------------------------------------------------------------------
# 7. Content negotiation, as ASP.NET Web API's DefaultContentNegotiator (JSON formatter first)


@pytest.mark.parametrize(
    ("accept", "request_type", "expected"),
    [
        (None, None, "application/json"),
        ("", None, "application/json"),
        ("application/xml", None, "application/xml"),
        ("text/xml", None, "text/xml"),
        ("text/json", None, "text/json"),
        ("application/json; charset=utf-8", None, "application/json"),
        ("APPLICATION/XML", None, "application/xml"),
        ("text/xml;q=0.5, application/json;q=0.9", None, "application/json"),
        ("application/json;q=0.5, text/xml;q=0.9", None, "text/xml"),
        ("*/*", None, "application/json"),
        ("*/*", "application/xml", "application/json"),
        ("application/*", None, "application/json"),
        ("text/*", None, "text/json"),
        ("application/xml;q=0.9, */*;q=0.8", None, "application/xml"),
        ("application/json-patch+json", None, "application/json"),
        ("application/merge-patch+json", "application/xml", "application/json"),
        ("text/csv", "application/xml", "application/xml"),
        ("text/csv", "text/xml", "text/xml"),
        ("text/csv", None, "application/json"),
        ("text/csv", FORM_TYPE, "application/json"),
        (None, "application/xml", "application/xml"),
        ("application/xml;q=abc", None, "application/json"),
        # equal quality and specificity: the JSON formatter comes first in Web API's list, so it wins
        ("application/xml, application/json", None, "application/json"),
        ("text/xml, text/json", None, "text/json"),
        # within one formatter the Accept header's order decides
        ("text/xml, application/xml", None, "text/xml"),
        ("text/json, application/json", None, "text/json"),
    ],
)
def test_negotiate(accept: str | None, request_type: str | None, expected: str) -> None:
    assert negotiate(accept, request_type) == expected


@pytest.mark.parametrize(
    ("accept", "request_type", "expected"),
    [
        ("application/xml;q=0", None, "application/json"),
        ("text/xml;q=0", "text/json", "text/json"),
        ("application/xml;q=0, text/xml;q=0.1", "application/xml", "text/xml"),
        ("application/json;q=0, text/json;q=0.1", "application/json", "text/json"),
        ("application/json;q=0, application/xml;q=0.01", "application/json", "application/xml"),
        ("text/xml;q=0, text/*", "text/xml", "text/json"),
        ("application/json;q=0.0, text/xml", None, "text/xml"),
    ],
)
def test_a_type_with_q_zero_is_not_chosen(accept: str, request_type: str | None, expected: str) -> None:
    assert negotiate(accept, request_type) == expected


def test_q_zero_leaves_web_apis_fallbacks_in_place() -> None:
    # Web API skips an Accept value of q=0 (MatchAcceptHeader) but then still matches the request's
    # Content-Type, and finally the first formatter (JSON): the mock answers as the server would.
    assert negotiate("application/xml;q=0", "application/xml") == "application/xml"
    assert negotiate("application/json;q=0") == "application/json"
    assert negotiate("application/xml;q=0.0, application/json;q=0.000") == "application/json"


@pytest.mark.parametrize("name", ["{", "{a", "{{"])
def test_a_member_whose_name_is_no_xml_name_is_a_wire_error_not_a_broken_document(name: str) -> None:
    # found by tests/test_fastpath.py in CI: ElementTree raised ValueError on the element "{"
    associate = {"$ref": "#/components/schemas/Associate"}
    with pytest.raises(WireError) as refused:
        WireFormats(load()).encode_xml({"AssociateId": 1, name: 1}, associate)
    assert "not an XML element name" in refused.value.detail
