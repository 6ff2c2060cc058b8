"""``--executor slurm`` and ``submitit-local``: submitit's ``AutoExecutor`` on Slurm or on its local cluster; jobs
outlive the driver and are reloaded by id after a restart (``state.JobState``).

Named ``submitit_backend``, not ``submitit``: a ``submitit.py`` here would shadow the library for any Python
started in this folder (``python -m submitit...`` puts the working directory first on ``sys.path``)."""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any, Callable, Optional

from ..wire import MAX_REPLY_BYTES
from .base import Executor, ExecutorError, Job, _in_worker_replying, default_jobs
from .state import UnsafeStateError, confine_entry, confined

SUBMITIT_HINT = "pip install submitit (a dependency of zsar-bench: reinstall with `pip install -e .`)"
LOCAL_TIMEOUT_MIN = 7 * 24 * 60  # submitit-local kills a job after its timeout; the default would be 2 minutes


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
    """A submitit job whose result is its reply file (``wire`` bytes, written by ``_in_worker_replying``): the
    driver never calls submitit's ``result()``, which unpickles what the job wrote."""

    def __init__(self, job, cluster: str, folder: Path, reply: Path, runs: Optional[int],
                 reloaded: bool = False, jobs_root: Optional[Path] = None):
        self.job = job
        self.cluster = cluster
        self.folder = folder
        self.reply = reply
        self.runs = runs  # the number of runs of a ``_run_batch`` job; None for any other function
        self.id = str(job.job_id)
        self.reloaded = reloaded
        self.jobs_root = jobs_root  # a reloaded job: its reply must be read from inside this folder

    def _check_result_path(self) -> None:
        """A reloaded job's reply must be a plain file inside the jobs folder (not a symlink leading out)."""
        if self.jobs_root is None:
            return
        p = self.reply
        if p.is_symlink() or confined(p, self.jobs_root) is None:
            raise UnsafeStateError(f"job {self.id}: its reply {p} is a symlink or lies outside the jobs folder "
                                   f"{self.jobs_root}; not loaded. Delete {self.jobs_root / 'state.json'} and rerun")

    def has_result(self) -> bool:
        return self.reply.exists()

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
        from ..wire import decode_json, decode_outputs

        while not self.done():
            time.sleep(0.2 if self.cluster == "local" else 2.0)
        if not self.has_result():
            raise ExecutorError(f"job {self.id} ended without a result; see its log {self.job.paths.stderr}")
        self._check_result_path()
        if self.reply.stat().st_size > MAX_REPLY_BYTES:
            raise ExecutorError(f"job {self.id}: its reply {self.reply} is larger than any the harness writes")
        data = self.reply.read_bytes()
        out = decode_json(data) if self.runs is None or _is_error(data) else decode_outputs(data, self.runs)
        if isinstance(out, dict) and isinstance(out.get("__job_error__"), str):
            raise ExecutorError(out["__job_error__"])
        return out

    def cancel(self) -> None:
        if self.cluster == "local" or self.done():
            return  # submitit-local runs at most --jobs at once: every job in flight has started
        try:
            if self.job.state in ("PENDING", "REQUEUED"):
                self.job.cancel(check=False)
        except Exception:  # noqa: BLE001 - best effort
            pass

    def cleanup(self) -> None:
        for p in (self.reply, self.job.paths.result_pickle, self.job.paths.submitted_pickle):
            try:
                p.unlink()
            except OSError:
                pass


def _is_error(data: bytes) -> bool:
    """A reply that says the job itself failed (``{"__job_error__": ...}``)."""
    from ..wire import WireError, decode_json

    try:
        out = decode_json(data)
    except WireError:
        return False
    return isinstance(out, dict) and "__job_error__" in out


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
        self._n = 0

    def submit(self, fn: Callable, *args: Any, group: str = "") -> Job:
        from ..worker import _run_batch

        self._n += 1
        reply = self.folder / f"reply-{self._n}-{secrets.token_hex(4)}.npz"
        job = self._ex.submit(_in_worker_replying, (self.data_root, self.threads), str(reply), fn, *args)
        return _SubmititJob(job, self.cluster, self.folder, reply, len(args[0]) if fn is _run_batch else None)

    def entry(self, job: Job) -> dict:
        """What the state file keeps of a job to reload it."""
        return {"id": job.id, "folder": str(job.folder), "cluster": self.cluster,  # type: ignore[attr-defined]
                "reply": str(job.reply), "runs": job.runs}  # type: ignore[attr-defined]

    def reload(self, entry: dict) -> Optional[Job]:
        """The job of a state-file entry. Its folder must lie inside the jobs folder (``state.confine_entry``,
        checked again here: submitit unpickles what it finds there)."""
        submitit = _submitit()
        if entry.get("cluster") != self.cluster:
            return None
        root = self.folder.parent  # the jobs folder (resolved); this driver's own folder is one inside it
        entry = confine_entry(entry, root, root / "state.json")
        cls = submitit.SlurmJob if self.cluster == "slurm" else submitit.LocalJob
        folder = Path(entry["folder"])
        reply, runs = entry.get("reply"), entry.get("runs")
        if not isinstance(reply, str) or confined(reply, root) is None or not (
                runs is None or (isinstance(runs, int) and not isinstance(runs, bool) and runs >= 0)):
            raise UnsafeStateError(f"job {entry['id']}: its reply {str(reply)[:200]!r} is not a file inside the jobs "
                                   f"folder {root} (or its run count is not one); not loaded. Delete "
                                   f"{root / 'state.json'} and rerun")
        job = _SubmititJob(cls(folder=folder, job_id=entry["id"]), self.cluster, folder, Path(reply), runs,
                           reloaded=True, jobs_root=root)
        job._check_result_path()
        return job

    def close(self, abort: bool = False) -> None:
        pass  # jobs outlive the driver on purpose: a restarted driver collects them (state file)
