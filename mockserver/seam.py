"""The one validation seam: every request in, every response out, checked against the contract.

Built once per app from the contract. A request is routed to its operation (404/405), its body
is read in whichever of the documented content types it came (415/400), decoded to its JSON
value (``contracts.wire``) and then validated as that JSON value, so that one schema judges all
seven content types. Every response the mock sends is validated the same way.

Two validators give the same verdicts (``tests/test_fastpath.py``): the fast path
(``mockserver.fastpath``, the contract compiled once into per-operation validators; the default)
and openapi-core, the reference (``mockserver.reference``, ``MockConfig(validator="openapi-core")``),
about 3 ms a request. Either is chosen once, when the seam is built; both have the same interface.

Before either validator sees a request it is bound as SuperOffice's server binds it
(``contracts.binding``, once, so both judge the same value): query parameter names and body
property names case-insensitively, enums by name or number, Json.NET's conversions; members the
contract does not know are dropped (``MockConfig.unknown_properties="ignore"``, the server's
behaviour) or refused (``"reject"``). What binding did is handed to the journal: an ignored member
as a violation, a conversion as a warning (docs/fidelity.md F-015, F-016, F-170 to F-189). XML and
form bodies are read with their element and field names bound first, so that ``<webhookid>`` and
``events=a&events=b`` are read as their properties' types.

Errors name the field the way ASP.NET Web API's ModelState does: ``entity.WebhookId`` for the
SaveWebhook body (the pages call it "Request Body: entity"), ``request.StatusFilter`` for the
other operations' bodies, and the parameter name for query and header parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote_plus, unquote_plus
from xml.etree.ElementTree import Element, tostring

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from contracts.binding import Binder, Binding, BodyBinder, Node, QueryNames
from contracts.spec import Contract, Operation
from contracts.wire import FORM_TYPE, XML_TYPES, WireError, WireFormats, parse_media_type
from mockserver.errors import AgentError, bad_request
from mockserver.errors import refused as refusal
from mockserver.fastpath import FastPath, describe
from mockserver.reference import Reference
from mockserver.routing import Router

__all__ = [
    "InvalidRequest",
    "Operation",
    "Seam",
    "UnknownProperties",
    "ValidatedRequest",
    "Validator",
    "describe",
]

Validator = Literal["fast", "openapi-core"]
UnknownProperties = Literal["ignore", "reject"]
# No property name of the contract is this long: a longer form field name is not read for binding.
_LONGEST_NAME = 256


@dataclass
class ValidatedRequest:
    operation: Operation
    body: Any  # as bound (contracts.binding): canonical names, converted values
    media_type: str | None
    query: dict[str, Any] = field(default_factory=dict)
    path: dict[str, Any] = field(default_factory=dict)  # the path's parameters, cast (REST: id, ...)
    violations: list[str] = field(default_factory=list)  # what binding ignored that the contract forbids
    warnings: list[str] = field(default_factory=list)  # what binding converted, and duplicate names


class InvalidRequest(AgentError):
    """The seam's 400, with what binding noted before validation refused the request (for the
    journal; members refused by ``unknown_properties="reject"`` are in the ModelState instead)."""

    def __init__(self, refused: AgentError, violations: list[str], warnings: list[str]) -> None:
        body = refused.body
        detail, model_state = body.get("MessageDetail"), body.get("ModelState")
        super().__init__(refused.status, body["Message"], detail, model_state=model_state)
        self.violations = violations
        self.warnings = warnings


class Seam:
    def __init__(
        self,
        contract: Contract,
        wire: WireFormats,
        validator: Validator = "fast",
        unknown_properties: UnknownProperties = "ignore",
    ) -> None:
        self.contract = contract
        self.wire = wire
        self.validator = validator
        self.unknown_properties = unknown_properties
        # the validator, chosen once: both have check_request and check_response
        self.checker: FastPath | Reference = (
            FastPath(contract) if validator == "fast" else Reference(contract, wire)
        )
        self.operations = contract.paths
        self.router = Router(contract)
        # binding, compiled once: each body schema by operation and media type, each query's names
        binder = Binder(contract)
        self.bodies: dict[str, dict[str, BodyBinder]] = {}
        self.query_names: dict[str, QueryNames] = {}
        for operation in contract.operations.values():
            self.bodies[operation.operation_id] = {
                media_type: binder.body(content["schema"])
                for media_type, content in operation.body_content.items()
                if "schema" in content
            }
            self.query_names[operation.operation_id] = QueryNames(
                {p["name"]: wire.shape(p.get("schema", True)).types for p in operation.query()}
            )

    # -- routing ------------------------------------------------------------------------------

    def route(self, path: str, method: str) -> tuple[Operation, dict[str, str]]:
        """The operation of the request and its path parameters' texts (404, 405: ``mockserver.routing``)."""
        return self.router.route(path, method)

    # -- requests -----------------------------------------------------------------------------

    def read_body(self, operation: Operation, content_type: str | None, raw: bytes) -> tuple[Any, str | None]:
        """The body's JSON value and media type; ``(None, None)`` when there is no body."""
        if not raw.strip() and not operation.body_required:
            return None, None
        if not operation.body_content:
            return None, None
        media_type, params = parse_media_type(content_type)
        if media_type not in operation.body_content:
            shown = media_type or "(none)"
            raise AgentError(
                415,
                f"The request entity's media type '{shown}' is not supported for this resource.",
                "Supported: " + ", ".join(operation.body_content) + ".",
            )
        if not raw.strip() and media_type != FORM_TYPE:  # an empty form is a form without fields
            raise bad_request(
                f"The request body is empty; {operation.operation_id} needs its '{operation.body_name}'.",
                {operation.body_name: ["A value is required."]},
            )
        schema = operation.body_content[media_type].get("schema")
        charset = params.get("charset", "utf-8")
        binder = self.bodies[operation.operation_id].get(media_type)
        try:
            if binder is not None and media_type == FORM_TYPE:
                raw = _bind_form_names(raw, charset, binder.root)
            value = self.wire.decode(media_type, raw, schema, charset=charset)
            if binder is not None and media_type in XML_TYPES and binder.bind(value).renamed:
                # elements named in another casing were read without their schema: read again, named
                named = _bind_xml_names(raw, binder.root)
                if named is not None:
                    value = self.wire.decode(media_type, named, schema)
        except WireError as error:
            raise bad_request(
                error.message + " " + error.detail, {operation.body_name: [error.detail]}
            ) from None
        return value, media_type

    def bind(self, operation: Operation, body: Any, media_type: str | None) -> Binding | None:
        """The body bound as the server binds it (None when there is no body)."""
        if media_type is None:
            return None
        binder = self.bodies[operation.operation_id].get(media_type)
        return None if binder is None else binder.bind(body)

    def validate_request(
        self,
        operation: Operation,
        *,
        path: str,
        query: Any,
        headers: Any,
        cookies: Any,
        body: Any,
        media_type: str | None,
        path_values: Mapping[str, str] | None = None,
    ) -> ValidatedRequest:
        # ASP.NET binds an empty query value to null: `?$select=` is the same as no $select (F-043).
        query = self.query_names[operation.operation_id].bind([(k, v) for k, v in _items(query) if v != ""])
        binding = self.bind(operation, body, media_type)
        refused: list[tuple[str, str]] = []
        violations: list[str] = []
        warnings: list[str] = []
        if binding is not None:
            body = binding.value
            for note in binding.notes:
                where = ".".join([operation.body_name, *map(str, note.path)])
                if note.violation and self.unknown_properties == "reject":
                    refused.append((where, note.refusal))
                else:
                    (violations if note.violation else warnings).append(f"{where}: {note.message}")
        errors, values = self.checker.check_request(
            operation,
            path=path,
            query=query,
            headers=headers,
            cookies=cookies,
            body=body,
            media_type=media_type,
            path_values=path_values,
        )
        errors = refused + errors
        if errors:
            raise InvalidRequest(refusal(errors), violations, warnings)
        path_values = path_values or {}
        return ValidatedRequest(
            operation,
            body,
            media_type,
            query={k: v for k, v in values.items() if k not in path_values},
            path={k: v for k, v in values.items() if k in path_values},
            violations=violations,
            warnings=warnings,
        )

    # -- responses ----------------------------------------------------------------------------

    def check_response(
        self,
        operation: Operation,
        *,
        path: str,
        status: int,
        media_type: str | None,
        value: Any,
        headers: Mapping[str, str],
    ) -> list[str]:
        """Every way this response breaks the contract (an empty list when it conforms)."""
        declared = operation.responses.get(str(status))
        if declared is None:
            return [f"status {status} is not declared for {operation.operation_id}"]
        content = declared.get("content")
        if not content:
            return [] if media_type is None else [f"status {status} has no body in the contract"]
        if media_type is None or media_type not in content:
            return [f"media type {media_type!r} is not declared for status {status}"]
        return self.checker.check_response(
            operation, path=path, status=status, media_type=media_type, value=value, headers=headers
        )


