"""Compiled schemas: ``Node``, which leaves a value as it is, and the containers: an object (its
names bound case-insensitively, unknown members ignored or dropped), a dictionary and an array."""

from __future__ import annotations

from typing import Any

from contracts.binding._notes import Note, _Context
from contracts.binding._text import _name_shown, fold

_NONE = type(None)
_ALL: frozenset[type] = frozenset({dict, list, str, int, float, bool, _NONE})
_PLANS = 256  # per object schema: the key orders and value types seen, and what each needs


class Node:
    """A compiled schema. ``ok``: the Python types of values binding leaves as they are (so that
    a caller can skip the call); ``bind`` returns the value itself when nothing changes."""

    ok: frozenset[type] = _ALL
    texts: frozenset[str] = frozenset()  # texts it leaves alone, of a type not in ok
    items: Node | None = None

    def bind(self, value: Any, path: tuple[Any, ...], ctx: _Context) -> Any:
        return value

    def member(self, name: str) -> tuple[str, Node] | None:
        """``(canonical name, its node)`` of the property ``name`` binds to; None when this is not
        an object with properties or no property matches."""
        return None

    @property
    def is_object(self) -> bool:
        return False


class _Any(Node):
    pass


_ANY = _Any()


class _Object(Node):
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.props: dict[str, Node] = {}
        self.folded: dict[str, str] = {}
        self.strict = False
        self.ok = _ALL - {dict}
        # by property: the types its node leaves alone, and the texts it leaves alone (an enum's names)
        self.oks: dict[str, frozenset[type]] = {}
        self.member_texts: dict[str, frozenset[str]] = {}
        self.plans: dict[tuple[tuple[str, ...], tuple[type, ...]], tuple[str, ...]] = {}
        self.longest = 0

    def finish(self, props: dict[str, Node], strict: bool) -> None:
        self.props = props
        self.strict = strict
        self.longest = max(map(len, props), default=0)
        # the first property of a folded spelling wins, as GetProperty finds it
        for name, node in props.items():
            self.folded.setdefault(fold(name), name)
            self.oks[name] = node.ok
            self.member_texts[name] = node.texts

    @property
    def is_object(self) -> bool:
        return True

    def member(self, name: str) -> tuple[str, Node] | None:
        if name in self.props:
            return name, self.props[name]
        if len(name) > self.longest:
            return None  # longer than every property name: no folding needed to know
        canonical = self.folded.get(fold(name))
        return None if canonical is None else (canonical, self.props[canonical])

    def bind(self, value: Any, path: tuple[Any, ...], ctx: _Context) -> Any:
        if type(value) is not dict:
            return value  # not an object: validation names it
        # The keys and the types of their values (read in C) say which properties need a look:
        # none when every key is canonical and every value of a type its node leaves alone.
        signature = (tuple(value), tuple(map(type, value.values())))
        plan = self.plans.get(signature)
        if plan is None:
            keys, kinds = signature
            oks = self.oks
            if not all(key in oks for key in keys):
                return self._bind_names(value, path, ctx)
            plan = tuple(key for key, kind in zip(keys, kinds, strict=False) if kind not in oks[key])
            if len(self.plans) < _PLANS:  # canonical keys only: the cache holds no text a client chose
                self.plans[signature] = plan
        out: dict[str, Any] | None = None
        texts = self.member_texts
        for key in plan:
            item = value[key]
            if type(item) is str and item in texts[key]:
                continue
            bound = self.props[key].bind(item, (*path, key), ctx)
            if bound is not item:
                if out is None:
                    out = dict(value)
                out[key] = bound
        return value if out is None else out

    def _bind_names(self, value: dict[str, Any], path: tuple[Any, ...], ctx: _Context) -> dict[str, Any]:
        out: dict[str, Any] = {}
        spelled: dict[str, str] = {}
        for key, item in value.items():
            found = self.member(key)
            if found is None:
                if self.strict:
                    shown = _name_shown(key)
                    message = f"'{shown}' is not a property of {self.owner}; SuperOffice ignores it"
                    refusal = f"'{shown}' is not a property of {self.owner}."
                    ctx.add(Note("unknown", (*path, shown), message, refusal))
                else:
                    out[key] = item  # the contract allows other members: kept as sent
                continue
            canonical, child = found
            if canonical != key:
                ctx.renamed = True
            if canonical in spelled:
                # both spellings fold to a property's name: short
                first = spelled[canonical]
                message = f"sent as '{first}' and as '{key}'; the last one counts, as Json.NET binds it"
                ctx.add(Note("duplicate", (*path, canonical), message))
            spelled[canonical] = key
            out[canonical] = item if type(item) in child.ok else child.bind(item, (*path, canonical), ctx)
        return out


class _Dictionary(Node):
    """``additionalProperties`` and no ``properties``: the keys are the user's; values bind."""

    def __init__(self, values: Node) -> None:
        self.values = values
        self.ok = _ALL if values.ok is _ALL else _ALL - {dict}

    def bind(self, value: Any, path: tuple[Any, ...], ctx: _Context) -> Any:
        if type(value) is not dict:
            return value
        values = self.values
        if values.texts == frozenset() and set(map(type, value.values())) <= values.ok:
            return value  # every value of a type its node leaves alone (read in C)
        out: dict[str, Any] | None = None
        for key, item in value.items():
            if type(item) in values.ok:
                continue
            bound = values.bind(item, (*path, key), ctx)
            if bound is not item:
                if out is None:
                    out = dict(value)
                out[key] = bound
        return value if out is None else out


class _Array(Node):
    def __init__(self, items: Node) -> None:
        self.items: Node = items
        self.ok = _ALL if items.ok is _ALL else _ALL - {list}

    def bind(self, value: Any, path: tuple[Any, ...], ctx: _Context) -> Any:
        if type(value) is not list:
            return value
        items = self.items
        if set(map(type, value)) <= items.ok:
            return value  # every item of a type its node leaves alone (read in C)
        out: list[Any] | None = None
        for index, item in enumerate(value):
            if type(item) in items.ok:
                continue
            bound = items.bind(item, (*path, index), ctx)
            if bound is not item:
                if out is None:
                    out = list(value)
                out[index] = bound
        return value if out is None else out
