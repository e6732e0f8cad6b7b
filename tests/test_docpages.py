"""The oracle itself: the copied pages are SuperOffice's, unmodified."""

from __future__ import annotations

from pathlib import Path

import pytest

import docpages

SHARED = Path(__file__).resolve().parents[2] / "shared"


def _copies() -> list[Path]:
    return sorted(p for p in docpages.DOCS.rglob("*") if p.is_file())


@pytest.mark.skipif(
    not SHARED.is_dir(), reason="the team's reference copy (../shared) is not beside this checkout"
)
@pytest.mark.parametrize("copy", _copies(), ids=lambda p: str(p.relative_to(docpages.DOCS)))
def test_copied_page_is_byte_identical_to_the_reference_copy(copy: Path) -> None:
    relative = copy.relative_to(docpages.DOCS)
    reference = SHARED / relative if relative.parts[0] == "seeds" else SHARED / "superoffice-docs" / relative
    assert copy.read_bytes() == reference.read_bytes()


def test_the_license_of_the_copied_pages_travels_with_them() -> None:
    assert "MIT License" in (docpages.DOCS / "LICENSE").read_text(encoding="utf-8")
