"""The tenant guard: what keeps a schemathesis run against a real tenant to what it created.

Every request the run sends is rewritten just before it goes out (``Guard.before``, called by the
adapter's ``before_call`` hook, see ``contracts.schemathesis_adapter``) so that:

- a webhook id (any value the contract types as ``Int32Id``: query parameters and body
  properties, in any casing, at any depth) is 0 or an id this run created; anything else,
  including values a lenient server would convert to a number (``"419"``, ``419.0``, ``true``),
  becomes one of the run's own live ids, or 0 ("none") before the run has created any;
- every Webhook the run sends (SaveWebhook's body, TestWebhook's ``Webhook``) carries the run tag
  at the start of its Name, Type ``webhook`` and, as TargetUrl, ``SOWEBHOOK_TARGET_URL`` (an HTTPS
  receiver of the user's that answers the registration ping with 200) or, without it, a URL under
  ``.invalid`` (RFC 6761: it never resolves, so the server pings nobody);
- SignalEvent's EventName is an event of this run's own (``<tag>.signal``), which no webhook but
  the run's can listen to.

``Guard.after`` records the ids the run creates and deletes; ``Guard.cleanup`` deletes exactly
those still alive. Nothing here imports schemathesis: a case is read through the attributes
schemathesis' ``Case`` has (operation, method, query, body, media_type, meta). docs/fidelity.md
F-196.
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from contracts.spec import Operation, load
from contracts.wire import FORM_TYPE, WireError, WireFormats, parse_media_type

__all__ = ["Guard", "body_schema", "header", "operation_id", "operation_of", "ranges", "variants"]

_contract = load()
_wire = WireFormats(_contract)
_CREDENTIAL_HEADERS = ("authorization", "so-apptoken", "x-xsrf-token", "cookie")

_SCHEMAS = "#/components/schemas/"
_ID_SCHEMA = _SCHEMAS + "Int32Id"
_WEBHOOK_SCHEMA = _SCHEMAS + "Webhook"
_WEBHOOK = _contract.document["components"]["schemas"]["Webhook"]
_RULE_FIELDS = {
    rule["id"]: rule["field"]
    for rule in _contract.operation("SaveWebhook").rules
}
_TYPE_FIELD = _RULE_FIELDS["known-type"]
_TARGET_FIELD = _RULE_FIELDS["https-target"]
_GUARDED_TYPE = _WEBHOOK["properties"][_TYPE_FIELD]["x-documented-values"][0]  # 'webhook': never a script
_NAME_FIELD = "Name"  # where the run tag goes
_NAME_LIMIT = _WEBHOOK["properties"][_NAME_FIELD]["maxLength"]
_EVENT_FIELD = "EventName"  # SignalEvent's event (SignalEventRequest)


def operation_of(case: Any) -> Operation | None:
    """The contract's operation of a schemathesis case (None: a path the contract does not serve)."""
    return _contract.paths.get(case.operation.path, {}).get(case.operation.method.upper())


def body_schema(case: Any) -> Any:
    """The contract's schema of the case's request body, in its media type."""
    operation = operation_of(case)
    return True if operation is None else operation.body_content.get(case.media_type, {}).get("schema", True)


def operation_id(case: Any) -> str:
    operation = operation_of(case)
    return case.operation.label if operation is None else operation.operation_id


def _id_parameters(case: Any) -> list[str]:
    """The operation's query parameters that name a webhook (typed ``Int32Id`` by the contract)."""
    operation = operation_of(case)
    return [
        parameter["name"]
        for parameter in (operation.query() if operation is not None else ())
        if _ID_SCHEMA in _refs(parameter.get("schema"))
    ]


def header(response: Any, name: str) -> str | None:
    for key, value in response.headers.items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None


def _refs(schema: Any) -> set[str]:
    """The component references a schema is (through allOf/anyOf/oneOf, not into properties)."""
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        if "$ref" in node:
            found.add(node["$ref"])
            stack.append(_contract.resolve(node))
        for key in ("allOf", "anyOf", "oneOf"):
            stack.extend(node.get(key, ()))
    return found


def variants(value: dict[str, Any], name: str) -> list[str]:
    """The keys of ``value`` a case-insensitive binder reads as property ``name`` (JSON.NET does)."""
    folded = name.casefold()
    return [key for key in value if isinstance(key, str) and key.casefold() == folded]


