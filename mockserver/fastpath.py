"""The contract compiled once into per-operation validators: the seam's fast path.

openapi-core (the reference, ``MockConfig(validator="openapi-core")``) spends about 3 ms on a
request: it finds the operation, reads every parameter through its style machinery and builds a
JSON Schema validator for each schema it meets, on every call. Here each operation is compiled
once, at startup, from ``contracts.spec.load().document``: its query and header parameters
(required or not, the schema, cast from text as openapi-core casts them), its request body schema
per media type and its response schema per status and media type. Every schema is a jsonschema-rs
validator of a ``$ref`` into the whole document, so references resolve as they do in the
contract.

Same verdicts as openapi-core (``tests/test_fastpath.py`` holds the two to it):

- jsonschema-rs never accepts what openapi-core rejects. ``pattern`` is evaluated in Python with
  ``re.search``, as jsonschema under openapi-core does it (jsonschema-rs follows ECMA 262, where
  ``$`` does not match before a final newline and ``\\s`` is another set of characters);
  ``format: int32``/``int64`` become ``minimum``/``maximum``, which is stricter than OpenAPI's
  format check (that one lets a float such as ``3e9`` pass); any other format is checked by the
  format checker openapi-core uses.
- When jsonschema-rs says "invalid" (or cannot read a value), openapi-core's own JSON Schema
  validator (openapi-schema-validator's OAS31Validator with the format checker openapi-core uses,
  built on first use) has the last word and words the errors, so a 400 names the same fields with
  the same messages as the reference. Valid input never reaches it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import jsonschema_rs

from contracts.spec import Contract, Operation
from mockserver.masking import MASK, mask_body

__all__ = ["CompiledOperation", "FastPath", "ModelState", "Unsupported", "describe"]

_URN = "urn:superoffice-webhook-contracts:contract"
_POINTER_SAFE = "/~!$&'()*+,;=:@-._"  # a JSON pointer in a URI fragment: RFC 6901 6, RFC 3986 3.5
_PATTERN, _FORMAT = "x-sowebhook-pattern", "x-sowebhook-format"
_VALUE_KEYWORDS = frozenset({"enum", "const", "default", "example", "examples"})  # values, not schemas
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas", "schemas"})

ModelState = list[tuple[str, str]]  # (field, message) pairs, in the order openapi-core reports them


class Unsupported(ValueError):
    """A part of the contract the fast path does not compile; the message names it."""


# -- keywords evaluated as openapi-core evaluates them -------------------------------------------


class _Pattern:
    """``pattern`` with Python's ``re.search``, as jsonschema (under openapi-core) applies it."""

    def __init__(self, parent: Any, value: str, path: Any) -> None:
        self.search = re.compile(value).search

    def validate(self, instance: Any) -> None:
        if isinstance(instance, str) and self.search(instance) is None:
            raise ValueError("does not match the pattern")


class _Format:
    """A ``format`` other than int32/int64 (none in the contract today), by openapi-core's checker."""

    def __init__(self, parent: Any, value: str, path: Any) -> None:
        from openapi_schema_validator import OAS30ReadValidator

        self.checker, self.format = OAS30ReadValidator.FORMAT_CHECKER, value

    def validate(self, instance: Any) -> None:
        if not self.checker.conforms(instance, self.format):
            raise ValueError("does not conform to the format")


_INTEGER_FORMATS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_KEYWORDS: dict[str, Any] = {_PATTERN: _Pattern, _FORMAT: _Format}


