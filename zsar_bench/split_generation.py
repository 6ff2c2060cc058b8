"""The committed split files under splits/, generated (``scripts/make_splits.py`` writes them; rerunning
reproduces them byte for byte).

- random-50-50: 50 folds for olympics, hmdb51, ucf101. Fold k: numpy.random.default_rng(
  [20211011, dataset index, k]).permutation(n); the first n // 2 entries index the unseen classes
  in the dataset's canonical order; seen = the rest. No validation classes.
- e2e10: Brattoli et al. (CVPR 2020), 10 folds for hmdb51 and ucf101. Fold k: np.random.seed(k);
  unseen = the first n // 2 entries of np.random.permutation(n), as indices into the sorted class
  list (HMDB51: folder names with '_' replaced by ' ', sorted; UCF101: folder names, sorted).
- kinetics-zsar: ER's 3 folds (Chen and Huang, ICCV 2021): seen = the 400 Kinetics-400 classes;
  per fold 60 validation and 160 test classes out of the 220 new in Kinetics-600. The memberships
  are facts copied from ER's release into data/kinetics_zsar_folds.json (class ids in ER's id order). Training
  videos: the Kinetics-400 training partition where a feature set records one.
- k400-full, k400-e2e10 (hmdb51, ucf101): Brattoli et al.'s cross-dataset protocol (CVPR 2020): train
  on the Kinetics-400 classes minus every class that overlaps a class of the target dataset (exact or
  near-identical name, or word-vector cosine distance < 0.05; zsar_bench/data/overlap/, written by
  scripts/make_overlap.py), test on all target classes (k400-full, 1 fold) or on the unseen halves of
  the e2e10 folds (k400-e2e10, 10 folds). The excluded Kinetics classes are listed in the file.
- k400-official (hmdb51, ucf101): the same training classes; three folds, one per official train/test split,
  each testing all target classes on that split's official test videos only (zsar_bench/official_splits.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .datasets import get_dataset
from .official_splits import SPLITS, table_sha256

DATA = Path(__file__).resolve().parent / "data"
RANDOM_SEED = 20211011


def write(out_dir: Path, dataset: str, protocol: str, version: int, description: str, folds: list[dict],
          counts: dict, **extra) -> None:
    doc = {
        "dataset": dataset,
        "protocol": protocol,
        "version": version,
        "description": description,
        **extra,
        "counts": counts,
        "folds": folds,
    }
    out = Path(out_dir) / dataset / f"{protocol}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(folds)} folds)")


def random_50_50(out_dir: Path) -> None:
    for d_index, name in enumerate(["olympics", "hmdb51", "ucf101"]):
        ids = get_dataset(name).identifiers
        n = len(ids)
        folds = []
        for k in range(50):
            perm = np.random.default_rng([RANDOM_SEED, d_index, k]).permutation(n)
            unseen = sorted(perm[: n // 2].tolist())
            seen = sorted(perm[n // 2:].tolist())
            folds.append({"fold": k, "seen": [ids[i] for i in seen], "val": [], "unseen": [ids[i] for i in unseen]})
        write(out_dir, name, "random-50-50", 1,
              f"50 random folds; unseen = {n // 2} classes, seen = {n - n // 2}; made by scripts/make_splits.py",
              folds, {"seen": n - n // 2, "val": 0, "unseen": n // 2})


def e2e_sorted_classes(name: str) -> list[str]:
    """The identifiers in the order Brattoli et al. sort their class names (HMDB51: folder names with '_' replaced
    by ' ', sorted; UCF101: folder names, sorted)."""
    ids = get_dataset(name).identifiers
    key = (lambda c: c.replace("_", " ")) if name == "hmdb51" else (lambda c: c)
    return [c for _, c in sorted((key(c), c) for c in ids)]


def e2e10(out_dir: Path) -> None:
    for name in ["hmdb51", "ucf101"]:
        ids = e2e_sorted_classes(name)
        n = len(ids)
        folds = []
        for k in range(10):
            np.random.seed(k)
            perm = np.random.permutation(n)
            unseen = {ids[i] for i in perm[: n // 2]}
            folds.append({
                "fold": k,
                "seen": [c for c in ids if c not in unseen],
                "val": [],
                "unseen": [c for c in ids if c in unseen],
            })
        write(out_dir, name, "e2e10", 1,
              "Brattoli et al.'s class draws (CVPR 2020, e2e): fold k = np.random.seed(k); "
              "np.random.permutation(n)[:n//2] index the unseen classes in the sorted class list. Trains on the "
              "complementary half of the same dataset (Brattoli et al. train on Kinetics: see k400-e2e10)",
              folds, {"seen": n - n // 2, "val": 0, "unseen": n // 2})


def kinetics_zsar(out_dir: Path) -> None:
    ids = get_dataset("kinetics").identifiers
    table = json.loads((DATA / "kinetics_zsar_folds.json").read_text())
    folds = []
    for k in range(3):
        val = sorted(table["val"][k])
        test = sorted(table["test"][k])
        folds.append({
            "fold": k,
            "seen": ids[:400],
            "val": [ids[i] for i in val],
            "unseen": [ids[i] for i in test],
        })
    write(out_dir, "kinetics", "kinetics-zsar", 1,
          "ER's Kinetics-ZSAR folds (Chen and Huang, ICCV 2021): seen = Kinetics-400; 60 validation and "
          "160 test classes from the 220 new in Kinetics-600",
          folds, {"seen": 400, "val": 60, "unseen": 160}, train_partition="train")


def k400_excluded(target: str) -> list[dict]:
    """Kinetics-400 classes that overlap any class of ``target`` (shipped overlap data)."""
    doc = json.loads((DATA / "overlap" / f"k400_{target}.json").read_text())
    by_k400: dict[str, dict] = {}
    for row in doc["overlap"]:
        for m in row["matches"]:
            e = by_k400.setdefault(m["pretrain_identifier"], {"class": m["pretrain_identifier"], "matches": []})
            e["matches"].append({"target": row["identifier"], "criterion": m["criterion"], "distance": m["distance"]})
    return [by_k400[k] for k in sorted(by_k400)]


def _k400_training(name: str) -> tuple[list[dict], set[str], list[str], list[str]]:
    """The cross-dataset protocols' training side for target ``name``: (the Kinetics-400 classes excluded for
    overlapping it, their names, the 400 classes left in order, the target's classes)."""
    excluded = k400_excluded(name)
    drop = {e["class"] for e in excluded}
    seen = [c for c in get_dataset("kinetics").identifiers[:400] if c not in drop]
    return excluded, drop, seen, get_dataset(name).identifiers


