"""Hostile request bodies against the mock: each is answered quickly, with a clear status in
SuperOffice's error shape, in bounded memory, and changes nothing it should not. SaveWebhook gets
every case; the REST endpoints that take a body (POST, PUT, PATCH, Test, SignalEvent) get the
refused ones too, and PATCH its own: thousands of operations, pointers that do not resolve, deep
``test`` values, indexes past an array's end, merge patches with nested nulls.

In-process (the Flask test client) except where the behaviour is about sockets: a body that
trickles in and a chunked body over the limit, against ``sowebhook mock`` and the RSGI bridge
(``mockserver.app.BufferedRSGI``) as real processes on 127.0.0.1.

Oracles: the statuses and limits ASP.NET Web API documents (MaxDepth 256 of its JSON, XML and
form formatters; UTF-8 or UTF-16 by charset, else UTF-8; StreamReader's byte order marks), the
error shape of docs/fidelity.md F-032 checked key by key, the store read directly before and
after, tracemalloc's peak, and a listening socket that must see no connection.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import pytest
from flask import Flask

from harness.hostile import (
    BRIDGE,
    LAUGHS,
    LIMIT,
    REST_BODIES,
    XSI,
    error_shape_problems,
    hostile_app,
    nested_json,
    nested_xml,
    no_traceback,
    rest_path,
    snapshot,
)
from mockserver import state_of

AGENT = "/api/v1/Agents/Webhook/"
SAVE = AGENT + "SaveWebhook"
AUTH = {"Authorization": "Basic dGplMDpUamUw"}
ASPNET_MAX_DEPTH = 256  # MaxDepth of JsonMediaTypeFormatter, XmlMediaTypeFormatter (ASP.NET Web API)
PEAK_BYTES = 20_000_000  # a body that expands (entities, buffering) would pass this by far
HANG_SECONDS = 5.0  # generous: only a hang fails it; each case takes milliseconds


@dataclass
class Outcome:
    status: int
    content_type: str
    body: bytes
    seconds: float
    peak: int
    changed: bool
    rest: bool = False  # answered by a REST endpoint: the REST error object is one of its shapes

    def json(self) -> Any:
        return json.loads(self.body)


def measured(
    app: Flask,
    body: bytes | None,
    content_type: str | None,
    *,
    path: str = SAVE,
    method: str = "POST",
    **kwargs: Any,
) -> Outcome:
    """One request through the test client: its answer, its time, tracemalloc's peak while it ran
    and whether the store (or anything else a request can change) differs afterwards."""
    client = app.test_client()
    headers = {
        **AUTH,
        **({"Content-Type": content_type} if content_type else {}),
        **kwargs.pop("headers", {}),
    }
    before = snapshot(app)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        response = client.open(path, method=method, data=body, headers=headers, **kwargs)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Outcome(
        response.status_code,
        response.headers.get("Content-Type", ""),
        response.get_data(),
        seconds,
        peak,
        snapshot(app) != before,
        rest_path(path),
    )


def assert_refused(outcome: Outcome, status: int = 400, *, says: str = "") -> None:
    assert outcome.status == status, (outcome.status, outcome.body[:300])
    assert not error_shape_problems(outcome.content_type, outcome.body, rest=outcome.rest), outcome.body[:300]
    assert no_traceback(outcome.body)
    assert says in outcome.body.decode("utf-8", "replace"), outcome.body[:300]
    assert not outcome.changed, "a refused request changed the mock's state"
    assert outcome.seconds < HANG_SECONDS
    assert outcome.peak < PEAK_BYTES, f"{outcome.peak / 1e6:.1f} MB while answering"


def assert_read(outcome: Outcome, status: int = 200) -> None:
    """A body whose semantics make it a deliberate 2xx: answered so, quickly, in bounded memory."""
    assert outcome.status == status, (outcome.status, outcome.body[:300])
    assert no_traceback(outcome.body)
    assert outcome.seconds < HANG_SECONDS
    assert outcome.peak < PEAK_BYTES, f"{outcome.peak / 1e6:.1f} MB while answering"


@pytest.fixture(scope="module")
def app() -> Flask:
    app = hostile_app()
    client = app.test_client()
    # warm up: the first schema error builds openapi-core's validator once (about a second)
    client.post(SAVE, json={"Unexpected": 1}, headers=AUTH)
    client.post(SAVE, json={"Name": "kept", "Type": "crmscript", "TargetUrl": "7"}, headers=AUTH)
    return app


# -- XML: entities, DTDs, depth ------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/xml", "application/xml"])
def test_billion_laughs_is_refused_before_any_expansion(app: Flask, content_type: str) -> None:
    outcome = measured(app, LAUGHS, content_type)
    assert_refused(outcome, says="DTDs and entities are not accepted")
    assert outcome.peak < 2_000_000  # 10**9 "lol"s would be 3 GB


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port on loopback that must see no connection: an entity's system id points at it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        yield server


def _no_connection(server: socket.socket) -> bool:
    try:
        server.accept()[0].close()
    except BlockingIOError:
        return True
    return False


@pytest.mark.parametrize(
    "document",
    [
        '<!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/passwd">]><Webhook><Name>&e;</Name></Webhook>',
        '<!DOCTYPE w [<!ENTITY e SYSTEM "http://127.0.0.1:{port}/e">]><Webhook><Name>&e;</Name></Webhook>',
        '<!DOCTYPE w [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p.dtd"> %p;]><Webhook><Name>&e;</Name></Webhook>',
        "<!DOCTYPE w [<!ENTITY % p \"<!ENTITY e 'x'>\"> %p;]><Webhook><Name>&e;</Name></Webhook>",
        '<!DOCTYPE w SYSTEM "http://127.0.0.1:{port}/w.dtd"><Webhook><Name>n</Name></Webhook>',
        '<?xml-stylesheet href="http://127.0.0.1:{port}/s.xsl"?><Webhook><Name>&amp;</Name><Nope/></Webhook>',
    ],
    ids=["file", "http", "parameter-external", "parameter-internal", "external-dtd", "stylesheet-pi"],
)
def test_external_and_parameter_entities_are_refused_and_never_fetched(
    app: Flask, listener: socket.socket, document: str
) -> None:
    body = ('<?xml version="1.0"?>' + document.replace("{port}", str(listener.getsockname()[1]))).encode()
    outcome = measured(app, body, "application/xml")
    if (
        "<Nope/>" in document
    ):  # a processing instruction is no entity: read, <Nope/> ignored as the server ignores it (F-174)
        assert outcome.status == 200, outcome.body[:300]
        assert any("'Nope' is not a property" in v for v in state_of(app).journal.entries()[-1].violations)
    else:
        assert_refused(outcome)
    assert b"root:" not in outcome.body  # /etc/passwd
    assert _no_connection(listener), "the mock fetched an external entity"


def _xml_depth(body: bytes) -> int:
    depth = deepest = 0
    for event, _ in ElementTree.iterparse(io.BytesIO(body), events=("start", "end")):
        depth += 1 if event == "start" else -1
        deepest = max(deepest, depth)
    return deepest


@pytest.mark.parametrize("levels", [ASPNET_MAX_DEPTH - 1, ASPNET_MAX_DEPTH])
def test_json_and_xml_nested_up_to_aspnet_max_depth_are_read(app: Flask, levels: int) -> None:
    assert_read(measured(app, nested_json(levels), "application/json"))
    body = nested_xml(levels)
    assert _xml_depth(body) == levels
    assert_read(measured(app, body, "application/xml"))


@pytest.mark.parametrize("levels", [ASPNET_MAX_DEPTH + 1, 500, 990, 100_000])
def test_json_nested_deeper_than_aspnet_max_depth_is_400(app: Flask, levels: int) -> None:
    # 500 to 990 levels were 500 Internal Server Error (RecursionError answering or journalling)
    assert_refused(measured(app, nested_json(levels), "application/json"), says="more than 256 levels deep")
    assert_refused(
        measured(app, b"[" * levels + b"]" * levels, "application/json"), says="more than 256 levels deep"
    )
    assert_refused(
        measured(app, b'{"a":' * levels + b"1" + b"}" * levels, "text/json"), says="more than 256 levels deep"
    )


@pytest.mark.parametrize("levels", [ASPNET_MAX_DEPTH + 1, 100_000])
def test_xml_nested_deeper_than_aspnet_max_depth_is_400_before_it_is_built(app: Flask, levels: int) -> None:
    body = (
        nested_xml(levels)
        if levels < 1000
        else b"<Webhook>" + b"<a>" * levels + b"</a>" * levels + b"</Webhook>"
    )
    outcome = measured(app, body, "application/xml")
    assert_refused(outcome, says="more than 256 levels deep")
    assert outcome.peak < 3_000_000  # 100 000 elements built into a tree took 28 MB


def test_deep_json_in_a_form_field_is_400(app: Flask) -> None:
    for body in (b"Properties=" + b"%5B" * 100_000, b"Properties=" + b"[" * 300 + b"]" * 300):
        assert_refused(
            measured(app, body, "application/x-www-form-urlencoded"), says="more than 256 levels deep"
        )


def test_a_form_body_of_escapes_is_read_in_bounded_memory(app: Flask) -> None:
    body = b"Name=" + b"%41" * ((LIMIT - 5) // 3)  # 349 525 escapes: parse_qsl took 80 MB
    outcome = measured(app, body, "application/x-www-form-urlencoded")
    assert_refused(outcome, says="too long")
    assert outcome.peak < PEAK_BYTES


# -- size -------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_by_content_length_is_413_unread(app: Flask) -> None:
    outcome = measured(app, b'{"Name":"' + b"a" * (2 * LIMIT) + b'"}', "application/json")
    assert_refused(outcome, 413, says=f"limit of {LIMIT} bytes")


def _chunked(app: Flask, body: bytes, **kwargs: Any) -> Outcome:  # path=, method= as measured
    """A body without Content-Length, its end marked by the server (chunked transfer encoding)."""
    return measured(
        app,
        None,
        "application/json",
        input_stream=io.BytesIO(body),
        environ_overrides={"wsgi.input_terminated": True},
        **kwargs,
    )


def test_a_chunked_body_over_the_limit_is_413_not_cut_at_the_limit(app: Flask) -> None:
    # valid JSON up to the limit, then more: werkzeug read the first LIMIT bytes as the whole body,
    # and the mock saved a webhook from a body twice its limit
    body = b'{"Name":"cut"}' + b" " * (LIMIT - 14) + b"and more"
    assert_refused(_chunked(app, body), 413, says=f"limit of {LIMIT} bytes")
    assert_refused(_chunked(app, b"x" * (LIMIT + 1)), 413)
    assert _chunked(app, b'{"Name":"fits"}' + b" " * (LIMIT - 15)).status == 200  # exactly the limit
    assert_refused(_chunked(app, b"[" + b" " * (3 * LIMIT) + b"]", path="/__mock__/webhooks"), 413)


def test_a_body_shorter_than_its_content_length_is_400_and_changes_nothing(app: Flask) -> None:
    # the client went away after 14 of 100 bytes: granian hands the app what arrived, which is JSON
    environ = {"wsgi.input_terminated": True, "CONTENT_LENGTH": "100"}
    outcome = measured(
        app, None, "application/json", input_stream=io.BytesIO(b'{"Name":"cut"}'), environ_overrides=environ
    )
    assert_refused(outcome, says="14 bytes of the 100")


def test_the_journal_keeps_a_bounded_part_of_large_bodies(app: Flask) -> None:
    # a rejected 75 KB body decodes to some 1.7 MB of Python objects; the journal kept them all
    state = state_of(app)
    body = b'{"WebhookId":"x","Secret":"' + b"s" * 30 + b'","Properties":{"a":[' + b"[]," * 25_000 + b"[]]}}"
    client = app.test_client()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(2):
            assert (
                client.post(SAVE, data=body, headers={**AUTH, "Content-Type": "application/json"}).status_code
                == 400
            )
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 1_000_000, f"{kept / 1e6:.1f} MB kept after 2 requests"
    entry = state.journal.entries()[-1]
    assert isinstance(entry.body, str) and len(entry.body) <= 4097
    assert entry.body.startswith('{"WebhookId":"x","Secret":"***"')  # masked before it was cut


# -- text: UTF-8, NUL, BOM, charsets ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"Name":"\xff\xfe"}', "application/json"),
        (b'{"Name":"\xc3\x28"}', "text/json; charset=utf-8"),
        (b'{"Name":"\xed\xa0\x80"}', "application/json"),  # an encoded surrogate
        (b"<Webhook><Name>\xff</Name></Webhook>", "application/xml"),
        (b'<?xml version="1.0" encoding="utf-8"?><Webhook><Name>\xc3</Name></Webhook>', "text/xml"),
        (b"Name=\xff\xfe", "application/x-www-form-urlencoded"),
        (b"Name=%FF%FE", "application/x-www-form-urlencoded"),
    ],
)
def test_invalid_utf8_is_400(app: Flask, body: bytes, content_type: str) -> None:
    assert_refused(measured(app, body, content_type))


def test_nul_bytes(app: Flask) -> None:
    # a raw NUL is no JSON (RFC 8259: control characters are escaped) and no XML 1.0 character
    assert_refused(measured(app, b'{"Name":"a\x00b"}', "application/json"), says="control character")
    assert_refused(
        measured(app, b"<Webhook><Name>a\x00b</Name></Webhook>", "application/xml"), says="not well-formed"
    )
    assert_refused(measured(app, b"\x00" * 64, "application/json"))
    assert_refused(measured(app, b"", None, path=AGENT + "GetWebhook?webhookId=%00"), says="webhookId")
    # escaped, it is a character like any other (Json.NET reads "\u0000"): a deliberate 200
    escaped = measured(app, b'{"Name":"a\\u0000b"}', "application/json")
    assert_read(escaped)
    assert escaped.json()["Name"] == "a\x00b"
    form = measured(app, b"Name=a%00b", "application/x-www-form-urlencoded")
    assert_read(form)
    assert form.json()["Name"] == "a\x00b"
    as_xml = measured(
        app,
        b"",
        None,
        path=AGENT + f"GetWebhook?webhookId={form.json()['WebhookId']}",
        headers={"Accept": "application/xml"},
    )
    assert as_xml.status == 200 and "<Name>a\ufffdb</Name>" in as_xml.body.decode()  # F-063


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'\xef\xbb\xbf{"Name":"bom"}', "application/json"),
        ('\ufeff{"Name":"bom"}'.encode("utf-16-le"), "application/json"),
        ('\ufeff{"Name":"bom"}'.encode("utf-16-be"), "text/json"),
        ('\ufeff{"Name":"bom"}'.encode("utf-32-le"), "application/json"),
        (b"\xef\xbb\xbf<Webhook><Name>bom</Name></Webhook>", "application/xml"),
    ],
    ids=["json-utf8", "json-utf16le", "json-utf16be", "json-utf32le", "xml-utf8"],
)
def test_a_byte_order_mark_chooses_the_encoding_and_is_skipped(
    app: Flask, body: bytes, content_type: str
) -> None:
    # .NET's StreamReader does so for the JSON formatter (F-110); the XML parser reads an UTF-8 BOM
    outcome = measured(app, body, content_type, headers={"Accept": "application/json"})
    assert_read(outcome)
    assert outcome.json()["Name"] == "bom"


def test_a_byte_order_mark_in_a_form_is_part_of_the_first_name(app: Flask) -> None:
    # "\ufeffName" is no property: ignored, as the server ignores an unknown member, and journalled (F-110, F-174)
    outcome = measured(
        app,
        b"\xef\xbb\xbfName=bom",
        "application/x-www-form-urlencoded",
        headers={"Accept": "application/json"},
    )
    assert outcome.status == 200 and outcome.json()["Name"] is None
    assert state_of(app).journal.entries()[-1].violations == [
        "entity.\ufeffName: '\ufeffName' is not a property of Webhook; SuperOffice ignores it"
    ]


@pytest.mark.parametrize(
    ("charset", "body"),
    [
        ("utf-8", '{"Name":"é"}'.encode()),
        ("UTF-16", '{"Name":"é"}'.encode("utf-16-le")),  # .NET's "utf-16": little-endian
        ("punycode", '{"Name":"é"}'.encode()),  # was 500: Python's punycode codec raised UnicodeError
        ("utf-7", '{"Name":"é"}'.encode()),
        ("latin-1", '{"Name":"é"}'.encode()),
        ("no-such-charset", '{"Name":"é"}'.encode()),
    ],
)
def test_charsets_other_than_utf16_read_as_utf8(app: Flask, charset: str, body: bytes) -> None:
    outcome = measured(app, body, f"application/json; charset={charset}")
    assert_read(outcome)
    assert outcome.json()["Name"] == "é"


# -- values -----------------------------------------------------------------------------------------


def test_duplicate_json_keys_take_the_last_value(app: Flask) -> None:
    # Json.NET, which reads SuperOffice's bodies, assigns a member each time it meets it (F-113)
    outcome = measured(
        app,
        b'{"Name":"first","Name":"last","Type":"crmscript","Headers":{"a":"1","a":"2"}}',
        "application/json",
    )
    assert_read(outcome)
    assert outcome.json()["Name"] == "last" and outcome.json()["Headers"] == {"a": "2"}
    assert_refused(measured(app, b'{"WebhookId":"x","WebhookId":-1}', "application/json"), says="WebhookId")
    xml = measured(
        app,
        b"<Webhook><Name>first</Name><Name>last</Name></Webhook>",
        "application/xml",
        headers={"Accept": "application/json"},
    )
    assert_read(xml)
    assert xml.json()["Name"] == "last"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"WebhookId":1e999999}', "application/json"),
        (b'{"Properties":{"n":-1e400}}', "application/json"),
        (b'{"WebhookId":' + b"9" * 5000 + b"}", "application/json"),
        (b'{"Properties":{"n":' + b"1" * 5000 + b"}}", "application/json"),
        (b"<Webhook><WebhookId>" + b"9" * 5000 + b"</WebhookId></Webhook>", "application/xml"),
        (b"<Webhook><WebhookId>1e999999</WebhookId></Webhook>", "application/xml"),
        (
            f'<Webhook {XSI}><Properties><StringObjectKeyValuePair><Key>n</Key><Value xsi:type="xsd:double">1e400</Value></StringObjectKeyValuePair></Properties></Webhook>'.encode(),
            "application/xml",
        ),
        (b"WebhookId=" + b"9" * 5000, "application/x-www-form-urlencoded"),
        (b"WebhookId=2147483648", "application/x-www-form-urlencoded"),
    ],
)
def test_numbers_out_of_range_are_400(app: Flask, body: bytes, content_type: str) -> None:
    outcome = measured(app, body, content_type)
    assert_refused(outcome)
    assert b"set_int_max_str_digits" not in outcome.body  # Python's advice is no answer of SuperOffice's


def test_negative_zero_and_underflow_are_numbers(app: Flask) -> None:
    # -0 is the integer 0 (a new webhook) and 1e-400 underflows to 0.0, in .NET as in Python: 200
    outcome = measured(
        app,
        b'{"WebhookId":-0,"Type":"crmscript","Properties":{"tiny":1e-400,"minus":-0.0,"big":1e308}}',
        "application/json",
    )
    assert_read(outcome)
    assert outcome.json()["WebhookId"] > 0
    assert outcome.json()["Properties"] == {"tiny": 0.0, "minus": -0.0, "big": 1e308}


# -- the REST endpoints: the same bodies, refused the same way -------------------------------------------

FORM = "application/x-www-form-urlencoded"
# bodies every operation that takes one refuses as it is read (status, and what the answer says)
REFUSED: dict[str, tuple[bytes, str, int, str]] = {
    "billion laughs": (LAUGHS, "application/xml", 400, "DTDs and entities are not accepted"),
    "billion laughs text/xml": (LAUGHS, "text/xml", 400, "DTDs and entities are not accepted"),
    "external entity": (
        b'<!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/passwd">]><Webhook><Name>&e;</Name></Webhook>',
        "application/xml",
        400,
        "",
    ),
    "JSON 100 000 [": (b"[" * 100_000, "application/json", 400, "more than 256 levels deep"),
    "JSON nested 257": (
        nested_json(ASPNET_MAX_DEPTH + 1),
        "application/json",
        400,
        "more than 256 levels deep",
    ),
    "patch nested 257": (
        b'[{"op":"add","path":"/Properties/a","value":' + b"[" * 255 + b"]" * 255 + b"}]",
        "application/json",
        400,
        "more than 256 levels deep",
    ),
    "XML nested 257": (nested_xml(ASPNET_MAX_DEPTH + 1), "application/xml", 400, "more than 256 levels deep"),
    "XML nested 100 000": (
        b"<Webhook>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</Webhook>",
        "application/xml",
        400,
        "more than 256 levels deep",
    ),
    "form JSON nested 100 000": (b"Properties=" + b"%5B" * 100_000, FORM, 400, "more than 256 levels deep"),
    "2 MiB": (b'{"Name":"' + b"a" * (2 * LIMIT) + b'"}', "application/json", 413, f"limit of {LIMIT} bytes"),
    "invalid UTF-8 JSON": (b'{"Name":"\xff\xfe"}', "application/json", 400, ""),
    "invalid UTF-8 XML": (b"<Webhook><Name>\xff</Name></Webhook>", "application/xml", 400, ""),
    "invalid UTF-8 form": (b"Name=%FF%FE", FORM, 400, ""),
    "encoded surrogate": (b'{"Name":"\xed\xa0\x80"}', "application/json", 400, ""),
    "raw NUL": (b'{"Name":"a\x00b"}', "application/json", 400, "control character"),
    "64 NULs": (b"\x00" * 64, "application/json", 400, ""),
    "1e999999": (b'{"WebhookId":1e999999}', "application/json", 400, ""),
    "-1e400": (b'{"Properties":{"n":-1e400}}', "application/json", 400, ""),
    "5000 digits": (b'{"Properties":{"n":' + b"1" * 5000 + b"}}", "application/json", 400, ""),
    "5000 digits in XML": (
        b"<Webhook><WebhookId>" + b"9" * 5000 + b"</WebhookId></Webhook>",
        "application/xml",
        400,
        "",
    ),
    "1e400 as xsd:double": (
        f'<Webhook {XSI}><Properties><StringObjectKeyValuePair><Key>n</Key><Value xsi:type="xsd:double">1e400</Value>'
        "</StringObjectKeyValuePair></Properties></Webhook>".encode(),
        "application/xml",
        400,
        "",
    ),
    "cut JSON": (b'{"Name":"cut', "application/json", 400, ""),
}
PATCH_TYPES = ("application/json", "text/json", "application/json-patch+json", "application/merge-patch+json")


@pytest.fixture(scope="module")
def stored_id(app: Flask) -> int:
    """A webhook the REST cases PUT and PATCH (created once; no refused case may change it)."""
    response = app.test_client().post(
        "/api/v1/Webhook",
        json={"Name": "rest", "Type": "crmscript", "Events": ["contact.created"]},
        headers=AUTH,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return int(response.json["WebhookId"])


@pytest.mark.parametrize("operation", sorted(REST_BODIES))
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_bodies_are_refused_by_the_rest_endpoints_as_by_the_agent(
    app: Flask, stored_id: int, operation: str, case: str
) -> None:
    body, content_type, status, says = REFUSED[case]
    method, path = REST_BODIES[operation]
    outcome = measured(app, body, content_type, path=path.format(id=stored_id), method=method)
    if operation == "v1Webhook_PatchWebhook" and content_type not in PATCH_TYPES and status != 413:
        status, says = 415, "is not supported"  # PATCH takes JSON only (F-203); refused before it is read
    assert_refused(outcome, status, says=says)
    if case.startswith("billion laughs"):
        assert outcome.peak < 2_000_000
    if case == "XML nested 100 000":
        assert outcome.peak < 3_000_000  # refused before a tree is built


@pytest.mark.parametrize("operation", sorted(REST_BODIES))
def test_chunked_and_cut_bodies_are_refused_by_the_rest_endpoints(
    app: Flask, stored_id: int, operation: str
) -> None:
    method, path = REST_BODIES[operation]
    at = path.format(id=stored_id)
    over = b'{"Name":"cut"}' + b" " * (LIMIT - 14) + b"and more"
    assert_refused(_chunked(app, over, path=at, method=method), 413, says=f"limit of {LIMIT} bytes")
    environ = {"wsgi.input_terminated": True, "CONTENT_LENGTH": "100"}
    cut = measured(
        app,
        None,
        "application/json",
        path=at,
        method=method,
        input_stream=io.BytesIO(b'{"Name":"cut"}'),
        environ_overrides=environ,
    )
    assert_refused(cut, says="14 bytes of the 100")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (nested_json(ASPNET_MAX_DEPTH), "application/json"),
        (b'\xef\xbb\xbf{"Name":"bom","Type":"crmscript"}', "application/json"),
        ('\ufeff{"Name":"bom","Type":"crmscript"}'.encode("utf-16-le"), "application/json"),
        (b'{"Name":"x","Type":"crmscript"}', "application/json; charset=punycode"),
        (b'{"Name":"a\\u0000b","Type":"crmscript"}', "application/json"),
        (b'{"Type":"crmscript","Properties":{"tiny":1e-400,"minus":-0.0,"big":1e308}}', "text/json"),
    ],
    ids=["nested-256", "bom-utf8", "bom-utf16", "punycode", "escaped-nul", "underflow"],
)
@pytest.mark.parametrize("operation", sorted(REST_BODIES))
def test_bodies_read_by_the_agent_are_read_by_the_rest_endpoints(
    app: Flask, stored_id: int, operation: str, body: bytes, content_type: str
) -> None:
    method, path = REST_BODIES[operation]
    assert_read(
        measured(app, body, content_type, path=path.format(id=stored_id), method=method),
        204 if "SignalEvent" in operation else 200,
    )


# -- hostile paths: the REST endpoints' integer segments ---------------------------------------------


@pytest.mark.parametrize(
    ("segment", "status"),
    [
        # .NET's int.TryParse reads an optional sign and digits, leading zeros however many (F-200);
        # Python's int() refuses a text of more than 4300 digits
        ("0" * 5000 + "{id}", 200),
        ("+{id}", 200),
        ("000{id}", 200),
        ("-" + "0" * 5000, 404),  # -0: webhook 0, which is none (the REST error object)
        ("-" + "0" * 5000 + "1", 400),  # -1: routed, then no valid id (Int32Id)
        ("2147483647", 404),
        ("-2147483648", 400),
        ("2147483648", "unrouted"),
        ("-2147483649", "unrouted"),
        ("0" * 5000 + "2147483648", "unrouted"),
        ("9" * 5000, "unrouted"),
        ("1" * 4301, "unrouted"),
        ("%00", "unrouted"),
        ("1%00", "unrouted"),
        ("%E2%98%83", "unrouted"),
        ("%D9%A1", "unrouted"),  # ARABIC-INDIC DIGIT ONE: no ASCII digit
        ("%EF%BC%91", "unrouted"),  # FULLWIDTH DIGIT ONE
        ("1e3", "unrouted"),
        ("0x10", "unrouted"),
        ("+-1", "unrouted"),
        ("%2B{id}", 200),  # an escaped sign is a sign
    ],
)
@pytest.mark.parametrize("suffix", ["", "/", "/LastError"])
def test_integer_path_segments_route_as_int_tryparse_reads_them(
    app: Flask, stored_id: int, segment: str, status: int | str, suffix: str
) -> None:
    path = "/api/v1/Webhook/" + segment.format(id=stored_id) + suffix
    response = app.test_client().get(path, headers=AUTH)
    body = response.get_data()
    assert no_traceback(body)
    if status == "unrouted":  # no route: the agent's 404 of x-sowebhook-unrouted, never the REST error object
        assert response.status_code == 404 and b"No HTTP resource was found" in body, body[:300]
        assert not error_shape_problems(response.content_type, body)
        return
    if suffix == "/LastError":  # the agent's GetLastError by path: null for any webhook without an error
        assert response.status_code == (400 if status == 400 else 200), body[:300]
        return
    assert response.status_code == status, body[:300]
    if status == 200:
        assert response.json["WebhookId"] == stored_id
    else:
        assert not error_shape_problems(response.content_type, body, rest=True)


def test_signal_event_reads_the_primary_key_as_int_tryparse_does(app: Flask) -> None:
    client = app.test_client()
    for key, status in [
        ("0" * 5000 + "7", 204),
        ("+7", 204),
        ("9" * 5000, 404),
        ("1" * 11, 404),
        ("%D9%A1", 404),
    ]:
        response = client.post(f"/api/v1/Webhook/contact.created/{key}", headers=AUTH)
        assert response.status_code == status, (key[:20], response.get_data()[:300])
        assert status == 204 or not error_shape_problems(response.content_type, response.get_data())


# -- PATCH documents ------------------------------------------------------------------------------------

BASE = {
    "Name": "patched",
    "Type": "crmscript",
    "Events": ["a.b", "c.d"],
    "Headers": {"X-Key": "1", "a/b": "slash", "t~": "tilde"},
    "Properties": {"a": {"b": [1, {"c": 2}], "keep": True}, "n": 5, "s": "text"},
}


@pytest.fixture
def target(app: Flask) -> str:
    """A fresh webhook's REST path, in a known state (BASE)."""
    response = app.test_client().post("/api/v1/Webhook", json=BASE, headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)
    return f"/api/v1/Webhook/{response.json['WebhookId']}"


