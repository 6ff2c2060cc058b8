#!/usr/bin/env python
"""Print the README's results tables from the records: top-1 (or GZSL U/S/H) mean ± sample std per
method × dataset, one table per feature-set identity, protocol and mode; complete rows only.

    python scripts/results_table.py [--records results/records.jsonl] [--protocol random-50-50] [--mode zsl]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zsar_bench.results.records import RecordStore  # noqa: E402
from zsar_bench.reports import summarise  # noqa: E402

DATASETS = ["olympics", "hmdb51", "ucf101", "kinetics"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--records", default="results/records.jsonl")
    p.add_argument("--protocol", action="append", help="default: each dataset's default protocol")
    p.add_argument("--mode", default="zsl", choices=["zsl", "gzsl"])
    p.add_argument("--features", action="append", help="feature-set identities (default: all)")
    args = p.parse_args()
    s = summarise(RecordStore(args.records).read())
    protocols = args.protocol or ["random-50-50", "kinetics-zsar"]
    s = s[s["protocol"].isin(protocols) & (s["mode"] == args.mode) & s["complete"]]
    for fid in sorted(set(s["features_id"]) if not args.features else args.features):
        g = s[s["features_id"] == fid]
        if g.empty:
            continue
        cols = [d for d in DATASETS if d in set(g["dataset"])]
        metric = "top1" if args.mode == "zsl" else "gzsl_h"
        main_ds = max(cols, key=lambda d: (int((g["dataset"] == d).sum()), d == "hmdb51"))
        order = g[g["dataset"] == main_ds].sort_values(f"{metric}_mean", ascending=False)["method"].tolist()
        order += sorted(set(g["method"]) - set(order))
        print(f"\n{fid} · {', '.join(protocols)} · {args.mode}\n")
        if args.mode == "zsl":
            print("| method | " + " | ".join(cols) + " | train s/fold (" + main_ds + ") |")
            print("|---" * (len(cols) + 2) + "|")
            for m in order:
                cells = []
                for d in cols:
                    r = g[(g["method"] == m) & (g["dataset"] == d)]
                    cells.append(f"{r['top1_mean'].iloc[0]:.1f} ± {r['top1_std'].iloc[0]:.1f}" if len(r) else "")
                r0 = g[(g["method"] == m) & (g["dataset"] == main_ds)]
                t = f"{r0['train_s_per_fold'].iloc[0]:.2f}" if len(r0) else ""
                print(f"| {m} | " + " | ".join(cells) + f" | {t} |")
        else:
            print("| method | dataset | U | S | H |\n|---|---|---|---|---|")
            for m in order:
                for d in cols:
                    r = g[(g["method"] == m) & (g["dataset"] == d)]
                    if len(r):
                        r = r.iloc[0]
                        print(f"| {m} | {d} | " + " | ".join(f"{r[f'gzsl_{k}_mean']:.1f} ± {r[f'gzsl_{k}_std']:.1f}"
                                                             for k in ("unseen", "seen", "h")) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
