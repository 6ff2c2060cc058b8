"""Executors: where a sweep's runs are fit and scored. One small interface, five back ends.

``run_specs`` (the driver, ``sweep.py``) plans the runs, groups them into jobs, hands the jobs to an
executor and, as each job completes, computes the metrics and appends the records itself: only the
driver ever writes records (``finish_record`` + ``RecordStore.append_if_absent``), whatever the back end.
A job is one call of ``worker._run_batch``: ``execute_run`` for each of its runs (all of one method),
returning the list of their outputs.

The interface (``Executor``)::

    job = ex.submit(fn, *args, group=METHOD)   # -> Job (job.id, job.done(), job.result(), job.cancel())
    for job in ex.as_completed(jobs): ...       # or ex.wait(jobs): the jobs done now (blocks for one)
    ex.cancel(jobs)                            # cancel what has not started
    ex.close()                                 # also a context manager

Back ends (``--executor``):

- ``inline``: in the driver's own process, one job at a time (``run_specs(isolate=False)``; tests, debugging).
- ``local`` (default): a pool of ``--jobs`` spawned worker processes per method (one pool at a time, so
  method code never shares a process with another method's runs nor with the code that records the
  metrics); each worker sets ``--threads`` torch/BLAS threads; workers die with the driver.
- ``submitit-local``: submitit's local cluster (``AutoExecutor(folder, cluster="local")``): every job a
  fresh Python process on this machine, at most ``--jobs`` at a time; exercises the slurm code path
  (job folders, state file, restart) without a cluster.
- ``slurm``: submitit on Slurm (``--slurm-partition``, ``--slurm-time`` minutes; ``--slurm-gpus``,
  ``--slurm-cpus`` (default ``--threads``), ``--slurm-mem`` GB). The data root, the records file and the
  jobs folder must be on storage every node mounts (``check_shared_storage``).
- ``ray``: one Ray task per job (``max_calls=1``: a fresh worker process per job, so methods never share
  one); ``--ray-address`` joins a running cluster, default a local one. Needs the ``ray`` extra
  (``pip install 'zsar-bench[ray]'``); zsar-bench must be importable on every node.

**Batching** (``runs_per_job``): cheap runs share a job, so a job's start-up (a queue wait, a fresh
Python importing torch and loading the features) is paid once for several runs. For each (method,
dataset), ``t`` = the median ``train_s + eval_s`` of that method's records on that dataset in the records
file; runs per job = ``ceil(target / t)``, where ``target`` is the back end's ``batch_target_s`` (60 s
for submitit/slurm, 30 s for ray, 0 for local and inline, whose processes persist: 1 run per job); 1
when no record gives ``t`` yet; never more runs than fit in half the job's time limit (``--slurm-time``),
nor more than the group has. ``--runs-per-job N`` overrides the rule.

**Restart safety** (submitit back ends, ``restartable``): the driver keeps ``<jobs dir>/state.json``
(default jobs dir ``<records>.jobs/``), rewritten atomically after every submission and collection: job
id, job folder and the run keys of each job not yet collected. Jobs outlive the driver. A driver killed
mid-sweep and started again with the same command first reloads the jobs listed there (submitit can
reload a job from folder + id): those that finished meanwhile are collected and recorded, those still
queued or running are waited for, those that died without a result are dropped, and only runs that
no job covers are submitted again. Records are appended with ``append_if_absent``, so nothing is
recorded twice; a job submitted in the instant before a kill, before the state file listed it, is run
twice at worst and recorded once. One driver at a time uses a jobs dir (a ``flock`` on ``driver.lock``).
"""
from __future__ import annotations

import fcntl
import json
import math
import os
import statistics
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence
from .errors import ZsarBenchError

EXECUTORS = ("local", "inline", "submitit-local", "slurm", "ray")
RAY_HINT = "pip install 'zsar-bench[ray]'"
SUBMITIT_HINT = "pip install submitit (a dependency of zsar-bench: reinstall with `pip install -e .`)"
# Paths that are private to one machine on a typical cluster (also $TMPDIR, $SLURM_TMPDIR and any tmpfs).
NODE_LOCAL_ROOTS = ("/tmp", "/var/tmp", "/dev/shm", "/run", "/scratch/local", "/localscratch", "/local", "/lscratch")
LOCAL_TIMEOUT_MIN = 7 * 24 * 60  # submitit-local kills a job after its timeout; the default would be 2 minutes