def patched(app: Flask, target: str, changes: Any, media_type: str = "application/json") -> Outcome:
    return measured(app, json.dumps(changes).encode(), media_type, path=target, method="PATCH")


def stored_webhook(app: Flask, target: str) -> dict[str, Any]:
    """The webhook as GET answers it, but for when and by whom it was last saved (a patch that
    applies saves, even when it changes nothing but these)."""
    response = app.test_client().get(target, headers=AUTH)
    assert response.status_code == 200
    return {k: v for k, v in response.json.items() if k not in ("Updated", "UpdatedAssociate")}


def refused_naming(outcome: Outcome, member: str, says: str = "", status: int = 400) -> None:
    assert_refused(outcome, status, says=says)
    if status == 400:
        assert member in outcome.json()["ModelState"], outcome.json()
    else:
        assert (
            outcome.json()["ErrorType"] == "ConflictException" and member in outcome.json()["ErrorMessage"]
        ), outcome.json()


def test_thousands_of_operations_apply_in_one_pass_and_all_or_none(app: Flask, target: str) -> None:
    # ~600 KB, 12 000 operations on a list that grows to 12 002 items: a copy of the webhook per
    # operation (quadratic) took 2.3 s for 4 000 of them and would take some 20 s here; one copy
    # changed in place takes a fraction of a second (with tracemalloc on, about a second)
    ops = [{"op": "add", "path": "/Events/-", "value": f"e.{i}"} for i in range(12_000)]
    outcome = patched(app, target, ops)
    assert_read(outcome)
    assert outcome.json()["Events"][:3] == ["a.b", "c.d", "e.0"] and len(outcome.json()["Events"]) == 12_002
    assert outcome.seconds < HANG_SECONDS
    before = stored_webhook(app, target)
    # thousands that apply and one that cannot, at the end: none of them is applied
    failing = [*ops[:2_999], {"op": "test", "path": "/Events/0", "value": "not it"}]
    refused_naming(patched(app, target, failing), "changes.2999", status=409)
    failing[-1] = {"op": "replace", "path": "/Events/99999", "value": "x.y"}
    refused_naming(patched(app, target, failing), "changes.2999", says="past the end of /Events")
    assert stored_webhook(app, target) == before


