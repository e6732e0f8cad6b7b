"""The ``sowebhook`` pytest plugin (entry point ``pytest11``): fixtures for testing webhook code.

``sowebhook_mock``            a running mock of the Webhook agent (``mockserver.testing.MockServer``,
                              one per session, reset for every test): ``.url``, ``.app``,
                              ``.journal()``, ``.expect(operation)``, ``.generated_responses(seed)``.
                              At teardown every request the client under test sent that broke the
                              contract fails the test, with which request, which field and which
                              rule (a misspelt member the server ignores too); so do unmet
                              expectations and, with ``strict=True``, calls that nobody expected
                              (as respx does); with ``--sowebhook-fail-on-warnings`` also requests
                              the server reads only leniently. So does a failure of the mock
                              itself: an answer that breaks the contract, a 5xx, an exception in
                              its server thread.
``sowebhook_receiver``        an HTTPS receiver on loopback (``contracts.receiver.Receiver``) with a
                              throw-away CA (``.ca_file``) and the secret ``.secret``; it records,
                              validates and verifies every delivery and can fail, answer 410 or hang.
``sowebhook_receiver_check``  ``check(target, secret)``: the receiver-conformance checks against a
                              URL or a WSGI app; fails the test with a readable report. With
                              ``side_effects=`` (how many deliveries the app processed so far) also
                              whether a retry of the same EventId is processed once.
``sowebhook_replay``          ``replay(fixture_or_folder, target)``: saved deliveries
                              (``sowebhook listen --save``) sent again to a WSGI app or a URL,
                              re-signed with ``--sowebhook-secret`` (or ``secret=``); the answers.
``--sowebhook-min-coverage=P`` fails the session when the sowebhook_mock fixture was used and the
                              session's contract coverage (``contracts.coverage``: operations x
                              statuses x media types answered, against all the contract declares)
                              is below P percent, naming every cell never served.
``sowebhook_verify``          ``verify()``: the server checks against ``--sowebhook-url`` (a real
                              SuperOffice, with ``--sowebhook-auth``); fails the test on a failure.
                              A warning never fails it: an assumed check, or properties a newer
                              server answers that the contract does not know (F-190); the returned
                              report's outcomes say ``warned`` and name them.
``--sowebhook-report=FILE``   writes the session as one HTML page (``contracts.report_html``): the
                              tests that used sowebhook_mock, sowebhook_verify or
                              sowebhook_receiver_check, their outcomes, what the mock found wrong
                              (each request as curl, masked), their reports, the mock's coverage.

Everything heavy is imported inside the fixtures, so the plugin costs nothing when unused.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import pluggy
import pytest

from contracts.credentials import AUTH_FORMS, DEFAULT_AUTH, Credentials

if TYPE_CHECKING:
    from mockserver.testing import MockServer

DEFAULT_SECRET = "sowebhook-test-secret"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sowebhook", "SuperOffice webhook contracts")
    group.addoption(
        "--sowebhook-secret",
        default=DEFAULT_SECRET,
        help="secret of the sowebhook_receiver fixture (default: %(default)s)",
    )
    group.addoption(
        "--sowebhook-url",
        default=None,
        help="a server for the sowebhook_verify fixture (a real SuperOffice, or a mock)",
    )
    group.addoption(
        "--sowebhook-auth",
        default=DEFAULT_AUTH,
        help=f"credentials for --sowebhook-url: {AUTH_FORMS}",
    )
    group.addoption(
        "--sowebhook-target-url",
        default=None,
        help="an HTTPS URL that answers 200, for the registration ping",
    )
    group.addoption(
        "--sowebhook-fail-on-warnings",
        action="store_true",
        default=False,
        help='sowebhook_mock also fails a test whose requests the server reads only leniently ("42" for an integer, a wrong-case enum name)',
    )
    group.addoption(
        "--sowebhook-min-coverage",
        default=None,
        type=float,
        metavar="PERCENT",
        help="fail the session if the contract coverage the sowebhook_mock fixture served is below PERCENT (0 to 100)",
    )
    group.addoption(
        "--sowebhook-report",
        default=None,
        metavar="FILE",
        help="write an HTML report of the tests that used sowebhook_mock, sowebhook_verify or sowebhook_receiver_check",
    )


_MOCK_USED = pytest.StashKey["MockServer"]()
_REPORT = "sowebhook-report"  # the plugin name --sowebhook-report registers its collector under
_SHORTFALL = pytest.StashKey[list[str]]()
_COVERAGE_KEY = "sowebhook_coverage"  # a pytest-xdist worker's mock's coverage, in its workeroutput
_XDIST_HOOK = pluggy.HookimplMarker("pytest")(optionalhook=True)  # pytest-xdist's, when it is installed


def pytest_configure(config: pytest.Config) -> None:
    wanted = config.getoption("--sowebhook-min-coverage")
    if wanted is not None and not 0 <= wanted <= 100:
        raise pytest.UsageError(f"--sowebhook-min-coverage is a percentage from 0 to 100, not {wanted:g}")
    if wanted is not None:
        config.pluginmanager.register(_CoverageGate(wanted), "sowebhook-coverage-gate")
    report = config.getoption("--sowebhook-report")
    if report:
        from contracts.report_html import SessionReport
        from mockserver import masking

        config.pluginmanager.register(SessionReport(report, masking), _REPORT)


def _report(request: pytest.FixtureRequest) -> Any:
    """The session's HTML report (``contracts.report_html.SessionReport``), or None."""
    return request.config.pluginmanager.get_plugin(_REPORT)