class ExecutorError(ZsarBenchError):
    """An executor cannot be used as asked (missing package, missing option, node-local storage): one line."""


def default_jobs() -> int:
    """Worker processes when ``--jobs`` is not given: the cores this process may use (at least 1)."""
    from .runtime import available_cores

    return available_cores()


# -- the interface --------------------------------------------------------------------------------------------

class Job(ABC):
    """One submitted job. ``result()`` returns what the function returned, or raises what it raised."""

    id: str = ""

    @abstractmethod
    def done(self) -> bool: ...

    @abstractmethod
    def result(self) -> Any: ...

    def cancel(self) -> None:
        """Cancel the job if it has not started (a running job finishes)."""

    def cleanup(self) -> None:
        """Its results were collected: remove what the back end keeps of it (result files)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id})"


class Executor(ABC):
    name = ""
    batch_target_s = 0.0  # batching rule: seconds of measured run time to put in one job (0: one run per job)
    time_limit_s: Optional[float] = None  # a job's wall-clock limit, where the back end has one
    max_in_flight: Optional[int] = None  # jobs submitted at once (None: all; the back end queues them)
    one_method_at_a_time = False  # True where worker processes are reused: submit one method's jobs, then the next's
    restartable = False  # jobs outlive the driver and can be reloaded by id (``reload``)
    remote = False  # jobs may run on another machine (the device is resolved there)
    poll_s = 0.5

    def __init__(self, data_root: Optional[str] = None, threads: int = 1):
        self.data_root = data_root
        self.threads = max(1, int(threads))

    @abstractmethod
    def submit(self, fn: Callable, *args: Any, group: str = "") -> Job:
        """Start ``fn(*args)`` as a job. ``group`` (the method name) keeps methods in separate processes."""

    def wait(self, jobs: Sequence[Job], timeout: Optional[float] = None) -> list[Job]:
        """The jobs among ``jobs`` that are done, waiting until at least one is (or ``timeout`` seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            done = [j for j in jobs if j.done()]
            if done or not jobs or (deadline is not None and time.monotonic() >= deadline):
                return done
            time.sleep(self.poll_s)

    def as_completed(self, jobs: Iterable[Job]) -> Iterator[Job]:
        left = list(jobs)
        while left:
            for j in self.wait(left):
                left.remove(j)
                yield j

    def cancel(self, jobs: Iterable[Job]) -> None:
        for j in jobs:
            j.cancel()

    def entry(self, job: Job) -> dict:
        """What the state file keeps of ``job`` to ``reload`` it (restartable back ends only)."""
        raise NotImplementedError(f"executor {self.name} cannot reload jobs")

    def reload(self, entry: dict) -> Optional[Job]:
        """The job a state-file entry names (restartable back ends only)."""
        raise NotImplementedError(f"executor {self.name} cannot reload jobs")

    def close(self, abort: bool = False) -> None:
        """Release the back end; ``abort`` (the driver is failing): stop what can be stopped."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(abort=exc_type is not None)


# -- what runs inside a job's process ---------------------------------------------------------------------------

def _in_worker(setup: tuple, fn: Callable, *args: Any) -> Any:
    """Job entry for back ends whose processes start bare (submitit, ray): data root, plugins and
    ``--threads`` first (``worker._worker_setup``), then the job."""
    from .worker import _worker_setup

    _worker_setup(*setup)
    return fn(*args)


def worker_info() -> dict:
    """Where a job ran: pid, host, torch threads and data root (tests and ``--threads`` checks use it)."""
    import socket

    import torch

    from .paths import data_root

    return {"pid": os.getpid(), "host": socket.gethostname(), "torch_threads": torch.get_num_threads(),
            "data_root": str(data_root())}


# -- inline ---------------------------------------------------------------------------------------------------

class _InlineJob(Job):
    def __init__(self, n: int, thunk: Callable[[], Any]):
        self.id = f"inline-{n}"
        self._thunk: Optional[Callable[[], Any]] = thunk
        self._out: Any = None
        self._exc: Optional[BaseException] = None
        self._ran = self._cancelled = False

    def run(self) -> None:
        if self._ran or self._cancelled:
            return
        self._ran = True
        thunk, self._thunk = self._thunk, None
        try:
            self._out = thunk()
        except Exception as e:  # noqa: BLE001 - handed to result()
            self._exc = e

    def done(self) -> bool:
        return self._ran or self._cancelled

    def result(self) -> Any:
        if self._cancelled:
            from concurrent.futures import CancelledError

            raise CancelledError(self.id)
        self.run()
        if self._exc is not None:
            raise self._exc
        return self._out

    def cancel(self) -> None:
        if not self._ran:
            self._cancelled = True


class InlineExecutor(Executor):
    """Runs each job in this process when it is waited for, in submission order (no isolation)."""

    name = "inline"

    def __init__(self, data_root: Optional[str] = None, threads: int = 1):
        super().__init__(data_root, threads)
        self._n = 0

    def submit(self, fn: Callable, *args: Any, group: str = "") -> Job:
        self._n += 1
        return _InlineJob(self._n, lambda: fn(*args))

    def wait(self, jobs: Sequence[Job], timeout: Optional[float] = None) -> list[Job]:
        done = [j for j in jobs if j.done()]
        if done:
            return done
        for j in jobs:  # run the first job that has not run yet
            j.run()  # type: ignore[attr-defined]
            return [j]
        return []


# -- local process pools --------------------------------------------------------------------------------------

class _FutureJob(Job):
    def __init__(self, fut, n: int):
        self.fut = fut
        self.id = f"local-{n}"

    def done(self) -> bool:
        return self.fut.done()

    def result(self) -> Any:
        return self.fut.result()

    def cancel(self) -> None:
        self.fut.cancel()


class LocalExecutor(Executor):
    """``jobs`` spawned worker processes per method; one method's pool at a time."""

    name = "local"
    one_method_at_a_time = True

    def __init__(self, data_root: Optional[str] = None, threads: int = 1, jobs: Optional[int] = None):
        super().__init__(data_root, threads)
        self.jobs = max(1, jobs or default_jobs())
        self._pool = None
        self._group: Optional[str] = None
        self._n = 0

    def _pool_for(self, group: str):
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        from .worker import _worker_init

        if self._pool is not None and self._group != group:  # a new method: a fresh pool, never shared
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=mp.get_context("spawn"),
                                             initializer=_worker_init,
                                             initargs=(os.getpid(), self.data_root, self.threads))
            self._group = group
        return self._pool

    def submit(self, fn: Callable, *args: Any, group: str = "") -> Job:
        self._n += 1
        return _FutureJob(self._pool_for(group).submit(fn, *args), self._n)

    def wait(self, jobs: Sequence[Job], timeout: Optional[float] = None) -> list[Job]:
        from concurrent.futures import FIRST_COMPLETED, wait

        if not jobs:
            return []
        by_fut = {j.fut: j for j in jobs}  # type: ignore[attr-defined]
        done, _ = wait(list(by_fut), timeout=timeout, return_when=FIRST_COMPLETED)
        return [by_fut[f] for f in done]

    def close(self, abort: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=abort)
            self._pool = None


