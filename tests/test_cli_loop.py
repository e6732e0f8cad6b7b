"""The loop's commands as the README shows them: every ``<!-- loop-commands -->`` line is run here
(click's runner in-process; ``listen`` while a delivery is sent to it; the mock on a real socket for
``deliveries`` and the ``curl`` of a redelivery).

Oracles: what the listener and the forwarded app recorded, and the mock's own delivery records.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from contracts import cli_loop
from contracts.cli import main
from contracts.listen import Listener
from contracts.receiver import Receiver
from contracts.send import from_event

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"<!-- loop-commands -->\n```sh\n(?P<lines>.*?)```", re.DOTALL)


def readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [
        shlex.split(line)
        for block in BLOCK.finditer(text)
        for line in block["lines"].splitlines()
        if line.strip()
    ]


def commands(program: str, sub: str | None = None) -> list[list[str]]:
    found = [c for c in readme_commands() if c[0] == program and (sub is None or c[1] == sub)]
    assert found, f"the README shows no {program} {sub or ''} command"
    return found


def option(args: list[str], name: str, value: str) -> list[str]:
    """``args`` with the value of ``name`` replaced (or the option added)."""
    if name in args:
        at = args.index(name)
        return [*args[: at + 1], value, *args[at + 2 :]]
    return [*args, name, value]


def test_the_readme_shows_only_commands_that_exist() -> None:
    for command in readme_commands():
        if command[0] == "sowebhook":
            main.make_context("sowebhook", command[1:])  # raises on an unknown command or option


def test_readme_listen_commands_receive_forward_save_and_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trustme

    issued = trustme.CA().issue_cert("127.0.0.1")
    issued.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    issued.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    answers: list[int] = []

    def deliver_once(listener: Listener) -> None:  # instead of waiting for Ctrl-C
        from contracts.poster import post

        outgoing = from_event("contact.created", "my secret", primary_key=7)
        answers.append(
            post(listener.url, outgoing.body, outgoing.headers, verify=False).status
        )  # its own certificate
        listener.wait_for(1)

    monkeypatch.setattr(cli_loop, "wait_for_signal", deliver_once)
    monkeypatch.chdir(tmp_path)
    with Receiver(tls=False, secret="my secret") as app:
        for command in commands("sowebhook", "listen"):
            args = option(command[2:], "--port", "0")
            if "--forward" in args:
                args = option(args, "--forward", app.url)
            result = CliRunner().invoke(main, ["listen", *args])
            assert result.exit_code == 0, result.output
            assert "contact.created" in result.stdout and "signature=" in result.stdout
        assert app.wait_for(1)[0].signature_valid
    assert answers == [200, 500]  # forwarded to the app, then --respond 500
    assert len(list((tmp_path / "deliveries").glob("*.json"))) == 1


def test_listen_with_an_empty_secret_checks_nothing_as_it_says(monkeypatch: pytest.MonkeyPatch) -> None:
    def deliver_once(listener: Listener) -> None:
        from_event("contact.changed", "some secret").send(listener.url)
        listener.wait_for(1)

    monkeypatch.setattr(cli_loop, "wait_for_signal", deliver_once)
    result = CliRunner().invoke(main, ["listen", "--port", "0"], env={"SOWEBHOOK_SECRET": ""})
    assert result.exit_code == 0, result.output
    assert "NOT checking signatures" in result.stderr and "signature=unchecked" in result.stdout


def test_listen_refuses_what_cannot_work() -> None:
    both = CliRunner().invoke(main, ["listen", "--forward", "http://127.0.0.1:9/", "--respond", "500"])
    assert both.exit_code == 2 and "choose one" in both.output
    half = CliRunner().invoke(main, ["listen", "--port", "0", "--cert", "cert.pem"])
    assert half.exit_code == 1 and "needs both" in half.output


def test_readme_send_and_events_commands_succeed() -> None:
    with Listener(secret="my secret") as listener:
        for command in commands("sowebhook"):
            if command[1] not in ("send", "events"):
                continue
            args = [listener.url if a.startswith("http://127.0.0.1:5000") else a for a in command[1:]]
            args = [str(ROOT / a) if a.startswith("tests/examples/") else a for a in args]
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 0, (command, result.output)
        sent = listener.wait_for(5)
    assert [d.signature for d in sent] == ["valid"] * 5
    assert all(d.violations == [] for d in sent)
    assert sent[1].event == "webhook66.errors"


@pytest.mark.slow  # the mock on a socket, its delivery workers
def test_readme_redelivery_from_the_mock_reaches_listen() -> None:
    from mockserver import MockConfig
    from mockserver.config import DeliveryConfig
    from mockserver.testing import MockServer

    auth = {"Authorization": "Basic dGplMDpUamUw"}
    with (
        Listener(secret="my secret") as listener,
        MockServer(MockConfig(delivery=DeliveryConfig(allow_http=True))) as mock,
    ):
        saved = requests.post(
            f"{mock.url}/api/v1/Webhook",
            headers=auth,
            timeout=10,
            json={
                "Name": "listen",
                "Events": ["contact.created"],
                "TargetUrl": listener.url,
                "Secret": "my secret",
                "Type": "webhook",
            },
        )
        assert saved.status_code == 200, saved.text
        requests.post(f"{mock.url}/api/v1/Webhook/contact.created/7", headers=auth, timeout=10)
        _, event = listener.wait_for(2)
        assert requests.post(f"{mock.url}/__mock__/deliveries/drain", headers=auth, timeout=30).json()["idle"]
        (deliveries,) = commands("sowebhook", "deliveries")
        listed = CliRunner().invoke(main, [deliveries[1], mock.url, *deliveries[3:]])
        assert listed.exit_code == 0, listed.output
        record: dict[str, Any] = json.loads(listed.stdout.splitlines()[-1])
        (curl,) = commands("curl")
        url = re.sub(r"deliveries/\d+/", f"deliveries/{record['id']}/", curl[curl.index("-X") + 2])
        url = url.replace("http://127.0.0.1:8080", mock.url)
        header = curl[curl.index("-H") + 1].split(": ", 1)
        assert requests.post(url, headers={header[0]: header[1]}, timeout=10).status_code == 200
        again = listener.wait_for(3)[2]
    assert (
        again.header("X-SuperOffice-EventId") == event.header("X-SuperOffice-EventId")
        and again.body == event.body
    )
    assert again.signature == "valid"
