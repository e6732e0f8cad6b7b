"""Media types: those the agent reads and writes, a Content-Type parsed, and the response type
negotiated from Accept as ASP.NET Web API negotiates it (F-065)."""

from __future__ import annotations

JSON_TYPES = frozenset(
    {"application/json", "text/json", "application/json-patch+json", "application/merge-patch+json"}
)
XML_TYPES = frozenset({"application/xml", "text/xml"})
FORM_TYPE = "application/x-www-form-urlencoded"
RESPONSE_TYPES = ("application/json", "text/json", "application/xml", "text/xml")


def parse_media_type(header: str | None) -> tuple[str, dict[str, str]]:
    """``("application/json", {"charset": "utf-8"})`` from a Content-Type header; lower-cased type."""
    if not header:
        return "", {}
    kind, _, rest = header.partition(";")
    params = {}
    for part in rest.split(";"):
        name, eq, value = part.partition("=")
        if eq:
            params[name.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), params


def negotiate(accept: str | None, request_media_type: str | None = None) -> str:
    """The response media type, chosen as ASP.NET Web API's DefaultContentNegotiator does (F-065):
    the best match of Accept (by q-value, then specificity, then the JSON formatter before the XML
    one, as Web API lists them, then Accept's order); else the request's Content-Type when
    a response can be written in it; else JSON. The two patch types are answered as JSON."""
    best: tuple[float, int, bool, int] | None = None
    chosen = None
    for position, part in enumerate((accept or "").split(",")):
        kind, params = parse_media_type(part)
        if not kind:
            continue
        try:
            quality = float(params.get("q", "1"))
        except ValueError:
            quality = 0.0
        if quality <= 0:
            continue
        if kind in ("application/json-patch+json", "application/merge-patch+json"):
            kind = "application/json"
        if kind in RESPONSE_TYPES:
            candidate, specificity = kind, 2
        elif kind in ("*/*", "application/*"):
            candidate, specificity = "application/json", 0
        elif kind == "text/*":
            candidate, specificity = "text/json", 1
        else:
            continue
        # on a tie the JSON formatter wins (it precedes the XML one), then the earlier Accept value
        rank = (quality, specificity, candidate.endswith("json"), -position)
        if best is None or rank > best:
            best, chosen = rank, candidate
    if chosen is not None:
        return chosen
    if request_media_type in RESPONSE_TYPES:
        return request_media_type
    return "application/json"
