import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, recall_score, top_k_accuracy_score

from zsar_bench.measure.metrics import gzsl_metrics, harmonic_mean, mean_class_accuracy, topk_accuracy, zsl_metrics


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


def test_harmonic_mean_by_hand():
    assert harmonic_mean(0.5, 0.5) == pytest.approx(0.5)
    assert harmonic_mean(0.2, 0.6) == pytest.approx(2 * 0.2 * 0.6 / 0.8)
    assert harmonic_mean(0.0, 0.7) == 0.0


@pytest.mark.filterwarnings("error")
def test_gzsl_with_clips_of_one_side_only_gives_nan_for_the_other():
    """A test set without seen clips (or without unseen clips) has no seen (unseen) accuracy: NaN, not 0, and
    H is NaN too; the side that has clips keeps its mean class accuracy. No mean of an empty slice is taken
    (no RuntimeWarning)."""
    scores = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.0, 0.2, 0.9]])
    only_unseen = gzsl_metrics(scores[[0, 2]], np.array([1, 2]), np.array([False, True, True]))
    assert np.isnan(only_unseen["gzsl_seen"]) and only_unseen["gzsl_unseen"] == 1.0
    assert np.isnan(only_unseen["gzsl_h"])
    only_seen = gzsl_metrics(scores[[1]], np.array([0]), np.array([False, True, True]))
    assert only_seen["gzsl_seen"] == 1.0 and np.isnan(only_seen["gzsl_unseen"]) and np.isnan(only_seen["gzsl_h"])


def test_gzsl_unseen_columns_as_a_list_of_0_and_1():
    """The unseen-column mask may come as a list of 0/1 (JSON): it is read as a mask, not as column indices."""
    r = np.random.default_rng(3)
    labels = r.integers(0, 6, 200)
    scores = r.standard_normal((200, 6)) + np.eye(6)[labels]
    as_bool = gzsl_metrics(scores, labels, np.arange(6) >= 4)
    assert gzsl_metrics(scores, labels, [0, 0, 0, 0, 1, 1]) == as_bool


def test_ties_break_towards_the_lower_column_index():
    """With tied scores a clip's rank is the number of classes scored higher plus the tied classes listed before
    its own (the documented tie rule), computed here without sorting."""
    r = np.random.default_rng(5)
    n, c = 300, 40
    scores = np.round(r.random((n, c)) * 3) / 3  # four levels: many ties
    labels = r.integers(0, c, n)
    own = scores[np.arange(n), labels][:, None]
    cols = np.arange(c)[None, :]
    rank = (scores > own).sum(1) + ((scores == own) & (cols < labels[:, None])).sum(1)
    for k in (1, 5):
        assert topk_accuracy(scores, labels, k) == pytest.approx((rank < k).mean())
    assert 0 < (rank < 1).mean() < 1
