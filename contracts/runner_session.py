"""One ``sowebhook verify`` run's traffic: ``Client`` sends any operation of either face to the
server under test (over HTTP, or to a WSGI app in-process), rate-limited, and refuses to name a
webhook the run did not create; ``Session`` runs the named checks on every exchange and keeps the
model (``CheckContext``) of what the server should hold.

Safe against a real tenant: every id a request names (REST's path, the agent's query, a saved
body's ``WebhookId``) is 0 or one the server handed this run; anything else is a bug of the run,
raised as ``ForeignWebhook`` before the request leaves.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import requests
from hypothesis.errors import Flaky
from werkzeug.datastructures import Headers

from contracts.check_registry import (
    REST,
    CheckContext,
    Violation,
    run_checks,
    saving_operations,
    webhook_id_of,
)
from contracts.checks import known_only
from contracts.credentials import Credentials
from contracts.exchange import Exchange, WireRequest
from contracts.spec import load

__all__ = ["RUN", "Client", "ForeignWebhook", "Session"]


class ForeignWebhook(RuntimeError):
    """The run was about to name a webhook it did not create (a bug of the run, never sent)."""


RUN = "run"  # the outcome of an error that is no check's: the server could not be reached, say
_FLAKY = (
    "Hypothesis could not replay it: the server answered the same requests differently the next time"
    " (a flaky server), so this is the request as first seen, not shrunk"
)


class Client:
    """HTTP to the server under test, rate-limited, remembering what it created."""

    def __init__(
        self,
        target: Any,
        credentials: Credentials,
        min_interval: float,
        timeout: float,
        verify_tls: bool | str,
    ) -> None:
        self.base_url = target.rstrip("/") if isinstance(target, str) else "http://wsgi-app"
        self.app = None if isinstance(target, str) else target
        self.credentials = credentials
        self.session = requests.Session()
        self.session.verify = verify_tls
        self.min_interval = min_interval
        self.timeout = timeout
        self.created: set[int] = set()  # created and not (yet) deleted by the run
        self.owned: set[int] = set()  # every id the server handed the run: the only ids it may name
        self.count = 0
        self.served: Counter[tuple[str, int, str]] = (
            Counter()
        )  # (operation, status, media type): the run's coverage
        self._last = 0.0
        self._lock = threading.Lock()

    def send(
        self,
        operation: str,
        value: Any = None,
        *,
        path: Mapping[str, Any] | None = None,
        query: str = "",
        accept: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> tuple[Exchange, Any]:
        """``operation`` with the path parameters ``path``, ``query`` (``?name=value``) and ``value``
        as a JSON body."""
        called = load().operation(operation)
        target = called.path
        for name, given in (path or {}).items():
            target = target.replace("{" + name + "}", str(given))
        self._guard(operation, path or {}, query, value)
        sent = {**self.credentials.headers(), "Accept": accept, **(headers or {})}
        body = b""
        if value is not None:
            sent["Content-Type"] = "application/json; charset=utf-8"
            body = json.dumps(value, ensure_ascii=False).encode("utf-8")
        request = WireRequest(
            called.method,
            target + query,
            sent,
            body,
            value,
            "application/json" if value is not None else None,
        )
        with self._lock:
            wait = self._last + self.min_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # the rate limit asked for (--rate), never a wait for the server
            self._last = time.monotonic()
            self.count += 1
        if self.app is not None:  # in-process: a WSGI app, through werkzeug's test client
            from werkzeug.test import Client as WsgiClient

            answer: Any = _WsgiAnswer(
                WsgiClient(self.app).open(request.path, method=called.method, data=body or None, headers=sent)
            )
        else:
            answer = self.session.request(
                called.method,
                self.base_url + request.path,
                data=body or None,
                headers=sent,
                timeout=self.timeout,
            )
        exchange = Exchange(
            operation, request, answer.status_code, Headers(list(answer.headers.items())), answer.content
        )
        self.served[(operation, exchange.status, exchange.media_type)] += 1
        return exchange, answer

    def _guard(self, operation: str, path: Mapping[str, Any], query: str, value: Any) -> None:
        named = [given for name, given in path.items() if name.casefold() in ("id", "webhookid")]
        named += [given for name, given in parse_qsl(query.lstrip("?")) if name.casefold() == "webhookid"]
        if saving_operations(load()).get(operation) == "webhook" and isinstance(value, dict):
            named += [given for name, given in value.items() if name.casefold() == "webhookid"]
        foreign = sorted({int(n) for n in named if int(n or 0) != 0} - self.owned)
        if foreign:
            raise ForeignWebhook(
                f"{operation} would name webhook(s) {foreign}, which this run did not create"
            )

    def delete(self, webhook_id: int) -> bool:
        exchange, _ = self.send("DeleteWebhook", query=f"?WebhookId={webhook_id}")
        return exchange.status == 204


def _leaves(error: BaseException) -> list[BaseException]:
    """An error, or every error an exception group holds, at any depth (Python 3.10 has no
    ExceptionGroup of its own: Hypothesis's comes from the backport)."""
    inner = getattr(error, "exceptions", None)
    if isinstance(inner, (list, tuple)) and inner:
        return [leaf for each in inner if isinstance(each, BaseException) for leaf in _leaves(each)]
    return [error]


class _WsgiAnswer:
    """A werkzeug test response with the few attributes of a requests.Response the runner reads."""

    def __init__(self, response: Any) -> None:
        self.status_code = response.status_code
        self.headers = response.headers
        self.content = response.get_data()

    def json(self) -> Any:
        return json.loads(self.content)


_WEBHOOK = load().document["components"]["schemas"]["Webhook"]["properties"]
NAME_LIMIT = _WEBHOOK["Name"]["maxLength"]
SERVER_SET = frozenset(
    name for name, schema in _WEBHOOK.items() if schema.get("readOnly")
)  # the server sets them


class Session:
    """The client, the run's tag and checks: every exchange is checked; an assumed violation is
    kept as a warning, any other raised (Hypothesis then shrinks the example that broke it)."""

    def __init__(self, client: Client, tag: str, names: list[str], target_url: str | None) -> None:
        self.client = client
        self.tag = tag
        self.active = list(names)
        self.target_url = target_url
        self.warnings: dict[str, Violation] = {}
        self.history: dict[int, list[WireRequest]] = {}  # the requests that made each webhook what it is
        self.raised: Violation | None = None  # the last violation raised (a flaky replay may hide it)
        self.refused: tuple[str, WireRequest] | None = (
            None  # the first save that could have created a webhook and did not
        )

    def failure_of(self, error: Exception) -> Violation:
        """What a run's error (a flaky replay, a request that got no answer) reports: the violation
        Hypothesis found and could not replay, or the error itself as the ``RUN`` outcome."""
        leaves = list(_leaves(error))
        if any(isinstance(leaf, ForeignWebhook) for leaf in leaves):
            raise error  # a bug of the run, never a server's
        found = next((leaf for leaf in leaves if isinstance(leaf, Violation)), None)
        others = [leaf for leaf in leaves if not isinstance(leaf, (Violation, Flaky))]
        if found is None and not others and self.raised is not None and self.raised.check in self.active:
            found = self.raised  # the replay drew differently before it reached the violation
        if found is not None:
            message = f"{found.message}\n({_FLAKY})" if isinstance(error, Flaky) else found.message
            return Violation(
                operation=found.operation,
                check=found.check,
                title=found.title,
                message=message,
                basis=found.basis,
                request=found.request,
            )
        cause = (others or leaves)[0]
        return Violation(
            operation="",
            check=RUN,
            title="the run reaches the server and completes",
            message=f"{type(cause).__name__}: {cause}"[:500],
        )

    def steps_before(self, ctx: CheckContext, violation: Violation) -> list[WireRequest]:
        """The requests that set up the webhook a failing request names (its save, updates, delete)."""
        if violation.request is None:
            return []
        webhook_id = webhook_id_of(ctx, Exchange(violation.operation, violation.request, 0, Headers(), b""))
        return (
            [r for r in self.history.get(webhook_id, []) if r is not violation.request] if webhook_id else []
        )

    def exchange(
        self, ctx: CheckContext, operation: str, value: Any = None, **kwargs: Any
    ) -> tuple[Exchange, Any]:
        exchange, answer = self.client.send(operation, value, **kwargs)
        self.judge(ctx, exchange)
        return exchange, answer

    def judge(self, ctx: CheckContext, exchange: Exchange) -> None:
        """Run the active checks: an assumed one that fails is a warning, a documented one raises."""
        for violation in run_checks(ctx, exchange, self.active):
            if violation.basis == "assumed":
                self.warnings.setdefault(violation.check, violation)
            else:
                self.raised = violation
                raise violation

    def remember(self, ctx: CheckContext, exchange: Exchange) -> dict[str, Any] | None:
        """The webhook a save answered, now the model's (and the run's, to delete at the end)."""
        saved = ctx.answer(exchange) if exchange.status == 200 else None
        if isinstance(saved, dict) and saved.get("WebhookId"):
            saved = {k: v for k, v in saved.items() if k != "_Links"}  # REST's links are no field
            created = webhook_id_of(ctx, exchange) is None
            self.history[saved["WebhookId"]] = [
                *([] if created else self.history.get(saved["WebhookId"], [])),
                exchange.request,
            ]
            self.client.created.add(saved["WebhookId"])
            self.client.owned.add(saved["WebhookId"])
            ctx.seen_ids.add(saved["WebhookId"])
            # the model holds what the contract knows: a newer server's properties are not judged
            # against it, nor sent back in an update (F-192)
            ctx.model[saved["WebhookId"]] = known_only(ctx.contract, "WebhookRecord", saved)
            return saved
        return None

    def save(self, ctx: CheckContext, operation: str, value: Any, **kwargs: Any) -> dict[str, Any] | None:
        exchange, _ = self.client.send(operation, value, **kwargs)
        try:
            self.judge(ctx, exchange)
        except Violation:
            # an answer that broke the contract may still have created a webhook (and a server that
            # renamed it hides it from the tag's listing): the run deletes it at the end all the same
            self._keep_for_cleanup(ctx, exchange)
            raise
        saved = self.remember(ctx, exchange)
        if saved is None and self.refused is None and webhook_id_of(ctx, exchange) is None:
            body = exchange.body[:300].decode("utf-8", "replace")
            self.refused = (f"{operation} answered {exchange.status}: {body}", exchange.request)
        return saved

    def _keep_for_cleanup(self, ctx: CheckContext, exchange: Exchange) -> None:
        try:
            saved = ctx.answer(exchange) if exchange.status == 200 else None
        except Exception:  # noqa: BLE001 - an answer that cannot be read names no webhook
            return
        webhook_id = saved.get("WebhookId") if isinstance(saved, dict) else None
        if isinstance(webhook_id, int) and not isinstance(webhook_id, bool) and webhook_id > 0:
            self.client.created.add(webhook_id)
            self.client.owned.add(webhook_id)

    def delete(self, ctx: CheckContext, webhook_id: int, *, rest: bool) -> bool:
        """Delete through REST or the agent; the model forgets the webhook when it is gone."""
        if rest:
            exchange, _ = self.exchange(ctx, REST.delete, path={"id": webhook_id})
        else:
            exchange, _ = self.exchange(ctx, "DeleteWebhook", query=f"?WebhookId={webhook_id}")
        if exchange.status != 204:
            return False
        self.history.setdefault(webhook_id, []).append(exchange.request)
        ctx.model.pop(webhook_id, None)
        ctx.deleted.add(webhook_id)
        self.client.created.discard(webhook_id)
        return True

    def read(
        self, ctx: CheckContext, webhook_id: int, *, rest: bool, accept: str = "application/json"
    ) -> Exchange:
        if rest:
            return self.exchange(ctx, REST.get, path={"id": webhook_id}, accept=accept)[0]
        return self.exchange(ctx, "GetWebhook", query=f"?webhookId={webhook_id}", accept=accept)[0]

    def client_view(self, ctx: CheckContext, webhook_id: int) -> dict[str, Any]:
        """The model's webhook as a client sends it back (no server-set fields)."""
        return {k: v for k, v in ctx.model[webhook_id].items() if k not in SERVER_SET}

    def tagged(self, webhook: dict[str, Any], name: str = "") -> dict[str, Any]:
        return {**webhook, "Name": f"{self.tag} {name or webhook.get('Name') or ''}"[:NAME_LIMIT]}
