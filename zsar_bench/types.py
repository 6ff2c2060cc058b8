"""Plain data containers passed between the harness and the methods."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np


@dataclass(frozen=True)
class ClassInfo:
    """One action class: official identifier, readable name, elaborative description."""

    identifier: str
    name: str
    description: Optional[str] = None
    # The name as a descriptions file writes it for class texts (ER's JSON: "cleaned_word"); None = ``name``.
    text_name: Optional[str] = None


@dataclass(frozen=True)
class ConceptVocabulary:
    """Object concepts a detector can output (ImageNet-21k lemmas, or the synthetic set)."""

    names: tuple[str, ...]
    definitions: tuple[str, ...]
    source: str = "unknown"

    def __post_init__(self):
        if len(self.names) != len(self.definitions):
            raise ValueError("concept names and definitions differ in length")

    def __len__(self) -> int:
        return len(self.names)

    def texts(self) -> list[str]:
        """ER's concept text form, "name: definition"."""
        return [f"{n}: {d}" if d else n for n, d in zip(self.names, self.definitions)]


@dataclass
class Videos:
    """Features of a set of clips. Row i of every array is clip i."""

    features: np.ndarray  # [N, D] float32
    concept_ids: Optional[np.ndarray] = None  # [N, K] int, best first
    concept_scores: Optional[np.ndarray] = None  # [N, K] float
    video_ids: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def subset(self, index: np.ndarray) -> "Videos":
        pick = lambda a: None if a is None else a[index]  # noqa: E731
        return Videos(self.features[index], pick(self.concept_ids), pick(self.concept_scores), pick(self.video_ids))


@dataclass
class LabelledVideos:
    """Videos with labels given as indices into ``classes`` (None: a test partition as a worker holds it, whose
    labels only the driver knows)."""

    videos: Videos
    labels: Optional[np.ndarray]
    classes: Sequence[ClassInfo]

    def __post_init__(self):
        if self.labels is not None and len(self.labels) != len(self.videos):
            raise ValueError("labels and videos differ in length")


@dataclass
class FitData:
    """Everything a method may see while it trains: seen classes and their training clips only."""

    train: LabelledVideos
    concepts: Optional[ConceptVocabulary] = None
    # The model the features came from, as the feature set's manifest records it ({"kind", "key", "identity"},
    # e.g. the CLIP checkpoint of CLIP video embeddings); None when it records none. A method that needs the
    # matching text tower compares ``key`` with its own model's and refuses a mismatch.
    model: Optional[dict] = None
    feature_dim: int = field(init=False)

    def __post_init__(self):
        self.feature_dim = int(self.train.videos.features.shape[1])
