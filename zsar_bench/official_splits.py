"""The official three train/test splits of UCF101 and HMDB51, as test-video membership: which of the three
official test lists holds a video, read from its official file name.

- UCF101 (Soomro et al., 2012): a video ``v_<Class>_g<GG>_c<CC>`` belongs to group GG (1-25); split k tests
  groups 7(k-1)+1 .. 7k (split 1: groups 1-7, split 2: 8-14, split 3: 15-21); groups 22-25 always train.
- HMDB51 (Kuehne et al., ICCV 2011): the official lists (``testTrainMulti_7030_splits``, 30 test videos per
  class and split), packaged as ``data/official_splits/hmdb51_test.tsv``; its header says where they were read.

A feature set's video ids match when their base name (after the last ``/``, without a video or feature file
extension) is the official name, so ``v_ApplyEyeMakeup_g08_c01.avi``, ``ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01``
and ``v_ApplyEyeMakeup_g08_c01.npy`` are one video. Ids that are not official names (the synthetic world's
opaque ``syn2-...`` ids) cannot be placed in a split: ``official_test_mask`` refuses them with one line.
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from importlib import resources
from typing import Sequence

import numpy as np

from .errors import ZsarBenchError

SPLITS = (1, 2, 3)
DATASETS = ("ucf101", "hmdb51")
HMDB51_TABLE = ("data", "official_splits", "hmdb51_test.tsv")
UCF101_GROUPS = 7  # groups per test split
_EXT = re.compile(r"\.(avi|mp4|mkv|webm|mov|npy|npz|pt|pkl)$", re.IGNORECASE)
_UCF = re.compile(r"v_([A-Za-z]+)_g(\d\d)_c(\d\d)")


class OfficialSplitError(ZsarBenchError, ValueError):
    """A feature set's videos cannot be placed in the official splits."""


def video_key(video_id: str) -> str:
    """The official file name a video id stands for, without folders and extension."""
    return _EXT.sub("", str(video_id).replace("\\", "/").rsplit("/", 1)[-1])


def ucf101_group(video_id: str) -> int | None:
    """UCF101's group number (1-25) of an official video name, None for any other id."""
    m = _UCF.fullmatch(video_key(video_id))
    return int(m.group(2)) if m and 1 <= int(m.group(2)) <= 25 else None


def _table_text() -> str:
    return resources.files("zsar_bench").joinpath(*HMDB51_TABLE).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def hmdb51_test_lists() -> dict[str, frozenset[int]]:
    """{official video name without extension: the splits whose test list holds it}."""
    out: dict[str, frozenset[int]] = {}
    for line in _table_text().splitlines():
        if line.strip() and not line.startswith("#"):
            _cls, video, splits = line.split("\t")
            out[video_key(video)] = frozenset(int(s) for s in splits.split(","))
    return out


def table_sha256(dataset: str) -> str | None:
    """sha256 of the packaged test lists a dataset's official splits read (None: UCF101's, a rule on names)."""
    return hashlib.sha256(_table_text().encode("utf-8")).hexdigest() if dataset == "hmdb51" else None


def official_test_mask(dataset: str, video_ids: Sequence[str] | None, split: int) -> np.ndarray:
    """bool [N]: the videos in official split ``split``'s test list. OfficialSplitError (one line) for ids that
    are not official video names."""
    if dataset not in DATASETS:
        raise OfficialSplitError(f"{dataset} has no official train/test splits here (only {', '.join(DATASETS)})")
    if split not in SPLITS:
        raise OfficialSplitError(f"official split {split}: {dataset} has splits {', '.join(map(str, SPLITS))}")
    ids = [] if video_ids is None else [str(v) for v in video_ids]
    fix = ("the official-split protocols need a feature set whose video ids are the official video names "
           "(import real features whose index names each video, e.g. ")
    if dataset == "ucf101":
        groups = [ucf101_group(v) for v in ids]
        bad = [v for v, g in zip(ids, groups) if g is None]
        if bad or not ids:
            raise OfficialSplitError(f"ucf101: {len(bad)} of {len(ids)} video ids are not official UCF101 names "
                                     f"(first: {bad[0] if bad else 'none'}); {fix}v_ApplyEyeMakeup_g08_c01.avi)")
        lo = UCF101_GROUPS * (split - 1) + 1
        return np.array([lo <= g < lo + UCF101_GROUPS for g in groups], dtype=bool)
    lists = hmdb51_test_lists()
    mask = np.array([split in lists.get(video_key(v), ()) for v in ids], dtype=bool)
    if not mask.any():
        raise OfficialSplitError(f"hmdb51: none of the {len(ids)} video ids is in official split {split}'s test list "
                                 f"(first id: {ids[0] if ids else 'none'}); {fix}"
                                 "April_09_brush_hair_u_nm_np1_ba_goo_0.avi)")
    return mask
