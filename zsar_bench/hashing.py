"""Streamed sha256 of files: the feature stores' checksums and the identity of a local model's weights."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

BLOCK = 1 << 22


def _update(h, path: Path) -> None:
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            h.update(block)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    _update(h, path)
    return h.hexdigest()


def sha256_named_files(paths: Iterable[Path]) -> str:
    """One sha256 over (file name, NUL, bytes) of each file in order: renaming or editing any file changes it."""
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode() + b"\0")
        _update(h, p)
    return h.hexdigest()
