"""``objects2action``: Jain, van Gemert, Mensink and Snoek, "Objects2action: Classifying and localizing
actions without any video example", ICCV 2015 (arXiv 1510.06939).

No training on actions. A clip is described by its object detections p(y | v) over an object
vocabulary; an action class z and an object y are related by the affinity s(y, z) of their word
embeddings (cosine of the class name's and the object name's vectors). A clip's score for class z is

    C(v, z) = sum over y in V_v and y in Y_z of p(y | v) s(y, z)

with two sparsifications: Y_z, the ``objects_per_class`` objects with the highest affinity to z (the
"most responsive objects per action"), and V_v, the clip's ``objects_per_video`` highest-scoring
detections. The clip takes the class with the highest score.

What was read: the paper's abstract (arXiv 1510.06939: a skip-gram embedding spanned by thousands of
object categories, a convex combination of action-object affinities, multi-word descriptions, the
automated selection of the most responsive objects per action); the formulation as implemented by
Berkan Demirel's public MATLAB reimplementation (github peiguangjing/objects2action, commit 3f933cb:
``actionRepresentation.m`` keeps each action's top-``actionSparsity`` object affinities of
objectVectors' * actionVectors, ``videoRepresentation.m`` each video's top-``videoSparsity`` object
scores, ``evalModel.m`` scores p * g'; ``Manager.m`` sets 100 objects per action and 10 per video when its
``applySparsity`` switch is on, and the full vocabulary of 15,293 objects when off, its default). The
paper's own method section and tables were not available here, so 100 and 10 come from that
reimplementation, not from the paper.

Differs: the object vectors and class vectors are mean GloVe 6B 50-d word vectors (``semantic``;
the paper: the authors' skip-gram model, with Fisher word vectors for multi-word names in the
reimplementation); the objects are the feature set's concept vocabulary and its stored top-K
detections (ER's BiT ImageNet-21k top-20 on real features, 400 everyday concepts with 10 detections
on the synthetic world; the paper: 15,293 ImageNet objects scored on the video's frames). The score
is not divided by the sum of the kept probabilities (a per-clip constant, which changes no clip's
ranking of classes).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from zsar_bench import Method, register_method
from zsar_bench.method import Ingredient, ParamError
from zsar_bench.models.semantic import SCORE_CHUNK, TEXT_PREFIX, class_semantics, l2_rows
from zsar_bench.text.wordvectors import NAME_PREPS, load_word_vectors, name_vector
from zsar_bench.types import ClassInfo, ConceptVocabulary, FitData, Videos

PAPER = "Jain et al., ICCV 2015 (arXiv 1510.06939)"
REIMPL = "github peiguangjing/objects2action @ 3f933cb (B. Demirel's MATLAB reimplementation)"


def object_vectors(concepts: ConceptVocabulary, semantic: str) -> np.ndarray:
    """[V, k] L2-normalised mean word vectors of the concept names (every word of every synonym of a
    "lemma, lemma" line); a concept without a known word gets a zero row, hence zero affinity."""
    kv = load_word_vectors(semantic)
    return l2_rows(np.stack([name_vector(kv, n)[0] for n in concepts.names]))


def sparse_affinity(obj: np.ndarray, cls: np.ndarray, top_t: int) -> np.ndarray:
    """[V, C] cosine affinities object x class with every column zero except its ``top_t`` largest
    entries (ties: the lower object index first)."""
    aff = (obj @ cls.T).astype(np.float64)
    t = max(1, min(int(top_t), aff.shape[0]))
    keep = np.argsort(-aff, axis=0, kind="stable")[:t]
    cols = np.broadcast_to(np.arange(aff.shape[1]), keep.shape)
    out = np.zeros_like(aff)
    out[keep, cols] = aff[keep, cols]
    return out


def video_objects(ids: np.ndarray, scores: np.ndarray, top_v: int) -> tuple[np.ndarray, np.ndarray]:
    """Each clip's ``top_v`` highest-scoring detections: (concept ids [N, k], scores [N, k])."""
    k = max(1, min(int(top_v), ids.shape[1]))
    order = np.argsort(-np.asarray(scores, dtype=np.float64), axis=1, kind="stable")[:, :k]
    return np.take_along_axis(np.asarray(ids), order, 1), np.take_along_axis(np.asarray(scores, np.float64), order, 1)


def objects2action_scores(ids: np.ndarray, scores: np.ndarray, affinity: np.ndarray, top_v: int) -> np.ndarray:
    """[N, C]: sum over each clip's top-``top_v`` detections of score x sparse affinity to each class."""
    top_ids, top_sc = video_objects(ids, scores, top_v)
    return np.einsum("nk,nkc->nc", top_sc, affinity[top_ids])


