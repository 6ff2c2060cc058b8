"""Commands that read the records: ``report`` (leaderboards, per-class) and ``compare`` (paired statistics)."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from tabulate import tabulate

from ..method import coerce_params
from ..reports import write_reports
from ..reports.formats import FORMATS, chosen, load_formats
from ..results.record_schema import Record
from ..results.records import RecordStore
from ..splits import default_protocol
from .common import DEFAULT_RECORDS, UsageError, check_reports_dir, common_options, reports_dir_for


def report_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_bench.py report", description="Regenerate reports/ from the records.")
    formats = "; ".join(f"{n}: {FORMATS.get(n).help}" for n in load_formats()).replace("%", "%%")
    p.add_argument("--format", default="all", metavar="FORMAT[,FORMAT...]",
                   help=f"the formats to write, comma-separated (default all: every one). {formats}")
    p.add_argument("--partial", action="store_true",
                   help="rows missing runs show the mean ± std over the runs done, marked 'partial n/N' (n of the "
                        "protocol's N folds), in every format and on the HTML heatmap; not the protocol's result "
                        "(default: such rows have empty cells)")
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
    p.add_argument("a", help="method A: a method name in the records, or one of its configurations: NAME@HASH (a "
                             "config-hash prefix, e.g. label@eb5cb7b487) or NAME[KEY=VALUE,...] (parameter values, "
                             "typed as --method-args, e.g. label[lr=3e-3]); a method with several configurations "
                             "on the dataset needs one of these")
    p.add_argument("b", help="method B, as A (compare label@HASH1 label@HASH2 compares two configurations)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--protocol", help="default: the dataset's default protocol")
    p.add_argument("--features-id", help="feature set identity (default: the one both methods have most runs on)")
    p.add_argument("--mode", default="zsl", help="zsl (default), gzsl or fewshot-K")
    p.add_argument("--metric", default=None, help="top1 (default; gzsl_h for --mode gzsl), top5, mean_class_acc, ...")
    common_options(p)
    return p


def _existing_records(path) -> RecordStore:
    """The records file to read, or a UsageError saying why it cannot be (missing, a folder, a pipe or device)."""
    store = RecordStore(path)
    if not store.path.is_file():
        what = ("is a folder, not a records file" if store.path.is_dir() else
                "is not a regular file (a pipe or a device?)" if store.path.exists() else "does not exist")
        raise UsageError(f"records file {store.path} {what}; pass --records PATH.jsonl (default {DEFAULT_RECORDS}) "
                         "or run the benchmark first")
    return store


def cmd_report(args: argparse.Namespace) -> int:
    store = _existing_records(args.records)
    if getattr(args, "per_class", None):
        return _per_class_report(args, store)
    reports_dir = reports_dir_for(args.records, args.reports_dir)
    check_reports_dir(reports_dir)

    formats = [f.strip() for f in str(getattr(args, "format", None) or "all").split(",") if f.strip()]
    chosen(formats)  # an unknown name is an error before the records are read
    partial = bool(getattr(args, "partial", False))
    written = write_reports(store.read(), reports_dir, source=str(store.path), formats=formats, partial=partial,
                            command="python run_bench.py report --partial" if partial else None)
    for w in written:
        print(w)
    return 0


def _per_class_report(args: argparse.Namespace, store) -> int:
    from ..results.scores import default_scores_dir, per_class

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
    from ..measure.stats import aligned
    from ..reports import primary_metric, records_frame

    store = _existing_records(args.records)
    df, dropped = records_frame(store.read())
    if df.empty:
        raise UsageError(f"{store.path} holds no records" + (" of the current method implementations" if dropped else ""))
    protocol = args.protocol or default_protocol(args.dataset)
    metric = args.metric or primary_metric(args.mode)
    sel = df[(df["dataset"] == args.dataset) & (df["protocol"] == protocol) & (df["mode"] == args.mode)]
    where = f"{args.dataset}/{protocol}"
    specs = [parse_config_spec(x) for x in (args.a, args.b)]
    if specs[0] == specs[1]:
        raise UsageError(_same_spec_message(args.a, sel, where))
    for name, _, _ in specs:
        if not (sel["method"] == name).any():
            have = ", ".join(sorted(sel["method"].unique())) or "none"
            raise UsageError(f"no {args.mode} records of {name!r} on {where} in {store.path}; methods there: {have}")
    if metric not in Record.METRIC_FIELDS:
        raise UsageError(f"--metric {metric}: not a metric; choose one of {', '.join(Record.METRIC_FIELDS)}")
    have = [m for m in Record.METRIC_FIELDS if m in sel and sel[m].notna().any()]
    if metric not in have:
        raise UsageError(f"--metric {metric}: no {args.mode} record on {where} has it; {args.mode} records have "
                         f"{', '.join(have) or 'no metric'}")
    cands = [_candidates(sel, spec, text, where) for spec, text in zip(specs, (args.a, args.b))]
    fid = args.features_id or _shared_features(cands, args.a, args.b, where)
    (ma, ca), (mb, cb) = [_one_config(c[c["features_id"] == fid], text, where, fid)
                          for c, text in zip(cands, (args.a, args.b))]
    if (ma, ca) == (mb, cb):
        raise UsageError(f"{args.a} and {args.b} are the same configuration ({ma}@{ca}) on {where}; compare two "
                         "methods, or two configurations of one (NAME@HASH NAME@HASH)")
    sel = sel[sel["features_id"] == fid]
    a, b = aligned(sel, ma, mb, metric, ca, cb)
    if len(a) == 0:
        raise UsageError(f"{ma}@{ca} and {mb}@{cb} have no (fold, seed) run in common on {where}")
    _print_comparison(f"{ma}@{ca}", f"{mb}@{cb}", a, b, f"{where.replace('/', ' · ')} · {args.mode} · features "
                      f"{fid} · {metric} (%)", [_config_line("A", ma, ca, sel), _config_line("B", mb, cb, sel)])
    return 0


def parse_config_spec(text: str) -> tuple:
    """A method or one of its configurations, as ``compare`` takes them: ``label`` (name, None, None),
    ``label@eb5cb7b487`` (name, the config-hash prefix, None), ``label[lr=3e-3,epochs=2]`` (name, None,
    ((key, value text), ...)), the values typed later by the method's defaults (``method.coerce_params``)."""
    m = re.fullmatch(r"([^@\[\]\s]+)(?:@([0-9a-fA-F]+)|\[(.*)\])?", text.strip())
    if not m:
        raise UsageError(f"cannot read {text!r} as a method or configuration: write NAME, NAME@HASH (a config-hash "
                         "prefix, e.g. label@eb5cb7b487) or NAME[KEY=VALUE,...] (e.g. label[lr=3e-3])")
    name, prefix, inside = m.groups()
    if inside is None:
        return name, prefix.lower() if prefix else None, None
    pairs = []
    for part in (x.strip() for x in inside.split(",")):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"{text}: expected KEY=VALUE inside [...] (e.g. {name}[lr=3e-3]), got {part!r}")
        pairs.append((key.strip(), value.strip()))
    return name, None, tuple(sorted(pairs))


