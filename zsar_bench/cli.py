"""Command line: ``python run_bench.py`` and the ``zsar-bench`` console script are this module.

    run_bench.py --methods label --datasets hmdb51 [--protocol P] [--folds 0-9] [--seeds 0,1] ...
    run_bench.py --config configs/lr_sweep.yaml [--folds 0] ...   a sweep: methods x parameter grids (planning.py)
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
import sys
import time
from pathlib import Path
from typing import Optional

from .planning import DEVICE_RE  # noqa: F401  (features_cli checks --device with it)

COMMANDS = ("list", "splits", "report", "compare", "fidelity", "texts", "wv-coverage", "convert-vectors", "import-features",
            "extract-features", "overlap")
COMMAND_HELP = {
    "list": "list methods, datasets, protocols or feature sets",
    "splits": "print a protocol's folds (official class identifiers)",
    "report": "regenerate reports/ from the records (Markdown, CSV, LaTeX, HTML)",
    "compare": "paired comparison of two methods over folds: difference, 95% CI, Wilcoxon and t p-values",
    "fidelity": "rewrite docs/fidelity.md from every method's fidelity record",
    "texts": "print a dataset's class texts in a text style",
    "wv-coverage": "word-vector coverage of each dataset's class names",
    "convert-vectors": "convert pickled gensim vectors to word2vec text, once",
    "import-features": "import real features (ER's release layout, a matrix + index, a Hugging Face dataset)",
    "extract-features": "extract TSM + BiT features and concepts from videos",
    "overlap": "list target classes that overlap a pre-training class set",
}
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
        epilog="other commands (run_bench.py COMMAND --help):\n" + "\n".join(
            f"  {c:<18}{COMMAND_HELP.get(c, '')}" for c in COMMANDS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--methods", help="comma-separated method names (see `list methods`); required unless --config")
    p.add_argument("--datasets", help="comma-separated: olympics, hmdb51, ucf101, kinetics; required unless --config")
    p.add_argument("--save-scores", nargs="?", const="", default=None, metavar="DIR",
                   help="write each run's test score matrix (video ids, class ids, scores) as Parquet, keyed like its "
                        "record (default DIR: scores/ next to the records file); `report --per-class` reads them")
    p.add_argument("--config", metavar="FILE.yaml",
                   help="a sweep: methods with parameter grids (each point is a configuration, keyed like the same "
                        "--method-args), datasets, protocols, folds, seeds, mode and any option below under its name "
                        "(e.g. configs/er_ablations.yaml); options given on the command line override the file's; "
                        "not with --methods or --method-args")
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
    p.add_argument("--jobs", type=int, default=None,
                   help="runs at once: worker processes per method (--executor local), jobs running at once "
                        "(submitit-local) or submitted at once (slurm, ray); default: this machine's cores for local "
                        "and submitit-local, no limit for slurm and ray. Every run's fit and score happen in a worker "
                        "or job that serves one method; metrics are computed and recorded in this process")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads per process (default 1: the models are small, and oversubscribed "
                        "threads on a shared CPU cost 10x; use --jobs for parallelism); every worker and job sets it")
    p.add_argument("--executor", default=None, choices=["local", "inline", "submitit-local", "slurm", "ray"],
                   help="where runs are fit and scored (default local): local = --jobs spawned worker processes per "
                        "method; inline = this process (debugging); slurm = submitit jobs on Slurm (needs "
                        "--slurm-partition and --slurm-time; data root and records on shared storage); "
                        "submitit-local = the same jobs as processes on this machine (submitit's local cluster: "
                        "tries the slurm path without a cluster); ray = Ray tasks (pip install 'zsar-bench[ray]'). "
                        "Submitit sweeps are restart-safe: rerun the same command after the driver died and it "
                        "collects the jobs that finished meanwhile and resubmits only what is missing")
    p.add_argument("--runs-per-job", type=int, default=None, metavar="N",
                   help="runs batched into one job (default: ceil(target / t), t = the method's median train_s + "
                        "eval_s on that dataset in the records, target 60 s for slurm/submitit-local and 30 s for "
                        "ray, 1 run per job for local/inline or when no record gives t; at most half --slurm-time)")
    p.add_argument("--jobs-dir", default=None, metavar="DIR",
                   help="submitit: job folders, logs and the restart state (default: RECORDS.jobs/ beside the records)")
    p.add_argument("--slurm-partition", metavar="P", help="--executor slurm: the partition")
    p.add_argument("--slurm-time", type=int, metavar="MINUTES", help="--executor slurm: each job's time limit")
    p.add_argument("--slurm-gpus", type=int, metavar="N", help="--executor slurm: GPUs per job (default 0)")
    p.add_argument("--slurm-cpus", type=int, metavar="N", help="--executor slurm: CPUs per job (default --threads)")
    p.add_argument("--slurm-mem", type=float, metavar="GB", help="--executor slurm: memory per job")
    p.add_argument("--ray-address", metavar="ADDR",
                   help="--executor ray: a running cluster (e.g. ray://head:10001 or auto; default: start a local one)")
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
    p.add_argument("--format", choices=["all", "markdown", "html", "latex"], default="all",
                   help="all (default): Markdown + CSV, html/ (static site) and latex/ (booktabs tables); markdown: "
                        "Markdown + CSV only; html: html/ only; latex: latex/<dataset>.tex only")
    p.add_argument("--per-class", metavar="METHOD",
                   help="instead of the leaderboards: METHOD's per-class top-1 over the folds where each class was a "
                        "test class, and its most confused class pairs, from the scores saved by --save-scores")
    p.add_argument("--dataset", help="with --per-class: the dataset")
    p.add_argument("--protocol", help="with --per-class: the protocol (default: the dataset's default)")
    p.add_argument("--mode", default="zsl", help="with --per-class: zsl (default), gzsl or fewshot-K")
    p.add_argument("--scores-dir", type=Path, help="with --per-class: where the scores are (default: scores/ next to "
                                                   "the records file)")
    _common(p)
    ps["report"] = p
    p = argparse.ArgumentParser(prog="run_bench.py compare",
                                description="Paired comparison of two methods over the (fold, seed) runs both have: "
                                            "mean difference A - B with its 95%% t interval, Wilcoxon signed-rank and "
                                            "paired t p-values, wins / ties / losses.")
    p.add_argument("a", help="method A (a method name in the records)")
    p.add_argument("b", help="method B")
    p.add_argument("--dataset", required=True)
    p.add_argument("--protocol", help="default: the dataset's default protocol")
    p.add_argument("--features-id", help="feature set identity (default: the one both methods have most runs on)")
    p.add_argument("--mode", default="zsl", help="zsl (default), gzsl or fewshot-K")
    p.add_argument("--metric", default=None, help="top1 (default; gzsl_h for --mode gzsl), top5, mean_class_acc, ...")
    _common(p)
    ps["compare"] = p
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


def _planned(fn, *a, **kw):
    """Call a planning function; its PlanError is a usage error here."""
    from .planning import PlanError

    try:
        return fn(*a, **kw)
    except PlanError as e:
        raise UsageError(str(e)) from None


def check_device(device: str, option: str = "--device") -> str:
    """``device`` if it is auto, cpu, cuda or cuda:N; a UsageError listing them otherwise."""
    from . import planning

    return _planned(planning.check_device, device, option)


def _parse_seeds(raw: str) -> list[int]:
    from . import planning

    return _planned(planning.parse_seeds, raw)


def _parse_fewshot(raw: Optional[str], gzsl: bool) -> list[str]:
    """The evaluation modes asked for: ["zsl"], ["gzsl"] or one "fewshot-K" per K of ``--fewshot``."""
    from . import planning

    return _planned(planning.parse_fewshot, raw, gzsl)


def _split_csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def parse_method_args(items: list[str], methods: list[str]) -> dict[str, dict[str, str]]:
    """``["label.lr=1e-3,er.epochs=5"]`` -> {method: {key: raw value}}. Items split on commas followed by
    ``METHOD.KEY=`` only, so ``label.text_style=a video of {name}, outdoors`` keeps its comma."""
    from . import planning

    return _planned(planning.parse_method_args, items, methods)


def _apply_config(args: argparse.Namespace):
    """Read ``--config`` (``planning.load_config``) into ``args``: the file's values for every option not given
    on the command line (an option given there, i.e. not at its default, overrides the file's). Returns the
    config (its ``methods`` entries and ``mode``)."""
    from . import planning

    given = [opt for opt, dest in (("--methods", "methods"), ("--method-args", "method_args")) if getattr(args, dest)]
    if given:
        raise UsageError(f"{' and '.join(given)} cannot be combined with --config {args.config}: the file's `methods:` "
                         "names the methods and their parameter grids; edit it (or drop --config)")
    parser = run_parser()
    cfg = _planned(planning.load_config, args.config, parser)
    for dest, value in cfg.options.items():
        if getattr(args, dest, None) == parser.get_default(dest):
            setattr(args, dest, value)
    if cfg.options.get("data_root") and args.data_root == cfg.options["data_root"]:
        from .paths import set_data_root

        set_data_root(args.data_root)
    return cfg


def cmd_run(args: argparse.Namespace) -> int:
    """The run command: options (and ``--config``) -> ``planning.plan_runs`` -> ``runner.run_specs`` -> tables."""
    from .planning import plan_runs
    from .records import RecordsError, RecordStore
    from .reports import render_table, summarise, write_reports
    from .runner import run_specs

    import torch

    from threadpoolctl import threadpool_limits

    cfg = _apply_config(args) if args.config else None
    if cfg is None and not (args.methods and args.datasets):
        missing = ", ".join(o for o, v in (("--methods", args.methods), ("--datasets", args.datasets)) if not v)
        raise UsageError(f"the following arguments are required: {missing} (or --config FILE.yaml)")
    torch.set_num_threads(max(1, args.threads))
    threadpool_limits(max(1, args.threads))  # numpy/scipy BLAS too (closed-form methods)
    # every usage error before any run (and before any feature set is generated or loaded)
    specs = _planned(plan_runs, cfg.methods if cfg else args.methods, args.datasets, protocol=args.protocol,
                     split_file=args.split_file, folds=args.folds, seeds=args.seeds, features=args.features,
                     method_args=None if cfg else args.method_args, mode=cfg.mode if cfg else None, gzsl=args.gzsl,
                     fewshot=args.fewshot, descriptions=args.descriptions, exclude_overlap=args.exclude_overlap,
                     device=args.device, progress=not args.no_progress,
                     save_scores=str(_scores_dir(args)) if args.save_scores is not None else None)
    if cfg is not None:
        n_conf = len({(m, json.dumps(a, sort_keys=True, default=str)) for m, a in cfg.methods})
        print(f"config {args.config}: {n_conf} method configuration(s), {len(specs)} run(s) planned",
              file=sys.stderr, flush=True)
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
        from .executors import ExecutorConfig, ExecutorError

        records, _ = run_specs(specs, store, jobs=args.jobs, overwrite=args.overwrite, log=log,
                               threads=max(1, args.threads), executor=ExecutorConfig.from_args(args),
                               device_request=args.device)
    except (RecordsError, ExecutorError) as e:
        raise UsageError(str(e)) from None
    log(f"done in {time.perf_counter() - t0:.1f}s; records in {store.path}")
    for _, md in render_table(summarise(records, partial=True)):  # this run's folds, even if not all
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
    if getattr(args, "per_class", None):
        return _per_class_report(args, store)
    reports_dir = reports_dir_for(args.records, args.reports_dir)
    check_reports_dir(reports_dir)
    fmt = getattr(args, "format", "all")
    if fmt in ("all", "markdown"):
        written = write_reports(store.read(), reports_dir, source=str(store.path), html=fmt == "all",
                                latex=fmt == "all")
    else:  # one format alone, from the same summary
        from .records import dedupe
        from .reports import summarise

        records = dedupe(store.read())[0]
        if fmt == "html":
            from .html_report import write_html

            from .scores import default_scores_dir

            written = write_html(records, summarise(records), reports_dir,
                                 scores_dir=default_scores_dir(store.path))
        else:
            from .latex_report import write_latex

            written = write_latex(summarise(records), reports_dir)
    for w in written:
        print(w)
    return 0


def _scores_dir(args: argparse.Namespace) -> Path:
    """--save-scores [DIR]: the folder given, or scores/ next to the records file."""
    from .scores import default_scores_dir

    return Path(args.save_scores) if args.save_scores else default_scores_dir(args.records)


def _per_class_report(args: argparse.Namespace, store) -> int:
    from tabulate import tabulate

    from .scores import default_scores_dir, per_class
    from .splits import default_protocol

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
    from .records import RecordStore
    from .reports import primary_metric, records_frame
    from .splits import default_protocol
    from .stats import aligned, paired

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


HANDLERS = {"list": cmd_list, "splits": cmd_splits, "report": cmd_report, "compare": cmd_compare, "fidelity": cmd_fidelity, "texts": cmd_texts,
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
