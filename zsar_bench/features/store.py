"""Load a feature set by (dataset, name).

``synthetic`` is generated on first use (see ``synthetic.py``), and so are the opt-in larger synthetic Kinetics
sets ``synthetic-full`` and ``synthetic-x<N>`` (``synthetic_full.py``); every other name is a real feature
set installed under ``<data root>/features/<dataset>/<name>/`` by ``run_bench.py import-features``.
"""
from __future__ import annotations

import json
import zipfile
from typing import Optional

from ..paths import data_root, loop_message, symlink_loop
from .base import KILLED_TMP_RE, FeatureSet, FeatureStoreError, feature_root, read_manifest
from .synthetic_full import is_sized, load_or_generate_sized


def synthetic_on_disk(dataset: str) -> bool:
    """Whether ``dataset``'s default synthetic set is generated in this data root yet (else first use makes it)."""
    syn = feature_root(dataset, "synthetic")
    return syn.is_dir() and any(not KILLED_TMP_RE.search(f.relative_to(syn).parts[0]) for f in syn.rglob("*.npy"))


def list_feature_sets(dataset: Optional[str] = None) -> list[dict]:
    """Installed real feature sets plus the always-available synthetic one (``installed``: generated on disk in
    this data root yet; it is generated on first use otherwise)."""
    from ..datasets import DATASETS

    out = []
    for ds in DATASETS.names():
        if dataset and ds != dataset:
            continue
        syn = feature_root(ds, "synthetic")
        on_disk = synthetic_on_disk(ds)
        out.append({"dataset": ds, "features": "synthetic", "installed": on_disk,
                    "source": "generated (synthetic world)" if on_disk else "not on disk yet: generated on first use",
                    "path": str(syn)})
        base = data_root() / "features" / ds
        if base.is_dir():
            for d in sorted(base.iterdir()):
                if d.name.startswith(".") or KILLED_TMP_RE.search(d.name):  # .staging, .extract: not feature sets
                    continue
                m = d / "manifest.json"
                if d.name != "synthetic" and symlink_loop(m) is not None:
                    out.append({"dataset": ds, "features": d.name, "installed": False,
                                "source": f"BROKEN: a symlink loop at {symlink_loop(m)}; remove it", "path": str(d)})
                elif d.name != "synthetic" and m.is_file():
                    try:
                        man = read_manifest(d, ds, d.name)
                    except FeatureStoreError:  # listed as broken, never a crash of `list features`
                        out.append({"dataset": ds, "features": d.name, "installed": False,
                                    "source": "BROKEN: manifest.json unreadable; re-import with --overwrite or "
                                              "delete the folder", "path": str(d)})
                        continue
                    out.append({"dataset": ds, "features": d.name, "installed": True, "source": man.get("source", "?"),
                                "n_videos": man.get("n_videos"), "dim": man.get("dim"),
                                "size_mb": round(sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) / 2**20, 1),
                                "path": str(d)})
    return out


def load_feature_set(dataset: str, name: str = "synthetic", verify: bool = False) -> FeatureSet:
    """The feature set ``name`` of ``dataset``, its files checked first (``integrity``: a sample of blocks, and the
    full sha256 when no recent full check vouches for them); ``verify``: hash every file in full now."""
    from .integrity import full_verification

    with full_verification(verify):
        return _load_feature_set(dataset, name)


def _load_feature_set(dataset: str, name: str) -> FeatureSet:
    root = feature_root(dataset, name)  # validates both names: nothing outside the data root is read
    if name == "synthetic" or is_sized(name):
        from .synthetic import load_or_generate

        try:
            fs = load_or_generate(dataset) if name == "synthetic" else load_or_generate_sized(dataset, name)
        except (OSError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as e:  # a damaged cache
            from ..paths import DataRootError, check_data_root

            try:  # an unusable data root is the clearer message
                check_data_root()
            except DataRootError as de:
                raise FeatureStoreError(str(de)) from None
            raise FeatureStoreError(f"synthetic features for {dataset} under {root} cannot be read "
                                    f"({type(e).__name__}: {e}); delete that folder and rerun to regenerate "
                                    f"them: rm -r {root}") from None
    else:
        if not (root / "manifest.json").is_file() and (root.parent / ".staging").is_dir():
            from .arrow_store import clean_stale_staging

            clean_stale_staging(root.parent)  # an --overwrite killed between its renames: the old set comes back
        if not (root / "manifest.json").is_file():
            link = symlink_loop(root / "manifest.json")
            if link is not None:  # neither there nor missing: name the link, not an import that would fail on it
                raise FeatureStoreError(f"feature set {dataset}/{name}: "
                                        f"{loop_message('its path', root / 'manifest.json', link)}, then re-import "
                                        f"it (run_bench.py import-features {dataset} {name} --from ... --overwrite)")
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
