"""``w2v``: the word2vec attribute-embedding baseline.

Reproduces the word-vector "attribute" embedding used as the semantic-space baseline throughout
zero-shot action recognition since Xu, Hospedales and Gong, "Semantic embedding space for
zero-shot action recognition" (ICIP 2015), with class vectors as in Mikolov et al., "Distributed
representations of words and phrases" (NeurIPS 2013): each class is the mean word vector of its
readable name (L2-normalised); clip features are mapped into that space by one learned linear
layer trained with a contrastive cross-entropy over the seen classes (cosine / temperature 0.1);
a clip takes the nearest class by cosine.

``name_prep=e2e`` builds the class vectors as Brattoli et al., "Rethinking Zero-shot Video
Classification: End-to-end Training for Realistic Applications" (CVPR 2020, E2E) did: their hand
table of replacement words for names whose words word2vec lacks, their stop words dropped, verbs
reduced to their WordNet base form (``zsar_bench.text.wordvectors.e2e_name_words``). With
``semantic=/path/GoogleNews-vectors-negative300.bin`` that is E2E's class embedding.

Differs: the default vectors are the packaged GloVe 6B 50-d (``semantic=glove50``, offline);
GoogleNews word2vec 300-d (E2E, the paper era) or GloVe 42B 300-d text (ER) are a path away
(``semantic=PATH``). The default ``name_prep=none`` uses the project's tokeniser and its own small
table, not E2E's. With ``name_prep=e2e`` E2E's stop list is applied to every dataset (E2E applied it
to Kinetics and ActivityNet names only; in UCF101 this drops "on" from "writing on board"), and
words the vectors lack are skipped rather than failing. The loss is the harness's contrastive CE
rather than a regression into the word-vector space, so that ``w2v`` and ``label`` differ only in
where class vectors come from (``semantic=text:minilm`` makes it ``label``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from zsar_bench import register_method
from zsar_bench.models.semantic import SemanticBaseline
from zsar_bench.method import Ingredient
from zsar_bench.models.projection import ProjectionMethod
from zsar_bench.types import ClassInfo

E2E = "Brattoli et al., CVPR 2020 (E2E); release auxiliary/auxiliary_word2vec.py"


@register_method("w2v")
class Word2VecEmbedding(SemanticBaseline, ProjectionMethod):
    summary = "mean word vector of the class name; linear video projection; contrastive CE (t=0.1)"
    test_params = {"epochs": "5"}
    hash_omit_if_default = {"name_prep": "none"}  # added after the first records: "none" is the behaviour before it
    fidelity = (
        Ingredient("word vectors", "word2vec skip-gram 300-d trained on Google News (GoogleNews-vectors-negative300.bin)",
                   "semantic=glove50 (packaged GloVe 6B 50-d) by default; semantic=PATH loads any 300-d word2vec "
                   "binary or word2vec/GloVe text file", False,
                   f"Xu et al., ICIP 2015; Mikolov et al., NeurIPS 2013; {E2E} (load_word2vec)",
                   "the 3.6 GB GoogleNews file is not packaged; the offline default is the 50-d GloVe"),
        Ingredient("class vector", "mean of the vectors of the class name's words, L2-normalised",
                   "same (words missing from the vectors are skipped; a name with none gets a zero vector)", True,
                   f"{E2E} (classes2embedding)",
                   "E2E's lookup fails on a missing word; its table exists so that none is missing"),
        Ingredient("class-name words", "E2E: hand table of replacements (48 rows for UCF101, HMDB51, Kinetics, "
                   "ActivityNet), else stop words (a, an, the, of, and, or, at, on, in, do, using, with) dropped, "
                   "cut at '(not', parentheses removed, WordNet verbs lemmatised",
                   "name_prep=none (default): the name split on non-letters, the project's own table; "
                   "name_prep=e2e: E2E's table (zsar_bench/data/wordvectors/e2e_class_words.tsv) and steps",
                   False, f"{E2E} (one_class2embed_* functions, verbs2basicform)",
                   "default kept for comparability with earlier records; with name_prep=e2e the one difference is "
                   "that the stop list applies to every dataset (E2E: Kinetics, ActivityNet), which changes "
                   "UCF101 'writing on board' only"),
        Ingredient("visual-to-semantic map", "a regression from the visual features into the word-vector space, "
                   "nearest class vector at test", "one linear layer on centred features, contrastive CE over the "
                   "seen classes (cosine / 0.1), nearest class by cosine", False, "Xu et al., ICIP 2015",
                   "the harness's common loss, so w2v and label differ only in their class vectors"),
    )

    def __init__(self, semantic: str = "glove50", text_style: str = "name", lr: float = 1e-3, epochs: int = 10,
                 batch_size: int = 256, temperature: float = 0.1, weight_decay: float = 1e-4, name_prep: str = "none"):
        self.semantic = semantic
        self.text_style = text_style
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.temperature = temperature
        self.weight_decay = weight_decay
        self.name_prep = name_prep

    def class_embeddings(self, classes: Sequence[ClassInfo]) -> np.ndarray:
        return self.class_vectors(classes)
