"""CLIP feature extraction throughput on this machine, measured and estimated (not a test).

1. Measured: ``extract-features --backbone clip`` (the real pipeline: PyAV decoding threads, CLIP
   preprocessing, image tower, frame averaging, shards, the atomic write) with a tiny random CLIP
   (tests/clip_fixtures.py) over generated videos: clips/s and frames/s, end to end and in the network.
2. Measured: dense float32 matmul throughput (n x n, ``--threads`` torch threads), in GFLOP/s
   (2 n^3 FLOP per matmul: a multiply-add counts as 2).
3. Estimated: ViT-B/16 image tower throughput = achieved FLOP/s / FLOP per 224x224 frame
   (17.5 GMAC ~= 35 GFLOP, also counted here from the architecture), clips/s = frames/s / 8.
4. Measured (unless --no-vit): a randomly initialised ViT-B/16 CLIP vision tower (same shapes and
   FLOPs as the real one; no weights needed) on a batch of 224x224 frames, as a check on (3).

    .venv/bin/python scripts/clip_throughput.py [--threads 2] [--videos 24] [--no-vit]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from zsar_bench.features.generated_videos import write_sliding_video  # noqa: E402

VIT_B16_GMAC = 17.5  # per 224x224 image (image tower + projection), the usual published figure
FRAMES_PER_CLIP = 8


def vit_macs(image_size=224, patch=16, width=768, layers=12, mlp=3072, proj=512) -> float:
    """Multiply-adds of a CLIP ViT image tower for one image (layer norms, softmax, biases left out)."""
    n = (image_size // patch) ** 2 + 1  # patches + class token
    embed = (n - 1) * 3 * patch * patch * width
    per_layer = 4 * n * width * width + 2 * n * mlp * width + 2 * n * n * width  # qkv+out, MLP, QK^T and AV
    return embed + layers * per_layer + width * proj


def matmul_gflops(n: int, threads: int, seconds: float = 3.0) -> float:
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b  # warm-up
    k, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        k += 1
    return 2 * n ** 3 * k / (time.perf_counter() - t0) / 1e9


def measure_vit_b16(threads: int, frames: int) -> float:
    """frames/s of a random ViT-B/16 CLIP vision tower + projection on 224x224 inputs."""
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.set_num_threads(threads)
    cfg = CLIPVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                           image_size=224, patch_size=16, projection_dim=512)
    model = CLIPVisionModelWithProjection(cfg).eval()
    x = torch.randn(frames, 3, 224, 224)
    with torch.inference_mode():
        model(pixel_values=x[:2])  # warm-up
        t0 = time.perf_counter()
        model(pixel_values=x)
        return frames / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2, help="torch threads (default %(default)s)")
    p.add_argument("--videos", type=int, default=24, help="generated videos for the pipeline run")
    p.add_argument("--video-frames", type=int, default=64, help="frames per generated video")
    p.add_argument("--video-size", default="240x320", help="HxW of the generated videos")
    p.add_argument("--matmul-n", type=int, default=2048)
    p.add_argument("--vit-frames", type=int, default=16, help="frames in the ViT-B/16 forward pass")
    p.add_argument("--no-vit", action="store_true", help="skip the random ViT-B/16 measurement")
    a = p.parse_args()

    import torch

    from clip_fixtures import make_tiny_clip
    from zsar_bench.datasets import get_dataset
    from zsar_bench.features.extract_clip import extract_clip_features
    from zsar_bench.paths import set_data_root

    h, w = (int(v) for v in a.video_size.split("x"))
    print(f"torch {torch.__version__}, {a.threads} threads")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tiny = make_tiny_clip(tmp / "tiny-clip")
        classes = get_dataset("hmdb51").identifiers
        for i in range(a.videos):
            c = classes[i % len(classes)]
            (tmp / "videos" / c).mkdir(parents=True, exist_ok=True)
            write_sliding_video(tmp / "videos" / c / f"{c}_{i}.mp4", a.video_frames, seed=i, w=w, h=h, rate=25, shift=3)
        set_data_root(tmp / "data")
        man = extract_clip_features("hmdb51", "tput", tmp / "videos", weights=tiny, threads=a.threads,
                                    allow_empty_classes=True, progress=False, log=lambda m: None)
    e = man["extraction"]
    print(f"\n[1] tiny CLIP (2 layers, width 32, 32x32 input), {a.videos} videos of {a.video_frames} frames {h}x{w}:")
    print(f"    end to end (decode + preprocess + network): {e['clips_per_s']:.1f} clips/s, "
          f"{e['frames_per_s']:.1f} frames/s ({e['seconds_this_run']:.2f}s)")
    net = e["model_seconds_this_run"]
    if net > 0:
        print(f"    network only: {e['clips_this_run'] / net:.1f} clips/s, "
              f"{e['clips_this_run'] * FRAMES_PER_CLIP / net:.0f} frames/s ({net:.3f}s)")

    gflops = matmul_gflops(a.matmul_n, a.threads)
    print(f"\n[2] float32 matmul {a.matmul_n}x{a.matmul_n}, {a.threads} threads: {gflops:.1f} GFLOP/s achieved")

    macs = vit_macs()
    per_frame = 2 * VIT_B16_GMAC * 1e9
    fps = gflops * 1e9 / per_frame
    print(f"\n[3] ViT-B/16 estimate: {macs / 1e9:.2f} GMAC counted from the architecture "
          f"(published {VIT_B16_GMAC} GMAC = {2 * VIT_B16_GMAC:.0f} GFLOP per frame)")
    print(f"    at the matmul rate: {fps:.2f} frames/s, {fps / FRAMES_PER_CLIP:.3f} clips/s "
          f"({FRAMES_PER_CLIP / fps:.1f} s per clip; upper bound: attention, softmax, GELU and layer norms run "
          "below matmul speed)")

    if not a.no_vit:
        vfps = measure_vit_b16(a.threads, a.vit_frames)
        print(f"\n[4] random ViT-B/16 CLIP vision tower, {a.vit_frames} frames of 224x224: {vfps:.2f} frames/s, "
              f"{vfps / FRAMES_PER_CLIP:.3f} clips/s ({vfps * per_frame / 1e9:.0f} GFLOP/s effective, "
              f"{100 * vfps / fps:.0f}% of the matmul estimate)")


if __name__ == "__main__":
    main()
