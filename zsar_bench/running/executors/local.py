"""``--executor local`` (the default): worker processes on this machine, one method's workers at a time.

Workers are forked from a warm fork server (``multiprocessing``'s forkserver) that has imported torch, numpy
and the harness once (``WARM_MODULES``), never a method plugin: a new method's workers start in a fraction of a
second instead of each importing torch again, and each is still a fresh process that serves one method only.

The driver writes each job to a worker's pipe (its own pickle: a worker may read what the driver wrote) and reads
the reply as bytes decoded by ``wire`` (JSON and ``.npz`` arrays, never unpickled): method code runs in the
worker, and nothing it sends back can run code in the driver, which computes every metric. A worker that dies
fails only the job it held; a fresh one takes its place."""
from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import sys
from multiprocessing.connection import wait as wait_ready
from typing import Any, Callable, Optional, Sequence

from ..wire import MAX_REPLY_BYTES, WireError, decode_json, decode_outputs, encode_json, encode_outputs
from ..worker import _run_batch, _worker_init, one_line
from .base import Executor, ExecutorError, Job, default_jobs

# Imported once by the fork server: libraries and the harness's own code (its models included, which pull in
# transformers: 3-4 s a process otherwise), never a method plugin (it would reach every method's workers).
WARM_MODULES = ["numpy", "torch", "threadpoolctl", "zsar_bench.running.worker", "zsar_bench.running.runner",
                "zsar_bench.models.er", "zsar_bench.models.semantic", "zsar_bench.models.projection",
                "zsar_bench.models.clip"]


class WorkerDiedError(ExecutorError):
    """The worker process running a job ended before it replied."""


class JobError(ExecutorError):
    """The job's function raised in the worker (its message, as text)."""


def _serve(conn, init_args: tuple) -> None:
    """A worker: set up (``worker._worker_init``), then run the jobs the driver writes, one at a time, replying
    with ``wire``'s bytes. Ends when the driver closes its end."""
    _worker_init(*init_args)
    while True:
        try:
            fn, args = pickle.loads(conn.recv_bytes())  # written by the driver
        except EOFError:
            return
        try:
            out = fn(*args)
            reply = encode_outputs(out) if fn is _run_batch else encode_json(out)
        except Exception as e:  # noqa: BLE001 - the job's failure, as text
            reply = encode_json({"__job_error__": one_line(e)})
        conn.send_bytes(reply)


def _decode(fn: Callable, args: tuple, data: bytes) -> Any:
    if fn is _run_batch:
        try:
            return decode_outputs(data, len(args[0]))
        except WireError:
            out = decode_json(data) if _is_json(data) else None
            if isinstance(out, dict) and isinstance(out.get("__job_error__"), str):
                raise JobError(out["__job_error__"]) from None
            raise
    out = decode_json(data)
    if isinstance(out, dict) and isinstance(out.get("__job_error__"), str):
        raise JobError(out["__job_error__"])
    return out


def _is_json(data: bytes) -> bool:
    try:
        decode_json(data)
        return True
    except WireError:
        return False


class _LocalJob(Job):
    def __init__(self, n: int, fn: Callable, args: tuple):
        self.id = f"local-{n}"
        self.fn, self.args = fn, args
        self._done = self._cancelled = False
        self._out: Any = None
        self._exc: Optional[BaseException] = None

    def finish(self, out: Any = None, exc: Optional[BaseException] = None) -> None:
        self._done, self._out, self._exc = True, out, exc

    def done(self) -> bool:
        return self._done

    def result(self) -> Any:
        if self._exc is not None:
            raise self._exc
        return self._out

    def cancel(self) -> None:
        if not self._done:
            self._cancelled = True
            self.finish(exc=ExecutorError(f"job {self.id} was cancelled"))


