"""``mockserver.wsgi:app`` logging one line per request to stderr, as ``sowebhook mock`` does, for
servers started from their own command line (bench/servers.py). Not part of the mock."""

from __future__ import annotations

import logging
import sys

logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")

from mockserver.wsgi import app  # noqa: E402

__all__ = ["app"]
