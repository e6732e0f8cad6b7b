"""What goes over the wire between a client and a server, as the checks judge it.

``WireRequest`` is a request as sent (bytes, and the value its body encodes); ``Exchange`` is one
request and the server's answer. The strategies build the first, the checks judge the second, and
neither module needs the other (importing the checks does not import Hypothesis).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import Headers

from contracts.wire import parse_media_type

__all__ = ["Exchange", "WireRequest"]


@dataclass(frozen=True)
class WireRequest:
    """A request as it goes on the wire, with the value its body encodes."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    value: Any = None
    content_type: str | None = None

    def as_curl(self, base_url: str) -> str:
        parts = [f"curl -X {self.method} '{base_url.rstrip('/')}{self.path}'"]
        parts += [f"-H '{k}: {v}'" for k, v in self.headers.items()]
        if self.body:
            parts.append("--data-binary " + json.dumps(self.body.decode("utf-8", "replace")))
        return " \\\n  ".join(parts)


@dataclass
class Exchange:
    """One request to a server and its answer."""

    operation: str
    request: WireRequest
    status: int
    headers: Headers
    body: bytes

    @property
    def media_type(self) -> str:
        return parse_media_type(self.headers.get("Content-Type"))[0]
