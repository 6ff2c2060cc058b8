"""``extract-features``: TSM video features and BiT object concepts from a folder of videos, as ER did.

Videos: ``<dir>/<class>/<video>.<ext>`` (class folders named by identifier or readable name), or
any layout with ``metas`` (ER's JSONL: ``{"videoname": path relative to dir, "label": ...}``).

Sampling and pre-processing follow ER's release:
- TSM: 8 segments, the centre frame of each (TSN test sampling: frame ``int(t/2 + t*k)`` with
  ``t = n_frames / 8``); shorter side resized to 256 (bilinear, antialiased like PIL), centre crop
  224, ImageNet mean/std. Feature = segment-averaged 2048-d pooled output.
- BiT: 8 frames at ``round(linspace(0, n - 1, 8))`` (all frames when n <= 8), same resize and
  crop, mean/std 0.5; logits averaged over the frames; top-20 ids, scores = sigmoid(logit).

Decoding is PyAV (threads decode the next batch while the networks run). Work is resumable:
finished batches are kept as shards under ``<dataset>/.extract/<name>/`` with a fingerprint of the
settings; rerunning the same command continues where it stopped, and the feature set is written
(atomically, through ``write_arrow_feature_set``) only when every video is done.

The engine (``run_extraction``: listing, decoding threads, batches, staging shards, resume, failures,
the atomic write, throughput) is shared by every backbone; what is per backbone (which frames, their
pre-processing, the networks, the manifest's backbone entries) is an ``ExtractBackend``:
``TsmBitBackend`` here, ``extract_clip.ClipBackend`` for CLIP image embeddings.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import warnings
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
from tqdm import tqdm

from ..datasets import get_dataset
from ..types import ConceptVocabulary
from .arrow_store import _examples, write_arrow_feature_set
from .base import FeatureStoreError, feature_root
from .importers import ClassResolver, _read_jsonl, bit_vocabulary, precheck_target

VIDEO_EXTS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".ogv")
EXTRACT_VERSION = 1
Log = Callable[[str], None]


@dataclass(frozen=True)
class VideoItem:
    video_id: str
    path: str
    label: int  # canonical class index


# ----------------------------------------------------------------------------------------- listing
def list_videos(videos_dir: str | Path, dataset: str, metas: Sequence[str] = (), classes: Optional[str] = None
                ) -> list[VideoItem]:
    """The videos to extract, sorted by (class, id); unknown classes and duplicate ids are errors."""
    base = Path(videos_dir)
    if not base.is_dir():
        raise FeatureStoreError(f"--videos {videos_dir} is not a folder")
    resolver = ClassResolver(dataset, classes)
    ids, paths, raw = [], [], []
    if metas:
        for f in metas:
            for rec in _read_jsonl(f):
                rel = str(rec["videoname"])
                ids.append(os.path.splitext(rel)[0])
                paths.append(str(base / rel))
                raw.append(rec["label"])
    else:
        subdirs = sorted(d for d in base.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not subdirs:
            raise FeatureStoreError(f"{videos_dir} has no class folders; arrange videos as DIR/<class>/<video> or pass "
                                    "--metas FILE (ER's JSONL with videoname and label)")
        resolver.resolve([d.name for d in subdirs])
        for d in subdirs:
            for f in sorted(d.rglob("*")):
                if f.is_file() and f.suffix.lower() in VIDEO_EXTS:
                    ids.append(f.stem)
                    paths.append(str(f))
                    raw.append(d.name)
    if not ids:
        raise FeatureStoreError(f"no videos ({', '.join(VIDEO_EXTS)}) found under {videos_dir}")
    labels = resolver.resolve(raw)
    dups = sorted(v for v, c in Counter(ids).items() if c > 1)
    if dups:
        raise FeatureStoreError(f"{len(dups)} video ids occur twice (ids are file names without extension): "
                                f"{_examples(dups)}; rename them or list them with --metas")
    items = [VideoItem(i, p, int(lab)) for i, p, lab in zip(ids, paths, labels)]
    return sorted(items, key=lambda it: (it.label, it.video_id))


# ----------------------------------------------------------------------------------------- sampling
def tsm_indices(n_frames: int, num_segments: int = 8) -> np.ndarray:
    tick = n_frames / float(num_segments)
    return np.array([int(tick / 2.0 + tick * k) for k in range(num_segments)], dtype=np.int64)


def bit_indices(n_frames: int, num_frames: int = 8) -> np.ndarray:
    if n_frames <= num_frames:
        return np.arange(n_frames, dtype=np.int64)
    return np.round(np.linspace(0, n_frames - 1, num_frames)).astype(np.int64)


def _decode_pass(path: str, wanted: Optional[set[int]]) -> tuple[dict[int, np.ndarray], int]:
    import av

    frames: dict[int, np.ndarray] = {}
    n = 0
    with av.open(path) as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if wanted is not None and n in wanted:
                frames[n] = frame.to_ndarray(format="rgb24")
            n += 1
    return frames, n


def decode_at(path: str, samplers: Sequence[Callable[[int], np.ndarray]]
              ) -> tuple[np.ndarray, list[np.ndarray], int]:
    """Decode the frames that ``samplers`` (n_frames -> frame indices) ask for, once each:
    (frames [F, H, W, 3] uint8, per sampler its rows into frames, n_frames)."""
    import av

    with av.open(path) as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        guess = int(container.streams.video[0].frames or 0)
    n = guess
    for _ in range(2):
        if n > 0:
            picks = [np.asarray(f(n), dtype=np.int64) for f in samplers]
            frames, actual = _decode_pass(path, set().union(*(set(p.tolist()) for p in picks)))
        else:
            frames, actual = _decode_pass(path, None)  # unknown length: count first
        if actual == 0:
            raise ValueError("no decodable frames")
        if n == actual:
            break
        n = actual  # the container's frame count was wrong: sample again with the real one
    else:
        raise ValueError("frame count changed between decoding passes")
    order = sorted(frames)
    pos = {k: i for i, k in enumerate(order)}
    stack = np.stack([frames[k] for k in order])
    return stack, [np.array([pos[int(i)] for i in p], dtype=np.int64) for p in picks], n


def decode_sampled(path: str, num_segments: int = 8, bit_frames: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(frames [F, H, W, 3] uint8, TSM rows into frames, BiT rows into frames, n_frames)."""
    stack, (t_rows, b_rows), n = decode_at(path, [lambda k: tsm_indices(k, num_segments),
                                                  lambda k: bit_indices(k, bit_frames)])
    return stack, t_rows, b_rows, n


