"""The ``sowebhook`` pytest plugin (entry point ``pytest11``): fixtures for testing webhook code.

``sowebhook_receiver``        an HTTPS receiver on loopback (``contracts.receiver.Receiver``) with a
                              throw-away CA (``.ca_file``) and the secret ``.secret``; it records,
                              validates and verifies every delivery and can fail, answer 410 or hang.
``sowebhook_receiver_check``  ``check(target, secret)``: run the receiver-conformance checks against
                              a URL or a WSGI app and fail the test with a readable report.

Everything heavy is imported inside the fixtures, so the plugin costs nothing when unused.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

DEFAULT_SECRET = "sowebhook-test-secret"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sowebhook", "SuperOffice webhook contracts")
    group.addoption(
        "--sowebhook-secret",
        default=DEFAULT_SECRET,
        help="secret of the sowebhook_receiver fixture (default: %(default)s)",
    )


@pytest.fixture
def sowebhook_receiver(request: pytest.FixtureRequest) -> Iterator[Any]:
    from contracts.receiver import Receiver

    with Receiver(secret=request.config.getoption("--sowebhook-secret")) as receiver:
        yield receiver


@pytest.fixture
def sowebhook_receiver_check() -> Callable[..., Any]:
    from contracts.receiver_check import check_receiver, url_sender, wsgi_sender

    def check(target: Any, secret: str, *, path: str = "/", ca_file: str | None = None) -> Any:
        if isinstance(target, str):
            send, name = url_sender(target, ca_file=ca_file), target
        else:
            send, name = wsgi_sender(target, path), f"WSGI app {getattr(target, 'name', target)!s}{path}"
        report = check_receiver(send, secret, target=name)
        if not report.ok:
            pytest.fail(report.render(), pytrace=False)
        return report

    return check
