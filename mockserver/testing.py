"""``MockServer``: the mock on a loopback socket, served from a background thread, for a test suite
to point the client under test at; in pytest-httpserver's shape::

    with MockServer() as mock:               # or mock = MockServer(config).start(); ...; mock.stop()
        mock.expect("SaveWebhook", times=1)
        client_under_test(mock.url)
        assert not mock.problems()           # or mock.check()

``problems()`` is everything that went wrong, as readable lines:

- requests of the client that broke the contract (and, with ``fail_on_warnings``, those the server
  reads only leniently), unmet expectations and, with ``strict``, calls nobody expected (respx);
- the mock's own bugs: an answer that breaks the contract (a journal entry's
  ``response_violations``), a 5xx answer no injected fault asked for, and any exception in the server
  thread, escaped or logged with its traceback while answering (pytest-httpserver's
  ``check_handler_errors``): a bug the mock hit while the client was talking to it fails the test.

The ``sowebhook_mock`` fixture of ``contracts.pytest_plugin`` is one MockServer per session, reset
for every test, that fails a test whose ``problems()`` are not empty.
"""

from __future__ import annotations

import logging
import threading
import traceback
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from contracts.coverage import Coverage
from mockserver.app import create_app
from mockserver.config import MockConfig
from mockserver.journal import JournalEntry
from mockserver.state import reset as reset_state
from mockserver.state import state_of

__all__ = ["MockServer"]


@dataclass
class _Expectation:
    operation: str
    times: int | None


class _ServerThreadErrors(logging.Handler):
    """The WSGI app as the server's threads run it. It records an exception that escapes the app
    and, as a handler on the root logger, every record logged with a traceback on a thread while
    that thread answers a request (the mock logs a failure and answers 500 unless
    ``response_validation="raise"``)."""

    def __init__(self, app: Any) -> None:
        super().__init__(logging.ERROR)
        self.app = app
        self._serving = threading.local()
        self._errors: list[str] = []
        self._errors_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self._serving.request = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
        try:
            return self.app(environ, start_response)
        except Exception:
            self._add(f"{self._serving.request} raised:\n{traceback.format_exc()}")
            raise
        finally:
            self._serving.request = None

    def emit(self, record: logging.LogRecord) -> None:
        request = getattr(self._serving, "request", None)
        if request is None or not record.exc_info or record.exc_info[0] is None:
            return
        text = "".join(traceback.format_exception(*record.exc_info))
        self._add(f"{request} failed ({record.getMessage()}):\n{text}")

    def _add(self, error: str) -> None:
        with self._errors_lock:
            self._errors.append(error.rstrip())

    def errors(self) -> list[str]:
        with self._errors_lock:
            return list(self._errors)

    def clear(self) -> None:
        with self._errors_lock:
            self._errors.clear()


