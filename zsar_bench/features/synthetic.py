"""The embedded default feature set: one synthetic world of actions seen through a fixed "backbone".

Generator version 2 (``GENERATOR_VERSION``, part of the identity ``synthetic-v2``). Version 1 built
class semantics and object detections from the packaged MiniLM's embeddings of the very names and
descriptions that the text methods read, through a linear map, so a parameter-free text matcher
scored like a trained model and every table partly measured the generator. Version 2:

1. **One world.** Every class of the four datasets is an *action*; classes of different datasets
   with the same or a near-identical name (``overlap.exact_key`` / ``overlap.near_identical``:
   Kinetics "archery", UCF101 "Archery") are one action and share everything below, so
   cross-dataset protocols (train on Kinetics, test on UCF101) mean something. These four datasets are the
   world's *core* (``WORLD_ORDER``; ``"world": "core"`` in their specs), pinned by ``V2_WORLD_DIGEST``; a
   dataset added later *joins* the world without changing it (``_joined``), and any other core is another
   world with another identity (``world_identity``).
2. **Hidden semantics no method reads directly.** An action's *meaning* joins several views, each
   averaged over the action's names across datasets: MiniLM embeddings of the names and of the
   descriptions, GloVe vectors of the names, and a private random part that no text reveals
   (``W_VIEWS``). A fixed random two-layer tanh network (``_hidden_map``) maps the meaning to the
   256-d hidden semantics h_a. No encoder a method can load recovers h_a linearly, yet actions with
   similar meanings stay close, as they do in the real world.
3. **Clips.** A clip of action a is a latent z = h_a + mode offset + heavy-tailed jitter: each action
   has ``N_MODES`` modes (viewpoints, sub-actions) with dataset-specific mixing weights, and the
   jitter is a Student-t (``T_DF`` degrees of freedom) radius on a random direction. The 2048-d
   feature is a fixed random ReLU layer (the "backbone", shared by all datasets) applied to z plus
   a 32-d nuisance (camera, background) whose mean shifts per dataset (domain shift), plus
   noise: non-negative, like TSM's pooled features.
4. **Object detections** come from a noisy detector, not from a text similarity a method can
   recompute: each of the 400 concepts (``data/concepts/synthetic_concepts.tsv``) has a hidden
   vector made like an action's (its own text views and a private part, the same map); a clip's
   detection probabilities mix its relevance (softmax of cos(h_a + mode + jitter', k_j) / ``OBJ_TEMP``,
   with jitter' of unit scale: the detector is noisy in its own way, not through the visual noise), concepts
   that appear in every kind of scene, and uniform clutter (``OBJ_MIX``); 10 detections are drawn
   without replacement, scores descending.
5. **Difficulty calibrated to real features** (``scripts/calibrate_synthetic.py``): a supervised
   linear classifier on synthetic Kinetics' 160 test classes of a fold with 5 (1) clips per class
   lands near ER's Table 5 figure on real features, 56.5 (31.8) top-1. The within-class spread
   ``S_CLIP`` is the one constant set from that calibration; nothing was tuned on a ZSAR method.

Clip counts follow the real releases (HMDB51 6,766; UCF101 13,320; Olympic Sports 783); Kinetics is
scaled down for a CPU to 30 clips per class (18,600). There is no train/test partition: the
harness decides which clips train (all seen-class clips for ZSL; 80% for generalised ZSL).

Everything is seeded from the generator version: the same version always gives the same features, bit for bit
at one BLAS thread count (at another, matrix products add in another order and the last bits move: about 4e-5
at most, measured on olympics at 1 and 2 threads).
Video ids are opaque (``syn2-<dataset>-<n>``) and rows are shuffled, so nothing in a row's position
or id says its class (the harness blinds both again for every run). The arrays are cached under
``<data root>/features/<dataset>/synthetic/v<version>/`` (another identity: a folder named after it, such as
``v2+toy.1a2b3c4d5e``).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from ..datasets import DATASETS, get_dataset, load_class_table
from ..types import ConceptVocabulary, Videos
from .integrity import IntegrityError, file_digests, verify_files
from .base import FeatureSet, FeatureStoreError, feature_root, remove_killed_leftovers

GENERATOR_VERSION = 2
FEATURE_DIM = 2048
HIDDEN_DIM = 256
MAP_WIDTH = 512
MAP_GAIN = 1.5  # pre-activation std of the hidden map's tanh layer: clearly non-linear
PRIVATE_DIM = 128
# Weights of the meaning's views: MiniLM name, MiniLM description, GloVe name, private random.
W_VIEWS = {"name": 0.6, "description": 0.8, "glove": 0.5, "private": 1.0}
N_MODES, S_MODE = 3, 0.55  # modes per action, their spread around h_a (h_a has unit norm)
S_CLIP = 6.0  # within-class jitter scale: the calibrated constant (scripts/calibrate_synthetic.py)
T_DF = 3.0  # heavy tails of the jitter radius
N_NUISANCE, S_NUISANCE, S_DOMAIN = 32, 0.8, 0.4
S_NOISE = 0.05
TOP_K = 10
OBJ_TEMP = 0.03  # a class-mode concentrates its relevance on about 12 concepts (perplexity), like v1's 15
S_OBJ_JITTER = 1.0  # the detector sees the clip's action and mode with jitter of its own scale, not the visual noise
OBJ_MIX = {"relevant": 0.45, "common": 0.25, "clutter": 0.30}
W_OBJ_PRIVATE = 3.0  # private part of a concept's meaning: where objects appear is mostly visual co-occurrence, not definitions
# The core world of synthetic-v2: the datasets (``"synthetic": {"world": "core"}`` in their specs) it is built from,
# in this order. It sizes every draw, so it is frozen: a dataset added later *joins* the world (``_joined``) and
# leaves every feature of the core datasets as it was; a different core (a dataset declared core, or a core
# dataset's classes, names, descriptions or clip count edited) is another world with another identity
# (``world_identity``), so its records never mix with synthetic-v2's.
WORLD_ORDER = ("kinetics", "ucf101", "hmdb51", "olympics")
# sha256 of what the synthetic-v2 world is made from (``_world_digest``): the core datasets' names, clip counts,
# classes, names and descriptions, in WORLD_ORDER, and the concept table. Pinned: the committed records are
# synthetic-v2, made from exactly this.
V2_WORLD_DIGEST = "fe47b8cd6ef2939f9633afe41725ae40897295c8d10e8f2038f4278f1fcb69ed"
TEXT_ENCODER = "minilm"
WORD_VECTORS = "glove50"


def core_datasets() -> tuple[str, ...]:
    """The datasets the world is built from (their specs say ``"world": "core"``): WORLD_ORDER's first, in its
    order, then any other by name."""
    core = [n for n in DATASETS.names() if get_dataset(n).spec.synthetic.world == "core"]
    return tuple(sorted(core, key=lambda n: (WORLD_ORDER.index(n) if n in WORLD_ORDER else len(WORLD_ORDER), n)))


def _core() -> tuple:
    """The core datasets as (name, Dataset) pairs: a cache key that changes when a dataset is registered anew."""
    return tuple((n, get_dataset(n)) for n in core_datasets())


def _generation_inputs(ds) -> list:
    """What a dataset's synthetic features are made from, besides the world: name, clip count, classes."""
    desc = ds.builtin_descriptions
    return [ds.name, ds.synthetic_clips, [[i, n, desc.get(i)] for i, n in zip(ds.identifiers, ds.names)]]


