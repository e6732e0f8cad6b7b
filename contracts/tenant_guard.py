"""The tenant guard: what keeps a schemathesis run against a real tenant to what it created.

Every request the run sends is rewritten just before it goes out (``Guard.before``, called by the
adapter's ``before_call`` hook, see ``contracts.schemathesis_adapter``) so that:

- a webhook id (any value the contract types as ``Int32Id``: query and path parameters and body
  properties, in any casing, at any depth) is 0 or an id this run created; anything else,
  including values a lenient server would convert to a number (``"419"``, ``419.0``, ``true``),
  becomes one of the run's own live ids, or 0 ("none": GET, PUT and PATCH of it are 404, DELETE
  204) before the run has created any. A query parameter named as any id parameter of the
  contract is rewritten in every operation (ASP.NET Web API reads the query before the route);
- a path parameter stays a segment of its own route: a value that would climb to another one
  (``..``, ``/``, ``?``, ``#``, percent-encoded or not) is replaced;
- every Webhook the run sends (SaveWebhook's body, TestWebhook's ``Webhook``, the REST POST, PUT
  and Test bodies) carries the run tag at the start of its Name, Type ``webhook`` and, as
  TargetUrl, ``SOWEBHOOK_TARGET_URL`` (an HTTPS receiver of the user's that answers the
  registration ping with 200) or, without it, a URL under ``.invalid`` (RFC 6761: it never
  resolves, so the server pings nobody);
- a PATCH keeps the webhook guarded: a JSON Patch operation on Name, Type or TargetUrl (its path
  in any casing, with or without the leading slash) becomes a ``replace`` with the tagged Name,
  ``webhook`` or the guarded URL; one on WebhookId is dropped (a ``test`` of it names only the
  run's ids); one on the whole document guards its value as a webhook; a ``move`` away from a
  guarded property becomes a ``copy``. A merge patch's members get the same treatment;
- SignalEvent's event (the agent's EventName, the REST path's eventName) is an event of this
  run's own (``<tag>.signal``), which no webhook but the run's can listen to.

``Guard.after`` records the ids the run creates (a save answered 200 that named no id in its path)
and deletes; ``Guard.cleanup`` deletes exactly those still alive. What is a webhook, an id, a save
or a delete is read from the contract (``contracts.tenant_scope``). docs/fidelity.md F-196.
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from contracts.credentials import CREDENTIAL_HEADERS
from contracts.spec import Operation, load
from contracts.tenant_scope import (
    EVENT_FIELD,
    GUARDED_TYPE,
    ID_NAMES,
    NAME_FIELD,
    NAME_LIMIT,
    SAVED_SCHEMA,
    TARGET_FIELD,
    TYPE_FIELD,
    body_schema,
    could_name_an_id,
    deletes,
    header,
    id_parameters,
    is_id,
    is_patch,
    is_webhook,
    keeps_route,
    operation_of,
    patch_tokens,
    path_text,
    saves,
    sent_id,
    variants,
)
from contracts.wire import FORM_TYPE, WireError, WireFormats, parse_media_type

__all__ = ["Guard"]

_contract = load()
_wire = WireFormats(_contract)
_ID_FIELD = next(
    name for name, sub in _wire.shape(SAVED_SCHEMA).properties.items() if is_id(sub)
)  # WebhookId
_ROOT = ""  # a JSON Patch path naming the whole webhook
# RFC 6902's member names and the operations that matter here
_OP, _PATH, _VALUE, _FROM = "op", "path", "value", "from"
_TEST, _MOVE, _COPY, _SETS = "test", "move", "copy", ("add", "replace")


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
        operation = operation_of(case)
        changed = self._guard_query(case)
        changed = self._guard_path(case, operation) or changed
        if case.body is not None and case.media_type:
            body = case.body
            if case.media_type == FORM_TYPE and isinstance(body, (str, bytes)):
                body = self._form_as_value(body)
            schema = body_schema(case)
            guarded = body
            if operation is not None and is_patch(operation, schema) and isinstance(body, (list, dict)):
                guarded = self.guard_patch(body)
            elif isinstance(body, dict):
                guarded = self._guard_value(body, schema)
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
        if not case.query:
            return False
        query = dict(case.query)
        changed = False
        for key in [key for key in query if isinstance(key, str) and key.casefold() in ID_NAMES]:
            value = query[key]
            # on the wire a query value is text, whatever it was: an object or a nested list
            # goes out as its str(), digits and all
            items = value if isinstance(value, list) else [value]
            texts = [
                item if isinstance(item, (str, int, float, bool)) or item is None else str(item)
                for item in items
            ]
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

    def _guard_path(self, case: Any, operation: Operation | None) -> bool:
        """Path ids to 0 or the run's own, SignalEvent's event to the run's, every value one segment."""
        if operation is None or not case.path_parameters:
            return False
        values = dict(case.path_parameters)
        changed = False
        for parameter in operation.parameters:
            name = parameter["name"]
            if parameter["in"] != "path" or name not in values:
                continue
            value = values[name]
            if is_id(parameter.get("schema")):
                safe = self._safe_path_id(value)
            elif name.casefold() == EVENT_FIELD.casefold():
                safe = self.event
            else:
                safe = value if keeps_route(value) else 0
            if safe != value or type(safe) is not type(value):
                values[name] = safe
                changed = True
        if changed:
            case.path_parameters = values
        return changed

    def _safe_path_id(self, value: Any) -> Any:
        if type(value) is int and (value == 0 or value in self.own()):
            return value
        if could_name_an_id(str(value)) or could_name_an_id(path_text(value)) or not keeps_route(value):
            return self._pick(value)
        return value  # text without a digit: no route takes it for an id (404)

    def _safe_id(self, value: Any) -> Any:
        if not could_name_an_id(value) or (type(value) is int and (value == 0 or value in self.own())):
            return value
        return self._pick(value)

    def _pick(self, value: Any) -> int:
        """One of the run's own live webhooks (a repeatable choice), or 0 while it has none."""
        with self._lock:
            if not self.live:
                return 0
            return self.live[zlib.crc32(repr(value).encode()) % len(self.live)]

    def _guard_value(self, value: dict[str, Any], schema: Any) -> dict[str, Any]:
        value = dict(value)
        shape = _wire.shape(schema)
        for name, sub in shape.properties.items():
            keys = variants(value, name)
            if not keys:
                continue
            if is_id(sub):
                for key in keys:
                    value[key] = self._safe_id(value[key])
            elif is_webhook(sub):
                for key in keys:
                    if isinstance(value[key], dict):
                        value[key] = self._guard_value(value[key], sub)
        if is_webhook(schema):
            self._guard_webhook(value)
        if EVENT_FIELD in shape.properties:
            self._set(value, EVENT_FIELD, self.event)
        return value

    def _guard_webhook(self, webhook: dict[str, Any]) -> None:
        self._set(webhook, TYPE_FIELD, GUARDED_TYPE)
        self._set(webhook, TARGET_FIELD, self.url)
        names = variants(webhook, NAME_FIELD)
        name = webhook[names[-1]] if names else None  # the last of duplicate keys binds (JSON.NET)
        if isinstance(name, (list, dict)):
            return  # cannot bind to a string: the server refuses the whole body
        self._set(webhook, NAME_FIELD, self.tagged(name))

    def tagged(self, name: Any) -> str:
        """The run tag at the start of ``name``, keeping its length when the tag no longer fits,
        so that a Name over the limit stays over it (the server must still refuse it)."""
        text = name if isinstance(name, str) else ("" if name is None else str(name))
        if text.startswith(self.tag):
            return text
        prefix = f"{self.tag} "
        if len(prefix) + len(text) <= NAME_LIMIT or len(text) < len(prefix):
            return (prefix + text)[: max(NAME_LIMIT, len(text))]
        return prefix + text[len(prefix) :]

    @staticmethod
    def _set(value: dict[str, Any], name: str, new: Any) -> None:
        for key in variants(value, name):
            del value[key]
        value[name] = new

    # -- PATCH --

    def guard_patch(self, changes: list[Any] | dict[str, Any]) -> list[Any] | dict[str, Any]:
        """A JSON Patch array or a merge patch object that leaves the patched webhook guarded."""
        if isinstance(changes, dict):
            merged: dict[str, Any] = {}
            for key, value in changes.items():
                named = _guarded_field(key, merge=True)
                if named is None:
                    merged[key] = value
                elif named != _ID_FIELD:  # a merge member on WebhookId is dropped
                    merged[key] = self._guarded(named, value)
            return merged
        return [guarded for op in changes for guarded in self._guard_operation(op)]

    def _guard_operation(self, op: Any) -> list[Any]:
        if not isinstance(op, dict):
            return [op]  # the server refuses the whole patch
        # the operation as a lenient server may read it: in any casing, padded; of two spellings
        # of the member, whichever it reads (a test only when every one says so)
        kinds = {
            kind.strip().casefold() if isinstance(kind, str) else None
            for kind in (op[k] for k in variants(op, _OP))
        }
        kind = next(iter(kinds)) if len(kinds) == 1 else None
        named = [f for key in variants(op, _PATH) if (f := _guarded_field(op[key])) is not None]
        if _MOVE in kinds and any(_guarded_field(op[key]) is not None for key in variants(op, _FROM)):
            # moving a guarded property away would null it: copy it instead
            op = {**{k: v for k, v in op.items() if k not in variants(op, _OP)}, _OP: _COPY}
        if not named:
            return [op]
        values = [op[key] for key in variants(op, _VALUE)]
        if kind == _TEST:  # a test only reads; any id it names must still be the run's
            if not values:
                return [op]
            guarded_value = self._safe_id(values[-1]) if _ID_FIELD in named else values[-1]
            if _ROOT in named and isinstance(values[-1], dict):
                guarded_value = self._guard_value(values[-1], SAVED_SCHEMA)
            return [{_OP: _TEST, _PATH: op[variants(op, _PATH)[-1]], _VALUE: guarded_value}]
        value = values[-1] if values and kind in _SETS else None
        replaced: list[Any] = []
        for name in dict.fromkeys(named):
            if name == _ROOT:  # the whole webhook: kept only as a guarded webhook
                if isinstance(value, dict):
                    path = next(op[key] for key in variants(op, _PATH) if _guarded_field(op[key]) == _ROOT)
                    replaced.append({_OP: kind, _PATH: path, _VALUE: self._guard_value(value, SAVED_SCHEMA)})
            elif name != _ID_FIELD:  # an operation on WebhookId is dropped
                one_token = all(patch_tokens(op[key])[1:] == [] for key in variants(op, _PATH))
                replaced.append(
                    {
                        _OP: "replace",
                        _PATH: f"/{name}",
                        _VALUE: self._guarded(name, value if one_token else None),
                    }
                )
        return replaced

    def _guarded(self, name: str, value: Any) -> Any:
        if name == NAME_FIELD:
            return (
                value if isinstance(value, (list, dict)) else self.tagged(value)
            )  # a list or object: refused
        return GUARDED_TYPE if name == TYPE_FIELD else self.url

    # -- recording --

    def after(self, case: Any, response: Any) -> None:
        operation = operation_of(case)
        if operation is None or case.method.lower() != case.operation.method.lower():
            return
        if saves(operation) and response.status_code == 200:
            if any(
                sent_id(case, where, name) not in (0, None)
                for where, name in id_parameters(operation)
                if where == "path"
            ):
                return  # PUT or PATCH of one of the run's own: nothing new
            webhook_id = self._answered_id(response, operation)
            if webhook_id:
                self._remember(webhook_id, response)
        elif deletes(operation) and 200 <= response.status_code < 300:
            # one id named, one deleted; of a request naming several, none is counted (cleanup
            # deletes them again, which answers 204: F-076) rather than one the server kept
            named = {sent_id(case, where, name) for where, name in id_parameters(operation)} - {None}
            with self._lock:
                if len(named) == 1 and (webhook_id := named.pop()) in self.live:
                    self.live.remove(webhook_id)
                    self.deleted_by_run.add(webhook_id)

    def _answered_id(self, response: Any, operation: Operation) -> int | None:
        media_type, _ = parse_media_type(header(response, "content-type"))
        schema = operation.response_schema(response.status_code, media_type)
        try:
            answer = _wire.decode(media_type, response.content, True if schema is None else schema)
        except (WireError, ValueError):
            return None
        webhook_id = answer.get(_ID_FIELD) if isinstance(answer, dict) else None
        return webhook_id if type(webhook_id) is int and webhook_id > 0 else None

    def _remember(self, webhook_id: int, response: Any) -> None:
        request = response.request
        url = request.url.split("/api/v1/", 1)[0] if request is not None else ""
        headers = (
            {k: v for k, v in dict(request.headers).items() if k.lower() in CREDENTIAL_HEADERS}
            if request is not None
            else {}
        )
        target = _Target(
            url, headers, getattr(self._local, "verify", True), getattr(self._local, "app", None)
        )
        with self._lock:
            if webhook_id not in self.created:
                self.created[webhook_id] = target
            if webhook_id not in self.live:  # new, or one of ours the server answers alive again
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


_GUARDED_FIELDS = {name.casefold(): name for name in (NAME_FIELD, TYPE_FIELD, TARGET_FIELD, _ID_FIELD)}


def _guarded_field(path: Any, *, merge: bool = False) -> str | None:
    """The guarded property a patch path (a merge patch's member name) names; ``_ROOT`` for the
    whole webhook; None for anything else (a path that is not text is refused by the server)."""
    if not isinstance(path, str):
        return None
    if merge:
        return _GUARDED_FIELDS.get(path.strip().casefold())
    tokens = patch_tokens(path)
    return _ROOT if not tokens else _GUARDED_FIELDS.get(tokens[0].casefold())


def _delete(webhook_id: int, target: _Target) -> int:
    delete = _contract.operation("DeleteWebhook")
    (parameter,) = (p["name"] for p in delete.query() if p.get("required"))
    path = f"{delete.path}?{parameter}={webhook_id}"
    if target.app is not None:
        from werkzeug.test import Client

        return Client(target.app).post(path, headers=target.headers).status_code
    import requests

    return requests.post(
        target.base_url + path, headers=target.headers, verify=target.verify, timeout=30
    ).status_code
