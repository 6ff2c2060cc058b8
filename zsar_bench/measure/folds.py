"""The fold stage: a feature set and one fold of a protocol -> what a method may see (``FoldData``).

Only this module splits the data: ``fit`` receives seen classes and their training clips only;
validation classes are touched only by the harness's validation callback (model selection), and
unseen classes and their clips only at test time.

Training sets follow the papers: zero-shot runs (mode ``zsl``) train on every clip of the seen
classes, except where the protocol itself names training videos (``train_partition``: Kinetics-ZSAR
trains on the Kinetics-400 training videos when the feature set records that partition).
Generalised ZSL (mode ``gzsl``, Xian et al. 2018) is an evaluation mode of its own: 20% of each
seen class's clips (a fixed draw per feature set) are held out, the model is fit on the rest, and
the held-out seen clips plus all unseen clips are classified among seen + unseen classes.
Cross-dataset protocols (``train_dataset`` in the split file, e.g. ``k400-full``) fit on another
dataset's feature set of the same backbone and test on this dataset's classes. A protocol on the official
test videos (``test_videos: "official"``, e.g. ``k400-official``) tests only the clips of its fold's official
test list (``official_splits.official_test_mask``; ids that are not official names are refused); a few-shot
run ignores it (its draw needs every clip of the test classes).
Few-shot (mode ``fewshot-K``, ER's Table 5): the fold's test (unseen) classes only. K clips of each
are drawn for training (``fewshot_draw``: seeded by feature set identity, dataset, fold, seed and K,
so ``--seeds 0,1,2`` are three draws), the rest of each class's clips are evaluated among those
classes; no validation classes (fixed schedule). A K that leaves some test class fewer than
``MIN_EVAL`` clips to evaluate is skipped for that fold (``FewShotSkip``; ``run_specs`` prints one
note). With a cross-dataset protocol a few-shot run uses the test dataset alone (its unseen classes):
the few-shot fit never needs the training dataset.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..datasets import get_dataset
from ..features import FeatureSet
from ..features.base import TRAIN, FeatureStoreError
from ..method import METHODS
from ..official_splits import official_test_mask
from ..splits import Fold, Protocol, SplitError
from ..types import ClassInfo, FitData, LabelledVideos

MODES = ("zsl", "gzsl", "fewshot")  # mode kinds; a few-shot run's mode is "fewshot-K" (K clips per class)
GZSL_HOLDOUT = 0.2  # Xian et al.: fraction of each seen class's clips held out for generalised ZSL
MIN_EVAL = 5  # few-shot: every test class keeps at least this many clips to evaluate, or that K is skipped
_FEWSHOT_RE = re.compile(r"fewshot-([1-9][0-9]*)")


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


def check_method_mode(method: str, mode: str, supported: Optional[Sequence[str]] = None) -> None:
    """ValueError unless registered method ``method`` supports ``mode`` (``Method.modes``; ``supported``: those
    modes, as the driver knows them without the method's code)."""
    kind = mode_kind(mode)
    if supported is None:
        supported = getattr(METHODS.get(method), "modes", ("zsl", "gzsl", "fewshot"))
    supported = tuple(supported)
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


@dataclass
class Part:
    """One partition of a fold as rows of a feature set: ``rows`` (harness order), their ``labels`` (indices into
    ``classes``; None in what a worker receives for the test partition) and the ``classes``. ``side``: the feature
    set the rows index, "test" (the dataset tested) or "train" (a cross-dataset protocol's training set)."""

    rows: np.ndarray
    labels: Optional[np.ndarray]
    classes: list
    side: str = "test"

    def materialise(self, fs: FeatureSet, train_fs: Optional[FeatureSet] = None) -> LabelledVideos:
        src = train_fs if self.side == "train" and train_fs is not None else fs
        return LabelledVideos(src.videos.subset(self.rows), self.labels, self.classes)


@dataclass
class FoldRows:
    """A fold as rows (``fold_rows``): what the driver computes from the labels it keeps, and, without the test
    labels (``for_worker``), all a worker gets to build the partitions a method sees."""

    fit: Part
    val: Optional[Part]
    test: Part
    unseen_columns: Optional[np.ndarray] = None  # gzsl: bool mask over test.classes; None for zsl
    mode: str = "zsl"

    def for_worker(self) -> "FoldRows":
        """The fold without the test labels (a worker never holds them: the driver scores)."""
        return FoldRows(self.fit, self.val, Part(self.test.rows, None, self.test.classes, self.test.side),
                        self.unseen_columns, self.mode)

    def materialise(self, fs: FeatureSet, train_fs: Optional[FeatureSet] = None) -> FoldData:
        """The fold's data from its rows (the test partition's labels are None in a worker's copy)."""
        src = train_fs if self.fit.side == "train" and train_fs is not None else fs
        test = self.test.materialise(fs, train_fs)
        fit = FitData(self.fit.materialise(fs, train_fs), concepts=src.concepts, model=src.manifest.get("model"))
        val = self.val.materialise(fs, train_fs) if self.val is not None else None
        return FoldData(fit, val, test, self.unseen_columns, self.mode)


def _part(fs: FeatureSet, mask: np.ndarray, class_idx: Sequence[int], classes: Sequence[ClassInfo],
          side: str = "test") -> Part:
    remap = np.full(max(class_idx) + 1 if len(class_idx) else 1, -1, dtype=np.int64)
    remap[np.asarray(class_idx, dtype=np.int64)] = np.arange(len(class_idx))
    rows = np.flatnonzero(mask)
    return Part(rows, remap[fs.labels[rows]], [classes[i] for i in class_idx], side)


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
    """The data of one fold, in the harness's own row order (``execute_run`` blinds it for the method):
    ``fold_rows`` materialised."""
    cross = train_fs is not None and train_fs is not fs
    return fold_rows(fs, classes, fold, protocol, mode, train_fs, train_classes, seed).materialise(
        fs, train_fs if cross else None)


def fold_rows(fs: FeatureSet, classes: Sequence[ClassInfo], fold: Fold, protocol: Optional[Protocol] = None,
              mode: str = "zsl", train_fs: Optional[FeatureSet] = None,
              train_classes: Optional[Sequence[ClassInfo]] = None, seed: int = 0) -> FoldRows:
    """The rows of one fold's partitions, with their labels (the driver's: it needs the feature set's labels).

    ``train_fs``/``train_classes``: the training dataset of a cross-dataset protocol (seen and
    validation classes are its classes); default: ``fs`` itself. ``seed``: the K-shot draw of a
    ``fewshot-K`` mode (other modes ignore it). Raises ``FewShotSkip`` for a K that leaves some test
    class fewer than ``MIN_EVAL`` clips to evaluate."""
    kind = mode_kind(mode)
    if kind == "fewshot":
        return _fewshot_fold_rows(fs, classes, fold, fewshot_k(mode), seed, mode)
    cross = train_fs is not None and train_fs is not fs
    tfs = train_fs if cross else fs
    tclasses = train_classes if cross else classes
    side = "train" if cross else "test"
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
    if protocol is not None and protocol.test_videos == "official":
        in_unseen &= official_test_mask(fs.dataset, fs.videos.video_ids, fold.official_split)
    if mode == "gzsl":
        held = gzsl_holdout(fs)
        train_mask &= ~held
        test = _part(fs, (in_seen & held) | in_unseen, seen + unseen, classes)
        cols = np.array([False] * len(seen) + [True] * len(unseen))
    else:
        test = _part(fs, in_unseen, unseen, classes)
        cols = None
    fit = _part(tfs, train_mask, seen, tclasses, side)
    val_part = _part(tfs, np.isin(tfs.labels, val), val, tclasses, side) if val else None
    return FoldRows(fit, val_part, test, cols, mode)


def _fewshot_fold_rows(fs: FeatureSet, classes: Sequence[ClassInfo], fold: Fold, k: int, seed: int,
                       mode: str) -> FoldRows:
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
    return FoldRows(_part(fs, train, unseen, classes), None, _part(fs, in_unseen & ~train, unseen, classes), None,
                    mode)
