"""Runs methods over the folds of a protocol and turns each (method, fold, seed) into one record.

The runner alone splits the data: ``fit`` receives seen classes and their training clips only;
validation classes are touched only by the harness's validation callback (model selection), and
unseen classes and their clips only at test time.
"""
from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Optional, Sequence

import numpy as np

from . import __version__
from .datasets import get_dataset
from .features import FeatureSet, load_feature_set
from .features.store import TRAIN
from .method import FitContext, Method, build_method
from .metrics import gzsl_metrics, topk_accuracy, zsl_metrics
from .paths import REPO_ROOT, data_root, set_data_root
from .records import RecordStore, record_key
from .splits import Fold, Protocol
from .types import ClassInfo, FitData, LabelledVideos, Videos


@dataclass
class FoldData:
    fit: FitData
    val: Optional[LabelledVideos]
    test: LabelledVideos
    gzsl: Optional[LabelledVideos]  # candidates = seen + unseen; None without held-out seen clips
    gzsl_unseen_columns: Optional[np.ndarray]


def _labelled(fs: FeatureSet, mask: np.ndarray, class_idx: Sequence[int], classes: Sequence[ClassInfo]) -> LabelledVideos:
    remap = {c: i for i, c in enumerate(class_idx)}
    rows = np.flatnonzero(mask)
    labels = np.array([remap[int(c)] for c in fs.labels[rows]], dtype=np.int64)
    return LabelledVideos(fs.videos.subset(rows), labels, [classes[i] for i in class_idx])


def make_fold_data(fs: FeatureSet, classes: Sequence[ClassInfo], fold: Fold) -> FoldData:
    ds = get_dataset(fs.dataset)
    seen = [ds.index[c] for c in fold.seen]
    val = [ds.index[c] for c in fold.val]
    unseen = [ds.index[c] for c in fold.unseen]
    in_seen = np.isin(fs.labels, seen)
    train_mask = in_seen & (fs.partition == TRAIN) if fs.partition is not None else in_seen
    empty = [classes[i].identifier for i in seen + val + unseen if not (fs.labels == i).any()]
    if empty:
        raise ValueError(f"{fs.dataset}/{fs.name}: no clips for classes {empty[:10]} named by the split; "
                         "import their features or use a split without them")
    fit = FitData(_labelled(fs, train_mask, seen, classes), concepts=fs.concepts)
    val_data = _labelled(fs, np.isin(fs.labels, val), val, classes) if val else None
    test = _labelled(fs, np.isin(fs.labels, unseen), unseen, classes)
    gzsl = cols = None
    if fs.partition is not None:
        gmask = (in_seen & (fs.partition != TRAIN)) | np.isin(fs.labels, unseen)
        gzsl = _labelled(fs, gmask, seen + unseen, classes)
        cols = np.array([False] * len(seen) + [True] * len(unseen))
    return FoldData(fit, val_data, test, gzsl, cols)


def score_checked(method: Method, data: LabelledVideos) -> np.ndarray:
    scores = np.asarray(method.score(data.videos, list(data.classes)), dtype=np.float64)
    expect = (len(data.videos), len(data.classes))
    if scores.shape != expect:
        raise ValueError(f"method {method.name!r}: score() returned shape {scores.shape}, expected {expect}")
    if not np.isfinite(scores).all():
        raise ValueError(f"method {method.name!r}: score() returned NaN or inf")
    return scores


