"""Result records: one flat JSON object per line, appended atomically; reruns skip existing keys.

Each append is a single ``write`` on a file opened with O_APPEND under an exclusive ``flock``, then
``fsync``: concurrent workers never interleave and a crash loses at most the row being written (a
torn last line is skipped with a warning when reading, and that run is simply redone).
"""
from __future__ import annotations

import fcntl
import json
import os
import warnings
from pathlib import Path
from typing import Iterable

KEY_FIELDS = ("method", "config_hash", "dataset", "features_id", "protocol", "split_hash", "fold", "seed")
DEFAULT_RECORDS = Path("results") / "records.jsonl"


def record_key(rec: dict) -> tuple:
    return tuple(rec.get(k) for k in KEY_FIELDS)


class RecordStore:
    def __init__(self, path: str | Path = DEFAULT_RECORDS):
        self.path = Path(path)

    def read(self) -> list[dict]:
        if not self.path.is_file():
            return []
        out = []
        with open(self.path, encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    warnings.warn(f"{self.path}:{i}: skipping a torn or malformed record line", stacklevel=2)
        return out

    def keys(self) -> set[tuple]:
        return {record_key(r) for r in self.read()}

    def append(self, rec: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(rec, sort_keys=True, allow_nan=True) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # a previous crash may have left a line without its newline: start on a fresh line
            size = os.fstat(fd).st_size
            if size:
                with open(self.path, "rb") as r:
                    r.seek(size - 1)
                    if r.read(1) != b"\n":
                        line = b"\n" + line
            os.write(fd, line)
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def remove(self, keys: Iterable[tuple]) -> int:
        """Drop rows with these keys (for --overwrite); rewrites the file atomically."""
        keys = set(keys)
        rows = self.read()
        keep = [r for r in rows if record_key(r) not in keys]
        if len(keep) == len(rows):
            return 0
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for r in keep:
                f.write(json.dumps(r, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        return len(rows) - len(keep)
