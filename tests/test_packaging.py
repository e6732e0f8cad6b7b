"""The built wheel carries the contract: installed outside the source tree, it loads from there."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds a wheel and installs it into a fresh virtualenv

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(out), str(ROOT)],
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
    assert bundled == (ROOT / "openapi" / "webhook-agent.yaml").read_bytes()
    assert "sowebhook = contracts.cli:main" in entry_points


def test_contract_loads_from_a_fresh_virtualenv_outside_the_tree(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )
    # The dependencies come from this environment (appended after the venv's own site-packages,
    # so the wheel's copy of the project wins); the project itself only from the wheel.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel)],
        check=True,
    ) if _pip_supports_python_flag() else subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)], check=True
    )
    probe = (
        "import contracts, json; c = contracts.load(); "
        "print(json.dumps([contracts.__file__, str(c.path), c.document['info']['title']]))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path, env=env)
    import json

    module_file, document_path, title = json.loads(result.stdout)
    assert Path(module_file).is_relative_to(site)
    assert Path(document_path) == site / "contracts" / "_contract" / "webhook-agent.yaml"
    assert title.startswith("SuperOffice Webhook agent")
    script = subprocess.run(
        [str(env_dir / "bin" / "sowebhook"), "spec", "--json"] if (env_dir / "bin" / "sowebhook").exists()
        else [str(python), "-m", "contracts.cli", "spec", "--json"],
        check=True, capture_output=True, text=True, cwd=tmp_path, env=env,
    )
    assert json.loads(script.stdout)["openapi"] == "3.1.0"


def _pip_supports_python_flag() -> bool:
    result = subprocess.run([sys.executable, "-m", "pip", "--version"], check=True, capture_output=True, text=True)
    major, minor = (int(x) for x in result.stdout.split()[1].split(".")[:2])
    return (major, minor) >= (22, 3)
