"""The executor interface every back end implements (``Job``, ``Executor``), its error, and what runs inside a
job's process (``_in_worker``, ``worker_info``). The package docstring tells how executors and batching work."""
from __future__ import annotations

import os
import socket
import time
from abc import ABC, abstractmethod
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from ...errors import ZsarBenchError
from ...paths import data_root
from ...runtime import available_cores
from ..worker import _worker_setup

EXECUTORS = ("local", "sandbox", "inline", "submitit-local", "slurm", "ray")


class ExecutorError(ZsarBenchError):
    """An executor cannot be used as asked (missing package, missing option, node-local storage): one line."""


def default_jobs() -> int:
    """Worker processes when ``--jobs`` is not given: the cores this process may use (at least 1)."""
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
    _worker_setup(*setup)
    return fn(*args)


def _in_worker_replying(setup: tuple, reply: str, fn: Callable, *args: Any) -> None:
    """``_in_worker`` for back ends whose result the driver would otherwise unpickle (submitit): what ``fn``
    returns is written to ``reply`` as ``wire`` bytes (no pickle), and the job returns nothing."""
    from ..wire import encode_json, encode_outputs
    from ..worker import _run_batch, one_line

    try:
        _worker_setup(*setup)
        out = fn(*args)
        data = encode_outputs(out) if fn is _run_batch else encode_json(out)
    except Exception as e:  # noqa: BLE001 - the job's failure, as text
        data = encode_json({"__job_error__": one_line(e)})
    tmp = f"{reply}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, reply)


def worker_info() -> dict:
    """Where a job ran: pid, host, torch threads and data root (tests and ``--threads`` checks use it)."""
    import torch

    return {"pid": os.getpid(), "host": socket.gethostname(), "torch_threads": torch.get_num_threads(),
            "data_root": str(data_root())}
