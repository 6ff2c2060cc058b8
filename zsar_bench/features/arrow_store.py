"""The store for real feature sets: one Hugging Face ``datasets`` Arrow table per (dataset, feature set).

Layout of ``<data root>/features/<dataset>/<name>/``::

    manifest.json   format_version, dataset, features, identity, n_videos, dim, top_k, source,
                    backbone, checksum (sha256 of the content), n_classes_present, n_missing, ...
    table/          ``Dataset.save_to_disk`` output, memory-mapped on load. Columns:
                      video_id        string
                      label           string: the class identifier (zsar_bench/data/classes/*.tsv)
                      features        fixed-size list<float16>[dim]
                      concept_ids     fixed-size list<int32>[K]     (only with object concepts)
                      concept_scores  fixed-size list<float32>[K]   (only with object concepts)
                      partition       string "train" | "test"       (only when the source has one)
    concepts.json   the concept vocabulary {source, names, definitions, wordnet_ids} (with objects)
    missing.txt     video ids the source listed but that could not be imported (when any)

Writes are atomic: everything goes to ``<dataset>/.staging/<name>.<pid>.<random>/`` and is renamed
into place at the end, so a failed or interrupted import leaves the store as it was. Loading a
100k x 2048 table (memory map + float16 -> float32) takes about half a second.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
import warnings
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..datasets import get_dataset
from ..paths import InvalidNameError, check_name
from ..types import ConceptVocabulary, Videos
from .integrity import IntegrityError, file_digests, verify_files
from .base import (TEST, TRAIN, FeatureSet, FeatureStoreError, feature_root, pid_alive, read_json_checked,
                   read_manifest)

FORMAT_VERSION = 1
FLOAT16_MAX = float(np.finfo(np.float16).max)
TABLE_DIR = "table"


def check_real_name(name: str) -> None:
    """A name real (imported or extracted) features may take: a plain name (``paths.check_name``), not the
    generated set's ``synthetic``; else FeatureStoreError."""
    if name == "synthetic" or name.startswith("synthetic-"):
        raise FeatureStoreError(f"{name!r}: 'synthetic' and names starting 'synthetic-' are the generated feature "
                                "sets; choose another name for real features")
    try:
        check_name(name, "feature set")
    except InvalidNameError as e:
        raise FeatureStoreError(str(e)) from None


_pid_alive = pid_alive


def clean_stale_staging(parent: Path) -> list[Path]:
    """Clear the ``.staging`` folder of imports that were killed (their process is gone), saying so: a copy being
    written is removed; the old copy of a set that an ``--overwrite`` had moved aside is put back when the set's
    folder is missing (killed between the two renames of ``_swap_into_place``), else removed. Returns the removed
    paths."""
    removed = []
    base = parent / ".staging"
    if not base.is_dir():
        return removed
    for d in sorted(base.iterdir()):
        parts = d.name.rsplit(".", 2)
        if not (len(parts) == 3 and parts[1].isdigit() and not _pid_alive(int(parts[1]))):
            continue
        name = parts[0][:-len(".old")] if parts[0].endswith(".old") else None
        if name and not (parent / name).exists() and _manifest_names(d, name):
            try:
                os.rename(d, parent / name)
                warnings.warn(f"feature set {parent.name}/{name}: an import with --overwrite was killed after moving "
                              f"the old set aside ({d}); the old set is back in {parent / name}", stacklevel=2)
                continue
            except OSError:  # another process restored it first, or the folder appeared: remove as below
                pass
        shutil.rmtree(d, ignore_errors=True)
        if not d.exists():
            warnings.warn(f"removed {d}: the leftover of an import that was killed (process {parts[1]} is gone)",
                          stacklevel=2)
            removed.append(d)
    _remove_if_empty(base)
    return removed


def _manifest_names(folder: Path, name: str) -> bool:
    """Whether ``folder`` holds a whole feature set called ``name`` (its manifest is written last and says so)."""
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("features") == name
    except (OSError, ValueError, AttributeError):
        return False


def _staging_dir(final: Path) -> Path:
    clean_stale_staging(final.parent)
    d = final.parent / ".staging" / f"{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    d.mkdir(parents=True)
    return d


