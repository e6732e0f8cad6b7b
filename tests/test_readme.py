"""The README's snippets are the example tests, verbatim, so they cannot go stale."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNIPPET = re.compile(r"<!-- snippet: (?P<path>[^ ]+) -->\n```python\n(?P<code>.*?)```", re.DOTALL)


def test_every_snippet_is_its_example_file_verbatim() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    snippets = list(SNIPPET.finditer(readme))
    assert {m["path"] for m in snippets} == {
        f"tests/examples/{p.name}" for p in (ROOT / "tests/examples").glob("test_*.py")
    }
    for match in snippets:
        assert match["code"] == (ROOT / match["path"]).read_text(encoding="utf-8"), match["path"]


def test_the_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    run = readme.index("<!-- run-command -->")
    test = readme.index("<!-- test-command -->")
    assert run < test < readme.index("## ")
    assert "sowebhook mock" in readme[run:test]
    assert "python -m pytest" in readme[test : readme.index("## ")]
