"""Arbitrary requests for the fuzzers (``requests``): every operation of the contract, the admin
endpoints and unknown paths, with near-miss media types, credentials, headers and bodies."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

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
ADMIN = [
    "/__mock__/journal", "/__mock__/reset", "/__mock__/webhooks", "/__mock__/events", "/__mock__/deliveries",
    "/__mock__/deliveries/drain", "/__mock__/responses", "/__mock__/faults", "/openapi.json", "/openapi.yaml",
]
UNKNOWN = [
    "/", "/api", "/api/v1/Agents/Webhook", "/api/v1/Agents/Webhook/", "/api/v1/agents/webhook/savewebhook",
    "/api/v1/Agents/Webhook/SaveWebhook/", "/api/v1/Agents/Webhook/SaveWebhook/1", "/Cust12345/api/v1/Agents/Webhook/GetWebhook",
    "/__mock__", "/__mock__/", "/__mock__/nope", "/api/v1/Agents/Webhook/Save%57ebhook", "/%00", "/..%2F..%2Fetc%2Fpasswd",
]
METHODS = ["POST"] * 12 + ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]
DOCUMENTED_TYPES = [
    "application/json", "text/json", "application/xml", "text/xml", "application/x-www-form-urlencoded",
    "application/json-patch+json", "application/merge-patch+json",
]
NEAR_TYPES = [
    "", "APPLICATION/JSON", "application/json ;", "application/json; charset", "application/json;;", "application/*",
    "*/*", "text/plain", "application/xml+json", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded;",
    "application/json; q=0", "application", "/", ";", "application/json,text/xml", 'application/json; charset="utf-8"',
]
CHARSETS = ["utf-8", "UTF-8", "utf-16", "utf-16le", "utf-32", "latin-1", "punycode", "utf-7", "idna", "rot13", "hex", "", "x" * 50]
WEBHOOK_SCHEMA = {"$ref": "#/components/schemas/Webhook"}

_TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~", min_size=1, max_size=20)
_FIELD_VALUE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60)
_SPECIAL_HEADERS = st.sampled_from(
    ["SO-TimeZone", "SO-Language", "SO-Culture", "Accept-Language", "SO-AppToken", "X-XSRF-TOKEN", "Cookie", "If-Match", "Expect", "Range"]
)
_MEDIA_TYPE = st.one_of(
    st.sampled_from(DOCUMENTED_TYPES),
    st.sampled_from(DOCUMENTED_TYPES[:5]),
    st.tuples(st.sampled_from(DOCUMENTED_TYPES), st.sampled_from(CHARSETS)).map(lambda t: f"{t[0]}; charset={t[1]}"),
    st.sampled_from(NEAR_TYPES),
    _FIELD_VALUE,
)
_ACCEPT = st.one_of(
    st.none(),
    _MEDIA_TYPE,
    st.lists(
        st.tuples(st.sampled_from([*DOCUMENTED_TYPES, "*/*", "text/*", "application/*", "image/png"]),
                  st.sampled_from(["", ";q=0", ";q=0.5", ";q=1", ";q=abc", ";q=nan", ";q=inf", ";q=-1", ";q=1e999"])),
        min_size=1, max_size=4,
    ).map(lambda parts: ", ".join(kind + q for kind, q in parts)),
)
_CREDENTIALS = st.sampled_from(
    [
        *[AUTH] * 20, {}, {"Authorization": "SOTicket 7T:dGplMA=="}, {"Authorization": "Bearer 8A:Cust12345.tje0"},
        {"X-XSRF-TOKEN": "xsrf-tje0", "Cookie": "XSRF-TOKEN=xsrf-tje0"}, {"Authorization": "Basic dGplMDpXcm9uZw=="},
        {"Authorization": "Basic !!!"}, {"Authorization": "Basic "}, {"Authorization": "basic dGplMDpUamUw"},
        {"Authorization": "Negotiate abc"}, {"Authorization": "SOTicket"}, {"X-XSRF-TOKEN": "xsrf-tje0"},
    ]
)
_URLS = st.sampled_from(["https://127.0.0.1:9/hook", "https://192.0.2.1/hook", "http://hooks.example.com/", "https://[::1]:9/", "ftp://x", "", "7"])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
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


def _body_values(operation: str) -> st.SearchStrategy[Any]:
    """Values near an operation's documented body: its own member names with any values."""
    if operation == "SaveWebhook":
        return _WEBHOOK
    if operation == "TestWebhook":
        return st.fixed_dictionaries({}, optional={"Webhook": _WEBHOOK | _JSON})
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


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    where = draw(st.sampled_from(["operation"] * 8 + ["admin", "unknown"]))
    operation = draw(st.sampled_from(sorted(OPERATIONS)))
    if where == "operation":
        path = OPERATIONS[operation][0]
    elif where == "admin":
        path = draw(st.sampled_from(ADMIN))
    else:
        path = draw(st.one_of(st.sampled_from(UNKNOWN), _FIELD_VALUE.map(lambda t: "/" + quote(t, safe="/"))))
    query = draw(
        st.one_of(
            st.just(""),
            st.sampled_from(["webhookId=1", "WebhookId=1", "webhookId=2&$select=Name,State", "WebhookId=3"]),
            st.sampled_from(["webhookId=1", "WebhookId=2", "webhookId=-1", "webhookId=abc", "webhookId=99999999999",
                             "webhookId=1&webhookId=2", "$select=Name", "$select=", "$select=Nope,Name", "webhookId=%00",
                             "owner=x", "timeout=0", "timeout=nan"]),
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
    for name in ("Content-Type", "Content-Length", "Host", "Transfer-Encoding"):
        headers.pop(name, None)
        headers.pop(name.lower(), None)
    accept = draw(_ACCEPT)
    if accept is not None:
        headers["Accept"] = accept
    return {
        "method": draw(st.sampled_from(METHODS) if draw(st.sampled_from([True] * 19 + [False])) else _TOKEN.map(str.upper)),
        "path": path,
        "query": query,
        "headers": headers,
        "media_type": media_type,
        "body": body,
    }
