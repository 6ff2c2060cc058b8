"""Metrics, computed by the harness from a method's [N, C] score matrix.

- top-k accuracy: fraction of clips whose true class is among the k highest scores (per clip);
- mean class accuracy: top-1 accuracy averaged over the classes present (class-balanced);
- generalised ZSL (candidates = seen + unseen): seen and unseen accuracy are mean class accuracies
  over the seen-class and unseen-class clips, H their harmonic mean (Xian et al., 2018).
Ties break towards the lower column index (numpy's stable argsort).
"""
from __future__ import annotations

import numpy as np


def _check(scores: np.ndarray, labels: np.ndarray) -> None:
    if scores.ndim != 2 or scores.shape[0] != labels.shape[0]:
        raise ValueError(f"scores must be [N, C] with N = len(labels); got {scores.shape} and {labels.shape}")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf")


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    _check(scores, labels)
    k = min(k, scores.shape[1])
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float((order == labels[:, None]).any(axis=1).mean())


def predictions(scores: np.ndarray) -> np.ndarray:
    return np.argsort(-scores, axis=1, kind="stable")[:, 0]


def mean_class_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    _check(scores, labels)
    pred = predictions(scores)
    accs = [float((pred[labels == c] == c).mean()) for c in np.unique(labels)]
    return float(np.mean(accs))


def zsl_metrics(scores: np.ndarray, labels: np.ndarray) -> dict:
    return {
        "top1": topk_accuracy(scores, labels, 1),
        "top5": topk_accuracy(scores, labels, 5),
        "mean_class_acc": mean_class_accuracy(scores, labels),
    }


def harmonic_mean(a: float, b: float) -> float:
    return 0.0 if a + b == 0 else 2 * a * b / (a + b)


def gzsl_metrics(scores: np.ndarray, labels: np.ndarray, unseen_columns: np.ndarray) -> dict:
    """``labels`` index the seen + unseen candidate columns; ``unseen_columns`` is a bool mask over columns."""
    _check(scores, labels)
    unseen_columns = np.asarray(unseen_columns, bool)
    is_unseen = unseen_columns[labels]
    s = mean_class_accuracy(scores[~is_unseen], labels[~is_unseen]) if (~is_unseen).any() else float("nan")
    u = mean_class_accuracy(scores[is_unseen], labels[is_unseen]) if is_unseen.any() else float("nan")
    return {"gzsl_seen": s, "gzsl_unseen": u, "gzsl_h": harmonic_mean(s, u)}
