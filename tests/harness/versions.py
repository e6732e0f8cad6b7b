"""Servers of another version, for ``verify`` and the checks: ``mock_app``, ``behind_proxy``,
``webhooks_changed``, ``newer``, ``events_of_wrong_type``, ``FUTURE``."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask
from werkzeug.wrappers import Request, Response

from contracts import load
from contracts.wire import XML_TYPES
from mockserver import MockConfig, create_app, state_of
from mockserver.config import DeliveryConfig


def mock_app(config: MockConfig | None = None) -> Flask:
    return create_app(config or MockConfig(delivery=DeliveryConfig(registration_ping=False)))


def behind_proxy(app: Flask, rewrite: Callable[[Request, Response], Response]) -> Callable[..., Any]:
    """The mock behind a WSGI proxy: ``rewrite(request, answer)`` changes what the mock answered,
    so the server differs from the mock only there (a different assumption, a newer server)."""

    def proxy(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = Response.from_app(app, environ)
        return rewrite(request, response)(environ, start_response)

    return proxy


def webhooks_changed(app: Flask, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[..., Any]:
    """The mock behind a proxy that passes every object it answers an agent call with (a webhook,
    each webhook of a list), in JSON or XML, through ``change``: a server of another version."""
    wire = state_of(app).wire
    contract = load()

    def rewrite(request: Request, response: Response) -> Response:
        operation = contract.document["paths"].get(request.path, {}).get("post")
        if operation is None or response.status_code != 200:
            return response
        declared = contract.resolve(operation["responses"]["200"]).get("content", {})
        schema = declared.get(response.mimetype, {}).get("schema")
        value = wire.decode(response.mimetype, response.get_data(), schema) if schema else None
        if isinstance(value, dict):
            value = change(value)
        elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
            value = [change(item) for item in value]
        else:
            return response
        body = (
            wire.encode_xml(value, schema)
            if response.mimetype in XML_TYPES
            else json.dumps(value, ensure_ascii=False).encode()
        )
        return Response(body, status=200, content_type=response.content_type)

    return behind_proxy(app, rewrite)


# Properties a next SuperOffice version could add to its Webhook carrier (no contract knows them).
FUTURE = ("NextVersionField", "Links")


def newer(webhook: dict[str, Any], counter: Iterator[int] = itertools.count(1)) -> dict[str, Any]:  # noqa: B008 - one counter for all calls, on purpose
    """A webhook as a newer server answers it: two properties more, whose values change with every
    answer, so that a model that compared them would fail."""
    serial = next(counter)
    return {
        **webhook,
        FUTURE[0]: serial,
        FUTURE[1]: {"Self": f"webhook/{webhook.get('WebhookId')}", "Serial": serial},
    }


def events_of_wrong_type(webhook: dict[str, Any]) -> dict[str, Any]:
    """A known property of the wrong type (Events is an array or null), next to a newer server's."""
    return {**newer(webhook), "Events": 5}
