"""The driver: run what is not recorded yet, through an executor, and append each record exactly once.

``run_specs`` groups planned runs into jobs (``executors.runs_per_job``), submits them to an executor
(``executors.py``), computes each record from the scores a job returns (``runner.finish_record``) and
appends it. Submitit back ends keep a restart state so a killed driver resumes without losing or
repeating a run.
"""
from __future__ import annotations

import dataclasses
import json
import time
from typing import Callable, Optional

from .features import FeatureSet, load_feature_set
from .paths import data_root
from .records import RecordStore, record_key
from .runner import RunSpec, fewshot_skip_note, finish_record, headline, spec_features_id, spec_key, spec_train_side
from .runtime import available_cores, using_threads
from .worker import _run_batch


def pre_encode(specs: list[RunSpec], fs_for: Callable[[RunSpec], FeatureSet], log: Callable[[str], None]) -> int:
    """The one-time text encodings of the runs to do (``Method.text_encodings``: class, concept and per-clip
    object texts), computed here once with every core into the disk cache, before any job starts; returns
    how many texts were encoded. Without it each worker (one thread) would encode the same texts again on
    its first run. Texts already cached cost a lookup."""
    from .datasets import get_dataset
    from .method import build_method
    from .text.encoders import get_text_encoder
    from .text.parallel import encode_in_processes, worth_processes

    wanted: dict[tuple[str, int], dict[str, None]] = {}
    seen: set = set()
    for s in specs:
        fs = fs_for(s)
        sides = [(fs, s.descriptions)]
        tfs, _ = spec_train_side(s, fs)
        if tfs is not None:  # a cross-dataset protocol's training side: its own classes, built-in descriptions
            sides.append((tfs, None))
        for side, descriptions in sides:
            key = (s.method, json.dumps(s.method_args, sort_keys=True, default=str), side.dataset, side.identity,
                   json.dumps(descriptions, sort_keys=True) if descriptions else None)
            if key in seen:
                continue
            seen.add(key)
            m = build_method(s.method, s.method_args)
            classes = get_dataset(side.dataset).classes(descriptions)
            for enc in m.text_encodings(classes, side.concepts, side.videos.concept_ids):
                wanted.setdefault((enc.encoder, enc.max_length), {}).update(dict.fromkeys(enc.texts))
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
            if processes > 1:
                enc.cache.put_many(missing, encode_in_processes(spec, max_length, missing, processes))
            else:
                enc.encode(missing, model_batch=16 if device == "cpu" else None)
            log(f"encoded in {time.perf_counter() - t0:.1f}s")
            n_new += len(missing)
    return n_new


def _plan_jobs(todo: list[tuple[RunSpec, tuple]], ex, timings: dict, override: Optional[int],
               log: Callable[[str], None]) -> list[list[tuple[RunSpec, tuple]]]:
    """The runs grouped into jobs: one method and dataset per job, ``runs_per_job`` of them (the batching
    rule, ``executors`` docstring), in the order planned (method by method)."""
    from .executors import runs_per_job

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


