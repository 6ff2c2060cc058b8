"""One run: (method, fold, seed, mode) -> fit -> scores -> metrics -> one record.

A run has two halves: ``execute_run`` (build the method, fit, score; where plugin code runs) returns
scores only, and ``finish_record`` computes the metrics from those scores and labels it derives
itself, so the code that computes and records metrics does not trust anything the method touched.
The fold's data comes from ``folds.py``; many runs are driven by ``sweep.run_specs``.

No leak channel: every partition a method sees (fit, validation, test) is handed over blinded:
rows in a seeded random order and video ids replaced by salted hashes that are fresh for every run
(``Blinder``, blinding.py). Scores are mapped back to the harness's row order before any metric is computed, so
a method can neither parse a label out of an id (``v_ApplyEyeMakeup_g01_c01``) nor out of the order
in which clips arrive.
"""
from __future__ import annotations

import hashlib
import json
import platform
import time
from dataclasses import dataclass, replace
from typing import Callable, Optional, Sequence

import numpy as np

from .. import __version__
from ..datasets import get_dataset
from ..features import FeatureSet, FeatureStoreError, load_feature_set
from ..measure.blinding import Blinder, score_checked  # noqa: F401  (score_checked: re-exported for plugins and tests)
from ..measure.folds import (FoldData, check_method_mode, check_same_backbone, fewshot_k, fewshot_shortfall,
                             make_fold_data)
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
    mode: str = "zsl"  # "zsl", "gzsl" (generalised ZSL, its own fit on 80% of the seen clips) or "fewshot-K"
    save_scores: Optional[str] = None  # folder for the run's test score matrix (Parquet; zsar_bench/results/scores.py)
    # ``--device`` as given, for jobs on cluster nodes that resolve it there (``auto`` finds the node's GPU);
    # None: run on ``device``.
    device_request: Optional[str] = None
    facts: Optional["RunFacts"] = None  # what the run is, resolved once by the driver (``resolve_runs``)


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


def cached_feature_set(dataset: str, features: str) -> FeatureSet:
    """Feature sets loaded once per process (keyed by data root too, for tests that switch roots)."""
    key = (str(data_root()), dataset, features)
    if key not in _feature_cache:
        _feature_cache[key] = load_feature_set(dataset, features)
    return _feature_cache[key]


def spec_cross_dataset(spec: RunSpec) -> Optional[str]:
    """The training dataset of a cross-dataset run; None otherwise (few-shot runs use the test dataset alone)."""
    tds = spec.protocol.train_dataset
    return None if not tds or tds == spec.dataset or fewshot_k(spec.mode) is not None else tds


def spec_train_side(spec: RunSpec, fs: FeatureSet) -> tuple[Optional[FeatureSet], Optional[list[ClassInfo]]]:
    """(train feature set, train classes) of a cross-dataset protocol; (None, None) otherwise."""
    tds = spec_cross_dataset(spec)
    if tds is None:
        return None, None
    tfs = cached_feature_set(tds, spec.features)
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


def resolve_run(spec: RunSpec, fs: FeatureSet, method: Optional[Method] = None) -> RunFacts:
    """The run's facts (``RunFacts``), from ``method`` (a built configuration of ``spec.method``; built here
    when not given)."""
    m = method if method is not None else build_method(spec.method, spec.method_args)
    features_id = spec_features_id(spec, fs)
    config_hash = run_config_hash(m, _all_classes(spec))
    return RunFacts(key=_key(spec, config_hash, features_id), config_hash=config_hash,
                    texts_hash=texts_hash(get_dataset(spec.dataset).classes(spec.descriptions)),
                    features_id=features_id, train_dataset=spec_cross_dataset(spec) or spec.dataset,
                    params=m.get_params(), revision=m.revision)


def resolve_runs(specs: Sequence[RunSpec], fs_for: Callable[[RunSpec], FeatureSet],
                 methods: Optional[dict] = None) -> list[RunSpec]:
    """Each run with its facts (``RunSpec.facts``), a method configuration built once however many runs share
    it. ``methods``: a dict that receives those configurations, keyed by ``method_config_key``."""
    methods = {} if methods is None else methods
    out = []
    for s in specs:
        if s.facts is None:
            ck = method_config_key(s)
            if ck not in methods:
                methods[ck] = build_method(s.method, s.method_args)
            s = replace(s, facts=resolve_run(s, fs_for(s), methods[ck]))
        out.append(s)
    return out


