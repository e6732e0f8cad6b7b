"""The ``sowebhook`` command line, run in-process as users call it."""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from contracts import load
from contracts.cli import main


def test_spec_prints_the_bundled_yaml_document() -> None:
    result = CliRunner().invoke(main, ["spec"])
    assert result.exit_code == 0, result.output
    assert result.output == load().path.read_text(encoding="utf-8")
    assert yaml.safe_load(result.output)["openapi"] == "3.1.0"


def test_spec_json_prints_the_same_document_as_json() -> None:
    result = CliRunner().invoke(main, ["spec", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == yaml.safe_load(load().path.read_text(encoding="utf-8"))


def test_unknown_subcommand_exits_non_zero() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2


def test_the_public_surface_is_what_all_says() -> None:
    import contracts
    import mockserver

    for module in (contracts, mockserver):
        public = {name for name in dir(module) if not name.startswith("_")} - {"annotations"}
        modules = {name for name in public if type(getattr(module, name)).__name__ == "module"}
        assert set(module.__all__) == public - modules, module.__name__


def test_a_store_that_cannot_be_opened_is_one_line_not_a_traceback(tmp_path: object) -> None:
    result = CliRunner().invoke(
        main, ["mock", "--port", "0", "--db", f"{tmp_path}/no/such/dir/state.sqlite3"]
    )
    assert result.exit_code == 1
    assert (
        result.output.startswith("Error: ")
        and "no/such/dir" in result.output
        and "Traceback" not in result.output
    )
    assert len(result.output.strip().splitlines()) == 1
