"""HTML reports: ``sowebhook verify --html FILE`` and the pytest plugin's ``--sowebhook-report FILE``.

Each is one self-contained file (inline CSS; no script, no image, no font, nothing fetched: it
reads the same opened from disk), rendered from ``contracts/templates/report.html`` by Jinja2 with
autoescaping, so that nothing a server sends (a body, a header, a message quoting either) becomes
markup.

A verify report (``verify_html``) shows each check with its verdict and basis (documented or
assumed) and the rows of docs/fidelity.md its title or message cites, with the row's text where the
file is at hand (a checkout; an installed wheel, which does not carry docs/, shows the ids); each
failure or warning with its message and the shrunk request as curl, after the requests that set
its webhook up; the run's coverage of the contract (``contracts.coverage``: every exchange of the
run, cleanup's too, by operation, status and media type); the run tag and the ids cleanup deleted.
A session report (``SessionReport``, a pytest plugin object the ``sowebhook`` plugin registers)
shows, for each test that used ``sowebhook_mock``, ``sowebhook_verify`` or
``sowebhook_receiver_check``, its outcome, what the mock found wrong (each request as curl), its
verify and receiver-check reports, and the coverage of the session's mock. Under pytest-xdist each
worker hands its part to the controller (``workeroutput``), which writes the one file: every
worker's tests, and the coverage of their mocks summed.

Every curl is rebuilt with each argument quoted by ``shlex.quote`` (the text report's curl is not
shell-safe), and its credentials and secrets (a ``user:password@`` in a URL too) are masked, as
are messages, with ``mockserver.masking``'s functions: the CLI and the plugin, which sit at the
edge (ARCHITECTURE.md), hand that module in as a ``Masking``, since nothing else in ``contracts``
imports the mock.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

import jinja2
import pluggy

from contracts.check_registry import BASIS
from contracts.coverage import Coverage
from contracts.redact import without_userinfo
from contracts.runner_report import VerifyReport
from contracts.spec import load
from contracts.tenant_scope import ranges

if TYPE_CHECKING:
    import pytest

__all__ = ["FIXTURES", "Curl", "Masking", "SessionReport", "run_coverage", "verify_html"]

FIXTURES = (
    "sowebhook_mock",
    "sowebhook_verify",
    "sowebhook_receiver_check",
)  # the tests a session report shows
_ROW_ID = re.compile(r"\bF-\d{3}\b")
_NOT_SENT_BY_CURL = frozenset({"host", "content-length"})  # curl writes its own


class Masking(Protocol):
    """What masks credentials and secrets: the module ``mockserver.masking`` is one."""

    def mask_headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]: ...
    def mask_text(self, text: str) -> str: ...
    def mask_secrets(self, text: str, secrets: Iterable[str]) -> str: ...
    def secrets_in(self, value: Any) -> list[str]: ...


# -- curl ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Curl:
    """A request as a shell command, every argument quoted; ``caption`` says where it stands."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: str | None
    caption: str = ""

    @property
    def text(self) -> str:
        parts = [f"curl -X {shlex.quote(self.method)} {shlex.quote(self.url)}"]
        parts += [f"-H {shlex.quote(f'{name}: {value}')}" for name, value in self.headers]
        if self.body is not None:
            parts.append(f"--data-raw {shlex.quote(self.body)}")  # --data-binary would read "@file" bodies
        return " \\\n  ".join(parts)

    def masked(self, masking: Masking) -> tuple[Curl, list[str]]:
        """This request with its credentials and secrets masked, and the values masked (to mask
        them in messages too)."""
        shown = masking.mask_headers(self.headers)
        secrets = [
            part
            for name, value in self.headers
            if shown.get(name) != value
            for part in (value, *value.split()[1:])
        ]
        body = self.body
        if body is not None:
            try:
                secrets += masking.secrets_in(json.loads(body))
            except ValueError:
                pass
            body = without_userinfo(masking.mask_text(body))
        url = without_userinfo(self.url)
        return Curl(self.method, url, tuple(shown.items()), body, self.caption), [s for s in secrets if s]


_CURL_LINE = re.compile(r"curl -X (\S+) '(.*)'")
_HEADER_LINE = re.compile(r"-H '([^:]+): ?(.*)'")
_BODY_LINE = "--data-binary "


def parse_reproduction(text: str) -> list[Curl] | None:
    """The requests of a verify outcome's ``curl`` (``WireRequest.as_curl`` of each, each step
    after a ``# ...:`` caption line); None for a text not of that form."""
    found: list[Curl] = []
    caption = ""
    for raw_line in text.splitlines():
        line = raw_line.strip().removesuffix("\\").strip()
        if line.startswith("#"):
            caption = line.lstrip("# ").removesuffix(":")
        elif match := _CURL_LINE.fullmatch(line):
            found.append(Curl(match[1], match[2], (), None, caption))
            caption = ""
        elif found and (match := _HEADER_LINE.fullmatch(line)):
            last = found[-1]
            found[-1] = Curl(
                last.method, last.url, (*last.headers, (match[1], match[2])), last.body, last.caption
            )
        elif found and line.startswith(_BODY_LINE):
            try:
                body = json.loads(line[len(_BODY_LINE) :])
            except ValueError:
                return None
            last = found[-1]
            found[-1] = Curl(last.method, last.url, last.headers, str(body), last.caption)
        elif line:
            return None
    return found


