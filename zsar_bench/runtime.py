"""Process-wide run settings every layer shares: seeding and the one rule for the device.

Kept apart from the trainer so the method interface, the text encoders and the run planner can use them
without importing the training loop (and without an import circle method <-> trainer)."""
from __future__ import annotations

import os
import random
import re
from contextlib import contextmanager
from typing import Iterator, Optional

import numpy as np

DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch. A run is seeded through ``method.FitContext.seed_run``, once, right before fit."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(device: Optional[str]) -> str:
    """``auto`` (or None) -> cuda when torch sees a GPU, else cpu; an explicit cuda without one is an error."""
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA device; use --device cpu or auto")
    return device


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS says, else every core)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@contextmanager
def using_threads(n: int) -> Iterator[int]:
    """Torch and BLAS (numpy, scipy) at ``n`` threads inside the block; the previous torch setting after it."""
    import torch
    from threadpoolctl import threadpool_limits

    n = max(1, int(n))
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(n):
            yield n
    finally:
        torch.set_num_threads(before)
