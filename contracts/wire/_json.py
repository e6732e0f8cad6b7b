"""JSON as ASP.NET Web API reads and writes it: RFC 8259 read strictly (no NaN or Infinity, no lone
surrogates, at most MAX_DEPTH levels, numbers that fit), compact UTF-8 written; and date-times as
.NET writes them into the JSON value (F-073)."""

from __future__ import annotations

import json
import math
import sys
from datetime import datetime, timezone
from typing import Any

import orjson

from contracts.wire._body import MAX_DEPTH, WireError

_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, as ASP.NET Web API writes it: orjson (a third of the standard library's
    time on a webhook), or the standard library for what orjson does not write (an integer beyond
    64 bits, which a webhook's Properties may hold: F-115; a dictionary key that is not a string)."""
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return _JSON_ENCODER.encode(value).encode("utf-8")


def _reject_constant(name: str) -> Any:
    raise WireError("The JSON body is not valid JSON.", f"{name} is not a JSON value.")


def decode_json(text: str) -> Any:
    """JSON as RFC 8259 allows it: no NaN/Infinity, no lone surrogates."""
    try:
        if text.startswith("\ufeff"):  # as json.loads words it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _JSON_DECODER.decode(text)
    except WireError:
        raise
    except json.JSONDecodeError as error:
        raise WireError(
            "The JSON body is not valid JSON.", f"{error.msg} at line {error.lineno} column {error.colno}."
        ) from None
    except ValueError:  # an integer longer than int() reads (sys.get_int_max_str_digits)
        raise WireError(
            "The JSON body has a number out of range.",
            f"A number has more than {getattr(sys, 'get_int_max_str_digits', lambda: 4300)()} digits.",
        ) from None
    except RecursionError:
        raise _too_deeply_nested() from None
    # a text with no more than MAX_DEPTH opening brackets (in strings or not) cannot nest deeper
    if text.count("[") + text.count("{") > MAX_DEPTH and _too_deep(value):
        raise _too_deeply_nested()
    if "\\u" in text or not _encodes(text):  # a lone surrogate comes from an escape or from the text
        _check_strings(value)
    return value


def _too_deeply_nested() -> WireError:
    return WireError("The JSON body is nested too deeply.", f"It nests more than {MAX_DEPTH} levels deep.")


def _too_deep(value: Any) -> bool:
    """Whether arrays and objects nest more than MAX_DEPTH levels (the outermost is level 1)."""
    if not isinstance(value, (dict, list)):
        return False
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: a double overflows to inf, which is no JSON value
        raise WireError("The JSON body has a number out of range.", f"{text[:40]} does not fit a double.")
    return value


_JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def _check_strings(value: Any) -> None:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if not _encodes(node):
                raise WireError(
                    "The JSON body is not valid Unicode.", "It contains an unpaired surrogate escape."
                )
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


UNSET_DATE = "0001-01-01T00:00:00"


def format_datetime(moment: datetime) -> str:
    """A UTC date-time as .NET writes it: seven fractional digits and ``Z`` (F-073)."""
    moment = moment.astimezone(timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0Z"
