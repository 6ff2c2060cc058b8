"""Runs methods over the folds of a protocol and turns each (method, fold, seed, mode) into one record.

The runner alone splits the data: ``fit`` receives seen classes and their training clips only;
validation classes are touched only by the harness's validation callback (model selection), and
unseen classes and their clips only at test time.

No leak channel: every partition a method sees (fit, validation, test) is handed over blinded:
rows in a seeded random order and video ids replaced by salted hashes that are fresh for every run
(``Blinder``). Scores are mapped back to the harness's row order before any metric is computed, so
a method can neither parse a label out of an id (``v_ApplyEyeMakeup_g01_c01``) nor out of the order
in which clips arrive.

A run has two halves: ``execute_run`` (build the method, fit, score; where plugin code runs) returns
scores only, and ``finish_record`` computes the metrics from those scores and labels it derives
itself, so the code that computes and records metrics does not trust anything the method touched.

Training sets follow the papers: zero-shot runs (mode ``zsl``) train on every clip of the seen
classes, except where the protocol itself names training videos (``train_partition``: Kinetics-ZSAR
trains on the Kinetics-400 training videos when the feature set records that partition).
Generalised ZSL (mode ``gzsl``, Xian et al. 2018) is an evaluation mode of its own: 20% of each
seen class's clips (a fixed draw per feature set) are held out, the model is fit on the rest, and
the held-out seen clips plus all unseen clips are classified among seen + unseen classes.
Cross-dataset protocols (``train_dataset`` in the split file, e.g. ``k400-full``) fit on another
dataset's feature set of the same backbone and test on this dataset's classes.
Few-shot (mode ``fewshot-K``, ER's Table 5): the fold's test (unseen) classes only. K clips of each
are drawn for training (``fewshot_draw``: seeded by feature set identity, dataset, fold, seed and K,
so ``--seeds 0,1,2`` are three draws), the rest of each class's clips are evaluated among those
classes; no validation classes (fixed schedule). A K that leaves some test class fewer than
``MIN_EVAL`` clips to evaluate is skipped for that fold (``FewShotSkip``; ``run_specs`` prints one
note). With a cross-dataset protocol a few-shot run uses the test dataset alone (its unseen classes):
the few-shot fit never needs the training dataset.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import re
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Optional, Sequence

import numpy as np

from . import __version__
from .datasets import get_dataset
from .features import FeatureSet, load_feature_set
from .features.store import TRAIN, FeatureStoreError
from .method import FitContext, Method, build_method
from .metrics import gzsl_metrics, topk_accuracy, zsl_metrics
from .paths import REPO_ROOT, data_root, set_data_root
from .records import RecordStore, record_key
from .splits import Fold, Protocol, SplitError
from .types import ClassInfo, FitData, LabelledVideos, Videos

MODES = ("zsl", "gzsl", "fewshot")  # mode kinds; a few-shot run's mode is "fewshot-K" (K clips per class)
GZSL_HOLDOUT = 0.2  # Xian et al.: fraction of each seen class's clips held out for generalised ZSL
FEWSHOT_PREFIX = "fewshot-"
MIN_EVAL = 5  # few-shot: every test class keeps at least this many clips to evaluate, or that K is skipped
_FEWSHOT_RE = re.compile(r"fewshot-([1-9][0-9]*)")


def fewshot_mode(k: int) -> str:
    """The mode of a K-shot run, e.g. ``fewshot-5``."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"few-shot K must be a positive integer, got {k!r}")
    return f"{FEWSHOT_PREFIX}{int(k)}"


def fewshot_k(mode: str) -> Optional[int]:
    """K of a ``fewshot-K`` mode; None for any other mode."""
    m = _FEWSHOT_RE.fullmatch(mode) if isinstance(mode, str) else None
    return int(m.group(1)) if m else None


def mode_kind(mode: str) -> str:
    """``zsl``, ``gzsl`` or ``fewshot`` (for ``fewshot-K``); ValueError for anything else."""
    if mode in ("zsl", "gzsl"):
        return mode
    if fewshot_k(mode) is not None:
        return "fewshot"
    raise ValueError(f"unknown evaluation mode {mode!r}; choose zsl, gzsl or fewshot-K (K a positive integer, "
                     "e.g. fewshot-5)")


