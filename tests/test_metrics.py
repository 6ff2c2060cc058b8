import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, recall_score, top_k_accuracy_score

from zsar_bench.metrics import gzsl_metrics, harmonic_mean, mean_class_accuracy, topk_accuracy, zsl_metrics


@pytest.mark.parametrize("seed", range(5))
def test_against_sklearn(seed):
    r = np.random.default_rng(seed)
    n, c = 300, 12
    labels = r.integers(0, c, n)
    scores = r.standard_normal((n, c)) + 1.5 * np.eye(c)[labels] * r.random((n, 1))
    assert topk_accuracy(scores, labels, 1) == pytest.approx(accuracy_score(labels, scores.argmax(1)))
    for k in (1, 5):
        assert topk_accuracy(scores, labels, k) == pytest.approx(top_k_accuracy_score(labels, scores, k=k, labels=np.arange(c)))
    assert mean_class_accuracy(scores, labels) == pytest.approx(balanced_accuracy_score(labels, scores.argmax(1)))


def test_gzsl_against_sklearn():
    r = np.random.default_rng(1)
    n, c = 400, 10
    labels = r.integers(0, c, n)
    scores = r.standard_normal((n, c)) + np.eye(c)[labels]
    unseen_cols = np.arange(c) >= 6
    m = gzsl_metrics(scores, labels, unseen_cols)
    pred = scores.argmax(1)
    s_mask, u_mask = labels < 6, labels >= 6
    # mean class accuracy of the seen (unseen) clips, predictions over all 10 candidates
    s = recall_score(labels[s_mask], pred[s_mask], labels=list(range(6)), average="macro", zero_division=0)
    u = recall_score(labels[u_mask], pred[u_mask], labels=list(range(6, 10)), average="macro", zero_division=0)
    assert m["gzsl_seen"] == pytest.approx(s) and m["gzsl_unseen"] == pytest.approx(u)
    assert m["gzsl_h"] == pytest.approx(2 * s * u / (s + u))
    assert s_mask.any() and u_mask.any()


def test_edge_cases():
    assert harmonic_mean(0, 0) == 0
    scores = np.eye(3)
    assert zsl_metrics(scores, np.arange(3)) == {"top1": 1.0, "top5": 1.0, "mean_class_acc": 1.0}
    with pytest.raises(ValueError, match="NaN"):
        topk_accuracy(np.array([[np.nan, 1.0]]), np.array([0]))
    with pytest.raises(ValueError, match=r"\[N, C\]"):
        topk_accuracy(np.zeros((2, 3)), np.zeros(3, int))


def test_record_top5_is_top_k_5_against_sklearn():
    """A record's top-5 (``zsl_metrics``) is scikit-learn's top-5 accuracy, on enough classes that top-4 and top-6
    give other values (so a wrong k cannot pass)."""
    r = np.random.default_rng(7)
    n, c = 400, 20
    labels = r.integers(0, c, n)
    scores = r.standard_normal((n, c)) + 1.0 * np.eye(c)[labels]
    m = zsl_metrics(scores, labels)
    ref = {k: top_k_accuracy_score(labels, scores, k=k, labels=np.arange(c)) for k in (1, 4, 5, 6)}
    assert len({ref[4], ref[5], ref[6]}) == 3  # the matrix tells k = 4, 5 and 6 apart
    assert m["top1"] == pytest.approx(ref[1]) and m["top5"] == pytest.approx(ref[5])
    assert m["mean_class_acc"] == pytest.approx(balanced_accuracy_score(labels, scores.argmax(1)))
