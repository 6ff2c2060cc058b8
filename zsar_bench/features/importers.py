"""``import-features``: bring precomputed features into the store from three layouts.

- ``er``: ER's release layout. A folder of per-video ``.npy`` files of shape (1, D) (or (D,)),
  labelled either by metas JSONL files (``{"videoname", "nframes", "label"}``; the file for a
  video is ``<folder>/<videoname without extension>.npy``) or by class sub-folders
  (``<folder>/<class>/<video>.npy``). Objects: BiT's top-k predictions JSON
  (``{video: [[ids], [scores]]}``) with BiT's ``imagenet21k_wordnet_lemmas.txt`` and
  ``imagenet21k_wordnet_ids.txt``.
- ``generic``: one ``.npy``/``.npz`` matrix [N, D] with a CSV/TSV/Parquet/JSONL index of N rows
  (video id, class, optional partition); objects from the ``.npz`` (``concept_ids``,
  ``concept_scores``) or ``--objects`` (row-aligned ``.npz`` or an ER-style JSON keyed by video id).
- ``hf``: a Hugging Face dataset saved with ``save_to_disk`` (Dataset or DatasetDict), or a hub id
  when the machine is online.

Every layout ends in ``write_arrow_feature_set``, which validates (unknown classes, NaN/inf, float16
range, duplicate ids, dimensions, classes without videos, concept ids) and writes atomically.
Videos the source lists but cannot supply (no feature file, no object predictions) are counted,
reported and written to ``missing.txt``; ``strict=True`` turns them into an error.
"""
from __future__ import annotations

import json
import os
import re
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import numpy as np
from tqdm import tqdm

from ..datasets import get_dataset
from ..types import ConceptVocabulary
from .arrow_store import _examples, check_real_name, write_arrow_feature_set
from .base import TEST, TRAIN, FeatureStoreError, feature_root

Log = Callable[[str], None]

ID_COLUMNS = ("video_id", "video", "videoname", "video_name", "id", "clip_id", "clip", "name")
LABEL_COLUMNS = ("label", "class", "class_name", "classname", "label_name", "action", "category")
PARTITION_COLUMNS = ("partition", "split", "subset")
FEATURE_COLUMNS = ("features", "feature", "feats", "feat", "embedding", "embeddings", "x")
CONCEPT_ID_COLUMNS = ("concept_ids", "object_ids", "objects")
CONCEPT_SCORE_COLUMNS = ("concept_scores", "object_scores", "scores")
TRAIN_WORDS = {"train", "trn", "training", "0"}
TEST_WORDS = {"test", "tst", "testing", "heldout", "held-out", "held_out", "1"}


# --------------------------------------------------------------------------------------- classes
def class_key(s: str) -> str:
    """Case, spacing, punctuation and CamelCase insensitive: 'ApplyEyeMakeup' == 'apply eye makeup'."""
    return re.sub(r"[^a-z0-9]", "", str(s).lower())


def _read_class_order(path: str | Path) -> dict[int, str]:
    """What integer labels mean: {int: class name}. Formats: a JSON list of names or of {word: ...}
    (ER's classes_label_defn.json), 'N name' lines (UCF101's classInd.txt, 1-based as written),
    a TSV whose first column is the name, or one name per line (0-based)."""
    p = Path(path)
    if not p.is_file():
        raise FeatureStoreError(f"--classes {path}: file not found")
    text = p.read_text(encoding="utf-8")
    if p.suffix == ".json":
        doc = json.loads(text)
        if isinstance(doc, dict):
            doc = doc.get("classes") or doc.get("names") or list(doc.values())
        names = [d.get("word") or d.get("name") or d.get("identifier") if isinstance(d, dict) else d for d in doc]
        return {i: str(n) for i, n in enumerate(names)}
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    numbered = [re.match(r"^\s*(\d+)[\s,]+(.+?)\s*$", ln) for ln in lines]
    if lines and all(numbered):
        return {int(m.group(1)): m.group(2) for m in numbered}
    return {i: ln.split("\t")[0].strip() for i, ln in enumerate(lines)}


