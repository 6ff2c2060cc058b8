"""The Python API: ``evaluate`` runs methods over protocols like ``run_bench.py`` does and returns ``Results``;
``load_results`` reads a records file into the same object.

    import zsar_bench
    res = zsar_bench.evaluate(["label", "eszsl"], ["olympics"], folds="0-1")
    res.df          # one row per run (pandas); top1 etc. as recorded (fractions), top1_pct etc. in %
    res.table()     # the leaderboard summary (mean ± std over folds × seeds, in %: top1_mean, top1_std, ...)
    print(res.markdown())

Runs are planned by ``planning.plan_runs``, the function behind the command line, so a run asked for here
has the same record key (config hash included) as the same run asked for on the command line, and
``records=PATH`` resumes from, and appends to, the same files.

Methods not registered (a ``Method`` subclass or instance defined in a notebook) are registered under their
``name`` (or class name) for the duration of the call and run **in this process**: the isolated worker
processes that run registered methods are started fresh (spawn) and find methods by importing plugins by
name, so they cannot see a class defined in a notebook or ``__main__``. Such runs are said loudly, their records
are marked ``in_process`` and their table rows [IN-PROCESS: not isolated]; whatever their code changed in the
harness (module functions, class attributes, function code: ``running.guard``) is put back before their metrics
are computed and when ``evaluate`` returns, so a later call is not affected. To run them isolated (or with
``jobs`` > 1), put the class in a module and register it as a plugin.
"""
from __future__ import annotations

import inspect
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence, Union

import pandas as pd

from .errors import ZsarBenchError
from .method import METHODS, Method, _validate_method
from .registry import RegistryError
from .reports import render_table, summarise, write_reports
from .results.records import RecordStore
from .running.planning import PlanError, plan_runs
from .running.guard import HarnessSnapshot, restored_warning
from .running.method_facts import describe as describe_method
from .running.method_facts import sandboxed
from .running.sweep import RunsFailedError, run_specs
from .runtime import using_threads as _threads

# the metrics of a record: fractions in [0, 1] in the records; ``Results.df`` adds each in % (``top1_pct``)
METRIC_FIELDS = ("top1", "top5", "mean_class_acc", "gzsl_unseen", "gzsl_seen", "gzsl_h")


class Results:
    """Records of runs: ``df`` (one row per run), ``table()`` (leaderboard summary), ``markdown()``, ``write_reports``.

    Units: a record holds its metrics as fractions in [0, 1] (``top1`` = 0.183); ``df`` keeps them under those
    names and adds the same numbers in percent as ``<metric>_pct`` (``top1_pct`` = 18.3), the unit of
    ``table()`` (``top1_mean``, ``top1_std``), the printed tables and the leaderboards."""

    def __init__(self, records: Iterable[dict], source: Optional[str] = None):
        self.records: list[dict] = list(records)
        self.source = source

    @property
    def df(self) -> pd.DataFrame:
        """The records as a DataFrame, one row per run (method, config hash, dataset, ..., fold, seed, mode): each
        metric as recorded, a fraction in [0, 1] (``top1``), and in percent (``top1_pct``, as ``table()``)."""
        df = pd.DataFrame(self.records)
        for m in METRIC_FIELDS:
            if m in df:
                df[f"{m}_pct"] = pd.to_numeric(df[m], errors="coerce") * 100
        return df

    def table(self, partial: bool = False) -> pd.DataFrame:
        """The leaderboard summary (``reports.summarise``): one row per (dataset, features, protocol, split, mode,
        method, config hash) with mean and sample std over folds × seeds **in percent** (``top1_mean`` = 18.3,
        where ``df``'s ``top1`` is 0.183 and ``top1_pct`` 18.3), run counts and seconds; ``config_diff`` names
        how a configuration differs from its method's defaults ("lr=0.003"; "" for the defaults).

        A row missing folds of its protocol has empty (NaN) cells, as on the leaderboards; ``partial=True``
        fills them with the mean ± std over the runs done, flags the row ``partial`` and marks it "partial n/N"
        in ``note`` (n of the protocol's N folds: ``n_folds_done``, ``n_folds``; ``n_runs`` of ``n_expected``
        runs), as ``report --partial`` does, for a quick look at a few folds. Such numbers are not the
        protocol's result."""
        return summarise(self.records, partial=partial)

    def markdown(self, published: bool = True, partial: bool = False) -> str:
        """The leaderboard tables as the command line prints them (``reports.render_table``); ``partial``: cells
        over the runs done, marked "partial n/N" (see ``table``)."""
        text = "\n\n".join(f"## {title}\n\n{md}" for title, md in
                            render_table(self.table(partial=partial), published=published))
        if partial and text:
            text = ("Partial: rows marked \"partial n/N\" show the mean ± std over the n of the protocol's N folds "
                    "that ran, not the protocol's result.\n\n" + text)
        return text

    def write_reports(self, reports_dir: Union[str, Path], partial: bool = False) -> list[Path]:
        """Write the reports into ``reports_dir`` in every format (``<dataset>.md``, ``leaderboard.csv``, ``README.md``,
        ``html/``, ``latex/``; ``reports.formats``); returns the paths. ``partial``: as ``report --partial``."""
        return write_reports(self.records, Path(reports_dir), command="zsar_bench.evaluate",
                             source=self.source or "zsar_bench.evaluate", partial=partial)

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        methods = sorted({str(r.get("method")) for r in self.records})
        datasets = sorted({str(r.get("dataset")) for r in self.records})
        return (f"Results({len(self.records)} run(s); methods: {', '.join(methods) or '-'}; datasets: "
                f"{', '.join(datasets) or '-'}" + (f"; from {self.source}" if self.source else "") + ")")

    def _repr_markdown_(self) -> str:  # notebooks
        return self.markdown() or repr(self)