@register_method("objects2action")
class Objects2Action(Method):
    summary = ("training-free: detected objects' scores x word-vector affinity of object and class name, "
               "top-100 objects per class, top-10 detections per clip")
    needs_concepts = True
    learns = False  # no training on actions, as zero-shot clip: never marked tied with the best
    fidelity = (
        Ingredient("score", "C(v, z) = sum over objects y of p(y | v) s(y, z): the clip's object probabilities "
                   "weighted by the object-action affinities (a convex combination of affinities)",
                   "same, over the feature set's stored detections and their scores", True,
                   f"{PAPER} (abstract); {REIMPL} evalModel.m (p * g')"),
        Ingredient("affinity", "s(y, z) = similarity of the object's and the action's word embeddings",
                   "cosine of the L2-normalised mean word vectors of the object name and the class name", True,
                   f"{REIMPL} actionRepresentation.m (objectVectors' * actionVectors)"),
        Ingredient("objects per action", "the most responsive objects per action only: 100 in the reimplementation "
                   "(applySparsity on; all 15,293 when off, its default)",
                   "objects_per_class=100: each class keeps its 100 highest affinities, the rest are 0", True,
                   f"{PAPER} (abstract); {REIMPL} Manager.m (actionSparsity = 100)"),
        Ingredient("objects per video", "each video's 10 highest object scores (applySparsity on)",
                   "objects_per_video=10 of the clip's stored top-K detections (K = 10 synthetic, 20 for ER's BiT)",
                   True, f"{REIMPL} Manager.m, videoRepresentation.m (videoSparsity = 10)"),
        Ingredient("word embedding", "the authors' skip-gram (word2vec) model", "semantic=glove50 (packaged GloVe "
                   "6B 50-d) by default; semantic=PATH loads any word2vec/GloVe file", False,
                   f"{PAPER} (abstract: a skip-gram model)",
                   "the authors' model is not packaged; the offline default is the 50-d GloVe"),
        Ingredient("multi-word names", "Fisher word vectors (FWV) of a name's words; the average (AWV) as "
                   "the alternative", "the average of the words' vectors (AWV), for objects (every word of every "
                   "synonym of a lemma line) and for classes", False,
                   f"{PAPER} (abstract: multiple-word descriptions); {REIMPL} Manager.m (useFisherEncoding)",
                   "FWV needs a mixture model fitted on the embedding's vocabulary, not part of this harness"),
        Ingredient("object vocabulary", "15,293 ImageNet object categories scored on the video's frames",
                   "the feature set's concept vocabulary and stored top-K detections: BiT ImageNet-21k on ER's "
                   "features, 400 everyday concepts on the synthetic world", False, f"{REIMPL} Manager.m (15293)",
                   "the harness reads the detections a feature set ships; it runs no object classifier"),
    )

    def __init__(self, semantic: str = "glove50", name_prep: str = "none", objects_per_class: int = 100,
                 objects_per_video: int = 10):
        self.semantic = semantic
        self.name_prep = name_prep
        self.objects_per_class = objects_per_class
        self.objects_per_video = objects_per_video

    def validate_params(self) -> None:
        super().validate_params()
        if self.semantic.startswith(TEXT_PREFIX):
            raise ParamError(f"--method-args {self.name}.semantic={self.semantic}: objects2action relates object "
                             "and class names through word vectors; give glove50 or a word-vector file")
        if self.name_prep not in NAME_PREPS:
            raise ParamError(f"--method-args {self.name}.name_prep={self.name_prep}: choose one of "
                             f"{', '.join(NAME_PREPS)}")
        for k in ("objects_per_class", "objects_per_video"):
            if getattr(self, k) < 1:
                raise ParamError(f"--method-args {self.name}.{k}={getattr(self, k)}: must be at least 1")

    def fit(self, data: FitData, ctx) -> "Objects2Action":
        """Reads the concept vocabulary only: no clip and no class of the fold is used."""
        if data.concepts is None or data.train.videos.concept_ids is None:
            raise ValueError("objects2action needs object concept detections in the feature set")
        self.object_vectors_ = object_vectors(data.concepts, self.semantic)
        ctx.info["selected_on"] = "no training"
        return self

    def score(self, videos: Videos, classes: Sequence[ClassInfo]) -> np.ndarray:
        if videos.concept_ids is None or videos.concept_scores is None:
            raise ValueError("objects2action needs each clip's concept ids and scores")
        cls = class_semantics(classes, self.semantic, "name", self.name_prep)
        aff = sparse_affinity(self.object_vectors_, cls, self.objects_per_class)
        parts = [objects2action_scores(videos.concept_ids[i:i + SCORE_CHUNK], videos.concept_scores[i:i + SCORE_CHUNK],
                                       aff, self.objects_per_video) for i in range(0, len(videos), SCORE_CHUNK)]
        return (np.concatenate(parts) if parts else np.zeros((0, len(classes)))).astype(np.float32)
