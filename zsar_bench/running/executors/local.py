"""``--executor local`` (the default): a pool of worker processes per method, one method's pool at a time.

Workers are forked from a warm fork server (``multiprocessing``'s forkserver) that has imported torch, numpy
and the harness once (``WARM_MODULES``), never a method plugin: a new method's pool starts in a fraction of a
second instead of each worker importing torch again, and each worker is still a fresh process that serves one
method only."""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Optional, Sequence

from ..worker import _worker_init
from .base import Executor, Job, default_jobs

# Imported once by the fork server (never plugin code: it would reach every method's workers).
WARM_MODULES = ["numpy", "torch", "threadpoolctl", "zsar_bench.running.worker", "zsar_bench.running.runner"]


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
    """``jobs`` worker processes per method (forked from the warm fork server); one method's pool at a time."""

    name = "local"
    one_method_at_a_time = True

    def __init__(self, data_root: Optional[str] = None, threads: int = 1, jobs: Optional[int] = None):
        super().__init__(data_root, threads)
        self.jobs = max(1, jobs or default_jobs())
        self._pool = None
        self._group: Optional[str] = None
        self._n = 0

    def _pool_for(self, group: str):
        broken = self._pool is not None and getattr(self._pool, "_broken", False)  # a worker died (or was ended)
        if self._pool is not None and (self._group != group or broken):  # a new method: a fresh pool, never shared
            self._pool.shutdown(wait=True, cancel_futures=broken)
            self._pool = None
        if self._pool is None:
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(WARM_MODULES)
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=ctx,
                                             initializer=_worker_init,
                                             initargs=(os.getpid(), self.data_root, self.threads, dict(os.environ),
                                                       list(sys.path)))
            self._group = group
        return self._pool

    def submit(self, fn: Callable, *args: Any, group: str = "") -> Job:
        self._n += 1
        return _FutureJob(self._pool_for(group).submit(fn, *args), self._n)

    def wait(self, jobs: Sequence[Job], timeout: Optional[float] = None) -> list[Job]:
        if not jobs:
            return []
        by_fut = {j.fut: j for j in jobs}  # type: ignore[attr-defined]
        done, _ = wait(list(by_fut), timeout=timeout, return_when=FIRST_COMPLETED)
        return [by_fut[f] for f in done]

    def close(self, abort: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=abort)
            self._pool = None
