"""File-level integrity of a feature store: checked on every load, cheaply.

When a store is written, the size and sha256 of each data file go into its manifest (``files``). On
load, ``verify_files`` compares sizes (a truncated file fails at once) and then either trusts a
previous full verification, if the file's (size, mtime) are those recorded in ``.verified.json``
beside it, or hashes the file in full and records the result. Editing a file in place (negating 100
rows of ``features.npy``) changes its mtime, so the next load hashes it and refuses it with a
"regenerate / re-import" message. Cost: one sha256 pass per changed file (about a second for a
100k x 2048 float16 table), a stat per file otherwise (``benchmarks/bench_store.py``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from ..hashing import sha256_file
from ..errors import ZsarBenchError

VERIFIED = ".verified.json"


class IntegrityError(ZsarBenchError, RuntimeError):
    pass


def data_files(root: Path) -> list[Path]:
    """Every file under ``root`` except the manifest and bookkeeping files."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name not in ("manifest.json", VERIFIED)
                  and not p.name.endswith(".lock"))


def file_digests(root: Path, files: list[Path] | None = None) -> dict:
    """{relative path: {size, sha256}} for the manifest's ``files`` entry."""
    files = data_files(root) if files is None else files
    return {str(p.relative_to(root)): {"size": p.stat().st_size, "sha256": sha256_file(p)} for p in files}


def _stamp(p: Path) -> list:
    st = p.stat()
    return [st.st_size, st.st_mtime_ns]


def verify_files(root: Path, recorded: dict, what: str, fix: str) -> None:
    """Raise IntegrityError unless every recorded file is present with its size and sha256."""
    cache_path = root / VERIFIED
    try:
        cache = json.loads(cache_path.read_text())
        if not isinstance(cache, dict):
            cache = {}
    except (OSError, ValueError):
        cache = {}
    changed = False
    for rel, meta in recorded.items():
        p = root / rel
        if not p.is_file():
            raise IntegrityError(f"{what}: {p} is missing; {fix}")
        stamp = _stamp(p)
        if stamp[0] != meta["size"]:
            raise IntegrityError(f"{what}: {p} has {stamp[0]} bytes, the manifest records {meta['size']} "
                                 f"(truncated or replaced); {fix}")
        if cache.get(rel) == [*stamp, meta["sha256"]]:
            continue
        if sha256_file(p) != meta["sha256"]:
            raise IntegrityError(f"{what}: {p} does not match the checksum in its manifest (the file was changed "
                                 f"after it was written); {fix}")
        cache[rel] = [*stamp, meta["sha256"]]
        changed = True
    if changed:
        try:  # best effort: a read-only data root just verifies again next time
            tmp = cache_path.with_name(f"{VERIFIED}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(cache))
            os.replace(tmp, cache_path)
        except OSError:
            pass