def resize_crop(frames: np.ndarray, scale: int = 256, crop: int = 224, mode: str = "bilinear"):
    """uint8 [F, H, W, 3] -> float [F, 3, crop, crop] in [0, 1]: shorter side to ``scale`` (``mode``: bilinear
    for the TSM / BiT backbones, bicubic for CLIP; antialiased, rounded to uint8 levels as PIL's resize of a
    uint8 image is), centre crop as torchvision's CenterCrop."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    h, w = x.shape[-2:]
    if w <= h:
        ow, oh = scale, int(scale * h / w)
    else:
        oh, ow = scale, int(scale * w / h)
    if (oh, ow) != (h, w):  # bicubic overshoots [0, 255]: clamped, as PIL clips to uint8
        x = F.interpolate(x, size=(oh, ow), mode=mode, align_corners=False, antialias=True).round_().clamp_(0, 255)
    top, left = int(round((oh - crop) / 2.0)), int(round((ow - crop) / 2.0))
    if top < 0 or left < 0:
        raise ValueError(f"crop {crop} larger than the resized frame {oh}x{ow}")
    return x[:, :, top:top + crop, left:left + crop].div_(255.0)


def _normalise(x, mean, std):
    import torch

    m = torch.tensor(mean, dtype=x.dtype).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - m) / s


# ----------------------------------------------------------------------------------------- the engine
@dataclass
class Clip:
    item: VideoItem
    frames: object = None  # float tensor [F, 3, crop, crop]
    tsm_rows: Optional[np.ndarray] = None
    bit_rows: Optional[np.ndarray] = None
    n_frames: int = 0
    error: Optional[str] = None


def _file_digest(path: Optional[str]) -> Optional[str]:
    if path is None:
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


class Extractor:
    """Both networks on one device; ``run`` turns a batch of decoded clips into features and concepts."""

    def __init__(self, weights_tsm=None, weights_bit=None, random_init=False, objects=True, device="cpu",
                 num_segments=8, bit_frames=8, top_k=20, trust=False):
        from .backbones import load_bit, load_tsm

        self.device = device
        self.num_segments, self.bit_frames, self.top_k = num_segments, bit_frames, top_k
        self.tsm = load_tsm(weights_tsm, random_init, trust, num_segments).to(device)
        self.bit = load_bit(weights_bit, random_init, trust).to(device) if objects else None

    def run(self, clips: list[Clip]):
        import torch

        from .backbones import BIT_MEAN, BIT_STD, TSM_MEAN, TSM_STD

        with torch.inference_mode():
            tsm_in = torch.cat([c.frames[torch.from_numpy(c.tsm_rows)] for c in clips])
            feats = self.tsm.features(_normalise(tsm_in, TSM_MEAN, TSM_STD).to(self.device)).float().cpu().numpy()
            if self.bit is None:
                return feats, None, None
            bit_in = torch.cat([c.frames[torch.from_numpy(c.bit_rows)] for c in clips])
            logits = self.bit(_normalise(bit_in, BIT_MEAN, BIT_STD).to(self.device)).float().cpu()
            ids, scores, s = [], [], 0
            for c in clips:
                mean = logits[s:s + len(c.bit_rows)].mean(0)
                s += len(c.bit_rows)
                top = torch.topk(mean, self.top_k).indices  # descending, like np.argsort(-logits)[:k]
                ids.append(top.numpy().astype(np.int32))
                scores.append(torch.sigmoid(mean[top]).numpy().astype(np.float32))
            return feats, np.stack(ids), np.stack(scores)


def _prepare(item: VideoItem, num_segments: int, bit_frames: int, scale: int, crop: int) -> Clip:
    frames, t_rows, b_rows, n = decode_sampled(item.path, num_segments, bit_frames)
    return Clip(item, resize_crop(frames, scale, crop), t_rows, b_rows, n)


def _guarded(prepare: Callable[[VideoItem], Clip], item: VideoItem) -> Clip:
    try:
        return prepare(item)
    except Exception as e:  # noqa: BLE001 - any decoding problem is reported per video
        return Clip(item, error=f"{type(e).__name__}: {e}")


def _staging(dataset: str, name: str) -> Path:
    return feature_root(dataset, name).parent / ".extract" / name


def _read_shards(stage: Path) -> dict[str, dict]:
    done: dict[str, dict] = {}
    for f in sorted(stage.glob("shard-*.npz")):
        z = np.load(f, allow_pickle=False)
        for i, vid in enumerate(z["video_ids"].tolist()):
            done[vid] = {"features": z["features"][i], "n_frames": int(z["n_frames"][i]),
                         "concept_ids": z["concept_ids"][i] if "concept_ids" in z.files else None,
                         "concept_scores": z["concept_scores"][i] if "concept_scores" in z.files else None}
    return done


def _write_shard(stage: Path, k: int, clips: list[Clip], feats, ids, scores) -> None:
    arrays = {"video_ids": np.array([c.item.video_id for c in clips]), "features": feats.astype(np.float32),
              "n_frames": np.array([c.n_frames for c in clips], np.int64)}
    if ids is not None:
        arrays["concept_ids"], arrays["concept_scores"] = ids, scores
    tmp = stage / f".shard-{k:06d}.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, stage / f"shard-{k:06d}.npz")


class ExtractBackend:
    """What ``run_extraction`` needs from a backbone. ``prepare`` runs in decoding threads (decode and
    pre-process one video; exceptions become that video's failure), ``run`` in the main thread (a batch
    of prepared clips -> features [n, D] and concept ids/scores or None). Settings that change the
    features go into ``fingerprint`` (unfinished shards only resume under the same one)."""

    kind: str = "?"
    dim: int = 0  # feature dimension (for an empty set)
    objects: bool = False  # whether ``run`` returns object concepts

    def fingerprint(self) -> dict:
        raise NotImplementedError

    def prepare(self, item: VideoItem) -> Clip:
        raise NotImplementedError

    def start(self) -> None:
        """Load what ``run`` needs; called once, only when some video is left to extract."""

    def run(self, clips: list[Clip]):
        raise NotImplementedError

    def images(self, clip: Clip) -> int:
        """Images the networks see for this clip (throughput in frames/s)."""
        return 0

    def vocabulary(self):
        """(ConceptVocabulary, WordNet ids or None) for the stored concept ids."""
        return None, None

    def manifest(self) -> tuple[str, dict, dict]:
        """(backbone description, entries for manifest["extraction"], top-level manifest entries)."""
        raise NotImplementedError


class TsmBitBackend(ExtractBackend):
    """ER's TSM ResNet-50 features and BiT-M R50x1 top-k ImageNet-21k concepts."""

    kind = "tsm-bit"
    dim = 2048

    def __init__(self, dataset: str, videos_dir: str | Path, *, weights_tsm=None, weights_bit=None,
                 random_init=False, objects=True, bit_lemmas=None, bit_wnids=None, device="cpu", scale_size=256,
                 crop_size=224, num_segments=8, bit_frames=8, top_k=20, trust_weights=False, log: Log = print):
        from .backbones import load_bit, load_tsm

        if not random_init:  # say what is missing before listing thousands of videos
            if weights_tsm is None:
                load_tsm(None)
            if objects and weights_bit is None:
                load_bit(None)
        if random_init:
            log("warning: --random-init: networks without --weights-* are randomly initialised; the features are "
                "meaningless (for tests only)")
        self.concepts = self.wnids = None
        if objects:
            if bit_lemmas:
                self.concepts, self.wnids = bit_vocabulary(bit_lemmas, bit_wnids, log)
            elif weights_bit is not None or not random_init:
                raise FeatureStoreError("object concepts need BiT's ImageNet-21k vocabulary: --bit-lemmas "
                                        "imagenet21k_wordnet_lemmas.txt [--bit-wnids imagenet21k_wordnet_ids.txt], or "
                                        "--no-objects")
        self.dataset, self.videos_dir = dataset, videos_dir
        self.weights_tsm, self.weights_bit, self.random_init, self.objects = weights_tsm, weights_bit, random_init, objects
        self.device, self.scale_size, self.crop_size = device, scale_size, crop_size
        self.num_segments, self.bit_frames, self.top_k, self.trust_weights = num_segments, bit_frames, top_k, trust_weights
        self.ext: Optional[Extractor] = None

    def fingerprint(self) -> dict:
        return {
            "version": EXTRACT_VERSION, "dataset": self.dataset, "videos": str(Path(self.videos_dir).resolve()),
            "tsm": "random-init" if self.weights_tsm is None else _file_digest(self.weights_tsm),
            "bit": None if not self.objects else ("random-init" if self.weights_bit is None
                                                  else _file_digest(self.weights_bit)),
            "scale": self.scale_size, "crop": self.crop_size, "segments": self.num_segments,
            "bit_frames": self.bit_frames, "top_k": self.top_k,
        }

    def prepare(self, item: VideoItem) -> Clip:
        return _prepare(item, self.num_segments, self.bit_frames, self.scale_size, self.crop_size)

    def start(self) -> None:
        self.ext = Extractor(self.weights_tsm, self.weights_bit, self.random_init, self.objects, self.device,
                             self.num_segments, self.bit_frames, self.top_k, self.trust_weights)

    def run(self, clips: list[Clip]):
        return self.ext.run(clips)

    def images(self, clip: Clip) -> int:
        return len(clip.tsm_rows) + (len(clip.bit_rows) if self.objects else 0)

    def vocabulary(self):
        if self.concepts is None:  # random-init test networks: placeholder names for the 21,843 outputs
            from .backbones import IN21K_CLASSES

            return ConceptVocabulary(tuple(f"in21k-{i:05d}" for i in range(IN21K_CLASSES)), ("",) * IN21K_CLASSES,
                                     source="placeholder (random-init BiT, no lemmas)"), None
        return self.concepts, self.wnids

    def manifest(self) -> tuple[str, dict, dict]:
        backbone = "TSM ResNet-50 (8 segments, shift 1/8, blockres)" + (
            " + BiT-M R50x1 ImageNet-21k top-%d" % self.top_k if self.objects else "")
        if self.random_init:
            backbone += " [random-init: test only]"
        return backbone, {"weights_tsm": self.weights_tsm, "weights_bit": self.weights_bit}, {}