def check_method_mode(method: str, mode: str) -> None:
    """ValueError unless registered method ``method`` supports ``mode`` (``Method.modes``)."""
    from .method import METHODS

    kind = mode_kind(mode)
    supported = tuple(getattr(METHODS.get(method), "modes", ("zsl", "gzsl", "fewshot")))
    if kind not in supported:
        hint = ": pass --fewshot K[,K...], e.g. --fewshot 1,2,5" if supported == ("fewshot",) else ""
        raise ValueError(f"method {method!r} does not support {kind} evaluation (mode {mode}); it supports "
                         f"{', '.join(supported)}{hint}")


class FewShotSkip(SplitError):
    """A K-shot fold in which some test class has fewer than K + ``MIN_EVAL`` clips: skipped, not an error."""


@dataclass
class FoldData:
    fit: FitData
    val: Optional[LabelledVideos]
    test: LabelledVideos  # zsl: unseen clips among unseen classes; gzsl: held-out seen + unseen clips
    unseen_columns: Optional[np.ndarray] = None  # gzsl: bool mask over test.classes; None for zsl
    mode: str = "zsl"


def _labelled(fs: FeatureSet, mask: np.ndarray, class_idx: Sequence[int], classes: Sequence[ClassInfo]) -> LabelledVideos:
    remap = np.full(max(class_idx) + 1 if len(class_idx) else 1, -1, dtype=np.int64)
    remap[np.asarray(class_idx, dtype=np.int64)] = np.arange(len(class_idx))
    rows = np.flatnonzero(mask)
    return LabelledVideos(fs.videos.subset(rows), remap[fs.labels[rows]], [classes[i] for i in class_idx])


def _seeded_rng(*parts) -> np.random.Generator:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def gzsl_holdout(fs: FeatureSet) -> np.ndarray:
    """bool [N]: a fixed 20% of every class's clips (at least one), the same draw for every fold."""
    rng = _seeded_rng("gzsl-holdout", fs.dataset, fs.identity)
    held = np.zeros(len(fs.labels), bool)
    for c in np.unique(fs.labels):
        rows = np.flatnonzero(fs.labels == c)
        if len(rows) < 2:
            continue
        held[rng.choice(rows, max(1, int(round(GZSL_HOLDOUT * len(rows)))), replace=False)] = True
    return held


def fewshot_shortfall(fs: FeatureSet, class_idx: Sequence[int], k: int,
                      classes: Optional[Sequence[ClassInfo]] = None) -> Optional[str]:
    """Why a K-shot draw cannot be made over ``class_idx`` (a class with fewer than K + MIN_EVAL clips), or None."""
    counts = np.bincount(fs.labels, minlength=max(class_idx, default=0) + 1)[np.asarray(class_idx, dtype=np.int64)]
    if not len(counts) or counts.min() >= k + MIN_EVAL:
        return None
    i = int(np.argmin(counts))
    name = classes[class_idx[i]].identifier if classes is not None else f"#{class_idx[i]}"
    return (f"{k}-shot needs {k + MIN_EVAL} clips in every test class ({k} to train + MIN_EVAL={MIN_EVAL} to "
            f"evaluate); {int((counts < k + MIN_EVAL).sum())} class(es) have fewer (least: {name!r}, {int(counts[i])})")


def fewshot_draw(fs: FeatureSet, class_idx: Sequence[int], fold: int, seed: int, k: int) -> np.ndarray:
    """bool [N]: K clips of each class in ``class_idx``, drawn without replacement. The draw is a function of
    the feature set identity, dataset, fold, seed and K only (different seeds, different draws)."""
    rng = _seeded_rng("fewshot", fs.identity, fs.dataset, fold, seed, k)
    train = np.zeros(len(fs.labels), bool)
    for c in class_idx:
        rows = np.flatnonzero(fs.labels == c)
        train[rng.choice(rows, k, replace=False)] = True
    return train


