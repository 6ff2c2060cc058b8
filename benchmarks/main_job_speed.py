"""The main job's speed, old code against new, side by side on this machine (issue 12; not a test).

    python benchmarks/main_job_speed.py --old REV [--old REV2 ...] [--new HEAD] [--folds 0-49] [--out results.json]

For each revision: a clean clone (so its git sha is clean, as in CI) and a fresh data root, then
  1. ``make bench``'s command from scratch (synthetic world, one-time text encodings, every fold of er and w2v
     on hmdb51), wall seconds, and where they went (``cold_parts``: each method's fit + score seconds summed
     over its records, and the encoding seconds the driver logs);
  2. the same command again with every record present (the warm rerun), 3 times;
  3. ``run_bench.py --help``, 5 times (import time of the command line);
  4. er on the first 4 folds with ``--jobs 1`` and with ``--jobs 2`` (warm caches, records apart): wall seconds per
     fold, and the median fit + score seconds per fold the records report.
Both revisions run one after the other in one invocation, with this Python (the project's venv), so the
figures are comparable; machines differ about 2x, figures from two invocations are not.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], cwd: Path, env: dict, log_to: Optional[Path] = None) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{p.stderr[-3000:]}")
    if log_to is not None:
        log_to.write_text(p.stderr)
    return dt


def _cold_parts(records: Path, log: Path) -> dict:
    """Where the cold run's time went: per method, the summed fit + score seconds its records report (CPU
    time of the workers, which overlap), and the one-time text encoding the driver logs (newer code only)."""
    rows = [json.loads(line) for line in records.read_text().splitlines() if line.strip()]
    parts = {f"{m} fit+score s (sum)": round(sum(r["train_s"] + r.get("eval_s", 0.0) for r in rows if r["method"] == m), 1)
             for m in sorted({r["method"] for r in rows})}
    enc = re.findall(r"encoded in ([0-9.]+)s", log.read_text())
    if enc:
        parts["text encoding s"] = sum(float(e) for e in enc)
    return parts


def _fold_seconds(records: Path, method: str) -> float:
    rows = [json.loads(line) for line in records.read_text().splitlines() if line.strip()]
    return statistics.median(r["train_s"] + r.get("eval_s", 0.0) for r in rows if r["method"] == method)


def measure(rev: str, folds: str, work: Path, log) -> dict:
    clone = work / f"clone-{rev[:12]}"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "-q", rev], cwd=clone, check=True)
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip()
    data = work / f"data-{sha}"
    env = {k: v for k, v in os.environ.items() if k not in ("ZSAR_BENCH_RERUN_CACHE", "ZSAR_BENCH_DATA")}
    env.update(ZSAR_BENCH_DATA=str(data), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    py = sys.executable
    bench = [py, "run_bench.py", "--methods", "er,w2v", "--datasets", "hmdb51", "--records", str(work / f"{sha}.jsonl"),
             "--reports-dir", str(work / f"reports-{sha}"), "--no-progress"] + (["--folds", folds] if folds else [])
    out: dict = {"rev": rev, "sha": sha}
    log(f"[{sha}] make bench from scratch ...")
    out["cold_s"] = _run(bench, clone, env, log_to=work / f"{sha}-cold.log")
    out["cold_parts"] = _cold_parts(work / f"{sha}.jsonl", work / f"{sha}-cold.log")
    log(f"[{sha}] cold {out['cold_s']:.1f}s {out['cold_parts']}; warm reruns ...")
    out["warm_s"] = [_run(bench, clone, env) for _ in range(3)]
    out["help_s"] = [_run([py, "run_bench.py", "--help"], clone, env) for _ in range(5)]
    for jobs in (1, 2):
        rec = work / f"{sha}-jobs{jobs}.jsonl"
        wall = _run([py, "run_bench.py", "--methods", "er", "--datasets", "hmdb51", "--folds", "0-3", "--jobs",
                     str(jobs), "--records", str(rec), "--no-report", "--no-progress"], clone, env)
        out[f"jobs{jobs}"] = {"wall_s": wall, "wall_per_fold_s": wall / 4, "fold_fit_score_s": _fold_seconds(rec, "er")}
        log(f"[{sha}] --jobs {jobs}: {wall:.1f}s for 4 folds")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, action="append",
                    help="a revision to compare against (repeatable), e.g. the code when issue 12 was filed")
    ap.add_argument("--new", default="HEAD")
    ap.add_argument("--folds", default="", help="fewer folds for a trial (default: all 50, as make bench)")
    ap.add_argument("--out", type=Path, help="also write the figures as JSON")
    a = ap.parse_args(argv)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="zsar-speed-") as tmp:
        res = [measure(rev, a.folds, Path(tmp), log) for rev in (*a.old, a.new)]
    rows = []
    for r in res:
        rows.append([r["sha"], f"{r['cold_s']:.0f}", f"{statistics.median(r['warm_s']):.2f}",
                     f"{statistics.median(r['help_s']):.2f}",
                     f"{r['jobs1']['wall_per_fold_s']:.1f} ({r['jobs1']['fold_fit_score_s']:.1f})",
                     f"{r['jobs2']['wall_per_fold_s']:.1f} ({r['jobs2']['fold_fit_score_s']:.1f})"])
    head = ["rev", "make bench cold s", "warm rerun s", "--help s", "er s/fold, 1 worker (fit+score)",
            "er s/fold, 2 workers (fit+score)"]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    for r in res[:-1]:
        print(f"\nmake bench from scratch, {r['sha']} -> {res[-1]['sha']}: {r['cold_s'] / res[-1]['cold_s']:.2f}x faster")
    for r in res:
        print(f"{r['sha']} cold run: {r['cold_parts']}")
    if a.out:
        a.out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
