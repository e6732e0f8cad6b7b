"""The inspector: one HTML page at ``/__mock__/`` that shows the mock live, for people who would
rather look than read JSON (docs/fidelity.md F-230 to F-236).

It holds no data of its own and adds nothing to the cost of a request: the page is a template, a
style sheet and a script (``templates/inspector.html``, ``static/inspector.css``,
``static/inspector.js``, package data), and the script polls the admin endpoints
(``mockserver.admin``) while its tab is visible. The page and its files need the admin's
credentials (F-081); a browser without them is challenged for Basic credentials in the realm the
admin endpoints name, so that it sends them again on the script's requests (F-230).

What the page needs from the contract and the configuration (the operationIds and statuses of the
fault form, the header names masking hides, the endpoints' URLs) is given to the script in the
page, never typed twice in it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, send_from_directory, url_for

from mockserver.errors import MockError, bad_request
from mockserver.masking import MASK, SENSITIVE_HEADERS
from mockserver.state import MockState, state_of

__all__ = ["ASSETS", "INSPECTOR_PATH", "POLL_BOUNDS", "POLL_MS", "blueprint"]

# Where the page is served (this blueprint's prefix, beside the admin's); the ready line prints it.
INSPECTOR_PATH = "/__mock__/"
# How often the page asks for news while its tab is visible (F-233); ``?poll=MS`` within these bounds.
POLL_MS = 1000
POLL_BOUNDS = (100, 60_000)
# Nothing the page loads comes from anywhere but the mock (F-234).
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_CHALLENGE = re.compile(r'Basic realm="[^"]*"')

# The page's own files, each at a fixed path (no route takes a file name from the request).
ASSETS = ("inspector.css", "inspector.js")
_STATIC = Path(__file__).resolve().parent / "static"

blueprint = Blueprint(
    "sowebhook_inspector", __name__, template_folder="templates", url_prefix=INSPECTOR_PATH.rstrip("/")
)


@blueprint.before_request
def _authenticate() -> None:
    """The admin's credentials (Online Restricted too), for the page and its files alike."""
    auth = state_of(current_app).auth
    auth.authorize_agent(auth.authenticate(request.headers, request.cookies))


@blueprint.errorhandler(MockError)
def _refused(error: MockError) -> Response:
    """SuperOffice's error shape and headers, as the admin endpoints answer. A browser reads one
    challenge per ``WWW-Authenticate`` header (chromium drops a header that lists several), so a
    Basic challenge among others is repeated in a header of its own: the browser then asks for a
    user name and password."""
    response = Response(
        json.dumps(error.body), status=error.status, mimetype="application/json", headers=error.headers
    )
    challenge = response.headers.get("WWW-Authenticate", "")
    basic = _CHALLENGE.search(challenge)
    if basic is not None and basic.group(0) != challenge:
        response.headers.add("WWW-Authenticate", basic.group(0))
    return response


@blueprint.after_request
def _secure(response: Response) -> Response:
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@blueprint.get("/", strict_slashes=False)  # /__mock__ too, without a redirect
def page() -> str:
    poll = request.args.get("poll", str(POLL_MS))
    if not poll.isascii() or not poll.isdigit() or len(poll) > 9:
        raise bad_request(
            f"poll is a number of milliseconds, from {POLL_BOUNDS[0]} to {POLL_BOUNDS[1]} (got {poll!r})."
        )
    poll_ms = min(max(int(poll), POLL_BOUNDS[0]), POLL_BOUNDS[1])
    return render_template("inspector.html", config=_page_config(state_of(current_app), poll_ms))


def _asset(name: str) -> Response:
    return send_from_directory(_STATIC, name)


for _name in ASSETS:
    blueprint.add_url_rule(f"/inspector/{_name}", "asset", _asset, defaults={"name": _name}, methods=["GET"])


def _page_config(state: MockState, poll_ms: int) -> dict[str, Any]:
    """What the script reads from the page: endpoints, the contract's operations and statuses,
    what masking hides."""
    operations = state.contract.operations
    statuses = sorted({int(s) for op in operations.values() for s in op.responses if s.isdigit()})
    return {
        "poll_ms": poll_ms,
        "max_poll_ms": POLL_BOUNDS[1],  # the longest pause, however long a poll takes
        "profile": state.config.profile,
        "mask": MASK,
        "sensitive_headers": sorted(SENSITIVE_HEADERS),
        "operations": list(operations),
        # the face of each operation: the contract's tag of it (the agent's, or REST's)
        "faces": {op.operation_id: (op.spec.get("tags") or [""])[0] for op in operations.values()},
        "statuses": statuses,
        "urls": {
            "journal": url_for("sowebhook_admin.journal"),
            "deliveries": url_for("sowebhook_admin.deliveries"),
            "redeliver": _template("sowebhook_admin.redeliver"),
            "webhooks": url_for("sowebhook_admin.webhooks"),
            "faults": url_for("sowebhook_admin.faults"),
            "coverage": url_for("sowebhook_admin.coverage"),
        },
    }


def _template(endpoint: str) -> str:
    """The URL of an endpoint with one variable part, that part ``{id}`` (the script fills it in)."""
    (rule,) = current_app.url_map.iter_rules(endpoint)
    return re.sub(r"<[^>]+>", "{id}", rule.rule)
