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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from openapi_core import OpenAPI

__all__ = ["Contract", "DOCUMENT_NAME", "document_path", "load"]

DOCUMENT_NAME = "webhook-agent.yaml"
_BUNDLED = Path(__file__).with_name("_contract") / DOCUMENT_NAME
_SOURCE = Path(__file__).resolve().parent.parent / "openapi" / DOCUMENT_NAME

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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

    def operation(self, operation_id: str) -> tuple[str, str, dict[str, Any]]:
        """``(path, method, operation)`` of the operation with this ``operationId``."""
        for path, item in self.document["paths"].items():
            for method, operation in item.items():
                if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                    return path, method, operation
        raise KeyError(f"no operation {operation_id!r} in the contract")

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
