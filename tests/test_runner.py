"""``verify`` against the mock and against deliberately wrong servers: the right check fails, with
a shrunk example, and nothing the run created is left behind. The oracle is the defect each wrong
server was built with, and the server's own store."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Callable, Iterator

import pytest
from click.testing import CliRunner
from flask import Flask
from werkzeug.serving import make_server

from contracts.cli import main
from contracts.runner import VerifyReport, verify
from mockserver import MockConfig, create_app, state_of
from mockserver.config import DeliveryConfig

logging.getLogger("werkzeug").setLevel(logging.ERROR)


def serve(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def mock_app(config: MockConfig | None = None) -> Flask:
    return create_app(config or MockConfig(delivery=DeliveryConfig(registration_ping=False)))


def wrong(app: Flask, defect: Callable[[Any, dict[str, Any], Any], dict[str, Any]]) -> Flask:
    """The mock with one defect in SaveWebhook: ``defect(state, response, call)`` alters what it answers and keeps."""
    state = state_of(app)
    original = state.agent.handlers["SaveWebhook"]

    def save(call: Any) -> tuple[int, Any]:
        status, webhook = original(call)
        changed = defect(state, webhook, call)
        state.store.update(changed["WebhookId"], lambda current: changed)
        return status, changed

    state.agent.handlers["SaveWebhook"] = save
    return app


def stale_registered(state: Any, webhook: dict[str, Any], call: Any) -> dict[str, Any]:
    if (call.request.body or {}).get("WebhookId"):  # an update re-stamps Registered: the bug
        return {**webhook, "Registered": webhook["Updated"]}
    return webhook


def drops_properties(state: Any, webhook: dict[str, Any], call: Any) -> dict[str, Any]:
    return {**webhook, "Properties": None}


def tagged_left(app: Flask, report: VerifyReport) -> list[int]:
    return [r.webhook_id for r in state_of(app).store.all() if str(r.webhook.get("Name") or "").startswith(report.tag)]


def test_the_mock_passes_every_check_and_nothing_is_left_behind() -> None:
    app = mock_app()
    for url in serve(app):
        report = verify(url, max_examples=8, stateful_steps=10)
    assert report.ok, report.render()
    assert {o.status for o in report.outcomes.values()} == {"passed"}
    assert tagged_left(app, report) == []
    assert state_of(app).store.all() == []


@pytest.mark.parametrize(
    ("defect", "check"),
    [(stale_registered, "save_update_keeps_registered"), (drops_properties, "save_echoes_client_fields")],
    ids=["stale-Registered", "drops-Properties"],
)
def test_a_wrong_server_fails_the_right_check_with_a_shrunk_example(defect: Any, check: str) -> None:
    app = wrong(mock_app(), defect)
    report = verify(app, max_examples=15, stateful_steps=0, checks=[check, "get_returns_saved"])  # in-process
    failed = {name for name, o in report.outcomes.items() if o.status == "failed"}
    assert check in failed, report.render()
    outcome = report.outcomes[check]
    assert outcome.curl.count("curl -X POST") >= 1
    if defect is drops_properties:
        assert "Properties" in outcome.message
        body = json.loads(json.loads(outcome.curl.split("--data-binary ", 1)[1].splitlines()[0]))
        assert len(json.dumps(body["Properties"])) <= 20  # shrunk to a minimal Properties
    assert tagged_left(app, report) == []  # cleaned up although the run failed


def test_an_assumption_that_fails_only_warns() -> None:
    from werkzeug.wrappers import Request, Response

    app = mock_app()
    wire = state_of(app).wire

    def ignores_accept(environ: dict[str, Any], start_response: Any) -> Any:
        """The mock behind a proxy that always answers GetWebhook in JSON: a different, assumed, negotiation (F-065)."""
        request = Request(environ)
        response = Response.from_app(app, environ)
        if (response.mimetype or "").endswith("xml") and "GetWebhook" in request.path:
            value = wire.decode_xml(response.get_data(), {"$ref": "#/components/schemas/NullableWebhookRecord"})
            response = Response(json.dumps(value), status=response.status_code, mimetype="application/json")
        return response(environ, start_response)

    report = verify(ignores_accept, max_examples=5, stateful_steps=0)
    assert report.outcomes["content_negotiation"].status == "warned", report.render()
    assert report.ok
    assert "WARN  content_negotiation [assumed]" in report.render()


def test_the_cli_exit_code_and_junit_report(tmp_path: Any) -> None:
    junit = tmp_path / "report.xml"
    app = wrong(mock_app(), stale_registered)
    for url in serve(app):
        result = CliRunner().invoke(main, ["verify", url, "--max-examples", "5", "--junit", str(junit), "--check", "save_update_keeps_registered"])
    assert result.exit_code == 1, result.output
    assert "FAIL  save_update_keeps_registered" in result.output
    from xml.etree import ElementTree

    suite = ElementTree.parse(junit).getroot()
    assert suite.get("failures") == "1"
    assert [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None] == ["save_update_keeps_registered"]


def test_the_cli_refuses_unknown_checks_and_bad_auth() -> None:
    assert CliRunner().invoke(main, ["verify", "http://127.0.0.1:9", "--check", "nope"]).exit_code == 2
    assert CliRunner().invoke(main, ["verify", "http://127.0.0.1:9", "--auth", "digest:x"]).exit_code == 2


def test_verify_with_its_own_receiver_against_a_pinging_mock() -> None:
    from contracts.receiver import Receiver

    with Receiver() as receiver:
        app = create_app(MockConfig(delivery=DeliveryConfig(ca_file=receiver.ca_file)))
        for url in serve(app):
            report = verify(url, target_url=receiver.url, max_examples=3, stateful_steps=0)
        assert report.ok, report.render()
        assert all(d.is_test for d in receiver.deliveries) and receiver.deliveries
        state_of(app).deliveries.close()
