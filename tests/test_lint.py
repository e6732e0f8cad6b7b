"""ruff and mypy run and fail: the rules of ``[tool.ruff.lint]`` hold over the whole tree, ``ruff
format`` has nothing to change, and ``mypy --strict`` (``[tool.mypy]``) finds nothing in
``contracts`` and ``mockserver``. pyproject.toml holds every setting; these tests only run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ["contracts", "mockserver", "tests", "stress", "bench"]

pytestmark = pytest.mark.slow


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_finds_nothing() -> None:
    result = _run("ruff", "check", "--no-cache", "--output-format", "concise", *CHECKED)
    assert result.returncode == 0, f"ruff check {' '.join(CHECKED)}:\n{result.stdout}{result.stderr}"


def test_ruff_format_changes_nothing() -> None:
    result = _run("ruff", "format", "--check", "--no-cache", *CHECKED)
    assert result.returncode == 0, (
        f"ruff format --check {' '.join(CHECKED)} (run ruff format):\n{result.stdout}{result.stderr}"
    )


def test_mypy_strict_finds_nothing(tmp_path: Path) -> None:
    result = _run("mypy", "--cache-dir", str(tmp_path / "mypy"), "--no-error-summary")
    assert result.returncode == 0, (
        f"mypy (strict, [tool.mypy] of pyproject.toml):\n{result.stdout}{result.stderr}"
    )
