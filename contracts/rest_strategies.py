"""Hypothesis strategies for the REST face (/api/v1/Webhook...), derived from the contract as
``contracts.strategies`` derives the agent's: valid webhook requests and valid PATCH documents
(the PATCH near-misses are ``contracts.rest_near_misses``'s).

    from_rest_webhook(contract=None, *, ids=..., methods=..., content_types=..., credentials=...)
                                           POST /api/v1/Webhook and PUT /api/v1/Webhook/{id} requests
    from_patch(current, contract=None, *, forms=..., fields=..., values=...)
                                           JSON Patch arrays and merge patches that apply to ``current``
    from_patch_request(webhook_id, current, contract=None, *, ...)   complete PATCH requests

A valid patch keeps the webhook valid: its values come from another webhook ``from_webhook`` draws.
By default it leaves alone what would make saving it a new registration (Type, TargetUrl: the
registration ping) and the pair a replacement links (ErrorsEmail and ErrorEmails: the server
derives one from the other, F-141); ``fields`` chooses otherwise.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import jsonpatch
from hypothesis import strategies as st

from contracts.check_registry import REST, client_fields
from contracts.credentials import Credentials
from contracts.exchange import WireRequest
from contracts.spec import Contract, Operation, load
from contracts.strategies import from_webhook
from contracts.wire import FORM_TYPE, XML_TYPES, WireFormats, without_xml_unrepresentable

__all__ = [
    "PATCH_FORMS",
    "from_patch",
    "from_patch_request",
    "from_rest_webhook",
    "patchable_fields",
]

PATCH_FORMS = ("json-patch", "merge-patch")
_OTHER_FORMS_MEDIA = {
    "json-patch": "application/merge-patch+json",
    "merge-patch": "application/json-patch+json",
}
_KEYS = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,11}", fullmatch=True)
_TEXTS = st.from_regex(r"[A-Za-z0-9 ._-]{0,16}", fullmatch=True)


@functools.cache
def _wire(contract: Contract) -> WireFormats:
    return WireFormats(contract)


def _fill(operation: Operation, **values: Any) -> str:
    """The operation's path with its path parameters filled in."""
    path = operation.path
    for parameter in operation.parameters:
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", str(values[parameter["name"]]))
    return path


def _request(
    operation: Operation,
    path: str,
    value: Any,
    content_type: str,
    credentials: Credentials,
    accept: str,
    contract: Contract,
) -> WireRequest:
    schema = operation.body_content[content_type].get("schema")
    if content_type in XML_TYPES:
        value = without_xml_unrepresentable(value)  # so the body says exactly the value
        body = _wire(contract).encode_xml(value, schema)
    elif content_type == FORM_TYPE:
        body = _wire(contract).encode_form(value, schema)
    else:
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    headers = {**credentials.headers(), "Content-Type": f"{content_type}; charset=utf-8", "Accept": accept}
    return WireRequest(operation.method, path, headers, body, value, content_type)


def _ids(contract: Contract, operation: Operation) -> st.SearchStrategy[int]:
    (parameter,) = [p for p in operation.parameters if p["in"] == "path"]
    schema = contract.resolve(parameter["schema"])
    return st.integers(max(1, schema.get("minimum", 1)), schema.get("maximum", 2**31 - 1))


def from_rest_webhook(
    contract: Contract | None = None,
    *,
    ids: int | st.SearchStrategy[int] | None = None,
    methods: Sequence[str] = ("POST", "PUT"),
    webhooks: st.SearchStrategy[dict[str, Any]] | None = None,
    content_types: Sequence[str] | None = None,
    credentials: Credentials = Credentials(),
    accept: Sequence[str] = ("application/json",),
) -> st.SearchStrategy[WireRequest]:
    """Complete POST /api/v1/Webhook and PUT /api/v1/Webhook/{id} requests: credentials, a content
    type the contract declares for the operation and the webhook in it. PUT's id is drawn from
    ``ids`` (by default any id the contract allows, which a server answers 404 unless it holds it:
    pass the ids you created)."""
    contract = contract or load()
    chosen = [contract.operation(op_id) for op_id in (REST.post, REST.put)]
    chosen = [op for op in chosen if op.method in {m.upper() for m in methods}]
    if not chosen:
        raise ValueError(f"methods must name POST or PUT, not {list(methods)}")
    declared = set.intersection(*(set(op.media_types) for op in chosen))
    kinds = (
        list(content_types)
        if content_types is not None
        else [t for t in chosen[0].media_types if t in declared]
    )
    if not kinds or set(kinds) - declared:
        raise ValueError(
            f"content types not in the contract: {sorted(set(kinds) - declared)}"
            if kinds
            else "no content types"
        )
    put_ids = (
        st.just(ids)
        if isinstance(ids, int)
        else ids
        if ids is not None
        else _ids(contract, contract.operation(REST.put))
    )

    def build(
        operation: Operation, value: dict[str, Any], kind: str, answer: str, webhook_id: int
    ) -> WireRequest:
        path = _fill(operation, id=webhook_id) if operation.operation_id == REST.put else operation.path
        return _request(operation, path, value, kind, credentials, answer, contract)

    return st.builds(
        build,
        st.sampled_from(chosen),
        webhooks if webhooks is not None else from_webhook(contract),
        st.sampled_from(kinds),
        st.sampled_from(list(accept)),
        put_ids,
    )


