"""The one validation seam: every request in, every response out, checked against the contract.

Built once per app from the contract. A request is routed to its operation (404/405), its body
is read in whichever of the documented content types it came (415/400), decoded to its JSON
value (``contracts.wire``) and then validated as that JSON value, so that one schema judges all
seven content types. Every response the mock sends is validated the same way.

Two validators give the same verdicts (``tests/test_fastpath.py``): the fast path
(``mockserver.fastpath``, the contract compiled once into per-operation validators; the default)
and openapi-core, the reference (``MockConfig(validator="openapi-core")``), about 3 ms a request.

Errors name the field the way ASP.NET Web API's ModelState does: ``entity.WebhookId`` for the
SaveWebhook body (the pages call it "Request Body: entity"), ``request.StatusFilter`` for the
other operations' bodies, and the parameter name for query and header parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from werkzeug.datastructures import Headers, ImmutableMultiDict

from contracts.spec import Contract
from contracts.wire import FORM_TYPE, WireError, WireFormats, encode_json, parse_media_type
from mockserver.errors import AgentError, bad_request
from mockserver.fastpath import FastPath, body_name, describe

__all__ = ["Operation", "Seam", "ValidatedRequest", "Validator", "describe"]

Validator = Literal["fast", "openapi-core"]


@dataclass(frozen=True)
class Operation:
    operation_id: str
    path: str
    method: str
    body_name: str
    body_content: Mapping[str, Any]
    body_required: bool
    responses: Mapping[str, Any]
    query_types: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def cast_query(self, query: list[tuple[str, str]]) -> dict[str, Any]:
        """Query values as the contract types them (only called once they validated). Of a
        repeated parameter the first value counts: the one openapi-core validated."""
        values: dict[str, Any] = {}
        for name, value in query:
            types = self.query_types.get(name)
            if types is None or name in values:
                continue
            values[name] = int(value) if "integer" in types else value
        return values

    def response_schema(self, status: int, media_type: str) -> Any:
        response = self.responses.get(str(status))
        if response is None:
            return None
        return response.get("content", {}).get(media_type, {}).get("schema")


@dataclass
class ValidatedRequest:
    operation: Operation
    body: Any
    media_type: str | None
    query: dict[str, Any] = field(default_factory=dict)


class _Request:
    """A request as openapi-core reads it, its body replaced by the body's JSON value."""

    def __init__(self, path: str, method: str, query: Any, headers: Any, cookies: Any, body: bytes | None) -> None:
        from openapi_core.datatypes import RequestParameters

        self.host_url = "http://mock"
        self.path = path
        self.full_url_pattern = "http://mock" + path
        self.method = method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query), header=Headers(headers), cookie=ImmutableMultiDict(cookies), path={}
        )
        self.body = body
        self.content_type = "application/json" if body is not None else ""


class _Response:
    def __init__(self, status: int, media_type: str, body: bytes, headers: Mapping[str, str]) -> None:
        self.status_code = status
        self.content_type = media_type
        self.data = body
        self.headers = Headers(dict(headers))