def extract_features(dataset: str, name: str, videos_dir: str | Path, *, metas: Sequence[str] = (),
                     classes: Optional[str] = None, weights_tsm: Optional[str] = None,
                     weights_bit: Optional[str] = None, random_init: bool = False, objects: bool = True,
                     bit_lemmas: Optional[str] = None, bit_wnids: Optional[str] = None, batch_size: int = 4,
                     workers: int = 2, device: str = "cpu", threads: Optional[int] = None, scale_size: int = 256,
                     crop_size: int = 224, num_segments: int = 8, bit_frames: int = 8, top_k: int = 20,
                     allow_missing: bool = False, allow_empty_classes: bool = False, overwrite: bool = False,
                     restart: bool = False, trust_weights: bool = False, progress: bool = True,
                     on_batch: Optional[Callable[[int, int], None]] = None, log: Log = print,
                     root: Optional[Path] = None) -> dict:
    """Extract TSM features (and BiT concepts), resumably, and store the feature set; returns its manifest.

    ``on_batch(n_done, n_total)`` runs after each saved batch (progress hooks, tests)."""
    final = precheck_target(dataset, name, overwrite, root)
    backend = TsmBitBackend(dataset, videos_dir, weights_tsm=weights_tsm, weights_bit=weights_bit,
                            random_init=random_init, objects=objects, bit_lemmas=bit_lemmas, bit_wnids=bit_wnids,
                            device=device, scale_size=scale_size, crop_size=crop_size, num_segments=num_segments,
                            bit_frames=bit_frames, top_k=top_k, trust_weights=trust_weights, log=log)
    return run_extraction(dataset, name, videos_dir, backend, final=final, metas=metas, classes=classes,
                          batch_size=batch_size, workers=workers, threads=threads, allow_missing=allow_missing,
                          allow_empty_classes=allow_empty_classes, overwrite=overwrite, restart=restart,
                          progress=progress, on_batch=on_batch, log=log, root=root)


