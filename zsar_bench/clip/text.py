"""CLIP text embeddings and prompt ensembling over class names."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .model import ClipBundle, embedding_dim, projected

# The 28 Kinetics-700 templates of CLIP's zero-shot evaluation (openai/CLIP data/prompts.md),
# verbatim, "a example" included: the ensemble is then the published one.
VIDEO_TEMPLATES: tuple[str, ...] = tuple(
    f"{lead} {who}{{}}."
    for lead in ("a photo of", "a video of", "a example of", "a demonstration of")
    for who in ("", "a person ", "a person using ", "a person doing ", "a person during ",
                "a person performing ", "a person practicing ")
)
TEMPLATE_SETS: dict[str, tuple[str, ...]] = {
    "none": ("{}",),
    "video": ("a video of a person {}.",),
    "ensemble": VIDEO_TEMPLATES,
}


def encode_texts(bundle: ClipBundle, texts: Sequence[str], batch_size: int = 64,
                 max_length: Optional[int] = None) -> np.ndarray:
    """L2-normalised projected text embeddings, float32 [n, D]. Texts longer than ``max_length`` tokens (default
    and at most: the model's context, ``max_position_embeddings``) are truncated; the end token, which CLIP
    pools, is kept."""
    max_length = bundle.max_length if max_length is None else min(int(max_length), bundle.max_length)
    texts = list(texts)
    if not texts:
        return np.zeros((0, embedding_dim(bundle)), np.float32)
    outs = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            enc = bundle.tokenizer(texts[i:i + batch_size], padding=True, truncation=True,
                                   max_length=max_length, return_tensors="pt")
            out = bundle.model.get_text_features(input_ids=enc["input_ids"].to(bundle.device),
                                                 attention_mask=enc["attention_mask"].to(bundle.device))
            outs.append(F.normalize(projected(out).float(), dim=-1).cpu())
    return torch.cat(outs).numpy().astype(np.float32)


def fill(template: str, text: str) -> str:
    return template.replace("{}", text)


def class_embeddings(bundle: ClipBundle, class_texts: Sequence[str], templates: Sequence[str],
                     batch_size: int = 64) -> np.ndarray:
    """Prompt ensembling, float32 [C, D]: each class's text fills every template; the normalised
    embeddings are averaged per class and the mean normalised again (CLIP's zero-shot classifier)."""
    templates = list(templates)
    if not templates:
        raise ValueError("no templates given")
    bad = [t for t in templates if t.count("{}") != 1]
    if bad:
        raise ValueError(f"templates must hold exactly one '{{}}' for the class text: {bad[:3]}")
    class_texts = list(class_texts)
    if not class_texts:
        return np.zeros((0, embedding_dim(bundle)), np.float32)
    prompts = [fill(t, c) for c in class_texts for t in templates]
    unique = list(dict.fromkeys(prompts))
    vecs = encode_texts(bundle, unique, batch_size)
    row = {p: i for i, p in enumerate(unique)}
    emb = torch.from_numpy(vecs[[row[p] for p in prompts]]).view(len(class_texts), len(templates), -1)
    return F.normalize(emb.mean(1), dim=-1).numpy().astype(np.float32)