def method_config_key(spec: RunSpec) -> tuple[str, str]:
    """(method, its arguments): runs with equal keys share one method configuration."""
    return spec.method, json.dumps(spec.method_args, sort_keys=True, default=str)


def facts_of(spec: RunSpec, fs: FeatureSet) -> RunFacts:
    """The run's facts: those resolved by the driver, else resolved now (a run started outside ``run_specs``)."""
    return spec.facts if spec.facts is not None else resolve_run(spec, fs)


def spec_key(spec: RunSpec, features_id: str) -> tuple:
    """The record key of ``spec`` under ``features_id``, without loading its feature set (for comparing plans, as
    the tests do); a sweep uses the key its driver resolved (``resolve_runs``)."""
    m = build_method(spec.method, spec.method_args)
    return _key(spec, run_config_hash(m, _all_classes(spec)), features_id)


def _key(spec: RunSpec, config_hash: str, features_id: str) -> tuple:
    return record_key({
        "method": spec.method, "config_hash": config_hash, "dataset": spec.dataset, "features_id": features_id,
        "protocol": spec.protocol.protocol, "split_hash": spec.protocol.short_hash, "fold": spec.fold.fold,
        "seed": spec.seed, "mode": spec.mode,
    })


def _fold_data(spec: RunSpec, fs: FeatureSet) -> FoldData:
    tfs, tclasses = spec_train_side(spec, fs)
    classes = get_dataset(spec.dataset).classes(spec.descriptions)
    return make_fold_data(fs, classes, spec.fold, spec.protocol, spec.mode, tfs, tclasses, seed=spec.seed)


def execute_run(spec: RunSpec, fs: FeatureSet) -> dict:
    """Build, fit and score one run: the half where method code runs. Returns the test scores (rows
    in the harness's order, columns = the fold's test candidates) and what fit reported."""
    from ..runtime import seed_everything

    check_method_mode(spec.method, spec.mode)
    method = build_method(spec.method, spec.method_args)
    data = _fold_data(spec, fs)
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
    seed_everything(spec.seed)
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
    data = _fold_data(spec, fs)
    scores = np.asarray(out["scores"], dtype=np.float64)
    expect = (len(data.test.videos), len(data.test.classes))
    if scores.shape != expect or not np.isfinite(scores).all():
        raise ValueError(f"method {spec.method!r}: returned scores of shape {scores.shape} (expected {expect}) "
                         "or with NaN/inf")
    if spec.mode == "gzsl":
        metrics = gzsl_metrics(scores, data.test.labels, data.unseen_columns)
    else:  # zsl and fewshot-K: top-1, top-5, mean class accuracy among the test classes
        metrics = zsl_metrics(scores, data.test.labels)
    rec = _record(spec, fs, facts_of(spec, fs), data, metrics, out)
    if spec.save_scores:  # the test score matrix, keyed like the record (zsar_bench/results/scores.py)
        from ..results.scores import write_scores

        test = data.test
        path = write_scores(spec.save_scores, rec, test.videos.video_ids if test.videos.video_ids is not None
                            else np.arange(len(test.videos)), [test.classes[i].identifier for i in test.labels],
                            [c.identifier for c in test.classes], scores)
        rec["scores_file"] = path.name
    return rec


def _record(spec: RunSpec, fs: FeatureSet, facts: RunFacts, data: FoldData, metrics: dict, out: dict) -> dict:
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
        n_train_videos=len(data.fit.train.videos), n_val_videos=len(data.val.videos) if data.val else 0,
        n_test_videos=len(data.test.videos),
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


def run_fold(spec: RunSpec, fs: FeatureSet) -> dict:
    """One run in this process: ``execute_run`` then ``finish_record``."""
    return finish_record(spec, fs, execute_run(spec, fs))
