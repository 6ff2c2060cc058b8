"""The restart state of submitit sweeps: ``<jobs dir>/state.json`` and the driver lock (``JobState``)."""
from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Optional, Sequence

from .base import ExecutorError


class JobState:
    """``<jobs dir>/state.json``: the jobs submitted and not collected yet, with their run keys, in order.

    Held by one driver at a time (``flock`` on ``driver.lock``, released by the kernel when the driver dies);
    every change is written to a temporary file and renamed over the old one."""

    VERSION = 1

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / "state.json"
        self._lock_fd: Optional[int] = None
        self.jobs: list[dict] = []

    def acquire(self) -> "JobState":
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / "driver.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise ExecutorError(f"another zsar-bench driver is using the jobs folder {self.folder}; wait for it to "
                                "finish (its runs are recorded in the same records file) or pass another --jobs-dir")
        self._lock_fd = fd
        self.jobs = self._read()
        return self

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _read(self) -> list[dict]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            import warnings

            warnings.warn(f"{self.path}: unreadable job state ignored; unrecorded runs are submitted again",
                          stacklevel=2)
            return []
        jobs = data.get("jobs") if isinstance(data, dict) else None
        return [j for j in jobs if isinstance(j, dict) and "id" in j and isinstance(j.get("keys"), list)] \
            if isinstance(jobs, list) else []

    def _write(self) -> None:
        tmp = self.path.with_name(f".state.{os.getpid()}.tmp")
        with open(tmp, "w") as f:
            json.dump({"version": self.VERSION, "jobs": self.jobs}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    @staticmethod
    def keys_of(entry: dict) -> list[tuple]:
        return [tuple(k) for k in entry["keys"]]

    def add(self, entry: dict, keys: Sequence[tuple]) -> None:
        self.jobs.append({**entry, "keys": [list(k) for k in keys], "submitted": time.strftime("%Y-%m-%dT%H:%M:%S")})
        self._write()

    def remove(self, job_id: str) -> None:
        n = len(self.jobs)
        self.jobs = [j for j in self.jobs if str(j["id"]) != str(job_id)]
        if len(self.jobs) != n:
            self._write()
