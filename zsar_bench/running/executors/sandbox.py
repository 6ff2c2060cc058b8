"""``--executor sandbox``: the local executor with each worker in a bubblewrap sandbox, for plugins you do not trust.

A local worker runs as your user: its method code can read every file you can, the feature store with its labels
included. A sandboxed worker (``bwrap``) sees the file system read-only, has no network, a private ``/tmp`` and
none of the data root: the data root is replaced by an empty folder. The feature sets its runs need are handed over
by the driver, without labels and with video ids replaced by row numbers (``export_feature_set``), in a private
folder bound read-only; the worker's own data root (its text-embedding cache) is a fresh folder in its private
``/tmp``, so a method that embeds texts encodes them again in every worker. Its environment holds only what Python,
torch and the plugins need (``KEEP_ENV``). Replies travel as in the local executor (``wire``: no pickle).

What it does not hide: the rest of the file system, read-only (a plugin can still read your home folder), and the
driver's process table. It needs ``bwrap`` (Debian/Ubuntu: ``apt-get install bubblewrap``) and user namespaces.
"""
from __future__ import annotations

import dataclasses
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from ..runner import HANDOFF_ENV, cached_feature_set, spec_cross_dataset
from ..worker import _run_batch
from .base import ExecutorError, Job
from .local import LocalExecutor, _serve, _Worker

BWRAP = "bwrap"
SANDBOX_DATA_ROOT = "/tmp/zsar-bench-data"  # inside a sandbox: the worker's own, empty data root
KEEP_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "PYTHONPATH", "VIRTUAL_ENV", "ZSAR_BENCH_PLUGINS",
            "ZSAR_BENCH_DISABLE_PLUGINS", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "NLTK_DATA", "CUDA_VISIBLE_DEVICES")


def _bwrap_args(hide: list[str], handoff: Optional[str]) -> list[str]:
    """Read-only root, private /tmp (the code on ``sys.path`` under /tmp bound back, read-only), no network, the
    ``hide`` folders replaced by empty ones, the ``handoff`` folder bound read-only."""
    args = [BWRAP, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--unshare-net",
            "--unshare-ipc", "--die-with-parent", "--new-session"]
    for path in dict.fromkeys(os.path.realpath(p) for p in sys.path if p):
        if (path == "/tmp" or path.startswith("/tmp/")) and os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in hide:
        args += ["--tmpfs", path]
    if handoff:
        args += ["--ro-bind", handoff, handoff]
    return args


def check_sandbox() -> None:
    """ExecutorError unless a bubblewrap sandbox can start here."""
    if shutil.which(BWRAP) is None:
        raise ExecutorError("--executor sandbox needs bubblewrap (bwrap), which is not installed; install it "
                            "(Debian/Ubuntu: apt-get install bubblewrap) or use --executor local")
    probe = subprocess.run([*_bwrap_args([], None), "--", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        why = (probe.stderr.strip().splitlines() or ["no message"])[-1]
        raise ExecutorError(f"--executor sandbox: bubblewrap cannot start a sandbox here ({why}); user namespaces may "
                            "be disabled; use --executor local")


def sandbox_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in KEEP_ENV}
    env.update({"HF_HOME": "/tmp/hf", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
    return env


def export_feature_set(fs: Any, folder: Path) -> None:
    """``fs`` as a worker may see it: no labels, no partition, video ids replaced by row numbers (a real id can name
    its class: ``v_ApplyEyeMakeup_g01_c01``), pickled into ``folder`` (which the driver made, private)."""
    videos = dataclasses.replace(fs.videos, video_ids=np.array([str(i) for i in range(len(fs.videos))]))
    bare = dataclasses.replace(fs, videos=videos, labels=None, partition=None)
    path = folder / f"{fs.dataset}__{fs.name}.pkl"
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(bare, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


class _SandboxWorker(_Worker):
    """A worker process started by bubblewrap, speaking over a socket pair."""

    def __init__(self, init_args: tuple, hide: list[str], handoff: str):
        parent, child = socket.socketpair()
        cmd = [*_bwrap_args(hide, handoff), "--", sys.executable, "-m", "zsar_bench.running.executors.sandbox",
               str(child.fileno())]
        env = {**sandbox_env(), HANDOFF_ENV: handoff}
        self.proc = subprocess.Popen(cmd, pass_fds=(child.fileno(),), env=env, stdin=subprocess.DEVNULL)
        child.close()
        self.conn = Connection(parent.detach())
        self.conn.send_bytes(pickle.dumps(init_args))
        self.job = None

    def exitcode(self, wait_s: Optional[float]) -> Optional[int]:
        try:
            return self.proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            return None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def sentinels(self) -> list:
        return []  # the socket reaches end-of-file when the sandbox ends

    def kill(self) -> None:
        self.proc.kill()


class SandboxExecutor(LocalExecutor):
    """``LocalExecutor`` whose workers run in bubblewrap sandboxes (module docstring)."""

    name = "sandbox"

    def __init__(self, data_root: Optional[str] = None, threads: int = 1, jobs: Optional[int] = None):
        check_sandbox()
        super().__init__(data_root, threads, jobs)
        self._handoff = Path(tempfile.mkdtemp(prefix="zsar-bench-handoff-"))
        self._exported: set[tuple[str, str]] = set()

    def _init_args(self) -> tuple:
        env = {**sandbox_env(), HANDOFF_ENV: str(self._handoff)}
        return os.getpid(), SANDBOX_DATA_ROOT, self.threads, env, list(sys.path)

    def _new_worker(self) -> _Worker:
        hide = [str(Path(self.data_root).resolve())] if self.data_root else []
        return _SandboxWorker(self._init_args(), hide, str(self._handoff))

    def submit(self, fn: Callable, *args: Any, group: str = "") -> Job:
        if fn is _run_batch:
            for spec in args[0]:
                self._export(spec)
        return super().submit(fn, *args, group=group)

    def _export(self, spec: Any) -> None:
        for dataset in filter(None, (spec.dataset, spec_cross_dataset(spec))):
            if (dataset, spec.features) not in self._exported:
                export_feature_set(cached_feature_set(dataset, spec.features), self._handoff)
                self._exported.add((dataset, spec.features))

    def close(self, abort: bool = False) -> None:
        super().close(abort)
        shutil.rmtree(self._handoff, ignore_errors=True)


def main(fd: int) -> None:
    """A sandboxed worker: its settings from the driver, then the local worker's loop."""
    conn = Connection(fd)
    init_args = pickle.loads(conn.recv_bytes())  # written by the driver
    _serve(conn, init_args)


if __name__ == "__main__":
    main(int(sys.argv[1]))
