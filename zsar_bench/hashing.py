"""Streamed sha256 of files (the feature stores' checksums, the identity of a local model's weights) and the config
hash of a method configuration."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

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


def config_hash_of(name: str, hash_params: Mapping[str, Any], revision: int, extra: Optional[dict] = None) -> str:
    """The config hash of a method configuration (``Method.config_hash``, ``MethodFacts.config_hash``): its name,
    hashed parameters, revision (from 2 on) and ``extra`` (the class texts' hash)."""
    rev = {"revision": revision} if revision != 1 else {}
    blob = json.dumps({"method": name, "params": dict(hash_params), **rev, **(extra or {})}, sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:10]
