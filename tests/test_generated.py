"""Generated responses: valid by the contract's own validator (jsonschema), varied, and reproducible."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import load
from contracts.generated import generate

SCHEMAS = [
    "WebhookRecord",
    "NullableWebhookRecord",
    "WebhookList",
    "WebhookResult",
    "LastError",
    "AgentError",
    "WebhookPayload",
]


@pytest.mark.parametrize("name", SCHEMAS)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_every_generated_value_is_valid(name: str, seed: int) -> None:
    contract = load()
    value = generate(contract, {"$ref": f"#/components/schemas/{name}"}, random.Random(seed))
    assert [e.message for e in contract.validator(name).iter_errors(value)] == []


def test_the_shapes_a_parser_must_meet_all_occur() -> None:
    contract = load()
    values = [
        generate(contract, {"$ref": "#/components/schemas/NullableWebhookRecord"}, random.Random(n))
        for n in range(300)
    ]
    records = [v for v in values if isinstance(v, dict)]
    assert None in values
    assert any(r["RegisteredAssociate"] is None for r in records)
    assert any(isinstance(r["RegisteredAssociate"], dict) for r in records)
    assert any("ErrorsEmail" not in r for r in records)
    assert any(r["Registered"] == "0001-01-01T00:00:00" for r in records)


def test_the_same_seed_gives_the_same_value() -> None:
    contract = load()
    schema = {"$ref": "#/components/schemas/WebhookRecord"}
    assert generate(contract, schema, random.Random(7)) == generate(contract, schema, random.Random(7))
