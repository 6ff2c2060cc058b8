"""Speed figures (pytest-benchmark): ``make benchmark``. Not run by ``make test``."""
import numpy as np
import pytest
import torch

from zsar_bench.datasets import get_dataset
from zsar_bench.features import load_feature_set
from zsar_bench.measure.metrics import zsl_metrics
from zsar_bench.method import FitContext, build_method
from zsar_bench.plugins import load_plugins
from zsar_bench.measure.folds import make_fold_data
from zsar_bench.running.resolve import run_fold
from zsar_bench.running.runner import RunSpec
from zsar_bench.splits import load_protocol


@pytest.fixture(scope="module")
def hmdb():
    load_plugins()
    return load_feature_set("hmdb51")


def test_scoring_metrics(benchmark):
    r = np.random.default_rng(0)
    scores, labels = r.standard_normal((20000, 200)), r.integers(0, 200, 20000)
    benchmark(zsl_metrics, scores, labels)


def test_label_one_fold_hmdb51(benchmark, hmdb):
    pr = load_protocol("hmdb51", "random-50-50")
    spec = RunSpec("label", {}, "hmdb51", "synthetic", pr, pr.folds[0], 0)
    rec = benchmark.pedantic(run_fold, args=(spec, hmdb), rounds=3, iterations=1)
    assert rec["top1"] > 0


def test_label_scoring_hmdb51(benchmark, hmdb):
    fold = load_protocol("hmdb51", "random-50-50").folds[0]
    data = make_fold_data(hmdb, get_dataset("hmdb51").classes(), fold)
    m = build_method("label").fit(data.fit, FitContext())
    benchmark(m.score, data.test.videos, list(data.test.classes))


@pytest.mark.parametrize("cached", [True, False], ids=["frozen-prefix-cached", "full-encoder"])
def test_er_paper_text_tower_step(benchmark, cached):
    """One training step of the partially fine-tuned text tower (MiniLM stands in for BERT offline):
    128 object texts + 26 class texts, forward and backward."""
    from zsar_bench.features.synthetic import synthetic_concepts
    from zsar_bench.text.partial import PartialFineTuneEncoder

    torch.manual_seed(0)
    enc = PartialFineTuneEncoder("minilm", trainable_layers=2, max_length=128, cache_frozen=cached)
    vocab = synthetic_concepts().texts()
    r = np.random.default_rng(0)
    texts = ["; ".join(vocab[j] for j in r.choice(len(vocab), 5, replace=False)) for _ in range(154)]
    ids = enc.register(texts)
    enc.precompute()
    enc.train()

    def step():
        enc.zero_grad(set_to_none=True)
        enc(ids).sum().backward()

    benchmark.pedantic(step, rounds=5, iterations=1, warmup_rounds=1)
