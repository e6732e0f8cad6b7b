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

The package, each module importing only from those listed above it::

    _text      fold (OrdinalIgnoreCase), .NET's white space and number text, values as notes show them
    _notes     Note, Binding: what binding did; the notes of one request, counted past a hundred
    _nodes     Node, the compiled schema; objects (names), dictionaries and arrays
    _scalars   strings, integers, numbers and booleans: Json.NET's lenient conversions
    _enums     enums by name in any casing or by number (x-enum-numbers), and flags (x-flags)
    _binder    Binder: a contract's schemas compiled into nodes, once each; BodyBinder; binder_for
    _query     QueryNames: query parameter names in any casing
"""

from __future__ import annotations

from contracts.binding._binder import Binder, BodyBinder, binder_for
from contracts.binding._nodes import Node
from contracts.binding._notes import Binding, Note
from contracts.binding._query import QueryNames
from contracts.binding._text import fold

__all__ = ["Binder", "Binding", "BodyBinder", "Node", "Note", "QueryNames", "binder_for", "fold"]
