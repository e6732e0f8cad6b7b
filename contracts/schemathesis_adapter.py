"""schemathesis, taught the agent's wire formats (importing this module registers them).

schemathesis serialises a form body with nested objects and a dictionary in XML in ways the
agent does not read; these serializers write the documented forms instead (``contracts.wire``),
so that a generated schema-valid body arrives as the same schema-valid value.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from contracts.spec import load
from contracts.wire import FORM_TYPE, XML_TYPES, WireFormats

__all__ = ["body_schema"]

_wire = WireFormats(load())


def body_schema(case: Any) -> Any:
    """The contract's schema of the case's request body, in its media type."""
    operation = load().document["paths"][case.operation.path][case.operation.method.lower()]
    content = load().resolve(operation.get("requestBody", {})).get("content", {})
    return content.get(case.media_type, {}).get("schema", True)


@schemathesis.serializer(FORM_TYPE)
def _form(ctx: Any, value: Any) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        return str(value).encode("utf-8")
    schema = body_schema(ctx.case)
    restored = _restore_nulls(value, schema)
    return _wire.encode_form(restored, schema)


def _restore_nulls(value: Any, schema: Any) -> Any:
    """schemathesis turns None into the text "null" before serializers see a form body, at any
    depth; where the schema allows null but no text, that text can only have been None."""
    shape = _wire.shape(schema)
    if value == "null" and "string" not in shape.types and not shape.is_any:
        return None
    if isinstance(value, dict) and shape.properties:
        return {name: _restore_nulls(item, shape.properties.get(name, True)) for name, item in value.items()}
    return value


@schemathesis.serializer(*sorted(XML_TYPES))
def _xml(ctx: Any, value: Any) -> bytes | None:
    if value is None:
        return None
    return _wire.encode_xml(value, body_schema(ctx.case))