def test_thousands_of_tests_and_replaces_of_one_property(app: Flask, target: str) -> None:
    ops = [
        op
        for i in range(2_000)
        for op in (
            {"op": "test", "path": "/Name", "value": "patched" if i == 0 else f"n{i - 1}"},
            {"op": "replace", "path": "name", "value": f"n{i}"},
        )
    ]
    outcome = patched(app, target, ops)
    assert_read(outcome)
    assert outcome.json()["Name"] == "n1999"


@pytest.mark.parametrize("kind", ["add", "replace", "remove", "test"])
@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/Name/0", "/Name is a string"),
        ("/Type/x", "/Type is a string"),
        ("/WebhookId/0", "/WebhookId is a number"),
        ("/Description/x", "/Description is null"),
        ("/Properties/n/x", "/Properties/n is a number"),
        ("/Properties/a/keep/x", "/Properties/a/keep is a boolean"),
        ("/Properties/a/b/1/c/d/e", "/Properties/a/b/1/c is a number"),
        ("/Events/0/x", "/Events/0 is a string"),
        ("/Properties/missing/x", "/Properties has no member 'missing'"),
        ("/Events/x", "'x' is not an index of the array /Events"),
        ("/Events/-1", "'-1' is not an index of the array /Events"),
        ("/Events/01", "'01' is not an index of the array /Events"),
        ("/Events/" + "9" * 5000, "is past the end of /Events"),
        ("/Properties/a/b/7", "is past the end of /Properties/a/b"),
        ("/Properties/~2", "has an escape other than ~0 and ~1"),
        ("/Headers/a~", "has an escape other than ~0 and ~1"),
        ("/Headers/~~01", "has an escape other than ~0 and ~1"),  # "~~": not "~0" once its "~0" is read
    ],
)
def test_a_pointer_that_does_not_resolve_is_400_naming_the_operation_and_changes_nothing(
    app: Flask, target: str, kind: str, path: str, names: str
) -> None:
    # RFC 6901: a pointer into a string, a number, a boolean or null, past an array's end or to a
    # missing member references nothing; RFC 6902 4: so add (but for a new last member), replace,
    # remove and test fail. A test of nothing is no conflict (409) but a malformed operation (F-203)
    op = {"op": kind, "path": path, **({} if kind == "remove" else {"value": 1})}
    refused_naming(
        patched(app, target, [{"op": "test", "path": "/Type", "value": "crmscript"}, op]),
        "changes.1",
        says=names,
    )


