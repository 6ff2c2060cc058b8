"""The driver: run what is not recorded yet, through an executor, and append each record exactly once.

``run_specs`` groups planned runs into jobs (``executors.runs_per_job``), submits them to an executor
(``executors/``), computes each record from the scores a job returns (``runner.finish_record``) and
appends it. Submitit back ends keep a restart state so a killed driver resumes without losing or
repeating a run.
"""
from __future__ import annotations

import dataclasses
import json
import os
import secrets
import socket
import time
from concurrent.futures import CancelledError
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, Optional

from ..datasets import get_dataset
from ..errors import ZsarBenchError
from ..features import FeatureSet, load_feature_set
from ..features.store import synthetic_on_disk
from ..paths import check_data_root, data_root
from ..results.records import RecordStore, record_key, same_numbers
from ..runtime import available_cores, using_threads
from ..text.encoders import get_text_encoder
from ..text.parallel import encode_in_processes, worth_processes
from .executors import ExecutorConfig, JobState, check_shared_storage, make_executor, measured_run_seconds, runs_per_job
from .guard import HarnessSnapshot, restored_warning
from .method_facts import text_requests
from .progress import Progress
from .resolve import method_config_key, resolve_runs
from .runner import (RunSpec, fewshot_skip_note, finish_record, headline, remember_feature_set, with_rows,
                     spec_train_side)
from .worker import RunFailure, _run_batch, one_line


def pre_encode(specs: list[RunSpec], fs_for: Callable[[RunSpec], FeatureSet], log: Callable[[str], None],
               in_process: bool = False, progress: bool = False) -> int:
    """The one-time text encodings of the runs to do (``Method.text_encodings``: class, concept and per-clip
    object texts), computed here once with every core into the disk cache, before any job starts; returns
    how many texts were encoded. Without it each worker (one thread) would encode the same texts again on
    its first run. Texts already cached cost a lookup. Which texts a configuration embeds is asked of a worker
    that serves its method (``method_facts.text_requests``; in this process with ``in_process`` or for runs
    marked ``in_process``): the harness's encoder embeds them here."""
    asked: dict[tuple[str, bool], list] = {}  # (method, here) -> [(arguments, (classes, concepts, concept ids))]
    seen: set = set()
    for s in specs:
        fs = fs_for(s)
        sides = [(fs, s.descriptions)]
        tfs, _ = spec_train_side(s, fs)
        if tfs is not None:  # a cross-dataset protocol's training side: its own classes, built-in descriptions
            sides.append((tfs, None))
        ck = method_config_key(s)
        for side, descriptions in sides:
            key = (ck, side.dataset, side.identity, json.dumps(descriptions, sort_keys=True) if descriptions else None)
            if key in seen:
                continue
            seen.add(key)
            classes = get_dataset(side.dataset).classes(descriptions)
            asked.setdefault((s.method, in_process or s.in_process), []).append(
                (s.method_args, (classes, side.concepts, side.videos.concept_ids)))
    wanted: dict[tuple[str, int], dict[str, None]] = {}
    for (name, here), items in asked.items():
        for per_item in text_requests(name, items, in_process=here):
            for encoder, max_length, texts in per_item:
                wanted.setdefault((encoder, max_length), {}).update(dict.fromkeys(texts))
    return _encode_missing(wanted, log, progress)