def k400_cross(out_dir: Path) -> None:
    for name in ["hmdb51", "ucf101"]:
        excluded, drop, seen, ids = _k400_training(name)
        how = (f"train on the {len(seen)} Kinetics-400 classes left after removing the {len(drop)} that overlap a "
               f"{name} class (exact or near-identical name, or word-vector cosine distance < 0.05; listed under "
               "'excluded'), Brattoli et al., CVPR 2020")
        write(out_dir, name, "k400-full", 1, f"Cross-dataset: {how}; test on all {len(ids)} {name} classes",
              [{"fold": 0, "seen": seen, "val": [], "unseen": list(ids)}],
              {"seen": len(seen), "val": 0, "unseen": len(ids)},
              train_dataset="kinetics", train_partition="train", excluded=excluded)
        halves = json.loads((Path(out_dir) / name / "e2e10.json").read_text())["folds"]
        write(out_dir, name, "k400-e2e10", 1,
              f"Cross-dataset: {how}; test on the unseen half of each e2e10 fold (Brattoli et al.'s class draws)",
              [{"fold": f["fold"], "seen": seen, "val": [], "unseen": f["unseen"]} for f in halves],
              {"seen": len(seen), "val": 0, "unseen": len(halves[0]["unseen"])},
              train_dataset="kinetics", train_partition="train", excluded=excluded)


def k400_official(out_dir: Path) -> None:
    """k400-full's training classes; three folds, one per official train/test split, each testing every class
    on that split's official test videos (CLIP-era papers' full-class protocol, mean +- std over the splits)."""
    for name in ["hmdb51", "ucf101"]:
        excluded, drop, seen, ids = _k400_training(name)
        how = ("official split k tests groups 7k-6 .. 7k (a video's group from its official name)" if name == "ucf101"
               else "official split k tests the 30 videos per class of the official test lists (packaged in "
                    "zsar_bench/data/official_splits/hmdb51_test.tsv)")
        sha = table_sha256(name)
        write(out_dir, name, "k400-official", 1,
              f"Cross-dataset, all {len(ids)} {name} classes on the official test videos: train on the {len(seen)} "
              f"Kinetics-400 classes of k400-full (the {len(drop)} overlapping a {name} class removed, listed under "
              f"'excluded'); fold k-1 = official split k: {how}. Needs video ids that are the official names",
              [{"fold": k - 1, "seen": seen, "val": [], "unseen": list(ids), "official_split": k} for k in SPLITS],
              {"seen": len(seen), "val": 0, "unseen": len(ids)}, train_dataset="kinetics", train_partition="train",
              test_videos="official", **({"test_videos_sha256": sha} if sha else {}), excluded=excluded)


def write_all(out_dir: Path) -> None:
    """Every generated split file under ``out_dir`` (k400 cross-dataset files read the e2e10 files written first)."""
    random_50_50(out_dir)
    e2e10(out_dir)
    kinetics_zsar(out_dir)
    k400_cross(out_dir)
    k400_official(out_dir)