def run_extraction(dataset: str, name: str, videos_dir: str | Path, backend: ExtractBackend, *, final: Path,
                   metas: Sequence[str] = (), classes: Optional[str] = None, batch_size: int = 4, workers: int = 2,
                   threads: Optional[int] = None, allow_missing: bool = False, allow_empty_classes: bool = False,
                   overwrite: bool = False, restart: bool = False, progress: bool = True,
                   on_batch: Optional[Callable[[int, int], None]] = None, log: Log = print,
                   root: Optional[Path] = None) -> dict:
    """The shared engine: list, decode (threads), run ``backend`` batch by batch into resumable shards,
    and write the feature set atomically once every video is done; returns its manifest."""
    if batch_size < 1:
        raise FeatureStoreError("--batch-size must be at least 1")
    items = list_videos(videos_dir, dataset, metas, classes)
    _check_every_class(items, dataset, videos_dir, allow_empty_classes)

    fingerprint = backend.fingerprint()
    stage = _staging(dataset, name) if root is None else final.parent / ".extract" / final.name
    _open_stage(stage, fingerprint, dataset, name, restart)
    done = _read_shards(stage)
    wanted = {it.video_id for it in items}
    todo = [it for it in items if it.video_id not in done]
    if done:
        log(f"resuming: {len(wanted & set(done))} of {len(items)} videos already extracted in {stage}")
    stats = _RunStats()
    if todo:
        _extract_todo(todo, len(items), backend, stage, stats, desc=f"extracting {dataset}/{name}",
                      batch_size=batch_size, workers=workers, threads=threads, progress=progress, on_batch=on_batch)
    speed = _throughput(stats, log)
    if stats.failed:
        _report_failed(stats.failed, len(items), stage, allow_missing, log)
    manifest = _store_extracted(dataset, name, videos_dir, backend, items, stage, fingerprint, speed,
                                len(stats.failed), overwrite=overwrite, allow_empty_classes=allow_empty_classes,
                                root=root)
    shutil.rmtree(stage, ignore_errors=True)
    _rmdir_quiet(stage.parent)
    return manifest