class ClassResolver:
    """Maps raw labels (identifiers, readable names, or integers with a class order) to canonical indices."""

    def __init__(self, dataset: str, classes: Optional[str] = None):
        self.dataset = dataset
        self.ds = get_dataset(dataset)
        self.by_key: dict[str, int] = {}
        for i, (ident, name) in enumerate(zip(self.ds.identifiers, self.ds.names)):
            self.by_key.setdefault(class_key(ident), i)
            self.by_key.setdefault(class_key(name), i)
        self.order: Optional[dict[int, int]] = None
        if classes == "canonical":
            self.order = {i: i for i in range(self.ds.n_classes)}
        elif classes:
            raw = _read_class_order(classes)
            bad = [n for n in raw.values() if class_key(n) not in self.by_key]
            if bad:
                raise FeatureStoreError(f"--classes {classes}: {len(bad)} names are not {dataset} classes: {_examples(bad)}")
            self.order = {k: self.by_key[class_key(n)] for k, n in raw.items()}

    def _one(self, v) -> Optional[int]:
        if isinstance(v, (int, np.integer)) or (isinstance(v, str) and v.strip().isdigit()):
            if self.order is None:
                raise FeatureStoreError(
                    f"labels are integers (e.g. {v!r}), and integers mean different classes in different releases "
                    f"(ER's UCF101 ids are alphabetical, classInd.txt is 1-based). Pass --classes FILE (ER's "
                    f"classes_label_defn.json, classInd.txt, or one name per line) or --classes canonical for "
                    f"0-based indices into zsar_bench/data/classes/{self.dataset}.tsv")
            return self.order.get(int(v))
        if isinstance(v, float) and v.is_integer():
            return self._one(int(v))
        return self.by_key.get(class_key(v))

    def resolve(self, values: Sequence) -> np.ndarray:
        values = [v.item() if isinstance(v, np.generic) else v for v in values]
        mapping: dict = {}
        unknown = []
        for v in dict.fromkeys(values):
            idx = self._one(v)
            if idx is None:
                unknown.append(v)
            else:
                mapping[v] = idx
        if unknown:
            choices = self.ds.identifiers + self.ds.names
            hints = []
            for u in unknown[:15]:
                m = get_close_matches(str(u), choices, 1, 0.6)
                hints.append(f"{u!r} (did you mean {m[0]!r}?)" if m else repr(u))
            more = f" (+{len(unknown) - 15} more)" if len(unknown) > 15 else ""
            raise FeatureStoreError(
                f"{len(unknown)} unknown {self.dataset} class names: {', '.join(hints)}{more}. Use the identifiers "
                f"or names of zsar_bench/data/classes/{self.dataset}.tsv (case, spaces, '_' and CamelCase are "
                "ignored); for integer labels pass --classes FILE")
        return np.fromiter((mapping[v] for v in values), dtype=np.int64, count=len(values))


def parse_partition(values: Sequence) -> np.ndarray:
    out = np.empty(len(values), np.int8)
    bad = set()
    for i, v in enumerate(values):
        s = str(v).strip().lower()
        if s in TRAIN_WORDS:
            out[i] = TRAIN
        elif s in TEST_WORDS:
            out[i] = TEST
        else:
            bad.add(str(v))
    if bad:
        raise FeatureStoreError(f"partition values must be train or test (or trn/tst, 0/1); got {_examples(sorted(bad))}")
    return out


# --------------------------------------------------------------------------------------- concepts
def wordnet_definitions(wnids: Sequence[str]) -> Optional[list[str]]:
    """WordNet definitions for ids like 'n00004475' (ER's lower-cased form), or None without WordNet."""
    try:
        from nltk.corpus import wordnet as wn

        wn.ensure_loaded()
    except (ImportError, LookupError, OSError):
        return None
    out = []
    for w in wnids:
        try:
            out.append(wn.synset_from_pos_and_offset(w[0], int(w[1:])).definition().lower())
        except Exception:  # noqa: BLE001 - an id WordNet 3.0 lacks: keep the lemma alone
            out.append("")
    return out


def bit_vocabulary(lemmas: str | Path, wnids: Optional[str | Path] = None, log: Log = print
                   ) -> tuple[ConceptVocabulary, Optional[list[str]]]:
    """BiT's ImageNet-21k concepts as ER used them: lemma line lower-cased with '_' -> ' ', plus the
    WordNet definition of the matching id (empty, with a warning, when WordNet is not installed)."""
    lp = Path(lemmas)
    if not lp.is_file():
        raise FeatureStoreError(f"--bit-lemmas {lemmas}: file not found (BiT's imagenet21k_wordnet_lemmas.txt)")
    names = [x.strip().lower().replace("_", " ") for x in lp.read_text(encoding="utf-8").splitlines()]
    while names and not names[-1]:
        names.pop()
    ids = None
    defs = [""] * len(names)
    how = "no WordNet ids given"
    if wnids is not None:
        wp = Path(wnids)
        if not wp.is_file():
            raise FeatureStoreError(f"--bit-wnids {wnids}: file not found (BiT's imagenet21k_wordnet_ids.txt)")
        ids = [x.strip() for x in wp.read_text(encoding="utf-8").splitlines() if x.strip()]
        if len(ids) != len(names):
            raise FeatureStoreError(f"--bit-wnids has {len(ids)} lines but --bit-lemmas has {len(names)}; they must "
                                    "be the two ImageNet-21k files of the same BiT release")
        got = wordnet_definitions(ids)
        if got is None:
            how = "WordNet not available: lemmas only"
            msg = ("WordNet is not available to nltk, so concepts get lemmas only, with empty definitions "
                   "(ER used 'lemma: definition'). Install WordNet 3.0 for nltk and re-import with --overwrite "
                   "to add them")
            warnings.warn(msg, stacklevel=2)
        else:
            defs, how = got, "WordNet 3.0 definitions via nltk"
    return ConceptVocabulary(tuple(names), tuple(defs), source=f"BiT ImageNet-21k lemmas ({how})"), ids


