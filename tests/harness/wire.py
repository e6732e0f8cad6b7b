"""openapi-core's view of an exchange: ``wire_request``, ``wire_response``."""

from __future__ import annotations

import json
from typing import Any

from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response


def wire_request(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    query: dict[str, str] | None = None,
) -> WerkzeugOpenAPIRequest:
    """An HTTP request as openapi-core sees it, built the way a WSGI server would build it."""
    headers = dict(headers or {})
    content_type = headers.pop("Content-Type", None)
    builder = EnvironBuilder(
        method=method,
        path=path,
        base_url="http://localhost",
        headers=headers,
        data=body,
        content_type=content_type,
        query_string=query,
    )
    return WerkzeugOpenAPIRequest(Request(builder.get_environ()))


def wire_response(
    status: int, *, headers: dict[str, str] | None = None, body: Any = None
) -> WerkzeugOpenAPIResponse:
    headers = dict(headers or {})
    content_type = headers.pop("Content-Type", None)
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    response = Response(data, status=status, headers=headers, content_type=content_type)
    if status == 204:
        response.headers.pop("Content-Type", None)
    return WerkzeugOpenAPIResponse(response)