def check_same_backbone(train_fs: FeatureSet, fs: FeatureSet) -> None:
    """Cross-dataset runs need both feature sets from one backbone (one synthetic world, or one extractor)."""
    if train_fs.is_synthetic or fs.is_synthetic:
        if train_fs.identity != fs.identity:
            raise FeatureStoreError(
                f"cross-dataset run mixes feature sets {train_fs.dataset}/{train_fs.identity} and "
                f"{fs.dataset}/{fs.identity}: train and test features must come from the same synthetic world "
                "or the same backbone; pass one --features name that exists for both datasets")
        return
    a, b = train_fs.manifest.get("backbone"), fs.manifest.get("backbone")
    if not a or not b or a != b:
        raise FeatureStoreError(
            f"cross-dataset run: {train_fs.dataset}/{train_fs.name} has backbone {a!r} and {fs.dataset}/{fs.name} "
            f"has {b!r}; train and test features must come from the same backbone. Re-import one of them with "
            "--backbone NAME (the same for both) if they really are, or extract both with one backbone")


def make_fold_data(fs: FeatureSet, classes: Sequence[ClassInfo], fold: Fold, protocol: Optional[Protocol] = None,
                   mode: str = "zsl", train_fs: Optional[FeatureSet] = None,
                   train_classes: Optional[Sequence[ClassInfo]] = None, seed: int = 0) -> FoldData:
    """The data of one fold, in the harness's own row order (``execute_run`` blinds it for the method).

    ``train_fs``/``train_classes``: the training dataset of a cross-dataset protocol (seen and
    validation classes are its classes); default: ``fs`` itself. ``seed``: the K-shot draw of a
    ``fewshot-K`` mode (other modes ignore it). Raises ``FewShotSkip`` for a K that leaves some test
    class fewer than ``MIN_EVAL`` clips to evaluate."""
    kind = mode_kind(mode)
    if kind == "fewshot":
        return _fewshot_fold_data(fs, classes, fold, fewshot_k(mode), seed, mode)
    cross = train_fs is not None and train_fs is not fs
    tfs = train_fs if cross else fs
    tclasses = train_classes if cross else classes
    if cross and mode == "gzsl":
        raise SplitError("generalised ZSL needs seen and unseen classes from one dataset; "
                         "a cross-dataset protocol has no held-out seen clips")
    tds, ds = get_dataset(tfs.dataset), get_dataset(fs.dataset)
    seen = [tds.index[c] for c in fold.seen]
    val = [tds.index[c] for c in fold.val]
    unseen = [ds.index[c] for c in fold.unseen]
    empty = ([tclasses[i].identifier for i in seen + val if not (tfs.labels == i).any()]
             + [classes[i].identifier for i in unseen if not (fs.labels == i).any()])
    if empty:
        raise FeatureStoreError(f"{fs.dataset}/{fs.name}: no clips for classes {empty[:10]} named by the split; "
                                "import their features or use a split without them")
    in_seen = np.isin(tfs.labels, seen)
    train_mask = in_seen.copy()
    if protocol is not None and protocol.train_partition and tfs.partition is not None:
        train_mask &= tfs.partition == TRAIN
    in_unseen = np.isin(fs.labels, unseen)
    if mode == "gzsl":
        held = gzsl_holdout(fs)
        train_mask &= ~held
        test = _labelled(fs, (in_seen & held) | in_unseen, seen + unseen, classes)
        cols = np.array([False] * len(seen) + [True] * len(unseen))
    else:
        test = _labelled(fs, in_unseen, unseen, classes)
        cols = None
    fit = FitData(_labelled(tfs, train_mask, seen, tclasses), concepts=tfs.concepts)
    val_data = _labelled(tfs, np.isin(tfs.labels, val), val, tclasses) if val else None
    return FoldData(fit, val_data, test, cols, mode)


def _fewshot_fold_data(fs: FeatureSet, classes: Sequence[ClassInfo], fold: Fold, k: int, seed: int,
                       mode: str) -> FoldData:
    """K-shot: fit on K drawn clips of each test class, evaluate the rest among the test classes; no
    seen or validation class is touched (the training dataset of a cross-dataset protocol neither)."""
    ds = get_dataset(fs.dataset)
    unseen = [ds.index[c] for c in fold.unseen]
    empty = [classes[i].identifier for i in unseen if not (fs.labels == i).any()]
    if empty:
        raise FeatureStoreError(f"{fs.dataset}/{fs.name}: no clips for classes {empty[:10]} named by the split; "
                                "import their features or use a split without them")
    short = fewshot_shortfall(fs, unseen, k, classes)
    if short:
        raise FewShotSkip(f"{fs.dataset} fold {fold.fold}: {short}")
    train = fewshot_draw(fs, unseen, fold.fold, seed, k)
    in_unseen = np.isin(fs.labels, unseen)
    fit = FitData(_labelled(fs, train, unseen, classes), concepts=fs.concepts)
    return FoldData(fit, None, _labelled(fs, in_unseen & ~train, unseen, classes), None, mode)


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


