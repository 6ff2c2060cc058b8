"""``ale``: Attribute Label Embedding, Akata et al., "Label-Embedding for Attribute-Based
Classification", CVPR 2013 / "Label-Embedding for Image Classification", TPAMI 2016.

Reproduced: bilinear compatibility F(x, y) = theta(x)^T W phi(y) with L2-normalised class
embeddings, trained with the weighted approximate-ranking objective (WSABIE/WARP style):
for each clip, l(r) / r * sum_j max(0, Delta + F(x, j) - F(x, y)), where r is the number of
margin-violating classes and l(r) = sum_{i=1..r} 1/i (rank weights alpha_i = 1/i), Delta = 1
(0/1 loss). The rank r is counted exactly over all seen classes (there are few), not estimated
by sampling.

Differs: Adam mini-batches through the common trainer instead of plain SGD with early
stopping on a validation split; class embeddings are word vectors of the name (or text-encoder
vectors) rather than attributes.
"""
from __future__ import annotations

import torch

from zsar_bench import register_method
from zsar_bench.baselines import BilinearMethod


@register_method("ale")
class ALE(BilinearMethod):
    summary = "bilinear compatibility, weighted approximate rank loss (WARP weights 1/i, margin 1)"
    test_params = {"epochs": "5"}

    def __init__(self, semantic: str = "glove50", text_style: str = "name", margin: float = 1.0, lr: float = 1e-3,
                 epochs: int = 20, batch_size: int = 128, weight_decay: float = 1e-4):
        self.semantic = semantic
        self.text_style = text_style
        self.margin = margin
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay

    def pair_loss(self, scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        v = self.violations(scores, y, self.margin)
        rank = (v > 0).sum(1)  # number of violating classes
        steps = torch.arange(scores.shape[1] + 1, device=scores.device, dtype=torch.float32)
        harmonic = torch.cumsum(torch.where(steps > 0, 1.0 / steps.clamp(min=1), 0.0), 0)  # l(r), l(0) = 0
        weight = harmonic[rank] / rank.clamp(min=1)
        return (weight.detach() * v.float().sum(1)).mean()