def _check_every_class(items: list[VideoItem], dataset: str, videos_dir: str | Path,
                       allow_empty_classes: bool) -> None:
    """Every class of ``dataset`` has videos, unless ``allow_empty_classes``."""
    ds = get_dataset(dataset)
    present = {it.label for it in items}
    if len(present) < ds.n_classes and not allow_empty_classes:
        empty = [ds.identifiers[i] for i in range(ds.n_classes) if i not in present]
        raise FeatureStoreError(f"{len(empty)} of {ds.n_classes} {dataset} classes have no videos under {videos_dir}: "
                                f"{_examples(empty)}. Add them, or pass --allow-empty-classes")


def _open_stage(stage: Path, fingerprint: dict, dataset: str, name: str, restart: bool) -> None:
    """The staging folder of this extraction: a new one recording ``fingerprint``, or an unfinished one with the
    same settings to resume (``restart`` discards it first); another's settings are an error."""
    if restart:
        shutil.rmtree(stage, ignore_errors=True)
    cfg_file = stage / "config.json"
    old = None
    if cfg_file.is_file():
        try:
            old = json.loads(cfg_file.read_text())
        except (OSError, ValueError):  # torn: an extraction killed while it wrote its settings (before atomic writes)
            old = None
        if not isinstance(old, dict):
            old = None
            if any(stage.glob("shard-*.npz")):
                raise FeatureStoreError(f"an unfinished extraction of {dataset}/{name} in {stage} has an unreadable "
                                        f"{cfg_file.name}; pass --restart to discard it") from None
            shutil.rmtree(stage, ignore_errors=True)
            warnings.warn(f"removed {stage}: the start of an extraction that was killed before it extracted "
                          "anything", stacklevel=2)
    if old is not None:
        if old != fingerprint:
            diff = sorted(k for k in set(old) | set(fingerprint) if old.get(k) != fingerprint.get(k))
            raise FeatureStoreError(f"an unfinished extraction of {dataset}/{name} with other settings ({', '.join(diff)}) "
                                    f"is in {stage}; rerun it with the same settings to resume, or pass --restart "
                                    "to discard it")
    else:
        stage.mkdir(parents=True, exist_ok=True)
        tmp = stage / f".config.json.tmp{os.getpid()}"  # whole or absent: a kill cannot leave it torn
        tmp.write_text(json.dumps(fingerprint, indent=1))
        os.replace(tmp, cfg_file)