def test_a_test_with_a_deep_value(app: Flask, target: str) -> None:
    deep: Any = "leaf"
    for level in range(120):
        deep = {"level": level, "next": [deep]}
    assert_read(patched(app, target, [{"op": "replace", "path": "/Properties/a", "value": deep}]))
    before = stored_webhook(app, target)
    assert_read(patched(app, target, [{"op": "test", "path": "/Properties/a", "value": deep}]))
    assert stored_webhook(app, target)["Properties"] == before["Properties"]
    differing = json.loads(json.dumps(deep).replace('"leaf"', '"other"'))
    refused_naming(
        patched(app, target, [{"op": "test", "path": "/properties/a", "value": differing}]),
        "changes.0",
        status=409,
    )
    # numbers equal as JSON numbers are equal (RFC 6902 4.6), a boolean is not a number
    assert_read(patched(app, target, [{"op": "test", "path": "/Properties/n", "value": 5.0}]))
    refused_naming(
        patched(app, target, [{"op": "test", "path": "/Properties/a/next/0/level", "value": True}]),
        "changes.0",
        status=409,
    )
    assert stored_webhook(app, target) == before


@pytest.mark.parametrize(
    ("ops", "events"),
    [
        (
            [{"op": "add", "path": "/Events/2", "value": "x.y"}],
            ["a.b", "c.d", "x.y"],
        ),  # the index one past the end appends
        ([{"op": "add", "path": "/Events/0", "value": "x.y"}], ["x.y", "a.b", "c.d"]),
        ([{"op": "add", "path": "/Events/-", "value": "x.y"}], ["a.b", "c.d", "x.y"]),
        ([{"op": "remove", "path": "/Events/0"}], ["c.d"]),
        ([{"op": "remove", "path": "/Events/1"}, {"op": "remove", "path": "/Events/0"}], []),
        ([{"op": "remove", "path": "/Events/0"}, {"op": "remove", "path": "/Events/0"}], []),
        (
            [
                {"op": "replace", "path": "/Events/1", "value": "x.y"},
                {"op": "test", "path": "/Events", "value": ["a.b", "x.y"]},
            ],
            ["a.b", "x.y"],
        ),
    ],
)
def test_array_items_are_added_and_removed_by_index(
    app: Flask, target: str, ops: list[dict[str, Any]], events: list[str]
) -> None:
    outcome = patched(app, target, ops)
    assert_read(outcome)
    assert outcome.json()["Events"] == events == stored_webhook(app, target)["Events"]