def entry_curl(base_url: str, entry: Any, masking: Masking) -> Curl:
    """A journal entry of the mock (``mockserver.journal.JournalEntry``: its credentials are
    masked already) as curl, the body as sent with every Secret masked."""
    query = (
        f"?{masking.mask_text(urlencode(entry.query))}" if entry.query else ""
    )  # a Secret in the query too
    headers = tuple(
        (name, value) for name, value in entry.headers.items() if name.lower() not in _NOT_SENT_BY_CURL
    )
    raw: bytes = entry.raw
    body = without_userinfo(masking.mask_text(raw.decode("utf-8", "replace"))) if raw else None
    length = str(entry.headers.get("Content-Length") or "")
    sent = int(length) if length.isdigit() else 0  # as the client wrote it: not always a number
    caption = f"request #{entry.id}" + (
        f" (the body cut at the {len(raw)} bytes the journal keeps)" if sent > len(raw) else ""
    )
    return Curl(entry.method, base_url.rstrip("/") + entry.path + query, headers, body, caption)


# -- the views the template shows ----------------------------------------------------------------


@functools.cache
def fidelity_rows() -> dict[str, str]:
    """The rows of docs/fidelity.md by id (behaviour, status, what the contract and the mock do);
    empty where the file is not at hand (an installed wheel)."""
    document = load().path
    if document.parent.name != "openapi":  # installed from a wheel: no docs/ beside it
        return {}
    try:
        text = (document.parent.parent / "docs" / "fidelity.md").read_text(encoding="utf-8")
    except OSError:
        return {}
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and re.fullmatch(r"F-\d{3}", cells[0]):
            rows[cells[0]] = f"{cells[1]} ({cells[2]}): {' | '.join(cells[4:])}"
    return rows


def run_coverage(report: VerifyReport) -> Coverage:
    """The contract's coverage by the run's exchanges."""
    coverage = Coverage(load())
    for (operation, status, media_type), count in report.served.items():
        for _ in range(count):
            coverage.record(operation, status, media_type or None)
    return coverage


def _check_view(name: str, outcome: Any, masking: Masking) -> dict[str, Any]:
    curls = parse_reproduction(outcome.curl) if outcome.curl else []
    masked = [curl.masked(masking) for curl in curls or []]
    secrets = [secret for _, found in masked for secret in found]
    message = without_userinfo(masking.mask_secrets(outcome.message, secrets))
    cited = dict.fromkeys(_ROW_ID.findall(f"{outcome.title}\n{message}"))
    return {
        "name": name,
        "title": outcome.title,
        "status": outcome.status,
        "basis": outcome.basis,
        "registered": BASIS.get(name, outcome.basis),
        "message": message,
        "curls": [curl for curl, _ in masked],
        "unreadable": curls is None,
        "rows": [{"id": row, "text": fidelity_rows().get(row, "")} for row in cited],
    }


def _verify_view(report: VerifyReport, masking: Masking, anchor: str = "verify") -> dict[str, Any]:
    outcomes = report.outcomes.values()
    return {
        "anchor": anchor,
        "base_url": without_userinfo(report.base_url),
        "tag": report.tag,
        "requests": report.requests,
        "ok": report.ok,
        "counts": {
            status: sum(o.status == status for o in outcomes) for status in ("passed", "failed", "warned")
        },
        "checks": [_check_view(name, outcome, masking) for name, outcome in report.outcomes.items()],
        "created": report.created,
        "deleted": report.deleted,
        "deleted_text": ranges(report.deleted),
        "coverage": run_coverage(report).to_json(),
    }


