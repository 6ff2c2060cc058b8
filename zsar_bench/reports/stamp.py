"""What lets a rerun that recorded nothing new skip work, without importing pandas or scipy: a stamp of what a
reports folder was generated from, and the printed table of a set of records, cached by their content.

Both are keyed by the code too (package version and git sha); a working tree with uncommitted changes
(sha ending in "-dirty") never uses them, so an edit to the reporting code is never hidden by a cache.
Both live under the data root's cache, never in the (committed) reports folder.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Iterable, Optional

from .. import __version__
from ..errors import ZsarBenchError
from ..paths import cache_dir
from ..results.provenance import git_sha


def code_identity() -> Optional[str]:
    """The code's identity, or None when it has uncommitted changes (or no git), or when
    ``ZSAR_BENCH_RERUN_CACHE=0`` turns these caches off (the test suite does, so that it behaves the same
    in a clean clone and in a working tree)."""
    if os.environ.get("ZSAR_BENCH_RERUN_CACHE") == "0":
        return None
    sha = git_sha()
    return None if sha == "unknown" or sha.endswith("-dirty") else f"{__version__}@{sha}"


def _stamp_path(reports_dir: Path) -> Path:
    """Where the stamp of a reports folder lives: under the data root's cache, never in the (committed) folder."""
    key = hashlib.sha256(str(Path(reports_dir).resolve()).encode()).hexdigest()[:16]
    return cache_dir("reports") / f"{key}.json"


def _stamp(source: str) -> Optional[dict]:
    """The state a regeneration depends on: the records file (size, mtime) and the code."""
    code = code_identity()
    try:
        st = Path(source).stat()
    except OSError:
        return None
    if code is None:
        return None
    return {"records": str(Path(source).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "code": code}


def reports_up_to_date(source: str, reports_dir: Path) -> bool:
    """True when ``reports_dir`` was generated from ``source`` as it is now, by this code (its stamp matches):
    a rerun that recorded nothing new need not regenerate it."""
    now = _stamp(source)
    try:
        old = json.loads(_stamp_path(reports_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return now is not None and old == now and (reports_dir / "README.md").is_file()


def invalidate_stamp(reports_dir: Path) -> None:
    """Forget that ``reports_dir`` is up to date: called before any file of it is written, so that a generation
    killed half-way is never taken for a finished one (``write_stamp`` is called after the last file)."""
    try:
        p = _stamp_path(reports_dir)
    except (OSError, ZsarBenchError):  # no cache folder (a read-only data root): no stamp to forget
        return
    try:
        p.unlink()
    except FileNotFoundError:
        pass
    except OSError:  # cannot remove it: make sure it matches nothing
        try:
            p.write_text("{}\n", encoding="utf-8")
        except OSError:
            pass


def write_stamp(source: str, reports_dir: Path) -> None:
    """Remember that ``reports_dir`` was just generated from ``source`` (nothing when the code is not committed).
    Written to a temporary file and renamed: a stamp is whole or absent."""
    stamp = _stamp(source)
    if stamp is None:
        return
    try:
        p = _stamp_path(reports_dir)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, p)
    except OSError:  # only an optimisation: the next rerun regenerates
        pass


def cached_text(records: Iterable[dict], render: Callable[[], str], kind: str = "table") -> str:
    """``render()``, cached by the content of ``records`` and the code: a rerun that recorded nothing new
    prints the same table without importing pandas and scipy again."""
    code = code_identity()
    if code is None:
        return render()
    h = hashlib.sha256(code.encode())
    for r in records:
        h.update(json.dumps(r, sort_keys=True, default=str).encode())
        h.update(b"\n")
    try:
        p = cache_dir("tables") / f"{kind}-{h.hexdigest()[:24]}.txt"
        if p.is_file():
            return p.read_text(encoding="utf-8")
    except OSError:
        return render()
    text = render()
    try:
        tmp = p.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(p)
    except OSError:
        pass
    return text
