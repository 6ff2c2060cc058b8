#!/usr/bin/env python
"""Speed of the real-feature store and of extraction, on this machine's CPU.

    python benchmarks/bench_store.py [--rows 100000] [--dim 2048] [--videos 6] [--skip-extract]

1. Store: a random [rows x dim] float16 matrix with a Parquet index for kinetics (620 classes).
   Times: `import-features --from generic` (read + validate + checksum + write, atomic), the bare
   `write_arrow_feature_set`, `load_arrow_feature_set` (memory map, float16 -> float32 labels, ids),
   and `load_feature_set` (the same plus the finiteness check every load does); the file checksum
   every load verifies, in full (first load or changed file) and from its size + mtime stamp.
2. Extraction: generated 320x240 videos of 64 frames, randomly initialised TSM ResNet-50 + BiT-M
   R50x1 at ER's sizes (scale 256, crop 224, 8 segments / 8 frames), on CPU; clips per second with
   and without BiT concepts. Random weights cost what real ones cost.

Everything goes to a temporary data root that is deleted at the end.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from zsar_bench.features.generated_videos import write_sliding_video  # noqa: E402
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def timed(fn, *a, **kw):
    t0 = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t0


def bench_store(tmp: Path, rows: int, dim: int) -> None:
    import pandas as pd

    from zsar_bench.datasets import get_dataset
    from zsar_bench.features import load_feature_set
    from zsar_bench.features.arrow_store import load_arrow_feature_set, write_arrow_feature_set
    from zsar_bench.features.importers import import_generic
    from zsar_bench.features.base import feature_root

    ds = get_dataset("kinetics")
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((rows, dim), dtype=np.float32).astype(np.float16)
    labels = np.arange(rows) % ds.n_classes
    ids = [f"clip{i:07d}" for i in range(rows)]
    src = tmp / "src"
    src.mkdir()
    np.save(src / "features.npy", feats)
    pd.DataFrame({"video_id": ids, "label": [ds.identifiers[i] for i in labels]}).to_parquet(src / "index.parquet")
    size = feats.nbytes / 2**20
    print(f"store: {rows:,} x {dim} float16 ({size:.0f} MB), kinetics ({ds.n_classes} classes)")

    _, t = timed(import_generic, "kinetics", "bench", src / "features.npy", index=str(src / "index.parquet"),
                 progress=False, log=lambda m: None)
    print(f"  import-features --from generic (.npy + parquet index): {t:6.2f} s")
    _, t = timed(write_arrow_feature_set, "kinetics", "bench", video_ids=ids, labels=labels, features=feats,
                 source="bench", overwrite=True)
    print(f"  write_arrow_feature_set (validate, checksum, write, swap): {t:6.2f} s")
    root = feature_root("kinetics", "bench")
    disk = sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) / 2**20
    loads = [timed(load_arrow_feature_set, "kinetics", "bench", root)[1] for _ in range(3)]
    print(f"  load_arrow_feature_set: {min(loads):6.2f} s best of 3 (runs: {', '.join(f'{x:.2f}' for x in loads)}); "
          f"{disk:.0f} MB on disk")
    import json

    from zsar_bench.features.integrity import VERIFIED, verify_files

    files = json.loads((root / "manifest.json").read_text())["files"]
    (root / VERIFIED).unlink(missing_ok=True)
    _, t_full = timed(verify_files, root, files, "bench", "")
    _, t_cached = timed(verify_files, root, files, "bench", "")
    print(f"  checksum on load: full sha256 {t_full:6.2f} s (first load, or after a file changed); "
          f"{t_cached * 1000:.1f} ms when unchanged (size + mtime stamp)")
    fs, t = timed(load_feature_set, "kinetics", "bench")
    print(f"  load_feature_set (+ finiteness check): {t:6.2f} s -> features {fs.videos.features.dtype} "
          f"{fs.videos.features.shape}")
    del fs


def bench_extract(tmp: Path, n_videos: int, threads: int | None, batch_size: int) -> None:
    import torch

    from zsar_bench.features.extract import decode_sampled, extract_features, resize_crop

    vids = tmp / "videos"
    for k in range(n_videos):
        d = vids / ("bowling" if k % 2 else "high_jump")
        d.mkdir(parents=True, exist_ok=True)
        write_sliding_video(d / f"clip{k}.mp4", 64, k, w=320, h=240, rate=25, shift=4)
    paths = sorted(vids.rglob("*.mp4"))
    t0 = time.perf_counter()
    for p in paths:
        frames, _, _, _ = decode_sampled(str(p))
        resize_crop(frames)
    dec = (time.perf_counter() - t0) / len(paths)
    th = threads or torch.get_num_threads()
    print(f"extraction: {n_videos} videos 320x240x64 frames, CPU, torch threads {th}, batch {batch_size}")
    print(f"  decode + resize/crop only: {1 / dec:6.2f} clips/s ({dec * 1000:.0f} ms per clip)")
    for objects in (True, False):
        name = f"bench-ext-{int(objects)}"
        _, t = timed(extract_features, "olympics", name, vids, random_init=True, objects=objects, threads=threads,
                     batch_size=batch_size, allow_empty_classes=True, progress=False, log=lambda m: None)
        what = "TSM + BiT (top-20 concepts)" if objects else "TSM only (--no-objects)"
        print(f"  {what:<28}: {n_videos / t:6.2f} clips/s ({t / n_videos:.2f} s per clip, incl. model set-up)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=2048)
    ap.add_argument("--videos", type=int, default=6)
    ap.add_argument("--threads", type=int, default=None, help="torch threads for extraction (default: torch's)")
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--skip-store", action="store_true")
    ap.add_argument("--skip-extract", action="store_true")
    a = ap.parse_args()
    from zsar_bench.paths import set_data_root

    tmp = Path(tempfile.mkdtemp(prefix="zsar-bench-store-"))
    try:
        set_data_root(tmp / "data")
        try:
            load = os.getloadavg()[0]
            print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at start")
        except OSError:
            pass
        if not a.skip_store:
            bench_store(tmp, a.rows, a.dim)
        if not a.skip_extract:
            bench_extract(tmp, a.videos, a.threads, a.batch_size)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
