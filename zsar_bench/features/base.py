"""What every part of ``features/`` shares: the ``FeatureSet`` type, its error, the partition values, where a
set lives under the data root, and readers that turn a broken file into an error that says how to repair it.

Kept apart from the loader (``store.py``) so the back ends (``arrow_store.py``, ``synthetic.py``, the importers
and the extractor) depend on it and never on each other or on the loader."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..paths import InvalidNameError, check_name, data_root
from ..types import ConceptVocabulary, Videos
from ..errors import ZsarBenchError

TRAIN, TEST = 0, 1  # values of FeatureSet.partition


class FeatureStoreError(ZsarBenchError, RuntimeError):
    pass


@dataclass
class FeatureSet:
    dataset: str
    name: str  # what the user types: "synthetic", "tsm-bit", ...
    identity: str  # name plus generator/import version: never mixed across identities
    videos: Videos
    labels: np.ndarray  # [N] indices into the dataset's canonical class list
    partition: Optional[np.ndarray] = None  # [N] TRAIN/TEST; None = no held-out seen clips
    concepts: Optional[ConceptVocabulary] = None
    manifest: dict = field(default_factory=dict)

    @property
    def is_synthetic(self) -> bool:
        return self.name == "synthetic"

    def check_finite(self) -> None:
        bad = ~np.isfinite(self.videos.features).all(axis=1)
        if bad.any():
            ids = self.videos.video_ids[bad][:5] if self.videos.video_ids is not None else np.flatnonzero(bad)[:5]
            raise FeatureStoreError(
                f"{self.dataset}/{self.name}: {int(bad.sum())} clips have NaN or inf features (e.g. {list(ids)}); "
                "re-extract or re-import them (import-features rejects such rows)"
            )


def feature_root(dataset: str, name: str) -> Path:
    """``<data root>/features/<dataset>/<name>``; both names must be plain identifiers (never leave the root)."""
    try:
        check_name(dataset, "dataset")
        check_name(name, "feature set")
    except InvalidNameError as e:
        raise FeatureStoreError(str(e)) from None
    return data_root() / "features" / dataset / name


def _default_fix(path: Path) -> str:
    return (f"delete the folder {path.parent} and rerun to regenerate it (synthetic features), or re-import the "
            "feature set with `run_bench.py import-features ... --overwrite`")


def read_json_checked(path: str | Path, what: str, fix: Optional[str] = None) -> Any:
    """The parsed JSON of ``path``; a missing, unreadable or invalid file is a FeatureStoreError with ``fix``."""
    path = Path(path)
    fix = fix or _default_fix(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FeatureStoreError(f"{what}: {path} is missing; {fix}") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:  # JSONDecodeError is a ValueError
        raise FeatureStoreError(f"{what}: {path} cannot be read ({type(e).__name__}: {e}); {fix}") from None


def read_manifest(root: Path, dataset: str, name: str) -> dict:
    """``root/manifest.json`` as a dict, or a FeatureStoreError that says how to repair the set."""
    fix = (f"re-import it (`run_bench.py import-features {dataset} {name} --from ... --overwrite`) or delete "
           f"{root}")
    man = read_json_checked(root / "manifest.json", f"feature set {dataset}/{name}", fix)
    if not isinstance(man, dict):
        raise FeatureStoreError(f"feature set {dataset}/{name}: {root / 'manifest.json'} is not a JSON object; {fix}")
    return man
