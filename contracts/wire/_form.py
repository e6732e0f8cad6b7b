"""Form bodies (application/x-www-form-urlencoded) to and from JSON values (F-062): scalars as text,
arrays as repeated keys or one JSON text, objects as ``Name[key]=value`` pairs or one JSON text."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes, urlencode

from contracts.wire._body import WireError
from contracts.wire._json import decode_json
from contracts.wire._shapes import _scalar, _Shape, _Shapes

_JSON_STARTS = frozenset('{["-0123456789')


class _FormCodec(_Shapes):
    """Form bodies decoded to and encoded from JSON values, guided by the contract's schemas."""

    # -- decoding -----------------------------------------------------------------------------

    def decode_form(self, text: str, schema: Any) -> Any:
        """A form body: scalars as text; arrays as repeated keys or one JSON text; objects as
        ``Name[key]=value`` pairs or one JSON text (F-062). A single value of an array or object
        field that starts like JSON (``{ [ " - 0-9``, true, false, null) is read as JSON."""
        try:
            pairs = _form_pairs(text)
        except (ValueError, UnicodeDecodeError) as error:
            raise WireError(
                "The form body is not valid application/x-www-form-urlencoded.", str(error)
            ) from None
        shape = self.shape(schema)
        grouped: dict[str, list[str]] = {}
        nested: dict[str, dict[str, str]] = {}
        for key, value in pairs:
            base, bracket, rest = key.partition("[")
            if bracket and rest.endswith("]"):
                inner = rest[:-1]
                if inner == "" or inner.isdigit():
                    grouped.setdefault(base, []).append(value)
                else:
                    nested.setdefault(base, {})[inner] = value
            else:
                grouped.setdefault(key, []).append(value)
        result: dict[str, Any] = {}
        for name, mapping in nested.items():
            result[name] = dict(mapping)
        for name, values in grouped.items():
            prop = self.shape(shape.properties.get(name, True))
            result[name] = self._form_value(name, values, prop)
        return result

    def _form_value(self, name: str, values: list[str], prop: _Shape) -> Any:
        complex_types = {"object", "array"} & prop.types
        if complex_types or prop.is_any:
            first = values[0].strip() if len(values) == 1 else ""
            if len(values) == 1 and (first[:1] in _JSON_STARTS or first in ("null", "true", "false")):
                try:
                    return decode_json(values[0])
                except WireError as error:
                    raise WireError(f"The form field '{name}' is not valid JSON.", error.detail) from None
            if "array" in prop.types:
                item = self.shape(prop.items)
                return [_scalar(v, item.types) for v in values]
        if len(values) > 1:
            return values
        return _scalar(values[0], prop.types)

    # -- encoding -----------------------------------------------------------------------------

    def encode_form(self, value: Any, schema: Any) -> bytes:
        """A form body as documented (F-062): scalars as text, objects and arrays as JSON texts;
        a null scalar is left out (absent and null mean the same to the agent)."""
        if not isinstance(value, dict):
            raise WireError("Only an object can be sent as a form.")
        shape = self.shape(schema)
        pairs = []
        for name, item in value.items():
            prop = self.shape(shape.properties.get(name, True))
            if isinstance(item, (dict, list)) or {"object", "array"} & prop.types or prop.is_any:
                pairs.append((name, json.dumps(item, ensure_ascii=False, separators=(",", ":"))))
            elif item is None:
                continue
            elif isinstance(item, bool):
                pairs.append((name, "true" if item else "false"))
            else:
                pairs.append((name, str(item)))
        return urlencode(pairs).encode("ascii")


def _form_pairs(text: str) -> list[tuple[str, str]]:
    """``parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")``, unquoting
    in slices: parse_qsl splits a value at every '%', so that a 1 MiB body of escapes costs some
    80 MB while it is read."""
    pairs = []
    for item in text.split("&") if text else ():
        name, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"bad query field: {item[:40]!r}")
        pairs.append((_unquote_plus(name), _unquote_plus(value)))
    return pairs


def _unquote_plus(text: str) -> str:
    text = text.replace("+", " ")
    if "%" not in text:
        return text
    data = text.encode("utf-8")
    out = bytearray()
    start = 0
    while start < len(data):
        end = min(start + 65536, len(data))
        if end < len(data):
            cut = data.rfind(b"%", end - 2, end)  # an escape cut in two moves to the next slice
            end = cut if cut > start else end
        out += unquote_to_bytes(data[start:end])
        start = end
    return out.decode("utf-8")
