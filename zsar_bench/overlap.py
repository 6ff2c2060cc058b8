"""Class overlap between a pre-training class set and a target dataset, and protocols without it.

A zero-shot result on UCF101 or HMDB51 with a backbone pre-trained on Kinetics-400 is only
"zero-shot" for the target classes that Kinetics-400 does not contain. ``find_overlap`` lists the
target classes that match a pre-training class by any of three criteria:

1. exact name: the readable names are equal once case, spacing and punctuation are ignored
   ("PlayingGuitar" / "playing guitar");
2. near-identical name: the same words after dropping stop words (a, the, with, ...) and Porter
   stemming, in any order, or the same letters once spaces are dropped ("ride bike" / "riding a
   bike", "pullup" / "pull ups", "cliff diving" / "diving cliff");
3. word vectors: cosine distance below 0.05 between the mean word vectors of the two names
   (Brattoli et al., CVPR 2020, used word2vec and this threshold; the default here is the packaged
   GloVe 6B 50-d through ``zsar_bench.text.wordvectors``, which applies the same hand table).

Criterion 3 with 50-d GloVe flags some pairs that are not the same action (the report shows the
distance and the matched class, so a reader can judge); criteria 1-2 catch rephrasings the word
vectors miss. A target class is listed once with every pre-training class it matched.

Pre-training sources: ``k400`` is built in (the first 400 classes of the kinetics dataset); any other source,
e.g. ``clip`` (the concepts or class names a CLIP checkpoint was trained or prompted with), or a Kinetics-400 list
of one's own, is a names file the user supplies (``names=``, ``--names FILE``: one name per line, or
``identifier<TAB>name``; '#' comments); nothing is downloaded. The file's hash goes into the report and into
the name-independent hash of a protocol without those classes.

The Kinetics-400 lists for UCF101 and HMDB51 ship as package data (``zsar_bench/data/overlap/``,
written by ``scripts/make_overlap.py``) so that excluding them needs no word vectors at run time;
``exclude_overlap`` computes other pairs on the fly.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Optional

import numpy as np
from tabulate import tabulate

from .datasets import get_dataset, pretrain_pool
from .paths import InvalidNameError, check_name
from .splits import Protocol, SplitError
from .text.wordvectors import load_word_vectors, name_vector

OVERLAP_VERSION = 1
THRESHOLD = 0.05  # Brattoli et al.'s cosine distance
STOP_WORDS = frozenset("a an the of on in at with and or to for from by its his her their".split())
PRETRAIN_SETS = {"k400": "Kinetics-400 (the first 400 classes of the kinetics dataset, ER's id order)",
                 "clip": "CLIP's vocabulary (names supplied with --names)"}
NAMES_HINT = ("pass its names with --names FILE (Python: names=FILE): one name per line, or identifier<TAB>name; "
              "'#' starts a comment")


def read_names(path: str | Path) -> tuple[list[str], list[str], str]:
    """(identifiers, names, sha256) of a names file; a SplitError naming the file for a missing or empty one."""
    p = Path(path)
    try:
        raw = p.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SplitError(f"names file {p} cannot be read ({type(e).__name__}: {e}); {NAMES_HINT}") from None
    ids, names = [], []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        ident, _, name = line.partition("\t")
        name = (name or ident).strip()
        ids.append(ident.strip() if _ else exact_key(name) or name)
        names.append(name)
    if not names:
        raise SplitError(f"names file {p} lists no names; {NAMES_HINT}")
    return ids, names, hashlib.sha256(raw).hexdigest()


def pretrain_classes(pretrain: str, names: Optional[str | Path] = None) -> tuple[list[str], list[str]]:
    """(identifiers, readable names) of a pre-training class set: ``names`` (a file the user supplies) when
    given, else the built-in list (``k400`` only)."""
    try:
        check_name(pretrain, "pre-training set")
    except InvalidNameError as e:
        raise SplitError(str(e)) from None
    if names is not None:
        ids, nms, _ = read_names(names)
        return ids, nms
    pool = pretrain_pool(pretrain)  # declared in a dataset's spec: k400 = kinetics' first 400 classes
    if pool is not None:
        ds, first = pool
        return ds.identifiers[:first], ds.names[:first]
    raise SplitError(f"pre-training set {pretrain!r} has no built-in class list (built in: k400); {NAMES_HINT}")


def _camel_split(s: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", s)


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", _camel_split(name).lower().replace("'s", "")) if w]


def exact_key(name: str) -> str:
    return " ".join(_words(name))


@lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem import PorterStemmer  # rule-based: needs no nltk data download

    return PorterStemmer()


def _content_words(name: str) -> list[str]:
    return [w for w in _words(name) if w not in STOP_WORDS]


@lru_cache(maxsize=4096)
def near_keys(name: str) -> tuple[tuple[str, ...], str]:
    """(sorted stems of the content words, stem of the content words written as one word)."""
    st = _stemmer()
    words = _content_words(name)
    return tuple(sorted(st.stem(w) for w in words)), st.stem("".join(words))


def near_identical(a: str, b: str) -> bool:
    """Same stems in any order, or the same letters once spaces are dropped ("pullup" / "pull ups")."""
    (sa, ja), (sb, jb) = near_keys(a), near_keys(b)
    return sa == sb or ja == jb


def find_overlap(pretrain: str, dataset: str, vectors: str = "glove50", threshold: float = THRESHOLD,
                 names: Optional[str | Path] = None) -> list[dict]:
    """Target classes of ``dataset`` that overlap ``pretrain``'s classes, in canonical order.

    Each entry: {identifier, name, matches: [{pretrain_identifier, pretrain_name, criterion, distance}]}.
    """
    p_ids, p_names = pretrain_classes(pretrain, names)
    ds = get_dataset(dataset)
    kv = load_word_vectors(vectors)

    def unit(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        v = np.stack([name_vector(kv, n)[0] for n in names]).astype(np.float64)
        norm = np.linalg.norm(v, axis=1, keepdims=True)
        return v / np.clip(norm, 1e-12, None), norm[:, 0] > 0

    pv, p_ok = unit(p_names)
    tv, t_ok = unit(ds.names)
    dist = 1.0 - tv @ pv.T
    p_exact = [exact_key(n) for n in p_names]
    out = []
    for i, (tid, tname) in enumerate(zip(ds.identifiers, ds.names)):
        matches = []
        t_exact = exact_key(tname)
        for j, (pid, pname) in enumerate(zip(p_ids, p_names)):
            d = float(dist[i, j]) if (t_ok[i] and p_ok[j]) else None
            if t_exact == p_exact[j]:
                crit = "exact name"
            elif near_identical(tname, pname):
                crit = "near-identical name"
            elif d is not None and d < threshold:
                crit = f"word vectors ({vectors}) distance < {threshold}"
            else:
                continue
            matches.append({"pretrain_identifier": pid, "pretrain_name": pname, "criterion": crit,
                            "distance": None if d is None else round(max(d, 0.0), 4)})
        if matches:
            order = {"exact name": 0, "near-identical name": 1}
            matches.sort(key=lambda m: (order.get(m["criterion"], 2), m["distance"] if m["distance"] is not None else 9))
            out.append({"identifier": tid, "name": tname, "matches": matches})
    return out


def find_related(pretrain: str, dataset: str, skip: set[str] = frozenset(), names: Optional[str | Path] = None
                 ) -> list[dict]:
    """Target classes whose stemmed words contain, or are contained in, a pre-training class's words.

    Listed in the report for a human to review ("surfing" / "surfing water", but also "hammering" /
    "hammer throw"); never excluded automatically."""
    st = _stemmer()
    p_ids, p_names = pretrain_classes(pretrain, names)
    p_stems = [frozenset(st.stem(w) for w in _content_words(n)) for n in p_names]
    ds = get_dataset(dataset)
    out = []
    for tid, tname in zip(ds.identifiers, ds.names):
        if tid in skip:
            continue
        t = frozenset(st.stem(w) for w in _content_words(tname))
        hits = [p_names[j] for j, p in enumerate(p_stems) if t and p and (t <= p or p <= t)]
        if hits:
            out.append({"identifier": tid, "name": tname, "pretrain_names": hits})
    return out


def overlap_document(pretrain: str, dataset: str, vectors: str = "glove50", threshold: float = THRESHOLD,
                     names: Optional[str | Path] = None) -> dict:
    entries = find_overlap(pretrain, dataset, vectors, threshold, names)
    related = find_related(pretrain, dataset, {e["identifier"] for e in entries}, names)
    desc = PRETRAIN_SETS.get(pretrain, pretrain)
    src = {}
    if names is not None:
        _, nms, sha = read_names(names)
        desc = f"{desc.split(' (')[0]}: {len(nms)} names from {Path(names).name} (sha256 {sha[:16]})"
        src = {"names_file": str(names), "names_sha256": sha, "n_pretrain": len(nms)}
    return {
        "pretrain": pretrain, "pretrain_description": desc, "dataset": dataset, **src,
        "version": OVERLAP_VERSION, "vectors": vectors, "threshold": threshold,
        "criteria": ["exact name", "near-identical name (stop words dropped, Porter stems, any order)",
                     f"word-vector cosine distance < {threshold} (mean of word vectors, Brattoli et al.)"],
        "n_classes": get_dataset(dataset).n_classes, "n_overlap": len(entries),
        "overlap": entries,
        "related_not_excluded": related,
    }


def _packaged(pretrain: str, dataset: str) -> Optional[dict]:
    f = resources.files("zsar_bench").joinpath("data", "overlap", f"{pretrain}_{dataset}.json")
    return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else None


def load_overlap(pretrain: str, dataset: str, names: Optional[str | Path] = None) -> dict:
    """The packaged document when one ships (built-in lists only), else computed now with the default settings."""
    pretrain_classes(pretrain, names)  # validates the name and the names file
    if names is not None:
        return overlap_document(pretrain, dataset, names=names)
    doc = _packaged(pretrain, dataset)
    if doc is None:
        pool = pretrain_pool(pretrain)
        if pool is not None and pool[0].name == dataset:
            raise SplitError(f"{dataset}' seen classes are {pretrain} itself (its first {pool[1]} classes); "
                             f"excluding {pretrain} overlap from {dataset} protocols is not meaningful")
        doc = overlap_document(pretrain, dataset)
    return doc


def overlapping_identifiers(pretrain: str, dataset: str, names: Optional[str | Path] = None) -> list[str]:
    return [e["identifier"] for e in load_overlap(pretrain, dataset, names)["overlap"]]


def exclude_overlap(protocol: Protocol, pretrain: str, names: Optional[str | Path] = None) -> Protocol:
    """``protocol`` with the classes that overlap ``pretrain`` dropped from seen, val and unseen.

    The returned protocol is named ``<protocol>-no-<pretrain>``; its sha256 covers the original
    split file's hash, the pre-training set and the excluded classes, so records and leaderboards
    never mix it with the full protocol.
    """
    doc = load_overlap(pretrain, protocol.dataset, names)
    drop = [e["identifier"] for e in doc["overlap"]]
    dropset = set(drop)
    folds = []
    for f in protocol.folds:
        nf = replace(f, seen=tuple(c for c in f.seen if c not in dropset),
                     val=tuple(c for c in f.val if c not in dropset), unseen=tuple(c for c in f.unseen if c not in dropset))
        if not nf.seen or not nf.unseen:
            raise SplitError(f"{protocol.dataset}/{protocol.protocol} fold {f.fold}: no "
                             f"{'seen' if not nf.seen else 'unseen'} classes left after excluding the "
                             f"{len(drop)} classes that overlap {pretrain}")
        folds.append(nf)
    blob = json.dumps({"base_sha256": protocol.sha256, "pretrain": pretrain, "overlap_version": doc.get("version"),
                       "vectors": doc.get("vectors"), "threshold": doc.get("threshold"), "excluded": sorted(drop),
                       **({"names_sha256": doc["names_sha256"]} if doc.get("names_sha256") else {})},
                      sort_keys=True)
    return replace(
        protocol,
        protocol=f"{protocol.protocol}-no-{pretrain}",
        description=(f"{protocol.description} Without the {len(drop)} classes that overlap {pretrain} "
                     f"(zsar_bench.overlap: {', '.join(drop)})."),
        folds=tuple(folds),
        sha256=hashlib.sha256(blob.encode()).hexdigest(),
    )


def render_markdown(doc: dict) -> str:
    ds = get_dataset(doc["dataset"])
    lines = [
        f"# Class overlap: {doc['pretrain']} vs {ds.title}",
        "",
        f"Pre-training classes: {doc['pretrain_description']}. Target: {ds.title} ({doc['n_classes']} classes).",
        f"{doc['n_overlap']} target classes overlap. Criteria (any one): " + "; ".join(doc["criteria"]) + ".",
        f"Word vectors: {doc['vectors']}; overlap version {doc['version']}.",
        "",
        f"Exclude them from a run with `python run_bench.py ... --exclude-overlap {doc['pretrain']}"
        + (f" --pretrain-names {doc['names_file']}" if doc.get("names_file") else "") + "` "
        f"(or `zsar_bench.overlap.exclude_overlap(protocol, {doc['pretrain']!r}"
        + (f", {doc['names_file']!r}" if doc.get("names_file") else "") + ")`); the protocol is then named "
        f"`<protocol>-no-{doc['pretrain']}` with its own hash.",
        "",
    ]

    rows = []
    for e in doc["overlap"]:
        for k, m in enumerate(e["matches"]):
            rows.append([e["identifier"] if k == 0 else "", e["name"] if k == 0 else "", m["pretrain_name"],
                         m["criterion"], "" if m["distance"] is None else f"{m['distance']:.3f}"])
    lines.append(tabulate(rows, headers=["Target class", "Name", f"{doc['pretrain']} class", "Criterion",
                                         "WV distance"], tablefmt="github") if rows else "(none)")
    related = doc.get("related_not_excluded") or []
    if related:
        lines += ["", f"## Related, not excluded ({len(related)})", "",
                  "Target classes whose words contain, or are contained in, a pre-training class's words. "
                  "Listed for review only: some are the same action phrased differently, some are not.", ""]
        lines.append(tabulate([[e["identifier"], e["name"], "; ".join(e["pretrain_names"])] for e in related],
                              headers=["Target class", "Name", f"{doc['pretrain']} classes"], tablefmt="github"))
    return "\n".join(lines) + "\n"


def write_report(doc: dict, reports_dir: str | Path) -> Path:
    out = Path(reports_dir) / f"overlap_{doc['pretrain']}_{doc['dataset']}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_markdown(doc), encoding="utf-8")
    tmp.replace(out)
    return out
