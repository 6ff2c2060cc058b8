"""``eszsl``: Embarrassingly Simple Zero-Shot Learning, Romera-Paredes and Torr, ICML 2015.

Reproduced: the closed form V = (X X^T + 10^alpha I)^-1 X Y S^T (S S^T + 10^gamma I)^-1, the
minimiser of ||X^T V S - Y||^2 + 10^alpha ||V S||^2 + 10^gamma ||X^T V||^2 + 10^(alpha+gamma) ||V||^2
with Y in {-1, 1}^{N x z} over the seen classes; score x^T V s_c. alpha = 3, gamma = 0 by default,
the values of ER's release (Chen and Huang, ICCV 2021; ``zeroshot/models/baselines.py``
ESZSLModelHelper, whose config, ``zsl_baseline_eszsl_config.yaml``, sets no model options). No
epochs: two positive-definite solves (Cholesky; ER's release uses pseudo-inverses, the same
matrices here since both are positive definite), no trainer.

Differs: clip features are standardised with the training mean and standard deviation (ER: as
stored; the regularisers' scale depends on it); class vectors are L2-normalised word vectors of
the name, the packaged GloVe 6B 50-d by default (ER: GloVe 42B 300-d, ``semantic=PATH``; the
paper: attributes), or text-encoder vectors via ``semantic``. ER's release fills Y with 0 and 1
where the paper has -1 and 1; with centred features (X 1 = 0) the paper's Y gives exactly twice
ER's V, so the rankings are the same.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from zsar_bench import register_method
from zsar_bench.models.semantic import ER_FEATURES, SemanticBaseline, chunks, er_class_vectors, eszsl_solve, stack_scores
from zsar_bench.method import FitContext, Ingredient, ParamError
from zsar_bench.types import ClassInfo, FitData, Videos


@register_method("eszsl")
class ESZSL(SemanticBaseline):
    summary = "closed form: ridge to the seen-class label matrix through class vectors (alpha=3, gamma=0)"
    fidelity = (
        Ingredient("closed form", "V = (X X^T + 10^alpha I)^-1 X Y S^T (S S^T + 10^gamma I)^-1; score x^T V s_c",
                   "same, solved with two Cholesky solves (ER's release: pseudo-inverses of the same positive "
                   "definite matrices)", True, "zeroshot/models/baselines.py (ESZSLModelHelper.closed_form_optimization); "
                   "Romera-Paredes and Torr, ICML 2015"),
        Ingredient("alpha", "3 (lambda = 10^3)", "3", True,
                   "zeroshot/models/baselines.py (closed_form_optimization default; the config sets no model options)"),
        Ingredient("gamma", "0 (gamma = 10^0)", "0", True,
                   "zeroshot/models/baselines.py (closed_form_optimization default)"),
        Ingredient("target matrix Y", "ER's release: 1 for the clip's class, 0 elsewhere; the paper: 1 and -1",
                   "1 and -1 (the paper's)", True, "zeroshot/models/baselines.py (ESZSLModelHelper.train)",
                   "with centred features X 1 = 0, so the paper's Y gives exactly twice ER's V: the same rankings"),
        er_class_vectors("the paper embeds attributes"),
        ER_FEATURES,
    )

    def __init__(self, semantic: str = "glove50", text_style: str = "name", alpha: float = 3.0, gamma: float = 0.0):
        self.semantic = semantic
        self.text_style = text_style
        self.alpha = alpha  # lambda = 10^alpha (visual-side ridge)
        self.gamma = gamma  # gamma = 10^gamma (semantic-side ridge)

    def validate_params(self) -> None:
        super().validate_params()
        for k in ("alpha", "gamma"):  # exponents: 10^400 is inf, and the solve returns NaN scores mid-run
            v = getattr(self, k)
            if not -12 <= v <= 12:
                raise ParamError(f"--method-args eszsl.{k}={v}: an exponent (the ridge weight is 10^{k}); give -12 "
                                 "to 12 (the paper searched -3 to 3)")

    def fit(self, data: FitData, ctx: FitContext) -> "ESZSL":
        x, y, s = self._fit_features(data)
        self.V_ = eszsl_solve(x, y, s, self.alpha, self.gamma).astype(np.float32)
        return self

    def score(self, videos: Videos, classes: Sequence[ClassInfo]) -> np.ndarray:
        s = self.class_vectors(classes)
        return stack_scores([(self.features(f) @ self.V_) @ s.T for f in chunks(videos)], len(classes))
