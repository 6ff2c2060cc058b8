"""One run: (method, fold, seed, mode) -> fit -> scores -> metrics -> one record.

A run has two halves: ``execute_run`` (build the method, fit, score; where plugin code runs) returns
scores only, and ``finish_record`` computes the metrics from those scores and labels it derives
itself, so the code that computes and records metrics does not trust anything the method touched.
The fold's data comes from ``folds.py``; a run's facts (record key, config hash) are resolved by the driver first
(``resolve.py``); many runs are driven by ``sweep.run_specs``.

No leak channel: every partition a method sees (fit, validation, test) is handed over blinded:
rows in a seeded random order and video ids replaced by salted hashes that are fresh for every run
(``Blinder``, blinding.py). Scores are mapped back to the harness's row order before any metric is computed, so
a method can neither parse a label out of an id (``v_ApplyEyeMakeup_g01_c01``) nor out of the order
in which clips arrive.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import platform
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .. import __version__
from ..datasets import get_dataset
from ..features import FeatureSet, FeatureStoreError, load_feature_set
from ..measure.blinding import Blinder, score_checked  # noqa: F401  (score_checked: re-exported for plugins and tests)
from ..measure.folds import (FoldRows, check_method_mode, check_same_backbone, fewshot_k, fewshot_shortfall,
                             fold_rows)
from ..method import FitContext, Method, build_method
from ..measure.metrics import gzsl_metrics, topk_accuracy, zsl_metrics
from ..paths import data_root
from ..results.provenance import git_sha
from ..results.records import record_key
from ..splits import Fold, Protocol
from ..types import ClassInfo, FitData


def fewshot_skip_note(spec: "RunSpec", fs: FeatureSet) -> Optional[str]:
    """The one-line note for a few-shot run that ``run_specs`` skips (too few clips), or None."""
    k = fewshot_k(spec.mode)
    if k is None:
        return None
    ds = get_dataset(fs.dataset)
    short = fewshot_shortfall(fs, [ds.index[c] for c in spec.fold.unseen if c in ds.index], k, ds.classes())
    if not short:
        return None
    return f"note: skipping {spec.mode} on {spec.dataset}/{spec.protocol.protocol} fold {spec.fold.fold}: {short}"


def versions() -> dict:
    import torch

    return {"zsar_bench": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version()}


def texts_hash(classes: Sequence[ClassInfo]) -> str:
    blob = json.dumps([[c.identifier, c.name, c.description] for c in classes])
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def run_config_hash(method: Any, classes: Sequence[ClassInfo]) -> str:
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
    mode: str = "zsl"  # "zsl", "gzsl" (generalised ZSL, its own fit on 80% of the seen clips) or "fewshot-K"
    save_scores: Optional[str] = None  # folder for the run's test score matrix (Parquet; zsar_bench/results/scores.py)
    # ``--device`` as given, for jobs on cluster nodes that resolve it there (``auto`` finds the node's GPU);
    # None: run on ``device``.
    device_request: Optional[str] = None
    facts: Optional["RunFacts"] = None  # what the run is, resolved once by the driver (``resolve_runs``)
    # the method configuration's facts (``method_facts``), as planning received them from the method's worker
    method_facts: Optional[Any] = None  # a ``method_facts.MethodFacts``
    in_process: bool = False  # its method runs in the driver's process (inline, a notebook method): asked here
    # the fold's partitions as rows, without the test labels (``folds.FoldRows.for_worker``): attached by the
    # driver when it hands the run over (``with_rows``), so a worker never holds a test label
    rows: Optional[Any] = None
    # {dataset: ``features_content``} of the sets the driver made ``rows`` from: a worker that loads another
    # content (the set re-imported meanwhile) refuses the run instead of scoring rows of other clips
    contents: Optional[dict] = None


@dataclass(frozen=True)
class RunFacts:
    """What identifies and describes one run, computed once (``resolve_run``) and read by every later stage:
    the driver's skip check and record, the worker's pre-check. Only the worker builds the method to fit it."""

    key: tuple  # ``records.record_key`` of the run's record
    config_hash: str  # the method's parameters (and revision) plus the class texts it is given
    texts_hash: str  # the test dataset's class texts
    features_id: str  # the feature set's identity (``train->test`` for cross-dataset protocols)
    train_dataset: str
    params: dict
    revision: int


_feature_cache: dict[tuple, FeatureSet] = {}
HANDOFF_ENV = "ZSAR_BENCH_HANDOFF"  # in a sandboxed worker: the folder of the feature sets the driver handed over


def cached_feature_set(dataset: str, features: str, labels: bool = True) -> FeatureSet:
    """Feature sets loaded once per process (keyed by data root too, for tests that switch roots). ``labels=False``
    (what a worker uses): the set without its labels, the labelled one not kept in this process."""
    key = (str(data_root()), dataset, features, labels)
    if key not in _feature_cache and not labels and os.environ.get(HANDOFF_ENV):
        _feature_cache[key] = _handed_over(dataset, features)
    if key not in _feature_cache:
        fs = load_feature_set(dataset, features)
        _feature_cache[key] = fs if labels else dataclasses.replace(fs, labels=None)
    return _feature_cache[key]


def remember_feature_set(fs: FeatureSet) -> None:
    """``fs`` (loaded by the driver) as this process's labelled copy, so that every later use here reads the same
    content (``cached_feature_set``)."""
    _feature_cache[(str(data_root()), fs.dataset, fs.name, True)] = fs


def features_content(fs: FeatureSet) -> str:
    """What identifies a feature set's content: its identity, clip count and the checksums its manifest records."""
    blob = json.dumps({"identity": fs.identity, "n": len(fs.videos), "files": fs.manifest.get("files")},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _check_content(spec: RunSpec, fs: FeatureSet) -> None:
    want = (spec.contents or {}).get(fs.dataset)
    if want is not None and features_content(fs) != want:
        raise FeatureStoreError(f"feature set {fs.dataset}/{fs.name} changed since this sweep loaded it (imported or "
                                "generated again meanwhile); its rows would name other clips. Rerun the command")


def _handed_over(dataset: str, features: str) -> FeatureSet:
    """In a sandboxed worker (``executors/sandbox.py``): the feature set the driver handed over, without labels."""
    path = Path(os.environ[HANDOFF_ENV]) / f"{dataset}__{features}.pkl"
    try:
        with open(path, "rb") as f:
            return pickle.load(f)  # written by the driver for this sandbox (export_feature_set)
    except FileNotFoundError:
        raise FeatureStoreError(f"feature set {dataset}/{features} was not handed over to this sandbox") from None


def spec_cross_dataset(spec: RunSpec) -> Optional[str]:
    """The training dataset of a cross-dataset run; None otherwise (few-shot runs use the test dataset alone)."""
    tds = spec.protocol.train_dataset
    return None if not tds or tds == spec.dataset or fewshot_k(spec.mode) is not None else tds


def spec_train_side(spec: RunSpec, fs: FeatureSet,
                    labels: bool = True) -> tuple[Optional[FeatureSet], Optional[list[ClassInfo]]]:
    """(train feature set, train classes) of a cross-dataset protocol; (None, None) otherwise. ``labels=False``: the
    set without labels (a worker's)."""
    tds = spec_cross_dataset(spec)
    if tds is None:
        return None, None
    tfs = cached_feature_set(tds, spec.features, labels)
    check_same_backbone(tfs, fs)
    return tfs, get_dataset(tds).classes()


def spec_features_id(spec: RunSpec, fs: FeatureSet) -> str:
    tfs, _ = spec_train_side(spec, fs)
    return fs.identity if tfs is None or tfs.identity == fs.identity else f"{tfs.identity}->{fs.identity}"


def _all_classes(spec: RunSpec) -> list[ClassInfo]:
    classes = get_dataset(spec.dataset).classes(spec.descriptions)
    tds = spec_cross_dataset(spec)
    if tds:
        classes = get_dataset(tds).classes() + classes
    return classes


def _key(spec: RunSpec, config_hash: str, features_id: str) -> tuple:
    return record_key({
        "method": spec.method, "config_hash": config_hash, "dataset": spec.dataset, "features_id": features_id,
        "protocol": spec.protocol.protocol, "split_hash": spec.protocol.short_hash, "fold": spec.fold.fold,
        "seed": spec.seed, "mode": spec.mode,
    })


def fold_rows_of(spec: RunSpec, fs: FeatureSet) -> FoldRows:
    """The run's fold as rows with every label (the driver's: ``fs`` and the training side carry labels)."""
    tfs, tclasses = spec_train_side(spec, fs)
    classes = get_dataset(spec.dataset).classes(spec.descriptions)
    return fold_rows(fs, classes, spec.fold, spec.protocol, spec.mode, tfs, tclasses, seed=spec.seed)


def with_rows(spec: RunSpec, fs: FeatureSet) -> RunSpec:
    """``spec`` as the driver hands it to a worker: with its fold's rows, less the test labels, and the content of
    the feature sets they index."""
    tfs, _ = spec_train_side(spec, fs)
    contents = {s.dataset: features_content(s) for s in (fs, tfs) if s is not None}
    return replace(spec, rows=fold_rows_of(spec, fs).for_worker(), contents=contents)


def execute_run(spec: RunSpec, fs: FeatureSet) -> dict:
    """Build, fit and score one run: the half where method code runs. Returns the test scores (rows
    in the harness's order, columns = the fold's test candidates) and what fit reported."""
    check_method_mode(spec.method, spec.mode)
    method = build_method(spec.method, spec.method_args)
    if spec.rows is None:
        raise ValueError(f"run {spec.method} fold {spec.fold.fold}: handed over without its fold's rows; the driver "
                         "attaches them (runner.with_rows)")
    tfs = spec_train_side(spec, fs, labels=False)[0]
    for s in (fs, tfs):
        if s is not None:
            _check_content(spec, s)
    data = spec.rows.materialise(fs, tfs)  # test labels: None
    if method.needs_concepts and (fs.videos.concept_ids is None or fs.concepts is None):
        raise FeatureStoreError(f"method {spec.method!r} needs object concept detections, which feature set "
                                f"{fs.name!r} lacks; import them (import-features --objects) or pick another method")
    blinder = Blinder(spec.seed, spec.fold.fold, spec.mode)

    validate: Optional[Callable[[Method], float]] = None
    if data.val is not None:
        val = data.val

        def validate(m: Method) -> float:  # harness-owned model selection on validation classes
            return topk_accuracy(blinder.score(m, val, "val"), val.labels, 1)

    ctx = FitContext(device=spec.device, seed=spec.seed, progress=spec.progress, validate=validate)
    ctx.seed_run()  # the run's one seeding: nothing below draws from the global RNGs before fit (blinding has its own)
    t0 = time.perf_counter()
    method.fit(FitData(blinder.blind_labelled(data.fit.train, "fit"), concepts=data.fit.concepts, model=data.fit.model), ctx)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    scores = blinder.score(method, data.test, "test")
    eval_s = time.perf_counter() - t0
    info = {k: ctx.info.get(k) for k in ("best_epoch", "epochs", "selected_on")}
    return {"scores": scores, "train_s": train_s, "eval_s": eval_s, "info": info}


def finish_record(spec: RunSpec, fs: FeatureSet, out: dict) -> dict:
    """Metrics and the record of one run, from the scores ``execute_run`` returned, the run's facts and labels
    and counts derived here from the split and the feature set. No method is built here."""
    rows = fold_rows_of(spec, fs)
    scores = np.asarray(out["scores"], dtype=np.float64)
    expect = (len(rows.test.rows), len(rows.test.classes))
    if scores.shape != expect or not np.isfinite(scores).all():
        raise ValueError(f"method {spec.method!r}: returned scores of shape {scores.shape} (expected {expect}) "
                         "or with NaN/inf")
    if spec.mode == "gzsl":
        metrics = gzsl_metrics(scores, rows.test.labels, rows.unseen_columns)
    else:  # zsl and fewshot-K: top-1, top-5, mean class accuracy among the test classes
        metrics = zsl_metrics(scores, rows.test.labels)
    if spec.facts is None:
        raise ValueError(f"run {spec.method} fold {spec.fold.fold}: its facts are not resolved; the driver resolves "
                         "every run first (resolve.resolve_runs), and run_fold does it for a run made by hand")
    rec = _record(spec, fs, spec.facts, rows, metrics, out)
    if spec.save_scores:  # the test score matrix, keyed like the record (zsar_bench/results/scores.py)
        from ..results.scores import write_scores

        test = rows.test
        ids = fs.videos.video_ids[test.rows] if fs.videos.video_ids is not None else np.arange(len(test.rows))
        path = write_scores(spec.save_scores, rec, ids, [test.classes[i].identifier for i in test.labels],
                            [c.identifier for c in test.classes], scores)
        rec["scores_file"] = path.name
    return rec


def _record(spec: RunSpec, fs: FeatureSet, facts: RunFacts, rows: FoldRows, metrics: dict, out: dict) -> dict:
    """The run's record (``record_schema.Record``, validated: a field of the wrong type or a metric outside
    [0, 1] raises here) as the dict written to the records file. ``device``: where the job ran (a cluster node
    resolves ``--device auto`` itself)."""
    from ..results.record_schema import RECORD_VERSION, Record

    info = out.get("info") or {}
    return Record(
        record_version=RECORD_VERSION,
        method=spec.method,
        config_hash=facts.config_hash,
        params=facts.params,
        revision=facts.revision,
        mode=spec.mode,
        dataset=spec.dataset,
        train_dataset=facts.train_dataset,
        features=fs.name,
        features_id=facts.features_id,
        synthetic=fs.is_synthetic,
        protocol=spec.protocol.protocol,
        protocol_version=spec.protocol.version,
        split_hash=spec.protocol.short_hash,
        fold=spec.fold.fold,
        n_folds=len(spec.protocol.folds),
        seed=spec.seed,
        **{k: float(v) for k, v in metrics.items()},
        n_seen=len(spec.fold.seen), n_val=len(spec.fold.val), n_unseen=len(spec.fold.unseen),
        n_train_videos=len(rows.fit.rows), n_val_videos=len(rows.val.rows) if rows.val else 0,
        n_test_videos=len(rows.test.rows),
        train_s=round(float(out["train_s"]), 4), eval_s=round(float(out["eval_s"]), 4),
        best_epoch=info.get("best_epoch"), epochs=info.get("epochs"),
        selected_on=info.get("selected_on") or "closed form (no epochs)",
        descriptions=spec.descriptions_source, texts_hash=facts.texts_hash,
        device=out.get("device") or spec.device, versions=versions(), git_sha=git_sha(),
        time=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    ).to_row()


def headline(rec: dict) -> str:
    """A record's main figures for progress lines."""
    if rec.get("mode") == "gzsl":
        return f"U {100 * rec['gzsl_unseen']:.1f}  S {100 * rec['gzsl_seen']:.1f}  H {100 * rec['gzsl_h']:.1f}"
    return f"top1 {100 * rec['top1']:.1f}  top5 {100 * rec['top5']:.1f}"
