"""The reference validator: openapi-core judging each request and response, about 3 ms a request.

``MockConfig(validator="openapi-core")`` chooses it; the default is the fast path
(``mockserver.fastpath``), which gives the same verdicts (``tests/test_fastpath.py``). Both have
the interface the seam calls, chosen once when the seam is built:

- ``check_request(operation, *, path, query, headers, cookies, body, media_type)`` gives the
  request's errors as ModelState pairs and its query values cast to their types;
- ``check_response(operation, *, path, status, media_type, value, headers)`` gives every way a
  response's body and declared headers break the contract.

The body a validator sees is the body's JSON value, whatever content type it came in (the seam
has decoded and bound it): openapi-core is handed it as JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from werkzeug.datastructures import Headers, ImmutableMultiDict

from contracts.spec import Contract, Operation
from contracts.wire import WireFormats, encode_json
from mockserver.fastpath import ModelState, describe

__all__ = ["Reference"]


class Reference:
    """openapi-core behind the seam's validator interface."""

    def __init__(self, contract: Contract, wire: WireFormats) -> None:
        self.contract = contract
        # what each query parameter is typed as, to hand the agent its values cast
        self.query_types: dict[str, dict[str, frozenset[str]]] = {
            operation.operation_id: {
                p["name"]: wire.shape(p.get("schema", True)).types for p in operation.query()
            }
            for operation in contract.operations.values()
        }
        self.path_types: dict[str, dict[str, frozenset[str]]] = {
            operation.operation_id: {
                p["name"]: wire.shape(p.get("schema", True)).types
                for p in operation.parameters
                if p["in"] == "path"
            }
            for operation in contract.operations.values()
        }

    def cast_query(self, operation: Operation, query: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """Query values as the contract types them (only called once they validated). Of a
        repeated parameter the first value counts: the one openapi-core validated."""
        types_of = self.query_types[operation.operation_id]
        values: dict[str, Any] = {}
        for name, value in query:
            types = types_of.get(name)
            if types is None or name in values:
                continue
            values[name] = int(value) if "integer" in types else value
        return values

    def cast_path(self, operation: Operation, values: Mapping[str, str]) -> dict[str, Any]:
        """Path parameters' texts as the contract types them (only called once they validated)."""
        types_of = self.path_types[operation.operation_id]
        return {
            name: int(text) if "integer" in types_of.get(name, ()) else text for name, text in values.items()
        }

    def check_request(
        self,
        operation: Operation,
        *,
        path: str,
        query: list[tuple[str, str]],
        headers: Any,
        cookies: Any,
        body: Any,
        media_type: str | None,
        path_values: Mapping[str, str] | None = None,
    ) -> tuple[ModelState, dict[str, Any]]:
        """openapi-core's verdict on a request, as ModelState pairs (empty when it conforms);
        openapi-core reads the path's parameters from ``path`` itself."""
        from openapi_core.validation.request.exceptions import SecurityValidationError

        encoded = None if media_type is None else encode_json(body)
        request = _Request(
            _concrete(operation, path_values or {}), operation.method, query, headers, cookies, encoded
        )
        errors: ModelState = []
        for error in self.contract.openapi.iter_request_errors(request):
            if isinstance(error, SecurityValidationError):
                continue  # the Authenticator has already accepted the caller
            errors += _describe(operation, error)
        if errors:
            return errors, {}
        return errors, {**self.cast_query(operation, query), **self.cast_path(operation, path_values or {})}

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
        """openapi-core's verdict on a response body and headers (empty when it conforms)."""
        request = _Request(_concrete(operation, {}), operation.method, {}, {}, {}, None)
        response = _Response(status, "application/json", encode_json(value), headers)
        problems = []
        for error in self.contract.openapi.iter_response_errors(request, response):
            messages = _schema_messages(error.__cause__)
            problems += [f"{'.'.join(map(str, w)) or '(body)'}: {m}" for w, m in messages] or [str(error)]
        return problems


def _concrete(operation: Operation, values: Mapping[str, str]) -> str:
    """The operation's path with its parameters' texts, as the contract spells it: openapi-core
    finds the operation by it (the router has read the request's path in any case, with or
    without a trailing slash; a parameter not given is 0, for the answer, which needs only the
    operation)."""
    return re.sub(
        r"\{([^{}/]+)\}",
        lambda found: quote(values.get(found.group(1), "0"), safe="!$&'()*+,;=:@-._~"),
        operation.path,
    )


def _describe(operation: Operation, error: Exception) -> ModelState:
    from openapi_core.validation.request.exceptions import (
        InvalidRequestBody,
        MissingRequiredParameter,
        MissingRequiredRequestBody,
        ParameterValidationError,
    )

    if isinstance(error, MissingRequiredParameter):
        name = error.name
        return [(name, f"The parameters dictionary contains a null entry for parameter '{name}'.")]
    if isinstance(error, ParameterValidationError):  # invalid, or not castable to its type
        messages = _schema_messages(error.__cause__)
        return [(error.name, m) for _, m in messages] or [(error.name, str(error.__cause__ or error))]
    if isinstance(error, MissingRequiredRequestBody):
        return [(operation.body_name, "A value is required.")]
    if isinstance(error, InvalidRequestBody):
        return [
            (".".join([operation.body_name, *map(str, where)]), message)
            for where, message in _schema_messages(error.__cause__)
        ] or [(operation.body_name, str(error.__cause__ or error))]
    return [(operation.body_name, str(error))]


def _schema_messages(cause: BaseException | None) -> list[tuple[list[Any], str]]:
    errors = getattr(cause, "schema_errors", None) or ()
    return [(list(error.absolute_path), describe(error)) for error in errors]


class _Request:
    """A request as openapi-core reads it, its body replaced by the body's JSON value."""

    def __init__(
        self, path: str, method: str, query: Any, headers: Any, cookies: Any, body: bytes | None
    ) -> None:
        from openapi_core.datatypes import RequestParameters

        self.host_url = "http://mock"
        self.path = path
        self.full_url_pattern = "http://mock" + path
        self.method = method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query),
            header=Headers(headers),
            cookie=ImmutableMultiDict(cookies),
            path={},
        )
        self.body = body
        self.content_type = "application/json" if body is not None else ""


class _Response:
    def __init__(self, status: int, media_type: str, body: bytes, headers: Mapping[str, str]) -> None:
        self.status_code = status
        self.content_type = media_type
        self.data = body
        self.headers = Headers(dict(headers))
