"""The one place the benchmarks put the checkout on ``sys.path``: the repository root
(``contracts``, ``mockserver``, ``bench``) and ``tests/`` (``docpages``, SuperOffice's pages; never a
test module). Scripts run as ``python bench/NAME.py`` import it as ``_paths``; the apps that servers
load as ``bench.NAME:app`` (with the root as their working directory) as ``bench._paths``."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT / "tests", ROOT):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