# -- submitit (slurm, and its local cluster) ---------------------------------------------------------------------

def _submitit():
    try:
        import submitit
    except ImportError:
        raise ExecutorError(f"this executor needs submitit, which is not installed: {SUBMITIT_HINT}") from None
    return submitit


def _local_job_alive(pid: str) -> bool:
    """Whether submitit-local's controller process ``pid`` (the job id) still runs (not a zombie, not reused)."""
    try:
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
        cmdline = Path(f"/proc/{int(pid)}/cmdline").read_bytes()
    except (OSError, ValueError):
        if not Path("/proc").is_dir():  # no procfs: ask the kernel
            try:
                os.kill(int(pid), 0)
                return True
            except (OSError, ValueError):
                return False
        return False
    return stat[stat.rindex(")") + 2] != "Z" and b"submitit" in cmdline


class _SubmititJob(Job):
    def __init__(self, job, cluster: str, folder: Path, reloaded: bool = False):
        self.job = job
        self.cluster = cluster
        self.folder = folder
        self.id = str(job.job_id)
        self.reloaded = reloaded

    def has_result(self) -> bool:
        return self.job.paths.result_pickle.exists()

    def done(self) -> bool:
        if self.has_result():
            return True
        if self.cluster == "local":
            proc = getattr(self.job, "_process", None)
            if proc is not None:
                return proc.poll() is not None
            return not _local_job_alive(self.id)  # reloaded by a restarted driver: no process handle
        return self.job.done()

    def result(self) -> Any:
        while not self.done():
            time.sleep(0.2 if self.cluster == "local" else 2.0)
        if self.cluster == "local" and not self.has_result():
            raise ExecutorError(f"job {self.id} ended without a result; see its log {self.job.paths.stderr}")
        return self.job.result()

    def cancel(self) -> None:
        if self.cluster == "local" or self.done():
            return  # submitit-local runs at most --jobs at once: every job in flight has started
        try:
            if self.job.state in ("PENDING", "REQUEUED"):
                self.job.cancel(check=False)
        except Exception:  # noqa: BLE001 - best effort
            pass

    def cleanup(self) -> None:
        for p in (self.job.paths.result_pickle, self.job.paths.submitted_pickle):
            try:
                p.unlink()
            except OSError:
                pass


