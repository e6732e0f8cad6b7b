"""Serve the mock standalone, on granian, until SIGINT or SIGTERM.

granian runs the app in worker processes (one by default) that share the listening socket. With
more than one they keep their state in one SQLite file (``config.db_path``, or a temporary file
removed at exit), so that every process sees every webhook and ids are never handed out twice;
with a postgresql:// URL, in PostgreSQL, which mocks on other hosts share too (replicas).
bench/README.md has the measurements behind the choice of server, workers and threads.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from contracts.spec import load
from mockserver import logline
from mockserver.app import create_app
from mockserver.config import MockConfig
from mockserver.inspector import INSPECTOR_PATH
from mockserver.state import state_of
from mockserver.store import describe_store, open_store

__all__ = ["default_threads", "ready_line", "run_workers", "serve", "settle"]

# Threads per process. A process runs one request at a time (the GIL); more threads only contend
# for it, which costs 15 to 40% under load (bench/README.md), but a request that waits on a webhook
# target (the registration ping, TestWebhook) holds its thread until the target answers. One
# process keeps a few so that a slow target does not stall the mock; with --workers, which is for
# load, each worker has one.
THREADS_ONE_PROCESS = 4
THREADS_PER_WORKER = 1


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
    store = describe_store(config.db_path)  # a password in a URL masked
    accepted = "; ".join(credentials) or "no users configured"
    notes = ""
    if config.delivery.allow_http:
        notes += "; plain-HTTP targets ALLOWED"
    if not config.delivery.registration_ping:
        notes += "; registration ping OFF"
    page = f"{url}{INSPECTOR_PATH}"  # the inspector: the same credentials (docs/fidelity.md F-230)
    return f"sowebhook mock ready at {url} (profile {config.profile}, store {store}; credentials: {accepted}{notes}); inspector: {page}"


def serve(
    config: MockConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    threads: int | None = None,
    workers: int = 1,
    quiet: bool = False,
    stream_bodies: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    """Serve until SIGINT or SIGTERM with ``workers`` processes of ``threads`` threads each
    (default: ``default_threads(workers)``). The ready line comes from a worker, on standard
    output; ``out`` gets the closing line. ``quiet`` logs warnings and errors only, not one line
    per request. ``stream_bodies``: granian's WSGI interface, which hands the app a body as it
    arrives (faster, but a client that stalls mid-body holds a thread: see :func:`run_workers`)."""
    logline.configure(logging.WARNING if quiet else logging.INFO)
    threads = threads or default_threads(workers)
    with tempfile.TemporaryDirectory(prefix="sowebhook-") as scratch:
        if workers > 1 and config.db_path is None:  # processes share state only through SQLite
            config = config.evolve(db_path=str(Path(scratch) / "state.sqlite3"))
        load()  # read once here; forked workers inherit it
        if config.db_path is not None:
            # create or migrate the schema here, once, and fail on a store the workers could not open
            open_store(config.db_path).close()
        port = _vacant_port(host, port)
        ready = ready_line(f"http://{_url_host(host)}:{port}", config)
        # Each worker builds its own app (no SQLite connection crosses a fork) from this configuration.
        loader = functools.partial(_worker_app, config.to_mapping(), logging.getLogger().level)
        run_workers(
            loader,
            host=host,
            port=port,
            threads=threads,
            workers=workers,
            ready=ready,
            stream_bodies=stream_bodies,
        )
    print("sowebhook mock stopped", file=out, flush=True)
    return 0


def default_threads(workers: int) -> int:
    return THREADS_PER_WORKER if workers > 1 else THREADS_ONE_PROCESS


def run_workers(
    loader: Callable[[], Any],
    *,
    host: str,
    port: int,
    threads: int,
    workers: int,
    ready: str,
    stream_bodies: bool = False,
) -> None:
    """Serve the WSGI app ``loader()`` builds in each of ``workers`` granian processes (``threads``
    threads each) until SIGINT or SIGTERM. Once every worker has built its app and the port
    answers, one of them prints ``ready`` on standard output. ``loader`` must pickle where workers
    are spawned rather than forked: a module-level function or a partial of one.

    By default the app runs behind :class:`mockserver.rsgi.BufferedRSGI` on granian's RSGI
    interface: a body is read whole on the event loop, within a deadline, before a thread takes
    the request, so clients that stall mid-body hold no thread and get 408 (F-114). granian's WSGI
    interface (``stream_bodies``) calls the app once the headers are in and has no body timeout:
    a few stalled bodies would hold every thread, and nobody would be answered."""
    from granian.constants import Interfaces
    from granian.server import Server

    with tempfile.TemporaryDirectory(prefix="sowebhook-") as scratch:
        server = Server(
            "mockserver.wsgi:app",  # named in granian's logs; the loader builds the app
            address=host,
            port=port,
            interface=Interfaces.WSGI if stream_bodies else Interfaces.RSGI,
            workers=workers,
            blocking_threads=threads if stream_bodies else 1,  # RSGI: the bridge has its threads
            log_enabled=False,
            workers_kill_timeout=10,  # a worker that ignores SIGTERM is killed
        )
        if not stream_bodies:
            loader = functools.partial(_buffered, loader, threads)
        announcing = functools.partial(_announcing, loader, ready, scratch, workers, (host, port))
        server.serve(target_loader=announcing, wrap_loader=False)


def _buffered(loader: Callable[[], Any], threads: int) -> Any:
    from mockserver.rsgi import BufferedRSGI

    return BufferedRSGI(loader(), threads=threads)


def _announcing(
    loader: Callable[[], Any], ready: str, scratch: str, workers: int, address: tuple[str, int]
) -> Any:
    # Until granian installs its own handlers a worker would swallow SIGINT/SIGTERM with the
    # handlers it inherited, and then never stop: the default (end the process) applies meanwhile.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    app = loader()
    # The last worker to have its app says so, once the port answers (each worker listens itself,
    # after this returns). No thread in the server process does: a thread running while it forks
    # its workers can leave them a lock held forever (an import lock, stdout's).
    Path(scratch, f"loaded-{os.getpid()}").touch()
    if len(list(Path(scratch).glob("loaded-*"))) >= workers:
        try:
            os.close(os.open(Path(scratch, "announced"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return app
        threading.Thread(target=_announce, args=(address, ready), daemon=True).start()
    return app


def _announce(address: tuple[str, int], ready: str) -> None:
    while True:
        try:
            socket.create_connection(address, timeout=1).close()
        except OSError:
            time.sleep(0.005)
            continue
        print(ready, flush=True)
        return


def _worker_app(mapping: dict[str, Any], level: int = logging.INFO) -> Any:
    if not logging.getLogger().handlers:  # a spawned (not forked) worker
        logline.configure(level)
    app = create_app(MockConfig.from_mapping(mapping))
    state_of(app).deliveries.start()  # a shared store's outbox is served from the start, by every process
    settle()
    return app


def settle() -> None:
    """Call once a worker has built its app. What it holds by then lives as long as the worker: out
    of the collector's sight, a full collection no longer walks the 37,000 objects of the loaded app
    and contract (20 ms, a pause that every request queued behind it would wait out)."""
    gc.collect()
    gc.freeze()


def _vacant_port(host: str, port: int) -> int:
    """``port`` (any free one for 0), once nothing listens on it: granian's workers bind with
    SO_REUSEPORT, which would let a second mock on the same port share its requests silently."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT of a stopped server is fine
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(error.errno, f"cannot listen on {host}:{port}: {error.strerror}") from None
        return int(probe.getsockname()[1])


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
