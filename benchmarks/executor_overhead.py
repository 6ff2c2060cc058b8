"""The default local executor against inline on cheap runs, side by side in one invocation (not a test).

    python benchmarks/executor_overhead.py [--repeats 3] [--folds 0-9] [--methods eszsl,chance] [--out F.json]

Each repeat runs ``run_bench.py --methods M --datasets hmdb51 --folds F`` (20 runs by default: 2 methods x 10
folds) once with ``--executor inline`` and once with the default ``--executor local``, alternating, each into a
fresh records file over one warm data root (its features and text encodings made by a first, untimed run), and
prints the wall seconds of each (min / median / max) and the ratio of the medians. The whole command is timed,
as a user waits for it: start-up, planning, worker processes, recording.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _command(records: Path, args: argparse.Namespace, executor: str) -> list[str]:
    return [sys.executable, str(ROOT / "run_bench.py"), "--methods", args.methods, "--datasets", args.dataset,
            "--folds", args.folds, "--records", str(records), "--reports-dir", str(records.parent / "reports"),
            "--executor", executor, "--no-progress"]


def _timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--methods", default="eszsl,chance")
    ap.add_argument("--dataset", default="hmdb51")
    ap.add_argument("--folds", default="0-9")
    ap.add_argument("--data-root", default=None, help="a warm data root to reuse (default: a fresh one)")
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zsar-executors-"))
    env = {**os.environ, "ZSAR_BENCH_DATA": args.data_root or str(work / "data")}
    _timed(_command(work / "warm" / "r.jsonl", args, "inline"), env)  # features and text encodings, untimed
    times: dict[str, list[float]] = {"inline": [], "local": []}
    for i in range(args.repeats):
        for executor in ("inline", "local"):
            times[executor].append(_timed(_command(work / f"{executor}{i}" / "r.jsonl", args, executor), env))
    n_runs = len(args.methods.split(",")) * len(range(int(args.folds.split("-")[0]), int(args.folds.split("-")[-1]) + 1))
    figures = {k: {"min": min(v), "median": statistics.median(v), "max": max(v), "all": v} for k, v in times.items()}
    ratio = figures["local"]["median"] / figures["inline"]["median"]
    print(f"{n_runs} runs ({args.methods} on {args.dataset}, folds {args.folds}), {args.repeats} repeat(s), "
          f"{os.cpu_count()} cores")
    for k, f in figures.items():
        print(f"  --executor {k:<7} wall s: min {f['min']:.1f}  median {f['median']:.1f}  max {f['max']:.1f}")
    print(f"  local / inline (medians): {ratio:.2f}x")
    if args.out:
        Path(args.out).write_text(json.dumps({"runs": n_runs, "methods": args.methods, "dataset": args.dataset,
                                              "folds": args.folds, "figures": figures, "ratio": ratio}, indent=1))


if __name__ == "__main__":
    main()
