"""``label``: the label-only text baseline.

Each class is its readable name through the (frozen) text encoder; clip features are projected by
one linear layer into that space and trained with a contrastive cross-entropy over the seen
classes (temperature 0.1); scores are cosine similarities. Text embeddings come from the on-disk
cache, so a rerun encodes nothing.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from zsar_bench import register_method
from zsar_bench.projection import ProjectionMethod
from zsar_bench.text.encoders import get_text_encoder
from zsar_bench.text.styles import class_texts
from zsar_bench.types import ClassInfo


@register_method("label")
class LabelBaseline(ProjectionMethod):
    summary = "class name through the text encoder; linear video projection; contrastive CE (t=0.1)"

    def __init__(self, text_encoder: str = "minilm", text_style: str = "name", lr: float = 1e-3, epochs: int = 10,
                 batch_size: int = 256, temperature: float = 0.1, weight_decay: float = 1e-4):
        self.text_encoder = text_encoder
        self.text_style = text_style
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.temperature = temperature
        self.weight_decay = weight_decay

    def class_embeddings(self, classes: Sequence[ClassInfo]) -> np.ndarray:
        return get_text_encoder(self.text_encoder).encode(class_texts(classes, self.text_style))
