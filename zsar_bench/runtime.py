"""Process-wide run settings every layer shares: seeding and the one rule for the device.

Kept apart from the trainer so the method interface, the text encoders and the run planner can use them
without importing the training loop (and without an import circle method <-> trainer)."""
from __future__ import annotations

import random
import re
from typing import Optional

import numpy as np

DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch."""
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