@lru_cache(maxsize=1)
def git_sha() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5)
        sha = out.stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return (sha + ("-dirty" if dirty else "")) if sha else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def versions() -> dict:
    import torch

    return {"zsar_bench": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


def texts_hash(classes: Sequence[ClassInfo]) -> str:
    blob = json.dumps([[c.identifier, c.name, c.description] for c in classes])
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def run_config_hash(method: Method, classes: Sequence[ClassInfo]) -> str:
    """The record's config hash: the method's parameters plus the class texts it was given."""
    return method.config_hash({"texts": texts_hash(classes)})


@dataclass
class RunSpec:
    method: str
    method_args: dict
    dataset: str
    features: str
    protocol: Protocol
    fold: Fold
    seed: int
    device: str = "cpu"
    descriptions: Optional[dict] = None  # identifier -> description override
    descriptions_source: str = "builtin"
    progress: bool = False
    data_root: Optional[str] = None
    extra: dict = field(default_factory=dict)


def spec_key(spec: RunSpec, features_id: str) -> tuple:
    m = build_method(spec.method, spec.method_args)
    classes = get_dataset(spec.dataset).classes(spec.descriptions)
    return record_key({
        "method": spec.method, "config_hash": run_config_hash(m, classes), "dataset": spec.dataset,
        "features_id": features_id, "protocol": spec.protocol.protocol, "split_hash": spec.protocol.short_hash,
        "fold": spec.fold.fold, "seed": spec.seed,
    })


def run_fold(spec: RunSpec, fs: FeatureSet) -> dict:
    from .trainer import seed_everything

    ds = get_dataset(spec.dataset)
    classes = ds.classes(spec.descriptions)
    method = build_method(spec.method, spec.method_args)
    data = make_fold_data(fs, classes, spec.fold)
    if method.needs_concepts and (fs.videos.concept_ids is None or fs.concepts is None):
        raise ValueError(f"method {spec.method!r} needs object concept detections, which feature set "
                         f"{fs.name!r} lacks; import them (import-features --objects) or pick another method")

    validate: Optional[Callable[[Method], float]] = None
    if data.val is not None:
        val = data.val

        def validate(m: Method) -> float:  # harness-owned model selection on validation classes
            return topk_accuracy(score_checked(m, val), val.labels, 1)

    ctx = FitContext(device=spec.device, seed=spec.seed, progress=spec.progress, validate=validate)
    seed_everything(spec.seed)
    t0 = time.perf_counter()
    method.fit(data.fit, ctx)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    metrics = zsl_metrics(score_checked(method, data.test), data.test.labels)
    if data.gzsl is not None:
        metrics.update(gzsl_metrics(score_checked(method, data.gzsl), data.gzsl.labels, data.gzsl_unseen_columns))
    eval_s = time.perf_counter() - t0
    return {
        "method": spec.method,
        "config_hash": run_config_hash(method, classes),
        "params": method.get_params(),
        "dataset": spec.dataset,
        "features": fs.name,
        "features_id": fs.identity,
        "synthetic": fs.is_synthetic,
        "protocol": spec.protocol.protocol,
        "protocol_version": spec.protocol.version,
        "split_hash": spec.protocol.short_hash,
        "fold": spec.fold.fold,
        "n_folds": len(spec.protocol.folds),
        "seed": spec.seed,
        **{k: float(v) for k, v in metrics.items()},
        "n_seen": len(spec.fold.seen), "n_val": len(spec.fold.val), "n_unseen": len(spec.fold.unseen),
        "n_train_videos": len(data.fit.train.videos), "n_val_videos": len(data.val.videos) if data.val else 0,
        "n_test_videos": len(data.test.videos),
        "n_gzsl_videos": len(data.gzsl.videos) if data.gzsl is not None else 0,
        "train_s": round(train_s, 4), "eval_s": round(eval_s, 4),
        "best_epoch": ctx.info.get("best_epoch"), "epochs": ctx.info.get("epochs"),
        "selected_on": ctx.info.get("selected_on", "closed form (no epochs)"),
        "descriptions": spec.descriptions_source, "texts_hash": texts_hash(classes),
        "device": spec.device, "versions": versions(), "git_sha": git_sha(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


_worker_fs: dict = {}


def _worker(spec: RunSpec) -> dict:
    """Process-pool entry: one fold, features cached per worker process."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    set_data_root(spec.data_root)
    from .plugins import load_plugins

    load_plugins()
    key = (spec.dataset, spec.features)
    if key not in _worker_fs:
        _worker_fs[key] = load_feature_set(spec.dataset, spec.features)
    return run_fold(spec, _worker_fs[key])


def run_specs(specs: list[RunSpec], store: RecordStore, jobs: int = 1, overwrite: bool = False,
              log: Callable[[str], None] = print) -> tuple[list[dict], int]:
    """Run what is not in the store yet; append each record as soon as its fold finishes.

    Returns (records of the runs asked for, number of runs skipped as already done)."""
    feature_sets: dict[tuple, FeatureSet] = {}

    def fs_for(spec: RunSpec) -> FeatureSet:
        key = (spec.dataset, spec.features)
        if key not in feature_sets:
            feature_sets[key] = load_feature_set(spec.dataset, spec.features)
        return feature_sets[key]

    existing = {record_key(r): r for r in store.read()}
    keys = [spec_key(s, fs_for(s).identity) for s in specs]
    if overwrite:
        store.remove(keys)
        existing = {}
    todo = [(s, k) for s, k in zip(specs, keys) if k not in existing]
    skipped = len(specs) - len(todo)
    if skipped:
        log(f"skipping {skipped} run(s) already in {store.path} (use --overwrite to redo them)")
    done: dict[tuple, dict] = {k: existing[k] for k in keys if k in existing}
    n = len(todo)

    def finish(i: int, spec: RunSpec, rec: dict) -> None:
        store.append(rec)
        done[record_key(rec)] = rec
        log(f"[{i}/{n}] {spec.method} {spec.dataset} {spec.protocol.protocol} fold {spec.fold.fold} seed {spec.seed}: "
            f"top1 {100 * rec['top1']:.1f}  top5 {100 * rec['top5']:.1f}  ({rec['train_s']:.1f}s train, "
            f"{rec['eval_s']:.2f}s eval)")

    if jobs <= 1 or n <= 1:
        for i, (spec, _) in enumerate(todo, 1):
            finish(i, spec, run_fold(spec, fs_for(spec)))
    else:
        for spec, _ in todo:
            spec.data_root = str(data_root())
            fs_for(spec)  # generate synthetic features once, before the workers race for them
        import multiprocessing as mp

        with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
            futs = {pool.submit(_worker, spec): spec for spec, _ in todo}
            for i, fut in enumerate(as_completed(futs), 1):
                finish(i, futs[fut], fut.result())
    return [done[k] for k in keys if k in done], skipped
