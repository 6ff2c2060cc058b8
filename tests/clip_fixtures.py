"""A tiny randomly initialised CLIP checkpoint for tests (no downloads): ``make_tiny_clip(folder)``.

The tokenizer is a real ``CLIPTokenizer`` (byte-level BPE, CLIP's pre-tokenizer and post-processor)
over a minimal vocabulary: the 256 byte symbols, the same with the end-of-word suffix ``</w>``,
a handful of merges, then ``<|startoftext|>`` and ``<|endoftext|>`` last, as in OpenAI's vocabulary
(so the end token has the highest id, and the text tower's end-token pooling works either way).
"""
from __future__ import annotations

import json
from pathlib import Path

MERGES = ("t h", "th e</w>", "o f</w>", "i n", "in g</w>", "p e", "pe r", "per s", "o n</w>", "a n", "an d</w>")


def tiny_tokenizer():
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    symbols = list(bytes_to_unicode().values())
    vocab = {s: i for i, s in enumerate(symbols + [s + "</w>" for s in symbols])}
    merges = [tuple(m.split()) for m in MERGES]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=merges)


def make_tiny_clip(folder, seed: int = 0, image_size: int = 32, max_text_len: int = 24) -> str:
    """Save a tiny CLIP (2-layer towers, width 32, patch 8, projection 16), its tokenizer and a
    CLIP-style preprocessor_config.json under ``folder``; deterministic for a given ``seed``."""
    import torch
    from transformers import CLIPConfig, CLIPModel
    from transformers.utils import logging as hf_logging

    from zsar_bench.clip.model import CLIP_MEAN, CLIP_STD

    hf_logging.disable_progress_bar()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = tiny_tokenizer()
    tower = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
    config = CLIPConfig(
        text_config=dict(tower, vocab_size=len(tok), max_position_embeddings=max_text_len,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id),
        vision_config=dict(tower, image_size=image_size, patch_size=8),
        projection_dim=16,
    )
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = CLIPModel(config)
    finally:
        torch.random.set_rng_state(state)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "image_processor_type": "CLIPImageProcessor", "do_resize": True, "size": {"shortest_edge": image_size},
        "resample": 3, "do_center_crop": True, "crop_size": {"height": image_size, "width": image_size},
        "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
        "image_mean": list(CLIP_MEAN), "image_std": list(CLIP_STD), "do_convert_rgb": True,
    }, indent=1))
    return str(folder)
