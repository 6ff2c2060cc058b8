"""CLIP towers for CLIP-era zero-shot methods: checkpoint loading with a matchable identity, video
embeddings (frame-averaged image embeddings) and prompt-ensembled class embeddings.

Everything runs on transformers' ``CLIPModel`` without PIL/torchvision; tests use a tiny randomly
initialised CLIP saved to a folder (``tests/clip_fixtures.py``).
"""
from .model import (CLIP_MEAN, CLIP_STD, ClipBundle, ClipError, embedding_dim, identity_key, load_clip,
                    model_identity)
from .text import TEMPLATE_SETS, VIDEO_TEMPLATES, class_embeddings, encode_texts
from .video import encode_clip_frames, preprocess_frames, sample_frame_indices

__all__ = [
    "CLIP_MEAN", "CLIP_STD", "ClipBundle", "ClipError", "TEMPLATE_SETS", "VIDEO_TEMPLATES", "class_embeddings",
    "embedding_dim", "encode_clip_frames", "encode_texts", "identity_key", "load_clip", "model_identity",
    "preprocess_frames", "sample_frame_indices",
]