class SubmititExecutor(Executor):
    """submitit's ``AutoExecutor``: ``cluster="slurm"`` (``--executor slurm``) or ``"local"`` (``submitit-local``)."""

    batch_target_s = 60.0
    restartable = True

    def __init__(self, folder: str | Path, cluster: str = "local", data_root: Optional[str] = None, threads: int = 1,
                 jobs: Optional[int] = None, slurm_partition: Optional[str] = None,
                 slurm_time: Optional[int] = None, slurm_gpus: Optional[int] = None,
                 slurm_cpus: Optional[int] = None, slurm_mem: Optional[float] = None):
        super().__init__(data_root, threads)
        submitit = _submitit()
        self.cluster = cluster
        self.name = "slurm" if cluster == "slurm" else f"submitit-{cluster}"
        self.remote = cluster == "slurm"
        # a folder of its own per driver: submitit-local names jobs by pid, and pids are reused
        self.folder = Path(folder).resolve() / f"d-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._ex = submitit.AutoExecutor(folder=self.folder, cluster=cluster)
        params: dict[str, Any] = {"name": "zsar-bench", "cpus_per_task": int(slurm_cpus or self.threads)}
        if cluster == "slurm":
            params.update(timeout_min=int(slurm_time), slurm_partition=slurm_partition,
                          gpus_per_node=int(slurm_gpus or 0))
            if slurm_mem:
                params["mem_gb"] = float(slurm_mem)
            self.max_in_flight = jobs  # None: submit everything, Slurm queues it
            self.time_limit_s = 60.0 * slurm_time
        else:
            params["timeout_min"] = int(slurm_time or LOCAL_TIMEOUT_MIN)
            self.max_in_flight = max(1, jobs or default_jobs())
            self.time_limit_s = 60.0 * slurm_time if slurm_time else None
        self._ex.update_parameters(**params)
        self.poll_s = 0.5 if cluster == "local" else 5.0

    def submit(self, fn: Callable, *args: Any, group: str = "") -> Job:
        job = self._ex.submit(_in_worker, (self.data_root, self.threads), fn, *args)
        return _SubmititJob(job, self.cluster, self.folder)

    def entry(self, job: Job) -> dict:
        """What the state file keeps of a job to reload it."""
        return {"id": job.id, "folder": str(job.folder), "cluster": self.cluster}  # type: ignore[attr-defined]

    def reload(self, entry: dict) -> Optional[Job]:
        submitit = _submitit()
        if entry.get("cluster") != self.cluster:
            return None
        cls = submitit.SlurmJob if self.cluster == "slurm" else submitit.LocalJob
        folder = Path(entry["folder"])
        return _SubmititJob(cls(folder=folder, job_id=str(entry["id"])), self.cluster, folder, reloaded=True)

    def close(self, abort: bool = False) -> None:
        pass  # jobs outlive the driver on purpose: a restarted driver collects them (state file)