def vocabulary_from_file(path: str | Path) -> ConceptVocabulary:
    """A concept vocabulary: TSV 'name<TAB>definition' (or names only) or JSON (list of names, list of
    {name, definition}, or {names, definitions})."""
    p = Path(path)
    if not p.is_file():
        raise FeatureStoreError(f"--concepts {path}: file not found")
    if p.suffix == ".json":
        doc = json.loads(p.read_text(encoding="utf-8"))
        if isinstance(doc, dict):
            names, defs = doc["names"], doc.get("definitions") or [""] * len(doc["names"])
        else:
            names = [d["name"] if isinstance(d, dict) else str(d) for d in doc]
            defs = [(d.get("definition") or d.get("defn") or "") if isinstance(d, dict) else "" for d in doc]
    else:
        rows = [ln.split("\t") for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
        names = [r[0].strip() for r in rows]
        defs = [r[1].strip() if len(r) > 1 else "" for r in rows]
    return ConceptVocabulary(tuple(names), tuple(defs), source=f"file {p.name}")


def resolve_vocabulary(concepts_file=None, bit_lemmas=None, bit_wnids=None, log: Log = print):
    if concepts_file and bit_lemmas:
        raise FeatureStoreError("give either --concepts or --bit-lemmas/--bit-wnids, not both")
    if concepts_file:
        return vocabulary_from_file(concepts_file), None
    if bit_lemmas:
        return bit_vocabulary(bit_lemmas, bit_wnids, log)
    if bit_wnids:
        raise FeatureStoreError("--bit-wnids needs --bit-lemmas (BiT's imagenet21k_wordnet_lemmas.txt) too")
    return None, None


def read_topk_json(path: str | Path) -> dict[str, tuple[list, list]]:
    """ER/BiT top-k predictions: {video: [[ids], [scores]]} (video names with or without extension)."""
    p = Path(path)
    if not p.is_file():
        raise FeatureStoreError(f"--objects {path}: file not found")
    doc = json.loads(p.read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise FeatureStoreError(f"--objects {path}: expected a JSON object {{video: [[ids], [scores]]}}")
    out = {}
    for k, v in doc.items():
        if not (isinstance(v, (list, tuple)) and len(v) == 2 and len(v[0]) == len(v[1])):
            raise FeatureStoreError(f"--objects {path}: entry {k!r} is not [[ids], [scores]] of equal length")
        out[os.path.splitext(k)[0] if k.endswith((".mp4", ".avi", ".mkv", ".webm")) else k] = (v[0], v[1])
    return out


# --------------------------------------------------------------------------------------- collected rows
@dataclass
class Collected:
    """What a layout reader hands to ``finish``: rows in source order plus what it could not supply."""

    video_ids: list[str]
    labels: np.ndarray
    features: np.ndarray
    partition: Optional[np.ndarray] = None
    concept_ids: Optional[np.ndarray] = None
    concept_scores: Optional[np.ndarray] = None
    missing: dict[str, list[str]] = field(default_factory=dict)  # reason -> video ids
    n_listed: int = 0
    notes: list[str] = field(default_factory=list)


def attach_topk(col: Collected, preds: dict[str, tuple[list, list]]) -> Collected:
    """Attach top-k predictions keyed by video id; videos without predictions move to missing."""
    have = np.array([v in preds for v in col.video_ids], dtype=bool)
    no_obj = [v for v, h in zip(col.video_ids, have) if not h]
    keep = np.flatnonzero(have)
    ks = {len(preds[col.video_ids[i]][0]) for i in keep}
    if len(ks) > 1:
        raise FeatureStoreError(f"object predictions have different lengths {sorted(ks)}; every video needs the same top-k")
    k = ks.pop() if ks else 0
    ids = np.array([preds[col.video_ids[i]][0] for i in keep], dtype=np.int64).reshape(len(keep), k)
    sc = np.array([preds[col.video_ids[i]][1] for i in keep], dtype=np.float32).reshape(len(keep), k)
    col = subset(col, keep)
    col.concept_ids, col.concept_scores = ids, sc
    if no_obj:
        col.missing["no object predictions"] = col.missing.get("no object predictions", []) + no_obj
    return col


def subset(col: Collected, keep: np.ndarray) -> Collected:
    pick = lambda a: None if a is None else a[keep]  # noqa: E731
    return Collected([col.video_ids[i] for i in keep], col.labels[keep], col.features[keep], pick(col.partition),
                     pick(col.concept_ids), pick(col.concept_scores), dict(col.missing), col.n_listed, list(col.notes))


def finish(dataset: str, name: str, col: Collected, *, source: str, backbone: str, layout: str,
           concepts: Optional[ConceptVocabulary] = None, wnids: Optional[list[str]] = None, strict: bool = False,
           allow_empty_classes: bool = False, overwrite: bool = False, expect_dim: Optional[int] = None,
           log: Log = print, root: Optional[Path] = None, model: Optional[dict] = None,
           model_dim: Optional[int] = None) -> dict:
    """Validate and store; ``model`` (CLIP features: {"kind", "key", "identity"}) goes into the manifest,
    and the features must then have ``model_dim`` (the checkpoint's projection_dim) columns when given."""
    missing = [v for ids in col.missing.values() for v in ids]
    if expect_dim is not None and col.features.shape[1] != expect_dim:
        raise FeatureStoreError(f"features have dimension {col.features.shape[1]}, --dim says {expect_dim}")
    if model_dim is not None and col.features.shape[1] != model_dim:
        raise FeatureStoreError(f"features have dimension {col.features.shape[1]}, but the CLIP model given by "
                                f"--clip-weights ({model['key'] if model else '?'}) embeds in {model_dim} dimensions "
                                "(projection_dim): were they computed with another checkpoint?")
    if missing:
        detail = "; ".join(f"{why}: {len(ids)} (e.g. {_examples(ids, 3)})" for why, ids in col.missing.items() if ids)
        msg = f"{len(missing)} of {col.n_listed} videos the source lists could not be imported ({detail})"
        if strict:
            raise FeatureStoreError(msg + ". Supply them, or drop --strict to import the rest (the ids are then "
                                    "recorded in missing.txt next to the manifest)")
        log(f"warning: {msg}; they are left out and listed in {root or feature_root(dataset, name)}/missing.txt")
    if col.concept_ids is not None and concepts is None:
        raise FeatureStoreError("the source has object concept ids but no vocabulary: pass --concepts FILE "
                                "(one name per line or name<TAB>definition) or --bit-lemmas/--bit-wnids")
    extra = {"layout": layout, "n_listed": int(col.n_listed),
             "missing_by_reason": {k: len(v) for k, v in col.missing.items() if v}}
    if model is not None:
        extra["model"] = model
    return write_arrow_feature_set(
        dataset, name, video_ids=col.video_ids, labels=col.labels, features=col.features,
        concept_ids=col.concept_ids, concept_scores=col.concept_scores, partition=col.partition,
        concepts=concepts if col.concept_ids is not None else None,
        concept_wordnet_ids=wnids if col.concept_ids is not None else None,
        source=source, backbone=backbone, missing=missing, extra=extra, overwrite=overwrite,
        allow_empty_classes=allow_empty_classes, root=root)


def precheck_target(dataset: str, name: str, overwrite: bool, root: Optional[Path] = None) -> Path:
    """The feature set's folder; an error when the name is invalid or taken (without --overwrite). Importers and
    extractors call it before any work."""
    check_real_name(name)
    get_dataset(dataset)
    final = Path(root) if root is not None else feature_root(dataset, name)
    if (final / "manifest.json").exists() and not overwrite:
        raise FeatureStoreError(f"feature set {dataset}/{name} already exists at {final}; pass --overwrite to "
                                "replace it, or choose another name")
    return final


# --------------------------------------------------------------------------------------- er layout
def _read_jsonl(path: str | Path) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        raise FeatureStoreError(f"metas file {path} not found")
    out = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise FeatureStoreError(f"{path}:{n}: not valid JSON ({e})") from None
        if "videoname" not in rec or "label" not in rec:
            raise FeatureStoreError(f"{path}:{n}: each line needs 'videoname' and 'label' (ER's metas format)")
        out.append(rec)
    return out


def _load_npy_rows(files: list[Path], ids: list[str], expect_dim: Optional[int], progress: bool
                   ) -> tuple[np.ndarray, int]:
    """Stack per-video .npy files of shape (1, D) or (D,) into [N, D] float32; wrong shapes are an error."""
    if not files:
        raise FeatureStoreError("no feature files found")
    if expect_dim is None:  # the commonest last dimension among the first files (headers only)
        dims = Counter(int(np.load(f, mmap_mode="r").shape[-1]) for f in files[:100])
        expect_dim = dims.most_common(1)[0][0]
    dim = expect_dim
    out = np.empty((len(files), dim), np.float32)
    wrong: list[str] = []

    def one(i: int) -> None:
        try:
            a = np.load(files[i], allow_pickle=False)
        except Exception as e:  # noqa: BLE001 - unreadable file: report with the shape errors
            wrong.append(f"{ids[i]} (unreadable: {type(e).__name__})")
            return
        if a.shape not in ((1, dim), (dim,)):
            wrong.append(f"{ids[i]} {tuple(a.shape)}")
            return
        out[i] = a.reshape(dim)

    with ThreadPoolExecutor(8) as ex:
        list(tqdm(ex.map(one, range(len(files))), total=len(files), desc="reading .npy", unit="file",
                  disable=not progress, leave=False))
    if wrong:
        raise FeatureStoreError(f"{len(wrong)} feature files do not have shape (1, {dim}) or ({dim},): "
                                f"{_examples(sorted(wrong))}. All videos need one feature vector of the same "
                                "dimension (pass --dim D to say which)")
    return out, dim


def import_er(dataset: str, name: str, path: str | Path, *, metas: Sequence[str] = (), test_metas: Sequence[str] = (),
              objects: Optional[str] = None, bit_lemmas=None, bit_wnids=None, concepts_file=None,
              classes: Optional[str] = None, backbone: Optional[str] = None, strict: bool = False,
              allow_empty_classes: bool = False, overwrite: bool = False, dim: Optional[int] = None,
              progress: bool = True, log: Log = print, root: Optional[Path] = None,
              model: Optional[dict] = None, model_dim: Optional[int] = None) -> dict:
    precheck_target(dataset, name, overwrite, root)
    base = Path(path)
    if not base.is_dir():
        raise FeatureStoreError(f"{path} is not a folder; --from er expects ER's folder of per-video .npy files")
    resolver = ClassResolver(dataset, classes)
    if metas or test_metas:
        ids, part, files, labels, extra_files = _er_listed_by_metas(base, metas, test_metas, resolver)
    else:
        ids, files, labels, extra_files = _er_listed_by_folders(base, path, resolver)
        part = []
    have = [f.is_file() for f in files]
    keep = np.flatnonzero(have)
    no_feat = [v for v, h in zip(ids, have) if not h]
    feats, _ = _load_npy_rows([files[i] for i in keep], [ids[i] for i in keep], dim, progress)
    col = Collected([ids[i] for i in keep], labels[keep], feats,
                    np.asarray(part, np.int8)[keep] if test_metas else None, n_listed=len(ids))
    if no_feat:
        col.missing["no feature file"] = no_feat
    if extra_files:
        log(f"note: {extra_files} .npy files under {base} are not listed by the metas/class folders and were ignored")
    concepts, wn = resolve_vocabulary(concepts_file, bit_lemmas, bit_wnids, log)
    if objects:
        if concepts is None:
            raise FeatureStoreError("--objects needs the concept vocabulary: --bit-lemmas FILE (and --bit-wnids "
                                    "FILE for WordNet definitions), or --concepts FILE")
        col = attach_topk(col, read_topk_json(objects))
    src = f"er: {base}" + (f" + objects {Path(objects).name}" if objects else "")
    if backbone is None:
        backbone = "TSM ResNet-50" + (" + BiT-M R50x1 top-k concepts" if objects else "") + " (ER release layout)"
    return finish(dataset, name, col, source=src, backbone=backbone, layout="er", concepts=concepts,
                  wnids=wn, strict=strict, allow_empty_classes=allow_empty_classes, overwrite=overwrite,
                  expect_dim=dim, log=log, root=root, model=model, model_dim=model_dim)


def _er_listed_by_metas(base: Path, metas: Sequence[str], test_metas: Sequence[str], resolver: ClassResolver
                        ) -> tuple[list[str], list[int], list[Path], np.ndarray, int]:
    """The videos ER's metas files list: (ids, partition per video, feature files, labels, number of .npy files
    under ``base`` that no metas line names)."""
    ids: list[str] = []
    raw: list = []
    part: list[int] = []
    for files, p in ((metas, TRAIN), (test_metas, TEST)):
        for f in files:
            for rec in _read_jsonl(f):
                ids.append(os.path.splitext(str(rec["videoname"]))[0])
                raw.append(rec["label"])
                part.append(p)
    dups = sorted(v for v, c in Counter(ids).items() if c > 1)
    if dups:
        raise FeatureStoreError(f"{len(dups)} videos appear twice in the metas files: {_examples(dups)}")
    files = []
    for v in ids:
        f = base / f"{v}.npy"
        files.append(f if f.is_file() else base / f"{Path(v).name}.npy")
    labels = resolver.resolve(raw)
    listed = {str(f) for f in files}
    extra_files = sum(1 for f in base.rglob("*.npy") if str(f) not in listed)
    return ids, part, files, labels, extra_files


def _er_listed_by_folders(base: Path, path: str | Path, resolver: ClassResolver
                          ) -> tuple[list[str], list[Path], np.ndarray, int]:
    """The videos of ``base``'s class folders: (ids, feature files, labels, number of loose .npy files beside the
    folders)."""
    ids: list[str] = []
    raw: list = []
    subdirs = sorted(d for d in base.iterdir() if d.is_dir() and not d.name.startswith("."))
    loose = sorted(base.glob("*.npy"))
    if not subdirs:
        raise FeatureStoreError(f"{path} has {len(loose)} .npy files and no class folders: pass --metas FILE "
                                "(ER's *_video_metas.jsonl) to say each video's class")
    resolver.resolve([d.name for d in subdirs])  # unknown folder names, listed, before any reading
    files = []
    for d in subdirs:
        for f in sorted(d.rglob("*.npy")):
            files.append(f)
            ids.append(f.stem)
            raw.append(d.name)
    labels = resolver.resolve(raw)
    extra_files = len(loose)
    dups = sorted(v for v, c in Counter(ids).items() if c > 1)
    if dups:
        raise FeatureStoreError(f"{len(dups)} video ids occur in more than one class folder: {_examples(dups)}")
    return ids, files, labels, extra_files


# --------------------------------------------------------------------------------------- generic layout
def _pick_column(columns: Iterable[str], wanted: Optional[str], candidates: Sequence[str], what: str,
                 required: bool = True) -> Optional[str]:
    cols = list(columns)
    if wanted:
        if wanted not in cols:
            raise FeatureStoreError(f"column {wanted!r} ({what}) not found; columns are {cols}")
        return wanted
    lower = {c.lower(): c for c in cols}
    for c in candidates:
        if c in lower:
            return lower[c]
    if required:
        raise FeatureStoreError(f"no {what} column among {cols}; name it with --{what.replace(' ', '-')}-column")
    return None


def _read_index(path: str | Path):
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise FeatureStoreError(f"--index {path}: file not found")
    suf = p.suffix.lower()
    if suf == ".parquet":
        return pd.read_parquet(p)
    if suf in (".jsonl", ".ndjson"):
        return pd.read_json(p, lines=True, dtype=False)
    if suf in (".csv", ".tsv", ".txt"):
        return pd.read_csv(p, sep="\t" if suf == ".tsv" else None, engine="python", dtype=str, keep_default_na=False)
    raise FeatureStoreError(f"--index {path}: use .csv, .tsv, .parquet or .jsonl")


def _read_matrix(path: str | Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    p = Path(path)
    if not p.is_file():
        raise FeatureStoreError(f"{path}: file not found; --from generic expects a .npy or .npz matrix")
    if p.suffix == ".npy":
        return np.load(p, mmap_mode="r", allow_pickle=False), {}
    if p.suffix == ".npz":
        z = np.load(p, allow_pickle=False)
        arrays = {k: z[k] for k in z.files}
        key = "features" if "features" in arrays else None
        if key is None:
            cands = [k for k, a in arrays.items() if a.ndim == 2 and a.dtype.kind == "f" and k != "concept_scores"]
            if len(cands) != 1:
                raise FeatureStoreError(f"{path}: name the feature matrix 'features' (arrays found: {list(arrays)})")
            key = cands[0]
        return arrays.pop(key), arrays
    raise FeatureStoreError(f"{path}: use a .npy or .npz matrix")


def import_generic(dataset: str, name: str, path: str | Path, *, index: Optional[str] = None,
                   id_column: Optional[str] = None, label_column: Optional[str] = None,
                   partition_column: Optional[str] = None, objects: Optional[str] = None, concepts_file=None,
                   bit_lemmas=None, bit_wnids=None, classes: Optional[str] = None, backbone: Optional[str] = None,
                   strict: bool = False, allow_empty_classes: bool = False, overwrite: bool = False,
                   dim: Optional[int] = None, progress: bool = True, log: Log = print,
                   root: Optional[Path] = None, model: Optional[dict] = None,
                   model_dim: Optional[int] = None) -> dict:
    precheck_target(dataset, name, overwrite, root)
    if not index:
        raise FeatureStoreError("--from generic needs --index FILE (CSV/TSV/Parquet/JSONL: video id, class[, partition]) "
                                "with one row per matrix row")
    mat, arrays = _read_matrix(path)
    if mat.ndim != 2:
        raise FeatureStoreError(f"{path}: feature matrix has shape {mat.shape}; expected [videos, dim]")
    df = _read_index(index)
    if len(df) != mat.shape[0]:
        raise FeatureStoreError(f"--index {index} has {len(df)} rows but the matrix has {mat.shape[0]}; row i of the "
                                "index must describe row i of the matrix")
    idc = _pick_column(df.columns, id_column, ID_COLUMNS, "id")
    lbc = _pick_column(df.columns, label_column, LABEL_COLUMNS, "label")
    ptc = _pick_column(df.columns, partition_column, PARTITION_COLUMNS, "partition", required=False)
    labels = ClassResolver(dataset, classes).resolve(df[lbc].tolist())
    ids = [str(v) for v in df[idc].tolist()]
    col = Collected(ids, labels, mat, parse_partition(df[ptc].tolist()) if ptc else None, n_listed=len(ids))
    concepts, wn = resolve_vocabulary(concepts_file, bit_lemmas, bit_wnids, log)
    cid, csc = arrays.get("concept_ids"), arrays.get("concept_scores")
    if objects:
        op = Path(objects)
        if op.suffix == ".json":
            col = attach_topk(col, read_topk_json(op))
        else:
            if not op.is_file():
                raise FeatureStoreError(f"--objects {objects}: file not found")
            z = np.load(op, allow_pickle=False)
            cid = z["concept_ids"] if "concept_ids" in z.files else z.get("ids")
            csc = z["concept_scores"] if "concept_scores" in z.files else z.get("scores")
            if cid is None or csc is None:
                raise FeatureStoreError(f"--objects {objects}: needs arrays concept_ids and concept_scores (or ids, scores)")
    if cid is not None and col.concept_ids is None:
        if len(cid) != len(ids):
            raise FeatureStoreError(f"object arrays have {len(cid)} rows, the matrix has {len(ids)}")
        col.concept_ids, col.concept_scores = np.asarray(cid), np.asarray(csc)
    return finish(dataset, name, col, source=f"generic: {Path(path)} + {Path(index).name}", backbone=backbone or "unknown",
                  layout="generic", concepts=concepts, wnids=wn, strict=strict, allow_empty_classes=allow_empty_classes,
                  overwrite=overwrite, expect_dim=dim, log=log, root=root, model=model, model_dim=model_dim)


# --------------------------------------------------------------------------------------- hf layout
def _list_column(table, colname: str, ids: list[str], what: str, dtype) -> np.ndarray:
    """A list / fixed-size-list / nested [1, D] column as [N, D]; rows of other lengths are an error."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = table.column(colname).combine_chunks()
    while pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type) or pa.types.is_fixed_size_list(arr.type):
        inner = arr.type.value_type
        if not (pa.types.is_list(inner) or pa.types.is_large_list(inner) or pa.types.is_fixed_size_list(inner)):
            break
        lens = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
        if not (lens == 1).all():
            raise FeatureStoreError(f"column {colname!r} ({what}) is nested with more than one vector per video")
        arr = pc.list_flatten(arr)
    if not (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type) or pa.types.is_fixed_size_list(arr.type)):
        raise FeatureStoreError(f"column {colname!r} ({what}) has type {arr.type}; expected a list of numbers per video")
    if arr.null_count:
        rows = np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))
        raise FeatureStoreError(f"{len(rows)} videos have no {what}: {_examples([ids[i] for i in rows])}")
    lens = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
    width = int(np.bincount(lens).argmax()) if len(lens) else 0
    wrong = np.flatnonzero(lens != width)
    if len(wrong):
        raise FeatureStoreError(f"{len(wrong)} videos have {what} of another length than {width}: "
                                f"{_examples([f'{ids[i]} ({lens[i]})' for i in wrong])}")
    flat = pc.list_flatten(arr).to_numpy(zero_copy_only=False)
    return np.asarray(flat, dtype=dtype).reshape(len(arr), width)


def import_hf(dataset: str, name: str, path: str, *, split: Optional[str] = None, feature_column: Optional[str] = None,
              id_column: Optional[str] = None, label_column: Optional[str] = None,
              partition_column: Optional[str] = None, concept_ids_column: Optional[str] = None,
              concept_scores_column: Optional[str] = None, concepts_file=None, bit_lemmas=None, bit_wnids=None,
              classes: Optional[str] = None, backbone: Optional[str] = None, strict: bool = False,
              allow_empty_classes: bool = False, overwrite: bool = False, dim: Optional[int] = None,
              progress: bool = True, log: Log = print, root: Optional[Path] = None,
              model: Optional[dict] = None, model_dim: Optional[int] = None) -> dict:
    import datasets

    precheck_target(dataset, name, overwrite, root)
    obj, part_from_split = _one_hf_split(_load_hf(path, split), path, split)
    d = obj.flatten_indices() if getattr(obj, "_indices", None) is not None else obj
    table = d.data.table
    cols = table.column_names
    idc = _pick_column(cols, id_column, ID_COLUMNS, "id")
    lbc = _pick_column(cols, label_column, LABEL_COLUMNS, "label")
    ftc = _pick_column(cols, feature_column, FEATURE_COLUMNS, "feature")
    ptc = _pick_column(cols, partition_column, PARTITION_COLUMNS, "partition", required=False)
    ids = [str(v) for v in table.column(idc).to_pylist()]
    raw = table.column(lbc).to_pylist()
    feat_type = d.features[lbc]
    if isinstance(feat_type, datasets.ClassLabel):
        raw = [feat_type.int2str(int(v)) for v in raw]
    labels = ClassResolver(dataset, classes).resolve(raw)
    feats = _list_column(table, ftc, ids, "features", np.float32)
    partition = parse_partition(table.column(ptc).to_pylist()) if ptc else part_from_split
    col = Collected(ids, labels, feats, partition, n_listed=len(ids))
    cic = _pick_column(cols, concept_ids_column, CONCEPT_ID_COLUMNS, "concept ids", required=False)
    csc = _pick_column(cols, concept_scores_column, CONCEPT_SCORE_COLUMNS, "concept scores", required=False)
    concepts, wn = resolve_vocabulary(concepts_file, bit_lemmas, bit_wnids, log)
    if cic or csc:
        if not (cic and csc):
            raise FeatureStoreError("object concepts need both an ids and a scores column "
                                    "(--concept-ids-column, --concept-scores-column)")
        col.concept_ids = _list_column(table, cic, ids, "concept ids", np.int64)
        col.concept_scores = _list_column(table, csc, ids, "concept scores", np.float32)
    return finish(dataset, name, col, source=f"hf: {path}" + (f" [{split}]" if split else ""),
                  backbone=backbone or "unknown", layout="hf", concepts=concepts, wnids=wn, strict=strict,
                  allow_empty_classes=allow_empty_classes, overwrite=overwrite, expect_dim=dim, log=log, root=root,
                  model=model, model_dim=model_dim)


def _load_hf(path: str, split: Optional[str]):
    """A dataset saved with ``save_to_disk`` at ``path``, or else the hub's dataset ``path`` (when online)."""
    import datasets

    p = Path(path).expanduser()
    if p.exists():
        try:
            return datasets.load_from_disk(str(p))
        except FileNotFoundError as e:
            raise FeatureStoreError(f"{path} is not a dataset saved with Dataset.save_to_disk ({e})") from None
    if os.environ.get("HF_DATASETS_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1":
        raise FeatureStoreError(f"{path} is not a local folder, and the Hugging Face hub is offline here "
                                "(HF_DATASETS_OFFLINE/HF_HUB_OFFLINE). Download it where the machine is online "
                                "(datasets.load_dataset(...).save_to_disk(DIR)) and import DIR")
    try:
        return datasets.load_dataset(path, split=split)
    except Exception as e:  # noqa: BLE001 - network or missing repo: say so plainly
        raise FeatureStoreError(f"could not load {path!r} from the Hugging Face hub: {e}") from e


def _one_hf_split(obj, path: str, split: Optional[str]) -> tuple:
    """(one Dataset, partition from its splits or None): a DatasetDict's ``split``, or its train and test splits
    joined (their names give the partition); any other DatasetDict needs ``split``."""
    import datasets

    if not isinstance(obj, datasets.DatasetDict):
        return obj, None
    if split:
        if split not in obj:
            raise FeatureStoreError(f"{path}: no split {split!r}; splits are {list(obj)}")
        return obj[split], None
    if set(obj) <= {"train", "test"}:
        part_from_split = np.concatenate([np.full(len(obj[s]), TRAIN if s == "train" else TEST, np.int8)
                                          for s in obj])
        return datasets.concatenate_datasets([obj[s] for s in obj]), part_from_split
    raise FeatureStoreError(f"{path} has splits {list(obj)}; pick one with --split NAME")


IMPORTERS = {"er": import_er, "generic": import_generic, "hf": import_hf}
