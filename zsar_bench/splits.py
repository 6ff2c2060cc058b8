"""Protocols: split files ``splits/<dataset>/<protocol>.json`` (or the folder a dataset's spec names), read
through one validating loader.

The format is declared in ``split_file.py`` (``SplitFile``: every key, the cross-dataset ones included)::

    {"dataset": "hmdb51", "protocol": "e2e10", "version": 1, "description": "...",
     "counts": {"seen": 26, "val": 0, "unseen": 25},            # optional; checked per fold
     "folds": [{"fold": 0, "seen": [...], "val": [...], "unseen": [...]}, ...]}

Class entries are official identifiers. ``val`` classes (may be empty) are the only classes model
selection may look at; ``unseen`` classes are the test classes.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Optional

from pydantic import ValidationError

from .datasets import DATASETS, get_dataset
from .errors import ZsarBenchError
from .official_splits import DATASETS as OFFICIAL
from .official_splits import table_sha256
from .paths import CHECKOUT, loop_message, symlink_loop
from .split_file import SplitFile, error_line


def _splits_dir() -> Path:
    """splits/ in a checkout (editable install); the packaged copy (zsar_bench_splits) in a wheel install (a
    splits/ folder beside site-packages is not ours). A wheel without it: a folder that does not exist."""
    if CHECKOUT is not None and (CHECKOUT / "splits").is_dir():
        return CHECKOUT / "splits"

    spec = importlib.util.find_spec("zsar_bench_splits")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else Path(__file__).resolve().parent / "zsar_bench_splits (not installed)"


SPLITS_DIR = _splits_dir()


class SplitError(ZsarBenchError, ValueError):
    """A split file is malformed or names unknown classes."""


@dataclass(frozen=True)
class Fold:
    fold: int
    seen: tuple[str, ...]
    val: tuple[str, ...]
    unseen: tuple[str, ...]
    # Protocols with test_videos "official": the official train/test split (1-3) whose test videos the fold tests.
    official_split: Optional[int] = None


@dataclass(frozen=True)
class Protocol:
    dataset: str
    protocol: str
    version: int
    description: str
    folds: tuple[Fold, ...]
    sha256: str
    path: str
    # Cross-dataset protocols: seen (and val) classes come from this dataset's feature set.
    train_dataset: Optional[str] = None
    # Protocol-defined training videos: "train" = fit on the feature set's train partition only.
    train_partition: Optional[str] = None
    # Training classes removed because they overlap the test classes (logged next to the leaderboard).
    excluded: tuple = ()
    # "official": each fold tests only the videos of its official split's test list (``official_splits.py``).
    test_videos: Optional[str] = None

    def to_json(self) -> dict:
        return {
            "dataset": self.dataset,
            "protocol": self.protocol,
            "version": self.version,
            "folds": [{"fold": f.fold, "seen": list(f.seen), "val": list(f.val), "unseen": list(f.unseen),
                       **({"official_split": f.official_split} if f.official_split is not None else {})}
                      for f in self.folds],
        }

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]


def _dataset_splits_dir(dataset: str) -> Path:
    """Where a dataset's split files are: the folder its spec names, else splits/<dataset>/."""
    ds = DATASETS.get(dataset) if dataset in DATASETS else None
    own = ds.splits_dir if ds is not None else None
    return own if own is not None else SPLITS_DIR / dataset


def available_protocols(dataset: Optional[str] = None) -> dict[str, list[str]]:
    folders = {d.name: d for d in SPLITS_DIR.iterdir() if d.is_dir()} if SPLITS_DIR.is_dir() else {}
    for name in DATASETS.names():
        if DATASETS.get(name).splits_dir is not None:
            folders[name] = DATASETS.get(name).splits_dir
    out: dict[str, list[str]] = {}
    for name in sorted(folders):
        if dataset and name != dataset:
            continue
        d = folders[name]
        out[name] = sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []
    return out


def protocol_path(dataset: str, protocol: str) -> Path:
    path = _dataset_splits_dir(dataset) / f"{protocol}.json"
    if not path.is_file():
        choices = available_protocols(dataset).get(dataset, [])
        raise SplitError(
            f"no protocol {protocol!r} for dataset {dataset!r}. "
            f"Valid choices: {', '.join(choices) or '(none)'}; or pass your own folds with --split-file PATH"
        )
    return path


def load_protocol(dataset: str, protocol: str) -> Protocol:
    return load_split_file(protocol_path(dataset, protocol), expect_dataset=dataset)


def default_protocol(dataset: str) -> str:
    return get_dataset(dataset).default_protocol