def _configs(sel, name: str) -> list[tuple[str, dict, str]]:
    """(config hash, recorded parameters, how they differ from the defaults) of each configuration of ``name`` in
    ``sel``, by hash."""
    from ..reports.tables import config_label

    out = []
    for cfg, g in sel[sel["method"] == name].groupby("config_hash", sort=True):
        params = g["params"].iloc[-1] if "params" in g else None
        desc = g["descriptions"].iloc[-1] if "descriptions" in g else None
        out.append((str(cfg), params if isinstance(params, dict) else {}, config_label(name, params, desc)))
    return out


def _listing(name: str, configs: list) -> str:
    """``label@eb5cb7b487 (defaults), label@0c1ee4d496 (lr=0.003)``: the configurations as ``compare`` takes them."""
    return ", ".join(f"{name}@{c} ({diff or 'defaults'})" for c, _, diff in configs)


def _same_spec_message(text: str, sel, where: str) -> str:
    name = parse_config_spec(text)[0]
    configs = _configs(sel, name)
    if len(configs) > 1:
        return (f"compare {text} {text}: A and B are the same; to compare two configurations of {name}, name each: "
                f"{name}@HASH or {name}[KEY=VALUE]; its configurations on {where}: {_listing(name, configs)}")
    return (f"compare {text} {text}: A and B are the same method and configuration"
            + (f", {_listing(name, configs)}" if configs else "")
            + f"; compare {name} with another method, or two configurations of one (NAME@HASH NAME@HASH)")


