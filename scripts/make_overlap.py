#!/usr/bin/env python
"""Write the packaged class-overlap lists under zsar_bench/data/overlap/ (Kinetics-400 vs UCF101,
HMDB51). Rerunning reproduces them byte for byte; `exclude_overlap` reads them at run time.

    python scripts/make_overlap.py [OUT_DIR]

Criteria and word vectors: see zsar_bench/overlap.py (exact name, near-identical name, GloVe 6B
50-d cosine distance < 0.05 as in Brattoli et al.).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zsar_bench.overlap import overlap_document  # noqa: E402

PAIRS = [("k400", "ucf101"), ("k400", "hmdb51")]
OUT_DIR = ROOT / "zsar_bench" / "data" / "overlap"


def main(out_dir: Path = OUT_DIR) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for pretrain, dataset in PAIRS:
        doc = overlap_document(pretrain, dataset)
        doc["generated_by"] = "scripts/make_overlap.py"
        out = out_dir / f"{pretrain}_{dataset}.json"
        out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {out}: {doc['n_overlap']} of {doc['n_classes']} classes overlap {pretrain}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT_DIR)