@lru_cache(maxsize=8)
def _world_digest(core: tuple) -> str:
    concepts = load_class_table(resources.files("zsar_bench").joinpath("data/concepts/synthetic_concepts.tsv"))
    doc = [[_generation_inputs(ds) for _, ds in core], concepts]
    return hashlib.sha256(json.dumps(doc, ensure_ascii=False).encode()).hexdigest()


def world_identity(core: tuple | None = None) -> str:
    """``synthetic-v2`` for the world the committed records were made from; ``synthetic-v2-w<digest>`` for any
    other core (so old and new records never mix)."""
    digest = _world_digest(core if core is not None else _core())
    base = f"synthetic-v{GENERATOR_VERSION}"
    return base if digest == V2_WORLD_DIGEST else f"{base}-w{digest[:10]}"


def identity() -> str:
    """The world's identity: the feature identity of every core dataset (``synthetic-v2``)."""
    return world_identity()


def dataset_identity(dataset: str) -> str:
    """A core dataset's features: the world's identity. A joining dataset's: the world's plus a digest of its own
    classes, names, descriptions and clip count (``synthetic-v2+toy.1a2b3c4d5e``): editing them is a new
    identity, never mixed with records of the old one."""
    ds = get_dataset(dataset)
    if ds.spec.synthetic.world == "core":
        return world_identity()
    own = hashlib.sha256(json.dumps(_generation_inputs(ds), ensure_ascii=False).encode()).hexdigest()
    return f"{world_identity()}+{dataset}.{own[:10]}"