class _Worker:
    """One worker process and the driver's end of its pipe."""

    def __init__(self, init_args: tuple):
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(WARM_MODULES)
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_serve, args=(child, init_args), name="zsar-bench-worker")
        self.proc.start()
        child.close()
        self.job: Optional[_LocalJob] = None

    def give(self, job: _LocalJob) -> None:
        self.job = job
        self.conn.send_bytes(pickle.dumps((job.fn, job.args)))

    def collect(self) -> None:
        """The held job's reply (its pipe is readable) or its death (the process ended)."""
        job, self.job = self.job, None
        try:
            data = self.conn.recv_bytes(MAX_REPLY_BYTES)
        except (EOFError, OSError) as e:
            code = self.exitcode(5)
            job.finish(exc=WorkerDiedError(
                f"its worker process died (exit code {code}: killed, out of memory, os._exit in method code, or a "
                f"run that ignored --run-timeout){'' if isinstance(e, EOFError) else f' ({one_line(e)})'}"))
            return
        try:
            job.finish(out=_decode(job.fn, job.args, data))
        except Exception as e:  # noqa: BLE001 - a reply that is not the harness's: the job failed
            job.finish(exc=e)

    def exitcode(self, wait_s: float) -> Optional[int]:
        self.proc.join(wait_s)
        return self.proc.exitcode

    def alive(self) -> bool:
        return self.proc.is_alive()

    def sentinels(self) -> list:
        """What ``wait`` watches besides the pipe: the process's end."""
        return [self.proc.sentinel]

    def kill(self) -> None:
        self.proc.kill()

    def stop(self, kill: bool = False) -> None:
        try:
            self.conn.close()
        except OSError:
            pass
        if kill and self.alive():
            self.kill()
        self.exitcode(None if not kill else 10)
        if self.alive():
            self.kill()
            self.exitcode(None)


class LocalExecutor(Executor):
    """``jobs`` worker processes per method (forked from the warm fork server); one method's workers at a time."""

    name = "local"
    one_method_at_a_time = True

    def __init__(self, data_root: Optional[str] = None, threads: int = 1, jobs: Optional[int] = None):
        super().__init__(data_root, threads)
        self.jobs = max(1, jobs or default_jobs())
        self._workers: list[_Worker] = []
        self._queue: list[_LocalJob] = []
        self._group: Optional[str] = None
        self._n = 0

    def _init_args(self) -> tuple:
        return os.getpid(), self.data_root, self.threads, dict(os.environ), list(sys.path)

    def _new_worker(self) -> _Worker:
        return _Worker(self._init_args())

    def _use_group(self, group: str) -> None:
        if self._group != group:  # a new method: fresh workers, never shared with another method
            self._stop_workers(kill=False)
            self._group = group

    def submit(self, fn: Callable, *args: Any, group: str = "") -> Job:
        self._use_group(group)
        self._n += 1
        job = _LocalJob(self._n, fn, args)
        self._queue.append(job)
        self._dispatch()
        return job

    def _dispatch(self) -> None:
        """Hand queued jobs to idle workers, starting workers up to ``jobs`` (a dead one is replaced)."""
        self._queue = [j for j in self._queue if not j.done()]
        for w in [w for w in self._workers if w.job is None and not w.alive()]:
            w.stop()
            self._workers.remove(w)
        while self._queue:
            idle = next((w for w in self._workers if w.job is None), None)
            if idle is None and len(self._workers) < self.jobs:
                idle = self._new_worker()
                self._workers.append(idle)
            if idle is None:
                return
            job = self._queue.pop(0)
            try:
                idle.give(job)
            except (OSError, ValueError):  # the worker died before it took the job: a fresh one takes it
                idle.job = None
                idle.stop(kill=True)
                self._workers.remove(idle)
                self._queue.insert(0, job)

    def wait(self, jobs: Sequence[Job], timeout: Optional[float] = None) -> list[Job]:
        if not jobs:
            return []
        while True:
            done = [j for j in jobs if j.done()]
            if done:
                return done
            busy = {w.conn: w for w in self._workers if w.job is not None}
            busy.update({s: w for w in self._workers if w.job is not None for s in w.sentinels()})
            if not busy:
                raise ExecutorError("jobs are waited for that no worker holds (the executor was closed)")
            for ready in wait_ready(list(busy), timeout):
                w = busy[ready]
                if w.job is not None:
                    w.collect()
            self._dispatch()
            if timeout is not None and not any(j.done() for j in jobs):
                return []

    def _stop_workers(self, kill: bool) -> None:
        for w in self._workers:
            w.stop(kill=kill or w.job is not None)
            if w.job is not None:
                w.job.finish(exc=ExecutorError(f"job {w.job.id} was stopped"))
        self._workers = []

    def close(self, abort: bool = False) -> None:
        for job in self._queue:
            job.cancel()
        self._queue = []
        self._stop_workers(kill=abort)
