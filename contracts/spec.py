"""The one loader of the contract.

Everything in this project reads the OpenAPI document through :func:`load`; nothing else opens
the file. The document is read once per process and handed out as both the parsed dict and an
``openapi_core.OpenAPI`` object built from it on first use (the mock's fast path never needs it,
and importing openapi-core costs a process about 0.3 s and 30 MB: bench/README.md).

In a source checkout (or an editable install) the document is ``openapi/webhook-agent.yaml`` at
the top of the repository; in a built wheel it travels inside this package as
``contracts/_contract/webhook-agent.yaml`` (see ``pyproject.toml``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from openapi_core import OpenAPI

__all__ = ["Contract", "DOCUMENT_NAME", "Operation", "document_path", "load"]

DOCUMENT_NAME = "webhook-agent.yaml"
_BUNDLED = Path(__file__).with_name("_contract") / DOCUMENT_NAME
_SOURCE = Path(__file__).resolve().parent.parent / "openapi" / DOCUMENT_NAME

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class Operation:
    """One operation of the contract, its references followed: the one index of the operations
    that the mock's seam and fast path, the strategies, the checks, the verify runner and the
    schemathesis adapter all read (``Contract.operations``)."""

    operation_id: str
    path: str
    method: str  # upper case, as on the wire
    pointer: str  # JSON pointer of the operation object in the document
    spec: Mapping[str, Any]  # the operation object itself (its extensions: x-rules, ...)
    body_name: str  # the ModelState name of the body: ``entity`` for SaveWebhook, else ``request``
    body_required: bool
    body_content: Mapping[str, Any]  # media type -> media type object (of the request body)
    responses: Mapping[str, Any]  # status -> response object
    parameters: tuple[Mapping[str, Any], ...]  # parameter objects
    inherited_rules: tuple[Mapping[str, Any], ...] = ()  # the x-rules of the operation x-rules-of names

    @property
    def media_types(self) -> tuple[str, ...]:
        """The request body's media types, in the contract's order (empty: no body)."""
        return tuple(self.body_content)

    @property
    def rules(self) -> list[dict[str, Any]]:
        """The operation's ``x-rules``: the documented rules no JSON Schema keyword states; for an
        operation that says ``x-rules-of: <operationId>`` (REST's POST, PUT and PATCH of a
        webhook: SaveWebhook's), those of that operation."""
        return list(self.spec.get("x-rules", [])) or [dict(rule) for rule in self.inherited_rules]

    @property
    def success_status(self) -> int:
        """The lowest 2xx status the operation answers with."""
        return min(int(code) for code in self.responses if code.startswith("2"))

    def query(self) -> tuple[Mapping[str, Any], ...]:
        """The query parameters."""
        return tuple(p for p in self.parameters if p["in"] == "query")

    def response_schema(self, status: int | str, media_type: str) -> Any:
        """The schema of the answer with this status and media type (``None``: not declared)."""
        response = self.responses.get(str(status))
        if response is None:
            return None
        return response.get("content", {}).get(media_type, {}).get("schema")


@dataclass(frozen=True, eq=False)
class Contract:
    """The contract, read once: its text, the parsed document and the openapi-core object.

    ``document`` is shared by every caller: treat it as read-only (copy it before changing it).
    """

    path: Path
    text: str
    document: dict[str, Any]

    @functools.cached_property
    def openapi(self) -> OpenAPI:
        """The ``openapi_core.OpenAPI`` object of the document, built on first use."""
        from openapi_core import OpenAPI

        return OpenAPI.from_dict(self.document)

    def __repr__(self) -> str:
        return f"Contract({str(self.path)!r})"

    def as_json(self, *, indent: int | None = 2) -> str:
        """The document as JSON text."""
        return json.dumps(self.document, indent=indent, ensure_ascii=False)

    @functools.cached_property
    def operations(self) -> Mapping[str, Operation]:
        """Every operation of ``paths`` by its ``operationId``, in the document's order (the
        webhook delivery, a callback the mock sends rather than serves, is not among them)."""
        operations: dict[str, Operation] = {}
        for path, item in self.document["paths"].items():
            for method in _METHODS:
                spec = item.get(method)
                if isinstance(spec, dict) and "operationId" in spec:
                    operations[spec["operationId"]] = self._operation(path, method, spec, item)
        return operations

    @functools.cached_property
    def paths(self) -> Mapping[str, Mapping[str, Operation]]:
        """``paths[path][METHOD]``: the operations by where they are served (for routing)."""
        paths: dict[str, dict[str, Operation]] = {}
        for operation in self.operations.values():
            paths.setdefault(operation.path, {})[operation.method] = operation
        return paths

    @functools.cached_property
    def unrouted(self) -> Mapping[str, Any]:
        """The answers to a request no operation serves, by status: the path of none (404), an
        operation's path with another method (405): the document's ``x-sowebhook-unrouted``."""
        declared = self.document.get("x-sowebhook-unrouted", {})
        return {status: self.resolve(response) for status, response in declared.items()}

    def operation(self, operation_id: str) -> Operation:
        """The operation with this ``operationId``."""
        try:
            return self.operations[operation_id]
        except KeyError:
            raise KeyError(f"no operation {operation_id!r} in the contract") from None

    def _operation(self, path: str, method: str, spec: dict[str, Any], item: dict[str, Any]) -> Operation:
        body = self.resolve(spec.get("requestBody", {}))
        escaped = path.replace("~", "~0").replace("/", "~1")
        return Operation(
            operation_id=spec["operationId"],
            path=path,
            method=method.upper(),
            pointer=f"/paths/{escaped}/{method}",
            spec=spec,
            body_name=str(spec.get("x-codegen-request-body-name", "request")),
            body_required=bool(body.get("required", False)),
            body_content=body.get("content", {}),
            responses={
                status: self.resolve(response) for status, response in spec.get("responses", {}).items()
            },
            parameters=self._parameters(item.get("parameters", []), spec.get("parameters", [])),
            inherited_rules=tuple(self._rules_of(spec.get("x-rules-of"))),
        )

    def _rules_of(self, operation_id: str | None) -> list[dict[str, Any]]:
        """The ``x-rules`` of the operation with this id, read from the document (the index is
        being built when this is called)."""
        if operation_id is None:
            return []
        for item in self.document["paths"].values():
            for method in _METHODS:
                spec = item.get(method)
                if isinstance(spec, dict) and spec.get("operationId") == operation_id:
                    return list(spec.get("x-rules", []))
        raise KeyError(f"x-rules-of names no operation: {operation_id!r}")

    def _parameters(self, shared: list[Any], own: list[Any]) -> tuple[Mapping[str, Any], ...]:
        """The operation's parameters: the path item's, overridden by the operation's own."""
        merged = {}
        for parameter in [*shared, *own]:
            parameter = self.resolve(parameter)
            merged[(parameter["name"], parameter["in"])] = parameter
        return tuple(merged.values())

    def validator(self, schema_name: str) -> Any:
        """A JSON Schema 2020-12 validator of ``components/schemas/<schema_name>`` (cached)."""
        cache = self.__dict__.setdefault("_validators", {})
        if schema_name not in cache:
            cache[schema_name] = _schema_validator(self.document, schema_name)
        return cache[schema_name]

    def resolve(self, node: Any) -> Any:
        """Follow a local ``$ref`` (repeatedly) to the node it names."""
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only local references are used in the contract, not {ref!r}")
            target: Any = self.document
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node


def _schema_validator(document: dict[str, Any], name: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry = Registry().with_resource(_URN, resource)
    return Draft202012Validator({"$ref": f"{_URN}#/components/schemas/{name}"}, registry=registry)


_URN = "urn:superoffice-webhook-contracts:contract"


def document_path() -> Path:
    """Where the document is: bundled in the package when installed from a wheel, else the checkout."""
    if _BUNDLED.is_file():
        return _BUNDLED
    if _SOURCE.is_file():
        return _SOURCE
    raise FileNotFoundError(
        f"the contract {DOCUMENT_NAME} is neither bundled at {_BUNDLED} nor in a checkout at {_SOURCE}"
    )


@functools.cache
def load() -> Contract:
    """Read and parse the contract once per process."""
    path = document_path()
    text = path.read_text(encoding="utf-8")
    document = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    return Contract(path=path, text=text, document=document)