@dataclass
class _RunStats:
    """What this run of an extraction did: videos that failed to decode (id -> error), clips and images through
    the networks, seconds in them, and when the clock for throughput started."""

    failed: dict[str, str] = field(default_factory=dict)
    n_clips: int = 0
    n_images: int = 0
    model_s: float = 0.0
    t0: float = field(default_factory=time.perf_counter)


def _extract_todo(todo: list[VideoItem], n_items: int, backend: ExtractBackend, stage: Path, stats: _RunStats, *,
                  desc: str, batch_size: int, workers: int, threads: Optional[int], progress: bool,
                  on_batch: Optional[Callable[[int, int], None]]) -> None:
    """Extract ``todo`` into new shards after those in ``stage``, with ``threads`` torch threads and denormals
    flushed (both restored after)."""
    import torch

    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    torch.set_flush_denormal(True)  # random or tiny activations: denormals slow CPU kernels 10x
    try:
        backend.start()
        stats.t0 = time.perf_counter()  # throughput counts decoding and the networks, not loading them
        shard_no = max([int(f.stem.split("-")[1]) for f in stage.glob("shard-*.npz")] + [-1]) + 1
        batches = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
        bar = tqdm(total=len(todo), desc=desc, unit="video", disable=not progress)
        _run_batches(batches, n_items - len(todo), n_items, backend, stage, shard_no, stats, bar, workers, on_batch)
        bar.close()
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(old_threads)