# -- ray ------------------------------------------------------------------------------------------------------

def _ray():
    try:
        import ray
    except ImportError:
        raise ExecutorError(f"--executor ray needs Ray, which is not installed: {RAY_HINT}") from None
    return ray


class _RayJob(Job):
    def __init__(self, ray, ref, n: int):
        self._ray = ray
        self.ref = ref
        self.id = f"ray-{n}"

    def done(self) -> bool:
        ready, _ = self._ray.wait([self.ref], num_returns=1, timeout=0)
        return bool(ready)

    def result(self) -> Any:
        try:
            return self._ray.get(self.ref)
        except Exception as e:  # RayTaskError wraps the job's own exception: hand that one back
            cause = getattr(e, "cause", None)
            if isinstance(cause, BaseException):
                raise cause from e
            raise

    def cancel(self) -> None:
        try:
            self._ray.cancel(self.ref, force=True)
        except Exception:  # noqa: BLE001 - finished or gone
            pass


class RayExecutor(Executor):
    """One Ray task per job, each in a fresh worker process (``max_calls=1``); ``address``: a running cluster."""

    name = "ray"
    batch_target_s = 30.0
    remote = True

    def __init__(self, address: Optional[str] = None, data_root: Optional[str] = None, threads: int = 1,
                 jobs: Optional[int] = None, gpus_per_job: float = 0):
        super().__init__(data_root, threads)
        ray = self._rt = _ray()
        self.max_in_flight = jobs
        self._started = False
        if not ray.is_initialized():
            env = {k: v for k, v in os.environ.items() if k.startswith("ZSAR_BENCH_") or k.endswith("_OFFLINE")}
            ray.init(address=address, ignore_reinit_error=True, runtime_env={"env_vars": env} if env else None)
            self._started = True
        self._remote = ray.remote(max_calls=1, num_cpus=self.threads, num_gpus=gpus_per_job)(_in_worker)
        self._n = 0

    def submit(self, fn: Callable, *args: Any, group: str = "") -> Job:
        self._n += 1
        return _RayJob(self._rt, self._remote.remote((self.data_root, self.threads), fn, *args), self._n)

    def wait(self, jobs: Sequence[Job], timeout: Optional[float] = None) -> list[Job]:
        if not jobs:
            return []
        by_ref = {j.ref: j for j in jobs}  # type: ignore[attr-defined]
        ready, _ = self._rt.wait(list(by_ref), num_returns=1, timeout=timeout)
        return [by_ref[r] for r in ready]

    def close(self, abort: bool = False) -> None:
        if self._started:
            self._rt.shutdown()
            self._started = False


# -- configuration, checks, construction -------------------------------------------------------------------------