def _for_rust(node: Any) -> Any:
    """The document as jsonschema-rs compiles it: ``pattern`` and ``format`` as above."""
    if isinstance(node, list):
        return [_for_rust(item) for item in node]
    if not isinstance(node, dict):
        return node
    kind = node.get("format")
    bounds = _INTEGER_FORMATS.get(kind) if isinstance(kind, str) else None
    result = {}
    for key, value in node.items():
        if key in _VALUE_KEYWORDS:
            result[key] = value
        elif key in _SCHEMA_MAPS and isinstance(value, dict):  # names, not keywords
            result[key] = {name: _for_rust(schema) for name, schema in value.items()}
        elif key == "pattern" and isinstance(value, str):
            result[_PATTERN] = value
        elif key == "format" and isinstance(value, str):
            if bounds is None:
                result[_FORMAT] = value
        elif bounds is None or key not in ("minimum", "maximum"):
            result[key] = _for_rust(value)
    if bounds is not None:  # bounds that also apply to floats: stricter than the format, never looser
        result["minimum"] = max(node.get("minimum", bounds[0]), bounds[0])
        result["maximum"] = min(node.get("maximum", bounds[1]), bounds[1])
    return result


# -- schemas ----------------------------------------------------------------------------------


class _Compiler:
    """Validators of schemas named by their JSON pointer into the document (one per distinct schema)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._registry = jsonschema_rs.Registry(
            [(_URN, _for_rust(document))], draft=jsonschema_rs.Draft202012
        )
        self._schemas: dict[str, _Schema] = {}
        self._reference_registry: Any = None

    def schema(self, pointer: str) -> _Schema:
        key = json.dumps(_at(self.document, pointer), sort_keys=True)  # equal schemas share a validator
        if key not in self._schemas:
            fast = jsonschema_rs.Draft202012Validator(
                {"$ref": f"{_URN}#{quote(pointer, safe=_POINTER_SAFE)}"},
                registry=self._registry,
                keywords=_KEYWORDS,
            )
            self._schemas[key] = _Schema(self, pointer, fast)
        return self._schemas[key]

    def reference(self, pointer: str) -> Any:
        """openapi-core's JSON Schema validator of the schema at ``pointer``."""
        from openapi_schema_validator import OAS30ReadValidator, OAS31Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        if self._reference_registry is None:
            resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
            self._reference_registry = Registry().with_resource(_URN, resource)
        return OAS31Validator(
            {"$ref": f"{_URN}#{quote(pointer, safe=_POINTER_SAFE)}"},
            registry=self._reference_registry,
            format_checker=OAS30ReadValidator.FORMAT_CHECKER,  # as openapi-core's OAS 3.1 factory
        )


@dataclass(eq=False)
class _Schema:
    compiler: _Compiler
    pointer: str
    fast: Any
    _reference: Any = None

    def fast_verdict(self, value: Any) -> bool | None:
        """jsonschema-rs's verdict; None when it cannot read the value."""
        try:
            return bool(self.fast.is_valid(value))
        except Exception:  # a value jsonschema-rs cannot take (too deep, ...): the reference decides
            return None

    def errors(self, value: Any) -> list[tuple[tuple[Any, ...], str]]:
        """``(path in the value, message)`` of every error; empty when the value conforms."""
        if self.fast_verdict(value):
            return []
        if self._reference is None:
            self._reference = self.compiler.reference(self.pointer)
        return [(tuple(error.absolute_path), describe(error)) for error in self._reference.iter_errors(value)]


# -- parameters -------------------------------------------------------------------------------


def _force_bool(value: str) -> bool:  # openapi_core.util.forcebool
    lowered = value.lower()
    if lowered in ("y", "yes", "t", "true", "on", "1"):
        return True
    if lowered in ("n", "no", "f", "false", "off", "0"):
        return False
    raise ValueError(f"invalid truth value {value!r}")


_CASTS: dict[Any, Callable[[str], Any]] = {"integer": int, "number": float, "boolean": _force_bool}


@dataclass(frozen=True)
class _Parameter:
    """A query or header parameter in the simple form the contract uses: one value, cast from
    text by the schema's type as openapi-core casts it (``int()`` for integers)."""

    name: str
    location: str
    required: bool
    kind: str
    schema: _Schema

    def read(self, text: str) -> tuple[Any, list[tuple[str, str]]]:
        cast = _CASTS.get(self.kind)
        if cast is not None:
            try:
                text = cast(text)
            except (ValueError, TypeError):
                return None, [(self.name, f"Failed to cast value to {self.kind} type: {text}")]
        return text, [(self.name, message) for _, message in self.schema.errors(text)]


