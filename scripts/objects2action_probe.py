#!/usr/bin/env python
"""A no-training probe of ``objects2action`` on the synthetic world (docs/results.md): its top-1 on folds 0-9 of
hmdb51's random-50-50, as it is and with the object word vectors given to the wrong objects (a fixed random
permutation of the vocabulary). If the synthetic detections handed a name-matching method a shortcut, the
method would come near the trained rows; if its gain over chance did not come from what the object names mean,
the permuted vectors would keep it. Data root: ``$ZSAR_BENCH_DATA`` (or the default), as run_bench.py."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zsar_bench.datasets import get_dataset  # noqa: E402
from zsar_bench.features import load_feature_set  # noqa: E402
from zsar_bench.measure.folds import make_fold_data  # noqa: E402
from zsar_bench.method import FitContext, build_method  # noqa: E402
from zsar_bench.plugins import load_plugins  # noqa: E402
from zsar_bench.splits import load_protocol  # noqa: E402


def main(dataset: str = "hmdb51", n_folds: int = 10) -> None:
    load_plugins()
    fs, classes = load_feature_set(dataset, "synthetic"), get_dataset(dataset).classes()
    pr = load_protocol(dataset, "random-50-50")
    perm = np.random.default_rng(0).permutation(len(fs.concepts))
    acc: dict[str, list[float]] = {"as it is": [], "object vectors permuted": []}
    for fold in pr.folds[:n_folds]:
        d = make_fold_data(fs, classes, fold, pr)
        m = build_method("objects2action").fit(d.fit, FitContext())
        for name, vectors in (("as it is", m.object_vectors_), ("object vectors permuted", m.object_vectors_[perm])):
            m.object_vectors_ = vectors
            acc[name].append(float((m.score(d.test.videos, d.test.classes).argmax(1) == d.test.labels).mean()))
    n_unseen = len(pr.folds[0].unseen)
    print(f"{dataset}, random-50-50 folds 0-{n_folds - 1}: {n_unseen} unseen classes, chance {100 / n_unseen:.1f}%")
    for name, v in acc.items():
        print(f"objects2action, {name}: top-1 {100 * np.mean(v):.1f} ± {100 * np.std(v, ddof=1):.1f}")


if __name__ == "__main__":
    main(*(sys.argv[1:2] or ["hmdb51"]))
