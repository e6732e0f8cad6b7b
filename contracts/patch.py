"""PATCH of /api/v1/Webhook/{id} as v1Webhook_PatchWebhook.md describes it, on a webhook's JSON value.

"JSON PATCH supports operations 'add', 'replace', 'remove' and 'test'. The path is case insensitive,
and the leading slash is optional"; a JSON Merge Patch object "will be converted to a list of
JSON-PATCH operations". Here a patch document becomes RFC 6902 operations whose paths name the
webhook's properties as the contract spells them, and ``jsonpatch`` (the RFC 6902 implementation of
python-json-patch) applies them, in order, to a copy: all of them or none (docs/fidelity.md F-203).

- The first token of a path is a property name in any letter case; the rest is an RFC 6901 pointer
  into that property, as written (``/Headers/X-Key`` is the header ``X-Key``; ``/Events/-`` appends).
- ``remove`` of a property sets it to null: a webhook always has every property. Below a property
  (an event, a header, a key of Properties) it removes the member, as RFC 6902 says.
- A merge patch (RFC 7396): a member whose value is null sets the property to null (below it,
  removes the member); an object merged into an object is merged member by member; any other value
  replaces the property (nulls inside it dropped, as RFC 7396 applies a patch to a missing member).
- Refused, with the operation and the field named (``changes.1.path``, as ModelState names a body's members): a document that is neither
  an array nor an object, an operation that is not an object, an op other than the four ("move" and
  "copy" are not supported), a path to a property the webhook does not have, a missing ``value``, a
  pointer below a property that does not resolve (into a string, a number or null, past an array's
  end, to a missing member; for ``test`` too: a value that is not there is no conflict, the
  operation is malformed). A failing ``test`` is a conflict (409).

Both the mock (``mockserver.rest``) and the checks (``contracts.checks``) use it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import jsonpatch
import jsonpointer

__all__ = ["OPERATIONS", "PatchError", "apply", "last_changed", "operations", "unmodified_since"]

OPERATIONS = ("add", "replace", "remove", "test")


class PatchError(ValueError):
    """A patch that cannot be applied: ``status`` 400 (malformed) or 409 (a ``test`` failed), and
    ``field`` naming the operation's member (``changes.0.path``) or the merge patch's member."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.status = status
        self.field = field
        self.message = message


def operations(changes: Any, current: Mapping[str, Any], fields: Iterable[str]) -> list[dict[str, Any]]:
    """The RFC 6902 operations of a patch document (an array of operations or a merge patch
    object), their paths in the contract's spelling; ``current`` is the webhook it will patch."""
    by_fold = {name.casefold(): name for name in fields}
    if isinstance(changes, list):
        return [_operation(index, op, by_fold) for index, op in enumerate(changes)]
    if isinstance(changes, dict):
        ops: list[dict[str, Any]] = []
        for key, value in changes.items():
            name = by_fold.get(key.casefold())
            if name is None:
                raise PatchError(400, f"changes.{key}", f"'{key}' is not a property of the Webhook.")
            if value is None:
                ops.append({"op": "replace", "path": "/" + _escape(name), "value": None})
            else:
                _merge(f"/{_escape(name)}", current.get(name), value, ops)
        return ops
    raise PatchError(
        400, "changes", "A patch is a JSON Patch array of operations or a JSON Merge Patch object."
    )


