"""Serve a mock app standalone until SIGINT or SIGTERM.

One process (the default): waitress, a production WSGI server in pure Python that runs on every
platform. ``workers > 1``: granian, whose worker processes share the listening socket and keep
their state in one SQLite file (``config.db_path``, or a temporary file removed at exit), so that
every process sees every webhook and ids are never handed out twice. bench/README.md has the
measurements behind the choice.
"""

from __future__ import annotations

import functools
import logging
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, TextIO

from contracts.spec import load
from mockserver.app import create_app, state_of
from mockserver.config import MockConfig
from mockserver.store import open_store

__all__ = ["ready_line", "run_workers", "serve"]

_LOG_FORMAT = "%(asctime)s %(name)s %(message)s"


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


def serve(
    config: MockConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    threads: int = 8,
    workers: int = 1,
    out: TextIO = sys.stdout,
) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=_LOG_FORMAT)
    if workers > 1:
        return _serve_workers(config, host=host, port=port, threads=threads, workers=workers, out=out)
    from waitress.server import create_server

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


def _serve_workers(config: MockConfig, *, host: str, port: int, threads: int, workers: int, out: TextIO) -> int:
    with tempfile.TemporaryDirectory(prefix="sowebhook-") as scratch:
        if config.db_path is None:  # processes share state only through SQLite
            config = config.evolve(db_path=str(Path(scratch) / "state.sqlite3"))
        load()  # read once here; forked workers inherit it
        open_store(config.db_path).close()  # fail here, once, on a file the workers could not open
        port = port or _free_port(host)
        url = f"http://{_url_host(host)}:{port}"
        # Each worker builds its own app (no SQLite connection crosses a fork) from this configuration.
        loader = functools.partial(_worker_app, config.to_mapping())
        run_workers(loader, host=host, port=port, threads=threads, workers=workers, ready=ready_line(url, config), out=out)
    print("sowebhook mock stopped", file=out, flush=True)
    return 0


def run_workers(
    loader: Callable[[], Any], *, host: str, port: int, threads: int, workers: int, ready: str, out: TextIO
) -> None:
    """Serve the WSGI app ``loader()`` builds in each of ``workers`` granian processes (``threads``
    threads each) until SIGINT or SIGTERM; print ``ready`` once the port accepts connections.
    ``loader`` must pickle where workers are spawned, not forked (a module function or partial)."""
    from granian.constants import Interfaces
    from granian.server import Server

    server = Server(
        "mockserver.wsgi:app",  # named in granian's logs; the loader builds the app
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        log_enabled=False,
    )
    threading.Thread(target=_announce, args=(host, port, ready, out), daemon=True).start()
    server.serve(target_loader=loader, wrap_loader=False)


def _worker_app(mapping: dict[str, Any]) -> Any:
    if not logging.getLogger().handlers:  # a spawned (not forked) worker
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=_LOG_FORMAT)
    return create_app(MockConfig.from_mapping(mapping))


def _announce(host: str, port: int, line: str, out: TextIO) -> None:
    """Print the ready line once the port accepts connections."""
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
        except OSError:
            time.sleep(0.01)
            continue
        print(line, file=out, flush=True)
        return


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
