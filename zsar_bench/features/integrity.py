"""File-level integrity of a feature store: checked on every load, cheaply, before any number is computed.

When a store is written, each data file's size, sha256 and a digest of each of its blocks go into the
manifest (``files``: ``{size, sha256, blocks: {size, xxh3_64: [...]}}``; at most ``MAX_BLOCKS`` blocks of
at least 64 KiB). On load, ``verify_files``, for each file:

1. compares its size (a truncated or grown file fails at once);
2. checks a sample of its blocks against the manifest: the first, the last and ``SAMPLE_BLOCKS`` others
   drawn at random on each load (so no block is safe from the check over a few loads); a mismatch names
   the offset;
3. hashes the whole file (sha256) unless a previous full verification still vouches for it: its entry in
   ``.verified.json`` beside the data records the file's (size, mtime, ctime, inode) at that time, and is
   trusted only while they are unchanged, for ``FULL_EVERY_S`` (a week) at most. The ctime is what catches
   an edit whose mtime was put back (``os.utime`` sets the ctime to now; no user can set it back). On a
   file system with whole-second timestamps a file changed within two seconds of its verification is
   hashed again on the next load ("racy": a change in the same second would not move its ctime).

``verify_files(..., full=True)``, ``load_feature_set(..., verify=True)``, the context ``full_verification()`` or
``$ZSAR_BENCH_VERIFY=1`` hash every file in full on every load. A mismatch is an ``IntegrityError`` with
a "regenerate / re-import" fix. Manifests written before block digests existed are sampled from the digests
of the first full verification (kept in ``.verified.json``).

Cost (``benchmarks/bench_store.py``): one sha256 pass per changed file (about a second for a 100k x 2048
float16 table); otherwise a stat per file and ``SAMPLE_BLOCKS + 2`` blocks read and hashed (about a
millisecond).
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import random
import time
from pathlib import Path
from typing import Iterator, Optional

from ..errors import ZsarBenchError
from ..hashing import sha256_file

VERIFIED = ".verified.json"
VERIFY_ENV = "ZSAR_BENCH_VERIFY"  # 1/true/yes/full: hash every file in full on every load
MIN_BLOCK = 64 * 1024
MAX_BLOCKS = 1024  # block size doubles from MIN_BLOCK until a file has at most this many blocks
SAMPLE_BLOCKS = 8  # random blocks checked on every load, besides the first and the last
FULL_EVERY_S = 7 * 24 * 3600  # a full hash at least this often, even when nothing seems to have changed
RACY_NS = 2_000_000_000  # whole-second timestamps: a change this close to a verification may not show

_full: contextvars.ContextVar[bool] = contextvars.ContextVar("zsar_bench_full_verification", default=False)


class IntegrityError(ZsarBenchError, RuntimeError):
    pass


@contextlib.contextmanager
def full_verification(on: bool = True) -> Iterator[None]:
    """Within this block, every feature file loaded is hashed in full (``verify=True``)."""
    token = _full.set(bool(on) or _full.get())
    try:
        yield
    finally:
        _full.reset(token)


def full_requested() -> bool:
    return _full.get() or os.environ.get(VERIFY_ENV, "").strip().lower() in ("1", "true", "yes", "full")


def data_files(root: Path) -> list[Path]:
    """Every file under ``root`` except the manifest and bookkeeping files."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name not in ("manifest.json", VERIFIED)
                  and not p.name.endswith(".lock"))


def block_size(size: int) -> int:
    b = MIN_BLOCK
    while b * MAX_BLOCKS < size:
        b *= 2
    return b


def _block_hash(data) -> str:
    import xxhash  # a dependency of datasets (hence of zsar-bench)

    return xxhash.xxh3_64_hexdigest(data)


def _digests(p: Path, size: int, sha: bool) -> tuple[Optional[str], dict]:
    """(sha256 hex or None, block digests) of file ``p`` in one read."""
    bs = block_size(size)
    h = hashlib.sha256() if sha else None
    out = []
    with open(p, "rb") as f:
        while True:
            chunk = f.read(bs)
            if not chunk:
                break
            out.append(_block_hash(chunk))
            if h is not None:
                h.update(chunk)
    return (h.hexdigest() if h is not None else None), {"size": bs, "xxh3_64": out}


def block_digests(p: Path, size: Optional[int] = None) -> dict:
    """``{size: block size, xxh3_64: [hex digest of each block]}`` of file ``p`` (the last block may be short)."""
    return _digests(p, p.stat().st_size if size is None else size, sha=False)[1]


def file_digests(root: Path, files: list[Path] | None = None) -> dict:
    """{relative path: {size, sha256, blocks}} for the manifest's ``files`` entry (one read per file)."""
    files = data_files(root) if files is None else files
    out = {}
    for p in files:
        size = p.stat().st_size
        sha, blocks = _digests(p, size, sha=True)
        out[str(p.relative_to(root))] = {"size": size, "sha256": sha, "blocks": blocks}
    return out


