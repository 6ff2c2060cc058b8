"""``--executor ray``: one Ray task per job, each in a fresh worker process (``max_calls=1``). Ray is optional
(the ``ray`` extra) and imported only when this back end is used. Named ``ray_backend``, not ``ray``: a ``ray.py``
here would shadow the library for any Python started in this folder (as ``submitit_backend`` explains)."""
from __future__ import annotations

import os
from typing import Any, Callable, Optional, Sequence

from .base import Executor, ExecutorError, Job, _in_worker

RAY_HINT = "pip install 'zsar-bench[ray]'"


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
