"""A bare Flask handler that answers SaveWebhook with a fixed body (the seed page's sample response):
the floor that Flask and the WSGI server set. Not part of the mock."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from flask import Flask, Response

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import docpages  # noqa: E402

BODY = json.dumps(docpages.sample_response(docpages.SEED).json, separators=(",", ":")).encode()

app = Flask("bare")


@app.post("/api/v1/Agents/Webhook/SaveWebhook")
def save_webhook() -> Response:
    return Response(BODY, content_type="application/json; charset=utf-8")