def _bind_form_names(raw: bytes, charset: str, node: Node) -> bytes:
    """A form body with each field name bound to its property's canonical name (``name=x`` is
    ``Name=x``, ``headers[a]=1`` is ``Headers[a]=1``), so that the wire reads each field as its
    property's type. The body as it came when nothing is renamed or it cannot be read (the wire
    then says why)."""
    if not node.is_object or not raw:
        return raw
    encoding = "utf-16-le" if charset.strip().lower() == "utf-16" else "utf-8"  # as contracts.wire reads it
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        return raw
    fields = text.split("&")
    changed = False
    for index, item in enumerate(fields):
        name, equals, value = item.partition("=")
        if len(name) > _LONGEST_NAME:
            continue
        try:
            decoded = unquote_plus(name, errors="strict")
        except UnicodeDecodeError:
            return raw
        base, bracket, rest = decoded.partition("[")
        found = node.member(base)
        if found is not None and found[0] != base:
            fields[index] = quote_plus(found[0] + bracket + rest, safe="[]") + equals + value
            changed = True
    return "&".join(fields).encode(encoding) if changed else raw


def _bind_xml_names(raw: bytes, node: Node) -> bytes | None:
    """An XML body (already read once without error) with each element named by its property's
    canonical name, at every depth the schema describes; dictionaries' entries are left alone.
    None if it cannot be written again (the body is then taken as first read)."""
    try:
        root = SafeET.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        _name_children(root, node)
        # a raw CR in text would be read back as LF; as a character reference it survives
        written: bytes = tostring(root, encoding="utf-8").replace(b"\r", b"&#13;")
        return written
    except (SafeET.ParseError, DefusedXmlException, ValueError, TypeError, RecursionError):
        return None


def _name_children(element: Element, node: Node) -> None:
    if node.is_object:
        for child in element:
            local = child.tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1] if isinstance(child.tag, str) else ""
            found = node.member(local)
            if found is not None:
                child.tag = found[0]
                _name_children(child, found[1])
    elif node.items is not None:
        for child in element:
            _name_children(child, node.items)


def _items(query: Any) -> list[tuple[str, str]]:
    if hasattr(query, "items") and hasattr(query, "getlist"):
        return list(query.items(multi=True))
    return list(query.items()) if hasattr(query, "items") else list(query)
