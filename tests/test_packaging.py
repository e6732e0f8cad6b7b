"""The built wheel carries the contract: installed outside the source tree, it loads from there,
and its ``sowebhook mock`` serves the agent and the REST endpoints (PATCH through ``jsonpatch``, a
dependency the wheel declares)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
import urllib.request
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds a wheel and installs it into a fresh virtualenv

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        cwd=out,
    )
    (built,) = out.glob("superoffice_webhook_contracts-*.whl")
    return built


def test_wheel_contains_the_document_and_the_console_script(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        bundled = archive.read("contracts/_contract/webhook-agent.yaml")
        entry_points = next(archive.read(n) for n in names if n.endswith("entry_points.txt")).decode()
        metadata = Parser().parsestr(
            next(archive.read(n) for n in names if n.endswith(".dist-info/METADATA")).decode()
        )
    assert bundled == (ROOT / "openapi" / "webhook-agent.yaml").read_bytes()
    assert "sowebhook = contracts.cli:main" in entry_points
    assert {"contracts/patch.py", "mockserver/rest.py", "mockserver/routing.py"} <= names
    # the inspector's page and files are package data (mockserver.inspector)
    assert {
        "mockserver/templates/inspector.html",
        "mockserver/static/inspector.js",
        "mockserver/static/inspector.css",
    } <= names
    # PATCH applies RFC 6902 by python-json-patch (contracts.patch): a dependency of the wheel, not of the tests
    required = {
        r.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].split("~")[0].strip().lower()
        for r in metadata.get_all("Requires-Dist") or []
        if "extra ==" not in r
    }
    assert {"jsonpatch", "flask", "openapi-core"} <= required, required


def test_contract_loads_from_a_fresh_virtualenv_outside_the_tree(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # The dependencies come from this environment (appended after the venv's own site-packages,
    # so the wheel's copy of the project wins); the project itself only from the wheel.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel)],
        check=True,
    ) if _pip_supports_python_flag() else subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)],
        check=True,
    )
    probe = (
        "import contracts, json; c = contracts.load(); "
        "print(json.dumps([contracts.__file__, str(c.path), c.document['info']['title']]))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run(
        [str(python), "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path, env=env
    )
    module_file, document_path, title = json.loads(result.stdout)
    assert Path(module_file).is_relative_to(site)
    assert Path(document_path) == site / "contracts" / "_contract" / "webhook-agent.yaml"
    assert title.startswith("SuperOffice Webhook agent")
    script = subprocess.run(
        [str(env_dir / "bin" / "sowebhook"), "spec", "--json"]
        if (env_dir / "bin" / "sowebhook").exists()
        else [str(python), "-m", "contracts.cli", "spec", "--json"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert json.loads(script.stdout)["openapi"] == "3.1.0"
    _serves_rest(env_dir, python, tmp_path, env, site)


def _serves_rest(env_dir: Path, python: Path, cwd: Path, env: dict[str, str], site: Path) -> None:
    """``sowebhook mock`` of the installed wheel answers the REST endpoints: POST, then PATCH."""
    script = env_dir / "bin" / "sowebhook"
    command = [str(script)] if script.exists() else [str(python), "-m", "contracts.cli"]
    process = subprocess.Popen(
        [*command, "mock", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**env, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the ready line: blocks until the server answers
        assert " ready at http://127.0.0.1:" in line, line + (
            process.stderr.read() if process.poll() is not None else ""
        )
        url = next(word for word in line.split() if word.startswith("http://"))
        auth = {"Authorization": "Basic dGplMDpUamUw", "Content-Type": "application/json"}
        webhook = {"Name": "from the wheel", "Type": "crmscript", "Events": ["contact.created"]}
        posted = _call(
            urllib.request.Request(
                f"{url}/api/v1/Webhook", data=json.dumps(webhook).encode(), headers=auth, method="POST"
            )
        )
        assert posted["_Links"]["Self"] == f"{url}/api/v1/Webhook/{posted['WebhookId']}"
        ops = [{"op": "add", "path": "/Events/-", "value": "contact.changed"}]
        patched = _call(
            urllib.request.Request(
                posted["_Links"]["Self"], data=json.dumps(ops).encode(), headers=auth, method="PATCH"
            )
        )
        assert patched["Events"] == ["contact.created", "contact.changed"]
        inspector = next(word for word in line.split() if word.startswith("http://") and "/__mock__/" in word)
        with urllib.request.urlopen(urllib.request.Request(inspector, headers=auth), timeout=30) as page:
            assert (
                page.status == 200 and b"inspector.js" in page.read()
            )  # the template, from the installed wheel
    finally:
        process.terminate()
        try:
            _, errors = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            _, errors = process.communicate()
    assert "Traceback" not in errors, errors


def _call(request: urllib.request.Request) -> dict[str, object]:
    with urllib.request.urlopen(request, timeout=30) as answer:  # loopback: the mock just started
        assert answer.status == 200
        value = json.loads(answer.read())
    assert isinstance(value, dict)
    return value


def _pip_supports_python_flag() -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], check=True, capture_output=True, text=True
    )
    major, minor = (int(x) for x in result.stdout.split()[1].split(".")[:2])
    return (major, minor) >= (22, 3)
