"""Serve a mock app standalone on waitress, a production WSGI server, until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
from typing import Any, TextIO

from waitress.server import create_server

from mockserver.app import create_app, state_of
from mockserver.config import MockConfig

__all__ = ["ready_line", "serve"]


def ready_line(url: str, config: MockConfig) -> str:
    """The one line that says the mock answers, where, and with which credentials."""
    user = config.users[0] if config.users else None
    credentials = []
    if user is not None:
        if config.profile == "onsite" and user.password is not None:
            import base64

            basic = base64.b64encode(f"{user.username}:{user.password}".encode()).decode()
            credentials.append(f"Basic {basic} ({user.username}/{user.password})")
        credentials += [f"SOTicket {t}" for t in user.tickets[:1]]
        credentials += [f"Bearer {t}" for t in user.bearer_tokens[:1]]
    if config.profile == "online" and config.applications:
        credentials.append(f"SO-AppToken {config.applications[0].app_token}")
    store = f"sqlite {config.db_path}" if config.db_path else "memory"
    accepted = "; ".join(credentials) or "no users configured"
    notes = ""
    if config.delivery.allow_http:
        notes += "; plain-HTTP targets ALLOWED"
    if not config.delivery.registration_ping:
        notes += "; registration ping OFF"
    return f"sowebhook mock ready at {url} (profile {config.profile}, store {store}; credentials: {accepted}{notes})"


def serve(config: MockConfig, *, host: str = "127.0.0.1", port: int = 8080, threads: int = 8, out: TextIO = sys.stdout) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    app = create_app(config)
    server: Any = create_server(app, host=host, port=port, threads=threads, ident="sowebhook-mock")

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    url = f"http://{_url_host(host)}:{server.effective_port}"
    print(ready_line(url, config), file=out, flush=True)
    try:
        server.run()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        server.close()
        state_of(app).deliveries.close()
        state_of(app).store.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("sowebhook mock stopped", file=out, flush=True)
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
