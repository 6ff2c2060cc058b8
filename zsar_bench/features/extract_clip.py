"""``extract-features --backbone clip``: CLIP video embeddings from a folder of videos, and the model
entry that ties a CLIP feature set (extracted or imported) to its checkpoint.

Per video: 8 frames sampled as ER samples its BiT frames (``zsar_bench.clip.sample_frame_indices``:
``round(linspace(0, n - 1, 8))``, all frames when n <= 8), CLIP's own pre-processing
(``zsar_bench.clip.preprocess_frames``, sizes and mean/std from the checkpoint), the image tower's
projected embedding per frame, L2-normalised, averaged over the frames and L2-normalised again
(exactly ``zsar_bench.clip.encode_clip_frames``). Dimension = the checkpoint's ``projection_dim``.
No object concepts.

Everything else (listing, decoding threads, resumable shards, failures, the atomic write, progress,
throughput) is the shared engine of ``extract.run_extraction``; this module only supplies a backend.

The manifest carries ``"model": {"kind": "clip", "key": identity_key(identity), "identity": identity}``,
which CLIP methods compare with the text tower they load.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, Optional, Sequence

from .base import FeatureStoreError
from .extract import EXTRACT_VERSION, Clip, ExtractBackend, Log, VideoItem, decode_at, run_extraction
from .importers import precheck_target

CLIP_FRAMES = 8
# ViT sizes by (width, depth), for readable backbone names
VIT_NAMES = {(768, 12): "B", (1024, 24): "L", (1280, 32): "H", (1664, 48): "bigG", (1408, 40): "g", (384, 12): "S"}


def model_entry(identity: dict) -> dict:
    """The manifest's ``model`` entry (the contract CLIP methods read)."""
    from ..clip import identity_key

    return {"kind": "clip", "key": identity_key(identity), "identity": identity}


def describe_config(config, identity: dict) -> str:
    """'ViT-B/16 224px (openai/clip-vit-base-patch16)' from a CLIPConfig and the identity."""
    v = config.vision_config
    width, depth = int(v.hidden_size), int(v.num_hidden_layers)
    size = VIT_NAMES.get((width, depth), f"w{width}d{depth}")
    where = identity.get("id") if identity.get("kind") == "hub" else Path(identity.get("path", "?")).name
    return f"ViT-{size}/{int(v.patch_size)} {int(v.image_size)}px, {int(config.projection_dim)}-d ({where})"


def _load(weights: str, device: str):
    from ..clip import ClipError, load_clip

    try:
        return load_clip(weights, device)
    except ClipError as e:
        raise FeatureStoreError(str(e)) from None


class ClipBackend(ExtractBackend):
    """CLIP image tower; ``prepare`` decodes and pre-processes in the decoding threads."""

    kind = "clip"
    objects = False

    def __init__(self, dataset: str, videos_dir: str | Path, weights: str, device: str = "cpu",
                 num_frames: int = CLIP_FRAMES):
        if not weights:
            raise FeatureStoreError("--backbone clip needs --weights ID_OR_PATH: a CLIP checkpoint folder (saved with "
                                    "save_pretrained) or a hub id in the local Hugging Face cache, e.g. "
                                    "openai/clip-vit-base-patch16")
        self.bundle = _load(str(weights), device)
        self.dataset, self.videos_dir, self.weights, self.num_frames = dataset, videos_dir, str(weights), num_frames
        self.dim = self.bundle.dim
        self.model_entry = model_entry(self.bundle.identity)

    def fingerprint(self) -> dict:
        b = self.bundle
        return {"version": EXTRACT_VERSION, "backbone": "clip", "dataset": self.dataset,
                "videos": str(Path(self.videos_dir).resolve()), "model": self.model_entry["key"],
                "frames": self.num_frames, "resize": b.resize_size, "crop": b.image_size,
                "mean": [float(x) for x in b.mean], "std": [float(x) for x in b.std]}

    def prepare(self, item: VideoItem) -> Clip:
        from ..clip import preprocess_frames, sample_frame_indices

        frames, (rows,), n = decode_at(item.path, [lambda k: sample_frame_indices(k, self.num_frames)])
        return Clip(item, preprocess_frames(frames[rows], self.bundle), bit_rows=rows, n_frames=n)

    def run(self, clips: list[Clip]):
        from ..clip.video import encode_pixels

        return encode_pixels(self.bundle, [c.frames for c in clips]), None, None

    def images(self, clip: Clip) -> int:
        return int(len(clip.frames))

    def manifest(self) -> tuple[str, dict, dict]:
        backbone = f"CLIP {describe_config(self.bundle.model.config, self.bundle.identity)} image embeddings, " \
                   f"{self.num_frames} frames averaged"
        return backbone, {"weights": self.weights, "device": str(self.bundle.device), "objects": False}, \
            {"model": self.model_entry}


