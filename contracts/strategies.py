"""Hypothesis strategies derived from the contract: valid webhooks, complete SaveWebhook requests,
and near-misses that break exactly one documented rule, each labelled with that rule.

Values come from schemathesis' generator run on the contract's own schemas, so every field, type,
enum and length limit is the contract's; the rules JSON Schema cannot express (the operation's
``x-rules``: HTTPS TargetUrl, ``entity.event`` names, 4000 characters of events, known Types) and
the documented event names (``x-documented-events``) are read from the contract too.

    from_webhook(contract=None, *, webhook_type=..., target_url=...)      valid webhooks
    from_response(operation_id, contract=None, *, status=..., media_type=...) response bodies
    from_save_request(contract=None, *, content_types=..., credentials=...)  wire requests
    from_invalid_save_request(contract=None, *, credentials=...)           labelled near-misses

The REST face's (POST and PUT requests, PATCH documents and their near-misses) are
``contracts.rest_strategies``'.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from contracts.check_registry import rule_holds
from contracts.credentials import Credentials
from contracts.exchange import WireRequest
from contracts.spec import Contract, load
from contracts.wire import FORM_TYPE, XML_TYPES, WireFormats, without_xml_unrepresentable

__all__ = [
    "Credentials",
    "InvalidRequest",
    "WireRequest",
    "from_invalid_save_request",
    "from_response",
    "from_save_request",
    "from_webhook",
    "near_miss_rules",
    "rule_holds",
]

REQUEST_TYPES = (
    "application/json",
    "text/json",
    "application/xml",
    "text/xml",
    FORM_TYPE,
    "application/json-patch+json",
    "application/merge-patch+json",
)


@dataclass(frozen=True)
class InvalidRequest:
    """A near-miss: a request that breaks exactly ``rule`` (and says so in ``label``)."""

    request: WireRequest
    rule: str
    field: str
    label: str
    kind: str  # "schema" (JSON Schema rejects it), "documented" (a documented rule rejects it), or
    # "patched" (a PATCH whose result breaks the Webhook's schema: contracts.rest_strategies)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


@functools.cache
def _schemathesis_schema(contract: Contract) -> Any:
    import schemathesis

    return schemathesis.openapi.from_dict(contract.document)


def _webhook_schema(contract: Contract) -> dict[str, Any]:
    schema: dict[str, Any] = contract.document["components"]["schemas"]["Webhook"]
    return schema


def _rules(contract: Contract) -> list[dict[str, Any]]:
    return contract.operation("SaveWebhook").rules


def _documented_events(contract: Contract) -> list[str]:
    return list(_webhook_schema(contract)["properties"]["Events"]["x-documented-events"]["names"])


def _documented_types(contract: Contract) -> list[str]:
    return list(_webhook_schema(contract)["properties"]["Type"]["x-documented-values"])


def _contract_values(contract: Contract) -> st.SearchStrategy[dict[str, Any]]:
    import schemathesis

    save = contract.operation("SaveWebhook")
    operation = _schemathesis_schema(contract)[save.path][save.method]
    cases = operation.as_strategy(
        generation_mode=schemathesis.GenerationMode.POSITIVE, media_type="application/json"
    )
    bodies: st.SearchStrategy[dict[str, Any]] = cases.map(lambda case: case.body).filter(
        lambda body: isinstance(body, dict)
    )
    return bodies


def _https_urls() -> st.SearchStrategy[str]:
    hosts = st.sampled_from(["hooks.example.com", "example.org", "my-app.example.net"])
    paths = st.lists(st.from_regex(r"[a-z0-9\-]{1,12}", fullmatch=True), max_size=3).map("/".join)
    return st.builds(lambda h, p: f"https://{h}/{p}", hosts, paths)


def from_webhook(
    contract: Contract | None = None,
    *,
    webhook_type: str | None = "webhook",
    target_url: str | st.SearchStrategy[str] | None = None,
    documented_rules: bool = True,
) -> st.SearchStrategy[dict[str, Any]]:
    """Webhooks a client may send to SaveWebhook (WebhookId 0; no server-set fields).

    With ``documented_rules`` (the default) they also keep every rule of the operation's
    ``x-rules``: documented event names, an HTTPS TargetUrl for ``webhook`` types, a known Type.
    ``webhook_type=None`` draws the Type from the documented values."""
    contract = contract or load()
    properties = _webhook_schema(contract)["properties"]
    server_set = {name for name, schema in properties.items() if schema.get("readOnly")}
    events = _documented_events(contract)
    types = _documented_types(contract)
    if webhook_type is not None and webhook_type not in types:
        raise ValueError(
            f"webhook_type must be one of {types} (x-documented-values of the contract), not {webhook_type!r}"
        )
    urls = st.just(target_url) if isinstance(target_url, str) else (target_url or _https_urls())

    def shaped(
        value: dict[str, Any], spare: dict[str, Any], kind: str, url: str, names: list[str]
    ) -> dict[str, Any]:
        # a field the first body leaves out or null, the second may set: a generator leaves most
        # optional fields out, and a server's defect in a field no example sets goes unseen
        value = {**value, **{k: v for k, v in spare.items() if value.get(k) is None and v is not None}}
        webhook = {k: v for k, v in value.items() if k not in server_set}
        webhook["WebhookId"] = 0
        if documented_rules:
            webhook["Type"] = kind
            webhook["Events"] = names
            webhook["TargetUrl"] = url if kind == "webhook" else str(abs(hash(url)) % 1000)
        return webhook

    return st.builds(
        shaped,
        _contract_values(contract),
        _contract_values(contract),
        st.just(webhook_type) if webhook_type else st.sampled_from(types),
        urls,
        st.lists(st.sampled_from(events), min_size=1, max_size=5, unique=True),
    )


def _encode(contract: Contract, content_type: str, value: Any) -> bytes:
    schema = {"$ref": "#/components/schemas/Webhook"}
    wire = _wire(contract)
    if content_type in XML_TYPES:
        return wire.encode_xml(value, schema)
    if content_type == FORM_TYPE:
        return wire.encode_form(value, schema)
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


@functools.cache
def _wire(contract: Contract) -> WireFormats:
    return WireFormats(contract)


def _request(
    contract: Contract, value: Any, content_type: str, credentials: Credentials, accept: str
) -> WireRequest:
    if content_type in XML_TYPES:
        value = without_xml_unrepresentable(value)  # so the body says exactly the value
    headers = {**credentials.headers(), "Content-Type": f"{content_type}; charset=utf-8", "Accept": accept}
    save = contract.operation("SaveWebhook")
    return WireRequest(
        save.method, save.path, headers, _encode(contract, content_type, value), value, content_type
    )


def from_save_request(
    contract: Contract | None = None,
    *,
    webhooks: st.SearchStrategy[dict[str, Any]] | None = None,
    content_types: Sequence[str] = REQUEST_TYPES,
    credentials: Credentials = Credentials(),
    accept: Sequence[str] = ("application/json",),
) -> st.SearchStrategy[WireRequest]:
    """Complete SaveWebhook requests: credentials, a documented content type and the body in it."""
    contract = contract or load()
    declared = set(contract.operation("SaveWebhook").media_types)
    unknown = set(content_types) - declared
    if unknown or not content_types:
        raise ValueError(
            f"content types not in the contract: {sorted(unknown)}" if unknown else "no content types"
        )
    return st.builds(
        lambda value, kind, answer: _request(contract, value, kind, credentials, answer),
        webhooks if webhooks is not None else from_webhook(contract),
        st.sampled_from(list(content_types)),
        st.sampled_from(list(accept)),
    )


def _schema_breakers(contract: Contract) -> list[tuple[str, str, Any, str]]:
    """``(rule, field, bad value, label)`` for every schema constraint of the Webhook's fields."""
    breakers = []
    properties = _webhook_schema(contract)["properties"]
    for name, schema in properties.items():
        if schema.get("readOnly"):
            continue
        node = contract.resolve(schema)
        if "maxLength" in node:
            size = node["maxLength"] + 1
            breakers.append(
                (f"{name}.maxLength", name, "x" * size, f"the server accepted a {name} of {size} characters")
            )
        if "enum" in node:
            breakers.append(
                (f"{name}.enum", name, "NotAState", f"the server accepted a {name} outside {node['enum']}")
            )
        kinds = node.get("type")
        kinds = set(kinds) if isinstance(kinds, list) else {kinds}
        if "integer" in kinds:
            breakers.append(
                (f"{name}.type", name, "419", f'the server accepted a {name} sent as the string "419"')
            )
        if "minimum" in node:
            breakers.append(
                (
                    f"{name}.minimum",
                    name,
                    node["minimum"] - 1,
                    f"the server accepted a {name} of {node['minimum'] - 1}",
                )
            )
        if "array" in kinds:
            breakers.append(
                (
                    f"{name}.type",
                    name,
                    "contact.created",
                    f"the server accepted {name} as a string, not a list",
                )
            )
        if "object" in kinds and "additionalProperties" in node and node["additionalProperties"] is not True:
            breakers.append(
                (
                    f"{name}.type",
                    name,
                    ["not", "an", "object"],
                    f"the server accepted {name} as a list, not an object",
                )
            )
    if _webhook_schema(contract).get("additionalProperties") is False:
        breakers.append(
            ("additionalProperties", "WebHookId", 1, "the server accepted a misspelt property WebHookId")
        )
    return breakers


