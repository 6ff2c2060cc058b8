"""Load a feature set by (dataset, name).

``synthetic`` is generated on first use (see ``synthetic.py``); every other name is a real feature
set installed under ``<data root>/features/<dataset>/<name>/`` by ``run_bench.py import-features``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ..paths import data_root
from ..types import ConceptVocabulary, Videos

TRAIN, TEST = 0, 1  # values of FeatureSet.partition


class FeatureStoreError(RuntimeError):
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
    return data_root() / "features" / dataset / name


def list_feature_sets(dataset: Optional[str] = None) -> list[dict]:
    """Installed real feature sets plus the always-available synthetic one."""
    from ..datasets import DATASETS

    out = []
    for ds in DATASETS.names():
        if dataset and ds != dataset:
            continue
        out.append({"dataset": ds, "features": "synthetic", "installed": True, "source": "generated on first use",
                    "path": str(feature_root(ds, "synthetic"))})
        base = data_root() / "features" / ds
        if base.is_dir():
            for d in sorted(base.iterdir()):
                m = d / "manifest.json"
                if d.name != "synthetic" and m.is_file():
                    man = json.loads(m.read_text())
                    out.append({"dataset": ds, "features": d.name, "installed": True, "source": man.get("source", "?"),
                                "n_videos": man.get("n_videos"), "dim": man.get("dim"),
                                "size_mb": round(sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) / 2**20, 1),
                                "path": str(d)})
    return out


def load_feature_set(dataset: str, name: str = "synthetic") -> FeatureSet:
    if name == "synthetic":
        from .synthetic import load_or_generate

        fs = load_or_generate(dataset)
    else:
        root = feature_root(dataset, name)
        if not (root / "manifest.json").is_file():
            installed = [f["features"] for f in list_feature_sets(dataset)]
            raise FeatureStoreError(
                f"no feature set {name!r} for {dataset} under {root}.\n"
                f"Installed for {dataset}: {', '.join(installed)}.\n"
                f"To add one: `python run_bench.py import-features {dataset} {name} --from er|generic|hf PATH` "
                "(ER's released .npy/BiT files, a .npy/.npz matrix with a CSV/Parquet index, or a Hugging Face "
                f"dataset), or `python run_bench.py extract-features {dataset} {name} --videos DIR`. "
                "Use --data-root or $ZSAR_BENCH_DATA if your features live elsewhere."
            )
        from .arrow_store import load_arrow_feature_set

        fs = load_arrow_feature_set(dataset, name, root)
    fs.check_finite()
    return fs
