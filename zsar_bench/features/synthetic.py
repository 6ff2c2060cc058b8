"""The embedded default feature set: synthetic clips whose class structure comes from class texts.

How a clip of class c is made (GENERATOR_VERSION below is part of the feature set's identity):

1. Text anchors. Each class's readable name and its description are encoded with the packaged
   MiniLM; each set is centred over the dataset's classes and L2-normalised: n_c and d_c.
2. Hidden class semantics h_c = norm(W_NAME * n_c + W_DESC * d_c + W_PRIVATE * r_c), r_c a random
   unit vector that no text reveals. The description weighs more than the name, so a method that
   reads descriptions recovers more of h_c than one that reads names.
3. Spatio-temporal feature (2048-d, like TSM): x = M (h_c + S_CLIP * e) + S_STYLE * B u + S_NOISE * n,
   with M a fixed random 2048 x 384 map, e clip-level semantic jitter, B a 32-d "camera/background"
   subspace shared by all classes, n isotropic noise.
4. Object concepts: a vocabulary of 400 everyday objects and scenes with definitions
   (``zsar_bench/data/concepts/synthetic_concepts.tsv``). Class c is tied to its 15 concepts
   closest to norm(d_c + W_OBJ_PRIVATE * q_c) in MiniLM space (q_c another private random vector),
   weighted by a softmax. Each clip draws 10 detections: with probability P_RELEVANT from its class's
   concepts, else uniformly; detection scores descend. Detections are drawn independently of the
   clip's visual noise, so the object stream carries signal of its own.
5. Clip counts follow the real releases (HMDB51 6,766; UCF101 13,320; Olympic Sports 783), spread
   unevenly over classes; Kinetics is scaled down for a CPU to 30 clips per class (18,600). Within
   each class, a fixed 20% of clips is held out (partition TEST) for generalised ZSL on seen classes;
   methods train on the remaining 80% of seen-class clips.

Everything is seeded from (dataset, generator version): the same version always gives the same
features. The arrays are cached under ``<data root>/features/<dataset>/synthetic/v<version>/``.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from importlib import resources
from pathlib import Path

import numpy as np

from ..datasets import get_dataset, load_class_table
from ..types import ConceptVocabulary, Videos
from .store import TEST, TRAIN, FeatureSet, feature_root

GENERATOR_VERSION = 1
FEATURE_DIM = 2048
SEM_DIM = 384
TOP_K = 10
N_STYLE = 32
W_NAME, W_DESC, W_PRIVATE = 0.45, 1.0, 1.6
S_CLIP, S_STYLE, S_NOISE = 1.0, 0.5, 0.12
W_OBJ_PRIVATE, P_RELEVANT, CONCEPTS_PER_CLASS, CONCEPT_TEMP = 0.8, 0.5, 15, 0.05
HOLDOUT = 0.2
CLIP_COUNTS = {"olympics": 783, "hmdb51": 6766, "ucf101": 13320, "kinetics": 620 * 30}
TEXT_ENCODER = "minilm"


def identity() -> str:
    return f"synthetic-v{GENERATOR_VERSION}"


def synthetic_concepts() -> ConceptVocabulary:
    rows = load_class_table(resources.files("zsar_bench").joinpath("data/concepts/synthetic_concepts.tsv"))
    return ConceptVocabulary(tuple(r[0] for r in rows), tuple(r[1] for r in rows), source=f"synthetic-v{GENERATOR_VERSION}")


def _rng(dataset: str, purpose: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{dataset}|{purpose}|v{GENERATOR_VERSION}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _centred_unit(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(0, keepdims=True)
    return x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-8)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True).clip(1e-8)


def _clip_counts(n_classes: int, total: int, rng: np.random.Generator) -> np.ndarray:
    w = rng.uniform(0.6, 1.4, n_classes) if total != n_classes * 30 else np.ones(n_classes)
    counts = np.floor(w / w.sum() * total).astype(int)
    counts[np.argsort(-w)[: total - counts.sum()]] += 1
    return counts


def generate(dataset: str) -> FeatureSet:
    from ..text.encoders import get_text_encoder

    ds = get_dataset(dataset)
    classes = ds.classes()
    missing = [c.identifier for c in classes if not c.description]
    if missing:
        raise RuntimeError(f"synthetic generator needs built-in descriptions; missing for {missing[:5]}")
    enc = get_text_encoder(TEXT_ENCODER)
    name_emb = _centred_unit(enc.encode([c.name for c in classes]))
    desc_emb = _centred_unit(enc.encode([c.description for c in classes]))
    concepts = synthetic_concepts()
    concept_emb = _centred_unit(enc.encode(concepts.texts()))
    n_cls, n_con = len(classes), len(concepts)

    r = _rng(dataset, "class")
    private = _unit(r.standard_normal((n_cls, SEM_DIM)))
    hidden = _unit(W_NAME * name_emb + W_DESC * desc_emb + W_PRIVATE * private)
    obj_anchor = _unit(desc_emb + W_OBJ_PRIVATE * _unit(r.standard_normal((n_cls, SEM_DIM))))
    affinity = obj_anchor @ concept_emb.T
    top = np.argsort(-affinity, axis=1)[:, :CONCEPTS_PER_CLASS]
    top_w = np.exp(np.take_along_axis(affinity, top, 1) / CONCEPT_TEMP)
    top_w /= top_w.sum(1, keepdims=True)

    g = _rng("shared", "maps")  # the same "backbone" for every dataset
    proj = g.standard_normal((SEM_DIM, FEATURE_DIM)).astype(np.float32) / np.sqrt(SEM_DIM)
    style = g.standard_normal((N_STYLE, FEATURE_DIM)).astype(np.float32) / np.sqrt(N_STYLE)

    counts = _clip_counts(n_cls, CLIP_COUNTS[dataset], _rng(dataset, "counts"))
    labels = np.repeat(np.arange(n_cls), counts)
    n = len(labels)
    v = _rng(dataset, "clips")
    sem = hidden[labels] + S_CLIP * _unit(v.standard_normal((n, SEM_DIM))) * np.abs(v.normal(1.0, 0.25, (n, 1)))
    feats = sem.astype(np.float32) @ proj
    feats += S_STYLE * (v.standard_normal((n, N_STYLE)).astype(np.float32) @ style)
    feats += S_NOISE * v.standard_normal((n, FEATURE_DIM)).astype(np.float32)

    o = _rng(dataset, "objects")
    ids = np.empty((n, TOP_K), np.int32)
    for i, c in enumerate(labels):
        picked: list[int] = []
        while len(picked) < TOP_K:
            cand = int(top[c, o.choice(CONCEPTS_PER_CLASS, p=top_w[c])]) if o.random() < P_RELEVANT else int(o.integers(n_con))
            if cand not in picked:
                picked.append(cand)
        ids[i] = picked
    scores = -np.sort(-o.dirichlet(np.full(TOP_K, 0.7), size=n), axis=1).astype(np.float32)

    part = np.full(n, TRAIN, np.int8)
    p = _rng(dataset, "partition")
    start = 0
    for k in counts:
        held = p.choice(k, size=max(1, int(round(HOLDOUT * k))), replace=False)
        part[start + held] = TEST
        start += k
    video_ids = np.array([f"{dataset}_syn{GENERATOR_VERSION}_{classes[c].identifier}_{i:05d}".replace(" ", "-")
                          for i, c in enumerate(labels)])
    manifest = {
        "dataset": dataset, "features": "synthetic", "identity": identity(), "generator_version": GENERATOR_VERSION,
        "n_videos": int(n), "dim": FEATURE_DIM, "top_k": TOP_K, "text_encoder": enc.identity,
        "source": "zsar_bench.features.synthetic (deterministic)",
    }
    return FeatureSet(dataset, "synthetic", identity(), Videos(feats, ids, scores, video_ids), labels, part,
                      concepts, manifest)


def _cache_dir(dataset: str) -> Path:
    return feature_root(dataset, "synthetic") / f"v{GENERATOR_VERSION}"


def save(fs: FeatureSet) -> None:
    final = _cache_dir(fs.dataset)
    tmp = final.with_name(final.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.save(tmp / "features.npy", fs.videos.features.astype(np.float16))
    np.savez(tmp / "meta.npz", labels=fs.labels, partition=fs.partition, concept_ids=fs.videos.concept_ids,
             concept_scores=fs.videos.concept_scores, video_ids=fs.videos.video_ids)
    (tmp / "manifest.json").write_text(json.dumps(fs.manifest, indent=1))
    if final.exists():  # another process won the race; keep theirs
        shutil.rmtree(tmp)
        return
    os.replace(tmp, final)


def load_or_generate(dataset: str) -> FeatureSet:
    d = _cache_dir(dataset)
    if not (d / "manifest.json").is_file():
        save(generate(dataset))
    manifest = json.loads((d / "manifest.json").read_text())
    meta = np.load(d / "meta.npz")
    feats = np.load(d / "features.npy").astype(np.float32)
    videos = Videos(feats, meta["concept_ids"], meta["concept_scores"], meta["video_ids"])
    return FeatureSet(dataset, "synthetic", identity(), videos, meta["labels"], meta["partition"],
                      synthetic_concepts(), manifest)
