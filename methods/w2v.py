"""``w2v``: the word2vec attribute-embedding baseline.

Reproduces the word-vector "attribute" embedding used as the semantic-space baseline throughout
zero-shot action recognition since Xu, Hospedales and Gong, "Semantic embedding space for
zero-shot action recognition" (ICIP 2015), with class vectors as in Mikolov et al., "Distributed
representations of words and phrases" (NeurIPS 2013): each class is the mean word vector of its
readable name (L2-normalised); clip features are mapped into that space by one learned linear
layer trained with a contrastive cross-entropy over the seen classes (cosine / temperature 0.1);
a clip takes the nearest class by cosine.

Differs from the paper era: the default vectors are the packaged GloVe 6B 50-d
(``semantic=glove50``); GoogleNews word2vec 300-d is ``semantic=/path/GoogleNews-vectors-negative300.bin``.
The loss is the harness's contrastive CE rather than a ridge/SVR regression, so that ``w2v`` and
``label`` differ only in where class vectors come from (``semantic=text:minilm`` makes it
``label``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from zsar_bench import register_method
from zsar_bench.baselines import SemanticBaseline
from zsar_bench.projection import ProjectionMethod
from zsar_bench.types import ClassInfo


@register_method("w2v")
class Word2VecEmbedding(SemanticBaseline, ProjectionMethod):
    summary = "mean word vector of the class name; linear video projection; contrastive CE (t=0.1)"
    test_params = {"epochs": "5"}

    def __init__(self, semantic: str = "glove50", text_style: str = "name", lr: float = 1e-3, epochs: int = 10,
                 batch_size: int = 256, temperature: float = 0.1, weight_decay: float = 1e-4):
        self.semantic = semantic
        self.text_style = text_style
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.temperature = temperature
        self.weight_decay = weight_decay

    def class_embeddings(self, classes: Sequence[ClassInfo]) -> np.ndarray:
        return self.class_vectors(classes)