# -- valid patches ---------------------------------------------------------------------------------


def _properties(contract: Contract) -> dict[str, Any]:
    return {
        name: contract.resolve(schema)
        for name, schema in contract.document["components"]["schemas"]["Webhook"]["properties"].items()
    }


def _types(schema: Mapping[str, Any]) -> set[str]:
    kinds = schema.get("type", [])
    return set(kinds) if isinstance(kinds, list) else {kinds}


def patchable_fields(contract: Contract | None = None) -> list[str]:
    """The properties ``from_patch`` touches by default: the client's, but for Type and TargetUrl
    (a change is a new registration) and the pair a replacement links (F-141)."""
    contract = contract or load()
    properties = _properties(contract)
    linked = {name for name, s in properties.items() if "x-replaced-by" in s}
    linked |= {s["x-replaced-by"]["property"] for s in properties.values() if "x-replaced-by" in s}
    return [name for name in client_fields(contract) if name not in linked | {"Type", "TargetUrl"}]


def _new_value(schema: Mapping[str, Any], other: Mapping[str, Any], name: str, current: Any) -> Any:
    """``other``'s value of the property as a client sends it (a flags enum by its name, null being
    its flag numbered 0); the current value when ``other`` has none the property allows."""
    value = copy.deepcopy(other.get(name))
    flags = schema.get("x-flags")
    if value is None and flags:
        return next(flag for flag, number in flags.items() if number == 0)
    if value is None and "null" not in _types(schema):
        return copy.deepcopy(current)
    return value


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@st.composite
def _spelt(draw: st.DrawFn, path: str) -> str:
    """``path`` with its property named in another casing, and with or without its leading slash."""
    first, *rest = path[1:].split("/")
    cased = draw(st.sampled_from([first, first.lower(), first.upper(), first.swapcase()]))
    return draw(st.sampled_from(["/", ""])) + "/".join([cased, *rest])


@st.composite
def _operation(
    draw: st.DrawFn, doc: dict[str, Any], name: str, schema: Mapping[str, Any], other: dict[str, Any]
) -> dict[str, Any]:
    """One operation on property ``name`` of ``doc`` that leaves the webhook valid (paths canonical)."""
    current: Any = doc.get(name)
    at, kinds = "/" + name, _types(schema)
    options = ["replace", "add", "test"] + (
        ["remove"] if "null" in kinds and not schema.get("x-flags") else []
    )
    if isinstance(current, list) and isinstance(other.get(name), list):
        fresh = [item for item in other[name] if item not in current]
        options += ["append", "insert"] * bool(fresh) + ["drop-item"] * bool(current)
    if isinstance(current, dict) and "object" in kinds:
        options += ["put-member"] + ["drop-member"] * bool(current)
    kind = draw(st.sampled_from(options))
    if kind in ("replace", "add"):
        return {"op": kind, "path": at, "value": _new_value(schema, other, name, current)}
    if kind == "test":
        return {"op": "test", "path": at, "value": copy.deepcopy(current)}
    if kind == "remove":
        return {"op": "remove", "path": at}
    if kind in ("append", "insert"):
        index = "-" if kind == "append" else str(draw(st.integers(0, len(current))))
        return {"op": "add", "path": f"{at}/{index}", "value": draw(st.sampled_from(fresh))}
    if kind == "drop-item":
        return {"op": "remove", "path": f"{at}/{draw(st.integers(0, len(current) - 1))}"}
    if kind == "put-member":
        member = schema.get("additionalProperties")
        values = (
            _TEXTS
            if isinstance(member, dict) and _types(member) == {"string"}
            else st.one_of(_TEXTS, st.integers(-9, 9), st.booleans())
        )
        return {"op": "add", "path": f"{at}/{_escape(draw(_KEYS))}", "value": draw(values)}
    return {"op": "remove", "path": f"{at}/{_escape(draw(st.sampled_from(sorted(current))))}"}


