"""mockserver.testing.MockServer: served from a thread, it reports the client's contract breaches
and the mock's own failures (an answer that breaks the contract, a 5xx, an exception in the server
thread), and nothing when all is well."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mockserver import MockConfig, state_of
from mockserver.testing import MockServer

AUTH = {"Authorization": "Basic dGplMDpUamUw"}
AGENT = "/api/v1/Agents/Webhook/"


@pytest.fixture
def mock() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


def post(
    mock: MockServer, operation: str, body: Any = None, query: str = "", **headers: str
) -> requests.Response:
    return requests.post(
        mock.url + AGENT + operation + query, json=body, headers={**AUTH, **headers}, timeout=10
    )


def patch_handler(mock: MockServer, operation: str, handler: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(state_of(mock.app).agent.handlers, operation, handler)


def test_a_conforming_client_and_an_injected_fault_are_no_problem(mock: MockServer) -> None:
    saved = post(
        mock,
        "SaveWebhook",
        {"Name": "n", "Type": "crmscript", "TargetUrl": "12", "Events": ["contact.created"]},
    )
    assert saved.status_code == 200
    fault = requests.post(
        mock.url + "/__mock__/faults", json={"status": 503, "count": 1}, headers=AUTH, timeout=10
    )
    assert fault.status_code == 200
    assert post(mock, "GetWebhook", query=f"?webhookId={saved.json()['WebhookId']}").status_code == 503
    try:
        raise ValueError("raised and logged outside any request: not the mock's failure")
    except ValueError:
        logging.getLogger("sowebhook.mock").exception("outside")
    assert [e.verdict for e in mock.journal()] == ["valid", "injected"]
    assert mock.problems() == []
    mock.check()


def test_an_answer_that_breaks_the_contract_is_a_problem(
    mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch_handler(mock, "GetWebhook", lambda call: (200, {"WebhookId": "not a number"}), monkeypatch)
    answer = post(mock, "GetWebhook", query="?webhookId=1")
    assert answer.json() == {"WebhookId": "not a number"}  # "report": the client gets it all the same
    (problem,) = mock.problems()
    assert "the mock's answer to request #" in problem and "GetWebhook" in problem
    assert "(a bug in the mock)" in problem and "not a number" in problem
    with pytest.raises(AssertionError, match="a bug in the mock"):
        mock.check()


def test_a_handler_that_raises_is_a_problem_with_its_traceback(
    mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(call: Any) -> Any:
        raise ZeroDivisionError("the handler's own bug")

    patch_handler(mock, "GetWebhook", broken, monkeypatch)
    assert post(mock, "GetWebhook", query="?webhookId=1").status_code == 500
    (problem,) = mock.problems()
    assert problem.startswith(
        "the mock failed in its server thread: POST /api/v1/Agents/Webhook/GetWebhook failed"
    )
    assert "Traceback" in problem and "ZeroDivisionError: the handler's own bug" in problem
    mock.reset()  # a reset forgets it, as it forgets the journal
    assert mock.problems() == []


def test_an_exception_that_escapes_the_app_is_a_problem() -> None:
    with MockServer(MockConfig(response_validation="raise")) as mock:
        state_of(mock.app).agent.handlers["GetWebhook"] = lambda call: (200, {"WebhookId": "not a number"})
        assert post(mock, "GetWebhook", query="?webhookId=1").status_code == 500  # werkzeug's own 500
        problems = mock.problems()
    assert any("(a bug in the mock)" in p for p in problems)
    (raised,) = [p for p in problems if "server thread" in p]
    assert "POST /api/v1/Agents/Webhook/GetWebhook raised" in raised and "ResponseContractViolation" in raised


def test_a_5xx_answer_no_fault_asked_for_is_a_problem() -> None:
    with MockServer(MockConfig(response_validation="off")) as mock:  # only the status is wrong
        state_of(mock.app).agent.handlers["GetWebhook"] = lambda call: (503, {"Message": "unavailable"})
        assert post(mock, "GetWebhook", query="?webhookId=1").status_code == 503
        (problem,) = mock.problems()
    assert (
        "the mock answered 503 to request #1 POST /api/v1/Agents/Webhook/GetWebhook (GetWebhook)" in problem
    )


def test_start_stop_url_and_reset() -> None:
    mock = MockServer()
    with pytest.raises(RuntimeError, match="not running"):
        mock.url  # noqa: B018
    assert mock.start() is mock and mock.is_running()
    assert mock.url.startswith("http://127.0.0.1:")
    post(mock, "SaveWebhook", {"Name": "n"})
    mock.expect("DeleteWebhook")
    mock.strict = True
    assert len(mock.problems()) == 2
    mock.reset()
    assert (mock.journal(), mock.expectations, mock.strict, mock.problems()) == ([], [], False, [])
    mock.stop()
    assert not mock.is_running()
    mock.stop()  # stopping twice is harmless
    with pytest.raises(RuntimeError, match="does not start again"):
        mock.start()
