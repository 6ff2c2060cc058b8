"""``devise``: DeViSE, Frome et al., "DeViSE: A Deep Visual-Semantic Embedding Model", NeurIPS 2013.

Reproduced: a linear map M from visual features into the (unit-norm) label-embedding space,
scored by the dot product t_c^T M v, trained with the hinge rank loss
sum_{j != y} max(0, margin - t_y^T M v + t_j^T M v) with margin 0.1; at test time the nearest
label vector (dot product with unit label vectors ranks as cosine does).

Differs: the visual side is the given clip feature (standardised), not a fine-tuned CNN; label
vectors are the packaged GloVe 50-d (or any word vectors / the text encoder via ``semantic``)
instead of the paper's own 500-/1000-d skip-gram model; Adam through the common trainer.
"""
from __future__ import annotations

import torch

from zsar_bench import register_method
from zsar_bench.baselines import BilinearMethod


@register_method("devise")
class DeViSE(BilinearMethod):
    summary = "bilinear compatibility, hinge rank loss (margin 0.1)"
    test_params = {"epochs": "5"}

    def __init__(self, semantic: str = "glove50", text_style: str = "name", margin: float = 0.1, lr: float = 1e-3,
                 epochs: int = 20, batch_size: int = 128, weight_decay: float = 1e-4):
        self.semantic = semantic
        self.text_style = text_style
        self.margin = margin
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay

    def pair_loss(self, scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.violations(scores, y, self.margin).sum(1).mean()