class Blinder:
    """Hands a method opaque, per-run video ids and rows in a seeded random order; maps scores back."""

    def __init__(self, *seed_parts):
        self._salt = secrets.token_hex(16)  # fresh for every run: ids cannot be matched across runs
        self._seed_parts = seed_parts

    def blind(self, videos: Videos, part: str) -> tuple[Videos, np.ndarray]:
        """(videos as the method sees them, order): row i of the result is row order[i] of ``videos``."""
        order = _seeded_rng("blind", part, *self._seed_parts).permutation(len(videos))
        out = videos.subset(order)
        src = videos.video_ids[order] if videos.video_ids is not None else order
        out.video_ids = np.array([hashlib.blake2b(f"{self._salt}|{v}".encode(), digest_size=8).hexdigest()
                                  for v in src.tolist()])
        return out, order

    def blind_labelled(self, data: LabelledVideos, part: str) -> LabelledVideos:
        videos, order = self.blind(data.videos, part)
        return LabelledVideos(videos, data.labels[order], list(data.classes))

    def score(self, method: Method, data: LabelledVideos, part: str) -> np.ndarray:
        """The method's scores for ``data``, rows in ``data``'s own order."""
        videos, order = self.blind(data.videos, part)
        s = score_checked(method, LabelledVideos(videos, data.labels[order], data.classes))
        out = np.empty_like(s)
        out[order] = s
        return out


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
    mode: str = "zsl"  # "zsl", "gzsl" (generalised ZSL, its own fit on 80% of the seen clips) or "fewshot-K"
    save_scores: Optional[str] = None  # folder for the run's test score matrix (Parquet; zsar_bench/scores.py)


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


def spec_key(spec: RunSpec, features_id: str) -> tuple:
    m = build_method(spec.method, spec.method_args)
    return record_key({
        "method": spec.method, "config_hash": run_config_hash(m, _all_classes(spec)), "dataset": spec.dataset,
        "features_id": features_id, "protocol": spec.protocol.protocol, "split_hash": spec.protocol.short_hash,
        "fold": spec.fold.fold, "seed": spec.seed, "mode": spec.mode,
    })


def _fold_data(spec: RunSpec, fs: FeatureSet) -> FoldData:
    tfs, tclasses = spec_train_side(spec, fs)
    classes = get_dataset(spec.dataset).classes(spec.descriptions)
    return make_fold_data(fs, classes, spec.fold, spec.protocol, spec.mode, tfs, tclasses, seed=spec.seed)


def execute_run(spec: RunSpec, fs: FeatureSet) -> dict:
    """Build, fit and score one run: the half where method code runs. Returns the test scores (rows
    in the harness's order, columns = the fold's test candidates) and what fit reported."""
    from .trainer import seed_everything

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
    method.fit(FitData(blinder.blind_labelled(data.fit.train, "fit"), concepts=data.fit.concepts), ctx)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    scores = blinder.score(method, data.test, "test")
    eval_s = time.perf_counter() - t0
    info = {k: ctx.info.get(k) for k in ("best_epoch", "epochs", "selected_on")}
    return {"scores": scores, "train_s": train_s, "eval_s": eval_s, "info": info,
            "params": method.get_params()}


