"""Arbitrary requests for the fuzzers (``requests``): every operation of the contract, the admin
endpoints and unknown paths, with near-miss media types, credentials, headers and bodies.

The REST Webhook endpoints (operations ``v1Webhook_*``) are drawn with arbitrary path segments
where their templates have parameters (int32 or not, negative, huge digit strings, non-digits,
percent-encoded and non-ASCII text), their literal segments in any letter case, with or without a
trailing slash, with any method, and with bodies near theirs: webhooks (with ``_Links``), event
data, and patch documents (arrays of odd operations, deep and escaped pointers, ``/-``, huge
indexes, thousands of operations; merge patches with nested nulls; scalars).

A request names the two webhooks every run starts from as ``@first@`` and ``@second@`` in its
path and query (their ids differ from store to store): ``resolve(request, ids)`` puts the ids in.
A request on a REST template says what routing must do with it, by .NET's rules rather than the
mock's (``route``): ``"unrouted"`` (an integer segment that ``int.TryParse`` does not read as an
int32: 404 from no route), ``"routed"`` (every parameter fits: an operation answers, so a 404 is
the REST error object), or None (not judged: percent-escapes that change the segments, spaces).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any
from urllib.parse import quote, unquote

from hypothesis import strategies as st

from contracts import load
from contracts.wire import WireFormats
from harness.clients import AUTH

CONTRACT = load()
WIRE = WireFormats(CONTRACT)
OPERATIONS = {
    spec["operationId"]: (path, method.upper(), spec)
    for path, item in CONTRACT.document["paths"].items()
    for method, spec in item.items()
    if isinstance(spec, dict) and "operationId" in spec
}
REST = {operation: where for operation, where in OPERATIONS.items() if operation.startswith("v1Webhook_")}
# the literal segments of every path: a parameter spelt like one may route elsewhere ("default", "Test")
LITERALS = {
    part.casefold()
    for path in CONTRACT.document["paths"]
    for part in path.split("/")
    if part and "{" not in part
}
INT32 = (-(2**31), 2**31 - 1)
FIRST, SECOND = "@first@", "@second@"  # the ids of the two webhooks every run starts from
ADMIN = [
    "/__mock__/journal",
    "/__mock__/reset",
    "/__mock__/webhooks",
    "/__mock__/events",
    "/__mock__/deliveries",
    "/__mock__/deliveries/drain",
    "/__mock__/responses",
    "/__mock__/faults",
    "/openapi.json",
    "/openapi.yaml",
    "/__mock__/coverage",
    "/__mock__/deliveries/1/redeliver",
    "/__mock__/deliveries/x/redeliver",
]
UNKNOWN = [
    "/",
    "/api",
    "/api/v1/Agents/Webhook",
    "/api/v1/Agents/Webhook/",
    "/api/v1/agents/webhook/savewebhook",
    "/api/v1/Agents/Webhook/SaveWebhook/",
    "/api/v1/Agents/Webhook/SaveWebhook/1",
    "/Cust12345/api/v1/Agents/Webhook/GetWebhook",
    "/__mock__",
    "/__mock__/",
    "/__mock__/nope",
    "/api/v1/Agents/Webhook/Save%57ebhook",
    "/%00",
    "/..%2F..%2Fetc%2Fpasswd",
]
METHODS = ["POST"] * 12 + ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]
DOCUMENTED_TYPES = [
    "application/json",
    "text/json",
    "application/xml",
    "text/xml",
    "application/x-www-form-urlencoded",
    "application/json-patch+json",
    "application/merge-patch+json",
]
NEAR_TYPES = [
    "",
    "APPLICATION/JSON",
    "application/json ;",
    "application/json; charset",
    "application/json;;",
    "application/*",
    "*/*",
    "text/plain",
    "application/xml+json",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded;",
    "application/json; q=0",
    "application",
    "/",
    ";",
    "application/json,text/xml",
    'application/json; charset="utf-8"',
]
CHARSETS = [
    "utf-8",
    "UTF-8",
    "utf-16",
    "utf-16le",
    "utf-32",
    "latin-1",
    "punycode",
    "utf-7",
    "idna",
    "rot13",
    "hex",
    "",
    "x" * 50,
]
WEBHOOK_SCHEMA = {"$ref": "#/components/schemas/Webhook"}

_TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~",
    min_size=1,
    max_size=20,
)
_FIELD_VALUE = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
)
_SPECIAL_HEADERS = st.sampled_from(
    [
        "SO-TimeZone",
        "SO-Language",
        "SO-Culture",
        "Accept-Language",
        "SO-AppToken",
        "X-XSRF-TOKEN",
        "Cookie",
        "If-Match",
        "Expect",
        "Range",
        "If-Unmodified-Since",
        "If-Modified-Since",
        "If-None-Match",
    ]
)
_MEDIA_TYPE = st.one_of(
    st.sampled_from(DOCUMENTED_TYPES),
    st.sampled_from(DOCUMENTED_TYPES[:5]),
    st.tuples(st.sampled_from(DOCUMENTED_TYPES), st.sampled_from(CHARSETS)).map(
        lambda t: f"{t[0]}; charset={t[1]}"
    ),
    st.sampled_from(NEAR_TYPES),
    _FIELD_VALUE,
)
_ACCEPT = st.one_of(
    st.none(),
    _MEDIA_TYPE,
    st.lists(
        st.tuples(
            st.sampled_from([*DOCUMENTED_TYPES, "*/*", "text/*", "application/*", "image/png"]),
            st.sampled_from(
                ["", ";q=0", ";q=0.5", ";q=1", ";q=abc", ";q=nan", ";q=inf", ";q=-1", ";q=1e999"]
            ),
        ),
        min_size=1,
        max_size=4,
    ).map(lambda parts: ", ".join(kind + q for kind, q in parts)),
)
_CREDENTIALS = st.sampled_from(
    [
        *[AUTH] * 20,
        {},
        {"Authorization": "SOTicket 7T:dGplMA=="},
        {"Authorization": "Bearer 8A:Cust12345.tje0"},
        {"X-XSRF-TOKEN": "xsrf-tje0", "Cookie": "XSRF-TOKEN=xsrf-tje0"},
        {"Authorization": "Basic dGplMDpXcm9uZw=="},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic "},
        {"Authorization": "basic dGplMDpUamUw"},
        {"Authorization": "Negotiate abc"},
        {"Authorization": "SOTicket"},
        {"X-XSRF-TOKEN": "xsrf-tje0"},
    ]
)
_URLS = st.sampled_from(
    [
        "https://127.0.0.1:9/hook",
        "https://192.0.2.1/hook",
        "http://hooks.example.com/",
        "https://[::1]:9/",
        "ftp://x",
        "",
        "7",
    ]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_WEBHOOK = st.fixed_dictionaries(
    {},
    optional={
        "WebhookId": st.sampled_from([0, 1, 2, 3, -1, 2**31, 99]),
        "Name": st.text(max_size=30),
        "Events": st.lists(st.sampled_from(["contact.created", "person.changed", "x", ""]), max_size=3),
        "TargetUrl": _URLS,
        "Secret": st.text(max_size=20),
        "State": st.sampled_from(["Active", "Stopped", "TooManyErrors", "Unknown", "active", 1]),
        "Type": st.sampled_from(["webhook", "crmscript", "other", "", None]),
        "Headers": st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2),
        "Properties": st.dictionaries(st.text(max_size=8), _JSON, max_size=2),
        "ErrorsEmail": st.text(max_size=10),
    },
)


# -- the REST endpoints: path segments, bodies, patch documents --------------------------------------

_FIELDS = sorted(CONTRACT.resolve(CONTRACT.document["components"]["schemas"]["Webhook"])["properties"])


def _recased(text: str) -> st.SearchStrategy[str]:
    """``text`` as written, in lower or upper case, or with any of its letters' case flipped."""
    flipped = st.lists(st.booleans(), min_size=len(text), max_size=len(text)).map(
        lambda flips: "".join(c.swapcase() if flip else c for c, flip in zip(text, flips, strict=True))
    )
    return st.one_of(st.just(text), st.just(text.lower()), st.just(text.upper()), flipped)