def synthetic_concepts() -> ConceptVocabulary:
    rows = load_class_table(resources.files("zsar_bench").joinpath("data/concepts/synthetic_concepts.tsv"))
    return ConceptVocabulary(tuple(r[0] for r in rows), tuple(r[1] for r in rows), source=identity())


def _rng(*purpose) -> np.random.Generator:
    digest = hashlib.sha256("|".join(map(str, purpose + (f"v{GENERATOR_VERSION}",))).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True).clip(1e-8)


def _centred_unit(x: np.ndarray) -> np.ndarray:
    return _unit(x - x.mean(0, keepdims=True))


def world_actions(core: tuple | None = None) -> tuple[dict, int]:
    """({(dataset, class index): action index}, number of actions) of the core world: classes of different
    datasets with the same or a near-identical name are one action; two classes of one dataset never merge."""
    out, n, _ = _world_actions(core if core is not None else _core())
    return out, n


@lru_cache(maxsize=8)
def _world_actions(core: tuple) -> tuple[dict, int, dict]:
    """world_actions, plus {name key: action} (the action of the first class with that key) for joining."""
    from ..overlap import exact_key, near_keys

    parent: dict = {}
    members: dict = {}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    keys: dict = {}
    nodes = []
    for ds_name, ds in core:
        for i, name in enumerate(ds.names):
            node = (ds_name, i)
            parent[node] = node
            members[node] = {ds_name}
            nodes.append(node)
            stems, joined = near_keys(name)
            for key in (("exact", exact_key(name)), ("stems", stems), ("joined", joined)):
                other = keys.setdefault(key, node)
                if other == node:
                    continue
                a, b = find(other), find(node)
                if a != b and not (members[a] & members[b]):  # never merge two classes of one dataset
                    parent[b] = a
                    members[a] |= members.pop(b)
    roots = {}
    out = {}
    for node in nodes:
        out[node] = roots.setdefault(find(node), len(roots))
    return out, len(roots), {key: out[node] for key, node in keys.items()}


