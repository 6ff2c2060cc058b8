#!/usr/bin/env python
"""zsar-bench command line (the same as the ``zsar-bench`` console script). See --help."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from zsar_bench.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
