"""The pytest plugin, run as users run it (pytester)."""

from __future__ import annotations

import pytest

RECEIVERS = '''
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
'''


def test_receiver_check_fixture_passes_a_good_receiver_and_fails_a_naive_one(pytester: pytest.Pytester) -> None:
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
    result = pytester.runpytest("-p", "no:cacheprovider")
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
    result = pytester.runpytest("-p", "no:cacheprovider", "--sowebhook-secret", "from-the-command-line")
    result.assert_outcomes(passed=2)


def test_the_plugin_is_registered_and_prefixed(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--sowebhook-secret*"])
