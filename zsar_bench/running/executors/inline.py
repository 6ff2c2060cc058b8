"""``--executor inline``: each job runs in the driver's own process when it is waited for (tests, debugging)."""
from __future__ import annotations

from concurrent.futures import CancelledError
from typing import Any, Callable, Optional, Sequence

from .base import Executor, Job


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
        # called after each job, before the driver reads its result (the driver restores the harness there:
        # ``guard.HarnessSnapshot``, so a method's patches never reach the metrics)
        self.after_job: Optional[Callable[[], None]] = None

    def submit(self, fn: Callable, *args: Any, group: str = "") -> Job:
        self._n += 1

        def thunk() -> Any:
            try:
                return fn(*args)
            finally:
                if self.after_job is not None:
                    self.after_job()

        return _InlineJob(self._n, thunk)

    def wait(self, jobs: Sequence[Job], timeout: Optional[float] = None) -> list[Job]:
        done = [j for j in jobs if j.done()]
        if done:
            return done
        for j in jobs:  # run the first job that has not run yet
            j.run()  # type: ignore[attr-defined]
            return [j]
        return []
