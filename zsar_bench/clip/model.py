"""Loading a CLIP checkpoint (transformers ``CLIPModel``) with its tokenizer and preprocessing constants.

A checkpoint is named by a local folder (saved with ``save_pretrained``) or a Hugging Face hub id,
which is only read from the local cache when ``HF_HUB_OFFLINE=1`` (transformers honours the env).
Its identity (weights' sha256 for a folder, cached commit for a hub id) is what text and video
embeddings are matched by: two identities match iff their ``identity_key`` strings are equal.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from huggingface_hub import try_to_load_from_cache
from transformers import AutoConfig, AutoTokenizer, CLIPModel
from transformers.utils import logging as hf_logging

from ..errors import ZsarBenchError
from ..hashing import sha256_named_files
from ..runtime import resolve_device

# OpenAI CLIP's preprocessing (also CLIPImageProcessor's defaults)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
_HASH_MEMO: dict[tuple, str] = {}


class ClipError(ZsarBenchError, ValueError):
    """A CLIP checkpoint that cannot be found or used; the message says how to fix it."""


@dataclass
class ClipBundle:
    model: Any  # transformers CLIPModel, eval mode, on ``device``
    tokenizer: Any
    image_size: int  # centre-crop side, the vision tower's input size
    resize_size: int  # shorter side is resized to this before the crop
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    identity: dict
    device: str = "cpu"

    @property
    def key(self) -> str:
        return identity_key(self.identity)

    @property
    def dim(self) -> int:
        return embedding_dim(self)

    @property
    def max_length(self) -> int:
        """Text context length (77 for OpenAI CLIP); longer prompts are truncated, keeping the end token."""
        return int(self.model.config.text_config.max_position_embeddings)


def embedding_dim(bundle: ClipBundle) -> int:
    """Dimension of the joint (projected) embedding space."""
    return int(bundle.model.config.projection_dim)


# ------------------------------------------------------------------------------------------ identity
def looks_like_path(weights: str) -> bool:
    """Hub ids are ``name`` or ``org/name``; anything else that is not on disk is a missing folder."""
    return weights.startswith(("/", ".", "~")) or weights.count("/") > 1 or "\\" in weights


def _weight_files(folder: Path) -> list[Path]:
    return sorted({p for pat in WEIGHT_PATTERNS for p in folder.glob(pat) if p.is_file()})


def _weights_sha256(folder: Path) -> str:
    """sha256 over (name, bytes) of the weight files, streamed; memoised by (path, size, mtime)."""
    files = _weight_files(folder)
    stamp = tuple((str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if stamp in _HASH_MEMO:
        return _HASH_MEMO[stamp]
    _HASH_MEMO[stamp] = sha256_named_files(files)
    return _HASH_MEMO[stamp]


def _cached_file(repo_id: str, filename: str) -> Optional[str]:
    try:
        found = try_to_load_from_cache(repo_id, filename)
    except Exception:  # noqa: BLE001 - malformed ids: treat as not cached
        return None
    return found if isinstance(found, str) else None


def model_identity(weights: str) -> dict:
    """``{"kind": "path", "path", "sha256"}`` for a local folder, ``{"kind": "hub", "id", "revision"}``
    for a hub id (revision: the cached snapshot's commit, or ``"unknown"``)."""
    local = Path(str(weights)).expanduser()
    if local.is_dir():
        return {"kind": "path", "path": str(local.resolve()), "sha256": _weights_sha256(local)}
    cfg = _cached_file(str(weights), "config.json")  # .../snapshots/<commit>/config.json
    revision = Path(cfg).parent.name if cfg else "unknown"
    return {"kind": "hub", "id": str(weights), "revision": revision}


def identity_key(identity: dict) -> str:
    """Short stable string for an identity; path-independent for local folders."""
    if identity.get("kind") == "path":
        return f"clip:{identity['sha256'][:16]}"
    if identity.get("kind") == "hub":
        return f"clip:{identity['id']}@{identity.get('revision', 'unknown')}"
    raise ValueError(f"not a CLIP model identity: {identity!r}")


# ------------------------------------------------------------------------------------------ loading
def _side(value, *names) -> Optional[int]:
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        for n in names:
            if value.get(n) is not None:
                return int(value[n])
    return None


def _preprocessing(pp_file: Optional[str], vision_size: int) -> tuple[int, int, tuple, tuple]:
    """(crop, resize, mean, std) from a preprocessor_config.json, else CLIP's defaults at the tower's size."""
    crop, resize, mean, std = vision_size, vision_size, CLIP_MEAN, CLIP_STD
    if pp_file and Path(pp_file).is_file():
        try:
            pp = json.loads(Path(pp_file).read_text())
        except ValueError as e:
            raise ClipError(f"{pp_file} is not valid JSON ({e}); fix or delete it") from e
        crop = _side(pp.get("crop_size"), "height", "shortest_edge") or crop
        resize = _side(pp.get("size"), "shortest_edge", "height") or crop
        mean = tuple(float(v) for v in pp.get("image_mean", mean))
        std = tuple(float(v) for v in pp.get("image_std", std))
    if crop != vision_size:
        raise ClipError(f"{pp_file} crops images to {crop} but the vision tower takes {vision_size}x{vision_size}; "
                        "fix crop_size in preprocessor_config.json")
    if resize < crop:
        raise ClipError(f"{pp_file}: resize size {resize} is smaller than the crop {crop}")
    return crop, resize, mean, std


def _missing_folder(weights: str) -> ClipError:
    return ClipError(f"no CLIP checkpoint at {weights}: give a folder saved with save_pretrained (config.json + "
                     "model.safetensors or pytorch_model.bin, plus the tokenizer files) or a hub id that is in the "
                     "local Hugging Face cache")


def load_clip(weights: str, device: Optional[str] = "cpu") -> ClipBundle:
    """Model (eval mode, on ``device``; ``"auto"`` picks CUDA when present), tokenizer and preprocessing."""
    hf_logging.disable_progress_bar()
    weights = str(weights)
    local = Path(weights).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file() or not _weight_files(local):
            raise _missing_folder(str(local))
        src, pp_file = str(local), str(local / "preprocessor_config.json")
    elif local.exists() or looks_like_path(weights):
        raise _missing_folder(weights)
    else:
        src, pp_file = weights, _cached_file(weights, "preprocessor_config.json")
    where = f"folder {src}" if local.is_dir() else f"hub id {weights!r}"
    try:
        config = AutoConfig.from_pretrained(src)
    except (OSError, ValueError) as e:
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
        hint = (" (HF_HUB_OFFLINE is set: only the local cache is searched; download it on a machine with "
                "internet and copy the cache, or save it to a folder and pass that path)" if offline else "")
        raise ClipError(f"could not load CLIP {where}: {e}{hint}") from e
    if getattr(config, "model_type", None) != "clip":
        raise ClipError(f"{where} holds a {getattr(config, 'model_type', '?')!r} model, not CLIP (model_type 'clip')")
    try:
        model, info = CLIPModel.from_pretrained(src, output_loading_info=True)
        tokenizer = AutoTokenizer.from_pretrained(src)
    except (OSError, ValueError) as e:
        raise ClipError(f"could not load CLIP {where}: {e}") from e
    missing = sorted(k for k in info.get("missing_keys", ()) if not k.endswith("position_ids"))
    if missing:  # silently random towers would give meaningless embeddings
        raise ClipError(f"CLIP {where} lacks {len(missing)} weights (e.g. {missing[:3]}); is it a full CLIPModel "
                        "checkpoint (both towers and projections)?")
    crop, resize, mean, std = _preprocessing(pp_file, int(config.vision_config.image_size))
    identity = model_identity(weights)
    if identity["kind"] == "hub" and identity["revision"] == "unknown":
        identity["revision"] = getattr(model.config, "_commit_hash", None) or "unknown"
    dev = resolve_device(device)
    return ClipBundle(model.eval().to(dev), tokenizer, crop, resize, mean, std, identity, dev)


def projected(output) -> Any:
    """The projected embedding from ``get_image_features``/``get_text_features``: a tensor in
    transformers 4.x, a ``BaseModelOutputWithPooling`` whose ``pooler_output`` it is in 5.x."""
    if hasattr(output, "pooler_output"):
        return output.pooler_output
    if isinstance(output, tuple):
        return output[1]
    return output
