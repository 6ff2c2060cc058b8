#!/usr/bin/env python
"""Write the committed split files under splits/ (or under the folder given): ``zsar_bench.split_generation``
says how each protocol's folds are drawn. Rerunning reproduces the committed files byte for byte."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zsar_bench.split_generation import write_all  # noqa: E402

if __name__ == "__main__":
    write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "splits")