def _applied(doc: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    """``doc`` after ``op`` as a server applies it: a whole property removed is null (F-203)."""
    if op["op"] == "test":
        return doc
    if op["path"].count("/") == 1:
        return {**doc, op["path"][1:]: op.get("value")}
    patched: dict[str, Any] = jsonpatch.apply_patch(doc, [op])
    return patched


@st.composite
def _json_patch(
    draw: st.DrawFn,
    current: dict[str, Any],
    properties: dict[str, Any],
    fields: list[str],
    values: st.SearchStrategy[dict[str, Any]],
    most: int,
) -> list[dict[str, Any]]:
    doc, ops, other = copy.deepcopy(current), [], draw(values)
    for _ in range(draw(st.integers(1, most))):
        name = draw(st.sampled_from(fields))
        op = draw(_operation(doc, name, properties[name], other))
        doc = _applied(doc, op)
        ops.append({**op, "path": draw(_spelt(op["path"]))})
    return ops


@st.composite
def _merge_patch(
    draw: st.DrawFn,
    current: dict[str, Any],
    properties: dict[str, Any],
    fields: list[str],
    values: st.SearchStrategy[dict[str, Any]],
    most: int,
) -> dict[str, Any]:
    other, patch = draw(values), {}  # type: dict[str, Any], dict[str, Any]
    for name in draw(st.lists(st.sampled_from(fields), min_size=1, max_size=most, unique=True)):
        schema, now = properties[name], current.get(name)  # type: Mapping[str, Any], Any
        options = ["value"] + ["null"] * ("null" in _types(schema) and not schema.get("x-flags"))
        options += ["merge"] * (isinstance(now, dict) and bool(now))
        kind = draw(st.sampled_from(options))
        if kind == "merge":
            gone = draw(st.lists(st.sampled_from(sorted(now)), max_size=2, unique=True))
            added = draw(st.dictionaries(_new_keys(set(now)), _TEXTS, max_size=2))
            value: Any = {**dict.fromkeys(gone), **added}
        else:
            value = None if kind == "null" else _new_value(schema, other, name, now)
        patch[draw(st.sampled_from([name, name.lower(), name.upper()]))] = value
    return patch


def _new_keys(taken: set[str]) -> st.SearchStrategy[str]:
    return _KEYS.filter(lambda key: key not in taken)


def from_patch(
    current: Mapping[str, Any],
    contract: Contract | None = None,
    *,
    forms: Sequence[str] = PATCH_FORMS,
    fields: Sequence[str] | None = None,
    values: st.SearchStrategy[dict[str, Any]] | None = None,
    max_operations: int = 5,
) -> st.SearchStrategy[Any]:
    """PATCH documents that apply to the webhook ``current`` (as the server holds it) and leave it
    valid: JSON Patch arrays (add, replace, remove and test, of properties and below them; paths
    in varied casing, with and without the leading slash) and merge patches (members in varied
    casing, nulls, objects merged member by member). ``fields``: the properties they may touch;
    ``values``: the webhooks new values are taken from (``from_webhook`` by default)."""
    contract = contract or load()
    properties = _properties(contract)
    chosen = list(fields) if fields is not None else patchable_fields(contract)
    unknown = set(chosen) - set(client_fields(contract))
    if not chosen or unknown:
        raise ValueError(
            f"fields must be client fields of the Webhook, not {sorted(unknown)}"
            if unknown
            else "no fields to patch"
        )
    if not set(forms) <= set(PATCH_FORMS) or not forms:
        raise ValueError(f"forms are some of {PATCH_FORMS}, not {list(forms)}")
    kind = (current.get("Type") or "webhook").casefold()
    source = (
        values
        if values is not None
        else from_webhook(contract, webhook_type=kind if kind in ("webhook", "crmscript") else "webhook")
    )
    start = copy.deepcopy(dict(current))
    options: list[st.SearchStrategy[Any]] = []
    if "json-patch" in forms:
        options.append(_json_patch(start, properties, chosen, source, max_operations))
    if "merge-patch" in forms:
        options.append(_merge_patch(start, properties, chosen, source, max_operations))
    return st.one_of(options)


def _media_types(contract: Contract, content_types: Sequence[str] | None) -> list[str]:
    declared = list(contract.operation(REST.patch).media_types)
    chosen = list(content_types) if content_types is not None else declared
    if not chosen or set(chosen) - set(declared):
        raise ValueError(f"PATCH's content types are {declared}, not {chosen}")
    return chosen


def _patch_request(
    contract: Contract,
    webhook_id: int,
    changes: Any,
    content_type: str,
    credentials: Credentials,
    accept: str,
) -> WireRequest:
    operation = contract.operation(REST.patch)
    return _request(
        operation, _fill(operation, id=webhook_id), changes, content_type, credentials, accept, contract
    )


def from_patch_request(
    webhook_id: int,
    current: Mapping[str, Any],
    contract: Contract | None = None,
    *,
    patches: st.SearchStrategy[Any] | None = None,
    content_types: Sequence[str] | None = None,
    credentials: Credentials = Credentials(),
    accept: Sequence[str] = ("application/json",),
) -> st.SearchStrategy[WireRequest]:
    """Complete PATCH requests of the webhook ``webhook_id`` (holding ``current``): a document of
    ``from_patch`` in a content type the contract declares for it (not the other form's own)."""
    contract = contract or load()
    kinds = _media_types(contract, content_types)

    @st.composite
    def build(draw: st.DrawFn) -> WireRequest:
        changes = draw(patches if patches is not None else from_patch(current, contract))
        form = "json-patch" if isinstance(changes, list) else "merge-patch"
        fitting = [kind for kind in kinds if kind != _OTHER_FORMS_MEDIA[form]] or kinds
        return _patch_request(
            contract,
            webhook_id,
            changes,
            draw(st.sampled_from(fitting)),
            credentials,
            draw(st.sampled_from(list(accept))),
        )

    return build()


# -- near-misses -----------------------------------------------------------------------------------