_ODD_SEGMENTS = [
    str(INT32[1]),
    str(INT32[0]),
    str(INT32[1] + 1),
    str(INT32[0] - 1),
    "-1",
    "-0",
    "+0",
    "+1",
    "007",
    "0" * 40 + "1",
    "-" + "0" * 40 + "2",
    "9" * 11,
    "9" * 33,
    "9" * 5000,
    "0" * 5000,
    "1" * 4301,
    "abc",
    "1.0",
    "1e3",
    "0x10",
    "1,000",
    "1_000",
    "+-1",
    "--1",
    "+",
    "-",
    "one",
    "default",
    "Default",
    "TEST",
    "test",
    "lasterror",
    "LastError",
    "webhook",
    "Agents",
    ".",
    "..",
    "%31",
    "%2B1",
    "%2D1",
    "%2F",
    "1%2F",
    "%2F1",
    "%00",
    "1%00",
    "%ZZ",
    "%",
    "%E2%98%83",
    "%FF",
    "%D9%A1",
    "%EF%BC%91",
    "%201",
    "1%20",
    "%09",
    "%0A",
    "%u0031",
    "1;x",
    "1:2",
    "~",
    "'1'",
    "*",
    "(1)",
    "[1]",
    "$1",
]
_INT32_TEXTS = st.one_of(
    st.integers(INT32[0], INT32[1]).map(str),
    st.tuples(st.sampled_from(["", "+", "-"]), st.integers(0, 5000), st.integers(0, 2**32)).map(
        lambda t: t[0] + "0" * t[1] + str(t[2])  # leading zeros, however many (int.TryParse reads them)
    ),
    st.integers(0, 5).map(str),
    st.integers(INT32[1] + 1, 10**40).map(str),
    st.integers(-(10**40), INT32[0] - 1).map(str),
    st.integers(INT32[0], -1).map(str),
)
_SEGMENT = st.one_of(
    st.sampled_from(_ODD_SEGMENTS),
    _INT32_TEXTS,
    st.text(min_size=1, max_size=12).map(lambda t: quote(t, safe="")),
    st.text(alphabet="0123456789+- ", min_size=1, max_size=12).map(lambda t: quote(t, safe="+-")),
)
_EVENT_SEGMENT = st.one_of(
    st.sampled_from(["contact.created", "foo.bar", "person.changed", "x", "a.b.c"]), _SEGMENT
)