class _CoverageGate:
    """``--sowebhook-min-coverage``: after the last test (the session's mock torn down), the
    coverage its mock served against the threshold. Under pytest-xdist every worker has a mock of
    its own: each hands its coverage to the controller (``workeroutput``), which adds them up and
    judges the session's whole."""

    def __init__(self, wanted: float) -> None:
        self.wanted = wanted
        self.parts: list[dict[str, Any]] = []  # the workers' coverages (pytest-xdist), as JSON

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        result = yield
        mock = session.config.stash.get(_MOCK_USED, None)
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:  # a worker: the controller judges
            if mock is not None:
                workeroutput[_COVERAGE_KEY] = mock.coverage().to_json()
            return result
        if mock is None and not self.parts:
            return result  # the mock was never used: nothing to judge
        from contracts.coverage import Coverage
        from contracts.spec import load

        coverage = mock.coverage() if mock is not None else Coverage(load())
        for part in self.parts:
            coverage.merge(Coverage.from_json(load(), part))
        if coverage.ratio * 100 < self.wanted:
            missing = coverage.missing_by_operation()
            session.config.stash[_SHORTFALL] = [
                f"the contract coverage the sowebhook_mock served is {coverage.ratio:.1%}, below --sowebhook-min-coverage={self.wanted:g}%; "
                f"{sum(map(len, missing.values()))} of the {coverage.to_json()['declared']} declared cells were never answered:",
                *(f"  {operation}: {', '.join(cells)}" for operation, cells in missing.items()),
            ]
            session.testsfailed += 1
        return result

    @_XDIST_HOOK
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        part = getattr(node, "workeroutput", {}).get(_COVERAGE_KEY)
        if part is not None:
            self.parts.append(part)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    shortfall = config.stash.get(_SHORTFALL, None)
    if shortfall:
        terminalreporter.section("sowebhook contract coverage", red=True)
        for line in shortfall:
            terminalreporter.line(line)


@pytest.fixture(scope="session")
def _sowebhook_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str]:
    """One throw-away CA per session: the receivers' certificates, trusted by the mock."""
    import trustme

    ca = trustme.CA()
    path = tmp_path_factory.mktemp("sowebhook-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, str(path)


@pytest.fixture(scope="session")
def _sowebhook_mock_server(
    request: pytest.FixtureRequest, _sowebhook_ca: tuple[Any, str]
) -> Iterator[MockServer]:
    from mockserver import MockConfig
    from mockserver.config import DeliveryConfig
    from mockserver.testing import MockServer

    with MockServer(
        MockConfig(response_validation="report", delivery=DeliveryConfig(ca_file=_sowebhook_ca[1]))
    ) as mock:
        request.config.stash[_MOCK_USED] = mock  # for --sowebhook-min-coverage at the session's end
        yield mock


@pytest.fixture
def sowebhook_mock(
    request: pytest.FixtureRequest, _sowebhook_mock_server: MockServer
) -> Iterator[MockServer]:
    mock = _sowebhook_mock_server
    mock.reset()
    mock.fail_on_warnings = request.config.getoption("--sowebhook-fail-on-warnings")
    yield mock
    if (report := _report(request)) is not None:
        report.saw_mock(request.node.nodeid, mock)
    problems = mock.problems()
    if problems:
        heading = (
            "the client under test broke the contract of SuperOffice's Webhook agent (or the mock failed):"
        )
        pytest.fail("\n  ".join([heading, *problems]), pytrace=False)


@pytest.fixture
def sowebhook_receiver(request: pytest.FixtureRequest, _sowebhook_ca: tuple[Any, str]) -> Iterator[Any]:
    from contracts.receiver import Receiver

    with Receiver(secret=request.config.getoption("--sowebhook-secret"), ca=_sowebhook_ca[0]) as receiver:
        receiver.ca_file = _sowebhook_ca[1]
        yield receiver


@pytest.fixture
def sowebhook_receiver_check(request: pytest.FixtureRequest) -> Callable[..., Any]:
    from contracts.receiver_check import check_receiver, url_sender, wsgi_sender

    def check(
        target: Any,
        secret: str,
        *,
        path: str = "/",
        ca_file: str | None = None,
        side_effects: Callable[[], int] | None = None,
    ) -> Any:
        if isinstance(target, str):
            send, name = url_sender(target, ca_file=ca_file), target
        else:
            send, name = wsgi_sender(target, path), f"WSGI app {getattr(target, 'name', target)!s}{path}"
        report = check_receiver(send, secret, target=name, side_effects=side_effects)
        if (session := _report(request)) is not None:
            session.receiver_checked(request.node.nodeid, report, secret)
        if not report.ok:
            pytest.fail(report.render(), pytrace=False)
        return report

    return check


@pytest.fixture
def sowebhook_replay(request: pytest.FixtureRequest) -> Callable[..., Any]:
    from contracts.replay import replay

    default_secret = request.config.getoption("--sowebhook-secret")

    def run(source: Any, target: Any, *, secret: str | None = None, **options: Any) -> Any:
        return replay(source, target, secret if secret is not None else default_secret, **options)

    return run


@pytest.fixture
def sowebhook_verify(request: pytest.FixtureRequest) -> Callable[..., Any]:
    from contracts.runner import verify

    url = request.config.getoption("--sowebhook-url")
    auth = request.config.getoption("--sowebhook-auth")
    target_url = request.config.getoption("--sowebhook-target-url")
    if not url:
        pytest.skip("no server to verify: pass --sowebhook-url")
    try:
        credentials = Credentials.parse(auth)
    except ValueError as error:
        raise pytest.UsageError(f"--sowebhook-auth: {error}") from None

    def run(**options: Any) -> Any:
        report = verify(url, credentials=credentials, target_url=target_url, **options)
        if (session := _report(request)) is not None:
            session.verified(request.node.nodeid, report)
        if not report.ok:
            pytest.fail(report.render(), pytrace=False)
        return report

    return run