def _documented_breakers(contract: Contract) -> list[tuple[str, str, Any, str]]:
    breakers = []
    for rule in _rules(contract):
        rid, name = rule["id"], rule["field"]
        if rid == "https-target":
            bad: Any = "http://hooks.example.com/plain-http"
        elif rid == "event-name-form":
            bad = ["contact.created", "contactcreated"]
        elif rid == "events-length":
            bad = ["contact.changed"] * 270  # 270 x 15 characters + commas > 4000
        elif rid == "known-type":
            bad = "webhok"
        else:  # a rule this version does not know how to break
            continue
        breakers.append(
            (rid, name, bad, f"the server accepted a webhook that breaks '{rule['rule']}' ({name})")
        )
    return breakers


def from_response(
    operation_id: str,
    contract: Contract | None = None,
    *,
    status: int | None = None,
    media_type: str = "application/json",
) -> st.SearchStrategy[Any]:
    """Response bodies the contract allows for an operation (its success status by default)."""
    import random

    from contracts.generated import generate

    contract = contract or load()
    operation = contract.operation(operation_id)
    code = str(status) if status is not None else str(operation.success_status)
    if code not in operation.responses:
        raise ValueError(f"{operation_id} declares no status {code}")
    schema = operation.response_schema(code, media_type)
    if schema is None:
        raise ValueError(f"{operation_id} {code} has no {media_type} body in the contract")
    return st.randoms(use_true_random=False).map(
        lambda rng: generate(contract, schema, random.Random(rng.getrandbits(64)))
    )


