"""``verify`` against the mock and against deliberately wrong servers: the right check fails, with
a shrunk example, and nothing the run created is left behind. The oracle is the defect each wrong
server was built with, and the server's own store and journal. The wrong REST faces drop
``_Links``, answer a missing webhook 200 with null, or answer PATCH without applying it; the
journal shows that the run drove both faces and named no webhook it did not create."""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner
from flask import Flask
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from contracts import load
from contracts.check_registry import CHECKS, REST
from contracts.cli import main
from contracts.credentials import DEFAULT_PASSWORD, DEFAULT_USER
from contracts.exchange import WireRequest
from contracts.runner import CheckOutcome, VerifyReport, verify
from contracts.runner_session import Client, ForeignWebhook
from contracts.strategies import Credentials
from harness.versions import FUTURE, behind_proxy, events_of_wrong_type, mock_app, newer, webhooks_changed
from mockserver import MockConfig, create_app, state_of
from mockserver.config import DeliveryConfig
from mockserver.faults import Fault

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
    return [
        r.webhook_id
        for r in state_of(app).store.all()
        if str(r.webhook.get("Name") or "").startswith(report.tag)
    ]


def test_the_mock_passes_every_check_and_nothing_is_left_behind() -> None:
    app = mock_app()
    for url in serve(app):
        report = verify(url, max_examples=8, stateful_steps=10)
    assert report.ok, report.render()
    assert {o.status for o in report.outcomes.values()} == {"passed"}
    assert {name for name in CHECKS if name.startswith("rest_")} <= set(report.outcomes)
    assert tagged_left(app, report) == []
    assert state_of(app).store.all() == []
    # both faces were driven, REST's own answers among them (the mock's journal is the oracle)
    seen = {(e.operation, e.status) for e in state_of(app).journal.entries()}
    assert {
        (REST.post, 200),
        (REST.get, 200),
        (REST.get, 404),
        (REST.put, 200),
        (REST.put, 404),
        (REST.patch, 200),
        (REST.patch, 404),
        (REST.patch, 409),
        (REST.patch, 412),
        (REST.delete, 204),
        (REST.list, 200),
        ("SaveWebhook", 200),
        ("GetWebhook", 200),
        ("DeleteWebhook", 204),
    } <= seen, sorted(seen)


@pytest.mark.slow  # a schemathesis run that shrinks a failure
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


def renames(state: Any, webhook: dict[str, Any], call: Any) -> dict[str, Any]:
    return {**webhook, "Name": "renamed by the server"}  # neither the client's name nor the run's tag


def test_a_webhook_whose_save_failed_its_checks_is_deleted_although_the_server_renamed_it() -> None:
    """The tag's listing cannot find a webhook the server renamed: the run deletes it by the id its
    failing save answered."""
    app = wrong(mock_app(), renames)
    report = verify(app, max_examples=3, stateful_steps=0, checks=["save_echoes_client_fields"])
    assert report.outcomes["save_echoes_client_fields"].status == "failed", report.render()
    assert report.created >= 1 and report.created == report.cleaned_up
    assert state_of(app).store.all() == []  # the tenant holds nothing the run made


def test_an_assumption_that_fails_only_warns() -> None:
    app = mock_app()

    def ignores_accept(request: Request, response: Response) -> Response:
        """Always answers GetWebhook in JSON: a different, assumed, negotiation (F-065). The JSON
        is the mock's own (asked again), not the XML read back, which cannot carry every character."""
        if (response.mimetype or "").endswith("xml") and "GetWebhook" in request.path:
            headers = {"Authorization": request.headers["Authorization"], "Accept": "application/json"}
            response = app.test_client().post(request.full_path, headers=headers)
        return response

    report = verify(behind_proxy(app, ignores_accept), max_examples=5, stateful_steps=0)
    assert report.outcomes["content_negotiation"].status == "warned", report.render()
    assert report.ok
    assert "WARN  content_negotiation [assumed]" in report.render()