def run_specs(specs: list[RunSpec], store: RecordStore, jobs: Optional[int] = None, overwrite: bool = False,
              log: Callable[[str], None] = print, isolate: bool = True, threads: int = 1,
              executor=None, runs_per_job: Optional[int] = None,
              device_request: Optional[str] = None) -> tuple[list[dict], int]:
    """Run what is not in the store yet; record each run as soon as it finishes, exactly once.

    Runs asked for more than once (``--folds 0,0``, ``--seeds 0,0``, ``--methods a,a``) are planned once.
    Without ``overwrite``, a run already recorded is skipped, both at planning and just before it starts,
    and its record is appended with ``append_if_absent`` (the check made again under the file's lock),
    so identical commands started together record each run once. With ``overwrite`` each new record
    supersedes the old one only once it is written (``RecordStore.supersede``): a run killed half-way
    keeps the old rows of the runs it had not redone yet. The records path is checked writable before
    anything is trained (``RecordsError``).

    ``executor`` (``executors.py``): a name (``local``, ``inline``, ``submitit-local``, ``slurm``, ``ray``) or
    an ``ExecutorConfig``; default ``local``, or ``inline`` with ``isolate=False``. ``local`` (the default):
    every run's fit and score happen in a worker process that serves one method only (``jobs`` of them at a
    time, default the machine's cores, each with ``threads`` torch/BLAS threads), and the metrics are
    computed and recorded here from the scores it returns, so a plugin that patches harness code at run time
    cannot change another method's records; the other back ends keep that split (a job holds one method's
    runs, in a process of its own). ``inline`` runs everything in this process. Runs are grouped into jobs
    by the batching rule (``executors.runs_per_job``; ``runs_per_job`` overrides it). Submitit back ends
    keep a state file so that the same command, restarted after the driver was killed, collects the jobs
    that finished meanwhile and resubmits only what is missing. ``device_request`` (``--device`` as given):
    jobs on cluster nodes resolve it there (``auto`` finds the node's GPU).

    Returns (records of the runs asked for, one per run; number of runs skipped as already done)."""
    from .executors import ExecutorConfig, check_shared_storage, measured_run_seconds

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
    store.check_writable(rewrite=overwrite)
    if cfg.kind == "slurm":
        from .paths import check_data_root

        check_shared_storage({"data root": data_root(), "records file": store.path,
                              "jobs folder": cfg.jobs_folder(store.path)})
        check_data_root()
    feature_sets: dict[tuple, FeatureSet] = {}

    def fs_for(spec: RunSpec) -> FeatureSet:
        key = (spec.dataset, spec.features)
        if key not in feature_sets:
            feature_sets[key] = load_feature_set(spec.dataset, spec.features)
        return feature_sets[key]

    planned: dict[tuple, RunSpec] = {}
    notes: dict[str, None] = {}  # few-shot runs skipped for too few clips: one note per (dataset, fold, K)
    n_asked = 0
    with using_threads(available_cores()):  # a synthetic world generated here (once per data root) uses every core
        for s in specs:
            note = fewshot_skip_note(s, fs_for(s))
            if note:
                notes.setdefault(note)
                continue
            n_asked += 1
            planned.setdefault(spec_key(s, spec_features_id(s, fs_for(s))), s)
    for note in notes:
        log(note)
    if len(planned) < n_asked:
        log(f"ignoring {n_asked - len(planned)} repeated run(s): a run (method, config, dataset, fold, seed) "
            "asked for more than once runs once")
    rows = store.read()
    existing = {} if overwrite else {record_key(r): r for r in rows}
    todo = [(s, k) for k, s in planned.items() if k not in existing]
    skipped = len(planned) - len(todo)
    if skipped:
        log(f"skipping {skipped} run(s) already in {store.path} (use --overwrite to redo them)")
    done: dict[tuple, dict] = {k: existing[k] for k in planned if k in existing}
    n = len(todo)
    if not todo:
        return [done[k] for k in planned if k in done], skipped
    pre_encode([s for s, _ in todo], fs_for, log)

    def finish(i: int, spec: RunSpec, key: tuple, rec: dict) -> None:
        note = ""
        if overwrite:
            if store.supersede(rec):
                note = "; replaced its old record"
        elif not store.append_if_absent(rec):
            note = "; another run recorded it meanwhile: kept that record, not this one"
            rec = next((r for r in reversed(store.read()) if record_key(r) == record_key(rec)), rec)
        done[key] = rec
        mode = "" if spec.mode == "zsl" else f" {spec.mode}"
        log(f"[{i}/{n}] {spec.method} {spec.dataset} {spec.protocol.protocol}{mode} "
            f"fold {spec.fold.fold} seed {spec.seed}: {headline(rec)}  ({rec['train_s']:.1f}s train, "
            f"{rec['eval_s']:.2f}s eval{note})")

    def keep_recorded(i: int, spec: RunSpec, key: tuple) -> None:
        """Another command recorded this run meanwhile: use its record, train nothing more."""
        log(f"[{i}/{n}] {spec.method} {spec.dataset} fold {spec.fold.fold} seed {spec.seed}: "
            f"recorded meanwhile by another run; skipped")
        row = next((r for r in reversed(store.read()) if record_key(r) == key), None)
        if row is not None:
            done[key] = row

    if cfg.kind != "inline":
        # Isolated: fit and score run in worker processes or jobs that each serve one method, so method code
        # never shares a process with another method's runs, nor with the code below that records the metrics.
        for spec, _ in todo:
            fs_for(spec)  # generate synthetic features once, before the workers race for them
            if spec.protocol.train_dataset not in (None, spec.dataset):
                spec_train_side(spec, fs_for(spec))
    from .executors import JobState, make_executor

    gpus = 1 if device_request and str(device_request).startswith("cuda") else 0
    ex = make_executor(cfg, jobs, threads, str(data_root()), store.path, gpus_per_job=gpus)
    if ex.remote and device_request:
        for spec, _ in todo:
            spec.extra["device_request"] = device_request
    check = None if overwrite else str(store.path)
    todo_keys = {k: s for s, k in todo}
    state: Optional[JobState] = None
    inflight: dict = {}  # Job -> [(spec or None for a run this command did not ask for, key)]
    i = 0
    error: Optional[BaseException] = None
    cancelled = False
    warned: list = []

    def collect(job, batch: list) -> None:
        nonlocal i, error
        from concurrent.futures import CancelledError

        from .worker import RunFailure

        try:
            outs = job.result()
        except CancelledError:
            outs = []
        except Exception as e:  # noqa: BLE001 - the job itself failed (killed, timed out, lost)
            if error is None:
                error = e
            outs = []
        for (spec, key), out in zip(batch, outs):
            if spec is None:
                continue  # another command's run (restart): left in the state file for it
            if isinstance(out, RunFailure):
                if error is None:
                    error = out.exception()
                continue
            i += 1
            if out is None:  # recorded meanwhile by another command
                keep_recorded(i, spec, key)
                continue
            if cfg.kind != "inline" and out.get("torch_threads") not in (None, threads) and not warned:
                warned.append(out["torch_threads"])
                log(f"warning: a worker ran with {out['torch_threads']} torch threads, not --threads {threads}")
            if out.get("device") and out["device"] != spec.device:  # resolved on the node
                spec = dataclasses.replace(spec, device=out["device"])
            finish(i, spec, key, finish_record(spec, fs_for(spec), out))
        if state is not None:
            recorded = store.keys()
            if all(spec is not None or key in recorded for spec, key in batch) or not outs:
                state.remove(job.id)
                job.cleanup()

    try:
        with ex:
            claimed: set = set()
            if ex.restartable:
                state = JobState(cfg.jobs_folder(store.path)).acquire()
                claimed = _resume_jobs(ex, state, todo_keys, store, inflight, log)
            batches = _plan_jobs([(s, k) for s, k in todo if k not in claimed], ex, measured_run_seconds(rows),
                                 cfg.runs_per_job, log)
            waves: list[list] = []
            for b in batches:  # one method at a time where worker processes are reused (local pools)
                if ex.one_method_at_a_time and waves and waves[-1][-1][0][0].method == b[0][0].method:
                    waves[-1].append(b)
                elif ex.one_method_at_a_time or not waves:
                    waves.append([b])
                else:
                    waves[-1].append(b)
            if not waves:
                waves = [[]]
            for wave in waves:
                queue = list(wave)
                while queue or inflight:
                    while queue and error is None and (ex.max_in_flight is None or len(inflight) < ex.max_in_flight):
                        batch = queue.pop(0)
                        job = ex.submit(_run_batch, [s for s, _ in batch], check, ex.remote, group=batch[0][0].method)
                        inflight[job] = batch
                        if state is not None:
                            state.add(ex.entry(job), [k for _, k in batch])
                    if error is not None and (queue or not cancelled):
                        queue.clear()
                        ex.cancel(list(inflight))  # what has not started; running jobs finish and are recorded
                        cancelled = True
                    if not inflight:
                        break
                    for job in ex.wait(list(inflight)):
                        collect(job, inflight.pop(job))
                if error is not None:
                    break
    except BaseException:
        if ex.restartable and inflight:
            log(f"{len(inflight)} job(s) left running; rerun the same command to collect their results "
                f"(state in {cfg.jobs_folder(store.path)})")
        raise
    finally:
        if state is not None:
            state.release()
    if error is not None:
        raise error
    return [done[k] for k in planned if k in done], skipped


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
