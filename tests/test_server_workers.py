"""The mock served by several worker processes (``serve(workers=N)``): one state, through SQLite."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from mockserver.config import MockConfig

AGENT = "/api/v1/Agents/Webhook/"
AUTH = {"Authorization": "Basic dGplMDpUamUw", "Content-Type": "application/json"}
START = (
    "import sys; from mockserver.config import MockConfig; from mockserver.server import serve; "
    "config = MockConfig(response_validation='raise', db_path=sys.argv[1] or None); "
    "raise SystemExit(serve(config, port=0, workers=2, threads=1))"
)


def test_a_configuration_travels_to_the_workers_intact() -> None:
    from mockserver.config import Application, Associate, DeliveryConfig, User

    associate = Associate(associate_id=11, name="ANN", person_id=3, group_idx=2, rank=4, ej_user_id=7)
    config = MockConfig(
        profile="online",
        users=(User(username="ann", associate=associate, tickets=("7T:ann",), bearer_tokens=("8A:ann",)),),
        applications=(Application(name="app", app_token="tok", webhook_agent=False),),
        delivery=DeliveryConfig(allow_http=True, retry_waits=(0.5, 2.0), allowed_networks=("10.0.0.0/8",)),
        unknown_webhook_id="reject",
        validator="openapi-core",
        db_path="state.sqlite3",
    )
    assert MockConfig.from_mapping(json.loads(json.dumps(config.to_mapping()))) == config


def _post(url: str, operation: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + AGENT + operation, data=data, method="POST", headers=AUTH)
    with urllib.request.urlopen(request, timeout=10) as response:  # a new connection: any worker
        return json.loads(response.read() or b"null")


def _serve(db: str) -> tuple[subprocess.Popen[str], str, str]:
    process = subprocess.Popen(
        [sys.executable, "-c", START, db], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("sowebhook mock ready at http://127.0.0.1:"), line + (
        process.stderr.read() if process.poll() is not None else ""
    )
    return process, line.split()[4], line


@pytest.mark.slow  # worker processes
def test_workers_share_one_state_and_stop_cleanly(tmp_path: Path) -> None:
    process, url, _ = _serve(str(tmp_path / "state.sqlite3"))
    try:
        ids = [_post(url, "SaveWebhook", {"Name": f"hook {n}"})["WebhookId"] for n in range(12)]
        listed = _post(url, "GetAllWebhooks")
        for webhook_id in ids:  # whichever worker answers sees what the others saved
            assert _post(url, f"GetWebhook?webhookId={webhook_id}")["WebhookId"] == webhook_id
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert len(set(ids)) == 12
    assert sorted(w["WebhookId"] for w in listed) == sorted(ids)
    assert process.returncode == 0, err
    assert out.strip().endswith("sowebhook mock stopped")
    assert "Traceback" not in err


@pytest.mark.slow  # worker processes
def test_without_a_db_the_workers_share_a_temporary_sqlite_file() -> None:
    process, url, ready = _serve("")
    try:
        created = _post(url, "SaveWebhook", {"Name": "shared"})
        assert _post(url, f"GetWebhook?webhookId={created['WebhookId']}") == created
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    assert "store sqlite" in ready and process.returncode == 0
    assert out.strip() == "sowebhook mock stopped"


@pytest.mark.slow  # worker processes
def test_a_second_mock_on_the_same_port_is_refused_not_merged() -> None:
    # granian's workers bind with SO_REUSEPORT: without the check, two mocks would share the port.
    process, url, _ = _serve("")
    try:
        port = url.rsplit(":", 1)[1]
        start = START.replace("port=0", f"port={port}")
        second = subprocess.run([sys.executable, "-c", start, ""], capture_output=True, text=True, timeout=60)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert second.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