def _encode_missing(wanted: dict[tuple[str, int], dict[str, None]], log: Callable[[str], None],
                    progress: bool = False) -> int:
    """Encode the texts of ``wanted`` ((encoder, max_length) -> texts) that the disk cache lacks, with every
    core; returns how many."""
    n_new = 0
    cores = available_cores()
    with using_threads(cores) as n_threads:
        for (spec, max_length), texts in wanted.items():
            enc = get_text_encoder(spec, max_length=max_length)
            cached = enc.cache.get_many(texts)
            missing = [t for t in texts if t not in cached]
            if not missing:
                continue
            device = getattr(enc.encoder, "device", "cpu")
            processes = worth_processes(len(missing), cores, device)
            where = f"in {processes} processes of 1 thread" if processes > 1 else f"on {n_threads} thread(s)"
            log(f"encoding {len(missing)} texts once with {spec} {where} (cached for every run)")
            t0 = time.perf_counter()
            with Progress(f"encoding texts with {spec}", total=len(missing), unit="text", enabled=progress) as bar:
                if processes > 1:
                    enc.cache.put_many(missing, encode_in_processes(spec, max_length, missing, processes))
                    bar.update(len(missing))
                else:
                    enc.encode(missing, model_batch=16 if device == "cpu" else None, on_progress=bar.update)
            log(f"encoded in {time.perf_counter() - t0:.1f}s")
            n_new += len(missing)
    return n_new


def _plan_jobs(todo: list[tuple[RunSpec, tuple]], ex, timings: dict, override: Optional[int],
               log: Callable[[str], None]) -> list[list[tuple[RunSpec, tuple]]]:
    """The runs grouped into jobs: one method and dataset per job, ``runs_per_job`` of them (the batching
    rule, ``executors`` docstring), in the order planned (method by method)."""
    groups: dict[tuple[str, str], list] = {}
    for spec, key in todo:
        groups.setdefault((spec.method, spec.dataset), []).append((spec, key))
    by_method: dict[str, list] = {}
    notes = []
    for (method, dataset), items in groups.items():
        t = timings.get((method, dataset))
        k = runs_per_job(t, ex.batch_target_s, len(items), ex.time_limit_s, override)
        if k > 1 or override:
            why = "--runs-per-job" if override else f"{t:.1f}s per run measured in the records"
            notes.append(f"{method} on {dataset}: {k} run(s) per job ({why})")
        by_method.setdefault(method, []).extend(items[i:i + k] for i in range(0, len(items), k))
    jobs = [b for batches in by_method.values() for b in batches]
    if ex.name != "inline":
        log(f"executor {ex.name}: {len(todo)} run(s) in {len(jobs)} job(s)" + (f" ({'; '.join(notes)})" if notes else ""))
    return jobs


def _waves(batches: list[list], one_method_at_a_time: bool) -> list[list]:
    """Jobs in waves: one method per wave where worker processes are reused (local pools), else one wave."""
    waves: list[list] = []
    for b in batches:
        if one_method_at_a_time and waves and waves[-1][-1][0][0].method == b[0][0].method:
            waves[-1].append(b)
        elif one_method_at_a_time or not waves:
            waves.append([b])
        else:
            waves[-1].append(b)
    return waves or [[]]