def load_split_file(path: str | Path, expect_dataset: Optional[str] = None) -> Protocol:
    """Read and validate a split file (its format: ``split_file.SplitFile``); every problem is a one-line
    SplitError that names the file."""
    path = Path(path)
    if not path.is_file():
        link = symlink_loop(path)
        if link is not None:
            raise SplitError(f"{loop_message('split file', path, link)} or pass --split-file a JSON split file")
        raise SplitError(f"split file {path} does not exist")
    raw = path.read_bytes()
    where = str(path)
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as e:
        raise SplitError(f"{where}: not valid JSON ({e})") from None
    try:
        split = SplitFile.model_validate(doc)
    except ValidationError as e:
        raise SplitError(f"{where}: {error_line(e)}") from None
    ds_name = split.dataset
    if expect_dataset is not None and ds_name != expect_dataset:
        raise SplitError(f"{where}: file is for dataset {ds_name!r}, not {expect_dataset!r}")
    try:
        ds = get_dataset(ds_name)
    except ValueError as e:
        raise SplitError(f"{where}: {e}") from None
    train_ds_name = split.train_dataset or ds_name
    try:
        train_ds = get_dataset(train_ds_name)
    except ValueError as e:
        raise SplitError(f"{where}: train_dataset: {e}") from None
    folds = []
    for i, (f, fid) in enumerate(zip(split.folds, split.fold_numbers())):
        for k in ("seen", "val", "unseen"):
            side = train_ds if k in ("seen", "val") else ds
            _check_known(getattr(f, k), side, f"{where}: fold #{i}", k)
        folds.append(Fold(fid, tuple(f.seen), tuple(f.val), tuple(f.unseen), f.official_split))
    if split.test_videos:
        _check_test_lists(split, where)
    return Protocol(
        dataset=ds_name,
        protocol=split.protocol,
        version=split.version,
        description=split.description,
        folds=tuple(folds),
        sha256=hashlib.sha256(raw).hexdigest(),
        path=str(path),
        train_dataset=split.train_dataset,
        train_partition=split.train_partition,
        excluded=tuple(doc.get("excluded", [])),
        test_videos=split.test_videos,
    )


def _check_test_lists(split: SplitFile, where: str) -> None:
    """A split file on the official test videos of a dataset that has them, pinned to the packaged lists."""
    if split.dataset not in OFFICIAL:
        raise SplitError(f"{where}: test_videos \"official\": {split.dataset} has no official splits here "
                         f"(only {', '.join(OFFICIAL)})")
    if split.test_videos_sha256 != table_sha256(split.dataset):
        raise SplitError(f"{where}: test_videos_sha256 does not match the packaged official test lists of "
                         f"{split.dataset}; regenerate the file with scripts/make_splits.py")


def _check_known(classes: list[str], ds, tag: str, part: str) -> None:
    """A SplitError listing the classes of ``part`` that are not identifiers of ``ds`` (with a close match)."""
    unknown = [c for c in classes if c not in ds.index]
    if not unknown:
        return

    known = list(ds.index)
    hints = [f"{u!r} (did you mean {m[0]!r}?)" if (m := get_close_matches(u, known, 1, 0.6)) else repr(u)
             for u in unknown[:10]]
    raise SplitError(f"{tag}: {len(unknown)} unknown {ds.name} class(es) in {part!r}: {', '.join(hints)}. Use "
                     f"official identifiers (see `run_bench.py list datasets` / {ds.class_file})")


def check_folds_spec(spec: Optional[str]) -> Optional[list[int]]:
    """The fold numbers of a ``--folds`` value ('0-9', '0,3,5'; None or '' = all folds, returned as None),
    or a SplitError saying what to write: 'a', '-1', '3-1' and ',' select nothing and are errors."""
    if spec is None or not spec.strip():
        return None
    hint = "write fold numbers 0 or more, as a range or a comma list, e.g. --folds 0-9 or --folds 0,3,5"
    wanted: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)|(\d+)", part)
        if not m:
            raise SplitError(f"--folds {spec!r}: {part!r} is not a fold number or range; {hint}")
        if m.group(3) is not None:
            wanted.append(int(m.group(3)))
            continue
        a, b = int(m.group(1)), int(m.group(2))
        if b < a:
            raise SplitError(f"--folds {spec!r}: the range {part!r} is empty (it ends before it starts); did you mean "
                             f"{b}-{a}?")
        wanted.extend(range(a, b + 1))
    if not wanted:
        raise SplitError(f"--folds {spec!r} selects no fold; {hint}")
    return wanted


def parse_folds(spec: Optional[str], protocol: Protocol) -> list[Fold]:
    """'0-9', '0,3,5' or None (all folds)."""
    wanted = check_folds_spec(spec)
    if wanted is None:
        return list(protocol.folds)
    by_id = {f.fold: f for f in protocol.folds}
    missing = [w for w in wanted if w not in by_id]
    if missing:
        raise SplitError(
            f"folds {missing} not in {protocol.dataset}/{protocol.protocol} "
            f"(it has folds {min(by_id)}-{max(by_id)})"
        )
    return [by_id[w] for w in wanted]
