"""Blinding: what a method sees of a partition, and its checked scores.

Every partition a method sees (fit, validation, test) is handed over with rows in a seeded random order and video
ids replaced by salted hashes that are fresh for every run. Scores are mapped back to the harness's row order
before any metric is computed, so a method can neither parse a label out of an id (``v_ApplyEyeMakeup_g01_c01``)
nor out of the order in which clips arrive.
"""
from __future__ import annotations

import hashlib
import secrets

import numpy as np

from .folds import _seeded_rng
from ..method import Method
from ..types import LabelledVideos, Videos


class Blinder:
    """Hands a method opaque, per-run video ids and rows in a seeded random order; maps scores back."""

    def __init__(self, *seed_parts):
        self._salt = secrets.token_hex(16)  # fresh for every run: ids cannot be matched across runs
        self._seed_parts = seed_parts

    def blind(self, videos: Videos, part: str) -> tuple[Videos, np.ndarray]:
        """(videos as the method sees them, order): row i of the result is row order[i] of ``videos``."""
        order = _seeded_rng("blind", part, *self._seed_parts).permutation(len(videos))
        out = videos.subset(order)
        src = videos.video_ids[order] if videos.video_ids is not None else order
        out.video_ids = np.array([hashlib.blake2b(f"{self._salt}|{v}".encode(), digest_size=8).hexdigest()
                                  for v in src.tolist()])
        return out, order

    def blind_labelled(self, data: LabelledVideos, part: str) -> LabelledVideos:
        videos, order = self.blind(data.videos, part)
        return LabelledVideos(videos, data.labels[order], list(data.classes))

    def score(self, method: Method, data: LabelledVideos, part: str) -> np.ndarray:
        """The method's scores for ``data``, rows in ``data``'s own order. The method is handed the videos and
        classes only: no labels sit in any frame it is called from (a worker's test partition has none at all)."""
        videos, order = self.blind(data.videos, part)
        s = score_checked(method, LabelledVideos(videos, None, data.classes))
        out = np.empty_like(s)
        out[order] = s
        return out


def score_checked(method: Method, data: LabelledVideos) -> np.ndarray:
    out = method.score(data.videos, list(data.classes))
    try:
        scores = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"method {method.name!r}: score() returned {type(out).__name__}, not an array of numbers "
                         f"({e})") from None
    expect = (len(data.videos), len(data.classes))
    if scores.shape != expect:
        raise ValueError(f"method {method.name!r}: score() returned shape {scores.shape}, expected {expect}")
    if not np.isfinite(scores).all():
        raise ValueError(f"method {method.name!r}: score() returned NaN or inf")
    return scores
