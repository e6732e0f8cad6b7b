"""What the tenant guard (``contracts.tenant_guard``) reads from the contract, and from a case.

Everything the guard rewrites is found in the document, not in a list of names:

- a webhook id is a value the contract types as ``Int32Id`` (a ``$ref`` to it, through
  ``allOf``/``anyOf``/``oneOf``): query and path parameters (``WebhookId``, ``id``, ``webhookId``)
  and body properties;
- a webhook the run sends is a body whose schema has every property SaveWebhook's ``x-rules``
  judge (TargetUrl, Type, Events): the agent's Webhook and the REST WebhookBody (which
  ``allOf``-wraps WebhookWithLinks) alike;
- an operation that saves a webhook is SaveWebhook or one that carries its rules
  (``x-rules-of: SaveWebhook``: POST, PUT and PATCH of /api/v1/Webhook); one whose body is not
  a webhook patches one (PATCH's WebhookPatch: a JSON Patch array or a merge patch object);
- an operation that deletes is DeleteWebhook or an HTTP DELETE;
- SignalEvent's event is a body property or a path parameter named ``EventName`` in any casing.

A case is read through the attributes schemathesis' ``Case`` has (operation, method, path,
path_parameters, query, body, media_type); nothing here imports schemathesis.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from contracts.spec import Operation, load
from contracts.wire import WireFormats

__all__ = [
    "EVENT_FIELD",
    "GUARDED_TYPE",
    "ID_NAMES",
    "NAME_FIELD",
    "NAME_LIMIT",
    "SAVED_SCHEMA",
    "TARGET_FIELD",
    "TYPE_FIELD",
    "body_schema",
    "could_name_an_id",
    "deletes",
    "header",
    "id_parameters",
    "is_id",
    "is_patch",
    "is_webhook",
    "keeps_route",
    "operation_id",
    "operation_of",
    "patch_tokens",
    "path_text",
    "ranges",
    "rules_of",
    "saves",
    "sent_id",
    "variants",
]

_contract = load()
_wire = WireFormats(_contract)

_SAVE = "SaveWebhook"  # the operation whose rules say what a saved webhook is
_DELETE = "DeleteWebhook"  # the agent's delete (a POST); the REST one is an HTTP DELETE
_ID_SCHEMA = "#/components/schemas/Int32Id"


def rules_of(operation: Operation) -> list[dict[str, Any]]:
    """The operation's ``x-rules``, or those of the operation its ``x-rules-of`` names."""
    own = operation.rules
    if own:
        return own
    ruled_by = operation.spec.get("x-rules-of")
    return _contract.operation(str(ruled_by)).rules if ruled_by else []


_RULE_FIELDS = {rule["id"]: rule["field"] for rule in rules_of(_contract.operation(_SAVE))}
_RULED = frozenset(_RULE_FIELDS.values())
TYPE_FIELD = _RULE_FIELDS["known-type"]
TARGET_FIELD = _RULE_FIELDS["https-target"]
SAVED_SCHEMA = _contract.operation(_SAVE).body_content["application/json"]["schema"]
_SAVED = _wire.shape(SAVED_SCHEMA).properties
GUARDED_TYPE = _contract.resolve(_SAVED[TYPE_FIELD])["x-documented-values"][0]  # 'webhook': never a script
NAME_FIELD = "Name"  # where the run tag goes
NAME_LIMIT = _contract.resolve(_SAVED[NAME_FIELD])["maxLength"]
EVENT_FIELD = "EventName"  # SignalEvent's event (SignalEventRequest; the REST path's eventName)


def operation_of(case: Any) -> Operation | None:
    """The contract's operation of a schemathesis case (None: a path the contract does not serve)."""
    return _contract.paths.get(case.operation.path, {}).get(case.operation.method.upper())


def body_schema(case: Any) -> Any:
    """The contract's schema of the case's request body, in its media type."""
    operation = operation_of(case)
    return True if operation is None else operation.body_content.get(case.media_type, {}).get("schema", True)


def operation_id(case: Any) -> str:
    operation = operation_of(case)
    return str(case.operation.label) if operation is None else operation.operation_id


def header(response: Any, name: str) -> str | None:
    for key, value in response.headers.items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None


def variants(value: Mapping[str, Any], name: str) -> list[str]:
    """The keys of ``value`` a case-insensitive binder reads as property ``name`` (JSON.NET does)."""
    folded = name.casefold()
    return [key for key in value if isinstance(key, str) and key.casefold() == folded]