def _candidates(sel, spec: tuple, text: str, where: str):
    """The records of ``sel`` of the configurations ``spec`` names (every configuration of a bare name)."""
    from ..reports.tables import _registered, _same_param

    name, prefix, pairs = spec
    configs = _configs(sel, name)
    if prefix is not None:
        keep = [c for c in configs if c[0].startswith(prefix)]
    elif pairs is not None:
        cls = _registered(name)
        if cls is None:
            raise UsageError(f"{text}: {name} is not registered here, so its parameters cannot be typed; pick a "
                             f"configuration by its hash: {_listing(name, configs)}")
        wanted = coerce_params(cls, dict(pairs), where="compare", name=name)
        defaults = cls.param_defaults()
        keep = [c for c in configs if all(_same_param({**defaults, **c[1]}.get(k), v) for k, v in wanted.items())]
    else:
        return sel[sel["method"] == name]
    if not keep:
        raise UsageError(f"no configuration of {name} on {where} matches {text}; its configurations: "
                         f"{_listing(name, configs)}")
    return sel[(sel["method"] == name) & sel["config_hash"].isin([c for c, _, _ in keep])]


def _shared_features(cands: list, a: str, b: str, where: str) -> str:
    """The feature set both sides have runs on (the one with most runs where there are several)."""
    import pandas as pd

    both = set(cands[0]["features_id"]) & set(cands[1]["features_id"])
    if not both:
        raise UsageError(f"{a} and {b} share no feature set on {where}; pass --features-id")
    counts = pd.concat(cands)
    counts = counts[counts["features_id"].isin(both)].groupby("features_id").size()
    return str(counts.idxmax())


def _one_config(c, text: str, where: str, fid: str) -> tuple[str, str]:
    """(method, config hash) of one side: refused when it still holds several configurations."""
    name = str(c["method"].iloc[0])
    configs = _configs(c, name)
    if len(configs) > 1:
        raise UsageError(f"{text} has {len(configs)} configurations on {where} (features {fid}): "
                         f"{_listing(name, configs)}; pick one as {name}@HASH (a config-hash prefix) or "
                         f"{name}[KEY=VALUE,...] (its parameters)")
    return name, configs[0][0]


def _config_line(side: str, name: str, cfg: str, sel) -> str:
    diff = next((d for c, _, d in _configs(sel, name) if c == cfg), "")
    return f"{side} = {name}@{cfg}: {diff or 'the default configuration'}"


def _print_comparison(la: str, lb: str, a, b, what: str, lines: list[str]) -> None:
    from ..measure.stats import paired

    r = paired(a, b).as_dict()
    print(f"{la} vs {lb} on {what}")
    for line in lines:
        print(line)
    print(f"paired runs (fold x seed): {r['n']}")
    print(f"mean {la}: {100 * a.mean():.2f}   mean {lb}: {100 * b.mean():.2f}")
    print(f"difference A - B: {r['mean_diff']:+.2f}  95% CI [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]")
    print(f"Wilcoxon signed-rank p = {r['p_wilcoxon']:.4g}   paired t-test p = {r['p_ttest']:.4g}")
    print(f"wins / ties / losses for {la}: {r['wins']} / {r['ties']} / {r['losses']}")
    if r["n"] < 6:
        print(f"note: with {r['n']} paired runs the smallest two-sided Wilcoxon p is {2 / 2 ** r['n']:.3g}")