def checksum_of(video_ids: Sequence[str], identifiers: Sequence[str], feats16: np.ndarray,
                concept_ids: Optional[np.ndarray], concept_scores: Optional[np.ndarray],
                partition: Optional[np.ndarray], concepts: Optional[ConceptVocabulary]) -> str:
    """sha256 over the canonical content (row order included); stable across machines."""
    h = hashlib.sha256()

    def part(tag: str, data: bytes) -> None:
        h.update(f"{tag}:{len(data)}:".encode())
        h.update(data)

    part("video_id", "\n".join(video_ids).encode())
    part("label", "\n".join(identifiers).encode())
    part(f"features{feats16.shape}", np.ascontiguousarray(feats16, dtype="<f2").data)
    if concept_ids is not None:
        part(f"concept_ids{concept_ids.shape}", np.ascontiguousarray(concept_ids, dtype="<i4").data)
        part("concept_scores", np.ascontiguousarray(concept_scores, dtype="<f4").data)
    if partition is not None:
        part("partition", np.ascontiguousarray(partition, dtype=np.int8).data)
    if concepts is not None:
        part("concepts", json.dumps([list(concepts.names), list(concepts.definitions)]).encode())
    return h.hexdigest()


def _examples(ids: Sequence[str], n: int = 10) -> str:
    ids = list(ids)
    more = f" (+{len(ids) - n} more)" if len(ids) > n else ""
    return ", ".join(map(str, ids[:n])) + more


def validate_rows(dataset: str, video_ids: np.ndarray, labels: np.ndarray, features: np.ndarray,
                  concept_ids: Optional[np.ndarray], concept_scores: Optional[np.ndarray],
                  partition: Optional[np.ndarray], concepts: Optional[ConceptVocabulary],
                  allow_empty_classes: bool) -> np.ndarray:
    """Every check a stored table must pass; returns the features as float16. Raises FeatureStoreError."""
    ds = get_dataset(dataset)
    n = len(video_ids)
    labels = _check_rows(dataset, ds.n_classes, video_ids, labels, features)
    feats16 = _float16_features(features, video_ids)
    if concept_ids is not None or concept_scores is not None:
        _check_concepts(video_ids, concept_ids, concept_scores, concepts)
    if partition is not None:
        if len(partition) != n or not np.isin(partition, (TRAIN, TEST)).all():
            raise FeatureStoreError("partition must give train or test for every video")
    present = np.bincount(labels, minlength=ds.n_classes) > 0
    if not present.all() and not allow_empty_classes:
        empty = [ds.identifiers[i] for i in np.flatnonzero(~present)]
        raise FeatureStoreError(f"{len(empty)} of {ds.n_classes} {dataset} classes have no videos: {_examples(empty)}. "
                                "Check the source covers the whole dataset, or pass --allow-empty-classes "
                                "(protocols naming those classes will then refuse to run)")
    return feats16


def _check_rows(dataset: str, n_classes: int, video_ids: np.ndarray, labels: np.ndarray,
                features: np.ndarray) -> np.ndarray:
    """One features row and one label per video, at least one video, each id once, labels class indices;
    returns the labels as an array."""
    n = len(video_ids)
    if n == 0:
        raise FeatureStoreError("no videos to import: the source is empty or nothing matched")
    if features.ndim != 2 or features.shape[0] != n:
        raise FeatureStoreError(f"features have shape {features.shape}, expected ({n}, dim): one row per video")
    if features.shape[1] == 0:
        raise FeatureStoreError("features have dimension 0")
    if len(labels) != n:
        raise FeatureStoreError(f"{len(labels)} labels for {n} videos")
    uniq, counts = np.unique(np.asarray(video_ids, dtype=str), return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1]
        raise FeatureStoreError(f"{len(dup)} duplicate video ids: {_examples(dup)}. Each video must appear once; "
                                "remove the duplicates from the source (or give them distinct ids)")
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu" or (n and (labels.min() < 0 or labels.max() >= n_classes)):
        raise FeatureStoreError(f"labels must be indices into {dataset}'s {n_classes} classes")
    return labels


