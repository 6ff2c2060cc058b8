"""Protocols: committed split files ``splits/<dataset>/<protocol>.json``, read through one validating loader.

File format (JSON)::

    {"dataset": "hmdb51", "protocol": "e2e10", "version": 1, "description": "...",
     "counts": {"seen": 26, "val": 0, "unseen": 25},            # optional; checked per fold
     "folds": [{"fold": 0, "seen": [...], "val": [...], "unseen": [...]}, ...]}

Class entries are official identifiers. ``val`` classes (may be empty) are the only classes model
selection may look at; ``unseen`` classes are the test classes.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .datasets import get_dataset
from .paths import CHECKOUT


def _splits_dir() -> Path:
    """splits/ in a checkout (editable install); the packaged copy (zsar_bench_splits) in a wheel install (a
    splits/ folder beside site-packages is not ours). A wheel without it: a folder that does not exist."""
    if CHECKOUT is not None and (CHECKOUT / "splits").is_dir():
        return CHECKOUT / "splits"
    import importlib.util

    spec = importlib.util.find_spec("zsar_bench_splits")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else Path(__file__).resolve().parent / "zsar_bench_splits (not installed)"


SPLITS_DIR = _splits_dir()


class SplitError(ValueError):
    """A split file is malformed or names unknown classes."""


@dataclass(frozen=True)
class Fold:
    fold: int
    seen: tuple[str, ...]
    val: tuple[str, ...]
    unseen: tuple[str, ...]


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

    def to_json(self) -> dict:
        return {
            "dataset": self.dataset,
            "protocol": self.protocol,
            "version": self.version,
            "folds": [{"fold": f.fold, "seen": list(f.seen), "val": list(f.val), "unseen": list(f.unseen)} for f in self.folds],
        }

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]


def available_protocols(dataset: Optional[str] = None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if not SPLITS_DIR.is_dir():
        return out
    for d in sorted(p for p in SPLITS_DIR.iterdir() if p.is_dir()):
        if dataset and d.name != dataset:
            continue
        out[d.name] = sorted(p.stem for p in d.glob("*.json"))
    return out


def protocol_path(dataset: str, protocol: str) -> Path:
    path = SPLITS_DIR / dataset / f"{protocol}.json"
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
    """Read and validate a split file; every problem is a SplitError that names the file."""
    path = Path(path)
    if not path.is_file():
        raise SplitError(f"split file {path} does not exist")
    raw = path.read_bytes()
    where = str(path)
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as e:
        raise SplitError(f"{where}: not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise SplitError(f"{where}: top level must be an object with keys dataset, protocol, version, folds")
    for key in ("dataset", "protocol", "version", "folds"):
        if key not in doc:
            raise SplitError(f"{where}: missing key {key!r} (needs dataset, protocol, version, folds)")
    ds_name = doc["dataset"]
    if expect_dataset is not None and ds_name != expect_dataset:
        raise SplitError(f"{where}: file is for dataset {ds_name!r}, not {expect_dataset!r}")
    try:
        ds = get_dataset(ds_name)
    except ValueError as e:
        raise SplitError(f"{where}: {e}") from None
    if not isinstance(doc["version"], int):
        raise SplitError(f"{where}: version must be an integer")
    if not isinstance(doc["folds"], list) or not doc["folds"]:
        raise SplitError(f"{where}: folds must be a non-empty list")
    counts = doc.get("counts")
    if counts is not None:
        if not isinstance(counts, dict):
            raise SplitError(f"{where}: counts must be an object such as {{\"seen\": 26, \"val\": 0, \"unseen\": 25}}")
        bad_keys = [k for k in counts if k not in ("seen", "val", "unseen")]
        if bad_keys:
            raise SplitError(f"{where}: counts has unknown key(s) {', '.join(map(repr, bad_keys))}; its keys are "
                             "'seen', 'val', 'unseen'")
        for k, n in counts.items():
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise SplitError(f"{where}: counts[{k!r}] must be a whole number of classes, got {n!r}")
    train_ds_name = doc.get("train_dataset") or ds_name
    try:
        train_ds = get_dataset(train_ds_name)
    except ValueError as e:
        raise SplitError(f"{where}: train_dataset: {e}") from None
    if doc.get("train_partition") not in (None, "train"):
        raise SplitError(f"{where}: train_partition must be \"train\" or absent")
    folds = []
    seen_fold_ids = set()
    for i, f in enumerate(doc["folds"]):
        tag = f"{where}: fold #{i}"
        if not isinstance(f, dict) or "seen" not in f or "unseen" not in f:
            raise SplitError(f"{tag}: each fold needs 'seen' and 'unseen' lists (and optionally 'val')")
        fid = f.get("fold", i)
        if isinstance(fid, bool) or not isinstance(fid, int) or fid < 0:
            raise SplitError(f"{tag}: 'fold' must be a whole number 0 or more (written without quotes), got {fid!r}")
        if fid in seen_fold_ids:
            raise SplitError(f"{tag}: duplicate fold number {fid}")
        seen_fold_ids.add(fid)
        parts = {k: f.get(k, []) for k in ("seen", "val", "unseen")}
        for k, lst in parts.items():
            if not isinstance(lst, list):
                raise SplitError(f"{tag}: {k!r} must be a list of class identifiers")
            not_str = [c for c in lst if not isinstance(c, str)]
            if not_str:
                raise SplitError(f"{tag}: {k!r} must list class identifiers as strings, got {not_str[0]!r}; write "
                                 "each class as one string, e.g. \"brush_hair\"")
            known = train_ds.index if k in ("seen", "val") else ds.index
            unknown = [c for c in lst if c not in known]
            if unknown:
                from difflib import get_close_matches

                hints = [f"{u!r} (did you mean {get_close_matches(u, list(known), 1, 0.6)[0]!r}?)"
                         if get_close_matches(u, list(known), 1, 0.6) else repr(u) for u in unknown[:10]]
                raise SplitError(
                    f"{tag}: {len(unknown)} unknown {train_ds_name if k in ('seen', 'val') else ds_name} class(es) in {k!r}: {', '.join(hints)}. "
                    f"Use official identifiers (see `run_bench.py list datasets` / zsar_bench/data/classes/{ds_name}.tsv)"
                )
            dup = {c for c in lst if lst.count(c) > 1}
            if dup:
                raise SplitError(f"{tag}: {k!r} lists a class twice: {sorted(dup)}")
        pairs = (("seen", "unseen"), ("seen", "val"), ("val", "unseen")) if train_ds is ds else (("seen", "val"),)
        for a, b in pairs:
            both = set(parts[a]) & set(parts[b])
            if both:
                raise SplitError(f"{tag}: classes in both {a!r} and {b!r}: {sorted(both)[:10]}")
        if not parts["seen"] or not parts["unseen"]:
            raise SplitError(f"{tag}: 'seen' and 'unseen' must both be non-empty")
        if len(parts["unseen"]) < 2:
            raise SplitError(f"{tag}: 'unseen' has {len(parts['unseen'])} class; zero-shot accuracy over fewer than "
                             "two test classes is always 100%, so list at least two unseen classes")
        if counts:
            for k, n in counts.items():
                if len(parts[k]) != n:
                    raise SplitError(f"{tag}: {k!r} has {len(parts[k])} classes, the file's counts say {n}")
        folds.append(Fold(int(fid), tuple(parts["seen"]), tuple(parts["val"]), tuple(parts["unseen"])))
    return Protocol(
        dataset=ds_name,
        protocol=str(doc["protocol"]),
        version=doc["version"],
        description=str(doc.get("description", "")),
        folds=tuple(folds),
        sha256=hashlib.sha256(raw).hexdigest(),
        path=str(path),
        train_dataset=doc.get("train_dataset"),
        train_partition=doc.get("train_partition"),
        excluded=tuple(_excluded_entries(doc.get("excluded", []), where)),
    )


def _excluded_entries(raw, where: str) -> list[dict]:
    if not isinstance(raw, list) or not all(isinstance(e, dict) and "class" in e for e in raw):
        raise SplitError(f"{where}: 'excluded' must be a list of objects with a 'class' key (and why it was dropped)")
    return raw


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