def _views(texts_by_action: list[list[tuple[str, str]]], enc, kv,
           centres: list | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(meaning views, their centres): per view, the unit embeddings of each action's names summed, centred on
    ``centres`` (the core world's, for joining actions) or on their own mean, and made unit."""
    from ..text.wordvectors import name_vector

    flat_names = [n for group in texts_by_action for n, _ in group]
    flat_desc = [d for group in texts_by_action for _, d in group]
    name_e, desc_e = enc.encode(flat_names), enc.encode(flat_desc)
    glove = np.stack([name_vector(kv, n)[0] for n in flat_names]).astype(np.float64)
    owner = np.repeat(np.arange(len(texts_by_action)), [len(g) for g in texts_by_action])

    def per_action(x: np.ndarray, centre) -> tuple[np.ndarray, np.ndarray]:
        sums = np.zeros((len(texts_by_action), x.shape[1]))
        np.add.at(sums, owner, _unit(x))
        c = sums.mean(0, keepdims=True) if centre is None else centre
        return _unit(sums - c), c

    out = [per_action(x, None if centres is None else centres[v]) for v, x in enumerate((name_e, desc_e, glove))]
    return [v for v, _ in out], [c for _, c in out]


def _hidden_map(meaning: np.ndarray) -> np.ndarray:
    """The fixed random non-linear map from meaning vectors to unit hidden semantics."""
    g = _rng("hidden-map")
    d = meaning.shape[1]
    w1 = g.standard_normal((d, MAP_WIDTH)) * MAP_GAIN
    b1 = g.standard_normal(MAP_WIDTH) * 0.3
    w2 = g.standard_normal((MAP_WIDTH, HIDDEN_DIM)) / np.sqrt(MAP_WIDTH)
    return _unit(np.tanh(_unit(meaning) @ w1 + b1) @ w2)


def _meaning(views: list[np.ndarray], private: np.ndarray, w_private: float) -> np.ndarray:
    name, desc, glove = views
    return np.concatenate([W_VIEWS["name"] * name, W_VIEWS["description"] * desc, W_VIEWS["glove"] * glove,
                           w_private * private], axis=1)


def world(core: tuple | None = None) -> dict:
    """The world shared by all datasets: hidden semantics of actions and concepts, modes, backbone (and what a
    joining dataset needs to join it unchanged: the views' centres, the private draws' mean, the name keys)."""
    return _world(core if core is not None else _core())


@lru_cache(maxsize=2)
def _world(core: tuple) -> dict:
    from ..text.encoders import get_text_encoder
    from ..text.wordvectors import load_word_vectors

    action_of, n_actions, keys = _world_actions(core)
    groups: list[list[tuple[str, str]]] = [[] for _ in range(n_actions)]
    for ds_name, ds in core:
        classes = ds.classes()
        missing = [c.identifier for c in classes if not c.description]
        if missing:
            raise FeatureStoreError(f"synthetic generator needs built-in descriptions; missing for {missing[:5]}")
        for i, c in enumerate(classes):
            groups[action_of[(ds_name, i)]].append((c.name, c.description))
    enc = get_text_encoder(TEXT_ENCODER)
    kv = load_word_vectors(WORD_VECTORS)
    r = _rng("actions")
    raw_private = r.standard_normal((n_actions, PRIVATE_DIM))
    private = _centred_unit(raw_private)
    views, centres = _views(groups, enc, kv)
    hidden = _hidden_map(_meaning(views, private, W_VIEWS["private"]))

    concepts = synthetic_concepts()
    c_groups = [[(n, f"{n}: {d}")] for n, d in zip(concepts.names, concepts.definitions)]
    c_private = _centred_unit(_rng("concepts").standard_normal((len(concepts), PRIVATE_DIM)))
    c_hidden = _hidden_map(_meaning(_views(c_groups, enc, kv)[0], c_private, W_OBJ_PRIVATE * W_VIEWS["private"]))

    m = _rng("modes")
    modes = _unit(m.standard_normal((n_actions, N_MODES, HIDDEN_DIM)))
    b = _rng("backbone")
    backbone = {
        "w": b.standard_normal((HIDDEN_DIM, FEATURE_DIM)).astype(np.float32),
        "u": (b.standard_normal((N_NUISANCE, FEATURE_DIM)) / np.sqrt(N_NUISANCE)).astype(np.float32),
        "bias": (b.standard_normal(FEATURE_DIM) * 0.5 - 0.3).astype(np.float32),
    }
    common = np.exp((c_hidden @ hidden.mean(0)) / OBJ_TEMP / 4)
    return {"action_of": action_of, "hidden": hidden, "concept_hidden": c_hidden, "modes": modes,
            "backbone": backbone, "common": common / common.sum(), "text_encoder": enc.identity,
            "keys": keys, "centres": centres, "private_mean": raw_private.mean(0, keepdims=True)}


def _joined(dataset: str, w: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """(action of each class, hidden semantics, modes, summary) of a dataset that joins the world ``w`` without
    changing it: a class whose name (same or near-identical, as the core merges them) is a core action not yet
    taken by another class of the dataset is that action; every other class is a new action made like a core
    one, from its own name, description and private draw, centred on the core world's centres. Nothing here
    depends on any other joining dataset, so joining datasets never change each other either."""
    from ..overlap import exact_key, near_keys
    from ..text.encoders import get_text_encoder
    from ..text.wordvectors import load_word_vectors

    ds = get_dataset(dataset)
    classes = ds.classes()
    missing = [c.identifier for c in classes if not c.description]
    if missing:
        raise FeatureStoreError(
            f"synthetic features for {dataset} need a description of every class; missing for {missing[:5]}: add "
            f"them to the class table's third column or the descriptions file its spec names ({ds.origin})")
    n_core = len(w["hidden"])
    actions, taken, new = [], set(), []
    for c in classes:
        stems, joined = near_keys(c.name)
        match = next((w["keys"][k] for k in (("exact", exact_key(c.name)), ("stems", stems), ("joined", joined))
                      if k in w["keys"] and w["keys"][k] not in taken), None)
        if match is None:
            match = n_core + len(new)
            new.append(c)
        taken.add(match)
        actions.append(match)
    hidden, modes = w["hidden"], w["modes"]
    if new:
        enc, kv = get_text_encoder(TEXT_ENCODER), load_word_vectors(WORD_VECTORS)
        views, _ = _views([[(c.name, c.description)] for c in new], enc, kv, centres=w["centres"])
        raw = np.stack([_rng("joins", dataset, c.identifier, "private").standard_normal(PRIVATE_DIM) for c in new])
        private = _unit(raw - w["private_mean"])
        hidden = np.concatenate([hidden, _hidden_map(_meaning(views, private, W_VIEWS["private"]))])
        own_modes = [_unit(_rng("joins", dataset, c.identifier, "modes").standard_normal((N_MODES, HIDDEN_DIM)))
                     for c in new]
        modes = np.concatenate([modes, np.stack(own_modes)])
    summary = {"world": "joins", "shared_actions": len(classes) - len(new), "own_actions": len(new)}
    return np.array(actions), hidden, modes, summary


def _clip_counts(n_classes: int, total: int, rng: np.random.Generator) -> np.ndarray:
    w = rng.uniform(0.6, 1.4, n_classes) if total != n_classes * 30 else np.ones(n_classes)
    counts = np.floor(w / w.sum() * total).astype(int)
    counts[np.argsort(-w)[: total - counts.sum()]] += 1
    return counts


def draw_clips(w: dict, labels: np.ndarray, actions: np.ndarray, w_hidden: np.ndarray, w_modes: np.ndarray,
               mix: np.ndarray, domain: np.ndarray, v: np.random.Generator,
               o: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features [n, FEATURE_DIM] float32, concept ids [n, TOP_K], concept scores [n, TOP_K]) of clips of the classes
    ``labels``: ``v`` draws the clips, ``o`` the detections, always in this order (the features of a set are a
    function of its generators' seeds). ``actions``: each class's action; ``mix``: each class's mode weights;
    ``domain``: the dataset's nuisance shift."""
    n = len(labels)
    # latent: action semantics + one of its modes (dataset-specific mixing) + heavy-tailed jitter
    mode = np.array([v.choice(N_MODES, p=mix[c]) for c in labels])
    radius = np.abs(v.standard_t(T_DF, size=(n, 1))) / np.sqrt(T_DF / (T_DF - 2))
    jitter = _unit(v.standard_normal((n, HIDDEN_DIM))) * radius
    h_mode = w_hidden[actions[labels]] + S_MODE * w_modes[actions[labels], mode]
    z = h_mode + S_CLIP * jitter

    # backbone: a fixed ReLU layer over the latent and a nuisance (camera/background) with a domain shift
    bb = w["backbone"]
    nuisance = S_NUISANCE * v.standard_normal((n, N_NUISANCE)) + domain
    pre = z.astype(np.float32) @ bb["w"] + nuisance.astype(np.float32) @ bb["u"] + bb["bias"]
    feats = np.maximum(pre, 0) + S_NOISE * np.abs(v.standard_normal((n, FEATURE_DIM))).astype(np.float32)

    # objects: a noisy detector over the clip's latent, scene-common concepts and clutter
    seen_by_detector = h_mode + S_OBJ_JITTER * jitter
    relevance = _unit(seen_by_detector) @ w["concept_hidden"].T / OBJ_TEMP
    relevance = np.exp(relevance - relevance.max(1, keepdims=True))
    relevance /= relevance.sum(1, keepdims=True)
    n_con = relevance.shape[1]
    p = OBJ_MIX["relevant"] * relevance + OBJ_MIX["common"] * w["common"] + OBJ_MIX["clutter"] / n_con
    gumbel = -np.log(-np.log(o.uniform(1e-12, 1.0, size=p.shape)))
    keys = np.log(p) + gumbel
    ids = np.argsort(-keys, axis=1)[:, :TOP_K].astype(np.int32)
    scores = -np.sort(-o.dirichlet(np.full(TOP_K, 0.7), size=n), axis=1).astype(np.float32)
    return feats, ids, scores


def generate(dataset: str) -> FeatureSet:
    """The synthetic features of ``dataset``: a core dataset's from the world as it is, a joining dataset's from
    the world it joins (``_joined``)."""
    w = world()
    ds = get_dataset(dataset)
    n_cls = ds.n_classes
    if ds.spec.synthetic.world == "core":
        actions = np.array([w["action_of"][(dataset, i)] for i in range(n_cls)])
        w_hidden, w_modes, joined = w["hidden"], w["modes"], None
    else:
        actions, w_hidden, w_modes, joined = _joined(dataset, w)
    counts = _clip_counts(n_cls, ds.synthetic_clips, _rng(dataset, "counts"))
    labels = np.repeat(np.arange(n_cls), counts)
    n = len(labels)
    v = _rng(dataset, "clips")
    mix = v.dirichlet(np.full(N_MODES, 1.5), size=n_cls)  # each class's mixing of its action's modes
    domain = _rng(dataset, "domain").standard_normal(N_NUISANCE) * S_DOMAIN
    feats, ids, scores = draw_clips(w, labels, actions, w_hidden, w_modes, mix, domain, v, _rng(dataset, "objects"))

    # rows in a random order with opaque ids: nothing in a row's place or name says its class
    order = _rng(dataset, "order").permutation(n)
    feats, ids, scores, labels = feats[order], ids[order], scores[order], labels[order]
    video_ids = np.array([f"syn{GENERATOR_VERSION}-{dataset}-{i:06d}" for i in range(n)])
    fid = dataset_identity(dataset)
    manifest = {
        "dataset": dataset, "features": "synthetic", "identity": fid, "generator_version": GENERATOR_VERSION,
        "n_videos": int(n), "dim": FEATURE_DIM, "top_k": TOP_K, "backbone": identity(),
        "text_encoder": w["text_encoder"], "word_vectors": WORD_VECTORS,
        "source": "zsar_bench.features.synthetic (deterministic)",
    }
    if joined is not None:
        manifest.update(joined)
    return FeatureSet(dataset, "synthetic", fid, Videos(feats, ids, scores, video_ids), labels, None,
                      synthetic_concepts(), manifest)


def _cache_dir(dataset: str) -> Path:
    """``<root>/features/<dataset>/synthetic/v2`` for synthetic-v2; a folder of its own for any other identity."""
    return feature_root(dataset, "synthetic") / dataset_identity(dataset).removeprefix("synthetic-")


def save(fs: FeatureSet) -> None:
    final = _cache_dir(fs.dataset)
    tmp = final.with_name(final.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.save(tmp / "features.npy", fs.videos.features.astype(np.float16))
    np.savez(tmp / "meta.npz", labels=fs.labels, concept_ids=fs.videos.concept_ids,
             concept_scores=fs.videos.concept_scores, video_ids=fs.videos.video_ids)
    manifest = dict(fs.manifest)
    manifest["files"] = file_digests(tmp, [tmp / "features.npy", tmp / "meta.npz"])
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    if final.exists():  # another process won the race; keep theirs
        shutil.rmtree(tmp)
        return
    os.replace(tmp, final)


def load_or_generate(dataset: str) -> FeatureSet:
    if dataset not in DATASETS:
        raise FeatureStoreError(DATASETS.unknown_message(dataset))
    d = _cache_dir(dataset)
    remove_killed_leftovers(d.parent)  # v2.tmp<pid> of a generation killed half-way: never read, only in the way
    if not (d / "manifest.json").is_file():
        save(generate(dataset))
    try:
        manifest = json.loads((d / "manifest.json").read_text())
        verify_files(d, manifest.get("files") or {"features.npy": {"size": -1, "sha256": ""}},
                     f"synthetic feature cache {d}", f"delete the folder and rerun to regenerate it: rm -r {d}")
        meta = np.load(d / "meta.npz", allow_pickle=False)
        feats = np.load(d / "features.npy", allow_pickle=False).astype(np.float32)
        videos = Videos(feats, meta["concept_ids"], meta["concept_scores"], meta["video_ids"])
        labels = meta["labels"]
    except IntegrityError as e:
        raise FeatureStoreError(str(e)) from None
    except FeatureStoreError:
        raise
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
        raise FeatureStoreError(f"synthetic feature cache {d} cannot be read ({e}); delete the folder and rerun "
                                f"to regenerate it: rm -r {d}") from None
    return FeatureSet(dataset, "synthetic", dataset_identity(dataset), videos, labels, None, synthetic_concepts(),
                      manifest)
