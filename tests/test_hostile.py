"""Hostile request bodies against the mock: each is answered quickly, with a clear status in
SuperOffice's error shape, in bounded memory, and changes nothing it should not.

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
    XSI,
    error_shape_problems,
    hostile_app,
    nested_json,
    nested_xml,
    no_traceback,
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

    def json(self) -> Any:
        return json.loads(self.body)


def measured(app: Flask, body: bytes | None, content_type: str | None, *, path: str = SAVE, **kwargs: Any) -> Outcome:
    """One request through the test client: its answer, its time, tracemalloc's peak while it ran
    and whether the store (or anything else a request can change) differs afterwards."""
    client = app.test_client()
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {}), **kwargs.pop("headers", {})}
    before = snapshot(app)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        response = client.post(path, data=body, headers=headers, **kwargs)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Outcome(
        response.status_code, response.headers.get("Content-Type", ""), response.get_data(), seconds, peak, snapshot(app) != before
    )


def assert_refused(outcome: Outcome, status: int = 400, *, says: str = "") -> None:
    assert outcome.status == status, (outcome.status, outcome.body[:300])
    assert not error_shape_problems(outcome.content_type, outcome.body), outcome.body[:300]
    assert no_traceback(outcome.body)
    assert says in outcome.body.decode("utf-8", "replace"), outcome.body[:300]
    assert not outcome.changed, "a refused request changed the mock's state"
    assert outcome.seconds < HANG_SECONDS
    assert outcome.peak < PEAK_BYTES, f"{outcome.peak / 1e6:.1f} MB while answering"


def assert_read(outcome: Outcome) -> None:
    """A body whose semantics make it a deliberate 200: answered so, quickly, in bounded memory."""
    assert outcome.status == 200, (outcome.status, outcome.body[:300])
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
        '<!DOCTYPE w [<!ENTITY % p "<!ENTITY e \'x\'>"> %p;]><Webhook><Name>&e;</Name></Webhook>',
        '<!DOCTYPE w SYSTEM "http://127.0.0.1:{port}/w.dtd"><Webhook><Name>n</Name></Webhook>',
        '<?xml-stylesheet href="http://127.0.0.1:{port}/s.xsl"?><Webhook><Name>&amp;</Name><Nope/></Webhook>',
    ],
    ids=["file", "http", "parameter-external", "parameter-internal", "external-dtd", "stylesheet-pi"],
)
def test_external_and_parameter_entities_are_refused_and_never_fetched(app: Flask, listener: socket.socket, document: str) -> None:
    body = ('<?xml version="1.0"?>' + document.replace("{port}", str(listener.getsockname()[1]))).encode()
    outcome = measured(app, body, "application/xml")
    if "<Nope/>" in document:  # a processing instruction is no entity: read, <Nope/> ignored as the server ignores it (F-174)
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
    assert_refused(measured(app, b"[" * levels + b"]" * levels, "application/json"), says="more than 256 levels deep")
    assert_refused(measured(app, b'{"a":' * levels + b"1" + b"}" * levels, "text/json"), says="more than 256 levels deep")


@pytest.mark.parametrize("levels", [ASPNET_MAX_DEPTH + 1, 100_000])
def test_xml_nested_deeper_than_aspnet_max_depth_is_400_before_it_is_built(app: Flask, levels: int) -> None:
    body = nested_xml(levels) if levels < 1000 else b"<Webhook>" + b"<a>" * levels + b"</a>" * levels + b"</Webhook>"
    outcome = measured(app, body, "application/xml")
    assert_refused(outcome, says="more than 256 levels deep")
    assert outcome.peak < 3_000_000  # 100 000 elements built into a tree took 28 MB


def test_deep_json_in_a_form_field_is_400(app: Flask) -> None:
    for body in (b"Properties=" + b"%5B" * 100_000, b"Properties=" + b"[" * 300 + b"]" * 300):
        assert_refused(measured(app, body, "application/x-www-form-urlencoded"), says="more than 256 levels deep")


def test_a_form_body_of_escapes_is_read_in_bounded_memory(app: Flask) -> None:
    body = b"Name=" + b"%41" * ((LIMIT - 5) // 3)  # 349 525 escapes: parse_qsl took 80 MB
    outcome = measured(app, body, "application/x-www-form-urlencoded")
    assert_refused(outcome, says="too long")
    assert outcome.peak < PEAK_BYTES


# -- size -------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_by_content_length_is_413_unread(app: Flask) -> None:
    outcome = measured(app, b'{"Name":"' + b"a" * (2 * LIMIT) + b'"}', "application/json")
    assert_refused(outcome, 413, says=f"limit of {LIMIT} bytes")


def _chunked(app: Flask, body: bytes, **kwargs: Any) -> Outcome:
    """A body without Content-Length, its end marked by the server (chunked transfer encoding)."""
    return measured(app, None, "application/json", input_stream=io.BytesIO(body), environ_overrides={"wsgi.input_terminated": True}, **kwargs)


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
    outcome = measured(app, None, "application/json", input_stream=io.BytesIO(b'{"Name":"cut"}'), environ_overrides=environ)
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
            assert client.post(SAVE, data=body, headers={**AUTH, "Content-Type": "application/json"}).status_code == 400
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
    assert_refused(measured(app, b"<Webhook><Name>a\x00b</Name></Webhook>", "application/xml"), says="not well-formed")
    assert_refused(measured(app, b"\x00" * 64, "application/json"))
    assert_refused(measured(app, b"", None, path=AGENT + "GetWebhook?webhookId=%00"), says="webhookId")
    # escaped, it is a character like any other (Json.NET reads "\u0000"): a deliberate 200
    escaped = measured(app, b'{"Name":"a\\u0000b"}', "application/json")
    assert_read(escaped)
    assert escaped.json()["Name"] == "a\x00b"
    form = measured(app, b"Name=a%00b", "application/x-www-form-urlencoded")
    assert_read(form)
    assert form.json()["Name"] == "a\x00b"
    as_xml = measured(app, b"", None, path=AGENT + f"GetWebhook?webhookId={form.json()['WebhookId']}", headers={"Accept": "application/xml"})
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
def test_a_byte_order_mark_chooses_the_encoding_and_is_skipped(app: Flask, body: bytes, content_type: str) -> None:
    # .NET's StreamReader does so for the JSON formatter (F-110); the XML parser reads an UTF-8 BOM
    outcome = measured(app, body, content_type, headers={"Accept": "application/json"})
    assert_read(outcome)
    assert outcome.json()["Name"] == "bom"


def test_a_byte_order_mark_in_a_form_is_part_of_the_first_name(app: Flask) -> None:
    # "\ufeffName" is no property: ignored, as the server ignores an unknown member, and journalled (F-110, F-174)
    outcome = measured(app, b"\xef\xbb\xbfName=bom", "application/x-www-form-urlencoded", headers={"Accept": "application/json"})
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
    outcome = measured(app, b'{"Name":"first","Name":"last","Type":"crmscript","Headers":{"a":"1","a":"2"}}', "application/json")
    assert_read(outcome)
    assert outcome.json()["Name"] == "last" and outcome.json()["Headers"] == {"a": "2"}
    assert_refused(measured(app, b'{"WebhookId":"x","WebhookId":-1}', "application/json"), says="WebhookId")
    xml = measured(app, b"<Webhook><Name>first</Name><Name>last</Name></Webhook>", "application/xml", headers={"Accept": "application/json"})
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
        (f'<Webhook {XSI}><Properties><StringObjectKeyValuePair><Key>n</Key><Value xsi:type="xsd:double">1e400</Value></StringObjectKeyValuePair></Properties></Webhook>'.encode(), "application/xml"),
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
    outcome = measured(app, b'{"WebhookId":-0,"Type":"crmscript","Properties":{"tiny":1e-400,"minus":-0.0,"big":1e308}}', "application/json")
    assert_read(outcome)
    assert outcome.json()["WebhookId"] > 0
    assert outcome.json()["Properties"] == {"tiny": 0.0, "minus": -0.0, "big": 1e308}


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
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
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
    return _status(_exchange(port, HEADERS + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body, timeout))


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
    assert " ready at http://127.0.0.1:" in line, line + (process.stderr.read() if process.poll() is not None else "")
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
def test_others_are_answered_while_bodies_trickle_in_to_sowebhook_mock(mock_process: tuple[subprocess.Popen[str], int]) -> None:
    _, port = mock_process
    slow = _trickle(port, 6)  # more than the mock's threads
    try:
        for attempt in range(3):  # by the second, the stalled requests hold their threads
            assert _save(port, f"meanwhile {attempt}", timeout=2.0) == 200  # TimeoutError when starved
    finally:
        for connection in slow:
            connection.close()


@pytest.mark.slow  # a sowebhook mock process
def test_a_chunked_body_over_the_limit_is_413_from_sowebhook_mock(mock_process: tuple[subprocess.Popen[str], int]) -> None:
    _, port = mock_process
    # valid JSON up to the limit, then 8 bytes more: werkzeug cut it at the limit and it was read as a
    # whole body ("Expecting value" for other bodies over the limit: 400 where 413 is due)
    body = b'{"Name":"cut"}' + b" " * (LIMIT - 14) + b"and more"
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 65536]), body[i : i + 65536]) for i in range(0, len(body), 65536))
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
def test_a_trickled_body_that_completes_is_answered_by_sowebhook_mock(mock_process: tuple[subprocess.Popen[str], int]) -> None:
    _, port = mock_process
    (connection,) = _trickle(port, 1)
    with connection:
        assert _save(port, "meanwhile") == 200  # one stalled body holds one thread of four
        connection.sendall(b'late"}' + b" " * 85)
        assert _status(_answer(connection)) == 200