def _run_batches(batches: list[list[VideoItem]], n_before: int, n_items: int, backend: ExtractBackend, stage: Path,
                 shard_no: int, stats: _RunStats, bar, workers: int,
                 on_batch: Optional[Callable[[int, int], None]]) -> None:
    """Decode on ``workers`` threads, two batches ahead of the networks; each batch's decoded clips go through
    ``backend`` into one shard, its failures into ``stats.failed``."""
    with ThreadPoolExecutor(max(1, workers)) as pool:
        queue: deque = deque()

        def submit(b):
            queue.append([pool.submit(_guarded, backend.prepare, it) for it in b])

        for b in batches[:2]:
            submit(b)
        for bi in range(len(batches)):
            clips = [f.result() for f in queue.popleft()]
            if bi + 2 < len(batches):
                submit(batches[bi + 2])
            ok = [c for c in clips if c.error is None]
            for c in clips:
                if c.error is not None:
                    stats.failed[c.item.video_id] = c.error
            if ok:
                tm = time.perf_counter()
                feats, ids, scores = backend.run(ok)
                stats.model_s += time.perf_counter() - tm
                _write_shard(stage, shard_no, ok, feats, ids, scores)
                shard_no += 1
                stats.n_clips += len(ok)
                stats.n_images += sum(backend.images(c) for c in ok)
            bar.update(len(clips))
            if on_batch is not None:
                on_batch(n_before + sum(len(b) for b in batches[:bi + 1]), n_items)


def _throughput(stats: _RunStats, log: Log) -> dict:
    """This run's timing and throughput for the manifest, logged when it extracted anything."""
    elapsed = time.perf_counter() - stats.t0
    n_clips, model_s = stats.n_clips, stats.model_s
    speed = {"seconds_this_run": round(elapsed, 2), "clips_this_run": n_clips, "model_seconds_this_run": round(model_s, 2),
             "clips_per_s": round(n_clips / elapsed, 3) if n_clips and elapsed > 0 else None,
             "frames_per_s": round(stats.n_images / elapsed, 2) if n_clips and elapsed > 0 else None}
    if n_clips:
        log(f"extracted {n_clips} videos in {elapsed:.1f}s: {speed['clips_per_s']:.2f} videos/s, "
            f"{speed['frames_per_s']:.1f} frames/s through the networks ({model_s:.1f}s in them)")
    return speed


def _report_failed(failed: dict[str, str], n_items: int, stage: Path, allow_missing: bool, log: Log) -> None:
    """Videos that could not be decoded: listed in ``stage``/failed.json; an error unless ``allow_missing``."""
    (stage / "failed.json").write_text(json.dumps(failed, indent=1))
    msg = (f"{len(failed)} of {n_items} videos could not be decoded: "
           f"{_examples([f'{k} ({v})' for k, v in failed.items()], 5)}")
    if not allow_missing:
        raise FeatureStoreError(msg + f". Fix or remove them and rerun (finished videos are kept in {stage}), or "
                                "pass --allow-missing to store the set without them (listed in missing.txt)")
    log(f"warning: {msg}; stored without them (--allow-missing)")


def _store_extracted(dataset: str, name: str, videos_dir: str | Path, backend: ExtractBackend,
                     items: list[VideoItem], stage: Path, fingerprint: dict, speed: dict, n_failed: int, *,
                     overwrite: bool, allow_empty_classes: bool, root: Optional[Path]) -> dict:
    """Every shard in ``stage``, in ``items``' order, written as the feature set; returns its manifest."""
    done = _read_shards(stage)
    rows = [it for it in items if it.video_id in done]
    missing = [it.video_id for it in items if it.video_id not in done]
    feats = (np.stack([done[it.video_id]["features"] for it in rows]) if rows
             else np.zeros((0, backend.dim), np.float32))
    cids = cscores = concepts = wnids = None
    if backend.objects and rows:
        cids = np.stack([done[it.video_id]["concept_ids"] for it in rows])
        cscores = np.stack([done[it.video_id]["concept_scores"] for it in rows])
        concepts, wnids = backend.vocabulary()
    backbone, ext_extra, top_extra = backend.manifest()
    extra = {"layout": "extract", **top_extra,
             "extraction": {"backbone": backend.kind, **fingerprint, **ext_extra, **speed, "n_failed": n_failed}}
    return write_arrow_feature_set(
        dataset, name, video_ids=[it.video_id for it in rows], labels=np.array([it.label for it in rows], np.int64),
        features=feats, concept_ids=cids, concept_scores=cscores, concepts=concepts, concept_wordnet_ids=wnids,
        source=f"extract: {Path(videos_dir).resolve()}", backbone=backbone, missing=missing, extra=extra,
        overwrite=overwrite, allow_empty_classes=allow_empty_classes or bool(missing), root=root)


def _rmdir_quiet(d: Path) -> None:
    try:
        d.rmdir()
    except OSError:
        pass
