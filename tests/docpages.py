"""Samples read straight from SuperOffice's documentation pages: the oracle of the contract tests.

The pages under ``tests/superoffice_docs/`` are unmodified copies of SuperOffice's MIT-licensed
documentation (see its LICENSE); ``test_docpages_are_unmodified`` compares them with the team's
reference copy when it is present. Nothing here reads the contract: these samples are what the
contract is checked against.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DOCS = Path(__file__).with_name("superoffice_docs")
AGENT_PAGES = DOCS / "en/api/reference/restful/agent/Webhook_Agent"
REST_PAGES = DOCS / "en/api/reference/restful/rest/Webhook"
SEED = DOCS / "seeds/000_bcd8efd58d1a8676.txt"

_JSON_START = re.compile(r"\{[ \t]*\n")
_FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass
class HttpMessage:
    start_line: str
    headers: dict[str, str]
    body_text: str
    query: dict[str, str] = field(default_factory=dict)

    @property
    def json(self) -> Any:
        return json.loads(self.body_text)

    @property
    def method(self) -> str:
        return self.start_line.split()[0]

    @property
    def path(self) -> str:
        return urlsplit(self.start_line.split()[1]).path

    @property
    def status(self) -> int:
        return int(self.start_line.split()[1])


def fences(text: str) -> list[tuple[str, str]]:
    """``(info string, content)`` of every fenced block of a page."""
    return [(m["info"].strip(), m["body"]) for m in _FENCE.finditer(text)]


def parse_http(block: str) -> HttpMessage:
    """A request or response written as on the wire: start line, headers, blank line, body."""
    lines = block.strip("\n").split("\n")
    start, headers, i = lines[0].strip(), {}, 1
    while i < len(lines) and lines[i].strip():
        name, _, value = lines[i].partition(":")
        headers[name.strip()] = value.strip()
        i += 1
    message = HttpMessage(start, headers, "\n".join(lines[i:]).strip())
    if not start.startswith("HTTP/"):
        message.query = dict(parse_qsl(urlsplit(start.split()[1]).query))
    return message


def rest_operations() -> dict[str, str]:
    """``{operation id: "METHOD /api/v1/Webhook..."}`` of the REST reference pages (their uid and
    their request line)."""
    found = {}
    for page in sorted(REST_PAGES.glob("v1Webhook_*.md")):
        text = page.read_text(encoding="utf-8")
        line = re.search(r"^```http\n(\w+) (/api/v1/Webhook[^\s?]*)", text, re.MULTILINE)
        assert line is not None, f"{page.name} has no request line"
        found[page.stem] = f"{line.group(1)} {line.group(2)}"
    return found


def agent_page(operation_id: str) -> Path:
    return AGENT_PAGES / f"v1WebhookAgent_{operation_id}.md"


def sample_request(page: Path) -> HttpMessage:
    """The page's sample request (the ```http! block)."""
    (block,) = [body for info, body in fences(page.read_text(encoding="utf-8")) if info == "http!"]
    return parse_http(block)


def sample_response(page: Path) -> HttpMessage:
    """The page's sample response (the ```http_ block)."""
    (block,) = [body for info, body in fences(page.read_text(encoding="utf-8")) if info == "http_"]
    return parse_http(block)


def query_examples(page: Path) -> list[dict[str, str]]:
    """The query strings of the page's ``POST ...?a=b`` examples (the plain ```http blocks)."""
    found = []
    for info, body in fences(page.read_text(encoding="utf-8")):
        if info != "http":
            continue
        for line in body.splitlines():
            if "?" in line and not line.split("?", 1)[1].startswith("$select"):
                found.append(dict(parse_qsl(urlsplit(line.split()[1]).query)))
    return found


def payload_samples() -> list[tuple[str, dict[str, str], Any]]:
    """Every webhook payload sample of the delivery pages: ``(where, headers, body)``.

    Some samples are written as a whole HTTP request, one (notification.md) has its headers run
    together on one line before the JSON; the JSON starts at the first ``{`` that ends a line.
    A sample that is not valid JSON is returned with ``body`` set to the ``JSONDecodeError``.
    """
    samples: list[tuple[str, dict[str, str], Any]] = []
    pages = sorted((DOCS / "en/automation/webhook/reference").glob("*.md"))
    pages += [
        DOCS / "en/automation/webhook/dev/notification.md",
        DOCS / "en/automation/webhook/dev/register.md",
    ]
    for page in pages:
        for n, (info, body) in enumerate(fences(page.read_text(encoding="utf-8"))):
            if info != "json" or "{" not in body:
                continue
            start = _JSON_START.search(body)
            if start is None:
                continue
            head, text = body[: start.start()], body[start.start() :]
            if head.lstrip().startswith("POST /api/"):
                continue  # a registration request, not a delivery
            headers = parse_http(head).headers if head.strip().startswith("POST") else {}
            try:
                payload: Any = json.loads(text)
            except json.JSONDecodeError as error:
                payload = error
            samples.append((f"{page.name}#{n}", headers, payload))
    return samples
