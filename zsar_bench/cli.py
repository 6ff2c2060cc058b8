"""Command line: ``python run_bench.py`` and the ``zsar-bench`` console script are this module.

    run_bench.py --methods label --datasets hmdb51 [--protocol P] [--folds 0-9] [--seeds 0,1] ...
    run_bench.py list methods|datasets|protocols|features [--format json]
    run_bench.py splits DATASET PROTOCOL [--format json]
    run_bench.py report
    run_bench.py texts DATASET [--style S]          class texts in a chosen style
    run_bench.py wv-coverage [DATASET ...]          word-vector coverage of class names
    run_bench.py convert-vectors IN.kv OUT.txt --trust-pickle   gensim pickle -> word2vec text, once
    run_bench.py import-features|extract-features|overlap ...   real features (features_cli.py)
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Optional

COMMANDS = ("list", "splits", "report", "fidelity", "texts", "wv-coverage", "convert-vectors", "import-features",
            "extract-features", "overlap")
DEFAULT_REPORTS = Path("reports")
DEFAULT_RECORDS = Path("results") / "records.jsonl"


class UsageError(Exception):
    """A user mistake: printed without a traceback, exit code 2."""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-root", help="where features and caches live (default $ZSAR_BENCH_DATA or ~/.cache/zsar-bench)")
    p.add_argument("--records", default=str(DEFAULT_RECORDS), help="records JSONL file (default %(default)s)")
    p.add_argument("--reports-dir", default=None,
                   help=f"leaderboard folder (default: {DEFAULT_REPORTS}/ for the default --records, otherwise a "
                        "reports/ folder next to the records file)")


def run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run_bench.py",
        description="Run zero-shot action recognition methods over every fold of a protocol, append the "
                    "records, print a mean ± std table and regenerate reports/.",
        epilog="Other commands: " + ", ".join(COMMANDS) + " (run_bench.py COMMAND --help).",
    )
    p.add_argument("--methods", required=True, help="comma-separated method names (see `list methods`)")
    p.add_argument("--datasets", required=True, help="comma-separated: olympics, hmdb51, ucf101, kinetics")
    p.add_argument("--protocol", help="protocol name (default: random-50-50; kinetics-zsar for kinetics); also e2e10, "
                                      "and k400-full / k400-e2e10 (train on Kinetics-400 minus overlapping classes) "
                                      "for hmdb51 and ucf101; see `list protocols`")
    p.add_argument("--split-file", help="your own folds in the split-file format (validated like the built-ins)")
    p.add_argument("--exclude-overlap", metavar="PRETRAIN", choices=["k400"],
                   help="drop target classes that overlap these pre-training classes (k400: Kinetics-400; "
                        "see reports/overlap_k400_<dataset>.md); the protocol gets a '-no-k400' suffix")
    p.add_argument("--gzsl", action="store_true",
                   help="generalised ZSL instead of ZSL: 20%% of each seen class's clips held out, the model fit on "
                        "the rest, held-out seen + unseen clips classified among seen + unseen classes (Xian et al.); "
                        "recorded and reported separately")
    p.add_argument("--fewshot", metavar="K[,K...]",
                   help="few-shot instead of ZSL, one evaluation mode per K (mode fewshot-K, recorded and reported in "
                        "a few-shot table of its own): fit on K clips of each test (unseen) class of a fold, classify "
                        "the rest of their clips among those classes; a K that would leave a class fewer than 5 clips "
                        "to evaluate is skipped for that fold with a note; each seed is another draw of the K clips; "
                        "e.g. --fewshot 1,2,5,100 (ER's Table 5); not with --gzsl")
    p.add_argument("--folds", help="fold numbers, e.g. 0-9 or 0,3 (default: all)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default %(default)s)")
    p.add_argument("--features", default="synthetic", help="feature set name (default %(default)s)")
    p.add_argument("--method-args", action="append", default=[], metavar="METHOD.KEY=VALUE",
                   help="override a method hyperparameter; repeat or comma-separate")
    p.add_argument("--descriptions", help="class descriptions file: ER's JSON ([{word, defn}]) or the project's TSV")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda[:N]")
    p.add_argument("--jobs", type=int, default=1, help="worker processes per method (default 1); every run's fit and score happen in a worker "
                        "that serves one method, and metrics are computed in this process")
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
    p = argparse.ArgumentParser(prog="run_bench.py fidelity",
                                description="Rewrite docs/fidelity.md from every method's `fidelity` record "
                                            "(published ingredient, our choice, same or differs, why, source).")
    p.add_argument("--out", type=Path, default=Path("docs") / "fidelity.md", help="where to write (default %(default)s)")
    p.add_argument("--check", action="store_true", help="exit 1 if the file differs from the code instead of writing")
    ps["fidelity"] = p
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
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow a gensim .kv file (a Python pickle: it can run code) for --vectors; only for files you trust")
    p.add_argument("--format", choices=["text", "json"], default="text")
    _common(p)
    ps["wv-coverage"] = p
    p = argparse.ArgumentParser(
        prog="run_bench.py convert-vectors",
        description="Convert word vectors once to word2vec text (or binary, for an output ending in .bin), a format "
                    "that cannot run code; use the output wherever vectors are given (semantic=OUT, --vectors OUT).")
    p.add_argument("source", help="the vectors: a gensim .kv file (needs --trust-pickle), .bin, .txt or fasttext:PATH")
    p.add_argument("output", help="where to write them, e.g. vectors.txt")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow unpickling a gensim .kv source (a pickle can run code: only for files you trust)")
    ps["convert-vectors"] = p
    return ps


def _check_name(name: str, what: str) -> None:
    from .paths import InvalidNameError, check_name

    try:
        check_name(name, what)
    except InvalidNameError as e:
        raise UsageError(str(e)) from None


DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def check_device(device: str, option: str = "--device") -> str:
    """``device`` if it is auto, cpu, cuda or cuda:N; a UsageError listing them otherwise."""
    if not DEVICE_RE.match(device or ""):
        raise UsageError(f"{option} {device!r} is not a device; use auto (CUDA when present), cpu, cuda or cuda:N "
                         "(N = GPU index, e.g. cuda:0)")
    return device


def _parse_seeds(raw: str) -> list[int]:
    seeds = []
    for part in raw.split(","):
        part = part.strip()
        if not re.fullmatch(r"\d+", part):
            what = "an empty seed" if not part else f"{part!r} is not a seed"
            raise UsageError(f"--seeds {raw!r}: {what}; give whole numbers 0 or more, comma-separated, e.g. --seeds 0 "
                             "or --seeds 0,1,2")
        seeds.append(int(part))
    return seeds


def _parse_fewshot(raw: Optional[str], gzsl: bool) -> list[str]:
    """The evaluation modes asked for: ["zsl"], ["gzsl"] or one "fewshot-K" per K of ``--fewshot``."""
    if raw is None:
        return ["gzsl" if gzsl else "zsl"]
    if gzsl:
        raise UsageError("--fewshot and --gzsl are two different evaluation modes; pass one of them (run the command "
                         "twice for both)")
    ks = []
    for part in raw.split(","):
        part = part.strip()
        if not re.fullmatch(r"[0-9]+", part) or int(part) < 1:
            what = "an empty K" if not part else f"{part!r} is not a positive whole number"
            raise UsageError(f"--fewshot {raw!r}: {what}; give clips per class, comma-separated, e.g. --fewshot 1,2,5")
        if int(part) not in ks:
            ks.append(int(part))
    return [f"fewshot-{k}" for k in ks]


def _split_csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


# a comma separates two overrides only where METHOD.KEY= follows it: values may contain commas
_ARG_SEP = re.compile(r",(?=\s*[A-Za-z0-9][\w+-]*\.[A-Za-z_]\w*\s*=)")


def parse_method_args(items: list[str], methods: list[str]) -> dict[str, dict[str, str]]:
    """``["label.lr=1e-3,er.epochs=5"]`` -> {method: {key: raw value}}. Items split on commas followed by
    ``METHOD.KEY=`` only, so ``label.text_style=a video of {name}, outdoors`` keeps its comma."""
    out: dict[str, dict[str, str]] = {m: {} for m in methods}
    for item in items:
        for part in (x.strip() for x in _ARG_SEP.split(item)):
            if not part:
                continue
            if "=" not in part or "." not in part.split("=", 1)[0]:
                raise UsageError(f"--method-args {part!r}: expected METHOD.KEY=VALUE, e.g. label.lr=1e-3")
            lhs, value = part.split("=", 1)
            m, key = (x.strip() for x in lhs.split(".", 1))
            if m not in out:
                raise UsageError(f"--method-args {part!r}: method {m!r} is not among --methods ({', '.join(methods)})")
            out[m][key] = value
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from .datasets import DATASETS
    from .method import METHODS, build_method
    from .plugins import load_plugins
    from .records import RecordsError, RecordStore
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
    # every usage error before any run (and before any feature set is generated or loaded)
    seeds = _parse_seeds(args.seeds)
    modes = _parse_fewshot(args.fewshot, args.gzsl)
    from .runner import check_method_mode

    for m in methods:  # Method.modes: a few-shot-only method cannot run zsl, and so on
        try:
            check_method_mode(m, modes[0])  # every K is one kind, fewshot
        except ValueError as e:
            raise UsageError(str(e)) from None
    check_device(args.device)
    if args.protocol and args.split_file:
        raise UsageError(f"--protocol {args.protocol} and --split-file {args.split_file} both choose the folds; pass "
                         "one of them (a split file names its own protocol)")
    from .splits import SplitError, check_folds_spec

    try:
        check_folds_spec(args.folds)
    except SplitError as e:
        raise UsageError(str(e)) from None
    _check_name(args.features, "feature set")
    from .paths import DataRootError, check_data_root

    try:
        check_data_root()
    except DataRootError as e:
        raise UsageError(str(e)) from None
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
        if args.gzsl and protocol.train_dataset not in (None, d):
            raise UsageError(f"--gzsl needs seen and unseen classes from one dataset; {d}/{protocol.protocol} trains "
                             f"on {protocol.train_dataset}: drop --gzsl or choose another protocol")
        for mode in modes:
            for fold in parse_folds(args.folds, protocol):
                for seed in seeds:
                    for m in methods:
                        specs.append(RunSpec(m, margs[m], d, args.features, protocol, fold, seed, device=args.device,
                                             descriptions=descriptions, descriptions_source=desc_source,
                                             progress=not args.no_progress, mode=mode))
    from .trainer import resolve_device

    try:
        device = resolve_device(args.device)
    except RuntimeError as e:
        raise UsageError(str(e)) from None
    for s in specs:
        s.device = device
    store = RecordStore(args.records)
    reports_dir = None if args.no_report else reports_dir_for(args.records, args.reports_dir)
    try:  # before anything is trained: a result that cannot be recorded is lost
        store.check_writable(rewrite=args.overwrite)
    except RecordsError as e:
        raise UsageError(str(e)) from None
    if reports_dir is not None:
        check_reports_dir(reports_dir)
    t0 = time.perf_counter()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    try:
        records, _ = run_specs(specs, store, jobs=args.jobs, overwrite=args.overwrite, log=log,
                               threads=max(1, args.threads))
    except RecordsError as e:
        raise UsageError(str(e)) from None
    log(f"done in {time.perf_counter() - t0:.1f}s; records in {store.path}")
    for _, md in render_table(summarise(records)):
        print()
        print(md)
    if reports_dir is not None:
        write_reports(store.read(), reports_dir, source=str(store.path))
        log(f"reports regenerated in {reports_dir}/")
    return 0


def _same_path(a, b) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def reports_dir_for(records: str | Path, reports_dir: Optional[str]) -> Path:
    """Where the reports of a records file go: ``--reports-dir`` when given; ``reports/`` for the default
    ``results/records.jsonl``; otherwise ``reports/`` next to the records file (``<stem>-reports/`` where
    that would be the committed ``reports/``), so a trial ``--records`` never rewrites the committed
    leaderboards."""
    from .paths import REPO_ROOT

    if reports_dir:
        return Path(reports_dir)
    rec = Path(records)
    for root in (Path("."), REPO_ROOT):
        if _same_path(rec, root / DEFAULT_RECORDS):
            return root / DEFAULT_REPORTS
    out = rec.parent / "reports"
    if any(_same_path(out, root / DEFAULT_REPORTS) for root in (Path("."), REPO_ROOT)):
        out = rec.parent / f"{rec.stem}-reports"
    return out


def check_reports_dir(path: Path) -> None:
    """A usage error unless ``path`` is, or can be made, a writable folder (nothing is created here)."""
    import os

    if path.exists() and not path.is_dir():
        raise UsageError(f"--reports-dir {path} is a file, not a folder; pass a folder (created if missing)")
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"reports folder {path} cannot be created: {probe} is a file; pass --reports-dir FOLDER")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"reports folder {path} is not writable ({probe}); pass --reports-dir a writable folder")


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
    from .datasets import DATASETS
    from .splits import load_protocol

    if args.dataset not in DATASETS:
        raise UsageError(DATASETS.unknown_message(args.dataset))
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
    if not store.path.is_file():
        what = "is a folder, not a records file" if store.path.is_dir() else "does not exist"
        raise UsageError(f"records file {store.path} {what}; pass --records PATH.jsonl (default {DEFAULT_RECORDS}) "
                         "or run the benchmark first")
    reports_dir = reports_dir_for(args.records, args.reports_dir)
    check_reports_dir(reports_dir)
    written = write_reports(store.read(), reports_dir, source=str(store.path))
    for w in written:
        print(w)
    return 0


def cmd_fidelity(args: argparse.Namespace) -> int:
    from .fidelity import render, write

    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != render():
            print(f"{args.out} is out of date: run `python run_bench.py fidelity`", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    print(write(args.out))
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

    for d in args.datasets:
        if d not in DATASETS:
            raise UsageError(DATASETS.unknown_message(d))
    kv = load_word_vectors(args.vectors, trust_pickle=args.trust_pickle)
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


def cmd_convert_vectors(args: argparse.Namespace) -> int:
    from .text.wordvectors import convert_vectors

    out = convert_vectors(args.source, args.output, trust_pickle=args.trust_pickle)
    print(f"wrote {out} (word2vec {'binary' if out.suffix.lower() == '.bin' else 'text'}); use it as "
          f"semantic={out} or --vectors {out}")
    return 0


HANDLERS = {"list": cmd_list, "splits": cmd_splits, "report": cmd_report, "fidelity": cmd_fidelity, "texts": cmd_texts,
            "wv-coverage": cmd_wv_coverage, "convert-vectors": cmd_convert_vectors}


def unknown_command_message(word: str) -> str:
    import difflib

    close = difflib.get_close_matches(word, COMMANDS, n=2, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return (f"unknown command {word!r}.{hint} Commands: {', '.join(COMMANDS)}; or run methods with "
            "run_bench.py --methods M --datasets D (run_bench.py --help)")


def main(argv: Optional[list[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
            raise UsageError(unknown_command_message(argv[0]))
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
    except BrokenPipeError:  # `... | head`: the reader left early; not worth a traceback
        import os

        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit must not fail again
        except (OSError, ValueError):
            pass
        return 1
    except Exception as e:  # clear messages for the errors users cause; tracebacks for bugs
        from .features import FeatureStoreError
        from .method import ParamError
        from .paths import DataRootError, InvalidNameError
        from .registry import RegistryError
        from .splits import SplitError
        from .text.styles import TextStyleError
        from .text.wordvectors import WordVectorError

        known = (FeatureStoreError, RegistryError, SplitError, ParamError, DataRootError, InvalidNameError,
                 TextStyleError, WordVectorError)
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