def run_specs(specs: list[RunSpec], store: RecordStore, jobs: Optional[int] = None, overwrite: bool = False,
              log: Callable[[str], None] = print, isolate: bool = True, threads: int = 1,
              executor=None, runs_per_job: Optional[int] = None,
              device_request: Optional[str] = None, dry_run: bool = False) -> tuple[list[dict], int]:
    """Run what is not in the store yet; record each run as soon as it finishes, exactly once.

    Runs asked for more than once (``--folds 0,0``, ``--seeds 0,0``, ``--methods a,a``) are planned once.
    Without ``overwrite``, a run already recorded when the sweep starts is skipped, and each record is appended
    with ``append_if_absent`` (the check made again under the file's lock). A row that appears meanwhile for a
    run of this sweep was not written by this driver (``_Driver``: another command, or method code writing
    rows): it is trusted only when it holds the numbers this run measured (two identical commands started
    together record each run once); otherwise this run's own row is appended after it, with a warning. Every
    row this driver writes carries its ``run_id`` (a random token per sweep, host and pid). With
    ``overwrite`` each new record supersedes the old one only once it is written (``RecordStore.supersede``):
    a run killed half-way keeps the old rows of the runs it had not redone yet. The records path is checked
    writable before anything is trained (``RecordsError``).

    Each run is resolved once here (``resolve.resolve_runs``: record key, config hash, feature-set id,
    parameters; one method object per configuration); the worker builds the method once more to fit it.

    ``executor`` (``executors/``): a name (``local``, ``inline``, ``submitit-local``, ``slurm``, ``ray``) or
    an ``ExecutorConfig``; default ``local``, or ``inline`` with ``isolate=False``. ``local`` (the default):
    every run's fit and score happen in a worker process that serves one method only (``jobs`` of them at a
    time, default the machine's cores, each with ``threads`` torch/BLAS threads), and the metrics are
    computed and recorded here from the scores it returns, so a plugin that patches harness code at run time
    cannot change another method's records; the other back ends keep that split (a job holds one method's
    runs, in a process of its own). ``inline`` runs everything in this process: its records are marked
    ``in_process``, and whatever method code changed in the harness is put back (``guard.HarnessSnapshot``)
    after each job, before its metrics, and when the sweep ends. Runs are grouped into jobs by the batching
    rule (``executors.runs_per_job``; ``runs_per_job`` overrides it). Submitit back ends keep a state file so
    that the same command, restarted after the driver was killed, collects the jobs that finished meanwhile
    and resubmits only what is missing. ``device_request`` (``--device`` as given): jobs on cluster nodes
    resolve it there (``auto`` finds the node's GPU). ``dry_run``: plan, log how many runs would run, and run
    nothing.

    A run that fails (its method raised, returned scores of the wrong shape or type, went past the executor
    config's ``run_timeout``, or its worker died) is logged in one line and kept in ``<records>.failures.jsonl``;
    the other runs go on, and ``RunsFailedError`` (with the records made) is raised at the end.

    Returns (records of the runs asked for, one per run; number of runs skipped as already done)."""
    cfg = _executor_config(executor, isolate, runs_per_job)
    _check_storage(cfg, store, overwrite)
    snapshot = HarnessSnapshot()  # before any method code runs here: planning builds methods
    try:
        return _run_planned(specs, store, cfg, snapshot, jobs, overwrite, log, threads, device_request, dry_run)
    finally:
        _restore(snapshot, "when the sweep ended", log)


def _run_planned(specs: list[RunSpec], store: RecordStore, cfg: ExecutorConfig, snapshot: "HarnessSnapshot",
                 jobs: Optional[int], overwrite: bool, log: Callable[[str], None], threads: int,
                 device_request: Optional[str], dry_run: bool) -> tuple[list[dict], int]:
    """``run_specs`` once its arguments are checked: plan, skip what is recorded, run the rest."""
    progress = any(s.progress for s in specs)
    feature_sets = _FeatureSets(progress, log)
    in_process = cfg.kind == "inline"
    planned = _plan(specs, feature_sets, in_process, device_request, log)
    rows = store.read()
    existing = {} if overwrite else {record_key(r): r for r in rows}
    todo = [(s, k) for k, s in planned.items() if k not in existing]
    skipped = len(planned) - len(todo)
    if skipped:
        log(f"skipping {skipped} run(s) already in {store.path} (use --overwrite to redo them)")
    done: dict[tuple, dict] = {k: existing[k] for k in planned if k in existing}
    if dry_run:
        log(f"dry run: {len(todo)} run(s) to do" + "".join(
            f"\n  {s.method} {s.dataset} {s.protocol.protocol} fold {s.fold.fold} seed {s.seed}"
            + ("" if s.mode == "zsl" else f" {s.mode}") for s, _ in todo[:20])
            + (f"\n  ... and {len(todo) - 20} more" if len(todo) > 20 else ""))
    elif todo:
        pre_encode([s for s, _ in todo], feature_sets, log, in_process, progress)
        _restore(snapshot, "before any metric was computed", log)
        driver = _Driver(cfg, store, overwrite, log, feature_sets, done, len(todo), threads, progress)
        ex = make_executor(cfg, jobs, threads, str(data_root()), store.path,
                           gpus_per_job=1 if str(device_request or "").startswith("cuda") else 0)
        if cfg.kind == "inline":
            ex.after_job = lambda: _restore(snapshot, "before its metrics were computed", driver.log)
        driver.run(todo, ex, measured_run_seconds(rows))
        if driver.failures:
            raise RunsFailedError(driver.failures, store, [done[k] for k in planned if k in done])
    return [done[k] for k in planned if k in done], skipped


