"""Small generated videos (a random image sliding sideways, mpeg4) for tests, benchmarks and the device check of
the extractors: real files that PyAV decodes like any clip, made without data."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_sliding_video(path: Path, n_frames: int, seed: int, w: int = 64, h: int = 48, rate: int = 25,
                        shift: int = 3) -> None:
    """An mpeg4 video of ``n_frames`` frames of ``w`` x ``h``: one seeded random RGB image rolled ``shift`` pixels to
    the right per frame."""
    import av

    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h, w, 3)).astype(np.uint8)
    with av.open(str(path), mode="w") as c:
        s = c.add_stream("mpeg4", rate=rate)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(n_frames):
            for p in s.encode(av.VideoFrame.from_ndarray(np.roll(base, shift * i, axis=1), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