@dataclass
class ExecutorConfig:
    """What ``--executor`` and its options ask for (``jobs`` and ``threads`` are ``run_specs`` arguments)."""

    kind: str = "local"
    runs_per_job: Optional[int] = None  # None: the batching rule (module docstring)
    jobs_dir: Optional[str] = None  # submitit: job folders and state.json (default <records>.jobs)
    slurm_partition: Optional[str] = None
    slurm_time: Optional[int] = None  # minutes
    slurm_gpus: Optional[int] = None
    slurm_cpus: Optional[int] = None
    slurm_mem: Optional[float] = None  # GB
    ray_address: Optional[str] = None

    @classmethod
    def from_args(cls, args: Any) -> "ExecutorConfig":
        """From the run parser's namespace (``--executor``, ``--runs-per-job``, ``--jobs-dir``, ``--slurm-*``,
        ``--ray-address``); attributes it lacks keep their defaults."""
        out = {}
        for f in cls.__dataclass_fields__:
            v = getattr(args, "executor" if f == "kind" else f, None)
            if v is not None:
                out[f] = v
        return cls(**out)

    def check(self) -> None:
        """ExecutorError for a back end that cannot be used as configured (nothing is started)."""
        if self.kind not in EXECUTORS:
            raise ExecutorError(f"unknown executor {self.kind!r}; choose one of {', '.join(EXECUTORS)}")
        if self.runs_per_job is not None and self.runs_per_job < 1:
            raise ExecutorError(f"--runs-per-job {self.runs_per_job}: give 1 or more (or leave it out for the rule)")
        for name in ("slurm_time", "slurm_gpus", "slurm_cpus", "slurm_mem"):
            v = getattr(self, name)
            if v is not None and (v < 0 or (name in ("slurm_time", "slurm_cpus") and v < 1)):
                raise ExecutorError(f"--{name.replace('_', '-')} {v}: give a positive number")
        if self.kind == "slurm":
            missing = [f"--{n.replace('_', '-')}" for n in ("slurm_partition", "slurm_time") if not getattr(self, n)]
            if missing:
                raise ExecutorError(f"--executor slurm needs {' and '.join(missing)} (e.g. --slurm-partition gpu "
                                    "--slurm-time 60: the partition and each job's time limit in minutes)")
        else:
            allowed = ("slurm_time", "slurm_cpus") if self.kind == "submitit-local" else ()
            given = [f"--{n.replace('_', '-')}" for n in ("slurm_partition", "slurm_time", "slurm_gpus", "slurm_cpus",
                                                          "slurm_mem") if getattr(self, n) is not None and n not in allowed]
            if given:
                raise ExecutorError(f"{', '.join(given)} apply to --executor slurm only (this is --executor {self.kind})")
        if self.kind != "ray" and self.ray_address:
            raise ExecutorError(f"--ray-address applies to --executor ray only (this is --executor {self.kind})")
        if self.kind in ("slurm", "submitit-local"):
            _submitit()
        if self.kind == "ray":
            _ray()

    def jobs_folder(self, records_path: str | Path) -> Path:
        return Path(self.jobs_dir) if self.jobs_dir else Path(f"{records_path}.jobs")


def node_local_reason(path: str | Path) -> Optional[str]:
    """Why ``path`` is probably private to one machine (under /tmp, $TMPDIR, a tmpfs, ...), or None."""
    p = Path(os.path.realpath(Path(path).expanduser()))
    roots = list(NODE_LOCAL_ROOTS) + [os.environ[v] for v in ("TMPDIR", "SLURM_TMPDIR", "TMP", "TEMP")
                                      if os.environ.get(v, "").startswith("/")]
    for root in roots:
        r = Path(os.path.realpath(root)) if os.path.exists(root) else Path(root)
        if r != Path("/") and (p == r or r in p.parents):
            return f"it is under {root}, which is node-local on a cluster"
    fstype = _mount_fstype(p)
    if fstype in ("tmpfs", "ramfs"):
        return f"it is on a {fstype} (memory of one machine)"
    return None


def _mount_fstype(p: Path) -> Optional[str]:
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    best, fstype = "", None
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        mnt = parts[1].replace("\\040", " ")
        if (str(p) == mnt or str(p).startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best):
            best, fstype = mnt, parts[2]
    return fstype


def check_shared_storage(paths: dict[str, Path]) -> None:
    """``--executor slurm``: each of ``paths`` ({what: path}, e.g. the data root and the records file)
    must be on storage every node mounts, and writable. ExecutorError naming the fix otherwise."""
    fixes = {"data root": "--data-root /shared/zsar-data", "records file": "--records /shared/results/records.jsonl",
             "jobs folder": "--jobs-dir /shared/zsar-jobs"}
    problems = []
    for what, path in paths.items():
        why = node_local_reason(path)
        if why:
            problems.append(f"the {what} {path} is not on shared storage ({why}): compute nodes would not see "
                            f"it; pass {fixes.get(what, what)} (a folder every node mounts, e.g. in your home "
                            "or project space)")
            continue
        folder = Path(path) if what != "records file" else Path(path).parent
        probe = folder
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
            problems.append(f"the {what} {path} is not writable ({probe}); pass {fixes.get(what, what)} "
                            "in a writable folder on shared storage")
    if problems:
        raise ExecutorError("--executor slurm: " + "; and ".join(problems))


