"""Command line: ``python run_bench.py`` and the ``zsar-bench`` console script are this module.

    run_bench.py --methods label --datasets hmdb51 [--protocol P] [--folds 0-9] [--seeds 0,1] ...
    run_bench.py list methods|datasets|protocols|features [--format json]
    run_bench.py splits DATASET PROTOCOL [--format json]
    run_bench.py report
    run_bench.py texts DATASET [--style S]          class texts in a chosen style
    run_bench.py wv-coverage [DATASET ...]          word-vector coverage of class names
    run_bench.py import-features|extract-features|overlap ...   real features (features_cli.py)
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional

COMMANDS = ("list", "splits", "report", "texts", "wv-coverage", "import-features", "extract-features", "overlap")
DEFAULT_REPORTS = Path("reports")
DEFAULT_RECORDS = Path("results") / "records.jsonl"


class UsageError(Exception):
    """A user mistake: printed without a traceback, exit code 2."""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-root", help="where features and caches live (default $ZSAR_BENCH_DATA or ~/.cache/zsar-bench)")
    p.add_argument("--records", default=str(DEFAULT_RECORDS), help="records JSONL file (default %(default)s)")
    p.add_argument("--reports-dir", default=str(DEFAULT_REPORTS), help="leaderboard folder (default %(default)s)")


def run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run_bench.py",
        description="Run zero-shot action recognition methods over every fold of a protocol, append the "
                    "records, print a mean ± std table and regenerate reports/.",
        epilog="Other commands: " + ", ".join(COMMANDS) + " (run_bench.py COMMAND --help).",
    )
    p.add_argument("--methods", required=True, help="comma-separated method names (see `list methods`)")
    p.add_argument("--datasets", required=True, help="comma-separated: olympics, hmdb51, ucf101, kinetics")
    p.add_argument("--protocol", help="protocol name (default: random-50-50; kinetics-zsar for kinetics)")
    p.add_argument("--split-file", help="your own folds in the split-file format (validated like the built-ins)")
    p.add_argument("--exclude-overlap", metavar="PRETRAIN", choices=["k400"],
                   help="drop target classes that overlap these pre-training classes (k400: Kinetics-400; "
                        "see reports/overlap_k400_<dataset>.md); the protocol gets a '-no-k400' suffix")
    p.add_argument("--folds", help="fold numbers, e.g. 0-9 or 0,3 (default: all)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default %(default)s)")
    p.add_argument("--features", default="synthetic", help="feature set name (default %(default)s)")
    p.add_argument("--method-args", action="append", default=[], metavar="METHOD.KEY=VALUE",
                   help="override a method hyperparameter; repeat or comma-separate")
    p.add_argument("--descriptions", help="class descriptions file: ER's JSON ([{word, defn}]) or the project's TSV")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda[:N]")
    p.add_argument("--jobs", type=int, default=1, help="folds run in parallel worker processes (default 1)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads per process (default 1: the models are small, and oversubscribed "
                        "threads on a shared CPU cost 10x; use --jobs for parallelism)")
    p.add_argument("--overwrite", action="store_true", help="redo runs that already have records")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--no-report", action="store_true", help="do not regenerate reports/ after the run")
    _common(p)
    return p


def sub_parsers() -> dict[str, argparse.ArgumentParser]:
    ps = {}
    p = argparse.ArgumentParser(prog="run_bench.py list", description="List registered things.")
    p.add_argument("what", choices=["methods", "datasets", "protocols", "features"])
    p.add_argument("--format", choices=["text", "json"], default="text")
    _common(p)
    ps["list"] = p
    p = argparse.ArgumentParser(prog="run_bench.py splits", description="Print a protocol's folds (official class identifiers).")
    p.add_argument("dataset")
    p.add_argument("protocol")
    p.add_argument("--format", choices=["text", "json"], default="text")
    ps["splits"] = p
    p = argparse.ArgumentParser(prog="run_bench.py report", description="Regenerate reports/ from the records.")
    _common(p)
    ps["report"] = p
    p = argparse.ArgumentParser(prog="run_bench.py texts", description="Print a dataset's class texts in a style.")
    p.add_argument("dataset")
    p.add_argument("--style", default="name: description",
                   help="name | description | 'name: description' | a template such as 'a video of a person {name}'")
    p.add_argument("--descriptions", help="descriptions file to use instead of the built-in ones")
    p.add_argument("--format", choices=["text", "json"], default="text")
    ps["texts"] = p
    p = argparse.ArgumentParser(prog="run_bench.py wv-coverage", description="Word-vector coverage of class names.")
    p.add_argument("datasets", nargs="*", help="default: all datasets")
    p.add_argument("--vectors", default="glove50", help="glove50 (packaged) or a path to word2vec/GloVe/fastText vectors")
    p.add_argument("--format", choices=["text", "json"], default="text")
    _common(p)
    ps["wv-coverage"] = p
    return ps


def _split_csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def parse_method_args(items: list[str], methods: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {m: {} for m in methods}
    for item in items:
        for part in _split_csv(item):
            if "=" not in part or "." not in part.split("=", 1)[0]:
                raise UsageError(f"--method-args {part!r}: expected METHOD.KEY=VALUE, e.g. label.lr=1e-3")
            lhs, value = part.split("=", 1)
            m, key = lhs.split(".", 1)
            if m not in out:
                raise UsageError(f"--method-args {part!r}: method {m!r} is not among --methods ({', '.join(methods)})")
            out[m][key] = value
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from .datasets import DATASETS
    from .method import METHODS, build_method
    from .plugins import load_plugins
    from .records import RecordStore
    from .reports import render_table, summarise, write_reports
    from .runner import RunSpec, run_specs
    from .splits import default_protocol, load_protocol, load_split_file, parse_folds

    import torch

    from threadpoolctl import threadpool_limits

    torch.set_num_threads(max(1, args.threads))
    threadpool_limits(max(1, args.threads))  # numpy/scipy BLAS too (closed-form methods)
    load_plugins()
    methods = _split_csv(args.methods)
    datasets = _split_csv(args.datasets)
    for m in methods:
        if m not in METHODS:
            raise UsageError(METHODS.unknown_message(m))
    for d in datasets:
        if d not in DATASETS:
            raise UsageError(DATASETS.unknown_message(d))
    margs = parse_method_args(args.method_args, methods)
    for m in methods:
        try:
            build_method(m, margs[m])
        except (ValueError, TypeError) as e:
            raise UsageError(str(e)) from None
    seeds = [int(s) for s in _split_csv(args.seeds)]
    descriptions, desc_source = None, "builtin"
    if args.descriptions:
        from .text.descriptions import load_descriptions

        if len(datasets) != 1:
            raise UsageError("--descriptions applies to one dataset at a time; pass a single --datasets")
        descriptions = load_descriptions(args.descriptions, datasets[0])
        desc_source = str(args.descriptions)

    specs = []
    for d in datasets:
        if args.split_file:
            protocol = load_split_file(args.split_file)
            if protocol.dataset != d:
                raise UsageError(f"--split-file {args.split_file} is for dataset {protocol.dataset!r}, not {d!r}")
        else:
            protocol = load_protocol(d, args.protocol or default_protocol(d))
        if args.exclude_overlap:
            from .overlap import exclude_overlap

            protocol = exclude_overlap(protocol, args.exclude_overlap)
        for fold in parse_folds(args.folds, protocol):
            for seed in seeds:
                for m in methods:
                    specs.append(RunSpec(m, margs[m], d, args.features, protocol, fold, seed, device=args.device,
                                         descriptions=descriptions, descriptions_source=desc_source,
                                         progress=not args.no_progress))
    from .trainer import resolve_device

    try:
        device = resolve_device(args.device)
    except RuntimeError as e:
        raise UsageError(str(e)) from None
    for s in specs:
        s.device = device
    store = RecordStore(args.records)
    t0 = time.perf_counter()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    records, _ = run_specs(specs, store, jobs=args.jobs, overwrite=args.overwrite, log=log)
    log(f"done in {time.perf_counter() - t0:.1f}s; records in {store.path}")
    for _, md in render_table(summarise(records)):
        print()
        print(md)
    if not args.no_report:
        write_reports(store.read(), Path(args.reports_dir))
        log(f"reports regenerated in {args.reports_dir}/")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    what = args.what
    if what == "methods":
        from .method import METHODS
        from .plugins import failures, load_plugins

        load_plugins()
        rows = [{"name": n, "summary": METHODS.get(n).summary, "origin": METHODS.origin(n),
                 "params": {k: v for k, v in METHODS.get(n).param_defaults().items()}} for n in METHODS.names()]
        extra = {"failed_plugins": failures} if failures else {}
    elif what == "datasets":
        from .datasets import DATASETS

        rows = [{"name": n, "title": d.title, "n_classes": d.n_classes, "source": d.source,
                 "real_release": d.real_videos, "n_described": len(d.builtin_descriptions)}
                for n, d in ((n, DATASETS.get(n)) for n in DATASETS.names())]
        extra = {}
    elif what == "protocols":
        from .splits import available_protocols, load_protocol

        rows = []
        for ds, protos in available_protocols().items():
            for p in protos:
                pr = load_protocol(ds, p)
                f0 = pr.folds[0]
                rows.append({"dataset": ds, "protocol": p, "version": pr.version, "folds": len(pr.folds),
                             "seen": len(f0.seen), "val": len(f0.val), "unseen": len(f0.unseen),
                             "sha256": pr.short_hash, "description": pr.description})
        extra = {}
    else:
        from .features import list_feature_sets

        rows = list_feature_sets()
        extra = {}
    if args.format == "json":
        print(json.dumps({what: rows, **extra}, indent=1, default=str))
    else:
        from tabulate import tabulate

        flat = [{k: v for k, v in r.items() if k != "params"} for r in rows]
        print(tabulate(flat, headers="keys", tablefmt="simple", disable_numparse=True))
        for name, err in extra.get("failed_plugins", {}).items():
            print(f"warning: plugin {name} failed to load: {err}", file=sys.stderr)
    return 0


def cmd_splits(args: argparse.Namespace) -> int:
    from .splits import load_protocol

    pr = load_protocol(args.dataset, args.protocol)
    if args.format == "json":
        print(json.dumps(pr.to_json(), indent=1))
    else:
        print(f"{pr.dataset}/{pr.protocol} v{pr.version} sha256 {pr.sha256}\n{pr.description}")
        for f in pr.folds:
            print(f"fold {f.fold}: {len(f.seen)} seen, {len(f.val)} val, {len(f.unseen)} unseen: {', '.join(f.unseen)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .records import RecordStore
    from .reports import write_reports

    store = RecordStore(args.records)
    written = write_reports(store.read(), Path(args.reports_dir))
    for w in written:
        print(w)
    return 0


def cmd_texts(args: argparse.Namespace) -> int:
    from .datasets import get_dataset
    from .text.styles import class_texts

    ds = get_dataset(args.dataset)
    desc = None
    if args.descriptions:
        from .text.descriptions import load_descriptions

        desc = load_descriptions(args.descriptions, args.dataset)
    classes = ds.classes(desc)
    texts = class_texts(classes, args.style)
    if args.format == "json":
        print(json.dumps([{"identifier": c.identifier, "text": t} for c, t in zip(classes, texts)], indent=1))
    else:
        for c, t in zip(classes, texts):
            print(f"{c.identifier}\t{t}")
    return 0


def cmd_wv_coverage(args: argparse.Namespace) -> int:
    from .datasets import DATASETS
    from .text.wordvectors import coverage_report, load_word_vectors

    kv = load_word_vectors(args.vectors)
    rows = [coverage_report(d, kv) for d in (args.datasets or DATASETS.names())]
    if args.format == "json":
        print(json.dumps(rows, indent=1))
    else:
        from tabulate import tabulate

        print(tabulate([{k: v for k, v in r.items() if k != "missing_words"} for r in rows], headers="keys"))
        for r in rows:
            if r["missing_words"]:
                print(f"{r['dataset']}: words with no vector: {', '.join(r['missing_words'])}")
    return 0


HANDLERS = {"list": cmd_list, "splits": cmd_splits, "report": cmd_report, "texts": cmd_texts,
            "wv-coverage": cmd_wv_coverage}


def main(argv: Optional[list[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in COMMANDS:
            cmd = argv[0]
            if cmd not in HANDLERS:
                from . import features_cli

                return features_cli.main(argv)
            args = sub_parsers()[cmd].parse_args(argv[1:])
            handler = HANDLERS[cmd]
        else:
            args = run_parser().parse_args(argv)
            handler = cmd_run
        if getattr(args, "data_root", None):
            from .paths import set_data_root

            set_data_root(args.data_root)
        return handler(args)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished folds are already in the records; rerun the same command to resume",
              file=sys.stderr)
        return 130
    except Exception as e:  # clear messages for the errors users cause; tracebacks for bugs
        from .features import FeatureStoreError
        from .registry import RegistryError
        from .splits import SplitError

        known = (FeatureStoreError, RegistryError, SplitError)
        try:
            from .text.descriptions import DescriptionsError

            known += (DescriptionsError,)
        except ImportError:
            pass
        if isinstance(e, known):
            print(f"error: {e}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