def _refs(schema: Any) -> frozenset[str]:
    """The component references a schema is (through allOf/anyOf/oneOf, not into properties)."""
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        if "$ref" in node:
            found.add(node["$ref"])
            stack.append(_contract.resolve(node))
        for key in ("allOf", "anyOf", "oneOf"):
            stack.extend(node.get(key, ()))
    return frozenset(found)


def is_id(schema: Any) -> bool:
    """Whether the contract types this value as a webhook id (``Int32Id``)."""
    return _ID_SCHEMA in _refs(schema)


def is_webhook(schema: Any) -> bool:
    """Whether a body of this schema is a webhook: it has every property SaveWebhook's rules judge."""
    return isinstance(schema, dict) and _wire.shape(schema).properties.keys() >= _RULED


def is_patch(operation: Operation, schema: Any) -> bool:
    """Whether the body patches a webhook: the operation saves one, but its body is not one."""
    return saves(operation) and not is_webhook(schema)


def saves(operation: Operation) -> bool:
    return operation.operation_id == _SAVE or operation.spec.get("x-rules-of") == _SAVE


def deletes(operation: Operation) -> bool:
    return operation.operation_id == _DELETE or operation.method == "DELETE"


def id_parameters(operation: Operation | None) -> list[tuple[str, str]]:
    """``(in, name)`` of the operation's parameters that name a webhook (query and path)."""
    return [
        (str(parameter["in"]), str(parameter["name"]))
        for parameter in (operation.parameters if operation is not None else ())
        if parameter["in"] in ("query", "path") and is_id(parameter.get("schema"))
    ]


ID_NAMES = frozenset(
    name.casefold() for operation in _contract.operations.values() for _, name in id_parameters(operation)
)
"""Every name (folded) of a parameter that names a webhook, in any operation. A query parameter of
one of these names is rewritten in every request: ASP.NET Web API's value providers read the query
string before the route, so ``PUT /api/v1/Webhook/0?id=419`` could name 419."""


def could_name_an_id(value: Any) -> bool:
    """Whether a lenient server could read ``value`` as a webhook id: a number in any form, or
    anything with a digit in it (in a query, a form or XML an object or a list goes out as text)."""
    if isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return any(character.isdigit() for character in value)
    if isinstance(value, (dict, list)):
        return any(character.isdigit() for character in repr(value))
    return False  # null


def path_text(value: Any) -> str:
    """A path parameter's value as the server reads its segment: percent-decoded (repeatedly, so a
    double encoding does not hide anything)."""
    text = str(value)
    for _ in range(4):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def keeps_route(value: Any) -> bool:
    """Whether a path parameter's value stays one segment of its own path: not empty, no
    separator, query or fragment, and not a dot segment (``..`` would climb to another route)."""
    text = path_text(value)
    return bool(text.strip(" .\t")) and not any(character in text for character in "/\\?#")


def patch_tokens(path: Any) -> list[str]:
    """A JSON Patch path's tokens, as a lenient server reads them: the leading slashes optional,
    the first token unescaped (RFC 6901) and trimmed."""
    text = path.strip().lstrip("/") if isinstance(path, str) else ""
    tokens = text.split("/")
    tokens[0] = tokens[0].replace("~1", "/").replace("~0", "~").strip()
    return tokens if text else []


def sent_id(case: Any, where: str, name: str) -> int | None:
    """The webhook id a request named in its query or path (as the guard let it out)."""
    if where == "path":
        value = (case.path_parameters or {}).get(name)
    else:
        query = dict(case.query or {})
        values = [query[key] for key in variants(query, name)]
        value = values[0] if len(values) == 1 else None  # several spellings: which one binds is the server's
    if type(value) is int:
        return value
    text = path_text(value).strip() if isinstance(value, str) else ""
    return int(text) if text.isascii() and text.isdigit() else None


def ranges(ids: list[int]) -> str:
    """``[1, 2, 3, 7]`` as ``1-3, 7``: every id, without a line of thousands."""
    spans: list[list[int]] = []
    for webhook_id in sorted(ids):
        if spans and webhook_id == spans[-1][1] + 1:
            spans[-1][1] = webhook_id
        else:
            spans.append([webhook_id, webhook_id])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans) or "none"
