"""What runs inside a job's process: worker set-up (threads, data root, plugins) and a job (``run_batch``),
which calls ``runner.execute_run`` for each of its runs and returns scores or a ``RunFailure``.

Every executor back end (``executors/``) runs these functions; only the driver (``sweep.py``) records.
"""
from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Iterator, Optional, Sequence

from ..errors import ZsarBenchError
from ..paths import set_data_root
from ..plugins import ensure_method
from .runner import RunSpec, cached_feature_set, execute_run


def one_line(exc: BaseException) -> str:
    """``exc`` as one line: its type and the first line of its message, at most 300 characters."""
    text = str(exc).strip().splitlines()
    msg = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return msg if len(msg) <= 300 else msg[:297] + "..."


@dataclass
class RunFailure:
    """A run of a batch raised: the exception (picklable) and its traceback as text."""

    exc: BaseException
    trace: str = ""
    where: str = field(default="")
    text: str = ""  # the one-line message, for a failure that arrived as text (``from_text``)

    @classmethod
    def capture(cls, exc: BaseException) -> "RunFailure":
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:  # noqa: BLE001 - an exception that cannot travel back: keep its text
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        return cls(exc, trace, f"pid {os.getpid()}")

    @classmethod
    def from_text(cls, message: str, trace: str = "", where: str = "") -> "RunFailure":
        """A failure a worker reported as text (``wire``): its one-line message, trace and process."""
        return cls(RuntimeError(message), trace, where, message)

    def message(self) -> str:
        """The failure in one line: the exception's type and the first line of its message (at most 300 chars)."""
        return self.text or one_line(self.exc)

    def exception(self) -> BaseException:
        e = self.exc
        if e.__traceback__ is None and self.trace and hasattr(e, "add_note"):  # it crossed a process boundary
            e.add_note(f"raised in a job ({self.where}):\n{self.trace.rstrip()}")
        return e



def _worker_setup(data_root_path: Optional[str], threads: int) -> None:
    """A worker process before its first run: ``threads`` torch and BLAS threads (``--threads``), the data
    root. Each run then imports what its method needs (``plugins.ensure_method``): the built-in methods, and the
    third-party plugins only for a third-party method."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(max(1, threads))
    threadpool_limits(max(1, threads))
    set_data_root(data_root_path)


def _run_batch(specs: Sequence[RunSpec], timeout_s: Optional[float] = None, resolve_device_here: bool = False,
               hard_timeout: bool = False) -> list:
    """One job: ``execute_run`` for each spec, in order. Returns a list aligned with ``specs``: the output of
    ``execute_run`` (plus ``device`` and ``torch_threads``) or a ``RunFailure`` (the next run still runs). The job
    never reads the records file: only the driver decides what is recorded. Features are cached per process.
    ``timeout_s`` (``--run-timeout``): each run's wall-clock limit (``run_deadline``); ``hard_timeout``: this is a
    worker process, which exits once a run ignores its limit (never the driver's own process).
    ``resolve_device_here``: a job on a cluster node resolves the run's ``device_request`` (e.g. auto) there."""
    import torch

    outs: list = []
    for spec in specs:
        try:
            if resolve_device_here and spec.device_request:
                from ..runtime import resolve_device

                spec = replace(spec, device=resolve_device(spec.device_request))
            ensure_method(spec.method)
            fs = cached_feature_set(spec.dataset, spec.features, labels=False)  # a worker holds no label
            with run_deadline(timeout_s, hard_timeout):
                out = execute_run(spec, fs)
            out["device"] = spec.device
            out["torch_threads"] = torch.get_num_threads()
            outs.append(out)
        except Exception as e:  # noqa: BLE001 - handed to the driver, which records it as this run's failure
            outs.append(RunFailure.capture(e))
    return outs


class RunTimeoutError(ZsarBenchError, TimeoutError):
    """A run went past its time limit (``--run-timeout``)."""


HARD_EXIT_CODE = 75  # a worker that ran past its run's limit and its grace exits with this status


def _grace_s(timeout_s: float) -> float:
    """How long a run may ignore its timeout (swallowing the exception) before its worker process exits."""
    return max(2.0, min(60.0, 0.25 * timeout_s))


@contextmanager
def run_deadline(timeout_s: Optional[float], hard: bool = False) -> Iterator[None]:
    """Raise ``RunTimeoutError`` in the block once ``timeout_s`` seconds have passed (SIGALRM, in the main thread);
    ``hard``: also end this process (``os._exit``) if the block still runs ``_grace_s`` later (code that catches
    the exception, or hangs in C). None or 0: no limit."""
    if not timeout_s:
        yield
        return

    armed = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    old = None
    if armed:
        def on_alarm(signum, frame):
            raise RunTimeoutError(f"the run went past its time limit of {timeout_s:g}s (--run-timeout)")

        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, float(timeout_s))
    killer = threading.Timer(timeout_s + _grace_s(timeout_s), os._exit, args=(HARD_EXIT_CODE,)) if hard else None
    if killer is not None:
        killer.daemon = True
        killer.start()
    try:
        yield
    finally:
        if armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        if killer is not None:
            killer.cancel()


def _worker_init(driver_pid: int, data_root_path: Optional[str], threads: int,
                 environ: Optional[dict] = None, sys_path: Optional[list] = None) -> None:
    """A pool worker's start: tied to the driver's life, then set up. ``environ`` and ``sys_path``: the driver's
    at the time the pool starts (a worker forked from the fork server would otherwise see the server's, from
    whenever it started: plugins named in ``ZSAR_BENCH_PLUGINS`` since then would be unknown)."""
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
