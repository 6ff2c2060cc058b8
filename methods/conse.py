"""``conse``: Convex combination of Semantic Embeddings, Norouzi et al., "Zero-Shot Learning by
Convex Combination of Semantic Embeddings", ICLR 2014.

Reproduced: a softmax classifier over the seen classes gives p(y | x); a clip's semantic vector
is f(x) = (1 / Z) sum_{t=1..T} p(y_t | x) s(y_t) over its T most probable seen classes
(Z = sum of those T probabilities), T = 10 by default; classes are ranked by cosine(f(x), s_c).

Differs: the seen-class classifier is a linear softmax on the standardised clip features trained
through the common trainer (the paper reuses a pretrained CNN's softmax); class vectors are the
L2-normalised word vectors of the name (or text-encoder vectors via ``semantic``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from zsar_bench import register_method
from zsar_bench.models.semantic import SemanticBaseline, chunks, l2_rows
from zsar_bench.method import FitContext, Ingredient
from zsar_bench.models.projection import to_tensor
from zsar_bench.types import ClassInfo, FitData, Videos


@register_method("conse")
class ConSE(SemanticBaseline):
    summary = "seen-class softmax; probability-weighted mean of the top-T seen class vectors (T=10)"
    fidelity = (
        Ingredient("clip embedding", "f(x) = (1/Z) sum over the T most probable seen classes of p(y_t | x) s(y_t), "
                   "Z = the sum of those T probabilities", "same", True, "Norouzi et al., ICLR 2014"),
        Ingredient("T", "1, 10 and 1000 reported", "10 (top_t=10)", True, "Norouzi et al., ICLR 2014 (results tables)"),
        Ingredient("scoring", "cosine similarity between f(x) and each unseen class vector", "same", True, "Norouzi et al., ICLR 2014"),
        Ingredient("seen-class classifier", "the softmax of a CNN trained on the seen classes (the 1000 ILSVRC classes)",
                   "a linear softmax on the standardised clip features, trained through the common trainer "
                   "(Adam lr 1e-3, 30 epochs, batch 128, weight decay 1e-4)", False, "Norouzi et al., ICLR 2014",
                   "clip features come precomputed; only a classifier on top of them can be trained"),
        Ingredient("class vectors", "500-d skip-gram word vectors trained on Wikipedia",
                   "mean GloVe 6B 50-d vector of the name's words (semantic=glove50), L2-normalised; semantic=PATH "
                   "for 300-d files", False, "Norouzi et al., ICLR 2014", "the offline default"),
    )
    test_params = {"epochs": "20"}

    def __init__(self, semantic: str = "glove50", text_style: str = "name", top_t: int = 10, lr: float = 1e-3,
                 epochs: int = 30, batch_size: int = 128, weight_decay: float = 1e-4):
        self.semantic = semantic
        self.text_style = text_style
        self.top_t = top_t
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay

    def fit(self, data: FitData, ctx: FitContext) -> "ConSE":
        x, y, s = self._fit_tensors(data, ctx)
        self.seen_vectors_ = s.cpu().numpy()
        self.clf_ = torch.nn.Linear(x.shape[1], len(s)).to(self.device_)

        def step(idx: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(self.clf_(x[idx]), y[idx])

        ctx.trainer(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                    weight_decay=self.weight_decay).fit(self, self.clf_, len(y), step)
        return self

    @torch.no_grad()
    def seen_probabilities(self, feats: np.ndarray) -> np.ndarray:
        logits = self.clf_(to_tensor(self.features(feats), self.device_)).float()
        return torch.softmax(logits, dim=-1).cpu().numpy()

    def convex_embedding(self, probs: np.ndarray) -> np.ndarray:
        """[N, k]: sum over the top-T seen classes of p * s, divided by the sum of those p."""
        t = max(1, min(self.top_t, probs.shape[1]))
        top = np.argsort(-probs, axis=1, kind="stable")[:, :t]
        w = np.take_along_axis(probs, top, 1)
        w = w / np.maximum(w.sum(1, keepdims=True), 1e-12)
        return np.einsum("nt,ntk->nk", w, self.seen_vectors_[top]).astype(np.float32)

    def embed(self, videos: Videos) -> np.ndarray:
        return np.concatenate([self.convex_embedding(self.seen_probabilities(f)) for f in chunks(videos)]) \
            if len(videos) else np.zeros((0, self.seen_vectors_.shape[1]), np.float32)

    def score(self, videos: Videos, classes: Sequence[ClassInfo]) -> np.ndarray:
        s = self.class_vectors(classes)
        return l2_rows(self.embed(videos)) @ s.T
