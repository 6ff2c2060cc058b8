"""A large one-time encoding on a CPU, split over processes of one thread each.

On a CPU, processes of one thread each encode faster than one process with as many threads (2 cores, MiniLM,
89-token texts in batches of 16: 56 against 46 texts a second): a batch's many small operations split poorly
over threads, while separate processes keep every core on whole batches. Starting the processes costs a few
seconds (imports, model load), so this pays for a few thousand texts, not for a handful. The vectors equal the
in-process ones up to float rounding (thread count and batch composition change the summation order)."""
from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from typing import Optional, Sequence

import numpy as np

from .encoders import make_text_encoder

MIN_TEXTS_PER_PROCESS = 500  # below this per process, starting processes costs more than it saves


def worth_processes(n_texts: int, cores: int, device: str) -> int:
    """How many one-thread processes to encode ``n_texts`` with (1: encode in this process)."""
    if device != "cpu" or cores < 2:
        return 1
    return max(1, min(cores, n_texts // MIN_TEXTS_PER_PROCESS))


def _encode_shard(spec: str, max_length: int, texts: Sequence[str], batch_size: int) -> np.ndarray:
    import torch

    torch.set_num_threads(1)
    return make_text_encoder(spec, max_length, "cpu", batch_size=batch_size).encode(list(texts))


def encode_in_processes(spec: str, max_length: int, texts: Sequence[str], processes: int, batch_size: int = 16,
                        timeout: Optional[float] = None) -> np.ndarray:
    """Embeddings [len(texts), dim] of ``texts`` with encoder ``spec``, computed by ``processes`` spawned
    processes of one thread each. Texts are sorted by length and dealt out in turn, so every process gets an
    even share of long and short texts and batches of similar lengths (little padding)."""
    texts = list(texts)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    shards = [order[k::processes] for k in range(processes)]
    shards = [s for s in shards if s]
    with ProcessPoolExecutor(max_workers=len(shards), mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(_encode_shard, spec, max_length, [texts[i] for i in s], batch_size) for s in shards]
        parts = [f.result(timeout=timeout) for f in futures]
    dim = parts[0].shape[1]
    out = np.empty((len(texts), dim), np.float32)
    for s, vecs in zip(shards, parts):
        out[s] = vecs
    return out