@pytest.mark.parametrize(
    ("ops", "says"),
    [
        (
            [{"op": "add", "path": "/Events/3", "value": "x.y"}],
            "/Events/3 is past the end of /Events, which has 2 item(s)",
        ),
        ([{"op": "remove", "path": "/Events/2"}], "/Events/2 is past the end of /Events"),
        ([{"op": "remove", "path": "/Events/-"}], "'-' is not an index of the array /Events"),
        (
            [{"op": "replace", "path": "/Events/-", "value": "x.y"}],
            "'-' is not an index of the array /Events",
        ),
        (
            [
                {"op": "remove", "path": "/Events/0"},
                {"op": "remove", "path": "/Events/0"},
                {"op": "remove", "path": "/Events/0"},
            ],
            "/Events/0 is past the end of /Events, which has 0 item(s)",
        ),
    ],
)
def test_an_index_past_the_end_is_400_and_changes_nothing(
    app: Flask, target: str, ops: list[dict[str, Any]], says: str
) -> None:
    refused_naming(patched(app, target, ops), f"changes.{len(ops) - 1}", says=says)


def test_escaped_pointers_name_members_with_slashes_and_tildes(app: Flask, target: str) -> None:
    ops = [
        {"op": "test", "path": "/Headers/a~1b", "value": "slash"},
        {"op": "test", "path": "/Headers/t~0", "value": "tilde"},
        {"op": "add", "path": "/Headers/~01", "value": "was ~1"},  # RFC 6901 3: ~01 is "~1", not "/"
        {"op": "remove", "path": "/Headers/a~1b"},
    ]
    outcome = patched(app, target, ops)
    assert_read(outcome)
    assert outcome.json()["Headers"] == {"X-Key": "1", "t~": "tilde", "~1": "was ~1"}


