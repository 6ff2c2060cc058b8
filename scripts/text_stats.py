#!/usr/bin/env python
"""Figures for the class texts: for each dataset, how often a class's description embedding has
its own name's embedding as nearest neighbour among all the dataset's names (default encoder,
cosine); and text encoding throughput, cold (empty cache) and from the on-disk cache."""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zsar_bench.datasets import DATASETS, get_dataset  # noqa: E402
from zsar_bench.paths import set_data_root  # noqa: E402


def main() -> None:
    set_data_root(tempfile.mkdtemp(prefix="zsar-textstats-"))  # a cold cache
    from zsar_bench.text.encoders import get_text_encoder

    enc = get_text_encoder("minilm")
    all_texts = []
    print("dataset   classes  desc->own-name top-1  top-5")
    for name in DATASETS.names():
        classes = get_dataset(name).classes()
        names = [c.name for c in classes]
        descs = [c.description for c in classes]
        all_texts += names + descs
        n = enc.encode(names)
        d = enc.encode(descs)
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        sim = d @ n.T
        order = np.argsort(-sim, axis=1)
        top1 = float((order[:, 0] == np.arange(len(names))).mean())
        top5 = float((order[:, :5] == np.arange(len(names))[:, None]).any(1).mean())
        print(f"{name:9s} {len(names):7d}  {100 * top1:19.1f}%  {100 * top5:5.1f}%")
    texts = list(dict.fromkeys(all_texts))
    set_data_root(tempfile.mkdtemp(prefix="zsar-textstats-cold-"))
    get_text_encoder.cache_clear()
    enc = get_text_encoder("minilm")
    t = time.perf_counter()
    enc.encode(texts)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    enc.encode(texts)
    warm = time.perf_counter() - t
    print(f"encoding {len(texts)} class texts (names + descriptions): cold {len(texts) / cold:.0f} texts/s "
          f"({cold:.2f}s), from cache {len(texts) / warm:.0f} texts/s ({warm:.3f}s)")


if __name__ == "__main__":
    main()