def extract_clip_features(dataset: str, name: str, videos_dir: str | Path, *, weights: str,
                          metas: Sequence[str] = (), classes: Optional[str] = None, batch_size: int = 16,
                          workers: int = 2, device: str = "cpu", threads: Optional[int] = None,
                          num_frames: int = CLIP_FRAMES, allow_missing: bool = False,
                          allow_empty_classes: bool = False, overwrite: bool = False, restart: bool = False,
                          progress: bool = True, on_batch: Optional[Callable[[int, int], None]] = None,
                          log: Log = print, root: Optional[Path] = None) -> dict:
    """Extract CLIP video embeddings (``batch_size`` videos, i.e. ``8 * batch_size`` frames, per forward
    pass), resumably, and store them as feature set NAME with the ``model`` manifest entry."""
    final = precheck_target(dataset, name, overwrite, root)
    if batch_size < 1:
        raise FeatureStoreError("--batch-size must be at least 1")
    backend = ClipBackend(dataset, videos_dir, weights, device, num_frames)
    return run_extraction(dataset, name, videos_dir, backend, final=final, metas=metas, classes=classes,
                          batch_size=batch_size, workers=workers, threads=threads, allow_missing=allow_missing,
                          allow_empty_classes=allow_empty_classes, overwrite=overwrite, restart=restart,
                          progress=progress, on_batch=on_batch, log=log, root=root)


# ------------------------------------------------------------------------------------------ import
def clip_for_import(weights: str, log: Log = print) -> tuple[dict, Optional[int], str]:
    """(model entry, projection_dim or None, backbone description) for ``import-features --clip-weights``.

    A local folder is loaded (validated like any checkpoint the methods will load); a hub id is only
    looked up in the local cache (its config, for the dimension and the revision), never downloaded:
    not cached, the identity's revision is ``"unknown"`` and the dimension is not checked."""
    from ..clip import ClipError, load_clip, model_identity
    from ..clip.model import looks_like_path  # the same rule load_clip uses: a folder, not a hub id

    weights = str(weights)
    local = Path(weights).expanduser()
    if local.exists() or looks_like_path(weights):
        try:
            bundle = load_clip(str(local), "cpu")
        except ClipError as e:
            raise FeatureStoreError(f"--clip-weights: {e}") from None
        return model_entry(bundle.identity), bundle.dim, \
            f"CLIP {describe_config(bundle.model.config, bundle.identity)} image embeddings (imported)"
    identity = model_identity(weights)
    try:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(weights, local_files_only=True)
    except Exception:  # noqa: BLE001 - not in the cache (or no such id): nothing to check against
        config = None
    if config is None:
        msg = (f"--clip-weights {weights}: not in the local Hugging Face cache, so the feature dimension is not "
               f"checked and the model identity has revision {identity['revision']!r}")
        warnings.warn(msg, stacklevel=2)
        return model_entry(identity), None, f"CLIP {weights} image embeddings (imported)"
    if getattr(config, "model_type", None) != "clip":
        raise FeatureStoreError(f"--clip-weights {weights} is a {getattr(config, 'model_type', '?')!r} model, not CLIP")
    if identity["revision"] == "unknown":
        identity["revision"] = getattr(config, "_commit_hash", None) or "unknown"
    return model_entry(identity), int(config.projection_dim), \
        f"CLIP {describe_config(config, identity)} image embeddings (imported)"