def make_executor(cfg: ExecutorConfig, jobs: Optional[int], threads: int, data_root: Optional[str],
                  records_path: str | Path, gpus_per_job: float = 0) -> Executor:
    cfg.check()
    if cfg.kind == "inline":
        return InlineExecutor(data_root, threads)
    if cfg.kind == "local":
        return LocalExecutor(data_root, threads, jobs)
    if cfg.kind == "ray":
        return RayExecutor(cfg.ray_address, data_root, threads, jobs, gpus_per_job=gpus_per_job)
    cluster = "slurm" if cfg.kind == "slurm" else "local"
    return SubmititExecutor(cfg.jobs_folder(records_path), cluster, data_root, threads, jobs,
                            cfg.slurm_partition, cfg.slurm_time, cfg.slurm_gpus, cfg.slurm_cpus, cfg.slurm_mem)


# -- batching ----------------------------------------------------------------------------------------------------

def measured_run_seconds(records: Iterable[dict]) -> dict[tuple[str, str], float]:
    """(method, dataset) -> median ``train_s + eval_s`` over those records (the batching rule's ``t``)."""
    times: dict[tuple[str, str], list[float]] = {}
    for r in records:
        try:
            t = float(r.get("train_s") or 0) + float(r.get("eval_s") or 0)
        except (TypeError, ValueError):
            continue
        if t > 0 and isinstance(r.get("method"), str) and isinstance(r.get("dataset"), str):
            times.setdefault((r["method"], r["dataset"]), []).append(t)
    return {k: float(statistics.median(v)) for k, v in times.items()}


def runs_per_job(per_run_s: Optional[float], target_s: float, n_runs: int,
                 time_limit_s: Optional[float] = None, override: Optional[int] = None) -> int:
    """Runs in one job: ``override``; else ``ceil(target_s / per_run_s)`` (1 when ``per_run_s`` is unknown or
    the target is 0), capped to what fits in half of ``time_limit_s`` and to ``n_runs``; at least 1."""
    if override:
        return max(1, int(override))
    if not per_run_s or per_run_s <= 0 or target_s <= 0:
        return 1
    k = math.ceil(target_s / per_run_s)
    if time_limit_s:
        k = min(k, int(0.5 * time_limit_s // per_run_s))
    return max(1, min(k, max(1, n_runs)))


# -- the restart state of submitit sweeps ------------------------------------------------------------------------

class JobState:
    """``<jobs dir>/state.json``: the jobs submitted and not collected yet, with their run keys, in order.

    Held by one driver at a time (``flock`` on ``driver.lock``, released by the kernel when the driver dies);
    every change is written to a temporary file and renamed over the old one."""

    VERSION = 1

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / "state.json"
        self._lock_fd: Optional[int] = None
        self.jobs: list[dict] = []

    def acquire(self) -> "JobState":
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / "driver.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise ExecutorError(f"another zsar-bench driver is using the jobs folder {self.folder}; wait for it to "
                                "finish (its runs are recorded in the same records file) or pass another --jobs-dir")
        self._lock_fd = fd
        self.jobs = self._read()
        return self

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _read(self) -> list[dict]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            import warnings

            warnings.warn(f"{self.path}: unreadable job state ignored; unrecorded runs are submitted again",
                          stacklevel=2)
            return []
        jobs = data.get("jobs") if isinstance(data, dict) else None
        return [j for j in jobs if isinstance(j, dict) and "id" in j and isinstance(j.get("keys"), list)] \
            if isinstance(jobs, list) else []

    def _write(self) -> None:
        tmp = self.path.with_name(f".state.{os.getpid()}.tmp")
        with open(tmp, "w") as f:
            json.dump({"version": self.VERSION, "jobs": self.jobs}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    @staticmethod
    def keys_of(entry: dict) -> list[tuple]:
        return [tuple(k) for k in entry["keys"]]

    def add(self, entry: dict, keys: Sequence[tuple]) -> None:
        self.jobs.append({**entry, "keys": [list(k) for k in keys], "submitted": time.strftime("%Y-%m-%dT%H:%M:%S")})
        self._write()

    def remove(self, job_id: str) -> None:
        n = len(self.jobs)
        self.jobs = [j for j in self.jobs if str(j["id"]) != str(job_id)]
        if len(self.jobs) != n:
            self._write()
