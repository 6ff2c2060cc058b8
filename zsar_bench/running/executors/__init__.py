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

One module per part: ``base`` (the interface, ``ExecutorError``, what runs inside a job's process), one per back
end (``inline``, ``local``, ``submitit_backend``, ``ray_backend``: not ``submitit.py``/``ray.py``, which would
shadow those libraries for a process started in this folder), ``config`` (``ExecutorConfig``, ``make_executor``),
``storage`` (the shared-storage check), ``batching`` (the batching rule) and ``state`` (the restart state file).
"""
from .base import EXECUTORS, Executor, ExecutorError, Job, worker_info
from .batching import measured_run_seconds, runs_per_job
from .config import ExecutorConfig, make_executor
from .state import JobState
from .storage import check_shared_storage, node_local_reason

__all__ = [
    "EXECUTORS", "Executor", "ExecutorConfig", "ExecutorError", "Job", "JobState", "check_shared_storage",
    "make_executor", "measured_run_seconds", "node_local_reason", "runs_per_job", "worker_info",
]
