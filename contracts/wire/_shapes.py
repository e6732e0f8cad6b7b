"""What a schema of the contract says about a value's form (its shape, merged once per schema), and
text read as the scalar a shape allows: the guidance the schema-guided XML and form codecs share."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from contracts.spec import Contract
from contracts.wire._body import WireError

_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_NUMBER = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")


@dataclass
class _Shape:
    """What a (resolved, merged) schema says about a value's form."""

    types: frozenset[str]
    properties: dict[str, Any] = field(default_factory=dict)
    additional: Any = None
    items: Any = None
    xml_name: str | None = None

    @property
    def is_any(self) -> bool:
        return not self.types


class _Shapes:
    """A contract's schemas read as shapes; the base of every codec that a schema guides."""

    def __init__(self, contract: Contract) -> None:
        self._contract = contract
        self._shapes: dict[int, _Shape] = {}

    # -- schema shapes ----------------------------------------------------------------------

    def shape(self, schema: Any) -> _Shape:
        key = id(schema)
        cached = self._shapes.get(key)
        if cached is None:
            cached = self._shapes[key] = self._merge(schema)
        return cached

    def _merge(self, schema: Any) -> _Shape:
        resolve = self._contract.resolve
        types: set[str] = set()
        shape = _Shape(frozenset())
        stack = [schema]
        xml_name = None
        while stack:
            node = stack.pop()
            if node is True or node is None or node == {}:
                continue
            if isinstance(node, dict) and "$ref" in node:
                if xml_name is None:
                    xml_name = node.get("xml", {}).get("name")
                stack.append(resolve(node))
                continue
            if xml_name is None and "xml" in node:
                xml_name = node["xml"].get("name")
            kind = node.get("type")
            if isinstance(kind, str):
                types.add(kind)
            elif isinstance(kind, list):
                types.update(kind)
            for key in ("allOf", "anyOf", "oneOf"):
                stack.extend(node.get(key, ()))
            for name, sub in node.get("properties", {}).items():
                shape.properties.setdefault(name, sub)
            if "additionalProperties" in node and shape.additional is None:
                shape.additional = node["additionalProperties"]
            if "items" in node and shape.items is None:
                shape.items = node["items"]
        shape.types = frozenset(types)
        shape.xml_name = xml_name
        return shape


def _scalar(text: str, types: frozenset[str]) -> Any:
    stripped = text.strip()
    if "integer" in types and _INTEGER.match(stripped):
        return _number(stripped, int)
    if "number" in types and _NUMBER.match(stripped):
        return _number(stripped, int if _INTEGER.match(stripped) else float)
    if "boolean" in types and stripped in ("true", "false"):
        return stripped == "true"
    if "null" in types and not types & {"string"} and stripped == "":
        return None
    return text


def _number(text: str, kind: type) -> Any:
    """``int(text)`` or ``float(text)``; a number beyond int()'s digit limit or a double's range is refused."""
    try:
        value = kind(text)
    except ValueError:
        value = math.inf
    if isinstance(value, float) and not math.isfinite(value):
        detail = f"{text[:40]} ({len(text)} characters) cannot be read."
        raise WireError("A number in the body is out of range.", detail)
    return value