class Seam:
    def __init__(self, contract: Contract, wire: WireFormats, validator: Validator = "fast") -> None:
        self.contract = contract
        self.wire = wire
        self.validator = validator
        self.fast = FastPath(contract.document) if validator == "fast" else None
        self.operations: dict[str, dict[str, Operation]] = {}
        for path, item in contract.document["paths"].items():
            for method, spec in item.items():
                if not isinstance(spec, dict) or "operationId" not in spec:
                    continue
                body = contract.resolve(spec.get("requestBody", {}))
                self.operations.setdefault(path, {})[method.upper()] = Operation(
                    operation_id=spec["operationId"],
                    path=path,
                    method=method.upper(),
                    body_name=body_name(spec),
                    body_content=body.get("content", {}),
                    body_required=bool(body.get("required", False)),
                    responses={code: contract.resolve(r) for code, r in spec["responses"].items()},
                    query_types=self._query_types(spec),
                )

    def _query_types(self, spec: Mapping[str, Any]) -> dict[str, frozenset[str]]:
        types = {}
        for param in spec.get("parameters", []):
            param = self.contract.resolve(param)
            if param["in"] == "query":
                types[param["name"]] = self.wire.shape(param.get("schema", True)).types
        return types

    # -- routing ------------------------------------------------------------------------------

    def route(self, path: str, method: str) -> Operation:
        by_method = self.operations.get(path)
        if by_method is None:
            raise AgentError(
                404,
                f"No HTTP resource was found that matches the request URI '{path}'.",
                "No operation of the Webhook agent has this path.",
            )
        operation = by_method.get(method.upper())
        if operation is None:
            allowed = ", ".join(sorted(by_method))
            raise AgentError(
                405,
                f"The requested resource does not support http method '{method.upper()}'.",
                f"Agent operations are invoked with {allowed}.",
                headers={"Allow": allowed},
            )
        return operation

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
        try:
            value = self.wire.decode(media_type, raw, schema, charset=params.get("charset", "utf-8"))
        except WireError as error:
            raise bad_request(error.message + " " + error.detail, {operation.body_name: [error.detail]}) from None
        return value, media_type

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
    ) -> ValidatedRequest:
        # ASP.NET binds an empty query value to null: `?$select=` is the same as no $select (F-043).
        query = [(k, v) for k, v in _items(query) if v != ""]
        if self.fast is not None:
            compiled = self.fast.operations[operation.operation_id]
            errors, values = compiled.check_request(query, headers, body, media_type)
        else:
            errors = self.reference_errors(
                operation,
                path=path,
                query=query,
                headers=headers,
                cookies=cookies,
                body=body,
                media_type=media_type,
            )
            values = {} if errors else operation.cast_query(query)
        if errors:
            model_state: dict[str, list[str]] = {}
            for key, message in errors:
                model_state.setdefault(key, []).append(message)
            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in model_state.items())
            raise bad_request(detail, model_state)
        return ValidatedRequest(operation, body, media_type, query=values)

    def reference_errors(
        self,
        operation: Operation,
        *,
        path: str,
        query: list[tuple[str, str]],
        headers: Any,
        cookies: Any,
        body: Any,
        media_type: str | None,
    ) -> list[tuple[str, str]]:
        """openapi-core's verdict on a request, as ModelState pairs (empty when it conforms)."""
        from openapi_core.validation.request.exceptions import SecurityValidationError

        encoded = None if media_type is None else encode_json(body)
        request = _Request(path, operation.method, query, headers, cookies, encoded)
        errors = []
        for error in self.contract.openapi.iter_request_errors(request):
            if isinstance(error, SecurityValidationError):
                continue  # the Authenticator has already accepted the caller
            errors += self._describe(operation, error)
        return errors

    def _describe(self, operation: Operation, error: Exception) -> list[tuple[str, str]]:
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
        if media_type not in content:
            return [f"media type {media_type!r} is not declared for status {status}"]
        if self.fast is not None:
            compiled = self.fast.operations[operation.operation_id]
            return compiled.check_response(status, media_type, value, headers)
        return self.reference_response_problems(operation, path=path, status=status, value=value, headers=headers)

    def reference_response_problems(
        self, operation: Operation, *, path: str, status: int, value: Any, headers: Mapping[str, str]
    ) -> list[str]:
        """openapi-core's verdict on a response body and headers (empty when it conforms)."""
        request = _Request(path, operation.method, {}, {}, {}, None)
        response = _Response(status, "application/json", encode_json(value), headers)
        problems = []
        for error in self.contract.openapi.iter_response_errors(request, response):
            messages = _schema_messages(error.__cause__)
            problems += [f"{'.'.join(map(str, w)) or '(body)'}: {m}" for w, m in messages] or [str(error)]
        return problems


def _items(query: Any) -> list[tuple[str, str]]:
    if hasattr(query, "items") and hasattr(query, "getlist"):
        return list(query.items(multi=True))
    return list(query.items()) if hasattr(query, "items") else list(query)


def _schema_messages(cause: BaseException | None) -> list[tuple[list[Any], str]]:
    errors = getattr(cause, "schema_errors", None) or ()
    return [(list(error.absolute_path), describe(error)) for error in errors]

