"""``Binder``: the schemas of one contract (``$ref`` followed, allOf/anyOf/oneOf merged) compiled into
nodes, each once; ``BodyBinder``, which binds values of one schema; ``binder_for``, one per process."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.binding._enums import _Enum, _NullableEnum
from contracts.binding._nodes import _ALL, _ANY, Node, _Array, _Dictionary, _Object
from contracts.binding._notes import Binding, _Context
from contracts.binding._scalars import _RANGES, _Scalar
from contracts.spec import Contract

_REFERENCE_ONLY = frozenset({"$ref", "description", "readOnly", "writeOnly"})


@dataclass
class _Merged:
    types: set[str] = field(default_factory=set)
    typed: bool = False
    properties: dict[str, Any] = field(default_factory=dict)
    additional: Any = None
    has_additional: bool = False
    items: Any = None
    enum: list[Any] | None = None
    numbers: Mapping[str, int] | None = None
    flags: Mapping[str, int] | None = None
    integer_format: str | None = None
    owner: str | None = None


class Binder:
    """Compiles the schemas of one contract into :class:`BodyBinder` objects, each schema once.
    ``binder_for(contract)`` is the one a process shares."""

    def __init__(self, contract: Contract) -> None:
        self._contract = contract
        self._nodes: dict[Any, tuple[Any, Node]] = {}  # key -> (the schema, kept alive; its node)
        self._requests: dict[tuple[str, str], BodyBinder | None] = {}

    def body(self, schema: Any, *, name: str = "the body") -> BodyBinder:
        """The binder of values of ``schema`` (a schema of the contract's document)."""
        return BodyBinder(self._node(schema, name))

    def request_body(self, operation_id: str, media_type: str = "application/json") -> BodyBinder | None:
        """The binder of an operation's request body in ``media_type`` (None: no such body), for
        checks that judge what a server made of a request: ``.bind(sent).value`` is what it bound."""
        key = (operation_id, media_type)
        if key not in self._requests:
            content = self._contract.operation(operation_id).body_content.get(media_type, {})
            self._requests[key] = self.body(content["schema"]) if "schema" in content else None
        return self._requests[key]

    # -- schemas --------------------------------------------------------------------------

    def _key(self, schema: Any) -> Any:
        if isinstance(schema, dict) and "$ref" in schema and set(schema) <= _REFERENCE_ONLY:
            return schema["$ref"]  # a reference and its annotations: the referenced schema's node
        return id(schema)

    def _node(self, schema: Any, owner: str) -> Node:
        key = self._key(schema)
        cached = self._nodes.get(key)
        if cached is not None:
            return cached[1]
        merged = self._merge(schema)
        node = self._compile(merged, schema, key, merged.owner or owner)
        return node

    def _compile(self, merged: _Merged, schema: Any, key: Any, owner: str) -> Node:
        types = merged.types
        if merged.flags is not None:
            cls = _NullableEnum if "null" in types else _Enum
            node: Node = cls(list(merged.flags), merged.flags, True)
        elif merged.enum is not None and all(isinstance(v, str) or v is None for v in merged.enum):
            names = [v for v in merged.enum if isinstance(v, str)]
            given = (merged.numbers or {}).items()
            numbers = {name: int(n) for name, n in given if name in names and isinstance(n, int)}
            cls = _NullableEnum if "null" in types or None in merged.enum else _Enum
            node = cls(names, numbers or None, False)
        elif merged.properties:
            obj = _Object(owner)
            self._nodes[key] = (schema, obj)  # before the properties: a schema may refer to itself
            props = {name: self._node(sub, f"{owner}.{name}") for name, sub in merged.properties.items()}
            obj.finish(props, merged.additional is False)
            return obj
        elif "array" in types and merged.items is not None and merged.additional in (True, None, {}):
            # an array or an open object (PATCH's body: a JSON Patch or a merge patch): the array's
            # items are bound; an object, like any open dictionary, is left as it came
            node = _Array(self._node(merged.items, owner))
        elif "object" in types or (merged.has_additional and not merged.typed):
            # a dictionary: additionalProperties and no properties (or a bare object): keys are the user's
            additional = merged.additional if merged.has_additional else True
            values = _ANY if additional in (True, None, {}) else self._node(additional, owner)
            node = _ANY if values is _ANY else _Dictionary(values)
        elif "array" in types or (not merged.typed and merged.items is not None):
            node = _Array(_ANY if merged.items is None else self._node(merged.items, owner))
        elif types & {"string", "integer", "number", "boolean"}:
            scalar = _Scalar(frozenset(types), merged.integer_format)
            node = _ANY if scalar.ok == _ALL else scalar
        else:
            node = _ANY
        self._nodes[key] = (schema, node)
        return node

    def _merge(self, schema: Any) -> _Merged:
        """The schema with ``$ref`` followed and allOf/anyOf/oneOf folded together."""
        merged = _Merged()
        stack = [schema]
        seen: set[int] = set()
        while stack:
            node = stack.pop(0)
            if not isinstance(node, dict) or id(node) in seen:
                continue
            seen.add(id(node))
            if "$ref" in node:
                ref = node["$ref"]
                if merged.owner is None and ref.startswith("#/components/schemas/"):
                    merged.owner = ref.rsplit("/", 1)[-1]
                stack.insert(0, self._contract.resolve(node))
                continue
            kind = node.get("type")
            if isinstance(kind, str):
                merged.types.add(kind)
                merged.typed = True
            elif isinstance(kind, list):
                merged.types.update(kind)
                merged.typed = True
            for keyword in ("allOf", "anyOf", "oneOf"):
                stack.extend(node.get(keyword, ()))
            for name, sub in (node.get("properties") or {}).items():
                merged.properties.setdefault(name, sub)
            if "additionalProperties" in node and not merged.has_additional:
                merged.additional, merged.has_additional = node["additionalProperties"], True
            if "items" in node and merged.items is None:
                merged.items = node["items"]
            if "enum" in node and merged.enum is None:
                merged.enum = list(node["enum"])
            if isinstance(node.get("x-enum-numbers"), dict) and merged.numbers is None:
                merged.numbers = node["x-enum-numbers"]
            if isinstance(node.get("x-flags"), dict) and merged.flags is None:
                merged.flags = {str(k): int(v) for k, v in node["x-flags"].items()}
            if node.get("format") in _RANGES and merged.integer_format is None:
                merged.integer_format = node["format"]
        if merged.properties and not merged.typed:
            merged.types.add("object")
        return merged


@functools.cache
def binder_for(contract: Contract) -> Binder:
    """The :class:`Binder` of ``contract``, built once per process."""
    return Binder(contract)


class BodyBinder:
    """Binds values of one schema. ``root`` is its compiled node (for walking XML and form names)."""

    def __init__(self, root: Node) -> None:
        self.root = root

    def bind(self, value: Any) -> Binding:
        root = self.root
        if type(value) in root.ok:
            return Binding(value)
        ctx = _Context()
        bound = root.bind(value, (), ctx)
        return Binding(bound, ctx.finish(), ctx.renamed)
