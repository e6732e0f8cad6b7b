"""The layers hold: the contract side imports neither Flask nor the mock, the checks do not pull in
Hypothesis, and no module imports one that imports it back (ARCHITECTURE.md, "Rules")."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_SIDE = [
    "contracts.spec",
    "contracts.wire",
    "contracts.signatures",
    "contracts.binding",
    "contracts.exchange",
    "contracts.strategies",
    "contracts.checks",
]


def _loaded_after(imports: list[str]) -> set[str]:
    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in imports)
        + "print('\\n'.join(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(done.stdout.split())


@pytest.mark.slow  # a Python subprocess
def test_the_contract_side_imports_neither_flask_nor_the_mock() -> None:
    loaded = _loaded_after(CONTRACT_SIDE)
    assert "flask" not in loaded
    assert not {name for name in loaded if name == "mockserver" or name.startswith("mockserver.")}


@pytest.mark.slow  # a Python subprocess
def test_importing_the_checks_does_not_import_hypothesis() -> None:
    assert "hypothesis" not in _loaded_after(["contracts.checks", "contracts.exchange", "contracts.binding"])


def _imports(path: Path, package: str) -> set[str]:
    """The modules a module imports, at its top or lazily inside a function: a lazy import that
    points back is a cycle too (it only hides it from the interpreter)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            found.add(f"{base}.{node.module}" if node.module else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _modules() -> dict[str, Path]:
    modules = {}
    for top in ("contracts", "mockserver"):
        for path in (ROOT / top).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


@pytest.mark.parametrize("top", ["contracts", "mockserver"])
def test_no_import_cycle(top: str) -> None:
    """Within a package, lazy imports included. Across packages the CLI and the plugin sit at the
    edge and import the mock lazily; that is the one allowed way back (ARCHITECTURE.md)."""
    modules = _modules()
    graph = {
        name: {
            m
            for m in _imports(path, name if path.name == "__init__.py" else name.rsplit(".", 1)[0])
            if m in modules and m != name
        }
        for name, path in modules.items()
        if name.startswith(top + ".")  # a package's __init__ only re-exports its modules
    }
    cycles = []
    for start in graph:
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join([*trail, nxt]))
                elif nxt not in trail and nxt in graph and len(trail) < 12:
                    stack.append((nxt, [*trail, nxt]))
    assert not cycles, "\n".join(sorted(set(cycles))[:10])


def test_no_module_of_the_packages_is_over_450_lines() -> None:
    """ARCHITECTURE.md's rule: a module that grows past it has more than one job."""
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for package in ("contracts", "mockserver")
        for path in (ROOT / package).rglob("*.py")
    }
    assert {name: lines for name, lines in sizes.items() if lines > 450} == {}