def finish_record(spec: RunSpec, fs: FeatureSet, out: dict) -> dict:
    """Metrics and the record of one run, from the scores ``execute_run`` returned and labels and
    counts derived here from the split and the feature set."""
    data = _fold_data(spec, fs)
    method = build_method(spec.method, spec.method_args)
    scores = np.asarray(out["scores"], dtype=np.float64)
    expect = (len(data.test.videos), len(data.test.classes))
    if scores.shape != expect or not np.isfinite(scores).all():
        raise ValueError(f"method {spec.method!r}: returned scores of shape {scores.shape} (expected {expect}) "
                         "or with NaN/inf")
    if spec.mode == "gzsl":
        metrics = gzsl_metrics(scores, data.test.labels, data.unseen_columns)
    else:  # zsl and fewshot-K: top-1, top-5, mean class accuracy among the test classes
        metrics = zsl_metrics(scores, data.test.labels)
    info = out.get("info") or {}
    classes = get_dataset(spec.dataset).classes(spec.descriptions)
    rec = _record(spec, fs, method, data, metrics, out, info, classes)
    if spec.save_scores:  # the test score matrix, keyed like the record (zsar_bench/scores.py)
        from .scores import write_scores

        test = data.test
        path = write_scores(spec.save_scores, rec, test.videos.video_ids if test.videos.video_ids is not None
                            else np.arange(len(test.videos)), [test.classes[i].identifier for i in test.labels],
                            [c.identifier for c in test.classes], scores)
        rec["scores_file"] = path.name
    return rec