def test_the_cli_exit_code_and_junit_report(tmp_path: Any) -> None:
    junit = tmp_path / "reports" / "ci" / "report.xml"  # its directories made, as pytest's --junitxml does
    app = wrong(mock_app(), stale_registered)
    for url in serve(app):
        with_password = url.replace("://", f"://{DEFAULT_USER}:{DEFAULT_PASSWORD}@")
        result = CliRunner().invoke(
            main,
            [
                "verify",
                with_password,
                "--max-examples",
                "5",
                "--junit",
                str(junit),
                "--check",
                "save_update_keeps_registered",
            ],
        )
    assert result.exit_code == 1, result.output
    assert "FAIL  save_update_keeps_registered" in result.output
    # the run's credentials are in neither report: not its Basic header, not the URL's password
    basic = base64.b64encode(f"{DEFAULT_USER}:{DEFAULT_PASSWORD}".encode()).decode()
    for shown in (result.output, junit.read_text(encoding="utf-8")):
        assert basic not in shown and f":{DEFAULT_PASSWORD}@" not in shown
        assert "-H 'Authorization: ***'" in shown and "curl -X POST 'http://***@127.0.0.1:" in shown
    from xml.etree import ElementTree

    suite = ElementTree.parse(junit).getroot()
    assert suite.get("failures") == "1"
    assert [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None] == [
        "save_update_keeps_registered"
    ]


