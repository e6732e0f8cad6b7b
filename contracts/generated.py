"""Any value a schema of the contract allows, drawn from a seeded ``random.Random``: the responses a
client's parser must cope with (null associates, a missing ErrorsEmail, the unset date, empty and
long texts, nested Properties), reproducible from a seed.

Strings of a ``pattern`` come from the schema's own ``examples`` (the documented dates), so only
values the contract shows are produced where a pattern constrains them.
"""

from __future__ import annotations

import random
from typing import Any

from contracts.spec import Contract

__all__ = ["generate"]

_TEXT = "abcdefghijklmnopqrstuvwxyzÆØÅæøå 0123456789-_.:/@'\"<>&\u00e9\u4e2d\U0001f600"


def generate(contract: Contract, schema: Any, rng: random.Random, *, depth: int = 0) -> Any:
    """A value valid against ``schema`` (a schema of ``contract``, ``$ref`` allowed)."""
    schema = contract.resolve(schema)
    if schema is True or schema == {}:
        return _any(rng, depth)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(contract.resolve(part))
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        names = list(merged.get("required", [])) + list(rest.pop("required", []))
        return generate(contract, {**merged, **rest, "required": names}, rng, depth=depth)
    if "anyOf" in schema or "oneOf" in schema:
        return generate(contract, rng.choice(schema.get("anyOf") or schema["oneOf"]), rng, depth=depth)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kinds = schema.get("type", "object")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    kind = rng.choice(kinds)
    if kind == "null":
        return None
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "integer":
        low, high = schema.get("minimum", -(2**31)), schema.get("maximum", 2**31 - 1)
        return rng.choice([low, high, 0 if low <= 0 <= high else low, rng.randint(low, high)])
    if kind == "number":
        return rng.choice([0.0, -1.5, 3.14159, rng.uniform(-1e6, 1e6)])
    if kind == "string":
        if "pattern" in schema:
            return rng.choice(schema.get("examples") or [""])
        size = rng.choice([0, 1, rng.randint(2, 30), schema.get("maxLength", 40)])
        return "".join(rng.choice(_TEXT) for _ in range(min(size, schema.get("maxLength", size))))
    if kind == "array":
        return [
            generate(contract, schema.get("items", True), rng, depth=depth + 1)
            for _ in range(rng.randint(0, 3))
        ]
    value: dict[str, Any] = {}
    required: set[str] = set(schema.get("required", []))
    for name, sub in schema.get("properties", {}).items():
        if name in required or rng.random() < 0.7:
            value[name] = generate(contract, sub, rng, depth=depth + 1)
    extra = schema.get("additionalProperties", not schema.get("properties"))
    if extra is not False and depth < 4:
        for n in range(rng.randint(0, 3)):
            value[f"{rng.choice(['fieldName', 'x', 'Key'])}{n}"] = generate(
                contract, extra, rng, depth=depth + 1
            )
    return value


def _any(rng: random.Random, depth: int) -> Any:
    choices = ["null", "bool", "int", "float", "str"] + (["list", "dict"] if depth < 3 else [])
    kind = rng.choice(choices)
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.randint(-(2**40), 2**40)
    if kind == "float":
        return rng.uniform(-1e6, 1e6)
    if kind == "str":
        return "".join(rng.choice(_TEXT) for _ in range(rng.randint(0, 12)))
    if kind == "list":
        return [_any(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {f"k{n}": _any(rng, depth + 1) for n in range(rng.randint(0, 3))}