def near_miss_rules(contract: Contract | None = None) -> list[str]:
    """The rules ``from_invalid_save_request`` can break: one per schema constraint and x-rule."""
    contract = contract or load()
    return [b[0] for b in _schema_breakers(contract) + _documented_breakers(contract)]


def from_invalid_save_request(
    contract: Contract | None = None,
    *,
    credentials: Credentials = Credentials(),
    content_types: Sequence[str] = ("application/json",),
    kinds: Sequence[str] = ("schema", "documented"),
) -> st.SearchStrategy[InvalidRequest]:
    """SaveWebhook requests that break exactly one rule: a schema constraint of a field, or a
    documented rule of ``x-rules``; ``label`` says which, as a failure message would."""
    contract = contract or load()
    options = []
    if "schema" in kinds:
        options += [("schema", *b) for b in _schema_breakers(contract)]
    if "documented" in kinds:
        options += [("documented", *b) for b in _documented_breakers(contract)]
    if not options:
        raise ValueError("no kinds of near-miss selected")

    def broken(
        base: dict[str, Any], option: tuple[str, str, str, Any, str], content_type: str
    ) -> InvalidRequest:
        kind, rule, name, bad, label = option
        value = dict(base)
        if rule == "https-target" or rule == "known-type":
            value["Type"] = "webhook" if rule == "https-target" else value.get("Type")
        value[name] = bad
        return InvalidRequest(
            _request(contract, value, content_type, credentials, "application/json"), rule, name, label, kind
        )

    return st.builds(
        broken, from_webhook(contract), st.sampled_from(options), st.sampled_from(list(content_types))
    )