@functools.cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("contracts", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment.get_template("report.html")


def verify_html(report: VerifyReport, masking: Masking) -> str:
    """The HTML report of one ``sowebhook verify`` run."""
    view = _verify_view(report, masking)
    return _template().render(title=f"sowebhook verify {view['base_url']}", verify=view)


# -- a pytest session ------------------------------------------------------------------------------

_WORKER_KEY = "sowebhook_report"  # a pytest-xdist worker's part, in its workeroutput
_XDIST_HOOK = pluggy.HookimplMarker("pytest")(optionalhook=True)  # pytest-xdist's, when it is installed


def _curl_json(value: Any) -> dict[str, str]:
    if isinstance(value, Curl):
        return {"caption": value.caption, "text": value.text}
    raise TypeError(f"{type(value).__name__} is not JSON")


@dataclass
class _Test:
    nodeid: str
    fixtures: list[str]
    outcome: str = "not run"
    problems: list[dict[str, Any]] = field(default_factory=list)
    verifies: list[dict[str, Any]] = field(default_factory=list)
    receiver_checks: list[dict[str, Any]] = field(default_factory=list)


class SessionReport:
    """The session report, collected as the tests run (the plugin registers it as a pytest plugin
    when ``--sowebhook-report FILE`` is given, and its fixtures tell it what they saw) and written
    when the session finishes."""

    def __init__(self, path: str, masking: Masking) -> None:
        self.path = Path(path)
        self.masking = masking
        self.tests: dict[str, _Test] = {}
        self.coverage: dict[str, Any] | None = None
        self.unwritten = ""  # why the file could not be written

    def _test(self, nodeid: str) -> _Test:
        return self.tests.setdefault(nodeid, _Test(nodeid, []))

    # -- what the fixtures tell it --

    def saw_mock(self, nodeid: str, mock: Any) -> None:
        """The mock (``mockserver.testing.MockServer``) at a test's teardown: its problems, each
        request one names as curl, and the session's coverage so far."""
        entries = {entry.id: entry for entry in mock.journal()}
        for problem in mock.problems():
            named = re.search(r"request #(\d+)", problem)
            entry = entries.get(int(named[1])) if named else None
            curl = entry_curl(mock.url, entry, self.masking) if entry is not None else None
            self._test(nodeid).problems.append({"text": problem, "curl": curl})
        self.coverage = mock.coverage().to_json()

    def verified(self, nodeid: str, report: VerifyReport) -> None:
        test = self._test(nodeid)
        test.verifies.append(
            _verify_view(report, self.masking, f"verify-{len(self.tests)}-{len(test.verifies)}")
        )

    def receiver_checked(self, nodeid: str, report: Any, secret: str) -> None:
        """A ``contracts.receiver_check.Report``; ``secret`` is masked in its details."""
        checks = [
            {
                "name": c.name,
                "title": c.title,
                "status": "passed" if c.passed else "failed",
                "detail": without_userinfo(self.masking.mask_secrets(c.detail, [secret])),
            }
            for c in report.checks
        ]
        self._test(nodeid).receiver_checks.append(
            {"target": without_userinfo(report.target), "checks": checks}
        )

    # -- pytest hooks --

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        used = [name for name in FIXTURES if name in getattr(item, "fixturenames", ())]
        if used:
            self._test(item.nodeid).fixtures = used

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        test = self.tests.get(report.nodeid)
        if test is None:
            return
        xfail = hasattr(report, "wasxfail")
        if report.when == "call":
            test.outcome = ("xfailed" if report.skipped else "xpassed") if xfail else report.outcome
        elif report.failed:
            test.outcome = "failed" if test.outcome == "failed" else "error"
        elif report.skipped:
            test.outcome = "xfailed" if xfail else "skipped"

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:  # a pytest-xdist worker: the controller writes the one file
            workeroutput[_WORKER_KEY] = self.export()
            return
        try:  # its directory made, as --junitxml does; a path that cannot be written is said, not a traceback
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(self.html(), encoding="utf-8")
        except OSError as error:
            self.unwritten = f"{error.strerror or error}: {error.filename or self.path}"

    @_XDIST_HOOK
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """pytest-xdist's controller: a worker's tests, and its own mock's coverage."""
        exported = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
        if exported is not None:
            self.absorb(exported)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.unwritten:
            terminalreporter.write_line(f"sowebhook report: not written ({self.unwritten})", red=True)
        elif not hasattr(terminalreporter.config, "workeroutput"):
            terminalreporter.write_line(f"sowebhook report: {self.path}")

    # -- several processes (pytest-xdist): each worker's part, as JSON, merged by the controller --

    def export(self) -> str:
        """What this process saw, as JSON (a curl as its caption and text, as the page shows it)."""
        tests = [vars(test) for test in self.tests.values() if test.fixtures]
        return json.dumps({"tests": tests, "coverage": self.coverage}, default=_curl_json)

    def absorb(self, exported: str) -> None:
        """Another process's ``export()``: its tests, and its mock's coverage added to this one's
        (every worker runs a mock of its own)."""
        data = json.loads(exported)
        for test in data["tests"]:
            self.tests[test["nodeid"]] = _Test(**test)
        if data["coverage"] is not None:
            if self.coverage is None:
                self.coverage = data["coverage"]
            else:
                contract = load()
                merged = Coverage.from_json(contract, self.coverage)
                merged.merge(Coverage.from_json(contract, data["coverage"]))
                self.coverage = merged.to_json()

    def html(self) -> str:
        tests = [test for test in self.tests.values() if test.fixtures]
        counts = Counter(test.outcome for test in tests)
        return _template().render(
            title="sowebhook: pytest session",
            verify=None,
            tests=tests,
            outcome_counts=dict(sorted(counts.items())),
            coverage=self.coverage,
        )
