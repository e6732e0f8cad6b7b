"""A bare Flask handler that answers SaveWebhook with a fixed body (the seed page's sample response):
the floor that Flask and the WSGI server set. Not part of the mock."""

from __future__ import annotations

import json

from flask import Flask, Response

from bench import _paths  # noqa: F401  tests/ on sys.path, for docpages

# isort: split
import docpages

BODY = json.dumps(docpages.sample_response(docpages.SEED).json, separators=(",", ":")).encode()

app = Flask("bare")


@app.post("/api/v1/Agents/Webhook/SaveWebhook")
def save_webhook() -> Response:
    return Response(BODY, content_type="application/json; charset=utf-8")
