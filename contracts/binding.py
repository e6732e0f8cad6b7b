"""A request's JSON value bound as SuperOffice's server binds it: Json.NET's rules, read from the contract.

SuperOffice's WebAPI is ASP.NET Web API with Json.NET. Before its model sees a body, Json.NET
binds it: property names are matched case-insensitively, members it does not know are ignored,
numbers, booleans and texts are converted where it can convert them, and enums are read by name
in any casing or by number. A client that sends ``{"name": "x", "webhookId": "42"}`` gets the
same answer as one that sends ``{"Name": "x", "WebhookId": 42}``. This module does the same to a
JSON value, guided only by the contract's schema of it, so that validation then judges the value
the server would have judged (docs/fidelity.md F-006, F-015, F-016, F-170 to F-189).

::

    binder = Binder(contract)                     # once per app
    body = binder.body({"$ref": "#/components/schemas/Webhook"})   # compiled once per schema
    binding = body.bind({"name": "x", "Nmae": 1})
    binding.value   -> {"Name": "x"}
    binding.notes   -> [Note(kind="unknown", path=("Nmae",), ...)]

The rules, each with its source (Json.NET 13, the source of ``JsonPropertyCollection``,
``JsonTextReader``, ``JsonReader``, ``StringEnumConverter`` and ``EnumUtils``):

- names: an exact match first, else the first property equal under ``OrdinalIgnoreCase``
  (``GetClosestMatchProperty``); never inside a dictionary (an object schema with
  ``additionalProperties`` and no ``properties``: its keys are the user's).
- the same property twice (``Name`` and ``name``): each value is assigned as it is read, so the
  last one counts; noted.
- a member no property matches: ignored (``MissingMemberHandling.Ignore``, the default). When the
  contract forbids it (``additionalProperties: false``) it is dropped and noted as a violation;
  where the contract allows other members it is kept as sent.
- conversions (``JsonReader.ReadAsInt32``, ``ReadAsString``, ``ReadAsBoolean``, ``ReadAsDouble``):
  a string to an integer by ``int.TryParse(s, NumberStyles.Integer, InvariantCulture)`` (ASCII
  digits, a sign, surrounding white space, within the format's range); a number or a boolean to a
  string as its text (``true``, ``false``); a number to a boolean (0 is false); a string to a
  boolean by ``bool.TryParse`` (``True``, `` false ``); a string to a number by ``double.TryParse``
  with ``NumberStyles.Float | AllowThousands``. Each is noted as a warning. A value that cannot be
  converted is left as it is, so that validation names the field as before.
- enums (``StringEnumConverter``, ``AllowIntegerValues`` true by default; ``EnumUtils.ParseEnum``):
  a name in any casing; a comma-separated list of names, their numbers OR-ed (for flags, and for
  any enum whose numbers the contract gives in ``x-enum-numbers``); a number, as an integer or as
  a numeric string, when the contract gives the numbers; written back by its canonical name
  (flags as ``"Email, InApp"``, ``EnumUtils.InternalFlagsFormat``). Flags enums are ``type:
  string`` schemas with ``x-flags: {Name: number}``.

Case-insensitive means what ``OrdinalIgnoreCase`` means for the contract's ASCII names: each
character upper-cased by its simple mapping, and never a non-ASCII character to an ASCII one
(``ſ`` is not ``s``, ``ı`` is not ``i``), so that ``"ſecret"`` is an unknown member, not Secret.

Pure: no Flask and no mockserver import. Binding a value whose every key is already canonical
copies nothing.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.spec import Contract

__all__ = ["Binder", "Binding", "BodyBinder", "Node", "Note", "QueryNames", "binder_for", "fold"]

_NONE = type(None)
_ALL: frozenset[type] = frozenset({dict, list, str, int, float, bool, _NONE})
# what each JSON type can be converted *from* (Json.NET's readers), by the schema's type
_CONVERTIBLE: dict[str, frozenset[type]] = {
    "string": frozenset({int, float, bool}),
    "integer": frozenset({str}),
    "number": frozenset({str}),
    "boolean": frozenset({int, float, str}),
}
_NATIVE: dict[str, frozenset[type]] = {
    "string": frozenset({str}),
    "integer": frozenset({int}),
    "number": frozenset({int, float}),
    "boolean": frozenset({bool}),
    "null": frozenset({_NONE}),
    "object": frozenset({dict}),
    "array": frozenset({list}),
}
_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
# NumberStyles.Integer: white space (U+0009 to U+000D, U+0020) around, a leading sign, ASCII digits
_DOTNET_INTEGER = re.compile(r"[\t\n\v\f\r ]*([+-]?[0-9]+)[\t\n\v\f\r ]*", re.ASCII)
# NumberStyles.Float | NumberStyles.AllowThousands, invariant culture
_DOTNET_FLOAT = re.compile(
    r"[\t\n\v\f\r ]*([+-]?(?:[0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[\t\n\v\f\r ]*", re.ASCII
)
_SHOWN = 40
_LONGEST_SHOWN = 100  # an unknown member's name, in notes
_LONGEST_SCALAR = 400  # a text longer than this is no number or boolean .NET reads (nor padding of one)
_MAX_NOTES = 100  # per request; the rest are counted in one note
_PLANS = 256  # per object schema: the key orders and value types seen, and what each needs
_REFERENCE_ONLY = frozenset({"$ref", "description", "readOnly", "writeOnly"})


def fold(text: str) -> str:
    """``text`` as ``OrdinalIgnoreCase`` compares it: upper-cased character by character by the
    simple mapping; a character whose mapping is not one character, or would turn a non-ASCII
    character into an ASCII one, stays as it is."""
    if text.isascii():
        return text.upper()
    return "".join(_fold_char(c) for c in text)


def _fold_char(char: str) -> str:
    upper = char.upper()
    if len(upper) != 1 or (upper.isascii() and not char.isascii()):
        return char
    return upper


def _is_dotnet_space(char: str) -> bool:
    """``char.IsWhiteSpace``: U+0009 to U+000D, U+0085, and the separators (Zs, Zl, Zp)."""
    return char in "\t\n\v\f\r\x85" or unicodedata.category(char) in ("Zs", "Zl", "Zp")


def _dotnet_trim(text: str, also: str = "") -> str:
    start, end = 0, len(text)
    while start < end and (_is_dotnet_space(text[start]) or text[start] in also):
        start += 1
    while end > start and (_is_dotnet_space(text[end - 1]) or text[end - 1] in also):
        end -= 1
    return text[start:end]


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _name_shown(name: str) -> str:
    return name if len(name) <= _LONGEST_SHOWN else name[: _LONGEST_SHOWN - 1] + "…"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "the boolean"
    if isinstance(value, (int, float)):
        return "the number"
    return "the string"


# -- what binding did ------------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    """One thing binding did. ``kind``: ``unknown`` (a member the contract forbids, dropped: a
    violation), ``duplicate``, ``converted`` or ``enum`` (warnings). ``path`` is where, in
    canonical names (the unknown member's own name last, cut to ``_LONGEST_SHOWN`` characters);
    ``refusal`` is what a server that refused the member would say."""

    kind: str
    path: tuple[Any, ...]
    message: str
    refusal: str = ""

    @property
    def violation(self) -> bool:
        return self.kind == "unknown"


@dataclass(eq=False)
class Binding:
    """The bound value, and what binding did to get it."""

    value: Any
    notes: list[Note] = field(default_factory=list)
    renamed: bool = False  # some name matched only case-insensitively

    @property
    def violations(self) -> list[Note]:
        return [note for note in self.notes if note.violation]

    @property
    def warnings(self) -> list[Note]:
        return [note for note in self.notes if not note.violation]


class _Context:
    __slots__ = ("notes", "renamed", "more_unknown", "more_warnings")

    def __init__(self) -> None:
        self.notes: list[Note] = []
        self.renamed = False
        self.more_unknown = self.more_warnings = 0  # notes past _MAX_NOTES, counted

    def add(self, note: Note) -> None:
        if len(self.notes) < _MAX_NOTES:
            self.notes.append(note)
        elif note.violation:
            self.more_unknown += 1
        else:
            self.more_warnings += 1

    def finish(self) -> list[Note]:
        """The notes, and one note for each kind of those past the first ``_MAX_NOTES``."""
        notes = self.notes
        if self.more_unknown:
            text = f"and {self.more_unknown} more members that are no property"
            notes.append(Note("unknown", (), f"{text}; SuperOffice ignores them", f"{text}."))
        if self.more_warnings:
            notes.append(Note("converted", (), f"and {self.more_warnings} more values read leniently"))
        return notes


# -- compiled schemas --------------------------------------------------------------------------


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
        self.items = items
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


class _Scalar(Node):
    """A string, integer, number or boolean schema (or a union of them): Json.NET's conversions."""

    def __init__(self, types: frozenset[str], integer_format: str | None) -> None:
        self.types = types
        native = frozenset().union(*(_NATIVE.get(t, frozenset()) for t in types))
        convertible = frozenset().union(*(_CONVERTIBLE.get(t, frozenset()) for t in types)) - native
        self.ok = _ALL - convertible
        self.low, self.high = _RANGES.get(integer_format or "int64", _RANGES["int64"])

    def bind(self, value: Any, path: tuple[Any, ...], ctx: _Context) -> Any:
        kind = type(value)
        result: Any = value
        types = self.types
        if kind is str and value == "" and "null" in types and "string" not in types:
            result = None  # ReadInt32String, ReadBooleanString, ReadDoubleString: empty is null
        elif kind is str:
            if "integer" in types:
                result = self._integer(value)
            if result is value and "number" in types:
                result = _number(value)
            if result is value and "boolean" in types:
                result = _boolean(value)
        elif kind in (int, float):
            if "string" in types:
                text = str(value) if kind is int else _float_text(value)
                shown = json.dumps(text, ensure_ascii=False)
                message = f"the number was read as the string {shown} (Json.NET converts it)"
                ctx.add(Note("converted", path, message))
                return text
            if "boolean" in types:
                result = value != 0
        elif kind is bool and "string" in types:
            text = "true" if value else "false"
            message = f'the boolean was read as the string "{text}" (Json.NET converts it)'
            ctx.add(Note("converted", path, message))
            return text
        if result is not value:
            message = f"{_kind(value)} {_shown(value)} was read as {_shown(result)} (Json.NET converts it)"
            ctx.add(Note("converted", path, message))
        return result

    def _integer(self, text: str) -> Any:
        if len(text) > _LONGEST_SCALAR:
            return text
        match = _DOTNET_INTEGER.fullmatch(text)
        if match is None or len(match.group(1)) > 30:
            return text
        number = int(match.group(1))
        return number if self.low <= number <= self.high else text


def _number(text: str) -> Any:
    if len(text) > _LONGEST_SCALAR:
        return text
    match = _DOTNET_FLOAT.fullmatch(text)
    if match is None:
        return text
    digits = match.group(1).replace(",", "")
    try:
        number = float(digits)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text  # a double's overflow: no JSON number carries it
    return int(digits) if re.fullmatch(r"[+-]?[0-9]+", digits) else number


def _boolean(text: str) -> Any:
    """``bool.TryParse``: ``True``/``False`` in any casing, white space and NULs around ignored."""
    if len(text) > _LONGEST_SCALAR:
        return text
    word = _dotnet_trim(text, "\0")
    if word.isascii() and word.lower() in ("true", "false"):
        return word.lower() == "true"
    return text


def _float_text(value: float) -> str:
    """A double as text. Json.NET keeps the number's text as sent (``1.50`` stays ``1.50``); the
    decoded value no longer has it, so this is Python's shortest round-trip form (F-175)."""
    return repr(value)


class _Enum(Node):
    """An enum of names: ``enum`` (with ``x-enum-numbers``), or flags (``x-flags``)."""

    def __init__(self, names: list[str], numbers: Mapping[str, int] | None, flags: bool) -> None:
        self.names = names
        self.known = frozenset(names)
        self.folded: dict[str, str] = {}
        for name in names:
            self.folded.setdefault(fold(name), name)
        self.numbers = dict(numbers) if numbers else None
        self.flags = flags
        self.texts = frozenset() if flags else self.known
        self.longest = 2 * sum(len(name) + 2 for name in names) + 64
        self.ok = _ALL - {str, int}
        # (value, name), by value: EnumInfo sorts values as unsigned numbers
        pairs = ((number, name) for name, number in (self.numbers or {}).items())
        self.by_value = sorted(pairs, key=lambda pair: pair[0] % 2**64)
        self.name_of: dict[int, str] = {}
        for number, name in self.by_value:
            self.name_of.setdefault(number, name)

    def bind(self, value: Any, path: tuple[Any, ...], ctx: _Context) -> Any:
        kind = type(value)
        if kind is str:
            if value in self.known and not self.flags:
                return value
            result = self._parse(value)
        elif kind is int:
            result = self._name(value) if self.numbers else None  # AllowIntegerValues
        else:
            return value
        if result is None or result == value:
            return value  # not a value of the enum: validation names it
        how = "accepts numbers" if kind is int or _looks_numeric(value) else "reads names in any casing"
        read = f"{_kind(value)} {_shown(value)} was read as {_shown(result)}"
        message = f"{read} (Json.NET's StringEnumConverter {how})"
        ctx.add(Note("enum", path, message))
        return result

    def _match(self, part: str) -> str | None:
        return part if part in self.known else self.folded.get(fold(part))

    def _parse(self, text: str) -> Any:
        """``EnumUtils.ParseEnum``: the canonical result, or None when Json.NET fails."""
        if len(text) > self.longest:
            return None  # longer than every name, all names joined and any padding a client sends
        stripped = _dotnet_trim(text)
        if not stripped:
            return None
        first = stripped[0]
        if first in "+-" or unicodedata.category(first) == "Nd":
            match = _DOTNET_INTEGER.fullmatch(stripped)  # Convert.ChangeType(text, int)
            if match is not None:
                number = int(match.group(1))
                if not -(2**31) <= number < 2**31:
                    return None  # OverflowException: not caught
                return self._name(number) if self.numbers else None
        total = 0
        parts = text.split(",")
        for part in parts:
            name = self._match(_dotnet_trim(part))
            if name is None:
                return self.folded.get(fold(text))  # the whole text, case-insensitively, else an error
            if self.numbers is None:
                if len(parts) > 1:
                    return None  # names cannot be OR-ed without their numbers
                return name
            total |= self.numbers[name]
        return self._name(total)

    def _name(self, number: int) -> str | None:
        """``EnumUtils.TryToString``: the name of a value, flags as ``"A, B"``; None when the value
        has none (the server would then write the number, which the contract does not allow)."""
        if not self.flags:
            return self.name_of.get(number)
        result, saved = number % 2**64, number % 2**64
        chosen: list[str] = []
        for value, name in reversed(self.by_value):
            value %= 2**64
            if value == 0:
                continue
            if result & value == value:
                result -= value
                chosen.insert(0, name)
        if result != 0:
            return None
        if saved == 0:
            return self.by_value[0][1] if self.by_value and self.by_value[0][0] == 0 else None
        return ", ".join(chosen)


def _looks_numeric(value: Any) -> bool:
    return isinstance(value, str) and _DOTNET_INTEGER.fullmatch(_dotnet_trim(value)) is not None


class _NullableEnum(_Enum):
    """An enum that may be null: the empty string reads as null (``StringEnumConverter``)."""

    def bind(self, value: Any, path: tuple[Any, ...], ctx: _Context) -> Any:
        if value == "":
            ctx.add(Note("enum", path, "the empty string was read as null (Json.NET's StringEnumConverter)"))
            return None
        return super().bind(value, path, ctx)


# -- the compiler ------------------------------------------------------------------------------


@dataclass
class _Merged:
    types: set[str] = field(default_factory=set)
    typed: bool = False
    properties: dict[str, Any] = field(default_factory=dict)
    additional: Any = None
    has_additional: bool = False
    items: Any = None
    enum: list[Any] | None = None
    numbers: Mapping[str, int] | None = None
    flags: Mapping[str, int] | None = None
    integer_format: str | None = None
    owner: str | None = None


class Binder:
    """Compiles the schemas of one contract into :class:`BodyBinder` objects, each schema once.
    ``binder_for(contract)`` is the one a process shares."""

    def __init__(self, contract: Contract) -> None:
        self._contract = contract
        self._nodes: dict[Any, tuple[Any, Node]] = {}  # key -> (the schema, kept alive; its node)
        self._requests: dict[tuple[str, str], BodyBinder | None] = {}

    def body(self, schema: Any, *, name: str = "the body") -> BodyBinder:
        """The binder of values of ``schema`` (a schema of the contract's document)."""
        return BodyBinder(self._node(schema, name))

    def request_body(self, operation_id: str, media_type: str = "application/json") -> BodyBinder | None:
        """The binder of an operation's request body in ``media_type`` (None: no such body), for
        checks that judge what a server made of a request: ``.bind(sent).value`` is what it bound."""
        key = (operation_id, media_type)
        if key not in self._requests:
            spec = self._contract.operation(operation_id)[2]
            body = self._contract.resolve(spec.get("requestBody", {}))
            content = body.get("content", {}).get(media_type, {})
            self._requests[key] = self.body(content["schema"]) if "schema" in content else None
        return self._requests[key]

    # -- schemas --------------------------------------------------------------------------

    def _key(self, schema: Any) -> Any:
        if isinstance(schema, dict) and "$ref" in schema and set(schema) <= _REFERENCE_ONLY:
            return schema["$ref"]  # a reference and its annotations: the referenced schema's node
        return id(schema)

    def _node(self, schema: Any, owner: str) -> Node:
        key = self._key(schema)
        cached = self._nodes.get(key)
        if cached is not None:
            return cached[1]
        merged = self._merge(schema)
        node = self._compile(merged, schema, key, merged.owner or owner)
        return node

    def _compile(self, merged: _Merged, schema: Any, key: Any, owner: str) -> Node:
        types = merged.types
        if merged.flags is not None:
            cls = _NullableEnum if "null" in types else _Enum
            node: Node = cls(list(merged.flags), merged.flags, True)
        elif merged.enum is not None and all(isinstance(v, str) or v is None for v in merged.enum):
            names = [v for v in merged.enum if isinstance(v, str)]
            given = (merged.numbers or {}).items()
            numbers = {name: int(n) for name, n in given if name in names and isinstance(n, int)}
            cls = _NullableEnum if "null" in types or None in merged.enum else _Enum
            node = cls(names, numbers or None, False)
        elif merged.properties:
            obj = _Object(owner)
            self._nodes[key] = (schema, obj)  # before the properties: a schema may refer to itself
            props = {name: self._node(sub, f"{owner}.{name}") for name, sub in merged.properties.items()}
            obj.finish(props, merged.additional is False)
            return obj
        elif "object" in types or (merged.has_additional and not merged.typed):
            # a dictionary: additionalProperties and no properties (or a bare object): keys are the user's
            additional = merged.additional if merged.has_additional else True
            values = _ANY if additional in (True, None, {}) else self._node(additional, owner)
            node = _ANY if values is _ANY else _Dictionary(values)
        elif "array" in types or (not merged.typed and merged.items is not None):
            node = _Array(_ANY if merged.items is None else self._node(merged.items, owner))
        elif types & {"string", "integer", "number", "boolean"}:
            scalar = _Scalar(frozenset(types), merged.integer_format)
            node = _ANY if scalar.ok == _ALL else scalar
        else:
            node = _ANY
        self._nodes[key] = (schema, node)
        return node

    def _merge(self, schema: Any) -> _Merged:
        """The schema with ``$ref`` followed and allOf/anyOf/oneOf folded together."""
        merged = _Merged()
        stack = [schema]
        seen: set[int] = set()
        while stack:
            node = stack.pop(0)
            if not isinstance(node, dict) or id(node) in seen:
                continue
            seen.add(id(node))
            if "$ref" in node:
                ref = node["$ref"]
                if merged.owner is None and ref.startswith("#/components/schemas/"):
                    merged.owner = ref.rsplit("/", 1)[-1]
                stack.insert(0, self._contract.resolve(node))
                continue
            kind = node.get("type")
            if isinstance(kind, str):
                merged.types.add(kind)
                merged.typed = True
            elif isinstance(kind, list):
                merged.types.update(kind)
                merged.typed = True
            for keyword in ("allOf", "anyOf", "oneOf"):
                stack.extend(node.get(keyword, ()))
            for name, sub in (node.get("properties") or {}).items():
                merged.properties.setdefault(name, sub)
            if "additionalProperties" in node and not merged.has_additional:
                merged.additional, merged.has_additional = node["additionalProperties"], True
            if "items" in node and merged.items is None:
                merged.items = node["items"]
            if "enum" in node and merged.enum is None:
                merged.enum = list(node["enum"])
            if isinstance(node.get("x-enum-numbers"), dict) and merged.numbers is None:
                merged.numbers = node["x-enum-numbers"]
            if isinstance(node.get("x-flags"), dict) and merged.flags is None:
                merged.flags = {str(k): int(v) for k, v in node["x-flags"].items()}
            if node.get("format") in _RANGES and merged.integer_format is None:
                merged.integer_format = node["format"]
        if merged.properties and not merged.typed:
            merged.types.add("object")
        return merged


@functools.cache
def binder_for(contract: Contract) -> Binder:
    """The :class:`Binder` of ``contract``, built once per process."""
    return Binder(contract)


class BodyBinder:
    """Binds values of one schema. ``root`` is its compiled node (for walking XML and form names)."""

    def __init__(self, root: Node) -> None:
        self.root = root

    def bind(self, value: Any) -> Binding:
        root = self.root
        if type(value) in root.ok:
            return Binding(value)
        ctx = _Context()
        bound = root.bind(value, (), ctx)
        return Binding(bound, ctx.finish(), ctx.renamed)


class QueryNames:
    """Query parameter names bound case-insensitively to the contract's (ASP.NET's model binding
    reads the query string without regard to case)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(names)
        self.folded: dict[str, str] = {}
        for name in self.names:
            self.folded.setdefault(fold(name), name)

    def bind(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        names = self.names
        if all(key in names for key, _ in pairs):
            return pairs
        folded = self.folded
        return [
            (key if key in names or len(key) > _LONGEST_SHOWN else folded.get(fold(key), key), value)
            for key, value in pairs
        ]