def _int32_text(text: str) -> bool:
    """Whether .NET's ``int.TryParse(text, NumberStyles.Integer, InvariantCulture)`` reads an int32,
    spaces aside: an optional sign and ASCII digits (any number of leading zeros), in range."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return False
    digits = text.lstrip("+-").lstrip("0") or "0"
    return len(digits) <= 10 and INT32[0] <= int(text[0] + digits if text[0] in "+-" else digits) <= INT32[1]


def route(template: str, values: dict[str, str]) -> str | None:
    """What routing must do with ``template``'s parameters spelt as ``values`` (their path text,
    percent-escapes and all): "routed", "unrouted" (an integer parameter that is no int32) or None
    (not judged: a segment an escape splits or empties, one with spaces, one spelt like a literal)."""
    verdict = "routed"
    for name, raw in values.items():
        text = unquote(raw)
        if (
            not text
            or "/" in text
            or text.strip() != text
            or text in (".", "..")
            or text.casefold() in LITERALS
            or "%" in text
        ):
            return None
        if name in _integer_parameters(template) and not _int32_text(text):
            verdict = "unrouted"
    return verdict


@functools.cache
def _integer_parameters(template: str) -> frozenset[str]:
    """The path parameters of ``template`` the contract types integer (``{id}``, ``{primaryKey}``...)."""
    by_method = CONTRACT.document["paths"][template]
    names = set()
    for spec in by_method.values():
        for parameter in spec.get("parameters", []):
            resolved = CONTRACT.resolve(parameter)
            if (
                resolved.get("in") == "path"
                and CONTRACT.resolve(resolved.get("schema", {})).get("type") == "integer"
            ):
                names.add(resolved["name"])
    return frozenset(names)


@st.composite
def rest_paths(draw: st.DrawFn, template: str, *, odd: bool) -> tuple[str, str | None]:
    """A path of a REST template, its literals in any case, its parameters existing ids or (``odd``,
    or now and then) arbitrary segments; with a trailing slash now and then. And its routing verdict."""
    parts, values = [], {}
    for part in template.split("/")[1:]:
        if part.startswith("{"):
            name = part[1:-1]
            if name == "eventName":
                text = draw(_EVENT_SEGMENT if odd else st.sampled_from(["contact.created", "foo.bar"]))
            elif odd or draw(st.integers(0, 4)) == 0:
                text = draw(_SEGMENT)
            else:
                text = draw(st.sampled_from([FIRST, FIRST, SECOND, "0", "7"]))
            values[name] = text
            parts.append(text)
        else:
            parts.append(draw(_recased(part)) if draw(st.booleans()) else part)
    path = "/" + "/".join(parts) + draw(st.sampled_from(["", "", "", "/"]))
    resolved = {name: text.replace(FIRST, "1").replace(SECOND, "2") for name, text in values.items()}
    return path, route(template, resolved)


_LINKS = st.dictionaries(
    st.sampled_from(["Self", "Archive", "self", "Other", ""]), st.text(max_size=30) | _SCALARS, max_size=3
)
_REST_WEBHOOK = st.tuples(_WEBHOOK, st.one_of(st.none(), _LINKS, _SCALARS)).map(
    lambda pair: pair[0] if pair[1] is None else {**pair[0], "_Links": pair[1]}
)

_PROPERTY = st.one_of(
    st.sampled_from(_FIELDS).flatmap(_recased),
    st.sampled_from(
        ["Nope", "_Links", "", "~0", "~1", "Name~1x", "Na%6De", "Name ", " Name", "Events/0", "-", "0"]
    ),
)
_TOKEN_TEXT = st.one_of(
    st.sampled_from(
        [
            "-",
            "0",
            "1",
            "2",
            "01",
            "00",
            "-1",
            "+1",
            "1.0",
            "1e2",
            "9" * 12,
            "9" * 5000,
            str(2**63),
            "~0",
            "~1",
            "~01",
            "~10",
            "~2",
            "~",
            "a~1b",
            "a~0b",
            "X-Key",
            "a",
            "b",
            "c",
            "",
            " ",
            "\x00",
            "\u2603",
        ]
    ),
    st.text(max_size=6),
)
_POINTER_REST = st.one_of(
    st.lists(_TOKEN_TEXT, max_size=4),
    st.integers(20, 400).map(lambda n: ["a"] * n),  # deep pointers
    st.integers(20, 400).map(lambda n: ["0"] * n),
)
_PATCH_PATH = st.builds(
    lambda slash, name, rest: ("/" if slash else "") + "/".join([name, *rest]),
    st.booleans(),
    _PROPERTY,
    _POINTER_REST,
)
_DEEP = st.integers(1, 250).flatmap(
    lambda n: st.sampled_from([json.loads("[" * n + "]" * n), json.loads('{"a":' * n + "1" + "}" * n)])
)
_PATCH_VALUE = st.one_of(
    _JSON,
    _DEEP,
    st.sampled_from(["contact.created", "crmscript", "Active", "Stopped", "webhook", {}, []]),
    st.text(max_size=30),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)
_OP_NAME = st.one_of(
    st.sampled_from(
        ["add", "replace", "remove", "test"] * 4 + ["move", "copy", "ADD", "Replace", "", "_get", "add "]
    ),
    _SCALARS,
)
# operations that apply to the two webhooks every run starts from (Type crmscript, one event)
_APPLYING = st.sampled_from(
    [
        {"op": "replace", "path": "/Name", "value": "patched"},
        {"op": "replace", "path": "name", "value": "patched"},
        {"op": "add", "path": "/Events/-", "value": "contact.changed"},
        {"op": "add", "path": "/Events/0", "value": "person.created"},
        {"op": "remove", "path": "/Events/0"},
        {"op": "remove", "path": "/Headers"},
        {"op": "test", "path": "/Type", "value": "crmscript"},
        {"op": "test", "path": "/Events", "value": ["contact.created"]},
        {"op": "test", "path": "/Type", "value": "webhook"},
        {"op": "add", "path": "/Headers", "value": {"X-Key": "1"}},
        {"op": "add", "path": "/Properties", "value": {"a": {"b": [1, None]}}},
        {"op": "replace", "path": "/State", "value": "Stopped"},
        {"op": "remove", "path": "/Description"},
    ]
)
_SMALL_ODD_OP = st.one_of(
    st.fixed_dictionaries(
        {
            "op": _OP_NAME,
            "path": st.builds(
                lambda name, rest: "/".join([name, *rest]),
                _PROPERTY,
                st.lists(_TOKEN_TEXT.filter(lambda t: len(t) < 20), max_size=2),
            ),
        },
        optional={"value": _SCALARS},
    ),
    _SCALARS,
)
_PATCH_OP = st.one_of(
    st.fixed_dictionaries(
        {"op": _OP_NAME, "path": _PATCH_PATH},
        optional={"value": _PATCH_VALUE, "from": _PATCH_PATH, "Op": _OP_NAME, "extra": _JSON},
    ),
    _APPLYING,
    st.builds(dict, _SCALARS.map(lambda v: {"op": v})),
    _SCALARS,
    st.lists(_SCALARS, max_size=2),
)
_NESTED_NULLS = st.recursive(
    st.one_of(st.none(), st.none(), _SCALARS),
    lambda inner: (
        st.dictionaries(st.sampled_from(["a", "b", "X-Key", "~", "/"]), inner, max_size=3)
        | st.lists(inner, max_size=2)
    ),
    max_leaves=10,
)
_MERGE_PATCH = st.one_of(
    st.dictionaries(
        st.sampled_from(_FIELDS).flatmap(_recased) | st.text(max_size=6),
        _NESTED_NULLS | _PATCH_VALUE,
        max_size=4,
    ),
    _WEBHOOK.map(lambda w: {k: v for k, v in w.items() if k != "WebhookId"}),
    st.fixed_dictionaries(
        {},
        optional={
            "Headers": _NESTED_NULLS,
            "Properties": _NESTED_NULLS,
            "Name": st.none() | st.text(max_size=5),
        },
    ),
)
PATCHES = st.one_of(
    st.lists(_PATCH_OP, max_size=6),
    st.lists(_APPLYING, min_size=1, max_size=6),
    st.lists(
        _APPLYING | _SMALL_ODD_OP, min_size=1, max_size=3
    ).flatmap(  # thousands of operations, a few kinds repeated
        lambda ops: st.integers(500, 4000).map(lambda n: [ops[i % len(ops)] for i in range(n)])
    ),
    _MERGE_PATCH,
    _SCALARS,
)


def _body_values(operation: str) -> st.SearchStrategy[Any]:
    """Values near an operation's documented body: its own member names with any values."""
    if operation == "SaveWebhook":
        return _WEBHOOK
    if operation == "TestWebhook":
        return st.fixed_dictionaries({}, optional={"Webhook": _WEBHOOK | _JSON})
    if operation in ("v1Webhook_PostWebhook", "v1Webhook_PutWebhook", "v1Webhook_TestWebhook"):
        return _REST_WEBHOOK
    if operation == "v1Webhook_PatchWebhook":
        return PATCHES
    if operation == "v1Webhook_SignalEvent":
        return st.one_of(st.none(), st.dictionaries(st.text(max_size=8), _JSON, max_size=4), _JSON)
    spec = OPERATIONS[operation][2]
    content = CONTRACT.resolve(spec.get("requestBody", {})).get("content", {})
    schema = CONTRACT.resolve(next(iter(content.values()), {}).get("schema", {}))
    names = list(schema.get("properties", {}))
    return st.dictionaries(st.sampled_from(names), _JSON, max_size=len(names)) if names else _JSON