def _restore(snapshot: "HarnessSnapshot", when: str, log: Callable[[str], None]) -> None:
    changed = snapshot.restore()
    if changed:
        log(restored_warning(changed, when))


def new_run_id() -> str:
    """A driver's identity, written into every row it records: a random token for this sweep, host and pid."""
    return f"{secrets.token_hex(8)}@{socket.gethostname()}:{os.getpid()}"


class RunsFailedError(ZsarBenchError, RuntimeError):
    """Runs of a sweep failed (their method raised, timed out, returned bad scores, or their worker died); the
    others were recorded (``records``). One line: which methods, how many runs, the first message of each."""

    def __init__(self, failures: list[dict], store: RecordStore, records: list[dict]):
        self.failures, self.records = failures, records
        by_method: dict[str, list[dict]] = {}
        for f in failures:
            by_method.setdefault(f["method"], []).append(f)
        what = "; ".join(f"{m}: {len(fs)} run(s), {fs[0]['error']}" for m, fs in by_method.items())
        super().__init__(f"{len(failures)} run(s) failed and were not recorded ({what}); the other runs were "
                         f"recorded. Each failure is in {failures_path(store)}; fix the method or leave it out, "
                         "then rerun the same command to run only what is missing")


def failures_path(store: RecordStore) -> Path:
    """Where a sweep keeps its failed runs, one JSON object a line: ``<records>.failures.jsonl``."""
    return store.path.with_name(store.path.name + ".failures.jsonl")


def _executor_config(executor, isolate: bool, runs_per_job: Optional[int]) -> ExecutorConfig:
    if executor is None:
        cfg = ExecutorConfig("local" if isolate else "inline")
    elif isinstance(executor, str):
        cfg = ExecutorConfig(executor)
    else:
        cfg = executor
    if runs_per_job is not None:
        cfg = dataclasses.replace(cfg, runs_per_job=runs_per_job)
    if not isolate and cfg.kind != "inline":
        raise ValueError(f"isolate=False runs in this process: it cannot use executor {cfg.kind!r}")
    cfg.check()
    return cfg


def _check_storage(cfg: ExecutorConfig, store: RecordStore, overwrite: bool) -> None:
    """Before anything trains: the records path is writable; a cluster's files live on shared storage."""
    store.check_writable(rewrite=overwrite)
    if cfg.kind == "slurm":
        check_shared_storage({"data root": data_root(), "records file": store.path,
                              "jobs folder": cfg.jobs_folder(store.path)})
        check_data_root()


class _FeatureSets:
    """The driver's feature sets, loaded (a synthetic one generated, with every core) once each, before any
    worker starts, so that workers never race to generate them."""

    def __init__(self, progress: bool = False, log: Callable[[str], None] = print):
        self._sets: dict[tuple, FeatureSet] = {}
        self.progress, self.log = progress, log

    def __call__(self, spec: RunSpec) -> FeatureSet:
        key = (spec.dataset, spec.features)
        if key not in self._sets:
            if self.progress and spec.features == "synthetic" and not synthetic_on_disk(spec.dataset):
                self.log(f"features {spec.dataset}/synthetic: generating the synthetic set (first use in this data "
                         "root; kept for every later run)")
            with using_threads(available_cores()), Progress(f"features {spec.dataset}/{spec.features}",
                                                            enabled=self.progress):
                self._sets[key] = load_feature_set(spec.dataset, spec.features)
            remember_feature_set(self._sets[key])  # one copy in this process: the training side reads it too
        return self._sets[key]


