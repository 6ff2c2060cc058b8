"""Commands that read the records: ``report`` (leaderboards, per-class) and ``compare`` (paired statistics)."""
from __future__ import annotations

import argparse
from pathlib import Path

from .common import DEFAULT_RECORDS, UsageError, check_reports_dir, common_options, reports_dir_for


def report_parser() -> argparse.ArgumentParser:
    from ..reports.formats import FORMATS, load_formats

    p = argparse.ArgumentParser(prog="run_bench.py report", description="Regenerate reports/ from the records.")
    formats = "; ".join(f"{n}: {FORMATS.get(n).help}" for n in load_formats()).replace("%", "%%")
    p.add_argument("--format", default="all", metavar="FORMAT[,FORMAT...]",
                   help=f"the formats to write, comma-separated (default all: every one). {formats}")
    p.add_argument("--per-class", metavar="METHOD",
                   help="instead of the leaderboards: METHOD's per-class top-1 over the folds where each class was a "
                        "test class, and its most confused class pairs, from the scores saved by --save-scores")
    p.add_argument("--dataset", help="with --per-class: the dataset")
    p.add_argument("--protocol", help="with --per-class: the protocol (default: the dataset's default)")
    p.add_argument("--mode", default="zsl", help="with --per-class: zsl (default), gzsl or fewshot-K")
    p.add_argument("--scores-dir", type=Path, help="with --per-class: where the scores are (default: scores/ next to "
                                                   "the records file)")
    common_options(p)
    return p


def compare_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_bench.py compare",
                                description="Paired comparison of two methods over the (fold, seed) runs both have: "
                                            "mean difference A - B with its 95% t interval, Wilcoxon signed-rank and "
                                            "paired t p-values, wins / ties / losses.")
    p.add_argument("a", help="method A (a method name in the records)")
    p.add_argument("b", help="method B")
    p.add_argument("--dataset", required=True)
    p.add_argument("--protocol", help="default: the dataset's default protocol")
    p.add_argument("--features-id", help="feature set identity (default: the one both methods have most runs on)")
    p.add_argument("--mode", default="zsl", help="zsl (default), gzsl or fewshot-K")
    p.add_argument("--metric", default=None, help="top1 (default; gzsl_h for --mode gzsl), top5, mean_class_acc, ...")
    common_options(p)
    return p


def cmd_report(args: argparse.Namespace) -> int:
    from ..records import RecordStore
    from ..reports import write_reports

    store = RecordStore(args.records)
    if not store.path.is_file():
        what = "is a folder, not a records file" if store.path.is_dir() else "does not exist"
        raise UsageError(f"records file {store.path} {what}; pass --records PATH.jsonl (default {DEFAULT_RECORDS}) "
                         "or run the benchmark first")
    if getattr(args, "per_class", None):
        return _per_class_report(args, store)
    reports_dir = reports_dir_for(args.records, args.reports_dir)
    check_reports_dir(reports_dir)
    from ..reports.formats import chosen

    formats = [f.strip() for f in str(getattr(args, "format", None) or "all").split(",") if f.strip()]
    chosen(formats)  # an unknown name is an error before the records are read
    written = write_reports(store.read(), reports_dir, source=str(store.path), formats=formats)
    for w in written:
        print(w)
    return 0


def _per_class_report(args: argparse.Namespace, store) -> int:
    from tabulate import tabulate

    from ..scores import default_scores_dir, per_class
    from ..splits import default_protocol

    if not args.dataset:
        raise UsageError("--per-class needs --dataset D")
    protocol = args.protocol or default_protocol(args.dataset)
    folder = args.scores_dir or default_scores_dir(args.records)
    table, pairs, runs = per_class(store.read(), folder, args.per_class, args.dataset, protocol, args.mode)
    if runs == 0:
        raise UsageError(f"no saved scores of {args.per_class} on {args.dataset}/{protocol} ({args.mode}) in {folder}; "
                         f"run it with --save-scores (e.g. python run_bench.py --methods {args.per_class} --datasets "
                         f"{args.dataset} --save-scores --overwrite)")
    print(f"{args.per_class} on {args.dataset} · {protocol} · {args.mode}: per-class top-1 (%) over {runs} run(s) "
          "with saved scores; hardest first")
    print(tabulate(table.round(1), headers="keys", tablefmt="github", showindex=False))
    print()
    print("most confused pairs (share of the true class's test clips predicted as the other class)")
    print(tabulate(pairs.round(1), headers="keys", tablefmt="github", showindex=False))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from ..records import RecordStore
    from ..reports import primary_metric, records_frame
    from ..splits import default_protocol
    from ..stats import aligned, paired

    store = RecordStore(args.records)
    if not store.path.is_file():
        raise UsageError(f"records file {store.path} does not exist; pass --records PATH.jsonl or run the benchmark first")
    df, dropped = records_frame(store.read())
    if df.empty:
        raise UsageError(f"{store.path} holds no records" + (" of the current method implementations" if dropped else ""))
    protocol = args.protocol or default_protocol(args.dataset)
    metric = args.metric or primary_metric(args.mode)
    sel = df[(df["dataset"] == args.dataset) & (df["protocol"] == protocol) & (df["mode"] == args.mode)]
    for m in (args.a, args.b):
        if not (sel["method"] == m).any():
            have = ", ".join(sorted(sel["method"].unique())) or "none"
            raise UsageError(f"no {args.mode} records of {m!r} on {args.dataset}/{protocol} in {store.path}; "
                             f"methods there: {have}")
    if metric not in sel:
        raise UsageError(f"unknown metric {metric!r}; choose one of top1, top5, mean_class_acc, gzsl_h, ...")
    fid = args.features_id
    if fid is None:
        both = sel[sel["method"].isin([args.a, args.b])].groupby("features_id")["method"].nunique()
        both = both[both == 2]
        if both.empty:
            raise UsageError(f"{args.a} and {args.b} share no feature set on {args.dataset}/{protocol}; "
                             "pass --features-id")
        counts = sel[sel["features_id"].isin(both.index)].groupby("features_id").size()
        fid = str(counts.idxmax())
    sel = sel[sel["features_id"] == fid]
    lines = []
    for m in (args.a, args.b):
        if sel[sel["method"] == m]["config_hash"].nunique() > 1:
            lines.append(f"note: {m} has several configurations here; the most recent record of each run is used")
    a, b = aligned(sel, args.a, args.b, metric)
    if len(a) == 0:
        raise UsageError(f"{args.a} and {args.b} have no (fold, seed) run in common on {args.dataset}/{protocol}")
    r = paired(a, b).as_dict()
    print(f"{args.a} vs {args.b} on {args.dataset} · {protocol} · {args.mode} · features {fid} · {metric} (%)")
    print(f"paired runs (fold x seed): {r['n']}")
    print(f"mean {args.a}: {100 * a.mean():.2f}   mean {args.b}: {100 * b.mean():.2f}")
    print(f"difference A - B: {r['mean_diff']:+.2f}  95% CI [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]")
    print(f"Wilcoxon signed-rank p = {r['p_wilcoxon']:.4g}   paired t-test p = {r['p_ttest']:.4g}")
    print(f"wins / ties / losses for {args.a}: {r['wins']} / {r['ties']} / {r['losses']}")
    if r["n"] < 6:
        print(f"note: with {r['n']} paired runs the smallest two-sided Wilcoxon p is {2 / 2 ** r['n']:.3g}")
    for line in lines:
        print(line)
    return 0