# -- operations -------------------------------------------------------------------------------


@dataclass
class CompiledOperation:
    operation_id: str
    body_name: str
    parameters: tuple[_Parameter, ...] = ()
    has_body: bool = False
    body_required: bool = False
    bodies: dict[str, _Schema] = field(default_factory=dict)  # by media type
    responses: dict[tuple[str, str], _Schema] = field(default_factory=dict)  # by (status, media type)
    response_headers: dict[str, tuple[_Parameter, ...]] = field(default_factory=dict)  # by status

    def check_request(
        self,
        query: Iterable[tuple[str, str]],
        headers: Mapping[str, str],
        body: Any,
        media_type: str | None,
        path_values: Mapping[str, str] | None = None,
    ) -> tuple[ModelState, dict[str, Any]]:
        """The request's errors as ModelState pairs, and its query and path values cast to their types.

        ``headers`` is looked up case-insensitively (werkzeug's Headers); of a repeated query
        parameter the first value counts, as in openapi-core. ``media_type`` None means no body.
        ``path_values`` are the texts of the path's parameters (``mockserver.routing``).
        """
        first: dict[str, str] = {}
        for name, value in query:
            first.setdefault(name, value)
        model_state: ModelState = []
        values: dict[str, Any] = {}
        for parameter in self.parameters:
            if parameter.location == "query":
                text = first.get(parameter.name)
            elif parameter.location == "path":
                text = (path_values or {}).get(parameter.name)
            else:
                text = headers.get(parameter.name)
            if text is None:
                if parameter.required:
                    message = (
                        f"The parameters dictionary contains a null entry for parameter '{parameter.name}'."
                    )
                    model_state.append((parameter.name, message))
                continue
            value, errors = parameter.read(text)
            model_state += errors
            if not errors and parameter.location != "header":
                values[parameter.name] = value
        if media_type is None:
            if self.has_body and self.body_required:
                model_state.append((self.body_name, "A value is required."))
        elif self.has_body:
            schema = self.bodies.get(media_type)
            if schema is not None:
                model_state += [
                    (".".join([self.body_name, *map(str, where)]), message)
                    for where, message in schema.errors(body)
                ]
        return model_state, values

    def check_response(
        self, status: int, media_type: str, value: Any, headers: Mapping[str, str]
    ) -> list[str]:
        """Every way the body and the declared headers of a response break the contract."""
        schema = self.responses.get((str(status), media_type))
        errors = [] if schema is None else schema.errors(value)
        problems = [f"{'.'.join(map(str, where)) or '(body)'}: {message}" for where, message in errors]
        for header in self.response_headers.get(str(status), ()):
            text = headers.get(header.name)
            if text is not None:
                problems += [f"header {name}: {message}" for name, message in header.read(text)[1]]
        return problems


