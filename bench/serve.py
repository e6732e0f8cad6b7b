"""Start one variant of the benchmark as a real process, served the way ``sowebhook mock`` serves.

    python bench/serve.py {mock,unvalidated,bare} --port P [--workers N] [--threads T] [--db FILE]

``mock`` is ``mockserver.server.serve`` with the configuration ``sowebhook mock`` builds (used when
the installed CLI has no ``--workers`` option yet); ``unvalidated`` (bench/unvalidated.py) and
``bare`` (bench/bare.py) run under the same server, workers, threads and logging, so that the
differences between the three are the apps' alone. Not part of the mock.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mockserver.config import ENVIRONMENT_VARIABLE, MockConfig  # noqa: E402
from mockserver.server import default_threads, run_workers, serve, settle  # noqa: E402

TARGETS = {"unvalidated": "bench.unvalidated:app", "bare": "bench.bare:app"}


def _load(target: str) -> Any:
    module, _, name = target.partition(":")
    app = getattr(importlib.import_module(module), name)
    settle()  # as the mock's workers do
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", choices=["mock", *TARGETS])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, help="threads per process [the mock's default]")
    parser.add_argument("--db")
    parser.add_argument(
        "--stream-bodies", action="store_true", help="granian's WSGI interface, not the body-buffering bridge"
    )
    args = parser.parse_args()
    config = MockConfig(response_validation="report", db_path=args.db)  # what `sowebhook mock --db` builds
    if args.variant == "mock":
        return serve(
            config,
            host="127.0.0.1",
            port=args.port,
            threads=args.threads,
            workers=args.workers,
            stream_bodies=args.stream_bodies,
        )
    os.environ[ENVIRONMENT_VARIABLE] = json.dumps(config.to_mapping())  # read by bench/unvalidated.py
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    loader = functools.partial(_load, TARGETS[args.variant])
    threads = args.threads or default_threads(args.workers)
    run_workers(
        loader,
        host="127.0.0.1",
        port=args.port,
        threads=threads,
        workers=args.workers,
        ready="ready",
        stream_bodies=args.stream_bodies,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