def _plan(specs: list[RunSpec], fs_for: _FeatureSets, in_process: bool, device_request: Optional[str],
          log: Callable[[str], None]) -> dict[tuple, RunSpec]:
    """The runs to consider, resolved once each (``resolve.resolve_runs``) and keyed by their record key:
    few-shot runs without enough clips are skipped with one note each; a run asked for twice is kept once."""
    notes: dict[str, None] = {}  # one note per (dataset, fold, K)
    kept = []
    for s in specs:
        note = fewshot_skip_note(s, fs_for(s))
        if note:
            notes.setdefault(note)
        else:
            kept.append(s if device_request is None else dataclasses.replace(s, device_request=device_request))
    for note in notes:
        log(note)
    with using_threads(available_cores()):  # a cross-dataset training side generated here uses every core
        resolved = resolve_runs(kept, fs_for, in_process)
    planned: dict[tuple, RunSpec] = {}
    for s in resolved:
        planned.setdefault(s.facts.key, s)
    if len(planned) < len(kept):
        log(f"ignoring {len(kept) - len(planned)} repeated run(s): a run (method, config, dataset, fold, seed) "
            "asked for more than once runs once")
    return planned


class _Driver:
    """Submits the jobs of one ``run_specs`` call, collects what they return, records each run once.

    Who wrote a row: every row it appends carries ``run_id`` (``new_run_id``), and it keeps the keys it appended
    itself (``appended``). A row for one of its runs that it did not write (a collision under the lock, or one
    found after its own row when it reads the file back at the end) is trusted only when its numbers are the
    ones this run measured; otherwise it is reported (``contested``), and this run's own row is appended."""

    def __init__(self, cfg: ExecutorConfig, store: RecordStore, overwrite: bool, log: Callable[[str], None],
                 fs_for: _FeatureSets, done: dict, n: int, threads: int, progress: bool = False):
        self.cfg, self.store, self.overwrite = cfg, store, overwrite
        self.bar = Progress("runs", total=n, unit="run", enabled=progress)
        self.log = lambda msg: self.bar.write(msg, log)  # through the caller's log, above the bar while it shows
        self.fs_for, self.done, self.n, self.threads = fs_for, done, n, threads
        self.run_id = new_run_id()
        self.i = 0  # runs collected so far
        self.warned = False
        self.state: Optional[JobState] = None
        self.inflight: dict = {}  # Job -> [(spec or None for a run this command did not ask for, key)]
        self.appended: dict[tuple, dict] = {}  # key -> the row this driver appended
        self.contested: list[tuple] = []  # keys whose row, written by someone else, disagrees with this run's
        self.failures: list[dict] = []  # runs that failed (``_fail``)

    def run(self, todo: list[tuple[RunSpec, tuple]], ex, timings: dict) -> None:
        try:
            with ex, self.bar:
                claimed: set = set()
                if ex.restartable:
                    self.state = JobState(self.cfg.jobs_folder(self.store.path)).acquire()
                    claimed = _resume_jobs(ex, self.state, {k: s for s, k in todo}, self.store, self.inflight,
                                           self.log)
                batches = _plan_jobs([(s, k) for s, k in todo if k not in claimed], ex, timings,
                                     self.cfg.runs_per_job, self.log)
                for wave in _waves(batches, ex.one_method_at_a_time):
                    self._run_wave(ex, list(wave))
        except BaseException:
            if ex.restartable and self.inflight:
                self.log(f"{len(self.inflight)} job(s) left running; rerun the same command to collect their "
                         f"results (state in {self.cfg.jobs_folder(self.store.path)})")
            raise
        finally:
            if self.state is not None:
                self.state.release()
        self._read_back()

    def _run_wave(self, ex, queue: list) -> None:
        """Submit the wave's jobs (at most ``ex.max_in_flight`` at a time) and collect them as they end."""
        while queue or self.inflight:
            while queue and (ex.max_in_flight is None or len(self.inflight) < ex.max_in_flight):
                batch = self._handed_over(queue.pop(0))
                if not batch:
                    continue
                job = ex.submit(_run_batch, [s for s, _ in batch], self.cfg.run_timeout, ex.remote,
                                ex.name != "inline", group=batch[0][0].method)
                self.inflight[job] = batch
                if self.state is not None:
                    self.state.add(ex.entry(job), [k for _, k in batch])
            if not self.inflight:
                break
            for job in ex.wait(list(self.inflight)):
                self._collect(job, self.inflight.pop(job))

    def _handed_over(self, batch: list) -> list:
        """The batch's runs as a worker gets them: each with its fold's rows, less the test labels (``with_rows``;
        the driver keeps the labels and scores). A run whose fold cannot be made fails here, alone."""
        out = []
        for spec, key in batch:
            try:
                out.append((with_rows(spec, self.fs_for(spec)), key))
            except Exception as e:  # noqa: BLE001 - that run's failure (a class without clips, ...)
                self.i += 1
                self.bar.update(1)
                self._fail(spec, key, one_line(e))
        return out

    def _collect(self, job, batch: list) -> None:
        """Record the runs of a finished job; a run that failed is recorded as a failure (``_fail``)."""
        for (spec, key), out in zip(batch, _job_outputs(job, len(batch))):
            if spec is None:
                continue  # another command's run (restart): left in the state file for it
            self.i += 1
            self.bar.update(1)
            if isinstance(out, RunFailure):
                self._fail(spec, key, out.message())
                continue
            self._check_threads(out)
            try:  # the method's output is checked here: wrong shape or type, NaN
                rec = finish_record(spec, self.fs_for(spec), out)
            except Exception as e:  # noqa: BLE001 - that run's failure, whatever the method returned
                self._fail(spec, key, one_line(e))
                continue
            self._record(spec, key, rec)
        if self.state is not None:
            recorded = self.store.keys()
            if all(spec is not None or key in recorded for spec, key in batch):
                self.state.remove(job.id)
                job.cleanup()

    def _check_threads(self, out: dict) -> None:
        if self.cfg.kind != "inline" and out.get("torch_threads") not in (None, self.threads) and not self.warned:
            self.warned = True
            self.log(f"warning: a worker ran with {out['torch_threads']} torch threads, not --threads {self.threads}")

    def _where(self, spec: RunSpec) -> str:
        mode = "" if spec.mode == "zsl" else f" {spec.mode}"
        return (f"[{self.i}/{self.n}] {spec.method} {spec.dataset} {spec.protocol.protocol}{mode} fold "
                f"{spec.fold.fold} seed {spec.seed}")

    def _fail(self, spec: RunSpec, key: tuple, message: str) -> None:
        """One run failed: logged in one line and appended to ``<records>.failures.jsonl``; nothing recorded."""
        self.log(f"{self._where(spec)}: FAILED, not recorded: {message}")
        failure = {"method": spec.method, "dataset": spec.dataset, "protocol": spec.protocol.protocol,
                   "fold": spec.fold.fold, "seed": spec.seed, "mode": spec.mode, "key": list(key), "error": message,
                   "run_id": self.run_id, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self.failures.append(failure)
        path = failures_path(self.store)
        try:
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps(failure, default=str) + "\n")
        except OSError as e:
            self.log(f"warning: could not keep the failure in {path} ({e.strerror or e})")

    def _record(self, spec: RunSpec, key: tuple, rec: dict) -> None:
        rec["run_id"] = self.run_id
        if self.cfg.kind == "inline":
            rec["in_process"] = True  # fit and scored in the driver's process: no isolation (guard.py)
        note = ""
        if self.overwrite:
            if self.store.supersede(rec):
                note = "; replaced its old record"
        elif not self.store.append_if_absent(rec):
            other = _last_row(self.store, key)
            if other is not None and same_numbers(other, rec):
                note = f"; {_writer(other)} recorded the same numbers meanwhile: kept that row"
                rec = other
            else:
                self.store.append(rec)
                self.contested.append(key)
                self.log(f"warning: {self._where(spec)}: a row for this run appeared during this sweep, written by "
                         f"{_writer(other)}, with other numbers ({_said(other)}): not trusted; "
                         "this run's own row is recorded after it")
        if rec.get("run_id") == self.run_id:
            self.appended[key] = rec
        self.done[key] = rec
        self.log(f"{self._where(spec)}: {headline(rec)}  ({rec['train_s']:.1f}s train, {rec['eval_s']:.2f}s eval{note})")

    def _read_back(self) -> None:
        """The records file read back once the runs are done: a run whose last row is not the one this driver
        wrote (and has other numbers) was written over by someone else; say so."""
        if not self.appended:
            return
        last = {record_key(r): r for r in self.store.read()}
        for key, mine in self.appended.items():
            row = last.get(key)
            if row is None or not same_numbers(row, mine):
                self.contested.append(key)
                self.log(f"warning: {mine['method']} {mine['dataset']} fold {mine['fold']} seed {mine['seed']}: the "
                         f"records' last row of this run is not the one this sweep wrote ({headline(mine)}): "
                         f"{'it is gone' if row is None else f'{_writer(row)} wrote {_said(row)} after it'}; "
                         "readers count that row: check the records file (report flags such runs)")


