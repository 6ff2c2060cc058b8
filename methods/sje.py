"""``sje``: Structured Joint Embedding, Akata et al., "Evaluation of Output Embeddings for
Fine-Grained Image Classification", CVPR 2015.

Reproduced: bilinear compatibility F(x, y) = theta(x)^T W phi(y) with L2-normalised output
embeddings, trained with the structured SVM (multiclass hinge) loss
max(0, max_{j} [Delta(y, j) + F(x, j)] - F(x, y)), Delta = 1 for j != y.

Differs: Adam mini-batches through the common trainer instead of SGD with early stopping; a
single output embedding (word vectors of the name, or the text encoder via ``semantic``) rather
than the paper's combination of several.
"""
from __future__ import annotations

import torch

from zsar_bench import register_method
from zsar_bench.baselines import BilinearMethod


@register_method("sje")
class SJE(BilinearMethod):
    summary = "bilinear compatibility, structured SVM loss (margin 1)"
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
        return self.violations(scores, y, self.margin).amax(1).mean()