@pytest.mark.parametrize("option", ["--html", "--junit"])
def test_a_report_file_that_cannot_be_written_is_refused_before_any_request(
    tmp_path: Any, option: str
) -> None:
    (tmp_path / "a-file").write_text("not a directory", encoding="utf-8")
    app = mock_app()
    for url in serve(app):
        result = CliRunner().invoke(main, ["verify", url, option, str(tmp_path / "a-file" / "report")])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert f"Invalid value for {option}: cannot write" in result.output
    assert state_of(app).journal.entries() == []  # refused before the run sent anything
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_report_that_cannot_be_written_at_the_end_is_said_not_a_traceback(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "reports"

    def run(*args: Any, **kwargs: Any) -> VerifyReport:  # the run: meanwhile its directory became a file
        folder.rmdir()
        folder.write_text("not a directory", encoding="utf-8")
        return VerifyReport("http://127.0.0.1:9", "tag", {})

    monkeypatch.setattr("contracts.runner.verify", run)
    result = CliRunner().invoke(main, ["verify", "http://127.0.0.1:9", "--junit", str(folder / "verify.xml")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "--junit: not written (" in result.output and "0 passed, 0 failed" in result.output


def test_the_text_and_junit_reports_mask_credentials() -> None:
    """A failure's curl carries the run's credentials and a message may quote one; the server URL
    may carry a password: the oracle is the credentials themselves, which no report shows."""
    ticket, app_token, password = "7T:abc==", "MY-APP-TOKEN", "pa55word"
    sent = Credentials("soticket", token=ticket, app_token=app_token).headers()
    request = WireRequest(
        "POST", "/api/v1/Webhook", {**sent, "Accept": "application/json"}, b"{}", {}, "application/json"
    )
    failed = CheckOutcome(
        "rest_links",
        "title",
        "documented",
        "failed",
        f"the server echoed SOTicket {ticket}",
        request.as_curl(f"https://user:{password}@crm.example/Cust1"),
    )
    report = VerifyReport(f"https://user:{password}@crm.example/Cust1", "tag", {"rest_links": failed})
    for shown in (report.render(), report.junit()):
        assert ticket not in shown and app_token not in shown and password not in shown
        assert (
            "-H 'Authorization: ***'" in shown
            and "-H 'SO-AppToken: ***'" in shown
            and "-H 'Accept: application/json'" in shown
        )
        assert "https://***@crm.example/Cust1/api/v1/Webhook" in shown
    assert "Verified https://***@crm.example/Cust1" in report.render()
    assert failed.message.endswith(ticket) and password in failed.curl  # the outcome itself is as it was


@pytest.mark.parametrize(
    "operation", ["GetAllWebhooks", "GetWebhook"], ids=["in-the-machine", "in-a-scenario"]
)
def test_a_server_that_fails_once_is_a_failure_of_no_server_error_not_a_traceback(operation: str) -> None:
    """One 500, never again: Hypothesis cannot replay it (flaky); the run reports it, runs on and
    cleans up."""
    app = mock_app()
    state_of(app).faults.add(Fault.from_json({"status": 500, "count": 1, "operations": [operation]}))
    report = verify(app, max_examples=3, stateful_steps=5)
    failed = {name: o for name, o in report.outcomes.items() if o.status == "failed"}
    assert list(failed) == ["no_server_error"], report.render()
    answered = [e for e in state_of(app).journal.entries() if e.status == 500]
    assert [e.operation for e in answered] == [operation]  # the oracle: the one 500 the mock answered
    assert "got 500" in failed["no_server_error"].message and "flaky" in failed["no_server_error"].message
    assert load().operation(operation).path in failed["no_server_error"].curl
    assert state_of(app).store.all() == []


def test_a_run_that_could_create_no_webhook_passes_no_check() -> None:
    """A mock that does not trust the receiver's CA refuses every save (its registration ping
    fails): nothing was checked, so nothing passed."""
    from contracts.receiver import Receiver

    app = create_app(MockConfig())  # pings each TargetUrl; trusts only the system's CAs
    with Receiver() as receiver:
        report = verify(app, target_url=receiver.url, max_examples=3, stateful_steps=5)
    saves = [e for e in state_of(app).journal.entries() if e.operation == "SaveWebhook"]
    assert saves and {e.status for e in saves} == {400} and state_of(app).store.all() == []  # the oracle
    assert not report.ok
    assert {o.status for o in report.outcomes.values()} == {"failed"}, report.render()
    for outcome in report.outcomes.values():
        assert (
            "the server refused every save" in outcome.message
            and "SaveWebhook answered 400" in outcome.message
        )
    state_of(app).deliveries.close()


def test_the_cli_refuses_unknown_checks_and_bad_auth() -> None:
    assert CliRunner().invoke(main, ["verify", "http://127.0.0.1:9", "--check", "nope"]).exit_code == 2
    assert CliRunner().invoke(main, ["verify", "http://127.0.0.1:9", "--auth", "digest:x"]).exit_code == 2


@pytest.mark.slow  # a schemathesis run against a served mock and an HTTPS receiver
def test_verify_with_its_own_receiver_against_a_pinging_mock() -> None:
    from contracts.receiver import Receiver

    with Receiver() as receiver:
        app = create_app(MockConfig(delivery=DeliveryConfig(ca_file=receiver.ca_file)))
        for url in serve(app):
            report = verify(url, target_url=receiver.url, max_examples=3, stateful_steps=0)
        assert report.ok, report.render()
        assert all(d.is_test for d in receiver.deliveries) and receiver.deliveries
        state_of(app).deliveries.close()


def test_a_newer_server_that_answers_properties_the_contract_does_not_know_passes_with_a_warning() -> None:
    app = mock_app()
    contract_knows = set(load().document["components"]["schemas"]["Webhook"]["properties"])
    assert not contract_knows & set(FUTURE)  # the oracle: the contract does not know them
    report = verify(webhooks_changed(app, newer), max_examples=6, stateful_steps=10)
    # the same run against the mock itself (derandomized: the same webhooks, the same steps) has
    # the same verdicts, but for the one warning: the model leaves out what the contract does not
    # know (F-192), and nothing fails for it
    baseline = verify(mock_app(), max_examples=6, stateful_steps=10)
    assert baseline.outcomes["response_schema_conformance"].status == "passed", baseline.render()
    verdicts = {name: outcome.status for name, outcome in baseline.outcomes.items()}
    expected = {**verdicts, "response_schema_conformance": "warned"}
    assert {name: o.status for name, o in report.outcomes.items()} == expected, report.render()
    assert report.ok == baseline.ok
    outcome = report.outcomes["response_schema_conformance"]
    assert (outcome.status, outcome.basis) == ("warned", "assumed"), report.render()
    for name in FUTURE:
        assert f"$.{name}" in outcome.message
    assert "F-190" in outcome.message
    assert outcome.curl.startswith("curl -X POST")
    assert "WARN  response_schema_conformance [assumed]" in report.render()
    suite = ElementTree.fromstring(report.junit())
    assert suite.get("failures") == str(sum(status == "failed" for status in verdicts.values()))
    (case,) = [c for c in suite.iter("testcase") if c.get("name") == "response_schema_conformance"]
    assert case.find("failure") is None
    assert all(f"$.{name}" in case.findtext("system-out", "") for name in FUTURE)
    assert tagged_left(app, report) == []


def test_a_newer_server_that_sends_a_known_property_of_the_wrong_type_still_fails() -> None:
    app = mock_app()
    report = verify(
        webhooks_changed(app, events_of_wrong_type),
        max_examples=3,
        stateful_steps=0,
        checks=["response_schema_conformance"],
    )
    outcome = report.outcomes["response_schema_conformance"]
    assert not report.ok
    assert (outcome.status, outcome.basis) == ("failed", "documented"), report.render()
    assert "Events: 5 is not of type" in outcome.message
    assert "FAIL  response_schema_conformance" in report.render()
    assert tagged_left(app, report) == []


NEWER_SERVER_TEST = """
def test_the_server(sowebhook_verify):
    report = sowebhook_verify(max_examples=3, stateful_steps=0, checks=["response_schema_conformance"])
    outcome = report.outcomes["response_schema_conformance"]
    print("outcome:", outcome.status, outcome.message)
"""


@pytest.mark.slow  # a pytest subprocess against a server on a real socket
@pytest.mark.parametrize(
    ("change", "outcomes", "shown"),
    [
        (
            newer,
            {"passed": 1},
            ["*outcome: warned properties the contract does not know*$.NextVersionField*"],
        ),
        (
            events_of_wrong_type,
            {"failed": 1},
            ["*FAIL  response_schema_conformance*", "*Events: 5 is not of type*"],
        ),
    ],
    ids=["unknown-properties-warn", "wrong-type-fails"],
)
def test_the_pytest_plugins_verify_fixture_warns_on_unknown_properties_and_fails_on_wrong_types(
    pytester: pytest.Pytester, change: Any, outcomes: dict[str, int], shown: list[str]
) -> None:
    pytester.makepyfile(test_user=NEWER_SERVER_TEST)
    for url in serve(webhooks_changed(mock_app(), change)):  # type: ignore[arg-type]
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", "--sowebhook-url", url)
    result.assert_outcomes(**outcomes)
    result.stdout.fnmatch_lines(shown)


# -- the REST face: wrong servers, and a tenant's webhooks left alone -----------------------------

REST_ROOT = load().operation(REST.list).path  # every REST path starts here


def drops_links(request: Request, response: Response) -> Response:
    """A server whose REST answers carry no ``_Links``."""
    if not request.path.startswith(REST_ROOT) or response.mimetype != "application/json":
        return response
    value = json.loads(response.get_data())
    if isinstance(value, dict):
        value.pop("_Links", None)
    return Response(json.dumps(value), status=response.status_code, content_type=response.content_type)


def null_for_missing(request: Request, response: Response) -> Response:
    """A server whose REST answers a missing webhook as the agent does: 200 with null."""
    if request.path.startswith(REST_ROOT) and response.status_code == 404:
        return Response("null", status=200, content_type="application/json; charset=utf-8")
    return response


def ignores_patches(app: Flask) -> Callable[..., Any]:
    """A server that answers PATCH 200 with the webhook as it is, and applies nothing."""

    def server(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "PATCH":
            environ = {**environ, "REQUEST_METHOD": "GET", "CONTENT_LENGTH": "0", "wsgi.input": io.BytesIO()}
        return app(environ, start_response)

    return server


@pytest.mark.parametrize(
    ("defect", "check"),
    [
        ("drops-links", "rest_links"),
        # a failure late in the scenario: its shrinking replays most of it
        pytest.param("null-for-missing", "rest_missing_is_404", marks=pytest.mark.slow),
        pytest.param("ignores-patches", "rest_patch_semantics", marks=pytest.mark.slow),
    ],
)
def test_a_wrong_rest_face_fails_the_right_check(defect: str, check: str) -> None:
    app = mock_app()
    server = {
        "drops-links": lambda: behind_proxy(app, drops_links),
        "null-for-missing": lambda: behind_proxy(app, null_for_missing),
        "ignores-patches": lambda: ignores_patches(app),
    }[defect]()
    report = verify(server, max_examples=4, stateful_steps=0, checks=[check, "get_returns_saved"])
    failed = {name for name, o in report.outcomes.items() if o.status == "failed"}
    assert failed == {check}, report.render()
    outcome = report.outcomes[check]
    assert outcome.basis == "documented" and REST_ROOT in outcome.curl, report.render()
    assert tagged_left(app, report) == []


def test_verify_names_only_the_webhooks_it_created_on_either_face() -> None:
    """The tenant's webhooks (saved before the run, of two owners) are neither changed nor named by
    id: the mock's journal and store are the oracle."""
    app = mock_app()
    client = app.test_client()
    auth = {"Authorization": "Basic dGplMDpUamUw"}
    for number in range(1, 6):
        tenant = {
            "Name": f"tenant {number}",
            "Type": "crmscript",
            "Events": ["contact.created"],
            "Headers": {"X": str(number)},
        }
        assert client.post(REST_ROOT, json=tenant, headers=auth).status_code == 200
    before = {row.webhook_id: row.webhook for row in state_of(app).store.all()}
    state_of(app).journal.clear()
    report = verify(app, max_examples=5, stateful_steps=10)
    assert report.ok, report.render()
    assert {row.webhook_id: row.webhook for row in state_of(app).store.all()} == before
    named: dict[int, list[str]] = {}
    for entry in state_of(app).journal.entries():
        ids = [int(v) for k, v in entry.query.items() if k.casefold() == "webhookid"]
        ids += [int(part) for part in entry.path[len(REST_ROOT) :].split("/") if part.isdigit()]
        body = entry.body if isinstance(entry.body, dict) else {}
        ids += [v for k, v in body.items() if k.casefold() == "webhookid" and isinstance(v, int)]
        for webhook_id in ids:
            named.setdefault(webhook_id, []).append(f"{entry.method} {entry.path}")
    assert not set(named) & set(before), {i: named[i][:3] for i in set(named) & set(before)}
    assert any(path.startswith(f"PATCH {REST_ROOT}/") for paths in named.values() for path in paths)


def test_the_client_refuses_to_name_a_webhook_the_run_did_not_create() -> None:
    app = mock_app()
    client = Client(app, Credentials(), 0.0, 5.0, True)
    refused = [
        (REST.get, {"path": {"id": 7}}),
        (REST.patch, {"path": {"id": 7}, "value": []}),
        (REST.delete, {"path": {"id": 7}}),
        ("GetWebhook", {"query": "?webhookId=7"}),
        ("SaveWebhook", {"value": {"webhookid": 7, "Name": "x"}}),
    ]
    for operation, options in refused:
        with pytest.raises(ForeignWebhook, match=r"\[7\]"):
            client.send(operation, **options)
    assert client.count == 0 and state_of(app).journal.entries() == []  # nothing was sent
    exchange, _ = client.send("SaveWebhook", {"WebhookId": 0, "Name": "mine", "Type": "crmscript"})
    client.owned.add(json.loads(exchange.body)["WebhookId"])
    assert client.send(REST.get, path={"id": json.loads(exchange.body)["WebhookId"]})[0].status == 200