def _job_outputs(job, n: int) -> list:
    """What a finished job returned, one entry per run (a ``RunFailure`` for each run when the job itself failed:
    its worker died, it was killed or lost, or its reply could not be read)."""
    try:
        outs = job.result()
    except CancelledError:
        outs = []
    except Exception as e:  # noqa: BLE001 - the job itself failed: every run of it did
        return [RunFailure.from_text(_job_failure(e))] * n
    outs = list(outs) if isinstance(outs, list) else []
    return outs + [RunFailure.from_text("the job returned no result for this run")] * (n - len(outs))


def _job_failure(e: BaseException) -> str:
    if isinstance(e, BrokenProcessPool):
        return ("BrokenProcessPool: its worker process died (killed, out of memory, os._exit in method code, or a run "
                "that ignored --run-timeout)")
    return one_line(e)


def _last_row(store: RecordStore, key: tuple) -> Optional[dict]:
    return next((r for r in reversed(store.read()) if record_key(r) == key), None)


def _said(row: Optional[dict]) -> str:
    """A foreign row's main figures, for warnings (whatever the row holds)."""
    try:
        return headline(row)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):
        return "no readable metrics"


def _writer(row: Optional[dict]) -> str:
    """Who wrote a row, as far as the row says: a driver's run id, else "an unknown writer"."""
    rid = row.get("run_id") if row else None
    return f"run {rid}" if isinstance(rid, str) and rid else "an unknown writer (no run_id)"


