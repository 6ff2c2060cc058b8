"""``eszsl``: Embarrassingly Simple Zero-Shot Learning, Romera-Paredes and Torr, ICML 2015.

Reproduced: the closed form V = (X X^T + 10^alpha I)^-1 X Y S^T (S S^T + 10^gamma I)^-1, the
minimiser of ||X^T V S - Y||^2 + 10^alpha ||V S||^2 + 10^gamma ||X^T V||^2 + 10^(alpha+gamma) ||V||^2
with Y in {-1, 1}^{N x z} over the seen classes; score x^T V s_c. alpha = 3, gamma = 0 by default,
the values of ER's release (Chen and Huang, ICCV 2021). No epochs: two positive-definite solves
(Cholesky), no trainer.

Differs: clip features are standardised with the training mean and standard deviation (the
regularisers' scale depends on it); class vectors are L2-normalised word vectors of the name
(or text-encoder vectors via ``semantic``) instead of attributes.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from zsar_bench import register_method
from zsar_bench.baselines import SemanticBaseline, chunks, eszsl_solve, stack_scores
from zsar_bench.method import FitContext
from zsar_bench.types import ClassInfo, FitData, Videos


@register_method("eszsl")
class ESZSL(SemanticBaseline):
    summary = "closed form: ridge to the seen-class label matrix through class vectors (alpha=3, gamma=0)"

    def __init__(self, semantic: str = "glove50", text_style: str = "name", alpha: float = 3.0, gamma: float = 0.0):
        self.semantic = semantic
        self.text_style = text_style
        self.alpha = alpha  # lambda = 10^alpha (visual-side ridge)
        self.gamma = gamma  # gamma = 10^gamma (semantic-side ridge)

    def fit(self, data: FitData, ctx: FitContext) -> "ESZSL":
        ctx.seed_everything()
        x, y, s = self._fit_features(data)
        self.V_ = eszsl_solve(x, y, s, self.alpha, self.gamma).astype(np.float32)
        return self

    def score(self, videos: Videos, classes: Sequence[ClassInfo]) -> np.ndarray:
        s = self.class_vectors(classes)
        return stack_scores([(self.features(f) @ self.V_) @ s.T for f in chunks(videos)], len(classes))
