"""``devise``: DeViSE, Frome et al., "DeViSE: A Deep Visual-Semantic Embedding Model", NeurIPS 2013.

Reproduced: a linear map M from visual features into the (unit-norm) label-embedding space,
scored by the dot product t_c^T M v, trained with the hinge rank loss
sum_{j != y} max(0, margin - t_y^T M v + t_j^T M v) with margin 0.1; at test time the nearest
label vector (dot product with unit label vectors ranks as cosine does). Settings as ER's release
trained DeViSE (``zeroshot/configs/zsl_baseline_devise_config.yaml``): margin 0.1, dropout 0.5 on
clip features and class vectors during training, Adam, batch 128, 30 epochs, no weight decay,
gradient norm clipped at 10, exponential warmup then cosine.

Differs (from ER's release; ``fidelity`` lists each ingredient): lr 1e-3 instead of 1e-4; the
warmup lasts one epoch instead of 2000 iterations and the cosine spans the run; clip features are
standardised (ER: as stored); label vectors are the packaged GloVe 6B 50-d by default (ER: GloVe
42B 300-d, ``semantic=PATH``). From the paper: the visual side is the given clip feature, not a
fine-tuned CNN, and the label vectors are not the paper's own 500-/1000-d skip-gram model.
"""
from __future__ import annotations

import torch

from zsar_bench import register_method
from zsar_bench.models.semantic import ER_CONFIGS, BilinearMethod, er_bilinear_fidelity
from zsar_bench.method import Ingredient


@register_method("devise")
class DeViSE(BilinearMethod):
    summary = "bilinear compatibility, hinge rank loss (margin 0.1)"
    test_params = {"epochs": "5"}
    revision = 2  # 2: ER's exponential warmup (and the dropout parameter)
    fidelity = (
        Ingredient("loss", "hinge rank loss summed over every j != y: max(0, margin + F(x, j) - F(x, y))", "same",
                   True, "zeroshot/models/criterions.py (ClsContrastiveLoss, reduction: sum); Frome et al., "
                   "NeurIPS 2013"),
        Ingredient("margin", "0.1", "0.1", True, ER_CONFIGS.format("devise") + " (trainer.loss.margin: 0.1)",
                   "the paper's margin is 0.1 too"),
        *er_bilinear_fidelity("devise", "DeViSE's paper trains its own 500-/1000-d skip-gram vectors"),
    )

    def pair_loss(self, scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.violations(scores, y, self.margin).sum(1).mean()
