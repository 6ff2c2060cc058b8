"""What runs inside a job's process: worker set-up (threads, data root, plugins) and a job (``run_batch``),
which calls ``runner.execute_run`` for each of its runs and returns scores or a ``RunFailure``.

Every executor back end (``executors/``) runs these functions; only the driver (``sweep.py``) records.
"""
from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Optional, Sequence

from ..paths import set_data_root
from ..results.records import RecordStore
from .runner import RunSpec, cached_feature_set, execute_run, facts_of


@dataclass
class RunFailure:
    """A run of a batch raised: the exception (picklable) and its traceback as text. The batch stops there."""

    exc: BaseException
    trace: str = ""
    where: str = field(default="")

    @classmethod
    def capture(cls, exc: BaseException) -> "RunFailure":
        import pickle

        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:  # noqa: BLE001 - an exception that cannot travel back: keep its text
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        return cls(exc, trace, f"pid {os.getpid()}")

    def exception(self) -> BaseException:
        e = self.exc
        if e.__traceback__ is None and self.trace and hasattr(e, "add_note"):  # it crossed a process boundary
            e.add_note(f"raised in a job ({self.where}):\n{self.trace.rstrip()}")
        return e



def _worker_setup(data_root_path: Optional[str], threads: int) -> None:
    """A worker process before its first run: ``threads`` torch and BLAS threads (``--threads``), the data
    root, the method plugins."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(max(1, threads))
    threadpool_limits(max(1, threads))
    set_data_root(data_root_path)
    from ..plugins import load_plugins

    load_plugins()


def _run_batch(specs: Sequence[RunSpec], records_path: Optional[str] = None,
               resolve_device_here: bool = False) -> list:
    """One job: ``execute_run`` for each spec, in order. Returns a list aligned with ``specs``: the output of
    ``execute_run`` (plus ``device`` and ``torch_threads``), None for a run another command recorded meanwhile
    (checked just before it starts, by the key the driver resolved, when ``records_path`` is given), or a
    ``RunFailure``, after which the batch stops (the list is then shorter). Features are cached per process.
    ``resolve_device_here``: a job on a cluster node resolves the run's ``device_request`` (e.g. auto) there."""
    import torch

    store = RecordStore(records_path) if records_path is not None else None
    outs: list = []
    for spec in specs:
        try:
            if resolve_device_here and spec.device_request:
                from ..runtime import resolve_device

                spec = replace(spec, device=resolve_device(spec.device_request))
            fs = cached_feature_set(spec.dataset, spec.features)
            if store is not None and facts_of(spec, fs).key in store.keys():
                outs.append(None)
                continue
            out = execute_run(spec, fs)
            out["device"] = spec.device
            out["torch_threads"] = torch.get_num_threads()
            outs.append(out)
        except Exception as e:  # noqa: BLE001 - handed to the driver, which raises it after recording the rest
            outs.append(RunFailure.capture(e))
            break
    return outs


def _worker_init(driver_pid: int, data_root_path: Optional[str], threads: int,
                 environ: Optional[dict] = None, sys_path: Optional[list] = None) -> None:
    """A pool worker's start: tied to the driver's life, then set up. ``environ`` and ``sys_path``: the driver's
    at the time the pool starts (a worker forked from the fork server would otherwise see the server's, from
    whenever it started: plugins named in ``ZSAR_BENCH_PLUGINS`` since then would be unknown)."""
    import sys

    _die_with_driver(driver_pid)
    if environ is not None:
        os.environ.clear()
        os.environ.update(environ)
    if sys_path is not None:
        sys.path[:] = sys_path
    _worker_setup(data_root_path, threads)


def _die_with_driver(driver_pid: int) -> None:
    """Pool worker initializer: a worker never outlives its driver (kill -9 of a ``--jobs`` run included).

    The worker's parent is the driver or the driver's fork server (``executors/local.py``), which exits with
    the driver. On Linux the kernel kills the worker when that parent dies (PR_SET_PDEATHSIG); everywhere, a
    daemon thread exits the worker once it was re-parented or the driver is gone."""
    import os
    import signal
    import sys
    import threading

    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def orphaned() -> bool:
        if os.getppid() != parent:
            return True
        try:
            os.kill(driver_pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        return False

    if orphaned():  # the driver died before the lines above took effect
        os._exit(1)

    def watch() -> None:
        while not orphaned():
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="zsar-bench-driver-watch", daemon=True).start()
