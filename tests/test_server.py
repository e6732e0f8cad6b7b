"""``sowebhook mock`` as users run it: a real process on a real socket, stopped with a signal."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import docpages
from harness.process import start_mock
from mockserver.config import MockConfig
from mockserver.server import ready_line


@pytest.fixture
def mock_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process, url = start_mock("--db", str(tmp_path / "state.sqlite3"))
    yield process, url
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # its workers stop with it (a SIGKILL would orphan them)
    try:
        process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def _post(
    url: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


@pytest.mark.slow  # a sowebhook mock process
def test_the_mock_serves_the_seed_request_and_stops_cleanly_on_sigterm(
    mock_process: tuple[subprocess.Popen[str], str],
) -> None:
    process, url = mock_process
    seed = docpages.sample_request(docpages.SEED)
    status, headers, body = _post(url, seed.path, seed.json, seed.headers)
    assert status == 200
    saved = json.loads(body)
    assert saved["Name"] == seed.json["Name"]
    status, _, body = _post(
        url,
        f"/api/v1/Agents/Webhook/GetWebhook?webhookId={saved['WebhookId']}",
        headers={"Authorization": seed.headers["Authorization"]},
    )
    assert status == 200 and json.loads(body) == saved
    status, headers, _ = _post(url, "/api/v1/Agents/Webhook/CreateDefaultWebhook")
    assert status == 401 and "www-authenticate" in {name.lower() for name in headers}
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0
    assert out.strip().endswith("sowebhook mock stopped")
    assert "POST /api/v1/Agents/Webhook/SaveWebhook 200 valid" in err
    assert "Traceback" not in err


@pytest.mark.slow  # a sowebhook mock process
def test_state_survives_a_restart_on_the_same_db(tmp_path: Path) -> None:
    db = str(tmp_path / "state.sqlite3")
    auth = {"Authorization": "Basic dGplMDpUamUw", "Content-Type": "application/json"}
    process, url = start_mock("--db", db)
    try:
        _, _, body = _post(url, "/api/v1/Agents/Webhook/SaveWebhook", {"Name": "kept"}, auth)
        saved = json.loads(body)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    assert process.returncode == 0
    process, url = start_mock("--db", db)
    try:
        _, _, body = _post(
            url, f"/api/v1/Agents/Webhook/GetWebhook?webhookId={saved['WebhookId']}", headers=auth
        )
        assert json.loads(body) == saved
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)


@pytest.mark.slow  # a sowebhook mock process
@pytest.mark.parametrize("bodies", [(), ("--stream-bodies",)], ids=["buffered", "streamed"])
def test_workers_from_the_command_line_share_state_and_quiet_drops_the_request_lines(
    tmp_path: Path, bodies: tuple[str, ...]
) -> None:
    auth = {"Authorization": "Basic dGplMDpUamUw", "Content-Type": "application/json"}
    process, url = start_mock("--workers", "2", "--quiet", "--db", str(tmp_path / "state.sqlite3"), *bodies)
    try:
        ids = [
            json.loads(_post(url, "/api/v1/Agents/Webhook/SaveWebhook", {"Name": f"w{n}"}, auth)[2])[
                "WebhookId"
            ]
            for n in range(6)
        ]
        _, _, listed = _post(url, "/api/v1/Agents/Webhook/GetAllWebhooks", headers=auth)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert len(set(ids)) == 6 and sorted(w["WebhookId"] for w in json.loads(listed)) == sorted(ids)
    assert "SaveWebhook 200" not in err and "Traceback" not in err


@pytest.mark.slow  # a sowebhook process
def test_a_bad_configuration_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "mock.json"
    config.write_text('{"profile": "cloud"}')
    result = subprocess.run(
        [sys.executable, "-m", "contracts.cli", "mock", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "profile must be 'onsite' or 'online'" in result.stderr


def test_the_ready_line_names_the_default_credentials() -> None:
    line = ready_line("http://127.0.0.1:8080", MockConfig())
    assert "http://127.0.0.1:8080" in line
    assert "Basic dGplMDpUamUw" in line  # the seed page's own Authorization header
    assert "\n" not in line


@pytest.mark.slow  # a sowebhook mock process
def test_a_signed_event_from_the_standalone_mock_verifies_with_an_independent_hmac() -> None:
    import base64
    import hashlib
    import hmac

    from contracts.receiver import Receiver

    secret = "Something Super Secret"
    auth = {"Authorization": "Basic dGplMDpUamUw", "Content-Type": "application/json"}
    with Receiver(secret=secret) as receiver:
        assert receiver.ca_file is not None
        process, url = start_mock("--ca-file", receiver.ca_file)
        try:
            webhook = {
                "Name": "e2e",
                "Events": ["contact.created"],
                "TargetUrl": receiver.url,
                "Secret": secret,
                "Type": "webhook",
            }
            status, _, body = _post(url, "/api/v1/Agents/Webhook/SaveWebhook", webhook, auth)
            assert status == 200, body
            status, _, _ = _post(
                url,
                "/api/v1/Agents/Webhook/SignalEvent",
                {"EventName": "contact.created", "PrimaryKey": 42},
                auth,
            )
            assert status == 204
            ping, event = receiver.wait_for(2)
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=20)
    assert ping.is_test and event.json["PrimaryKey"] == 42
    expected = base64.b64encode(hmac.new(secret.encode(), event.body, hashlib.sha256).digest()).decode()
    assert event.headers["X-SuperOffice-Signature"] == expected
    assert event.violations == []
    assert process.returncode == 0


@pytest.mark.slow  # a sowebhook mock process
@pytest.mark.parametrize("chunked", [False, True])
def test_a_client_still_sending_a_body_over_the_limit_reads_the_413(
    mock_process: tuple[subprocess.Popen[str], str], chunked: bool
) -> None:
    # urllib writes the whole body before it reads the answer: before the drain it got "Broken
    # pipe" instead of the 413 (F-112); a chunked body is drained the same way
    _, url = mock_process
    body = b'{"Name": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    data: Any = iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
    headers = {"Authorization": "Basic dGplMDpUamUw", "Content-Type": "application/json"}
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
    request = urllib.request.Request(
        url + "/api/v1/Agents/Webhook/SaveWebhook", data=data, method="POST", headers=headers
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    with refused.value as answer:
        assert answer.code == 413
        assert json.loads(answer.read())["Message"] == "The request entity is too large."
    status, _, listed = _post(
        url, "/api/v1/Agents/Webhook/GetAllWebhooks", headers={"Authorization": headers["Authorization"]}
    )
    assert (status, json.loads(listed)) == (200, [])