def _resume_jobs(ex, state, todo_keys: dict, store: RecordStore, inflight: dict,
                 log: Callable[[str], None]) -> set:
    """A restarted driver: take over the jobs a killed one left (state file). Jobs done meanwhile and jobs
    still running join ``inflight`` (collected like new ones); jobs that died without a result are dropped,
    so their runs are submitted again. Returns the run keys these jobs cover."""
    claimed: set = set()
    n_done = n_running = n_lost = 0
    recorded = store.keys()
    for entry in list(state.jobs):
        keys = state.keys_of(entry)
        if all(k in recorded for k in keys):  # collected before the kill, the state not updated yet
            state.remove(entry["id"])
            continue
        if not any(k in todo_keys for k in keys):
            continue  # another command's runs: left for it
        job = ex.reload(entry)
        if job is None:
            continue
        if job.done() and not job.has_result():
            n_lost += 1
            state.remove(entry["id"])
            continue
        n_done += job.done()
        n_running += not job.done()
        inflight[job] = [(todo_keys.get(k), k) for k in keys]
        claimed.update(k for k in keys if k in todo_keys)
    if n_done or n_running or n_lost:
        log(f"resuming from {state.path}: {n_done} job(s) finished while no driver was running, {n_running} still "
            f"running, {n_lost} ended without results (their runs are submitted again)")
    return claimed