def _record(spec: RunSpec, fs: FeatureSet, method: Method, data: FoldData, metrics: dict, out: dict, info: dict,
            classes: list) -> dict:
    """The run's record (``record_schema.Record``, validated: a field of the wrong type or a metric outside
    [0, 1] raises here) as the dict written to the records file."""
    from .record_schema import RECORD_VERSION, Record

    tds = spec_cross_dataset(spec)
    return Record(
        record_version=RECORD_VERSION,
        method=spec.method,
        config_hash=run_config_hash(method, _all_classes(spec)),
        params=method.get_params(),
        revision=method.revision,
        mode=spec.mode,
        dataset=spec.dataset,
        train_dataset=tds or spec.dataset,
        features=fs.name,
        features_id=spec_features_id(spec, fs),
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
        descriptions=spec.descriptions_source, texts_hash=texts_hash(classes),
        device=spec.device, versions=versions(), git_sha=git_sha(),
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


def _worker_setup(data_root_path: Optional[str], threads: int) -> None:
    """A worker process before its first run: ``threads`` torch and BLAS threads (``--threads``), the data
    root, the method plugins."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(max(1, threads))
    threadpool_limits(max(1, threads))
    set_data_root(data_root_path)
    from .plugins import load_plugins

    load_plugins()


def _run_batch(specs: Sequence[RunSpec], records_path: Optional[str] = None,
               resolve_device_here: bool = False) -> list:
    """One job: ``execute_run`` for each spec, in order. Returns a list aligned with ``specs``: the output of
    ``execute_run`` (plus ``device`` and ``torch_threads``), None for a run another command recorded meanwhile
    (checked just before it starts, when ``records_path`` is given), or a ``RunFailure``, after which the
    batch stops (the list is then shorter). Features are cached per process. ``resolve_device_here``: a
    job on a cluster node resolves the device asked for (``spec.extra["device_request"]``, e.g. auto) there."""
    import torch

    from .executors import RunFailure

    store = RecordStore(records_path) if records_path is not None else None
    outs: list = []
    for spec in specs:
        try:
            if resolve_device_here and spec.extra.get("device_request"):
                from .trainer import resolve_device

                spec.device = resolve_device(spec.extra["device_request"])
            fs = cached_feature_set(spec.dataset, spec.features)
            if store is not None and spec_key(spec, spec_features_id(spec, fs)) in store.keys():
                outs.append(None)
                continue
            out = execute_run(spec, fs)
            out["device"] = spec.device
            out["torch_threads"] = torch.get_num_threads()
            outs.append(out)
        except Exception as e:  # noqa: BLE001 - handed to the driver, which raises it after recording the rest
            outs.append(RunFailure.capture(e))
            break
    return outs


def _worker(spec: RunSpec, records_path: Optional[str] = None) -> Optional[dict]:
    """One run in a worker (``execute_run``); None when another command recorded it meanwhile."""
    out = _run_batch([spec], records_path)[0]
    if not isinstance(out, (dict, type(None))):
        raise out.exception()
    return out


def _worker_init(driver_pid: int, data_root_path: Optional[str], threads: int) -> None:
    _die_with_driver(driver_pid)
    _worker_setup(data_root_path, threads)


def _die_with_driver(driver_pid: int) -> None:
    """Pool worker initializer: a worker never outlives its driver (kill -9 of a ``--jobs`` run included).

    On Linux the kernel kills the worker when the driver dies (PR_SET_PDEATHSIG); everywhere, a daemon
    thread exits the worker once its parent is no longer the driver (it was re-parented)."""
    import os
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != driver_pid:  # the driver died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == driver_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="zsar-bench-driver-watch", daemon=True).start()


def _plan_jobs(todo: list[tuple[RunSpec, tuple]], ex, timings: dict, override: Optional[int],
               log: Callable[[str], None]) -> list[list[tuple[RunSpec, tuple]]]:
    """The runs grouped into jobs: one method and dataset per job, ``runs_per_job`` of them (the batching
    rule, ``executors`` docstring), in the order planned (method by method)."""
    from .executors import runs_per_job

    groups: dict[tuple[str, str], list] = {}
    for spec, key in todo:
        groups.setdefault((spec.method, spec.dataset), []).append((spec, key))
    by_method: dict[str, list] = {}
    notes = []
    for (method, dataset), items in groups.items():
        t = timings.get((method, dataset))
        k = runs_per_job(t, ex.batch_target_s, len(items), ex.time_limit_s, override)
        if k > 1 or override:
            why = "--runs-per-job" if override else f"{t:.1f}s per run measured in the records"
            notes.append(f"{method} on {dataset}: {k} run(s) per job ({why})")
        by_method.setdefault(method, []).extend(items[i:i + k] for i in range(0, len(items), k))
    jobs = [b for batches in by_method.values() for b in batches]
    if ex.name != "inline":
        log(f"executor {ex.name}: {len(todo)} run(s) in {len(jobs)} job(s)" + (f" ({'; '.join(notes)})" if notes else ""))
    return jobs


def run_specs(specs: list[RunSpec], store: RecordStore, jobs: Optional[int] = None, overwrite: bool = False,
              log: Callable[[str], None] = print, isolate: bool = True, threads: int = 1,
              executor=None, runs_per_job: Optional[int] = None,
              device_request: Optional[str] = None) -> tuple[list[dict], int]:
    """Run what is not in the store yet; record each run as soon as it finishes, exactly once.

    Runs asked for more than once (``--folds 0,0``, ``--seeds 0,0``, ``--methods a,a``) are planned once.
    Without ``overwrite``, a run already recorded is skipped, both at planning and just before it starts,
    and its record is appended with ``append_if_absent`` (the check made again under the file's lock),
    so identical commands started together record each run once. With ``overwrite`` each new record
    supersedes the old one only once it is written (``RecordStore.supersede``): a run killed half-way
    keeps the old rows of the runs it had not redone yet. The records path is checked writable before
    anything is trained (``RecordsError``).

    ``executor`` (``executors.py``): a name (``local``, ``inline``, ``submitit-local``, ``slurm``, ``ray``) or
    an ``ExecutorConfig``; default ``local``, or ``inline`` with ``isolate=False``. ``local`` (the default):
    every run's fit and score happen in a worker process that serves one method only (``jobs`` of them at a
    time, default the machine's cores, each with ``threads`` torch/BLAS threads), and the metrics are
    computed and recorded here from the scores it returns, so a plugin that patches harness code at run time
    cannot change another method's records; the other back ends keep that split (a job holds one method's
    runs, in a process of its own). ``inline`` runs everything in this process. Runs are grouped into jobs
    by the batching rule (``executors.runs_per_job``; ``runs_per_job`` overrides it). Submitit back ends
    keep a state file so that the same command, restarted after the driver was killed, collects the jobs
    that finished meanwhile and resubmits only what is missing. ``device_request`` (``--device`` as given):
    jobs on cluster nodes resolve it there (``auto`` finds the node's GPU).

    Returns (records of the runs asked for, one per run; number of runs skipped as already done)."""
    from .executors import ExecutorConfig, ExecutorError, check_shared_storage, measured_run_seconds

    if executor is None:
        cfg = ExecutorConfig("local" if isolate else "inline")
    elif isinstance(executor, str):
        cfg = ExecutorConfig(executor)
    else:
        cfg = executor
    if runs_per_job is not None:
        cfg = dataclasses.replace(cfg, runs_per_job=runs_per_job)
    if not isolate and cfg.kind != "inline":
        raise ValueError(f"isolate=False runs in this process: it cannot use executor {cfg.kind!r}")
    cfg.check()
    store.check_writable(rewrite=overwrite)
    if cfg.kind == "slurm":
        from .paths import check_data_root

        check_shared_storage({"data root": data_root(), "records file": store.path,
                              "jobs folder": cfg.jobs_folder(store.path)})
        check_data_root()
    feature_sets: dict[tuple, FeatureSet] = {}

    def fs_for(spec: RunSpec) -> FeatureSet:
        key = (spec.dataset, spec.features)
        if key not in feature_sets:
            feature_sets[key] = load_feature_set(spec.dataset, spec.features)
        return feature_sets[key]

    planned: dict[tuple, RunSpec] = {}
    notes: dict[str, None] = {}  # few-shot runs skipped for too few clips: one note per (dataset, fold, K)
    n_asked = 0
    for s in specs:
        note = fewshot_skip_note(s, fs_for(s))
        if note:
            notes.setdefault(note)
            continue
        n_asked += 1
        planned.setdefault(spec_key(s, spec_features_id(s, fs_for(s))), s)
    for note in notes:
        log(note)
    if len(planned) < n_asked:
        log(f"ignoring {n_asked - len(planned)} repeated run(s): a run (method, config, dataset, fold, seed) "
            "asked for more than once runs once")
    rows = store.read()
    existing = {} if overwrite else {record_key(r): r for r in rows}
    todo = [(s, k) for k, s in planned.items() if k not in existing]
    skipped = len(planned) - len(todo)
    if skipped:
        log(f"skipping {skipped} run(s) already in {store.path} (use --overwrite to redo them)")
    done: dict[tuple, dict] = {k: existing[k] for k in planned if k in existing}
    n = len(todo)
    if not todo:
        return [done[k] for k in planned if k in done], skipped

    def finish(i: int, spec: RunSpec, key: tuple, rec: dict) -> None:
        note = ""
        if overwrite:
            if store.supersede(rec):
                note = "; replaced its old record"
        elif not store.append_if_absent(rec):
            note = "; another run recorded it meanwhile: kept that record, not this one"
            rec = next((r for r in reversed(store.read()) if record_key(r) == record_key(rec)), rec)
        done[key] = rec
        mode = "" if spec.mode == "zsl" else f" {spec.mode}"
        log(f"[{i}/{n}] {spec.method} {spec.dataset} {spec.protocol.protocol}{mode} "
            f"fold {spec.fold.fold} seed {spec.seed}: {headline(rec)}  ({rec['train_s']:.1f}s train, "
            f"{rec['eval_s']:.2f}s eval{note})")

    def keep_recorded(i: int, spec: RunSpec, key: tuple) -> None:
        """Another command recorded this run meanwhile: use its record, train nothing more."""
        log(f"[{i}/{n}] {spec.method} {spec.dataset} fold {spec.fold.fold} seed {spec.seed}: "
            f"recorded meanwhile by another run; skipped")
        row = next((r for r in reversed(store.read()) if record_key(r) == key), None)
        if row is not None:
            done[key] = row

    if cfg.kind != "inline":
        # Isolated: fit and score run in worker processes or jobs that each serve one method, so method code
        # never shares a process with another method's runs, nor with the code below that records the metrics.
        for spec, _ in todo:
            spec.data_root = str(data_root())
            fs_for(spec)  # generate synthetic features once, before the workers race for them
            if spec.protocol.train_dataset not in (None, spec.dataset):
                spec_train_side(spec, fs_for(spec))
    from .executors import JobState, make_executor

    gpus = 1 if device_request and str(device_request).startswith("cuda") else 0
    ex = make_executor(cfg, jobs, threads, str(data_root()), store.path, gpus_per_job=gpus)
    if ex.remote and device_request:
        for spec, _ in todo:
            spec.extra["device_request"] = device_request
    check = None if overwrite else str(store.path)
    todo_keys = {k: s for s, k in todo}
    state: Optional[JobState] = None
    inflight: dict = {}  # Job -> [(spec or None for a run this command did not ask for, key)]
    i = 0
    error: Optional[BaseException] = None
    cancelled = False
    warned: list = []

    def collect(job, batch: list) -> None:
        nonlocal i, error
        from concurrent.futures import CancelledError

        from .executors import RunFailure

        try:
            outs = job.result()
        except CancelledError:
            outs = []
        except Exception as e:  # noqa: BLE001 - the job itself failed (killed, timed out, lost)
            if error is None:
                error = e
            outs = []
        for (spec, key), out in zip(batch, outs):
            if spec is None:
                continue  # another command's run (restart): left in the state file for it
            if isinstance(out, RunFailure):
                if error is None:
                    error = out.exception()
                continue
            i += 1
            if out is None:  # recorded meanwhile by another command
                keep_recorded(i, spec, key)
                continue
            if cfg.kind != "inline" and out.get("torch_threads") not in (None, threads) and not warned:
                warned.append(out["torch_threads"])
                log(f"warning: a worker ran with {out['torch_threads']} torch threads, not --threads {threads}")
            if out.get("device") and out["device"] != spec.device:  # resolved on the node
                spec = dataclasses.replace(spec, device=out["device"])
            finish(i, spec, key, finish_record(spec, fs_for(spec), out))
        if state is not None:
            recorded = store.keys()
            if all(spec is not None or key in recorded for spec, key in batch) or not outs:
                state.remove(job.id)
                job.cleanup()

    try:
        with ex:
            claimed: set = set()
            if ex.restartable:
                state = JobState(cfg.jobs_folder(store.path)).acquire()
                claimed = _resume_jobs(ex, state, todo_keys, store, inflight, log)
            batches = _plan_jobs([(s, k) for s, k in todo if k not in claimed], ex, measured_run_seconds(rows),
                                 cfg.runs_per_job, log)
            waves: list[list] = []
            for b in batches:  # one method at a time where worker processes are reused (local pools)
                if ex.one_method_at_a_time and waves and waves[-1][-1][0][0].method == b[0][0].method:
                    waves[-1].append(b)
                elif ex.one_method_at_a_time or not waves:
                    waves.append([b])
                else:
                    waves[-1].append(b)
            if not waves:
                waves = [[]]
            for wave in waves:
                queue = list(wave)
                while queue or inflight:
                    while queue and error is None and (ex.max_in_flight is None or len(inflight) < ex.max_in_flight):
                        batch = queue.pop(0)
                        job = ex.submit(_run_batch, [s for s, _ in batch], check, ex.remote, group=batch[0][0].method)
                        inflight[job] = batch
                        if state is not None:
                            state.add(ex.entry(job), [k for _, k in batch])
                    if error is not None and (queue or not cancelled):
                        queue.clear()
                        ex.cancel(list(inflight))  # what has not started; running jobs finish and are recorded
                        cancelled = True
                    if not inflight:
                        break
                    for job in ex.wait(list(inflight)):
                        collect(job, inflight.pop(job))
                if error is not None:
                    break
    except BaseException:
        if ex.restartable and inflight:
            log(f"{len(inflight)} job(s) left running; rerun the same command to collect their results "
                f"(state in {cfg.jobs_folder(store.path)})")
        raise
    finally:
        if state is not None:
            state.release()
    if error is not None:
        raise error
    return [done[k] for k in planned if k in done], skipped


def _resume_jobs(ex, state, todo_keys: dict, store: RecordStore, inflight: dict,
                 log: Callable[[str], None]) -> set:
    """A restarted driver: take over the jobs a killed one left (state file). Jobs done meanwhile and jobs
    still running join ``inflight`` (collected like new ones); jobs that died without a result are dropped,
    so their runs are submitted again. Returns the run keys these jobs cover."""
    claimed: set = set()
    n_done = n_running = n_lost = 0
    recorded = store.keys()
    for entry in list(state.jobs):
        keys = state.keys_of(entry)
        if all(k in recorded for k in keys):  # collected before the kill, the state not updated yet
            state.remove(entry["id"])
            continue
        if not any(k in todo_keys for k in keys):
            continue  # another command's runs: left for it
        job = ex.reload(entry)
        if job is None:
            continue
        if job.done() and not job.has_result():
            n_lost += 1
            state.remove(entry["id"])
            continue
        n_done += job.done()
        n_running += not job.done()
        inflight[job] = [(todo_keys.get(k), k) for k in keys]
        claimed.update(k for k in keys if k in todo_keys)
    if n_done or n_running or n_lost:
        log(f"resuming from {state.path}: {n_done} job(s) finished while no driver was running, {n_running} still "
            f"running, {n_lost} ended without results (their runs are submitted again)")
    return claimed