def apply(current: Mapping[str, Any], changes: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The webhook with the patch applied (``current`` is not changed); PatchError otherwise."""
    ops = operations(changes, current, fields)
    patched = copy.deepcopy(dict(current))  # the one copy every operation changes in place: all or none
    where = _origins(changes, ops)
    for index, op in enumerate(ops):
        unresolved = _unresolved(patched, op["op"], op["path"])
        if unresolved is not None:
            raise PatchError(400, where[index], f"{op['op']} {_shown(op['path'])}: {unresolved}")
        try:  # the operation's class applied to the copy in place: one parse, no copy per operation
            patched = jsonpatch.JsonPatch.operations[op["op"]](op).apply(patched)
        except jsonpatch.JsonPatchTestFailed:
            raise PatchError(
                409, where[index], f"the test of {op['path']} failed: the value differs."
            ) from None
        except (
            jsonpatch.JsonPatchException,
            jsonpointer.JsonPointerException,
            TypeError,
            ValueError,
        ) as error:
            raise PatchError(400, where[index], f"{op['op']} {op['path']}: {error}") from None
    return patched


_INDEX = re.compile(r"0|[1-9][0-9]*")  # RFC 6901 4: an array index, no leading zeros
_BAD_ESCAPE = re.compile(r"~(?![01])")  # RFC 6901 3: "~" only in "~0" and "~1"
_KINDS = (
    (bool, "a boolean"),
    (int, "a number"),
    (float, "a number"),
    (str, "a string"),
    (type(None), "null"),
)


def _unresolved(document: Any, kind: str, pointer: str) -> str | None:
    """Why ``pointer`` names no location ``kind`` may act on in ``document`` (RFC 6901, RFC 6902 4),
    as a sentence naming the step that fails; None when it resolves. ``add`` may name a new member
    of an object, or an array's end (``-``, or the index one past its last item); the others an
    existing value. A pointer into a string, a number, a boolean or null is no pointer at all
    (python-json-patch reads a string as an array of characters)."""
    tokens = pointer.split("/")[1:]
    for token in tokens:
        if _BAD_ESCAPE.search(token):
            return f"'{_shown(token)}' has an escape other than ~0 and ~1."
    node, walked = document, ""
    for position, escaped in enumerate(tokens):
        token, last = _unescape(escaped), position == len(tokens) - 1
        here = f"{walked}/{escaped}"
        if isinstance(node, dict):
            if token not in node and not (last and kind == "add"):
                return f"{_shown(walked) or 'the Webhook'} has no member '{_shown(token)}'."
            node = node.get(token)
        elif isinstance(node, list):
            if last and kind == "add" and token == "-":
                return None
            if not _INDEX.fullmatch(token):
                also = ", or - to append" if kind == "add" else ""
                return f"'{_shown(token)}' is not an index of the array {_shown(walked)} (0, 1, ...{also})."
            if len(token) > 10 or int(token) > len(node) - (0 if last and kind == "add" else 1):
                return f"{_shown(here)} is past the end of {_shown(walked)}, which has {len(node)} item(s)."
            node = node[int(token)] if int(token) < len(node) else None
        else:
            what = next((name for kinds, name in _KINDS if isinstance(node, kinds)), "no container")
            return f"{_shown(walked)} is {what}, which has no members: the pointer does not resolve."
        walked = here
    return None


def _shown(text: str) -> str:
    """A pointer or a token as an error message quotes it: at most 200 characters."""
    return text if len(text) <= 200 else text[:200] + "…"


def _operation(index: int, op: Any, by_fold: Mapping[str, str]) -> dict[str, Any]:
    at = f"changes.{index}"
    if not isinstance(op, dict):
        raise PatchError(400, at, "An operation is an object with op, path and (but for remove) value.")
    kind = op.get("op")
    if kind not in OPERATIONS:
        raise PatchError(
            400, f"{at}.op", f"{kind!r} is not supported: the operations are {', '.join(OPERATIONS)}."
        )
    path = op.get("path")
    if not isinstance(path, str):
        raise PatchError(400, f"{at}.path", "The path is a string naming a property of the Webhook.")
    tokens = path[1:].split("/") if path.startswith("/") else path.split("/")
    name = by_fold.get(_unescape(tokens[0]).casefold())
    if name is None:
        raise PatchError(400, f"{at}.path", f"'{tokens[0]}' is not a property of the Webhook.")
    pointer = "/" + "/".join([_escape(name), *tokens[1:]])
    if kind != "remove" and "value" not in op:
        raise PatchError(400, f"{at}.value", f"{kind} needs a value.")
    if kind == "remove" and len(tokens) == 1:  # a webhook always has every property: null it
        return {"op": "replace", "path": pointer, "value": None}
    if kind == "add" and len(tokens) == 1:  # RFC 6902 4.1: add of an existing member replaces it
        return {"op": "replace", "path": pointer, "value": op["value"]}
    return {"op": kind, "path": pointer, **({"value": op["value"]} if kind != "remove" else {})}


def _merge(pointer: str, current: Any, value: Any, ops: list[dict[str, Any]]) -> None:
    """RFC 7396 7: the operations that merge ``value`` into ``current`` at ``pointer``."""
    if isinstance(value, dict) and isinstance(current, dict):
        for key, member in value.items():
            below = f"{pointer}/{_escape(key)}"
            if member is None:
                if key in current:
                    ops.append({"op": "remove", "path": below})
            else:
                _merge(below, current.get(key), member, ops)
        return
    ops.append(
        {
            "op": "add" if pointer.count("/") > 1 else "replace",
            "path": pointer,
            "value": _without_nulls(value),
        }
    )


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def _origins(changes: Any, ops: list[dict[str, Any]]) -> list[str]:
    """What each operation came from, for errors: ``changes.<i>``, or the merge patch's member."""
    if isinstance(changes, list):
        return [f"changes.{i}" for i in range(len(ops))]
    return ["changes." + _unescape(op["path"].split("/")[1]) for op in ops]


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


# -- If-Unmodified-Since ------------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")
UNSET = datetime(1, 1, 1, tzinfo=timezone.utc)


def last_changed(webhook: Mapping[str, Any]) -> datetime:
    """When the webhook last changed, to the second: ``Updated``, or ``Registered`` while it was
    never updated (``0001-01-01T00:00:00``). A date without an offset is UTC (F-030)."""
    for name in ("Updated", "Registered"):
        moment = _read(webhook.get(name))
        if moment is not None and moment != UNSET:
            return moment
    return UNSET


def unmodified_since(header: str | None, webhook: Mapping[str, Any]) -> bool:
    """Whether an ``If-Unmodified-Since`` precondition holds (True when there is none, or it is not an
    HTTP-date, which RFC 9110 13.1.4 says to ignore)."""
    if header is None:
        return True
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return True
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    return last_changed(webhook) <= since


def _read(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    found = _DATE.match(text)
    if found is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in found.groups()[:6])
    offset = found.group(7)
    zone = timezone.utc
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None
