"""Larger synthetic Kinetics sets (opt-in): the synthetic world at real size, generated in chunks.

- ``synthetic-full``: Kinetics-ZSAR at its real clip counts. The 400 seen classes share 240,000 training clips
  (about the Kinetics-400 training set ER trains on; the release does not list it, so each class gets 0.6-1.4x the
  mean, 363-846 clips, drawn as the scaled-down sets draw uneven counts). Each of the 220 classes new in
  Kinetics-600 has as many clips as ER's release evaluates it on (its Kinetics-600 test clips, 40-99, 19,449 in
  all: ``data/kinetics_full_counts.json``, written by ``scripts/make_kinetics_full_counts.py``). A new class is a
  validation class in some folds and a test class in others and the harness keeps one pool of clips per class,
  so validation classes have their test count too (ER validates on 20-50 Kinetics-600 validation clips a class).
  259,449 clips; 1.06 GB of float16 features on disk.
- ``synthetic-x<N>`` (N = 1..64): every class at N x 30 clips (the scaled-down ``synthetic`` set has 30): the sizes
  ``benchmarks/scaling.py`` measures cost growth at.

Both come from the world of ``synthetic`` (actions, modes, backbone, detector, each class's mixing of its modes and
the dataset's domain shift: ``synthetic.draw_clips``), with draws of their own: the clips are drawn in chunks of
``CHUNK`` rows, each chunk from generators seeded by its index, so a set is a function of its counts and the chunk
size. Its identity says so: ``synthetic-v2-full.<digest>`` / ``synthetic-v2-x3.<digest>`` (a digest of the counts,
``CHUNK`` and ``SIZED_VERSION``), never ``synthetic-v2``, so its records never mix with the default set's.

Memory: generating holds one chunk's arrays (about 0.4 GB at 16,384 rows) and every clip's labels and detections
(about 60 bytes a clip); the features go chunk by chunk into a memory-mapped float16 ``.npy``. Loading maps that
file and converts it to float32 in blocks (8 KiB a clip: 2.1 GB at full size). Nothing generates these sets but
naming one (``--features synthetic-full``): ``make bench`` and ``make test`` never do.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..datasets import get_dataset
from ..types import Videos
from .base import FeatureSet, FeatureStoreError, feature_root, remove_killed_leftovers
from .integrity import IntegrityError, file_digests, verify_files
from .synthetic import (FEATURE_DIM, GENERATOR_VERSION, N_MODES, N_NUISANCE, S_DOMAIN, TOP_K, WORD_VECTORS,
                        _clip_counts, _rng, draw_clips, synthetic_concepts, world, world_identity)

DATASET = "kinetics"
SIZED_VERSION = 1
CHUNK = 16384
LOAD_BLOCK = 32768  # rows converted from float16 to float32 at a time while loading
NAME_RE = re.compile(r"^synthetic-(full|x([1-9][0-9]?))$")
BASE_CLIPS = 30  # clips per class of the scaled-down set


def is_sized(name: str) -> bool:
    """True for the names of the larger synthetic sets (``synthetic-full``, ``synthetic-x<N>``)."""
    m = NAME_RE.match(str(name))
    return bool(m) and (m.group(2) is None or 1 <= int(m.group(2)) <= 64)


@lru_cache(maxsize=1)
def _full_table() -> dict:
    return json.loads(resources.files("zsar_bench").joinpath("data/kinetics_full_counts.json").read_text())


def class_counts(name: str) -> np.ndarray:
    """Clips per class (kinetics' 620 classes, in its class order) of the sized set ``name``."""
    n_cls = get_dataset(DATASET).n_classes
    tag = NAME_RE.match(name).group(1)
    if tag != "full":
        return np.full(n_cls, BASE_CLIPS * int(tag[1:]), dtype=np.int64)
    table = _full_table()
    new = np.asarray(table["new_class_clips"], dtype=np.int64)
    seen = _clip_counts(n_cls - len(new), int(table["seen_total"]), _rng(DATASET, "full", "seen-counts"))
    return np.concatenate([seen, new])


def sized_identity(name: str, counts: Optional[np.ndarray] = None, chunk: Optional[int] = None) -> str:
    """``<world identity>-<full|xN>.<digest of the counts, chunk size and SIZED_VERSION>``."""
    counts = class_counts(name) if counts is None else counts
    chunk = CHUNK if chunk is None else chunk
    doc = [name, [int(c) for c in counts], int(chunk), SIZED_VERSION]
    digest = hashlib.sha256(json.dumps(doc).encode()).hexdigest()[:10]
    return f"{world_identity()}-{name.removeprefix('synthetic-')}.{digest}"


def _check(dataset: str, name: str) -> None:
    if not is_sized(name):
        raise FeatureStoreError(f"{name!r} is not a sized synthetic set; use synthetic-full or synthetic-x<N> "
                                "(N = 1..64)")
    if dataset != DATASET:
        raise FeatureStoreError(f"{name} exists for kinetics only (the scaled-down set's one dataset); the other "
                                f"datasets' synthetic features already have their real clip counts: use "
                                f"--features synthetic for {dataset}")


def _cache_dir(name: str, counts: np.ndarray, chunk: int) -> Path:
    return feature_root(DATASET, name) / sized_identity(name, counts, chunk).removeprefix("synthetic-")


def write_sized(dest: Path, name: str, counts: np.ndarray, chunk: int = CHUNK,
                log: Callable[[str], None] = lambda m: None) -> dict:
    """Generate the sized set ``name`` with ``counts`` clips per class into the folder ``dest`` (features.npy,
    meta.npz, manifest.json), ``chunk`` rows at a time; returns the manifest."""
    w = world()
    ds = get_dataset(DATASET)
    n_cls = ds.n_classes
    actions = np.array([w["action_of"][(DATASET, i)] for i in range(n_cls)])
    mix = _rng(DATASET, "clips").dirichlet(np.full(N_MODES, 1.5), size=n_cls)  # the scaled-down set's mixing
    domain = _rng(DATASET, "domain").standard_normal(N_NUISANCE) * S_DOMAIN
    labels = np.repeat(np.arange(n_cls), counts)
    labels = labels[_rng(DATASET, name, "order").permutation(len(labels))]  # rows in a random order
    n = len(labels)
    dest.mkdir(parents=True, exist_ok=True)
    feats = np.lib.format.open_memmap(dest / "features.npy", mode="w+", dtype=np.float16, shape=(n, FEATURE_DIM))
    ids = np.empty((n, TOP_K), np.int32)
    scores = np.empty((n, TOP_K), np.float32)
    t0 = time.perf_counter()
    for k, s in enumerate(range(0, n, chunk)):
        e = min(n, s + chunk)
        f, ids[s:e], scores[s:e] = draw_clips(w, labels[s:e], actions, w["hidden"], w["modes"], mix, domain,
                                              _rng(DATASET, name, "clips", k), _rng(DATASET, name, "objects", k))
        feats[s:e] = f
        log(f"{name}: {e:,}/{n:,} clips ({time.perf_counter() - t0:.0f}s)")
    feats.flush()
    del feats
    video_ids = np.array([f"syn{GENERATOR_VERSION}{name.removeprefix('synthetic')}-{DATASET}-{i:06d}"
                          for i in range(n)])
    np.savez(dest / "meta.npz", labels=labels, concept_ids=ids, concept_scores=scores, video_ids=video_ids)
    manifest = {
        "dataset": DATASET, "features": name, "identity": sized_identity(name, counts, chunk),
        "generator_version": GENERATOR_VERSION, "sized_version": SIZED_VERSION, "chunk": int(chunk),
        "n_videos": int(n), "dim": FEATURE_DIM, "top_k": TOP_K, "backbone": world_identity(),
        "text_encoder": w["text_encoder"], "word_vectors": WORD_VECTORS, "counts": [int(c) for c in counts],
        "source": "zsar_bench.features.synthetic_full (deterministic, chunked)",
        "files": file_digests(dest, [dest / "features.npy", dest / "meta.npz"]),
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def _as_float32(mapped: np.ndarray) -> np.ndarray:
    out = np.empty(mapped.shape, np.float32)
    for s in range(0, len(mapped), LOAD_BLOCK):
        out[s:s + LOAD_BLOCK] = mapped[s:s + LOAD_BLOCK]
    return out


def load_or_generate_sized(dataset: str, name: str, log: Callable[[str], None] = print) -> FeatureSet:
    """The sized set ``name`` of kinetics, generated first if this data root has none (minutes at full size)."""
    _check(dataset, name)
    counts, chunk = class_counts(name), CHUNK
    d = _cache_dir(name, counts, chunk)
    remove_killed_leftovers(d.parent)  # a generation killed half-way: about 1 GB that nothing reads
    if not (d / "manifest.json").is_file():
        log(f"generating {name} for {dataset} ({int(counts.sum()):,} clips) under {d}; once per data root")
        tmp = d.with_name(d.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        write_sized(tmp, name, counts, chunk, log=log)
        if d.exists():  # another process won the race; keep theirs
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, d)
    fix = f"delete the folder and rerun to regenerate it: rm -r {d}"
    try:
        manifest = json.loads((d / "manifest.json").read_text())
        verify_files(d, manifest["files"], f"synthetic feature cache {d}", fix)
        meta = np.load(d / "meta.npz", allow_pickle=False)
        feats = _as_float32(np.load(d / "features.npy", mmap_mode="r", allow_pickle=False))
        videos = Videos(feats, meta["concept_ids"], meta["concept_scores"], meta["video_ids"])
        labels = meta["labels"]
    except IntegrityError as e:
        raise FeatureStoreError(str(e)) from None
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
        raise FeatureStoreError(f"synthetic feature cache {d} cannot be read ({e}); {fix}") from None
    return FeatureSet(dataset, name, manifest["identity"], videos, labels, None, synthetic_concepts(), manifest)
