"""The pytest plugin, run as users run it (pytester)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # every test runs pytest in a subprocess (pytester)

RECEIVERS = """
import json
from werkzeug.wrappers import Request, Response
from contracts.signatures import verify_signature

def make(verify):
    def app(environ, start_response):
        request = Request(environ)
        ok = verify(request.get_data(), request.headers.get("X-SuperOffice-Signature"))
        return Response("OK" if ok else "no", status=200 if ok else 401)(environ, start_response)
    return app

good = make(lambda body, header: verify_signature("s3cret", body, header))
naive = make(lambda body, header: verify_signature("s3cret", json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode(), header))
"""


def test_receiver_check_fixture_passes_a_good_receiver_and_fails_a_naive_one(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(receivers=RECEIVERS)
    pytester.makepyfile(
        test_user="""
        from receivers import good, naive

        def test_good(sowebhook_receiver_check):
            sowebhook_receiver_check(good, "s3cret")

        def test_naive(sowebhook_receiver_check):
            sowebhook_receiver_check(naive, "s3cret")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*FAIL  accepts_unusual_serialisation*", "*7 passed, 1 failed*"])


def test_https_receiver_fixture_records_validates_and_verifies(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
        import json, requests
        from contracts.signatures import sign

        def test_delivery(sowebhook_receiver):
            body = json.dumps({"EventId": "4b5ce038-50f2-4796-bdb2-f96908cf31c2", "Timestamp": "2018-04-24T08:52:59.0005158Z",
                               "Changes": [], "Event": "test", "PrimaryKey": 0, "Entity": "test"}).encode()
            headers = {"Content-Type": "application/json", "User-Agent": "NetServer-Webhook/8.8.6684.1719",
                       "X-SuperOffice-Event": "test", "X-SuperOffice-EventId": "4b5ce038-50f2-4796-bdb2-f96908cf31c2",
                       "X-SuperOffice-Signature": sign(sowebhook_receiver.secret, body)}
            answer = requests.post(sowebhook_receiver.url, data=body, headers=headers, verify=sowebhook_receiver.ca_file)
            assert answer.status_code == 200
            (delivery,) = sowebhook_receiver.wait_for(1)
            assert delivery.signature_valid is True
            assert delivery.violations == []

        def test_it_can_be_told_to_fail(sowebhook_receiver):
            sowebhook_receiver.gone()
            answer = requests.post(sowebhook_receiver.url, data=b"{}", verify=sowebhook_receiver.ca_file)
            assert answer.status_code == 410
            assert sowebhook_receiver.wait_for(1)[0].violations  # {} is no valid delivery
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--sowebhook-secret", "from-the-command-line"
    )
    result.assert_outcomes(passed=2)


