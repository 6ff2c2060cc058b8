"""Per-video test scores (``--save-scores``) and the per-class views built from them.

A run's score matrix is written as one Parquet file beside the records, ``<dir>/<key hash>.parquet``,
named after the run's key (``records.record_key``), with columns ``video_id``, ``label`` (the true
class identifier) and one float column per candidate class identifier. The record names the file
(``scores_file``). ``per_class`` reads the files of one method on one dataset and protocol and gives
each class's accuracy over the folds where it was a test class, and the most confused class pairs.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import ZsarBenchError
from .records import folder_unwritable, record_key


class ScoresError(ZsarBenchError, ValueError):
    """``--save-scores`` names a place scores cannot be written to (one line: the path, why, the fix)."""


SCORES_HINT = "pass --save-scores a folder (created if missing), or --save-scores alone for scores/ beside the records"


def check_scores_dir(folder: str | Path) -> None:
    """ScoresError unless run scores can be written into ``folder`` (an existing folder, or one that can be made):
    checked before any training, since a run whose scores cannot be written fails after it."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ScoresError(f"--save-scores {folder} is a file, not a folder; {SCORES_HINT}")
    why = folder_unwritable(folder)
    if why:
        raise ScoresError(f"--save-scores folder {folder} cannot be written: {why}; {SCORES_HINT}")


def scores_name(rec: dict) -> str:
    """The file name of a run's scores: a hash of its key (stable across reruns of the same run)."""
    blob = json.dumps(list(record_key(rec)), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16] + ".parquet"


def write_scores(folder: str | Path, rec: dict, video_ids: Sequence[str], labels: Sequence[str],
                 class_ids: Sequence[str], scores: np.ndarray) -> Path:
    """Write one run's [N, C] scores atomically (temp file + rename); returns the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(np.asarray(scores, dtype=np.float32), columns=list(class_ids))
    df.insert(0, "label", list(labels))
    df.insert(0, "video_id", [str(v) for v in video_ids])
    path = folder / scores_name(rec)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return path


def read_scores(path: str | Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def per_class(records: Sequence[dict], folder: str | Path, method: str, dataset: str, protocol: str,
              mode: str = "zsl", top_pairs: int = 10) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(per-class accuracy, most confused pairs, number of runs read) for ``method`` on ``dataset``/``protocol``.

    Per class: top-1 accuracy over all its test clips in every run with saved scores, the number of
    runs it was a test class in, and the spread of its per-run accuracy. Pairs: (true, predicted)
    counts of top-1 mistakes over the same runs, as a share of the true class's clips."""
    folder = Path(folder)
    acc: dict[str, list[float]] = {}
    n_clips: dict[str, int] = {}
    confusions: dict[tuple[str, str], int] = {}
    runs = 0
    for rec in records:
        if (rec.get("method"), rec.get("dataset"), rec.get("protocol"), rec.get("mode", "zsl")) != (
                method, dataset, protocol, mode):
            continue
        name = rec.get("scores_file")
        if not name or not (folder / name).is_file():
            continue
        df = read_scores(folder / name)
        classes = [c for c in df.columns if c not in ("video_id", "label")]
        pred = np.asarray(classes)[df[classes].to_numpy().argmax(1)]
        truth = df["label"].to_numpy()
        runs += 1
        for c in np.unique(truth):
            m = truth == c
            acc.setdefault(c, []).append(float((pred[m] == c).mean()))
            n_clips[c] = n_clips.get(c, 0) + int(m.sum())
        for t, p in zip(truth[pred != truth], pred[pred != truth]):
            confusions[(t, p)] = confusions.get((t, p), 0) + 1
    table = pd.DataFrame([{"class": c, "top1": 100 * float(np.mean(v)), "std": 100 * float(np.std(v, ddof=1))
                           if len(v) > 1 else 0.0, "runs": len(v), "clips": n_clips[c]} for c, v in acc.items()])
    if not table.empty:
        table = table.sort_values("top1").reset_index(drop=True)
    pairs = pd.DataFrame([{"true": t, "predicted": p, "count": k, "share_of_true": 100 * k / n_clips[t]}
                          for (t, p), k in confusions.items()])
    if not pairs.empty:
        pairs = pairs.sort_values(["share_of_true", "count"], ascending=False).head(top_pairs).reset_index(drop=True)
    return table, pairs, runs


def default_scores_dir(records_path: str | Path) -> Path:
    """Scores live next to the records file: ``<records dir>/scores/``."""
    return Path(records_path).parent / "scores"
