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
    shape = _wire.shape(schema)
    # schemathesis turns None into the text "null" before serializers see a form body; for an
    # array or object field that text can only have been None.
    restored = {
        name: None if item == "null" and {"object", "array"} & _wire.shape(shape.properties.get(name, True)).types else item
        for name, item in value.items()
    }
    return _wire.encode_form(restored, schema)


@schemathesis.serializer(*sorted(XML_TYPES))
def _xml(ctx: Any, value: Any) -> bytes | None:
    if value is None:
        return None
    return _wire.encode_xml(value, body_schema(ctx.case))