def _encoded(value: Any, media_type: str) -> bytes:
    kind = media_type.split(";")[0].strip().lower()
    try:
        if kind in ("application/xml", "text/xml"):
            return WIRE.encode_xml(value, WEBHOOK_SCHEMA)
        if kind == "application/x-www-form-urlencoded":
            return WIRE.encode_form(value, WEBHOOK_SCHEMA)
    except (ValueError, TypeError):
        pass
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _mutated(draw: st.DrawFn, body: bytes) -> bytes:
    """The body as it is, cut short, with a byte replaced or with bytes inserted."""
    how = draw(st.sampled_from(["as is", "as is", "cut", "replace", "insert"]))
    if how == "as is" or not body:
        return body
    at = draw(st.integers(0, len(body) - 1))
    if how == "cut":
        return body[:at]
    if how == "replace":
        return body[:at] + bytes([draw(st.integers(0, 255))]) + body[at + 1 :]
    return body[:at] + draw(st.binary(min_size=1, max_size=8)) + body[at:]


_AGENT_QUERIES = [
    "webhookId=@first@",
    "WebhookId=@second@",
    "webhookId=@first@&$select=Name,State",
    "WebhookId=3",
]
_REST_QUERIES = [
    "$select=Name",
    "$select=",
    "$select=Nope,Name",
    "$SELECT=name",
    "nameFilter=first",
    "eventFilter=contact.created",
    "statusFilter=Active",
    "statusFilter=2",
    "statusFilter=abc",
    "statusFilter=",
    "NameFilter=x&nameFilter=y",
    "id=5",
]
_REST_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] * 3 + ["HEAD", "OPTIONS", "TRACE", "MERGE"]
_DATES = [
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Mon, 01 Jan 0001 00:00:00 GMT",
    "Thu, 01 Jan 1970 00:00:00 +9999",
    "Sun, 06 Nov 1994 08:49:37",
    "Sunday, 06-Nov-94 08:49:37 GMT",
    "Sun Nov  6 08:49:37 1994",
    "Mon, 32 Jan 2020 00:00:00 GMT",
    "0",
    "",
]


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """A request: method, path, query, headers, media type and body; ``route`` (for a REST
    template: "routed", "unrouted" or None, see the module's docstring). Ids through ``resolve``."""
    where = draw(st.sampled_from(["operation"] * 8 + ["rest"] * 4 + ["admin", "unknown"]))
    operation = draw(st.sampled_from(sorted(REST) if where == "rest" else sorted(OPERATIONS)))
    template, own_method, _ = OPERATIONS[operation]
    routing: str | None = None
    if where in ("operation", "rest") and "{" in template:
        path, routing = draw(rest_paths(template, odd=where == "rest"))
    elif where in ("operation", "rest"):
        path = (
            template
            if operation not in REST or draw(st.booleans())
            else draw(rest_paths(template, odd=True))[0]
        )
        routing = "routed" if operation in REST else None
    elif where == "admin":
        path = draw(st.sampled_from(ADMIN))
    else:
        path = draw(st.one_of(st.sampled_from(UNKNOWN), _FIELD_VALUE.map(lambda t: "/" + quote(t, safe="/"))))
    query = draw(
        st.one_of(
            st.just(""),
            st.sampled_from(_REST_QUERIES if operation in REST else _AGENT_QUERIES),
            st.sampled_from(
                [
                    "webhookId=1",
                    "WebhookId=2",
                    "webhookId=-1",
                    "webhookId=abc",
                    "webhookId=99999999999",
                    "webhookId=1&webhookId=2",
                    "$select=Name",
                    "$select=",
                    "$select=Nope,Name",
                    "webhookId=%00",
                    "owner=x",
                    "timeout=0",
                    "timeout=nan",
                ]
            ),
            _FIELD_VALUE.map(lambda t: quote(t, safe="=&")),
        )
    )
    media_type = draw(st.one_of(st.none(), _MEDIA_TYPE, _MEDIA_TYPE, _MEDIA_TYPE))
    body_kind = draw(st.sampled_from(["none", "bytes", "json", "near", "near", "near", "near"]))
    if body_kind == "none":
        body = b""
    elif body_kind == "bytes":
        body = draw(st.binary(max_size=200))
    elif body_kind == "json":
        body = json.dumps(draw(_JSON)).encode()
    else:
        body = _mutated(draw, _encoded(draw(_body_values(operation)), media_type or "application/json"))
    headers: dict[str, str] = dict(draw(_CREDENTIALS))
    headers.update(draw(st.dictionaries(st.one_of(_TOKEN, _SPECIAL_HEADERS), _FIELD_VALUE, max_size=3)))
    if operation in REST and draw(st.integers(0, 5)) == 0:
        headers["If-Unmodified-Since"] = draw(st.sampled_from(_DATES))
    for name in ("Content-Type", "Content-Length", "Host", "Transfer-Encoding"):
        headers.pop(name, None)
        headers.pop(name.lower(), None)
    accept = draw(_ACCEPT)
    if accept is not None:
        headers["Accept"] = accept
    if operation in REST and where in ("operation", "rest"):
        method = draw(st.sampled_from([own_method] * 4 + _REST_METHODS))
    elif draw(st.sampled_from([True] * 19 + [False])):
        method = draw(st.sampled_from(METHODS))
    else:
        method = draw(_TOKEN.map(str.upper))
    return {
        "method": method,
        "path": path,
        "query": query,
        "headers": headers,
        "media_type": media_type,
        "body": body,
        "route": routing,
    }


def resolve(request: dict[str, Any], ids: tuple[int, int]) -> dict[str, Any]:
    """The request with the ids of the two webhooks every run starts from in its path and query."""

    def put(text: str) -> str:
        return text.replace(FIRST, str(ids[0])).replace(SECOND, str(ids[1]))

    return {**request, "path": put(request["path"]), "query": put(request["query"])}
