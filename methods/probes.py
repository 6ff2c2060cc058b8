"""Sanity rows for every leaderboard: methods that learn nothing.

- ``probe-text``: no training and no video features. Each clip's top-5 object concepts, as ER's
  "lemma: definition" texts joined, and each class's "name: description" go through the default
  text encoder; the score is their cosine. It measures how much a benchmark can be solved by
  matching detector outputs to class texts with an off-the-shelf encoder. On the synthetic world it
  must stay far below the trained methods (a high value means the world leaks its generator); on
  real features it is a genuine, training-free baseline.
- ``chance``: a uniform random score per (clip, class), derived from a hash of the clip's features
  and the class identifier, so it is deterministic, independent of row order and ids, and
  class-order equivariant. Its expected top-1 is 1 / number of candidate classes.
"""
from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

from zsar_bench import Method, register_method
from zsar_bench.models.er import object_texts
from zsar_bench.text.encoders import get_text_encoder
from zsar_bench.text.styles import class_texts
from zsar_bench.types import ClassInfo, FitData, Videos


@register_method("probe-text")
class TextProbe(Method):
    summary = "sanity probe, no training: cosine of the clip's top-5 concept texts and the class texts (default encoder)"
    needs_concepts = True
    learns = False

    def __init__(self, text_encoder: str = "minilm", text_style: str = "name: description", n_objects: int = 5):
        self.text_encoder = text_encoder
        self.text_style = text_style
        self.n_objects = n_objects

    def fit(self, data: FitData, ctx) -> "TextProbe":
        if data.concepts is None or data.train.videos.concept_ids is None:
            raise ValueError("probe-text needs object concept detections in the feature set")
        self.concepts_ = data.concepts
        ctx.info["selected_on"] = "no training"
        return self

    def score(self, videos: Videos, classes: Sequence[ClassInfo]) -> np.ndarray:
        enc = get_text_encoder(self.text_encoder)
        z = enc.encode(class_texts(classes, self.text_style))
        o = enc.encode(object_texts(self.concepts_, videos.concept_ids, self.n_objects, sep="; "))
        z = z / np.linalg.norm(z, axis=1, keepdims=True).clip(1e-8)
        o = o / np.linalg.norm(o, axis=1, keepdims=True).clip(1e-8)
        return o @ z.T


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


@register_method("chance")
class Chance(Method):
    summary = "sanity row: a uniform random score per (clip, class); expected top-1 = 1 / candidates"
    learns = False

    def __init__(self, salt: int = 0):
        self.salt = salt

    def fit(self, data: FitData, ctx) -> "Chance":
        ctx.info["selected_on"] = "no training"
        return self

    def score(self, videos: Videos, classes: Sequence[ClassInfo]) -> np.ndarray:
        feats = np.ascontiguousarray(videos.features, dtype=np.float32)
        rows = np.array([int.from_bytes(hashlib.blake2b(r.tobytes(), digest_size=8).digest(), "little")
                         for r in feats], dtype=np.uint64)
        cols = np.array([int.from_bytes(hashlib.blake2b(f"{self.salt}|{c.identifier}".encode(),
                                                        digest_size=8).digest(), "little") for c in classes],
                        dtype=np.uint64)
        with np.errstate(over="ignore"):
            h = _mix64(rows[:, None] * np.uint64(0x9E3779B97F4A7C15) + cols[None, :])
        return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)
