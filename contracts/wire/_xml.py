"""XML bodies to and from JSON values: the shape read from the contract's ``xml`` keywords, the rest
from the SOAP sample of the SaveWebhook page (F-008, F-009, F-060 to F-064); parsed without DTDs or
entities, at most MAX_DEPTH elements deep; and which texts XML 1.0 can carry at all (F-063)."""

from __future__ import annotations

import math
import re
from typing import Any
from xml.etree.ElementTree import Element, SubElement, TreeBuilder, tostring

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from contracts.wire._body import MAX_DEPTH, WireError
from contracts.wire._shapes import _scalar, _Shapes

XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_TYPE = f"{{{XSI}}}type"
_XSI_NIL = f"{{{XSI}}}nil"
# Characters XML 1.0 cannot carry at all (not even as character references).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


class _XmlCodec(_Shapes):
    """XML bodies decoded to and encoded from JSON values, guided by the contract's schemas."""

    # -- decoding -----------------------------------------------------------------------------

    def decode_xml(self, body: bytes, schema: Any) -> Any:
        parser = SafeET.DefusedXMLParser(
            target=_DepthLimitedBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
        try:
            parser.feed(body)
            root = parser.close()
        except DefusedXmlException as error:
            raise WireError(
                "The XML body is refused.", f"{type(error).__name__}: DTDs and entities are not accepted."
            ) from None
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
        if "object" in shape.types and (
            children or not ({"string", "integer", "number", "boolean"} & shape.types)
        ):
            if shape.properties or not children:
                return {
                    _local(child.tag): self._element_value(
                        child, shape.properties.get(_local(child.tag), True)
                    )
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

    # -- encoding -----------------------------------------------------------------------------

    def encode_xml(self, value: Any, schema: Any, *, root: str | None = None) -> bytes:
        shape = self.shape(schema)
        name = root or shape.xml_name or "Response"
        element = Element(name, {"xmlns:xsi": XSI, "xmlns:xsd": "http://www.w3.org/2001/XMLSchema"})
        self._fill(element, value, schema)
        # A raw CR in text would reach the receiver as LF (XML 1.0, 2.11 End-of-Line Handling); as a
        # character reference it survives. ElementTree writes CR raw in text (attributes it escapes).
        text: bytes = tostring(element, encoding="utf-8", xml_declaration=False).replace(b"\r", b"&#13;")
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
                    self._fill(
                        SubElement(element, _element_name(key)), value[key], shape.properties.get(key, True)
                    )
        elif isinstance(value, dict):
            pair_name = (
                "StringKeyValuePair"
                if self.shape(shape.additional).types == {"string"}
                else "StringObjectKeyValuePair"
            )
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
            element.set(
                "xsi:type",
                "xsd:int"
                if -(2**31) <= value < 2**31
                else "xsd:long"
                if -(2**63) <= value < 2**63
                else "xsd:integer",
            )
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


_XSI_KINDS = frozenset(
    {
        "int",
        "long",
        "short",
        "integer",
        "byte",
        "unsignedInt",
        "unsignedLong",
        "double",
        "decimal",
        "float",
        "boolean",
        "string",
    }
)


def _element_name(key: str) -> str:
    """A member's name as an element's. ElementTree writes any name as it is (``a b``: a document
    a reader refuses, which is what a negative test sends on purpose) but fails on one it reads as
    a ``{namespace}`` without its ``}``: WireError for that one, not ElementTree's ValueError."""
    if key.startswith("{") and "}" not in key:
        raise WireError("The value cannot be written as XML.", f"'{key}' is not an XML element name.")
    return key


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