@pytest.mark.parametrize(
    ("changes", "properties", "headers"),
    [
        # RFC 7396 2: null removes a member at any depth; an object merges; a missing member takes
        # the patch's object with its nulls dropped; arrays (and nulls in them) replace whole
        (
            {"Properties": {"a": {"b": None, "c": {"d": None, "e": 1}}, "n": None}},
            {"a": {"keep": True, "c": {"e": 1}}, "s": "text"},
            None,
        ),
        ({"Properties": {"a": None, "s": {"x": None}}}, {"n": 5, "s": {}}, None),
        (
            {"Properties": {"a": {"b": [None, {"c": None}]}}},
            {"a": {"b": [None, {"c": None}], "keep": True}, "n": 5, "s": "text"},
            None,
        ),
        ({"Properties": {"absent": None}}, None, None),
        ({"Headers": {"X-Key": None, "a/b": None, "new": "1"}}, None, {"t~": "tilde", "new": "1"}),
        ({"headers": {"t~": None}, "PROPERTIES": {}}, None, {"X-Key": "1", "a/b": "slash"}),
        ({"Properties": None, "Headers": None}, "null", "null"),
    ],
)
@pytest.mark.parametrize("media_type", ["application/merge-patch+json", "application/json"])
def test_a_merge_patch_with_nested_nulls(
    app: Flask, target: str, media_type: str, changes: dict[str, Any], properties: Any, headers: Any
) -> None:
    outcome = patched(app, target, changes, media_type)
    assert_read(outcome)
    expected_properties = (
        BASE["Properties"] if properties is None else (None if properties == "null" else properties)
    )
    expected_headers = BASE["Headers"] if headers is None else (None if headers == "null" else headers)
    assert outcome.json()["Properties"] == expected_properties == stored_webhook(app, target)["Properties"]
    assert outcome.json()["Headers"] == expected_headers == stored_webhook(app, target)["Headers"]


