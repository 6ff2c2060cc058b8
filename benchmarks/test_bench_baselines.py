"""Speed of one hmdb51 fold (fit + score of the unseen test clips) for the closed-form baselines
(eszsl, sae) and dem, on the embedded synthetic features (2048-d).

    make benchmark      # or: .venv/bin/python -m pytest -q benchmarks --benchmark-enable --benchmark-only

Uses the normal data root (--data-root / $ZSAR_BENCH_DATA / ~/.cache/zsar-bench); the synthetic
features are generated there on first use. The closed forms have a speed target (well under a
second per fold on a 2-core CPU), checked here only, never in the unit tests.
"""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from zsar_bench.datasets import get_dataset  # noqa: E402
from zsar_bench.features import load_feature_set  # noqa: E402
from zsar_bench.method import FitContext, build_method  # noqa: E402
from zsar_bench.plugins import load_plugins  # noqa: E402
from zsar_bench.measure.folds import make_fold_data
from zsar_bench.running.runner import score_checked  # noqa: E402
from zsar_bench.splits import default_protocol, load_protocol  # noqa: E402

ROUNDS = {"eszsl": 5, "sae": 5, "dem": 2}
TARGET_S = {"eszsl": 1.0, "sae": 1.0}  # median seconds per fold (fit + score), closed forms only


@pytest.fixture(scope="module")
def hmdb51_fold():
    load_plugins()
    fs = load_feature_set("hmdb51", "synthetic")
    fold = load_protocol("hmdb51", default_protocol("hmdb51")).folds[0]
    return make_fold_data(fs, get_dataset("hmdb51").classes(), fold)


@pytest.mark.parametrize("name", list(ROUNDS))
def test_one_hmdb51_fold(benchmark, name, hmdb51_fold):
    data = hmdb51_fold
    build_method(name).fit(data.fit, FitContext(device="cpu", seed=0))  # warm caches: word vectors, imports

    def fold():
        m = build_method(name).fit(data.fit, FitContext(device="cpu", seed=0))
        return score_checked(m, data.test)

    scores = benchmark.pedantic(fold, rounds=ROUNDS[name], iterations=1)
    top1 = float((scores.argmax(1) == data.test.labels).mean())
    benchmark.extra_info.update({"top1": round(100 * top1, 2), "n_train": len(data.fit.train.labels),
                                 "n_test": len(data.test.labels), "dim": data.fit.feature_dim})
    assert np.isfinite(scores).all() and top1 > 1.5 / len(data.test.classes)
    stats = getattr(benchmark, "stats", None)
    if name in TARGET_S and stats is not None and not benchmark.disabled:
        median = stats.stats.median
        assert median < TARGET_S[name], f"{name}: {median:.2f}s per hmdb51 fold, target {TARGET_S[name]}s"