def test_the_plugin_is_registered_and_prefixed(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--sowebhook-secret*"])


CLIENTS = """
import requests

AUTH = {"Authorization": "Basic dGplMDpUamUw"}

def register(base_url, webhook, accept="application/json"):
    answer = requests.post(base_url + "/api/v1/Agents/Webhook/SaveWebhook", json=webhook, headers={**AUTH, "Accept": accept})
    return answer.json()
"""


def test_mock_fixture_passes_a_conforming_client_and_names_the_field_a_broken_one_breaks(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(client=CLIENTS)
    pytester.makepyfile(
        test_user="""
        from client import register

        def test_good_client(sowebhook_mock):
            sowebhook_mock.expect("SaveWebhook", times=1)
            saved = register(sowebhook_mock.url, {"Name": "n", "Type": "crmscript", "TargetUrl": "12", "Events": ["contact.created"]})
            assert saved["WebhookId"] > 0

        def test_string_webhookid(sowebhook_mock):
            register(sowebhook_mock.url, {"WebhookId": "abc", "Name": "n"})

        def test_client_that_ignores_xml(sowebhook_mock):
            register(sowebhook_mock.url, {"Name": "n"}, accept="application/xml")

        def test_unmet_expectation(sowebhook_mock):
            sowebhook_mock.expect("DeleteWebhook")

        def test_strict_mode_reports_unexpected_calls(sowebhook_mock):
            sowebhook_mock.strict = True
            register(sowebhook_mock.url, {"Name": "n"})
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=4, errors=3, failed=1)  # teardown verdicts are errors of passing tests
    text = result.stdout.str()
    assert "entity.WebhookId: 'abc' is not of type 'integer'" in text
    assert "JSONDecodeError" in text or "Expecting value" in text  # the client parsed XML as JSON
    assert "expected DeleteWebhook at least once, the client called it 0 time(s)" in text
    assert "unexpected call: SaveWebhook (1 time(s))" in text


def test_registration_flow_end_to_end_with_the_receiver_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(client=CLIENTS)
    pytester.makepyfile(
        test_user="""
        import requests
        from client import register, AUTH

        def test_flow(sowebhook_mock, sowebhook_receiver):
            saved = register(sowebhook_mock.url, {"Name": "flow", "Type": "webhook", "TargetUrl": sowebhook_receiver.url,
                                                  "Secret": sowebhook_receiver.secret, "Events": ["contact.created"]})
            assert saved["WebhookId"] > 0
            requests.post(sowebhook_mock.url + "/api/v1/Agents/Webhook/SignalEvent",
                          json={"EventName": "contact.created", "PrimaryKey": 7}, headers=AUTH)
            ping, event = sowebhook_receiver.wait_for(2)
            assert ping.is_test and event.json["PrimaryKey"] == 7
            assert event.signature_valid and not event.violations
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_verify_fixture_skips_without_a_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user="def test_server(sowebhook_verify):\n    sowebhook_verify()\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*pass --sowebhook-url*"])


def test_mock_fixture_fails_a_test_whose_mock_broke_the_contract_or_raised(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(client=CLIENTS)
    pytester.makepyfile(
        test_user="""
        import requests
        from client import AUTH
        from mockserver import state_of

        def get(mock):
            return requests.post(mock.url + "/api/v1/Agents/Webhook/GetWebhook?webhookId=1", headers=AUTH)

        def test_mock_answers_what_the_contract_forbids(sowebhook_mock, monkeypatch):
            monkeypatch.setitem(state_of(sowebhook_mock.app).agent.handlers, "GetWebhook", lambda call: (200, {"WebhookId": "abc"}))
            assert get(sowebhook_mock).json() == {"WebhookId": "abc"}

        def test_mock_handler_raises(sowebhook_mock, monkeypatch):
            def broken(call):
                raise ZeroDivisionError("a bug in the handler")
            monkeypatch.setitem(state_of(sowebhook_mock.app).agent.handlers, "GetWebhook", broken)
            assert get(sowebhook_mock).status_code == 500

        def test_the_next_test_starts_clean(sowebhook_mock):
            assert get(sowebhook_mock).json() is None
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=2)  # teardown verdicts are errors of passing tests
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_mock_answers_what_the_contract_forbids*",
            "*the mock's answer to request #1 POST /api/v1/Agents/Webhook/GetWebhook (GetWebhook) broke the contract (a bug in the mock):*",
            "*ERROR at teardown of test_mock_handler_raises*",
            "*the mock failed in its server thread: POST /api/v1/Agents/Webhook/GetWebhook failed*",
            "*ZeroDivisionError: a bug in the handler*",
        ]
    )


REST_CLIENT = """
import requests

AUTH = {"Authorization": "Basic dGplMDpUamUw"}


class Hooks:
    # a client of the REST Webhook endpoints, as a user's code might have one

    def __init__(self, base_url):
        self.base = base_url + "/api/v1/Webhook"

    def create(self, webhook):
        answer = requests.post(self.base + "/", json=webhook, headers=AUTH)  # @superoffice/webapi posts with the slash
        answer.raise_for_status()
        return answer.json()

    def get(self, webhook_id):
        answer = requests.get(f"{self.base}/{webhook_id}", headers=AUTH)
        return None if answer.status_code == 404 else answer.json()

    def patch(self, webhook_id, ops):
        return requests.patch(f"{self.base}/{webhook_id}", json=ops, headers={**AUTH, "Content-Type": "application/json-patch+json"})

    def delete(self, webhook_id):
        return requests.delete(f"{self.base}/{webhook_id}", headers=AUTH).status_code
"""


def test_mock_fixture_serves_rest_clients_and_judges_their_requests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(hooks=REST_CLIENT)
    pytester.makepyfile(
        test_user="""
        import requests
        from hooks import AUTH, Hooks

        WEBHOOK = {"Name": "n", "Type": "crmscript", "Events": ["contact.created"]}

        def test_round_trip(sowebhook_mock):
            sowebhook_mock.expect("v1Webhook_PostWebhook", times=1)
            sowebhook_mock.expect("v1Webhook_PatchWebhook", times=2)
            sowebhook_mock.expect("v1Webhook_DeleteWebhook")
            hooks = Hooks(sowebhook_mock.url)
            created = hooks.create(WEBHOOK)
            assert created["_Links"]["Self"] == f"{sowebhook_mock.url}/api/v1/Webhook/{created['WebhookId']}"
            assert hooks.patch(created["WebhookId"], [{"op": "replace", "path": "name", "value": "renamed"}]).json()["Name"] == "renamed"
            # a failed test (409) and a webhook that is not there (404) are answers, not mistakes
            assert hooks.patch(created["WebhookId"], [{"op": "test", "path": "/Name", "value": "n"}]).status_code == 409
            assert hooks.delete(created["WebhookId"]) == 204
            assert hooks.get(created["WebhookId"]) is None

        def test_one_store_for_both_faces(sowebhook_mock):
            created = Hooks(sowebhook_mock.url).create(WEBHOOK)
            got = requests.post(f"{sowebhook_mock.url}/api/v1/Agents/Webhook/GetWebhook?webhookId={created['WebhookId']}", headers=AUTH)
            assert got.json()["Name"] == "n"

        def test_misspelt_member(sowebhook_mock):
            Hooks(sowebhook_mock.url).create({**WEBHOOK, "Evnets": ["person.created"]})  # the server ignores it: 200

        def test_patch_of_no_property(sowebhook_mock):
            hooks = Hooks(sowebhook_mock.url)
            created = hooks.create(WEBHOOK)
            assert hooks.patch(created["WebhookId"], [{"op": "replace", "path": "/Nmae", "value": "x"}]).status_code == 400

        def test_unmet_rest_expectation(sowebhook_mock):
            sowebhook_mock.expect("v1Webhook_PutWebhook")
            Hooks(sowebhook_mock.url).create(WEBHOOK)

        def test_strict_rest(sowebhook_mock):
            sowebhook_mock.strict = True
            sowebhook_mock.expect("v1Webhook_PostWebhook", times=1)
            hooks = Hooks(sowebhook_mock.url)
            hooks.get(hooks.create(WEBHOOK)["WebhookId"])
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=6, errors=4)  # teardown verdicts are errors of passing tests
    text = result.stdout.str()
    assert (
        "ERROR at teardown of test_round_trip" not in text
        and "ERROR at teardown of test_one_store_for_both_faces" not in text
    )
    assert "newEntity.Evnets: 'Evnets' is not a property of WebhookBody" in text
    assert "(v1Webhook_PatchWebhook) broke the contract" in text
    assert "changes.0.path: 'Nmae' is not a property of the Webhook." in text
    assert "expected v1Webhook_PutWebhook at least once, the client called it 0 time(s)" in text
    assert "unexpected call: v1Webhook_GetWebhook (1 time(s))" in text


def test_mock_fixture_fails_a_test_whose_rest_answer_broke_the_contract(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(hooks=REST_CLIENT)
    pytester.makepyfile(
        test_user="""
        from hooks import Hooks
        from mockserver import state_of

        def test_rest_answer_the_contract_forbids(sowebhook_mock, monkeypatch):
            handlers = state_of(sowebhook_mock.app).agent.handlers
            monkeypatch.setitem(handlers, "v1Webhook_GetWebhook", lambda call: (200, {"WebhookId": 1, "_Links": "not a dictionary"}))
            assert Hooks(sowebhook_mock.url).get(1) == {"WebhookId": 1, "_Links": "not a dictionary"}
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_rest_answer_the_contract_forbids*",
            "*the mock's answer to request #1 GET /api/v1/Webhook/1 (v1Webhook_GetWebhook) broke the contract (a bug in the mock):*",
        ]
    )


@pytest.mark.parametrize("processes", [[], ["-n", "2", "--dist", "loadfile"]], ids=["one-process", "xdist"])
def test_min_coverage_fails_the_session_naming_the_cells_never_served(
    pytester: pytest.Pytester, processes: list[str]
) -> None:
    """Under pytest-xdist each test file below runs in a worker of its own, with a mock of its own:
    the session's coverage is what all of them served."""
    pytester.makepyfile(
        test_json="""
        import requests

        def test_json(sowebhook_mock):
            auth = {"Authorization": "Basic dGplMDpUamUw"}
            assert requests.post(sowebhook_mock.url + "/api/v1/Agents/Webhook/GetAllWebhooks", headers=auth).json() == []
        """,
        test_xml="""
        import requests

        def test_xml_after_a_reset(sowebhook_mock):
            auth = {"Authorization": "Basic dGplMDpUamUw"}
            xml = requests.post(sowebhook_mock.url + "/api/v1/Agents/Webhook/GetAllWebhooks", headers={**auth, "Accept": "text/xml"})
            assert xml.headers["Content-Type"].startswith("text/xml")
        """,
    )
    failing = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:randomly", *processes, "--sowebhook-min-coverage=50"
    )
    failing.assert_outcomes(passed=2)
    assert failing.ret == pytest.ExitCode.TESTS_FAILED
    text = failing.stdout.str()
    assert "below --sowebhook-min-coverage=50%" in text
    (line,) = [s for s in text.splitlines() if s.strip().startswith("GetAllWebhooks:")]
    assert "200 application/xml" in line and "400 text/json" in line  # never served
    assert "200 application/json" not in line and "200 text/xml" not in line  # served, one in each test
    assert "DeleteWebhook: 204 (no body)" in text

    passing = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:randomly", "--sowebhook-min-coverage=0.1"
    )
    assert passing.ret == pytest.ExitCode.OK and "contract coverage" not in passing.stdout.str()
    wrong = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--sowebhook-min-coverage=150")
    assert wrong.ret == pytest.ExitCode.USAGE_ERROR and "0 to 100" in wrong.stderr.str()