def _float16_features(features: np.ndarray, video_ids: np.ndarray) -> np.ndarray:
    """``features`` as float16, every value finite and within float16's range."""
    # finiteness and float16 range, checked in blocks so a 100k x 2048 matrix never doubles in memory
    n = len(video_ids)
    bad: list[int] = []
    too_big: list[int] = []
    step = max(1, (1 << 24) // features.shape[1])
    if features.dtype == np.float16:  # already the stored type: check in place, no copy
        feats16 = np.ascontiguousarray(features)
        for s in range(0, n, step):
            bad += (np.flatnonzero(~np.isfinite(feats16[s:s + step]).all(axis=1)) + s).tolist()
    else:
        feats16 = np.empty(features.shape, np.float16)
        for s in range(0, n, step):
            block = np.asarray(features[s:s + step], dtype=np.float32)
            fin = np.isfinite(block).all(axis=1)
            bad += (np.flatnonzero(~fin) + s).tolist()
            big = (np.abs(np.where(np.isfinite(block), block, 0)) > FLOAT16_MAX).any(axis=1)
            too_big += (np.flatnonzero(big) + s).tolist()
            with np.errstate(over="ignore"):  # values beyond float16 are reported just below
                feats16[s:s + step] = block
    if bad:
        raise FeatureStoreError(f"{len(bad)} videos have NaN or inf features: {_examples(video_ids[bad])}. "
                                "Re-extract them or leave them out of the source")
    if too_big:
        raise FeatureStoreError(f"{len(too_big)} videos have feature values beyond the float16 range (+-65504): "
                                f"{_examples(video_ids[too_big])}. Rescale the features before importing")
    return feats16


def _check_concepts(video_ids: np.ndarray, concept_ids: Optional[np.ndarray], concept_scores: Optional[np.ndarray],
                    concepts: Optional[ConceptVocabulary]) -> None:
    """Object concepts: ids and scores both given, ([videos], K) each, ids in ``concepts``, scores finite."""
    n = len(video_ids)
    if concept_ids is None or concept_scores is None:
        raise FeatureStoreError("object concepts need both ids and scores")
    if concepts is None:
        raise FeatureStoreError("object concept ids need a concept vocabulary (--concepts FILE, or "
                                "--bit-lemmas/--bit-wnids for BiT's ImageNet-21k ids)")
    if concept_ids.ndim != 2 or concept_ids.shape[0] != n or concept_scores.shape != concept_ids.shape:
        raise FeatureStoreError(f"concept ids {concept_ids.shape} and scores {concept_scores.shape} must both be "
                                f"({n}, K)")
    if concept_ids.size and (concept_ids.min() < 0 or concept_ids.max() >= len(concepts)):
        rows = np.flatnonzero(((concept_ids < 0) | (concept_ids >= len(concepts))).any(axis=1))
        raise FeatureStoreError(f"{len(rows)} videos have concept ids outside the vocabulary of {len(concepts)} "
                                f"concepts: {_examples(video_ids[rows])}. Is the vocabulary file the right one?")
    if not np.isfinite(concept_scores).all():
        rows = np.flatnonzero(~np.isfinite(concept_scores).all(axis=1))
        raise FeatureStoreError(f"{len(rows)} videos have NaN or inf concept scores: {_examples(video_ids[rows])}")


def _fixed_list(flat: np.ndarray, width: int):
    import pyarrow as pa

    return pa.FixedSizeListArray.from_arrays(pa.array(np.ascontiguousarray(flat).reshape(-1)), width)


def write_arrow_feature_set(dataset: str, name: str, *, video_ids: Sequence[str], labels: np.ndarray,
                            features: np.ndarray, concept_ids: Optional[np.ndarray] = None,
                            concept_scores: Optional[np.ndarray] = None, partition: Optional[np.ndarray] = None,
                            concepts: Optional[ConceptVocabulary] = None, concept_wordnet_ids: Optional[Sequence[str]] = None,
                            source: str, backbone: str = "unknown", missing: Sequence[str] = (),
                            extra: Optional[dict] = None, overwrite: bool = False, allow_empty_classes: bool = False,
                            root: Optional[Path] = None) -> dict:
    """Validate and store a feature set atomically; returns its manifest.

    ``labels`` are indices into the dataset's canonical class list; ``partition`` holds TRAIN/TEST
    (0/1) per video or is None; ``features`` may be any float dtype and is stored as float16.
    """
    import datasets

    check_real_name(name)
    t0 = time.perf_counter()
    ds = get_dataset(dataset)
    final = Path(root) if root is not None else feature_root(dataset, name)
    _check_target(final, dataset, name, overwrite)
    video_ids = np.asarray([str(v) for v in video_ids])
    labels = np.asarray(labels)
    if concept_ids is not None:
        concept_ids = np.asarray(concept_ids, dtype=np.int64)
        concept_scores = np.asarray(concept_scores, dtype=np.float32)
    if partition is not None:
        partition = np.asarray(partition, dtype=np.int8)
    feats16 = validate_rows(dataset, video_ids, labels, features, concept_ids, concept_scores, partition, concepts,
                            allow_empty_classes)
    all_ids = ds.identifiers
    identifiers = [all_ids[i] for i in labels.tolist()]
    checksum = checksum_of(video_ids.tolist(), identifiers, feats16,
                           None if concept_ids is None else concept_ids.astype(np.int32), concept_scores,
                           partition, concepts)
    table, top_k = _arrow_table(video_ids, identifiers, feats16, concept_ids, concept_scores, partition)
    manifest = _new_manifest(dataset, name, checksum, feats16.shape, top_k, concepts, concept_wordnet_ids, partition,
                             labels, ds.n_classes, missing, source, backbone, extra)
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = _staging_dir(final)
    try:
        was_disabled = datasets.are_progress_bars_disabled()
        datasets.disable_progress_bars()
        try:
            # our checksum is the fingerprint: datasets would otherwise pickle the whole table to hash it
            datasets.Dataset(table, fingerprint=checksum[:16]).save_to_disk(str(stage / TABLE_DIR))
        finally:
            if not was_disabled:
                datasets.enable_progress_bars()
        _write_side_files(stage, concepts, concept_wordnet_ids, missing)
        manifest["write_s"] = round(time.perf_counter() - t0, 3)
        manifest["files"] = file_digests(stage)  # size + sha256 of every data file, checked on load
        (stage / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        _swap_into_place(stage, final, overwrite)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        _remove_if_empty(stage.parent)
    return manifest


def _check_target(final: Path, dataset: str, name: str, overwrite: bool) -> None:
    """``final`` may become the feature set: free, or a feature set to replace with ``overwrite``."""
    if (final / "manifest.json").exists() and not overwrite:
        raise FeatureStoreError(f"feature set {dataset}/{name} already exists at {final}; pass --overwrite to "
                                "replace it, or choose another name")
    if final.exists() and not (final / "manifest.json").exists():
        raise FeatureStoreError(f"{final} exists but is not a feature set (no manifest.json); move it away or "
                                "choose another name")


def _arrow_table(video_ids: np.ndarray, identifiers: list[str], feats16: np.ndarray,
                 concept_ids: Optional[np.ndarray], concept_scores: Optional[np.ndarray],
                 partition: Optional[np.ndarray]):
    """(the table's columns as a pyarrow Table, top-k of the concepts or None)."""
    import pyarrow as pa

    dim = feats16.shape[1]
    cols = {"video_id": pa.array(video_ids.tolist(), pa.string()), "label": pa.array(identifiers, pa.string()),
            "features": _fixed_list(feats16, dim)}
    top_k = None
    if concept_ids is not None:
        top_k = int(concept_ids.shape[1])
        cols["concept_ids"] = _fixed_list(concept_ids.astype(np.int32), top_k)
        cols["concept_scores"] = _fixed_list(concept_scores.astype(np.float32), top_k)
    if partition is not None:
        cols["partition"] = pa.array(np.where(partition == TEST, "test", "train").tolist(), pa.string())
    return pa.table(cols), top_k


def _new_manifest(dataset: str, name: str, checksum: str, shape: tuple[int, int], top_k: Optional[int],
                  concepts: Optional[ConceptVocabulary], concept_wordnet_ids: Optional[Sequence[str]],
                  partition: Optional[np.ndarray], labels: np.ndarray, n_classes: int, missing: Sequence[str],
                  source: str, backbone: str, extra: Optional[dict]) -> dict:
    """The manifest's entries known before the write (``write_s`` and ``files`` come after it)."""
    n, dim = shape
    present = np.bincount(labels, minlength=n_classes) > 0
    return {
        "format_version": FORMAT_VERSION, "dataset": dataset, "features": name,
        "identity": f"{name}-{checksum[:8]}", "checksum": checksum,
        "n_videos": int(n), "dim": int(dim), "dtype": "float16", "top_k": top_k,
        "n_concepts": None if concepts is None else len(concepts),
        "concepts_source": None if concepts is None else concepts.source,
        "concepts_with_definitions": None if concepts is None else int(sum(bool(d) for d in concepts.definitions)),
        "concepts_have_wordnet_ids": concept_wordnet_ids is not None,
        "has_partition": partition is not None,
        "n_test_partition": None if partition is None else int((partition == TEST).sum()),
        "n_classes": n_classes, "n_classes_present": int(present.sum()),
        "n_missing": len(missing), "source": source, "backbone": backbone,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **(extra or {}),
    }


def _write_side_files(stage: Path, concepts: Optional[ConceptVocabulary],
                      concept_wordnet_ids: Optional[Sequence[str]], missing: Sequence[str]) -> None:
    """concepts.json (with object concepts) and missing.txt (when videos are missing) next to the table."""
    if concepts is not None:
        doc = {"source": concepts.source, "names": list(concepts.names), "definitions": list(concepts.definitions)}
        if concept_wordnet_ids is not None:
            doc["wordnet_ids"] = list(concept_wordnet_ids)
        (stage / "concepts.json").write_text(json.dumps(doc), encoding="utf-8")
    if missing:
        (stage / "missing.txt").write_text("\n".join(map(str, missing)) + "\n", encoding="utf-8")


def _remove_if_empty(d: Path) -> None:
    try:
        d.rmdir()
    except OSError:
        pass


def _swap_into_place(stage: Path, final: Path, overwrite: bool) -> None:
    old = None
    if final.exists():
        if not overwrite and (final / "manifest.json").exists():
            raise FeatureStoreError(f"{final} appeared while importing; pass --overwrite to replace it")
        old = final.parent / ".staging" / f"{final.name}.old.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        os.rename(final, old)
    try:
        os.rename(stage, final)
    except OSError as e:
        if old is not None:
            os.rename(old, final)
        raise FeatureStoreError(f"could not move the new feature set into {final}: {e}") from e
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _fixed_list_to_numpy(col, width: int, dtype) -> np.ndarray:
    """A chunked fixed-size-list column to one [N, width] array, converting chunk by chunk."""
    n = len(col)
    out = np.empty((n, width), dtype)
    s = 0
    for ch in col.chunks:
        if len(ch) == 0:
            continue
        flat = ch.values
        if ch.offset or len(flat) != len(ch) * width:  # a sliced chunk: values start at offset * width
            flat = flat.slice(ch.offset * width, len(ch) * width)
        out[s:s + len(ch)] = flat.to_numpy(zero_copy_only=False).reshape(-1, width)
        s += len(ch)
    return out


def load_concepts(root: Path) -> Optional[ConceptVocabulary]:
    f = root / "concepts.json"
    if not f.is_file():
        return None
    doc = read_json_checked(f, "concept vocabulary", f"re-import the feature set in {root} with --overwrite")
    if not isinstance(doc, dict) or not isinstance(doc.get("names"), list):
        raise FeatureStoreError(f"{f}: expected an object with a 'names' list; re-import the feature set in {root} "
                                "with --overwrite")
    names, defs = doc["names"], doc.get("definitions") or [""] * len(doc["names"])
    return ConceptVocabulary(tuple(names), tuple(defs), source=doc.get("source", "unknown"))


def load_arrow_feature_set(dataset: str, name: str, root: Path) -> FeatureSet:
    import datasets
    import pyarrow.compute as pc

    root = Path(root)
    manifest = read_manifest(root, dataset, name)
    fix = (f"re-import it: `run_bench.py import-features {dataset} {name} --from ... --overwrite`")
    lacking = [k for k in ("dim", "n_videos", "checksum") if k not in manifest]
    if lacking:
        raise FeatureStoreError(f"{dataset}/{name}: {root / 'manifest.json'} lacks {', '.join(lacking)}; {fix}")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise FeatureStoreError(f"{dataset}/{name} was written by a newer zsar-bench (format "
                                f"{manifest.get('format_version')}); upgrade zsar-bench or {fix}")
    if manifest.get("dataset") not in (None, dataset):
        raise FeatureStoreError(f"{root} holds features for {manifest.get('dataset')!r}, not {dataset!r}")
    if isinstance(manifest.get("files"), dict):
        try:
            verify_files(root, manifest["files"], f"feature set {dataset}/{name}", fix)
        except IntegrityError as e:
            raise FeatureStoreError(str(e)) from None
    try:
        table = datasets.load_from_disk(str(root / TABLE_DIR)).data.table
    except (FileNotFoundError, ValueError, OSError) as e:
        raise FeatureStoreError(f"{dataset}/{name}: the table under {root / TABLE_DIR} cannot be read ({e}); {fix}") from e
    dim = int(manifest["dim"])
    if table.num_rows != manifest["n_videos"] or "features" not in table.column_names:
        raise FeatureStoreError(f"{dataset}/{name}: table has {table.num_rows} rows, manifest says "
                                f"{manifest['n_videos']}; the store is damaged, {fix}")
    feats = _fixed_list_to_numpy(table.column("features"), dim, np.float32)
    ds = get_dataset(dataset)
    enc = pc.dictionary_encode(table.column("label")).combine_chunks()
    lut = []
    for ident in enc.dictionary.to_pylist():
        if ident not in ds.index:
            raise FeatureStoreError(f"{dataset}/{name}: class {ident!r} is not in {dataset}'s class list any more; {fix}")
        lut.append(ds.index[ident])
    labels = np.asarray(lut, dtype=np.int64)[enc.indices.to_numpy(zero_copy_only=False)]
    video_ids = table.column("video_id").to_numpy().astype(str)
    concept_ids = concept_scores = concepts = None
    if "concept_ids" in table.column_names:
        k = int(manifest["top_k"])
        concept_ids = _fixed_list_to_numpy(table.column("concept_ids"), k, np.int32)
        concept_scores = _fixed_list_to_numpy(table.column("concept_scores"), k, np.float32)
        concepts = load_concepts(root)
        if concepts is None:
            raise FeatureStoreError(f"{dataset}/{name}: concepts.json is missing; {fix}")
        if manifest.get("concepts_have_wordnet_ids") and not any(concepts.definitions):
            warnings.warn(f"{dataset}/{name}: the concept vocabulary has lemmas but no WordNet definitions (WordNet "
                          "was not available to nltk at import); methods that read 'name: definition' see names "
                          "only. Install WordNet 3.0 for nltk and re-import with --overwrite", stacklevel=2)
    partition = None
    if "partition" in table.column_names:
        partition = pc.equal(table.column("partition"), "test").to_numpy(zero_copy_only=False).astype(np.int8)
    checksum = manifest["checksum"]
    fs = FeatureSet(dataset, name, f"{name}-{checksum[:8]}", Videos(feats, concept_ids, concept_scores, video_ids),
                      labels, partition, concepts, manifest)
    if not isinstance(manifest.get("files"), dict) and not verify_checksum(fs):  # stores written before file checksums
        raise FeatureStoreError(f"{dataset}/{name}: the features do not match the checksum in manifest.json; {fix}")
    return fs


def verify_checksum(fs: FeatureSet) -> bool:
    """Recompute the content checksum of a loaded set (seconds for 100k videos)."""
    ds = get_dataset(fs.dataset)
    idents = ds.identifiers
    got = checksum_of(fs.videos.video_ids.tolist(), [idents[i] for i in fs.labels.tolist()],
                      fs.videos.features.astype(np.float16), fs.videos.concept_ids, fs.videos.concept_scores,
                      fs.partition, fs.concepts)
    return got == fs.manifest.get("checksum")