def load_results(path: Union[str, Path]) -> Results:
    """``Results`` from a records JSONL (``results/records.jsonl``, ``evaluate(records=...)``): one row per run
    (a run recorded more than once counts once, its last row, with a warning). FileNotFoundError if missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"records file {path} does not exist; pass the JSONL file a run wrote "
                                "(default results/records.jsonl)")
    rows, _ = RecordStore(path).read_unique()
    return Results(rows, source=str(path))


def _method_class(obj: Any) -> Optional[type]:
    if inspect.isclass(obj) and issubclass(obj, Method):
        return obj
    if isinstance(obj, Method):
        return type(obj)
    return None


@contextmanager
def _temporary_methods(methods: Union[str, Sequence[Any]]) -> Iterator[tuple[list, set[str]]]:
    """(plan_runs entries, names registered here) with every Method class/instance among ``methods``
    registered for the block; unregistered again (and its ``name`` restored) afterwards."""
    if isinstance(methods, (str, Method)) or inspect.isclass(methods):
        methods = [methods] if not isinstance(methods, str) else methods
    if isinstance(methods, str):
        yield methods, set()
        return
    entries: list = []
    added: dict[str, tuple[type, Any]] = {}  # name -> (class, its name attribute before)
    local: set[str] = set()  # methods to run in this process
    try:
        for entry in methods:
            obj, own = entry, {}
            if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], Mapping):
                obj, own = entry[0], dict(entry[1])
            cls = _method_class(obj)
            if cls is None:
                if isinstance(obj, str) and obj in METHODS and _defined_here(METHODS.get(obj)):
                    local.add(obj)  # registered in a notebook or script: workers cannot import it either
                entries.append(entry)
                continue
            name = cls.__dict__.get("name") or cls.__name__
            if name in METHODS and METHODS.get(name) is not cls:
                raise PlanError(f"method {name!r} ({cls.__module__}.{cls.__qualname__}) has the name of a registered "
                                f"method ({METHODS.origin(name)}); give the class another `name`")
            if name not in METHODS and describe_method(name)["known"]:  # a plugin's name (asked of a worker)
                raise PlanError(f"method {name!r} ({cls.__module__}.{cls.__qualname__}) has the name of a registered "
                                "method (a plugin); give the class another `name`")
            if _defined_here(cls):
                local.add(name)
            if name not in METHODS:
                try:  # the plugin checks: parameters with defaults, stored as given, fit and score defined
                    _validate_method(name, cls)
                except RegistryError as e:
                    raise PlanError(str(e)) from None
                added[name] = (cls, cls.__dict__.get("name", None))
                cls.name = name
                METHODS.register(name, origin=f"{cls.__module__} (zsar_bench.evaluate, not registered)")(cls)
            if isinstance(obj, Method):  # an instance: its parameters are its configuration
                defaults = cls.param_defaults()
                params = {k: v for k, v in obj.get_params().items() if not _same(v, defaults.get(k))}
                own = {**params, **own}
            entries.append((name, own))
        yield entries, set(added) | local
    finally:
        for name, (cls, before) in added.items():
            METHODS.unregister(name)
            if before is None:
                try:
                    del cls.name
                except AttributeError:
                    pass
            else:
                cls.name = before


def _all_in_process(run_options: Mapping[str, Any]) -> bool:
    """Whether ``run_options`` run every method in this process (``isolate=False`` or the inline executor)."""
    ex = run_options.get("executor")
    return run_options.get("isolate") is False or getattr(ex, "kind", ex) == "inline"


def _defined_here(cls: type) -> bool:
    """True for a class defined in ``__main__`` (a notebook cell, a script): a fresh worker process cannot import it."""
    return getattr(cls, "__module__", "") in ("__main__", "__mp_main__") or \
        str(getattr(cls, "__module__", "")).startswith("<")


def _same(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # noqa: BLE001
        return False


def _run_planned(specs: list, inline: set, store, overwrite: bool, log: Callable[[str], None], threads: int,
                 jobs: Optional[int], device: str, run_options: dict) -> list[dict]:
    """``run_specs`` for the registered methods (isolated, as asked), then for those defined here (in this process,
    said loudly, their records marked ``in_process``); a ``RunsFailedError`` of either part is raised once both
    ran, with the records of both."""
    opts = dict(run_options)
    opts.setdefault("device_request", device)  # cluster back ends resolve "auto" on their nodes
    if jobs is not None:
        opts["jobs"] = jobs
    out: list[dict] = []
    failed: list[dict] = []
    here = [s for s in specs if s.method in inline]
    for part, kw in (([s for s in specs if s.method not in inline], opts), (here, {"isolate": False})):
        if not part:
            continue
        if part is here:
            log(f"warning: running {', '.join(sorted(inline))} in this process, NOT ISOLATED (defined in a notebook or "
                "script, so worker processes cannot import it): its records are marked in_process and its table rows "
                "[IN-PROCESS]; to isolate it, put the class in a module named in ZSAR_BENCH_PLUGINS"
                + ("; jobs and executor options apply to registered methods only"
                   if jobs not in (None, 1) or any(k != "isolate" for k in run_options) else ""))
        try:
            out += run_specs(part, store, overwrite=overwrite, log=log, threads=max(1, threads), **kw)[0]
        except RunsFailedError as e:  # the other part still runs
            out += e.records
            failed += e.failures
    if failed:
        raise RunsFailedError(failed, store, out)
    return out


@contextmanager
def _as_plan_error():
    """A mistake found while planning (a bad split file, records path or argument type) as the documented
    ``PlanError``, its message unchanged and the original error chained."""
    try:
        yield
    except PlanError:
        raise
    except (ZsarBenchError, TypeError) as e:
        raise PlanError(str(e)) from e


def evaluate(methods, datasets, protocol=None, folds=None, seeds=(0,), features="synthetic", method_args=None,
             mode="zsl", records=None, jobs=None, threads=1, device="auto", overwrite=False, progress=False, *,
             descriptions=None, split_file=None, exclude_overlap=None, pretrain_names=None,
             log: Optional[Callable[[str], None]] = None, **run_options) -> Results:
    """Run ``methods`` over the folds of ``datasets`` and return their ``Results``.

    methods: registered names (``"label"``, ``["label", "eszsl"]``), ``(name, {parameter: value})`` pairs (one
        method may appear several times with different parameters), or ``Method`` subclasses/instances not
        registered: they are registered under their ``name`` (or class name) for this call and run in this
        process (see the module docstring); an instance's parameters are its configuration.
    datasets: names (``"olympics"``, ``["hmdb51", "ucf101"]``).
    protocol: a protocol name or a list (None: each dataset's default); ``split_file`` instead for your own folds.
    folds: ``"0-4"``, ``"0,3"``, an int or ints (None: every fold). seeds: an int or ints.
    method_args: ``{method: {parameter: value}}`` applied to every entry of that method.
    mode: ``"zsl"``, ``"gzsl"``, ``"fewshot-K"`` or a list of them.
    records: None keeps the records in a temporary file (nothing is written under results/); a path appends
        there, and runs already recorded there are not run again (``overwrite=True`` redoes them).
    jobs, threads: worker processes per method and torch/BLAS threads per process (as ``--jobs``/``--threads``).
    device: auto (CUDA when present), cpu, cuda or cuda:N, resolved once.
    log: a function called with each progress line (default: print to stderr).
    run_options: passed on to ``sweep.run_specs`` (e.g. ``isolate=False`` runs every method in this process).

    Raises ``PlanError`` (a ValueError) for anything that cannot run as asked, before any run, and
    ``RunsFailedError`` (its ``records``: the runs that did not fail) once every run ran when some failed.
    Whatever a method run in this process changed in the harness (``running.guard``) is undone before its
    metrics are computed and when the call returns, so it cannot affect a later call."""
    if log is None:
        def log(msg: str) -> None:
            print(msg, file=sys.stderr, flush=True)

    snapshot = HarnessSnapshot()  # what a method run in this process changes here is undone when the call returns
    try:
        ex = run_options.get("executor")
        with sandboxed(getattr(ex, "kind", ex) == "sandbox"), _temporary_methods(methods) as (entries, inline), \
                _threads(threads):
            with _as_plan_error():
                specs = plan_runs(entries, datasets, protocol=protocol, split_file=split_file, folds=folds,
                                  seeds=seeds, features=features, method_args=method_args, mode=mode,
                                  descriptions=descriptions, exclude_overlap=exclude_overlap,
                                  pretrain_names=pretrain_names, device=device, progress=progress,
                                  in_process=True if _all_in_process(run_options) else inline)
            with tempfile.TemporaryDirectory(prefix="zsar-bench-evaluate-") as tmp:
                with _as_plan_error():
                    store = RecordStore(Path(records) if records is not None else Path(tmp) / "records.jsonl")
                    store.check_writable(rewrite=overwrite)
                out = _run_planned(specs, inline, store, overwrite, log, threads, jobs, device, run_options)
    finally:
        changed = snapshot.restore()
        if changed:
            log(restored_warning(changed, "when evaluate() returned"))
    return Results(out, source=str(records) if records is not None else None)