def _could_name_an_id(value: Any) -> bool:
    """Whether a lenient server could read ``value`` as a webhook id: a number in any form, or
    anything with a digit in it (in a query, a form or XML an object or a list goes out as text)."""
    if isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return any(character.isdigit() for character in value)
    if isinstance(value, (dict, list)):
        return any(character.isdigit() for character in repr(value))
    return False  # null


@dataclass
class _Target:
    """Where and as whom the run's webhooks were created: what cleanup needs to delete them."""

    base_url: str
    headers: dict[str, str]
    verify: Any = True
    app: Any = None


@dataclass
class Guard:
    """What the run created, and the rewriting that keeps every request to it (see the module)."""

    tag: str
    target_url: str | None
    enabled: bool = True
    created: dict[int, _Target] = field(default_factory=dict)
    live: list[int] = field(default_factory=list)
    deleted_by_run: set[int] = field(default_factory=set)
    rewritten: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)

    @property
    def event(self) -> str:
        return f"{self.tag}.signal"

    @property
    def url(self) -> str:
        return self.target_url or f"https://{self.tag}.invalid/hook"

    def own(self) -> set[int]:
        with self._lock:
            return set(self.created)

    # -- rewriting --

    def before(self, case: Any, kwargs: dict[str, Any]) -> None:
        self._local.app = kwargs.get("app", case.operation.app)
        self._local.verify = kwargs.get("verify", True)
        phase = str(getattr(getattr(case.meta, "phase", None), "name", None) or "direct")
        with self._lock:
            self.requests[phase] = self.requests.get(phase, 0) + 1
        if not self.enabled:
            return
        changed = self._guard_query(case)
        if case.body is not None and case.media_type:
            body = case.body
            if case.media_type == FORM_TYPE and isinstance(body, (str, bytes)):
                body = self._form_as_value(body)
            if isinstance(body, dict):
                guarded = self._guard_value(body, body_schema(case), operation_id=operation_id(case))
                if guarded != body:
                    case.body = guarded
                    changed = True
        if changed:
            with self._lock:
                self.rewritten += 1

    def _form_as_value(self, body: str | bytes) -> Any:
        """A raw form text: as its pairs when any of them could bind to a guarded property."""
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        return dict(parse_qsl(text, keep_blank_values=True))

    def _guard_query(self, case: Any) -> bool:
        names = _id_parameters(case)
        if not names or not case.query:
            return False
        query = dict(case.query)
        changed = False
        for name in names:
            for key in variants(query, name):
                value = query[key]
                # on the wire a query value is text, whatever it was: an object or a nested list
                # goes out as its str(), digits and all
                items = value if isinstance(value, list) else [value]
                texts = [item if isinstance(item, (str, int, float, bool)) or item is None else str(item) for item in items]
                safe_items = [self._safe_id(item) for item in texts]
                safe = safe_items if isinstance(value, list) else safe_items[0]
                if safe_items == texts and texts == items:
                    continue
                if safe != value:
                    query[key] = safe
                    changed = True
        if changed:
            case.query = query
        return changed

    def _safe_id(self, value: Any) -> Any:
        if not _could_name_an_id(value) or (type(value) is int and (value == 0 or value in self.own())):
            return value
        with self._lock:
            if not self.live:
                return 0
            # a repeatable choice among the run's own live webhooks
            return self.live[zlib.crc32(repr(value).encode()) % len(self.live)]

    def _guard_value(self, value: dict[str, Any], schema: Any, *, operation_id: str) -> dict[str, Any]:
        value = dict(value)
        shape = _wire.shape(schema)
        for name, sub in shape.properties.items():
            keys = variants(value, name)
            if not keys:
                continue
            refs = _refs(sub)
            if _ID_SCHEMA in refs:
                for key in keys:
                    value[key] = self._safe_id(value[key])
            elif _WEBHOOK_SCHEMA in refs:
                for key in keys:
                    if isinstance(value[key], dict):
                        value[key] = self._guard_value(value[key], sub, operation_id=operation_id)
        if _WEBHOOK_SCHEMA in _refs(schema):
            self._guard_webhook(value)
        if operation_id == "SignalEvent":
            self._set(value, _EVENT_FIELD, self.event)
        return value

    def _guard_webhook(self, webhook: dict[str, Any]) -> None:
        self._set(webhook, _TYPE_FIELD, _GUARDED_TYPE)
        self._set(webhook, _TARGET_FIELD, self.url)
        names = variants(webhook, _NAME_FIELD)
        name = webhook[names[-1]] if names else None  # the last of duplicate keys binds (JSON.NET)
        if isinstance(name, (list, dict)):
            return  # cannot bind to a string: the server refuses the whole body
        self._set(webhook, _NAME_FIELD, self.tagged(name))

    def tagged(self, name: Any) -> str:
        """The run tag at the start of ``name``, keeping its length when the tag no longer fits,
        so that a Name over the limit stays over it (the server must still refuse it)."""
        text = name if isinstance(name, str) else ("" if name is None else str(name))
        if text.startswith(self.tag):
            return text
        prefix = f"{self.tag} "
        if len(prefix) + len(text) <= _NAME_LIMIT or len(text) < len(prefix):
            return (prefix + text)[: max(_NAME_LIMIT, len(text))]
        return prefix + text[len(prefix):]

    @staticmethod
    def _set(value: dict[str, Any], name: str, new: Any) -> None:
        for key in variants(value, name):
            del value[key]
        value[name] = new

    # -- recording --

    def after(self, case: Any, response: Any) -> None:
        called = operation_id(case)
        if case.method.lower() != case.operation.method.lower():
            return
        if called == "SaveWebhook" and response.status_code == 200:
            webhook_id = self._answered_id(response)
            if webhook_id:
                self._remember(webhook_id, response)
        elif called == "DeleteWebhook" and 200 <= response.status_code < 300:
            query = dict(case.query or {})
            for key in (key for name in _id_parameters(case) for key in variants(query, name)):
                webhook_id = query[key]
                with self._lock:
                    if type(webhook_id) is int and webhook_id in self.live:
                        self.live.remove(webhook_id)
                        self.deleted_by_run.add(webhook_id)

    def _answered_id(self, response: Any) -> int | None:
        media_type, _ = parse_media_type(header(response, "content-type"))
        try:
            answer = _wire.decode(media_type, response.content, {"$ref": _SCHEMAS + "WebhookRecord"})
        except (WireError, ValueError):
            return None
        webhook_id = answer.get("WebhookId") if isinstance(answer, dict) else None
        return webhook_id if type(webhook_id) is int and webhook_id > 0 else None

    def _remember(self, webhook_id: int, response: Any) -> None:
        request = response.request
        url = request.url.split("/api/v1/", 1)[0] if request is not None else ""
        headers = {k: v for k, v in dict(request.headers).items() if k.lower() in _CREDENTIAL_HEADERS} if request is not None else {}
        target = _Target(url, headers, getattr(self._local, "verify", True), getattr(self._local, "app", None))
        with self._lock:
            if webhook_id not in self.created:
                self.created[webhook_id] = target
                self.live.append(webhook_id)
                self.deleted_by_run.discard(webhook_id)

    # -- cleanup --

    def cleanup(self) -> tuple[list[int], dict[int, str]]:
        """Delete every webhook the run created and still holds; (deleted, {id: why not})."""
        with self._lock:
            pending = [(webhook_id, self.created[webhook_id]) for webhook_id in self.live]
            self.live.clear()
        deleted: list[int] = []
        failed: dict[int, str] = {}
        for webhook_id, target in pending:
            try:
                status = _delete(webhook_id, target)
            except Exception as error:  # noqa: BLE001 - every failure is reported, none stops the others
                failed[webhook_id] = f"{type(error).__name__}: {error}"
                continue
            if 200 <= status < 300:
                deleted.append(webhook_id)
            else:
                failed[webhook_id] = f"answered {status}"
        return deleted, failed


def _delete(webhook_id: int, target: _Target) -> int:
    delete = _contract.operation("DeleteWebhook")
    (parameter,) = (p["name"] for p in delete.query() if p.get("required"))
    path = f"{delete.path}?{parameter}={webhook_id}"
    if target.app is not None:
        from werkzeug.test import Client

        return Client(target.app).post(path, headers=target.headers).status_code
    import requests

    return requests.post(target.base_url + path, headers=target.headers, verify=target.verify, timeout=30).status_code


def ranges(ids: list[int]) -> str:
    """``[1, 2, 3, 7]`` as ``1-3, 7``: every id, without a line of thousands."""
    spans: list[list[int]] = []
    for webhook_id in sorted(ids):
        if spans and webhook_id == spans[-1][1] + 1:
            spans[-1][1] = webhook_id
        else:
            spans.append([webhook_id, webhook_id])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans) or "none"