class FastPath:
    """Every operation of the contract, compiled: ``operations[operation_id]``; the seam calls
    ``check_request`` and ``check_response``, as it would call ``mockserver.reference``."""

    def __init__(self, contract: Contract) -> None:
        self._document = contract.document
        self._compiler = _Compiler(contract.document)
        self.operations: dict[str, CompiledOperation] = {
            operation_id: self._operation(operation)
            for operation_id, operation in contract.operations.items()
        }

    def check_request(
        self,
        operation: Operation,
        *,
        path: str,
        query: Iterable[tuple[str, str]],
        headers: Mapping[str, str],
        cookies: Any,
        body: Any,
        media_type: str | None,
        path_values: Mapping[str, str] | None = None,
    ) -> tuple[ModelState, dict[str, Any]]:
        """The request's errors as ModelState pairs, and its query and path values cast to their types."""
        return self.operations[operation.operation_id].check_request(
            query, headers, body, media_type, path_values
        )

    def check_response(
        self,
        operation: Operation,
        *,
        path: str,
        status: int,
        media_type: str,
        value: Any,
        headers: Mapping[str, str],
    ) -> list[str]:
        """Every way the body and the declared headers of a response break the contract."""
        return self.operations[operation.operation_id].check_response(status, media_type, value, headers)

    def _operation(self, operation: Operation) -> CompiledOperation:
        pointer, spec = operation.pointer, operation.spec
        compiled = CompiledOperation(operation.operation_id, operation.body_name)
        parameters = [
            self._parameter(f"{pointer}/parameters/{i}") for i in range(len(spec.get("parameters", [])))
        ]
        if operation.parameters and len(parameters) != len(operation.parameters):
            raise Unsupported(
                f"{operation.operation_id}: parameters of the path item: use validator='openapi-core'"
            )
        compiled.parameters = tuple(parameters)
        if "requestBody" in spec:
            body, body_pointer = self._follow(f"{pointer}/requestBody")
            compiled.has_body = True
            compiled.body_required = bool(body.get("required", False))
            for media_type, content in body.get("content", {}).items():
                if "schema" in content:
                    compiled.bodies[media_type] = self._compiler.schema(
                        f"{body_pointer}/content/{_escape(media_type)}/schema"
                    )
        for status in spec.get("responses", {}):
            response, response_pointer = self._follow(f"{pointer}/responses/{_escape(status)}")
            for media_type, content in response.get("content", {}).items():
                if "schema" in content:
                    compiled.responses[(status, media_type)] = self._compiler.schema(
                        f"{response_pointer}/content/{_escape(media_type)}/schema"
                    )
            headers = [
                self._parameter(f"{response_pointer}/headers/{_escape(name)}", name=name, location="header")
                for name in response.get("headers", {})
                if name.lower() != "content-type"  # openapi-core ignores a declared Content-Type
            ]
            if headers:
                compiled.response_headers[status] = tuple(headers)
        return compiled

    def _parameter(self, pointer: str, *, name: str | None = None, location: str | None = None) -> _Parameter:
        spec, pointer = self._follow(pointer)
        name = name or spec["name"]
        location = location or spec["in"]
        schema, _ = self._follow(f"{pointer}/schema")
        kind = schema.get("type")
        style = spec.get("style", "form" if location == "query" else "simple")
        if (location, style) not in (
            ("query", "form"),
            ("header", "simple"),
            ("path", "simple"),
        ) or "content" in spec:
            raise Unsupported(f"parameter {name!r} ({location}, style {style}): use validator='openapi-core'")
        if kind not in ("string", "integer", "number", "boolean"):  # one value; explode changes nothing
            raise Unsupported(f"parameter {name!r} of type {kind!r}: use validator='openapi-core'")
        return _Parameter(
            name,
            location,
            bool(spec.get("required", False)),
            kind,
            self._compiler.schema(f"{pointer}/schema"),
        )

    def _follow(self, pointer: str) -> tuple[Any, str]:
        """The node at ``pointer``, through Reference Objects (``$ref`` of a parameter, body, response)."""
        node = _at(self._document, pointer)
        while isinstance(node, dict) and "$ref" in node:
            pointer = node["$ref"].removeprefix("#")
            node = _at(self._document, pointer)
        return node, pointer


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _at(document: Any, pointer: str) -> Any:
    node = document
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


# -- messages ---------------------------------------------------------------------------------


def describe(error: Any) -> str:
    """jsonschema's message, without echoing a long value back in full, nor a webhook's Secret
    (masked as the journal masks it: F-133)."""
    kind, limit = error.validator, error.validator_value
    secret = any(isinstance(part, str) and part.lower() == "secret" for part in error.absolute_path)
    shown = MASK if secret else mask_body(error.instance)
    value = _short(repr(shown), 60)
    if kind == "maxLength":
        return f"{value} is too long ({len(error.instance)} characters; at most {limit})"
    if kind == "minLength":
        return f"{value} is too short (at least {limit} characters)"
    if kind == "maxItems":
        return f"has too many items ({len(error.instance)}; at most {limit})"
    message: str = error.message
    if len(message) > 300 or shown != error.instance:
        message = message.replace(repr(error.instance), value)
    return _short(message, 300)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