@pytest.mark.parametrize(
    ("changes", "member"),
    [
        ({"Headers": {"X-Key": None, "bad": {"x": None}}}, "entity.Headers.bad"),  # {} is no header value
        ({"Name": {"x": None}}, "entity.Name"),
        ({"Events": [None]}, "entity.Events.0"),
        ({"Nope": None}, "changes.Nope"),
        ({"Properties": {"a": None}, "_Links": {}}, "changes._Links"),
    ],
)
def test_a_merge_patch_that_makes_no_valid_webhook_is_400_naming_the_member(
    app: Flask, target: str, changes: Any, member: str
) -> None:
    refused_naming(patched(app, target, changes), member)


# -- sockets: a body that trickles in, a chunked body over the limit ----------------------------------

HEADERS = (
    b"POST /api/v1/Agents/Webhook/SaveWebhook HTTP/1.1\r\nHost: mock\r\nAuthorization: Basic dGplMDpUamUw\r\n"
    b"Content-Type: application/json\r\n"
)


def _exchange(port: int, request: bytes, timeout: float = HANG_SECONDS) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(request)
        return _answer(connection)


def _answer(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(rest) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def _save(port: int, name: str, timeout: float = HANG_SECONDS) -> int:
    body = json.dumps({"Name": name}).encode()
    return _status(
        _exchange(
            port, HEADERS + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body, timeout
        )
    )


def _start(command: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        start_new_session=True,  # its own process group: its workers are stopped with it
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # the ready line: blocks until the server answers
    assert " ready at http://127.0.0.1:" in line, line + (
        process.stderr.read() if process.poll() is not None else ""
    )
    url = next(word for word in line.split() if word.startswith("http://"))
    return process, int(url.rsplit(":", 1)[1])


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM (granian stops its workers), then SIGKILL to the process group if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.communicate(timeout=20)
            return
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


@pytest.fixture(scope="module")
def mock_process() -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``sowebhook mock`` as users run it (granian, one process of THREADS_ONE_PROCESS threads)."""
    process, port = _start([sys.executable, "-m", "contracts.cli", "mock", "--port", "0", "--quiet"])
    yield process, port
    _stop(process)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _trickle(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that send their headers and 9 of the 100 bytes their Content-Length
    announces, and then nothing."""
    slow = []
    for _ in range(count):
        connection = socket.create_connection(("127.0.0.1", port), timeout=30)
        connection.sendall(HEADERS + b"Content-Length: 100\r\n\r\n" + b'{"Name":"')
        slow.append(connection)
    return slow


@pytest.mark.slow  # a sowebhook mock process
def test_others_are_answered_while_bodies_trickle_in_to_sowebhook_mock(
    mock_process: tuple[subprocess.Popen[str], int],
) -> None:
    _, port = mock_process
    slow = _trickle(port, 6)  # more than the mock's threads
    try:
        for attempt in range(3):  # by the second, the stalled requests hold their threads
            assert _save(port, f"meanwhile {attempt}", timeout=2.0) == 200  # TimeoutError when starved
    finally:
        for connection in slow:
            connection.close()


@pytest.mark.slow  # a sowebhook mock process
def test_a_chunked_body_over_the_limit_is_413_from_sowebhook_mock(
    mock_process: tuple[subprocess.Popen[str], int],
) -> None:
    _, port = mock_process
    # valid JSON up to the limit, then 8 bytes more: werkzeug cut it at the limit and it was read as a
    # whole body ("Expecting value" for other bodies over the limit: 400 where 413 is due)
    body = b'{"Name":"cut"}' + b" " * (LIMIT - 14) + b"and more"
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 65536]), body[i : i + 65536]) for i in range(0, len(body), 65536)
    )
    with socket.create_connection(("127.0.0.1", port), timeout=HANG_SECONDS) as connection:
        connection.sendall(HEADERS + b"Transfer-Encoding: chunked\r\n\r\n")
        try:
            connection.sendall(chunks + b"0\r\n\r\n")
        except OSError:
            pass  # answered and closed before the rest was sent
        answer = _answer(connection)
    assert _status(answer) == 413, answer[:300]
    assert not error_shape_problems("application/json", answer.partition(b"\r\n\r\n")[2])
    assert _save(port, "after") == 200


