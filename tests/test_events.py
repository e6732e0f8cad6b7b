"""The documented events and the payloads ``contracts.events`` builds.

Oracles: the event reference pages in tests/superoffice_docs (their FieldValues lists and their
sample payloads, parsed here), the contract's ``webhooks`` entry validated by openapi-core (the
receiver's validator, not the builder), and an HMAC computed here with the standard library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

import pytest
from click.testing import CliRunner

from contracts import events
from contracts.cli import main
from contracts.receiver import delivery_violations
from contracts.spec import load
from docpages import DOCS, fences

REFERENCE = DOCS / "en/automation/webhook"


def page_fields(page: str) -> list[str]:
    """The bullets of a reference page's FieldValues section."""
    text = (REFERENCE / page).read_text(encoding="utf-8")
    section = re.search(r"^## [^\n]*FieldValues[^\n]*\n(?P<body>.*?)^## ", text, re.MULTILINE | re.DOTALL)
    assert section is not None, page
    return re.findall(r"^\* `([^`]+)`", section["body"], re.MULTILINE)


def page_samples() -> dict[str, dict[str, object]]:
    """Every sample payload of the reference pages that parses as JSON, by its Event."""
    samples: dict[str, dict[str, object]] = {}
    for page in sorted((REFERENCE / "reference").glob("*.md")):
        for _, block in fences(page.read_text(encoding="utf-8")):
            text = (
                block.split("\n\n", 1)[1] if block.startswith("POST ") else block
            )  # the body after the head
            try:
                sample = json.loads(text)
            except ValueError:
                continue  # one sample on contact-events.md lacks a comma
            samples.setdefault(str(sample["Event"]), sample)
    return samples


@pytest.mark.parametrize("entity", sorted(events.FIELD_VALUES))
def test_the_fieldvalues_table_is_the_reference_pages_list(entity: str) -> None:
    page, names = events.FIELD_VALUES[entity]
    assert list(names) == page_fields(page)


def test_the_delivery_headers_are_the_contracts() -> None:
    declared = {p["name"] for p in load().document["webhooks"]["webhookDelivery"]["post"]["parameters"]}
    assert {events.EVENT_HEADER, events.EVENT_ID_HEADER, events.RETRY_HEADER, events.TEST_HEADER} <= declared


def test_every_documented_event_builds_a_payload_the_contract_accepts() -> None:
    names = events.documented_events()
    assert "contact.created" in names and names[-1] == "test"
    for name in names:
        key = 66 if name.startswith("webhook.") else 7
        event = events.wire_event(name, key) if name.startswith("webhook.") else name
        payload = events.build_payload(name, primary_key=key)
        body = events.encode(payload)
        headers = events.delivery_headers(event, payload["EventId"], body, "s")
        assert delivery_violations(headers, body) == [], name
        assert (
            headers["X-SuperOffice-Signature"]
            == base64.b64encode(hmac.new(b"s", body, hashlib.sha256).digest()).decode()
        )


@pytest.mark.parametrize("event", sorted(page_samples()))
def test_a_built_payload_has_the_members_of_the_pages_sample(event: str) -> None:
    sample = page_samples()[event]
    built = events.build_payload(event, primary_key=int(str(sample["PrimaryKey"])))
    expected = set(sample) | {
        "EventId",
        "Changes",
    }  # the delete sample of reference/index.md omits both (F-211)
    if event == "sale.changed":  # the one changed sample with FieldValues; the others carry none (F-210)
        expected -= {"FieldValues"}
    assert set(built) == expected
    if "FieldValues" in expected:
        assert set(built["FieldValues"]) == set(sample["FieldValues"])  # type: ignore[arg-type]


def test_state_events_name_their_webhook_in_the_header_and_their_kind_in_the_body() -> None:
    assert events.wire_event("webhook.started", 66) == "webhook66.started"
    payload = events.build_payload("webhook66.errors")
    assert payload["Event"] == "webhook.errors" and payload["PrimaryKey"] == 66 and "Entity" not in payload
    assert events.event_info("webhook66.errors").state


def test_fields_primary_key_and_delete_values() -> None:
    created = events.build_payload(
        "contact.created", primary_key=9, fields={"name": "Acme", "business_idx": 3}
    )
    assert created["FieldValues"]["business_idx"] == 3 and created["FieldValues"]["name"] == "Acme"
    assert set(created["Changes"]) == set(created["FieldValues"])
    changed = events.build_payload("person.changed", primary_key=4, fields={"department": "x"})
    assert changed["FieldValues"] == {"department": "x"} and changed["Changes"] == ["department"]
    assert "FieldValues" not in events.build_payload("person.changed", primary_key=4)
    deleted = events.build_payload("sale.deleted", primary_key=5, fields={"contact_id": 2})
    assert deleted["Values"] == {"sale_id": 5, "contact_id": 2} and "FieldValues" not in deleted
    assert events.delivery_headers("test", "x", b"{}", None)[events.TEST_HEADER] == "true"


def test_a_name_that_is_no_event_is_refused() -> None:
    with pytest.raises(ValueError, match="not an event name"):
        events.event_info("contact")


def test_events_command_lists_every_documented_event() -> None:
    result = CliRunner().invoke(main, ["events"])
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.output.splitlines()}
    assert set(events.documented_events()) <= listed
    assert "userdef_id" in result.output and "Values: sale_id" in result.output
