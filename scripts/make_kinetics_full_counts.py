#!/usr/bin/env python
"""Write ``zsar_bench/data/kinetics_full_counts.json``: the clip counts of the full-size synthetic Kinetics set
(``features/synthetic_full.py``), the 220 new classes' counts taken from ER's release (how many Kinetics-600 test
clips of each class ER evaluated on: ``Kinetics/zsl220/tst_video_metas.jsonl``). Rerunning reproduces the file.

    .venv/bin/python scripts/make_kinetics_full_counts.py [/path/to/er-zsar]   (default ../shared/reference/er-zsar)
"""
from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEN_TOTAL = 240_000  # "about 240k" Kinetics-400 training clips (the release does not list them)


def main() -> None:
    ref = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "reference" / "er-zsar"
    metas = ref / "Kinetics" / "zsl220" / "tst_video_metas.jsonl"
    counts = collections.Counter(json.loads(line)["label"] for line in metas.read_text().splitlines() if line.strip())
    new = [counts[i] for i in range(400, 620)]
    if min(new) == 0:
        raise SystemExit(f"{metas}: some of the classes 400-619 have no clip")
    doc = {
        "source": "clips per class of the 220 classes new in Kinetics-600 (class ids 400-619, in order): how many "
                  "Kinetics-600 test clips ER's release evaluates each on (tst_video_metas.jsonl); the 400 seen "
                  "classes share seen_total training clips, spread as synthetic_full.seen_counts draws",
        "seen_total": SEEN_TOTAL,
        "new_class_clips": new,
    }
    out = ROOT / "zsar_bench" / "data" / "kinetics_full_counts.json"
    out.write_text(json.dumps(doc) + "\n")
    print(f"{out}: {SEEN_TOTAL} + {sum(new)} clips ({min(new)}-{max(new)} per new class)")


if __name__ == "__main__":
    main()
