"""The one place the scripts of ``stress/`` put the checkout on ``sys.path``: the repository root
(``contracts``, ``mockserver``) and ``tests/`` (``harness``, the helpers they share with the tests;
never a test module). A script imports it before ``harness``; run as ``python stress/NAME.py``,
this folder is on the path already."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT / "tests", ROOT):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
