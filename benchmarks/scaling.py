"""Cost growth with the size of synthetic Kinetics, on this machine (issue 25; not a test).

    .venv/bin/python benchmarks/scaling.py [--scales 1,3,8] [--methods label,eszsl,w2v,er] [--out benchmarks/results]

At each scale N the set ``synthetic-x<N>`` (every class at N x 30 clips: N = 1 is the scaled-down set's size,
18,600 clips; all made by the same chunked generator, ``features/synthetic_full.py``) and, each part in a fresh
process of its own (so its peak resident memory is its own; a bare process with the harness and torch imported
is measured as ``baseline``):

- ``generate``: generating the set and loading it once (the first use);
- ``load``: the store loading it again (memory map, integrity check, float16 -> float32);
- ``fold``: load + assembling fold 0 of kinetics-zsar (``measure.folds.make_fold_data``; its seconds alone);
- one part per method, fold 0 of kinetics-zsar through ``zsar_bench.evaluate`` (one process, ``--jobs 1``):
  wall seconds, the record's fit (``train_s``) and scoring (``eval_s``) seconds, and the driver's one-time text
  encoding (``er``: every clip's object text);
- ``report``: ``run_bench.py report`` over those records.

Writes ``scaling.json`` and ``scaling.md`` to ``--out``. The machine is shared: figures are as measured, with the
load average at the start and end of each part.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def part(name: str, scale: int, records: str) -> dict:
    """One part, in this process: its figures (seconds, peak resident MiB of this process)."""
    import zsar_bench
    from zsar_bench.features import load_feature_set

    feats = f"synthetic-x{scale}"
    t0 = time.perf_counter()
    out: dict = {}
    if name == "baseline":
        import torch  # noqa: F401
    elif name in ("generate", "load"):
        fs = load_feature_set("kinetics", feats)
        out["clips"] = len(fs.labels)
    elif name == "fold":
        from zsar_bench.datasets import get_dataset
        from zsar_bench.measure.folds import make_fold_data
        from zsar_bench.splits import load_protocol

        fs = load_feature_set("kinetics", feats)
        proto = load_protocol("kinetics", "kinetics-zsar")
        t1 = time.perf_counter()
        data = make_fold_data(fs, get_dataset("kinetics").classes(), proto.folds[0], proto)
        out.update(fold_s=round(time.perf_counter() - t1, 3), n_train=len(data.fit.train.labels))
    elif name == "report":
        from zsar_bench import cli

        cli.main(["report", "--records", records, "--reports-dir", str(Path(records).parent / "reports")])
    else:
        lines: list[str] = []

        def log(msg: str) -> None:  # kept for the figures, and shown as it comes (a long part can be followed)
            lines.append(msg)
            print(f"  [x{scale} {name} {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

        res = zsar_bench.evaluate([name], ["kinetics"], features=feats, folds="0", jobs=1, isolate=False,
                                  device="cpu", records=records, log=log)
        (rec,) = [r for r in res.records if r["method"] == name]
        enc = [float(x) for line in lines for x in re.findall(r"encoded in ([0-9.]+)s", line)]
        out.update(fit_s=rec["train_s"], score_s=rec["eval_s"], encode_s=round(sum(enc), 1),
                   top1=round(100 * rec["top1"], 2), n_train=rec["n_train_videos"])
    out.update(seconds=round(time.perf_counter() - t0, 2), peak_mib=_peak_mib())
    return out


def _child(name: str, scale: int, records: Path, env: dict) -> dict:
    load0 = os.getloadavg()[0]
    p = subprocess.run([sys.executable, __file__, "--part", name, "--scale", str(scale), "--records",
                        str(records)], env=env, check=True, stdout=subprocess.PIPE, text=True)
    got = json.loads(p.stdout.strip().splitlines()[-1])
    got["load_avg"] = [round(load0, 1), round(os.getloadavg()[0], 1)]
    return got


def markdown(result: dict) -> str:
    parts = list(dict.fromkeys(k for r in result["scales"].values() for k in r))
    scales = list(result["scales"])
    lines = ["# Cost growth with the size of synthetic Kinetics (this machine)", "",
             f"`{result['command']}`; {result['cpu_cores']} CPU cores, shared (load: the 1-minute load average at the "
             f"start and end of each part); started {result['time']}. Each cell: wall seconds of the part's own "
             f"process, its peak resident memory, and the record's figures (seconds; top-1 in %).", "",
             "| part | " + " | ".join(f"x{s} ({result['scales'][s].get('generate', {}).get('clips', 18600 * int(s)):,} clips)"
                                   for s in scales) + " |", "|---|" + "---|" * len(scales)]
    for p in parts:
        cells = []
        for s in scales:
            r = result["scales"][s].get(p, {})
            if not r:
                cells.append("not run")
                continue
            extra = [f"{k} {r[k]}" for k in ("fold_s", "encode_s", "fit_s", "score_s", "top1") if k in r]
            extra.append("load {}-{}".format(*r["load_avg"]))
            cells.append(f"{r['seconds']} s, {r['peak_mib']} MiB ({', '.join(extra)})")
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scales", default="1,3,8")
    ap.add_argument("--methods", default="label,eszsl,w2v,er")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--work", default="/tmp/zsar-scaling", help="records and reports of the runs")
    ap.add_argument("--parts", default=None,
                    help="comma-separated subset of the parts (default: baseline,generate,load,fold, the methods, report)")
    ap.add_argument("--merge", action="store_true",
                    help="add to (and overwrite the same parts in) the scaling.json already in --out, e.g. a slow "
                         "method's run after the cheap ones'")
    ap.add_argument("--part", help=argparse.SUPPRESS)
    ap.add_argument("--scale", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--records", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.part:
        print(json.dumps(part(a.part, a.scale, a.records)))
        return
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    command = "python benchmarks/scaling.py " + " ".join(sys.argv[1:])
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.merge and (out / "scaling.json").is_file():
        result = json.loads((out / "scaling.json").read_text())
        result["command"] += "; " + command
    else:
        result = {"command": command, "cpu_cores": os.cpu_count(), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "data_root": env.get("ZSAR_BENCH_DATA"), "scales": {}}
    parts = (a.parts.split(",") if a.parts else
             ["baseline", "generate", "load", "fold"] + a.methods.split(",") + ["report"])
    for s in (int(x) for x in a.scales.split(",")):
        records = Path(a.work) / f"x{s}" / "records.jsonl"
        records.parent.mkdir(parents=True, exist_ok=True)
        res = result["scales"].setdefault(str(s), {})
        for p in parts:
            res[p] = _child(p, s, records, env)
            res[p]["at"] = time.strftime("%H:%M:%S")
            print(f"x{s} {p}: {res[p]}", flush=True)
            (out / "scaling.json").write_text(json.dumps(result, indent=1) + "\n")
            (out / "scaling.md").write_text(markdown(result))
    print(f"wrote {out / 'scaling.json'} and scaling.md")


if __name__ == "__main__":
    main()
