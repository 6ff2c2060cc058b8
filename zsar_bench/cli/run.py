"""The main command: run methods over the folds of protocols (``run_bench.py --methods M --datasets D``),
or a sweep from a config file (``--config FILE.yaml``)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional

from ..datasets import dataset_names, default_protocols
from ..errors import ZsarBenchError
from ..paths import set_data_root
from ..reports import write_reports
from ..reports.stamp import cached_text, reports_up_to_date
from ..results.records import RecordsError, RecordStore, record_key
from ..running import planning, rerun
from ..running.method_facts import sandboxed
from ..running.planning import plan_runs
from ..running.sweep import RunsFailedError, run_specs
from .commands import COMMAND_HELP, COMMANDS
from .common import UsageError, _planned, _scores_dir, check_reports_dir, common_options, reports_dir_for


def run_parser() -> argparse.ArgumentParser:
    """The run command's options (``--config`` files may set them too, under their names)."""
    p = argparse.ArgumentParser(
        prog="run_bench.py",
        description="Run zero-shot action recognition methods over every fold of a protocol, append the "
                    "records, print a mean ± std table and regenerate reports/.",
        epilog="other commands (run_bench.py COMMAND --help):\n" + "\n".join(
            f"  {c:<18}{COMMAND_HELP.get(c, '')}" for c in COMMANDS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_selection(p)
    _add_evaluation_options(p)
    _add_execution_options(p)
    p.add_argument("--overwrite", action="store_true", help="redo runs that already have records")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--no-report", action="store_true", help="do not regenerate reports/ after the run")
    p.add_argument("--dry-run", action="store_true",
                   help="plan only: say how many runs are not recorded yet (and which), run and write nothing")
    common_options(p)
    return p


def _add_run_selection(p: argparse.ArgumentParser) -> None:
    """What to run: methods and datasets, or a config file; where test scores go."""
    p.add_argument("--methods", help="comma-separated method names (see `list methods`); required unless --config")
    p.add_argument("--datasets", help=f"comma-separated: {dataset_names()}; required unless --config")
    p.add_argument("--save-scores", nargs="?", const="", default=None, metavar="DIR",
                   help="write each run's test score matrix (video ids, class ids, scores) as Parquet, keyed like its "
                        "record (default DIR: scores/ next to the records file); `report --per-class` reads them")
    p.add_argument("--config", metavar="FILE.yaml",
                   help="a sweep: methods with parameter grids (each point is a configuration, keyed like the same "
                        "--method-args), datasets, protocols, folds, seeds, mode and any option below under its name "
                        "(e.g. configs/er_ablations.yaml); options given on the command line override the file's; "
                        "not with --methods or --method-args")


def _add_evaluation_options(p: argparse.ArgumentParser) -> None:
    """How runs are evaluated: protocol or split file, overlap exclusion, mode, folds, seeds, features,
    method parameters and class descriptions."""
    p.add_argument("--protocol", help=f"protocol name (default: {default_protocols()}); also e2e10, "
                                      "and k400-full / k400-e2e10 (train on Kinetics-400 minus overlapping classes) "
                                      "for hmdb51 and ucf101; see `list protocols`")
    p.add_argument("--split-file", help="your own folds in the split-file format (validated like the built-ins)")
    p.add_argument("--exclude-overlap", metavar="PRETRAIN",
                   help="drop target classes that overlap these pre-training classes: k400 (Kinetics-400, built in; "
                        "see reports/overlap_k400_<dataset>.md) or any name with --pretrain-names FILE (e.g. clip); "
                        "the protocol gets a '-no-PRETRAIN' suffix and its own hash")
    p.add_argument("--pretrain-names", metavar="FILE",
                   help="with --exclude-overlap: the pre-training class names, one per line (or id<TAB>name), e.g. "
                        "CLIP's vocabulary or your Kinetics-400 list; nothing is downloaded")
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


def _add_execution_options(p: argparse.ArgumentParser) -> None:
    """Where and how runs execute: device, parallelism, executor and its cluster settings."""
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda[:N]")
    p.add_argument("--jobs", type=int, default=None,
                   help="runs at once: worker processes per method (--executor local), jobs running at once "
                        "(submitit-local) or submitted at once (slurm, ray); default: this machine's cores for local "
                        "and submitit-local, no limit for slurm and ray. Every run's fit and score happen in a worker "
                        "or job that serves one method; metrics are computed and recorded in this process")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads per process (default 1: the models are small, and oversubscribed "
                        "threads on a shared CPU cost 10x; use --jobs for parallelism); every worker and job sets it")
    p.add_argument("--executor", default=None, choices=["local", "sandbox", "inline", "submitit-local", "slurm", "ray"],
                   help="where runs are fit and scored (default local): local = --jobs spawned worker processes per "
                        "method; sandbox = the same, each worker in a bubblewrap sandbox (read-only file system, no "
                        "network, no data root: for plugins you do not trust; needs bwrap); "
                        "inline = this process (debugging); slurm = submitit jobs on Slurm (needs "
                        "--slurm-partition and --slurm-time; data root and records on shared storage); "
                        "submitit-local = the same jobs as processes on this machine (submitit's local cluster: "
                        "tries the slurm path without a cluster); ray = Ray tasks (pip install 'zsar-bench[ray]'). "
                        "Submitit sweeps are restart-safe: rerun the same command after the driver died and it "
                        "collects the jobs that finished meanwhile and resubmits only what is missing")
    p.add_argument("--run-timeout", type=float, default=None, metavar="SECONDS",
                   help="each run's wall-clock limit (fit and score; default: none); a run past it is recorded as "
                        "that run's failure (in RECORDS.failures.jsonl, not in the records) and the sweep goes on")
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


def _apply_config(args: argparse.Namespace):
    """Read ``--config`` (``planning.load_config``) into ``args``: the file's values for every option not given
    on the command line (an option given there, i.e. not at its default, overrides the file's). Returns the
    config (its ``methods`` entries and ``mode``)."""
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
        set_data_root(args.data_root)
    return cfg


def _tables(records: list[dict]) -> str:
    """The tables printed after a run: this run's records, partial folds marked."""
    from ..reports import render_table, summarise

    return "".join(f"\n{md}\n" for _, md in render_table(summarise(records, partial=True)))


def _refresh_reports(records: Path, reports_dir: Optional[Path], log) -> None:
    """Regenerate ``reports_dir`` from the records file, unless it was generated from that file as it is now by
    this code (``reports.stamp``: a new record changes the file, so it is never skipped then)."""
    if reports_dir is None:
        return
    if reports_up_to_date(str(records), reports_dir):
        log(f"reports in {reports_dir}/ are up to date")
        return

    store = RecordStore(records)
    write_reports(store.read(), reports_dir, source=str(store.path))
    log(f"reports regenerated in {reports_dir}/")


def cmd_run(args: argparse.Namespace) -> int:
    """The run command: options (and ``--config``) -> ``planning.plan_runs`` -> ``sweep.run_specs`` -> tables."""
    if not args.config and not (args.methods and args.datasets):
        missing = ", ".join(o for o, v in (("--methods", args.methods), ("--datasets", args.datasets)) if not v)
        raise UsageError(f"the following arguments are required: {missing} (or --config FILE.yaml)")
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    digest = rerun.request_digest(args)
    done = rerun.recorded(digest, Path(args.records))
    if done is not None:  # the same request again, every run recorded: nothing to plan, build or import
        print(cached_text(done, lambda: _tables(done)), end="")
        _refresh_reports(Path(args.records), None if args.no_report else reports_dir_for(args.records, args.reports_dir),
                         log)
        log(f"all {len(done)} run(s) already in {args.records} (use --overwrite to redo them)")
        return 0

    with sandboxed(args.executor == "sandbox"):  # plugin code answers planning's questions in a sandbox too
        cfg = _apply_config(args) if args.config else None
        with sandboxed(args.executor == "sandbox"):  # (as the config file may choose it)
            return _run_planned(args, cfg, digest, log)


def _run_planned(args: argparse.Namespace, cfg, digest: str, log) -> int:
    """``cmd_run`` once the request is known to need running."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(max(1, args.threads))
    threadpool_limits(max(1, args.threads))  # numpy/scipy BLAS too (closed-form methods)
    specs = _plan(args, cfg)
    store, reports_dir = _checked_outputs(args)
    failed: Optional[RunsFailedError] = None
    try:
        records = _execute(args, specs, store, log)
    except RunsFailedError as e:  # the other runs were recorded: their tables and reports, then the one line
        records, failed = e.records, e
    if args.dry_run:
        return 0
    if failed is None:  # a request with failed runs is not remembered as done: its rerun runs them
        rerun.remember(digest, [record_key(r) for r in records])
    print(cached_text(records, lambda: _tables(records)), end="")  # this run's folds, even if not all
    _refresh_reports(store.path, reports_dir, log)
    if failed is not None:
        raise failed
    return 0


def _plan(args: argparse.Namespace, cfg) -> list:
    """``planning.plan_runs`` over the options (and ``cfg``, the ``--config`` file): every usage error before
    any run (and before any feature set is generated or loaded)."""
    specs = _planned(plan_runs, cfg.methods if cfg else args.methods, args.datasets, protocol=args.protocol,
                     split_file=args.split_file, folds=args.folds, seeds=args.seeds, features=args.features,
                     method_args=None if cfg else args.method_args, mode=cfg.mode if cfg else None, gzsl=args.gzsl,
                     fewshot=args.fewshot, descriptions=args.descriptions, exclude_overlap=args.exclude_overlap,
                     pretrain_names=args.pretrain_names,
                     device=args.device, progress=not args.no_progress,
                     save_scores=str(_scores_dir(args)) if args.save_scores is not None else None,
                     in_process=args.executor == "inline")
    if cfg is not None:
        n_conf = len({(m, json.dumps(a, sort_keys=True, default=str)) for m, a in cfg.methods})
        print(f"config {args.config}: {n_conf} method configuration(s), {len(specs)} run(s) planned",
              file=sys.stderr, flush=True)
    return specs


def _checked_outputs(args: argparse.Namespace):
    """(records store, reports folder or None), both checked writable, and the --save-scores folder."""
    store = RecordStore(args.records)
    reports_dir = None if args.no_report else reports_dir_for(args.records, args.reports_dir)
    try:  # before anything is trained: a result that cannot be recorded (or its scores or reports) is lost
        store.check_writable(rewrite=args.overwrite)  # RecordsError
        if args.save_scores is not None:
            from ..results.scores import check_scores_dir

            check_scores_dir(_scores_dir(args))  # ScoresError
        if reports_dir is not None:
            from ..reports.write import check_reports_writable

            check_reports_dir(reports_dir)
            check_reports_writable(reports_dir)  # ReportsDirError
    except UsageError:
        raise
    except ZsarBenchError as e:
        raise UsageError(str(e)) from None
    return store, reports_dir


def _execute(args: argparse.Namespace, specs: list, store, log) -> list[dict]:
    """``sweep.run_specs`` on the chosen executor, timed; the records of this run. Records and executor errors
    are usage errors."""
    t0 = time.perf_counter()
    try:
        from ..running.executors import ExecutorConfig, ExecutorError

        records, _ = run_specs(specs, store, jobs=args.jobs, overwrite=args.overwrite, log=log,
                               threads=max(1, args.threads), executor=ExecutorConfig.from_args(args),
                               device_request=args.device, dry_run=args.dry_run)
    except (RecordsError, ExecutorError) as e:
        raise UsageError(str(e)) from None
    if not args.dry_run:
        log(f"done in {time.perf_counter() - t0:.1f}s; records in {store.path}")
    return records