@pytest.mark.slow  # a granian process
def test_the_rsgi_bridge_answers_others_while_bodies_trickle_in_and_times_the_slow_ones_out() -> None:
    port = _free_port()
    process, _ = _start([sys.executable, "-c", BRIDGE, str(port), "1.5"])
    try:
        slow = _trickle(port, 12)  # three times the threads
        try:
            started = time.perf_counter()
            assert _save(port, "meanwhile") == 200
            assert time.perf_counter() - started < HANG_SECONDS
            # the slow one finishes its body: it is answered like any other
            slow[0].sendall(b'late"}' + b" " * 85)
            assert _status(_answer(slow[0])) == 200
            # the others never do: each is answered 408 in the agent's shape once its time is up
            for connection in slow[1:]:
                answer = _answer(connection)
                assert _status(answer) == 408, answer[:300]
                assert not error_shape_problems("application/json", answer.partition(b"\r\n\r\n")[2])
        finally:
            for connection in slow:
                connection.close()
        assert _save(port, "after") == 200
    finally:
        _stop(process)


@pytest.mark.slow  # a sowebhook mock process
def test_a_trickled_body_that_completes_is_answered_by_sowebhook_mock(
    mock_process: tuple[subprocess.Popen[str], int],
) -> None:
    _, port = mock_process
    (connection,) = _trickle(port, 1)
    with connection:
        assert _save(port, "meanwhile") == 200  # one stalled body holds one thread of four
        connection.sendall(b'late"}' + b" " * 85)
        assert _status(_answer(connection)) == 200