class MockServer:
    """The mock as a test sees it: ``create_app(config)`` (by default
    ``MockConfig(response_validation="report")``: the client gets even an answer that breaks the
    contract, and ``problems()`` names it) served on ``host``:``port`` (0: any free port)."""

    def __init__(self, config: MockConfig | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = create_app(config or MockConfig(response_validation="report"))
        self.host = host
        self.port = port
        self.expectations: list[_Expectation] = []
        self.strict = False  # a call nobody expected is a problem
        self.fail_on_warnings = False  # a request the server reads only leniently is a problem
        self._watch = _ServerThreadErrors(self.app)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._earlier = Coverage(
            state_of(self.app).contract
        )  # the coverage of the runs before the last reset

    # -- running ---------------------------------------------------------------------------------

    def start(self) -> MockServer:
        if self._server is not None:
            raise RuntimeError("the mock is already running")
        if self._stopped:
            raise RuntimeError(
                "a stopped MockServer does not start again (its deliveries are closed): make a new one"
            )
        self._server = make_server(self.host, self.port, self._watch, threaded=True)
        logging.getLogger().addHandler(self._watch)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sowebhook-mock",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the mock's deliveries; a stopped MockServer is not started again."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        logging.getLogger().removeHandler(self._watch)
        state_of(self.app).deliveries.close()
        self._server, self._thread, self._stopped = None, None, True

    def is_running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the mock is not running: call start() first")
        return f"http://{self.host}:{self._server.server_port}"

    # -- what the test sets and reads ------------------------------------------------------------

    def reset(self) -> None:
        """Forget webhooks, journal, faults, expectations and recorded errors; stateful answers, not strict.
        The coverage the mock served so far is kept for ``coverage()``."""
        self._earlier.merge(state_of(self.app).coverage)
        reset_state(state_of(self.app))
        self.expectations.clear()
        self.strict = False
        self._watch.clear()

    def journal(self) -> list[JournalEntry]:
        return state_of(self.app).journal.entries()

    def coverage(self) -> Coverage:
        """What this server answered since it was made, across resets, against all the contract
        declares (``contracts.coverage``; ``GET /__mock__/coverage`` is since the last reset)."""
        total = Coverage(state_of(self.app).contract)
        total.merge(self._earlier)
        total.merge(state_of(self.app).coverage)
        return total

    def expect(self, operation: str, *, times: int | None = None) -> None:
        """The test expects the client to call ``operation`` (``times`` exactly, or at least once)."""
        self.expectations.append(_Expectation(operation, times))

    def generated_responses(self, seed: int = 0) -> None:
        """Answer with any response the contract allows (reproducible from ``seed``), so the
        client's parser meets every shape: null associates, a missing ErrorsEmail, the unset date."""
        state_of(self.app).agent.generate_responses(seed)

    def problems(self) -> list[str]:
        """Contract violations of the client's requests, unmet expectations, unexpected calls, and
        the mock's own failures: answers that break the contract, 5xx answers, server-thread errors."""
        found = []
        journal = self.journal()
        for entry in journal:
            if entry.verdict in ("invalid", "rejected") and entry.status not in (401, 403):
                reasons = "\n      ".join(entry.violations) or f"answered {entry.status}"
                found.append(
                    f"request #{entry.id} {entry.method} {entry.path} ({entry.operation or 'no such operation'}) broke the contract:\n      {reasons}"
                )
            elif self.fail_on_warnings and entry.warnings:
                lenient = "\n      ".join(entry.warnings)
                found.append(
                    f"request #{entry.id} {entry.method} {entry.path} ({entry.operation}) was read only leniently:\n      {lenient}"
                )
        calls: dict[str, int] = {}
        for entry in journal:
            if entry.operation:
                calls[entry.operation] = calls.get(entry.operation, 0) + 1
        for expectation in self.expectations:
            made = calls.get(expectation.operation, 0)
            if (expectation.times is None and made == 0) or (
                expectation.times is not None and made != expectation.times
            ):
                wanted = "at least once" if expectation.times is None else f"{expectation.times} time(s)"
                found.append(
                    f"expected {expectation.operation} {wanted}, the client called it {made} time(s)"
                )
        if self.strict:
            expected = {e.operation for e in self.expectations}
            found += [
                f"unexpected call: {op} ({n} time(s))"
                for op, n in sorted(calls.items())
                if op not in expected
            ]
        return found + self._mock_failures(journal)

    def _mock_failures(self, journal: list[JournalEntry]) -> list[str]:
        found = []
        for entry in journal:
            request = (
                f"request #{entry.id} {entry.method} {entry.path} ({entry.operation or 'no such operation'})"
            )
            if entry.response_violations:
                broken = "\n      ".join(entry.response_violations)
                found.append(
                    f"the mock's answer to {request} broke the contract (a bug in the mock):\n      {broken}"
                )
            if entry.status is not None and entry.status >= 500 and entry.verdict != "injected":
                found.append(
                    f"the mock answered {entry.status} to {request}, and no injected fault asked for it"
                )
        found += [f"the mock failed in its server thread: {error}" for error in self._watch.errors()]
        return found

    def check(self) -> None:
        """Raise ``AssertionError`` naming every problem, if there is one."""
        problems = self.problems()
        if problems:
            raise AssertionError(
                "\n  ".join(["the mock of SuperOffice's Webhook agent found problems:", *problems])
            )
