"""Delivery fixture files: exact bytes kept, EventId replaced byte for byte, bad files refused in one line.

Oracles: the bytes the test itself put in (a round trip must give them back), a body the test
assembles around the EventId it replaces, and an HMAC computed here with the standard library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.delivery_fixture import FixtureError, SavedDelivery, load, load_many, save, with_event_id

OLD = "8337ae4a-1dd6-40fd-8dc7-a050664a0af7"
NEW = "4b5ce038-50f2-4796-bdb2-f96908cf31c2"
T0 = datetime(2026, 11, 29, 19, 0, tzinfo=timezone.utc)


def hmac_b64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=300) | st.text(max_size=100).map(str.encode),
    headers=st.lists(st.tuples(st.from_regex(r"X-[A-Za-z]{1,10}", fullmatch=True), header_text), max_size=5),
)
def test_a_saved_delivery_loads_as_the_exact_bytes_and_headers(
    tmp_path: Path, body: bytes, headers: list[tuple[str, str]]
) -> None:
    path = save(
        tmp_path,
        SavedDelivery(headers, body, T0, path="/hook", signature="valid", violations=["x"], status=200),
    )
    loaded = load(path)
    assert loaded.body == body
    assert loaded.headers == headers
    assert (loaded.received, loaded.path, loaded.signature, loaded.violations, loaded.status) == (
        T0,
        "/hook",
        "valid",
        ["x"],
        200,
    )
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["format"] == "sowebhook-delivery" and stored["version"] == 1
    assert stored["body"]["encoding"] in ("utf-8", "base64")


@given(
    before=st.text(max_size=40).map(json.dumps),
    spacing=st.sampled_from(["", " ", "\n  ", "\t"]),
    after=st.text(max_size=40).map(json.dumps),
)
def test_replacing_the_eventid_keeps_every_other_byte(before: str, spacing: str, after: str) -> None:
    head = '{"A":' + before + ',"EventId":' + spacing + '"'
    tail = '","Z":' + after + "}"
    body = (head + OLD + tail).encode()
    assert with_event_id(body, NEW) == (head + NEW + tail).encode()


@pytest.mark.parametrize(
    "body", [b'{"Event":"x"}', b'{"EventId":"a","FieldValues":{"EventId":"b"}}', b"\xff\xfe"]
)
def test_a_body_without_exactly_one_eventid_is_refused(body: bytes) -> None:
    with pytest.raises(FixtureError, match="EventId"):
        with_event_id(body, NEW)


def test_resigning_gives_a_fresh_eventid_in_body_and_header_and_a_valid_signature() -> None:
    body = json.dumps({"EventId": OLD, "Event": "contact.changed"}, indent=2).encode()
    headers = [
        ("X-Superoffice-Event", "contact.changed"),
        ("X-Superoffice-Eventid", OLD),
        ("X-Superoffice-Signature", "old"),
        ("X-Superoffice-Retry", "2"),
        ("Host", "tunnel.example"),
        ("Content-Length", str(len(body))),
    ]
    saved = SavedDelivery(headers, body)
    fresh_body, fresh = saved.resigned("s")
    new_id = json.loads(fresh_body)["EventId"]
    assert new_id != OLD and fresh["X-SuperOffice-EventId"] == new_id
    assert fresh_body == body.replace(OLD.encode(), new_id.encode())
    assert fresh["X-SuperOffice-Signature"] == hmac_b64("s", fresh_body)
    assert fresh["X-SuperOffice-Retry"] == "0"
    assert not {"Host", "Content-Length", "X-Superoffice-Signature", "X-Superoffice-Eventid"} & set(fresh)
    same_body, same = saved.resigned("s", same_event_id=True)
    assert same_body == body and same["X-Superoffice-Eventid"] == OLD and same["X-Superoffice-Retry"] == "2"
    unsigned = saved.resigned(None)[1]
    assert not any(k.lower() == "x-superoffice-signature" for k in unsigned)


def test_a_body_edited_after_it_was_signed_is_told_apart() -> None:
    body = b'{"EventId":"' + OLD.encode() + b'","PrimaryKey":18}'
    saved = SavedDelivery([("X-SuperOffice-Signature", hmac_b64("s", body))], body)
    assert saved.signed_by("s")
    saved.body = body.replace(b"18", b"19")
    assert not saved.signed_by("s")


def test_credentials_are_masked_in_the_file(tmp_path: Path) -> None:
    sent = [
        ("Authorization", "Bearer 8A:secret"),
        ("Cookie", "a=b"),
        ("SO-AppToken", "app-77"),
        ("x-xsrf-token", "xsrf-88"),
        ("Proxy-Authorization", "Basic cHJveHk="),
        ("X-A", "1"),
    ]
    text = save(tmp_path, SavedDelivery(sent, b"{}")).read_text(encoding="utf-8")
    for credential in ("8A:secret", "a=b", "app-77", "xsrf-88", "cHJveHk="):
        assert credential not in text
    assert '"X-A"' in text


def test_names_sort_by_the_time_received(tmp_path: Path) -> None:
    for minutes in (5, 1, 3):
        save(
            tmp_path,
            SavedDelivery([("X-SuperOffice-Event", f"e{minutes}.x")], b"{}", T0 + timedelta(minutes=minutes)),
        )
    assert [d.event for d in load_many(tmp_path)] == ["e1.x", "e3.x", "e5.x"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "not JSON"),
        (b'{"format": "other"}', "not a sowebhook-delivery file"),
        (b'{"format": "sowebhook-delivery", "version": 2}', "version 2"),
        (
            b'{"format": "sowebhook-delivery", "version": 1, "body": {"encoding": "rot13", "text": ""}, "headers": []}',
            "encoding",
        ),
        (b'{"format": "sowebhook-delivery", "version": 1}', "malformed"),
    ],
)
def test_bad_files_are_refused_in_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(FixtureError, match=message) as caught:
        load(path)
    assert "\n" not in str(caught.value) and "bad.json" in str(caught.value)


def test_missing_files_and_empty_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="cannot read"):
        load(tmp_path / "none.json")
    with pytest.raises(FixtureError, match="no \\*.json"):
        load_many(tmp_path)
