"""CLIP video embeddings: frames -> CLIP preprocessing (pure torch) -> image tower -> frame average.

Preprocessing is OpenAI CLIP's (``Resize(S, BICUBIC)``, ``CenterCrop(S)``, ``ToTensor``,
``Normalize``) done in torch, because PIL/torchvision (and so ``CLIPImageProcessor``) are not
usable here: the shorter side is resized to ``bundle.resize_size`` with antialiased bicubic and
rounded back to uint8 levels (PIL resizes uint8 images), centre-cropped to ``bundle.image_size``
as torchvision's CenterCrop does, scaled to [0, 1] and normalised with the checkpoint's mean/std.
Antialiased bicubic in torch matches PIL's to within a grey level or so, not bit for bit.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..features.extract import bit_indices, resize_crop
from .model import ClipBundle, embedding_dim, projected


def sample_frame_indices(n_frames: int, num_frames: int = 8) -> np.ndarray:
    """ER's per-clip frame sampling (its BiT branch): ``round(linspace(0, n - 1, num_frames))``, all
    frames when ``n <= num_frames``, so CLIP sees the very frames ER's object concepts came from."""
    return bit_indices(n_frames, num_frames)


def preprocess_frames(frames: np.ndarray, bundle: ClipBundle) -> torch.Tensor:
    """uint8 [T, H, W, 3] RGB -> float32 [T, 3, S, S] (S = ``bundle.image_size``), on the CPU."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be [T, H, W, 3] RGB, got shape {frames.shape}")
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {frames.dtype}")
    x = resize_crop(frames, int(bundle.resize_size), int(bundle.image_size), mode="bicubic")
    mean = torch.tensor(bundle.mean, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(bundle.std, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


def encode_clip_frames(bundle: ClipBundle, frames_batch: Sequence[np.ndarray], batch_size: int = 64) -> np.ndarray:
    """One embedding per clip, float32 [n, D]: frames go through the image tower in batches of
    ``batch_size`` frames; each frame's projected embedding is L2-normalised, the clip's frames are
    averaged, and the mean is L2-normalised again.

    Normalising each frame first gives every frame the same weight whatever its norm (the mean
    direction is what CLIP's zero-shot video evaluation and ActionCLIP's mean pooling use); the
    final normalisation makes the dot product with normalised text embeddings a cosine."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if len(frames_batch) == 0:
        return np.zeros((0, embedding_dim(bundle)), np.float32)
    pixels = [preprocess_frames(f, bundle) for f in frames_batch]
    counts = [len(p) for p in pixels]
    if min(counts) == 0:
        raise ValueError(f"clip {counts.index(0)} has no frames")
    return encode_pixels(bundle, pixels, batch_size)


def encode_pixels(bundle, pixels: Sequence, batch_size: Optional[int] = None) -> np.ndarray:
    """``encode_clip_frames`` after pre-processing: per clip a float [T, 3, S, S] tensor from
    ``preprocess_frames`` -> float32 [n, D] (per-frame L2-normalised projected embeddings, averaged,
    L2-normalised again). ``batch_size`` frames go through the tower at a time (all at once when None);
    the extractor calls this with frames pre-processed in its decoding threads."""
    counts = [len(p) for p in pixels]
    allpix = torch.cat(list(pixels))
    step = batch_size or len(allpix)
    dtype = next(bundle.model.parameters()).dtype
    feats = []
    with torch.inference_mode():
        for i in range(0, len(allpix), step):
            x = allpix[i:i + step].to(device=bundle.device, dtype=dtype)
            f = projected(bundle.model.get_image_features(pixel_values=x)).float()
            feats.append(F.normalize(f, dim=-1).cpu())
        per_clip = torch.stack([c.mean(0) for c in torch.cat(feats).split(counts)])
        return F.normalize(per_clip, dim=-1).numpy().astype(np.float32)
