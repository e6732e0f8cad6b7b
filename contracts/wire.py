"""Wire formats of the agent: every documented media type to and from one canonical JSON value.

A request body in any of the seven documented content types decodes to the value its JSON form
would have, so that one schema (the contract's) validates all of them and one handler serves
them. Responses are encoded from that value into JSON or XML. The XML shape is read from the
contract's ``xml`` keywords; what those cannot say follows the SOAP sample of the SaveWebhook
page (docs/fidelity.md, F-008, F-009, F-060 to F-064).

Decoding is guided by the schema so that ``<WebhookId>419</WebhookId>`` and ``WebhookId=419``
become the integer 419; text that is not a number stays text, so that validation then names the
field ("'abc' is not of type 'integer'") instead of the decoder failing vaguely.

Bodies are read as ASP.NET Web API's formatters read them (docs/fidelity.md F-110 to F-113): text
in UTF-8, or UTF-16 when the charset says so (any other charset falls back to UTF-8); a JSON body
may start with a byte order mark; containers nest at most ``MAX_DEPTH`` (256) levels deep in
JSON and elements in XML; of duplicate JSON keys the last value counts.

Errors::

    WireError                      the body cannot be read as its content type claims
"""

from __future__ import annotations

import codecs
import json
import math
from datetime import datetime, timezone
import re
import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes, urlencode
from xml.etree.ElementTree import Element, SubElement, TreeBuilder, tostring

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from contracts.spec import Contract

__all__ = [
    "FORM_TYPE",
    "UNSET_DATE",
    "decode_json",
    "format_datetime",
    "encode_json",
    "negotiate",
    "without_xml_unrepresentable",
    "xml_representable",
    "JSON_TYPES",
    "MAX_DEPTH",
    "XML_TYPES",
    "WireError",
    "WireFormats",
    "parse_media_type",
]

JSON_TYPES = frozenset(
    {"application/json", "text/json", "application/json-patch+json", "application/merge-patch+json"}
)
XML_TYPES = frozenset({"application/xml", "text/xml"})
FORM_TYPE = "application/x-www-form-urlencoded"

XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_TYPE = f"{{{XSI}}}type"
_XSI_NIL = f"{{{XSI}}}nil"
_JSON_STARTS = frozenset('{["-0123456789')
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_NUMBER = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
# How deeply a body's containers (JSON) or elements (XML) may nest: the MaxDepth of ASP.NET Web API's
# JsonMediaTypeFormatter, XmlMediaTypeFormatter and FormUrlEncodedMediaTypeFormatter (F-111).
MAX_DEPTH = 256
# Byte order marks as .NET's StreamReader detects them (UTF-32 LE before UTF-16 LE: it starts alike).
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Characters XML 1.0 cannot carry at all (not even as character references).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class WireError(ValueError):
    """A body that cannot be read as the media type it claims; ``detail`` says where and why."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or message


def parse_media_type(header: str | None) -> tuple[str, dict[str, str]]:
    """``("application/json", {"charset": "utf-8"})`` from a Content-Type header; lower-cased type."""
    if not header:
        return "", {}
    kind, _, rest = header.partition(";")
    params = {}
    for part in rest.split(";"):
        name, eq, value = part.partition("=")
        if eq:
            params[name.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), params


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


class WireFormats:
    """Decoders and encoders for one contract (built once; cheap to call)."""

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

    # -- decoding -----------------------------------------------------------------------------

    def decode(self, media_type: str, body: bytes, schema: Any, *, charset: str = "utf-8") -> Any:
        """The JSON value of ``body``, read as ``media_type`` and guided by ``schema``."""
        if media_type in XML_TYPES:
            return self.decode_xml(body, schema)
        if media_type in JSON_TYPES:
            return decode_json(_text(body, charset, byte_order_mark=True))
        if media_type == FORM_TYPE:
            return self.decode_form(_text(body, charset), schema)
        raise WireError(f"The media type '{media_type}' cannot be read.")

    def decode_xml(self, body: bytes, schema: Any) -> Any:
        parser = SafeET.DefusedXMLParser(
            target=_DepthLimitedBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
        try:
            parser.feed(body)
            root = parser.close()
        except DefusedXmlException as error:
            raise WireError("The XML body is refused.", f"{type(error).__name__}: DTDs and entities are not accepted.") from None
        except SafeET.ParseError as error:
            raise WireError("The XML body is not well-formed.", str(error)) from None
        expected = self.shape(schema).xml_name
        if expected and _local(root.tag) != expected:
            raise WireError(
                "The XML body has the wrong root element.",
                f"Expected <{expected}>, found <{_local(root.tag)}>.",
            )
        return self._element_value(root, schema)

    def _element_value(self, element: Element, schema: Any) -> Any:
        if element.get(_XSI_NIL, "").lower() == "true":
            return None
        shape = self.shape(schema)
        if shape.is_any or _local(element.get(_XSI_TYPE, "")) in _XSI_KINDS or _is_xsi_container(element):
            # the sender's xsi:type says what the value is (the SOAP sample types every element)
            return self._untyped_value(element)
        children = list(element)
        text = (element.text or "").strip()
        if not children and text and not ({"string", "integer", "number", "boolean"} & shape.types):
            # text where an object or array belongs: keep it, so validation names the wrong type
            return _scalar(text, frozenset({"integer", "number", "boolean"}))
        if "object" in shape.types and (children or not ({"string", "integer", "number", "boolean"} & shape.types)):
            if shape.properties or not children:
                return {
                    _local(child.tag): self._element_value(child, shape.properties.get(_local(child.tag), True))
                    for child in children
                }
            if not _is_pair_list(children):
                raise WireError(
                    f"The XML dictionary <{_local(element.tag)}> is not a list of key-value pairs.",
                    f"Each entry of <{_local(element.tag)}> is an element with a <Key> and a <Value>, "
                    "as <StringKeyValuePair> in the SOAP sample.",
                )
            return {
                _pair_key(child): self._element_value(_pair_value(child), shape.additional)
                for child in children
            }
        if "array" in shape.types:
            return [self._element_value(child, shape.items) for child in children]
        return _scalar(element.text or "", shape.types)

    def _untyped_value(self, element: Element) -> Any:
        if element.get(_XSI_NIL, "").lower() == "true":
            return None
        kind = _local(element.get(_XSI_TYPE, ""))
        text = element.text or ""
        children = list(element)
        if kind in ("int", "long", "short", "integer", "byte", "unsignedInt", "unsignedLong"):
            return _scalar(text, frozenset({"integer"}))
        if kind in ("double", "decimal", "float"):
            return _scalar(text, frozenset({"number"}))
        if kind == "boolean":
            return _scalar(text, frozenset({"boolean"}))
        if kind == "string":
            return text
        if kind.startswith("ArrayOf"):
            return [self._untyped_value(child) for child in children]
        if kind.endswith("Dictionary") or (children and _is_pair_list(children)):
            return {_pair_key(child): self._untyped_value(_pair_value(child)) for child in children}
        if children:
            return {_local(child.tag): self._untyped_value(child) for child in children}
        return text

    def decode_form(self, text: str, schema: Any) -> Any:
        """A form body: scalars as text; arrays as repeated keys or one JSON text; objects as
        ``Name[key]=value`` pairs or one JSON text (F-062). A single value of an array or object
        field that starts like JSON (``{ [ " - 0-9``, true, false, null) is read as JSON."""
        try:
            pairs = _form_pairs(text)
        except (ValueError, UnicodeDecodeError) as error:
            raise WireError("The form body is not valid application/x-www-form-urlencoded.", str(error)) from None
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

    def encode_xml(self, value: Any, schema: Any, *, root: str | None = None) -> bytes:
        shape = self.shape(schema)
        name = root or shape.xml_name or "Response"
        element = Element(name, {"xmlns:xsi": XSI, "xmlns:xsd": "http://www.w3.org/2001/XMLSchema"})
        self._fill(element, value, schema)
        # A raw CR in text would reach the receiver as LF (XML 1.0, 2.11 End-of-Line Handling); as a
        # character reference it survives. ElementTree writes CR raw in text (attributes it escapes).
        text = tostring(element, encoding="utf-8", xml_declaration=False).replace(b"\r", b"&#13;")
        return b'<?xml version="1.0" encoding="utf-8"?>' + text

    def _fill(self, element: Element, value: Any, schema: Any) -> None:
        if value is None:
            element.set("xsi:nil", "true")
            return
        shape = self.shape(schema)
        if shape.is_any or not _fits(value, shape.types):
            # a value of another type than the schema's travels with its xsi:type, so that the
            # receiver sees (and validation names) the mismatch instead of a silently lost value
            self._fill_untyped(element, value)
        elif isinstance(value, dict) and (shape.properties or shape.additional is None):
            ordered = list(shape.properties) + [k for k in value if k not in shape.properties]
            for key in ordered:
                if key in value:
                    self._fill(SubElement(element, key), value[key], shape.properties.get(key, True))
        elif isinstance(value, dict):
            pair_name = "StringKeyValuePair" if self.shape(shape.additional).types == {"string"} else "StringObjectKeyValuePair"
            for key, item in value.items():
                pair = SubElement(element, pair_name)
                SubElement(pair, "Key").text = _xml_text(key)
                self._fill(SubElement(pair, "Value"), item, shape.additional)
        elif isinstance(value, list):
            item_shape = self.shape(shape.items)
            item_name = item_shape.xml_name or ("string" if item_shape.types == {"string"} else "anyType")
            for item in value:
                self._fill(SubElement(element, item_name), item, shape.items)
        else:
            element.text = _xml_scalar(value)

    def _fill_untyped(self, element: Element, value: Any) -> None:
        if value is None:
            element.set("xsi:nil", "true")
        elif isinstance(value, bool):
            element.set("xsi:type", "xsd:boolean")
            element.text = _xml_scalar(value)
        elif isinstance(value, int):
            element.set("xsi:type", "xsd:int" if -(2**31) <= value < 2**31 else "xsd:long" if -(2**63) <= value < 2**63 else "xsd:integer")
            element.text = str(value)
        elif isinstance(value, float):
            element.set("xsi:type", "xsd:double")
            element.text = _xml_scalar(value)
        elif isinstance(value, str):
            element.set("xsi:type", "xsd:string")
            element.text = _xml_text(value)
        elif isinstance(value, dict):
            element.set("xsi:type", "StringObjectDictionary")
            for key, item in value.items():
                pair = SubElement(element, "StringObjectKeyValuePair")
                SubElement(pair, "Key").text = _xml_text(key)
                self._fill_untyped(SubElement(pair, "Value"), item)
        elif isinstance(value, list):
            element.set("xsi:type", "ArrayOfanyType")
            for item in value:
                self._fill_untyped(SubElement(element, "anyType"), item)
        else:  # pragma: no cover - JSON values only
            raise TypeError(f"not a JSON value: {value!r}")


RESPONSE_TYPES = ("application/json", "text/json", "application/xml", "text/xml")
UNSET_DATE = "0001-01-01T00:00:00"


def format_datetime(moment: datetime) -> str:
    """A UTC date-time as .NET writes it: seven fractional digits and ``Z`` (F-073)."""
    moment = moment.astimezone(timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0Z"


def negotiate(accept: str | None, request_media_type: str | None = None) -> str:
    """The response media type, chosen as ASP.NET Web API's DefaultContentNegotiator does (F-065):
    the best match of Accept (by q-value, then specificity, then the JSON formatter before the XML
    one, as Web API lists them, then Accept's order); else the request's Content-Type when
    a response can be written in it; else JSON. The two patch types are answered as JSON."""
    best: tuple[float, int, bool, int] | None = None
    chosen = None
    for position, part in enumerate((accept or "").split(",")):
        kind, params = parse_media_type(part)
        if not kind:
            continue
        try:
            quality = float(params.get("q", "1"))
        except ValueError:
            quality = 0.0
        if quality <= 0:
            continue
        if kind in ("application/json-patch+json", "application/merge-patch+json"):
            kind = "application/json"
        if kind in RESPONSE_TYPES:
            candidate, specificity = kind, 2
        elif kind in ("*/*", "application/*"):
            candidate, specificity = "application/json", 0
        elif kind == "text/*":
            candidate, specificity = "text/json", 1
        else:
            continue
        # on a tie the JSON formatter wins (it precedes the XML one), then the earlier Accept value
        rank = (quality, specificity, candidate.endswith("json"), -position)
        if best is None or rank > best:
            best, chosen = rank, candidate
    if chosen is not None:
        return chosen
    if request_media_type in RESPONSE_TYPES:
        return request_media_type
    return "application/json"


_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, as ASP.NET Web API writes it."""
    return _JSON_ENCODER.encode(value).encode("utf-8")


def _reject_constant(name: str) -> Any:
    raise WireError("The JSON body is not valid JSON.", f"{name} is not a JSON value.")


def decode_json(text: str) -> Any:
    """JSON as RFC 8259 allows it: no NaN/Infinity, no lone surrogates."""
    try:
        if text.startswith("\ufeff"):  # as json.loads words it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _JSON_DECODER.decode(text)
    except WireError:
        raise
    except json.JSONDecodeError as error:
        raise WireError("The JSON body is not valid JSON.", f"{error.msg} at line {error.lineno} column {error.colno}.") from None
    except ValueError:  # an integer longer than int() reads (sys.get_int_max_str_digits)
        raise WireError(
            "The JSON body has a number out of range.",
            f"A number has more than {getattr(sys, 'get_int_max_str_digits', lambda: 4300)()} digits.",
        ) from None
    except RecursionError:
        raise _too_deeply_nested() from None
    # a text with no more than MAX_DEPTH opening brackets (in strings or not) cannot nest deeper
    if text.count("[") + text.count("{") > MAX_DEPTH and _too_deep(value):
        raise _too_deeply_nested()
    if "\\u" in text or not _encodes(text):  # a lone surrogate comes from an escape or from the text
        _check_strings(value)
    return value


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


def _too_deeply_nested() -> WireError:
    return WireError("The JSON body is nested too deeply.", f"It nests more than {MAX_DEPTH} levels deep.")


def _too_deep(value: Any) -> bool:
    """Whether arrays and objects nest more than MAX_DEPTH levels (the outermost is level 1)."""
    if not isinstance(value, (dict, list)):
        return False
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


class _DepthLimitedBuilder(TreeBuilder):
    """ElementTree's tree builder, refusing elements nested more than MAX_DEPTH deep as they are
    parsed: a deep body fails at its 257th level, before it is built into a tree."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0

    def start(self, tag: Any, attrs: Any) -> Element:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            detail = f"Its elements nest more than {MAX_DEPTH} levels deep."
            raise WireError("The XML body is nested too deeply.", detail)
        return super().start(tag, attrs)

    def end(self, tag: Any) -> Element:
        self._depth -= 1
        return super().end(tag)


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: a double overflows to inf, which is no JSON value
        raise WireError("The JSON body has a number out of range.", f"{text[:40]} does not fit a double.")
    return value


_JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def _check_strings(value: Any) -> None:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if not _encodes(node):
                raise WireError("The JSON body is not valid Unicode.", "It contains an unpaired surrogate escape.")
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _text(body: bytes, charset: str, *, byte_order_mark: bool = False) -> str:
    """The body as text, as ASP.NET Web API's formatters read it (F-110): UTF-16 (little-endian,
    .NET's ``utf-16``) when the charset names it, else UTF-8, whatever other charset is named
    (MediaTypeFormatter.SelectCharacterEncoding falls back to the formatter's first encoding).
    With ``byte_order_mark`` a leading BOM chooses the encoding and is skipped, as .NET's
    StreamReader does for the JSON formatter."""
    encoding = "utf-16-le" if charset.strip().lower() == "utf-16" else "utf-8"
    if byte_order_mark:
        for mark, marked in _BOMS:
            if body.startswith(mark):
                body, encoding = body[len(mark):], marked
                break
    try:
        return body.decode(encoding)
    except UnicodeError as error:
        raise WireError(f"The body is not valid {encoding} text.", str(error)) from None


_XSI_KINDS = frozenset(
    {"int", "long", "short", "integer", "byte", "unsignedInt", "unsignedLong", "double", "decimal", "float", "boolean", "string"}
)


def _is_xsi_container(element: Element) -> bool:
    kind = _local(element.get(_XSI_TYPE, ""))
    return kind.startswith("ArrayOf") or kind.endswith("Dictionary")


def _fits(value: Any, types: frozenset[str]) -> bool:
    if isinstance(value, bool):
        return "boolean" in types
    if isinstance(value, int):
        return bool({"integer", "number"} & types)
    if isinstance(value, float):
        return "number" in types
    if isinstance(value, str):
        return "string" in types
    if isinstance(value, dict):
        return "object" in types
    if isinstance(value, list):
        return "array" in types
    return True


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _is_pair_list(children: list[Element]) -> bool:
    return bool(children) and all({_local(c.tag) for c in child} >= {"Key", "Value"} for child in children)


def _pair_key(pair: Element) -> str:
    for child in pair:
        if _local(child.tag) == "Key":
            return child.text or ""
    raise WireError("An XML dictionary entry has no <Key>.")


def _pair_value(pair: Element) -> Element:
    for child in pair:
        if _local(child.tag) == "Value":
            return child
    raise WireError("An XML dictionary entry has no <Value>.")


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


def xml_representable(value: Any) -> bool:
    """Whether every text in ``value`` can be written in XML 1.0 as it is (F-063)."""
    if isinstance(value, str):
        return _NOT_XML.search(value) is None
    if isinstance(value, dict):
        return all(xml_representable(k) and xml_representable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(xml_representable(v) for v in value)
    return True


def without_xml_unrepresentable(value: Any) -> Any:
    """``value`` with the characters XML 1.0 cannot carry left out of every text."""
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    if isinstance(value, dict):
        return {without_xml_unrepresentable(k): without_xml_unrepresentable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_xml_unrepresentable(v) for v in value]
    return value


def _xml_text(text: str) -> str:
    """XML 1.0 cannot carry some characters at all; they are replaced by U+FFFD (F-063)."""
    return _NOT_XML.sub("\ufffd", text)


def _xml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):  # pragma: no cover - JSON has no such numbers
            raise ValueError("non-finite number")
        return repr(value)
    if isinstance(value, str):
        return _xml_text(value)
    return str(value)

