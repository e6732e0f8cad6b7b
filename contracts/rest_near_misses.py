"""PATCH near-misses for the REST face: PATCH requests that break exactly one rule of
v1Webhook_PatchWebhook.md, each labelled with the rule and the field a server must name
(docs/fidelity.md F-203); the valid ones are ``contracts.rest_strategies``'s.

    from_invalid_patch(webhook_id, contract=None, *, rules=..., forms=..., ...)   labelled near-misses
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from contracts.check_registry import REST, client_fields
from contracts.credentials import Credentials
from contracts.rest_strategies import (
    _KEYS,
    _TEXTS,
    PATCH_FORMS,
    _media_types,
    _patch_request,
    _properties,
    _spelt,
    _types,
)
from contracts.spec import Contract, load
from contracts.strategies import InvalidRequest

__all__ = ["PATCH_RULES", "from_invalid_patch"]

PATCH_RULES = ("op-supported", "path-property", "value-required", "document-shape", "value-type")


def _wrong_value(schema: Mapping[str, Any]) -> Any:
    """A value of a JSON type the property's schema does not allow (never one binding converts)."""
    kinds = _types(schema)
    if "array" in kinds:
        return "not a list"
    if "object" in kinds:
        return ["not", "an", "object"]
    return {"not": "a scalar"}


def _plain_strings(contract: Contract) -> list[str]:
    """Client fields any short text keeps valid: strings without an enum, pattern or rule."""
    save = contract.operation("SaveWebhook")
    ruled = {rule["field"] for rule in save.rules} | {"Type", "TargetUrl"}
    properties = _properties(contract)
    return [
        name
        for name in client_fields(contract)
        if _types(properties[name]) <= {"string", "null"}
        and name not in ruled
        and not {"enum", "pattern", "x-flags", "x-replaced-by"} & set(properties[name])
    ]


@st.composite
def _near_miss(draw: st.DrawFn, contract: Contract, rule: str, form: str) -> tuple[Any, str, str, str]:
    """``(document, field, label, kind)`` of a patch of ``form`` that breaks exactly ``rule``."""
    body = contract.operation(REST.patch).body_name
    entity = contract.operation("SaveWebhook").body_name
    properties = _properties(contract)
    names = client_fields(contract)
    if rule == "document-shape":
        scalar = draw(st.one_of(_TEXTS, st.integers(-9, 9), st.booleans(), st.none()))
        return (
            scalar,
            body,
            f"the server accepted a PATCH body {scalar!r}, neither an array nor an object",
            "schema",
        )
    if form == "merge-patch":
        if rule == "path-property":
            unknown = draw(_KEYS.filter(lambda k: k.casefold() not in {n.casefold() for n in properties}))
            return (
                {unknown: 1},
                f"{body}.{unknown}",
                f"the server accepted a merge patch of {unknown!r}, no property",
                "documented",
            )
        name = draw(st.sampled_from(names))
        field = f"{entity}.{name}"
        return (
            {name: _wrong_value(properties[name])},
            field,
            f"the server accepted a merge patch making {name} of the wrong type ({field})",
            "patched",
        )
    prefix = [
        {"op": "replace", "path": draw(_spelt("/" + name)), "value": draw(_TEXTS)}
        for name in draw(st.lists(st.sampled_from(_plain_strings(contract)), max_size=2))
    ]
    at = f"{body}.{len(prefix)}"
    name = draw(st.sampled_from(names))
    if rule == "op-supported":
        refused = contract.document["components"]["schemas"]["PatchOperation"]["properties"]["op"][
            "x-refused"
        ]
        kind = draw(st.sampled_from(list(refused)))
        broken: dict[str, Any] = {
            "op": kind,
            "from": draw(_spelt("/" + name)),
            "path": draw(_spelt("/" + draw(st.sampled_from(names)))),
        }
        field, label, what = (
            f"{at}.op",
            f"the server accepted a {kind!r} operation, which the page does not support",
            "schema",
        )
    elif rule == "path-property":
        unknown = draw(_KEYS.filter(lambda k: k.casefold() not in {n.casefold() for n in properties}))
        broken = {
            "op": draw(st.sampled_from(["add", "replace", "remove", "test"])),
            "path": draw(_spelt("/" + unknown)),
            "value": 1,
        }
        field, label, what = (
            f"{at}.path",
            f"the server accepted a path to {unknown!r}, no property of the Webhook",
            "documented",
        )
    elif rule == "value-required":
        broken = {"op": draw(st.sampled_from(["add", "replace", "test"])), "path": draw(_spelt("/" + name))}
        field, label, what = (
            f"{at}.value",
            f"the server accepted a {broken['op']} without a value",
            "documented",
        )
    else:  # value-type
        broken = {
            "op": draw(st.sampled_from(["add", "replace"])),
            "path": draw(_spelt("/" + name)),
            "value": _wrong_value(properties[name]),
        }
        field, label, what = (
            f"{entity}.{name}",
            f"the server accepted a patch making {name} of the wrong type",
            "patched",
        )
    return [*prefix, broken], field, f"{label} ({field})", what


def from_invalid_patch(
    webhook_id: int | st.SearchStrategy[int],
    contract: Contract | None = None,
    *,
    rules: Sequence[str] = PATCH_RULES,
    forms: Sequence[str] = PATCH_FORMS,
    credentials: Credentials = Credentials(),
    content_types: Sequence[str] = ("application/json",),
) -> st.SearchStrategy[InvalidRequest]:
    """PATCH requests of ``webhook_id`` that break exactly one rule of v1Webhook_PatchWebhook.md
    (F-203), whatever the webhook holds, each ``InvalidRequest`` labelled with the rule, the field a
    server must name (``changes.1.op``, ``changes.Nope``, ``entity.Name``) and its kind: ``schema``
    (the contract's WebhookPatch refuses it), ``documented`` (the page's rules) or ``patched`` (the
    patched webhook breaks the Webhook's schema). ``extra["form"]`` says which form it is (json-patch,
    merge-patch, or neither: a body that is no patch document at all)."""
    contract = contract or load()
    unknown = set(rules) - set(PATCH_RULES)
    if unknown or not rules:
        raise ValueError(f"rules are some of {PATCH_RULES}, not {sorted(unknown)}" if unknown else "no rules")
    kinds = _media_types(contract, content_types)
    merge_rules = {"path-property", "value-type"}  # the rules a merge patch can break (no op, no value)
    options = [(rule, "neither") for rule in rules if rule == "document-shape"]  # a scalar is neither form
    options += [
        (rule, form)
        for rule in rules
        if rule != "document-shape"
        for form in forms
        if form == "json-patch" or rule in merge_rules
    ]
    if not options:
        raise ValueError(f"no near-miss of {list(rules)} in the forms {list(forms)}")
    ids = st.just(webhook_id) if isinstance(webhook_id, int) else webhook_id

    @st.composite
    def build(draw: st.DrawFn) -> InvalidRequest:
        rule, form = draw(st.sampled_from(options))
        document, field, label, kind = draw(_near_miss(contract, rule, form))
        request = _patch_request(
            contract, draw(ids), document, draw(st.sampled_from(kinds)), credentials, "application/json"
        )
        return InvalidRequest(request, rule, field, label, kind, {"form": form})

    return build()
