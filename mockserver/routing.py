"""Which operation serves a request: the contract's paths, matched as ASP.NET Web API routes them.

- Literal segments match in any letter case (ASP.NET's routes are case-insensitive), and a
  trailing slash is ignored (``POST /api/v1/Webhook/`` is ``POST /api/v1/Webhook``: the REST
  client of @superoffice/webapi posts so; docs/fidelity.md F-200).
- A template's segment (``{id}``) takes one segment; one typed integer by the contract matches only
  an int32 written as .NET's ``int.TryParse`` reads it (an optional sign, digits, leading zeros
  however many), as the ``{id:int}`` constraint does: ``/api/v1/Webhook/abc`` and
  ``/api/v1/Webhook/2147483648`` match no route and are 404 (F-200).
- A path with literal segments where a template has a parameter wins (``/api/v1/Webhook/default``
  over ``/api/v1/Webhook/{id}``), as in OpenAPI and in ASP.NET's route precedence.

``route`` answers the operation and the path parameters' texts, or raises the 404 or the 405 (with
``Allow``) of the contract's ``x-sowebhook-unrouted``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from contracts.spec import Contract, Operation
from mockserver.errors import AgentError

__all__ = ["Router"]

_INT32 = (-(2**31), 2**31 - 1)
_SEGMENT = re.compile(r"\{([^{}/]+)\}")


@dataclass(frozen=True)
class _Template:
    pattern: re.Pattern[str]
    integers: frozenset[str]  # the parameters typed integer: their text must be an int32
    by_method: Mapping[str, Operation]
    literals: int  # how many literal segments (more: more specific)

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        values = found.groupdict()
        for name in self.integers:
            number = _int32(values[name])
            if number is None:
                return None
            values[name] = number
        return values


class Router:
    def __init__(self, contract: Contract) -> None:
        self._exact: dict[str, Mapping[str, Operation]] = {}
        templates: list[_Template] = []
        for path, by_method in contract.paths.items():
            if "{" not in path:
                self._exact[path.casefold()] = by_method
                continue
            integers = {
                parameter["name"]
                for operation in by_method.values()
                for parameter in operation.parameters
                if parameter["in"] == "path" and _is_integer(contract, parameter.get("schema", {}))
            }
            templates.append(
                _Template(
                    re.compile(_pattern(path, integers), re.IGNORECASE),
                    frozenset(integers),
                    by_method,
                    sum(1 for part in path.split("/") if part and "{" not in part),
                )
            )
        self._templates = sorted(templates, key=lambda t: -t.literals)

    def find(self, path: str) -> tuple[Mapping[str, Operation], dict[str, str]] | None:
        """The operations of the path by method, and its parameters' texts; None: no route."""
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        exact = self._exact.get(path.casefold())
        if exact is not None:
            return exact, {}
        for template in self._templates:
            values = template.match(path)
            if values is not None:
                return template.by_method, values
        return None

    def route(self, path: str, method: str) -> tuple[Operation, dict[str, str]]:
        found = self.find(path)
        if found is None:
            raise AgentError(
                404,
                f"No HTTP resource was found that matches the request URI '{path}'.",
                "No operation of the Webhook agent or of the REST Webhook endpoints has this path.",
            )
        by_method, values = found
        operation = by_method.get(method.upper())
        if operation is None:
            allowed = ", ".join(sorted(by_method))
            raise AgentError(
                405,
                f"The requested resource does not support http method '{method.upper()}'.",
                f"This path is served with {allowed}.",
                headers={"Allow": allowed},
            )
        return operation, values


def _pattern(path: str, integers: set[str]) -> str:
    pattern, last = "", 0
    for found in _SEGMENT.finditer(path):
        pattern += re.escape(path[last : found.start()])
        name = found.group(1)
        pattern += f"(?P<{name}>[+-]?[0-9]+)" if name in integers else f"(?P<{name}>[^/]+)"
        last = found.end()
    return pattern + re.escape(path[last:])


def _int32(text: str) -> str | None:
    """An optional sign and digits that ``int.TryParse`` reads as an int32, as its sign and digits
    without leading zeros (``/api/v1/Webhook/000…0001`` is webhook 1: however many zeros, the
    value is bound as ASP.NET binds it, and never as a text Python's ``int()`` refuses, of more
    than 4300 digits); None when it is none: no more than ten digits after the zeros, in range."""
    sign = text[0] if text[0] in "+-" else ""
    digits = text[len(sign) :].lstrip("0") or "0"
    if len(digits) > 10 or not _INT32[0] <= int(sign + digits) <= _INT32[1]:
        return None
    return sign + digits


def _is_integer(contract: Contract, schema: object) -> bool:
    resolved = contract.resolve(schema)
    return isinstance(resolved, dict) and resolved.get("type") == "integer"