def _stamp(st: os.stat_result) -> list:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _valid_blocks(blocks: object, size: int) -> Optional[dict]:
    """``blocks`` if it describes a file of ``size`` bytes, else None (never trusted half-way)."""
    if not isinstance(blocks, dict) or not isinstance(blocks.get("size"), int) or blocks["size"] <= 0:
        return None
    digests = blocks.get("xxh3_64")
    n = -(-size // blocks["size"])
    if not isinstance(digests, list) or len(digests) != n:
        return None
    return blocks


def check_sample(p: Path, blocks: dict, size: int, what: str, fix: str, n: Optional[int] = None,
                 rng: Optional[random.Random] = None) -> int:
    """Hash the first, the last and ``n`` (``SAMPLE_BLOCKS``) random blocks of ``p`` and compare them with
    ``blocks``; IntegrityError naming the offset of the first mismatch. Returns the number of blocks read."""
    bs, digests = blocks["size"], blocks["xxh3_64"]
    count = len(digests)
    if count == 0:
        return 0
    n = SAMPLE_BLOCKS if n is None else n
    rng = rng or random.Random()
    picks = {0, count - 1}
    rest = count - len(picks)
    if rest > 0:
        picks.update(rng.sample(range(1, count - 1), min(n, rest)) if count > 2 else [])
    with open(p, "rb") as f:
        for i in sorted(picks):
            f.seek(i * bs)
            if _block_hash(f.read(bs)) != digests[i]:
                raise IntegrityError(f"{what}: {p} does not match the checksum in its manifest at bytes "
                                     f"{i * bs}-{min((i + 1) * bs, size)} (the file was changed after it was "
                                     f"written); {fix}")
    return len(picks)


def _read_cache(path: Path) -> dict:
    try:
        cache = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def _trusted(entry: object, stamp: list, sha256: str, now: float) -> bool:
    """Whether a previous full verification (``entry``) still vouches for a file with ``stamp`` now."""
    if not isinstance(entry, dict) or entry.get("stamp") != stamp or entry.get("sha256") != sha256:
        return False
    at = entry.get("at")
    return (isinstance(at, (int, float)) and 0 <= now - at < FULL_EVERY_S) and not entry.get("racy")


def verify_files(root: Path, recorded: dict, what: str, fix: str, full: Optional[bool] = None) -> None:
    """Raise IntegrityError unless every recorded file is present with its size, a sample of its blocks and
    (when no recent full verification vouches for it, or ``full``) its sha256. ``full=None``: as
    ``full_verification()`` / ``$ZSAR_BENCH_VERIFY`` say."""
    full = full_requested() if full is None else full
    cache_path = root / VERIFIED
    cache = _read_cache(cache_path)
    changed = False
    for rel, meta in recorded.items():
        p = root / rel
        try:
            st = p.stat() if p.is_file() else None
        except OSError:
            st = None
        if st is None:
            raise IntegrityError(f"{what}: {p} is missing; {fix}")
        stamp = _stamp(st)
        if stamp[0] != meta["size"]:
            raise IntegrityError(f"{what}: {p} has {stamp[0]} bytes, the manifest records {meta['size']} "
                                 f"(truncated or replaced); {fix}")
        entry = cache.get(rel)
        if not isinstance(entry, dict) or entry.get("sha256") != meta["sha256"]:
            entry = None  # of another version of the file (or an older format): vouches for nothing
        blocks = _valid_blocks(meta.get("blocks"), stamp[0]) or \
            _valid_blocks(entry.get("blocks") if entry else None, stamp[0])
        if blocks is not None:
            check_sample(p, blocks, stamp[0], what, fix)
        now = time.time()
        if not full and _trusted(entry, stamp, meta["sha256"], now):
            continue
        if sha256_file(p) != meta["sha256"]:
            raise IntegrityError(f"{what}: {p} does not match the checksum in its manifest (the file was changed "
                                 f"after it was written); {fix}")
        new = {"stamp": stamp, "sha256": meta["sha256"], "at": now,
               "racy": stamp[2] % 1_000_000_000 == 0 and time.time_ns() - stamp[2] < RACY_NS}
        if _valid_blocks(meta.get("blocks"), stamp[0]) is None:  # an older manifest: sample from now on
            try:
                new["blocks"] = block_digests(p, stamp[0])
            except OSError:
                pass
        cache[rel] = new
        changed = True
    if changed:
        try:  # best effort: a read-only data root just verifies in full again next time
            tmp = cache_path.with_name(f"{VERIFIED}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(cache))
            os.replace(tmp, cache_path)
        except OSError:
            pass
