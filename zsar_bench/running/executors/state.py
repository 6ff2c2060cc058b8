"""The restart state of submitit sweeps: ``<jobs dir>/state.json`` and the driver lock (``JobState``)."""
from __future__ import annotations

import fcntl
import json
import os
import re
import time
from pathlib import Path
from typing import Optional, Sequence

from .base import ExecutorError


class JobState:
    """``<jobs dir>/state.json``: the jobs submitted and not collected yet, with their run keys, in order.

    Held by one driver at a time (``flock`` on ``driver.lock``, released by the kernel when the driver dies);
    every change is written to a temporary file and renamed over the old one.

    A restarted driver asks submitit for the result of each job listed here, and submitit unpickles it: so
    every entry is checked when the file is read (``confine_entry``), before anything is loaded. Its job
    folder must lie inside the jobs folder (resolved: no ``..``, no symlink leading out) and its id must be a
    scheduler job id (digits, ``123_4`` for an array task); a file with any other entry is refused as a whole,
    with a one-line ``ExecutorError`` that names it and says to delete it."""

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
        try:
            self.jobs = self._read()
        except BaseException:  # a refused state file: no lock left behind
            self.release()
            raise
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
        jobs = [j for j in jobs if isinstance(j, dict) and "id" in j and isinstance(j.get("keys"), list)] \
            if isinstance(jobs, list) else []
        return [confine_entry(j, self.folder, self.path) for j in jobs]

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


# -- what a state file may name -------------------------------------------------------------------------------

JOB_ID = re.compile(r"[0-9]{1,20}(_[0-9]{1,20})?")  # a pid (submitit-local) or a Slurm job id, 123_4 for an array


class UnsafeStateError(ExecutorError):
    """A state file names a job folder outside its jobs folder, or a job id that is not one: never loaded."""


def _refuse(state_file: Path, what: str) -> UnsafeStateError:
    return UnsafeStateError(f"{state_file}: {what}; nothing was loaded from it. This driver only writes job folders "
                            f"inside its jobs folder: if you did not edit the file, delete it (rm {state_file}) and "
                            "rerun; runs no job covers are submitted again")


def confined(path: str | Path, root: str | Path) -> Optional[Path]:
    """``path`` resolved (symlinks followed), if it has no ``..`` part and lies strictly inside ``root`` (resolved
    too); else None. A relative ``path`` is taken relative to ``root``."""
    raw = Path(path)
    if ".." in raw.parts:
        return None
    try:
        base = Path(root).resolve()
        full = (raw if raw.is_absolute() else base / raw).resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte
        return None
    return full if full != base and full.is_relative_to(base) else None


def confine_entry(entry: dict, jobs_folder: str | Path, state_file: Path) -> dict:
    """``entry`` with its job folder resolved, or UnsafeStateError (nothing is loaded from a refused entry)."""
    job_id, folder = entry.get("id"), entry.get("folder")
    if isinstance(job_id, bool) or not isinstance(job_id, (str, int)) or not JOB_ID.fullmatch(str(job_id)):
        raise _refuse(state_file, f"job id {str(job_id)[:80]!r} is not a scheduler job id (digits, or 123_4)")
    if not isinstance(folder, str) or not folder or "\x00" in folder:
        raise _refuse(state_file, f"job {job_id} has no job folder (\"folder\": {str(folder)[:80]!r})")
    inside = confined(folder, jobs_folder)
    if inside is None:
        raise _refuse(state_file, f"job {job_id} names the folder {folder[:200]!r}, which is not inside the jobs "
                                  f"folder {Path(jobs_folder).resolve()} (or climbs out of it with '..' or a symlink)")
    return {**entry, "id": str(job_id), "folder": str(inside)}
