"""Where the harness keeps data: one data root for features, caches and downloaded models.

Precedence: ``--data-root`` > ``$ZSAR_BENCH_DATA`` > ``~/.cache/zsar-bench``.
"""
from __future__ import annotations

import errno
import os
import re
import tempfile
from pathlib import Path
from typing import Optional
from .errors import ZsarBenchError

ENV_DATA_ROOT = "ZSAR_BENCH_DATA"
DEFAULT_DATA_ROOT = Path.home() / ".cache" / "zsar-bench"
REPO_ROOT = Path(__file__).resolve().parent.parent
# The source tree this package runs from (an editable install, the folder on sys.path, or a copy of the tree such
# as mutmut's): zsar_bench/ beside run_bench.py and methods/. None in a wheel install, whose parent folder
# (site-packages) is no checkout: a methods/ or splits/ folder or a git repository there belongs to something
# else, so plugins.py, splits.py and provenance.git_sha() never look there.
CHECKOUT: Optional[Path] = (REPO_ROOT if (REPO_ROOT / "run_bench.py").is_file() and (REPO_ROOT / "methods").is_dir()
                            else None)
# Dataset and feature-set names become folder names under the data root: one path component, no '..'.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")

_override: Optional[Path] = None


class DataRootError(ZsarBenchError, RuntimeError):
    """The data root cannot be used (a file, read-only, cannot be created)."""


class InvalidNameError(ZsarBenchError, ValueError):
    """A dataset or feature-set name that is not a plain identifier (it could leave the data root)."""


def check_name(name: str, what: str = "feature set") -> str:
    """``name`` if it is a plain identifier (letters, digits, ``. _ + -``, no ``..``), else InvalidNameError."""
    if not isinstance(name, str) or not NAME_RE.match(name) or ".." in name:
        raise InvalidNameError(
            f"{what} name {name!r} is not a plain name: use letters, digits and . _ + - (starting with a letter or "
            f"digit, no '/' or '..'), e.g. tsm-bit; names are folders under the data root")
    return name


def symlink_loop(path: str | Path) -> Optional[Path]:
    """The link of a symlink loop that ``path`` runs into (``ln -s loop loop``, or two links naming each other:
    the path itself or a folder on it), or None. Such a path exists for nothing (``exists()`` is False) yet cannot
    be created either, so callers name the link instead of calling it missing."""
    path = Path(path)
    try:
        os.stat(path)
        return None
    except OSError as e:
        if e.errno != errno.ELOOP:
            return None
    parts = path.parts
    for i in range(1, len(parts) + 1):
        prefix = Path(*parts[:i])
        try:
            os.stat(prefix)
        except OSError as e:
            if e.errno == errno.ELOOP:
                return prefix
            return None
    return path


def loop_message(what: str, path: str | Path, link: Path) -> str:
    """``<what> <path> is a symlink loop ...`` (or ``goes through`` one): the start of a one-line error."""
    path = Path(path)
    if Path(link) == path:
        return f"{what} {path} is a symlink loop (a link that leads back to itself); remove it (rm {path})"
    return f"{what} {path} goes through a symlink loop at {link}; remove that link (rm {link})"


def _resolved_root(path: str | Path, given: str) -> Path:
    """``path`` made absolute (symlinks followed); DataRootError for a symlink loop."""
    link = symlink_loop(Path(path).expanduser())
    if link is not None:
        raise DataRootError(f"{loop_message('data root', Path(path).expanduser(), link)} or {given}")
    try:
        return Path(path).expanduser().resolve()
    except (OSError, RuntimeError) as e:  # RuntimeError: a symlink loop, before Python 3.13
        raise DataRootError(f"data root {path} cannot be used ({e}); {given}") from None


def set_data_root(path: Optional[str | Path]) -> None:
    global _override
    _override = _resolved_root(path, "pass --data-root a writable folder") if path else None


def data_root() -> Path:
    if _override is not None:
        return _override
    env = os.environ.get(ENV_DATA_ROOT)
    return _resolved_root(env, f"set ${ENV_DATA_ROOT} to a writable folder (or pass --data-root)") if env \
        else DEFAULT_DATA_ROOT


def _root_hint() -> str:
    return "pass --data-root a writable folder (or set $ZSAR_BENCH_DATA)"


def check_data_root(root: Optional[Path] = None) -> Path:
    """The data root, created if missing; DataRootError unless it is a writable folder."""
    root = Path(root) if root is not None else data_root()
    link = symlink_loop(root)
    if link is not None:
        raise DataRootError(f"{loop_message('data root', root, link)}; {_root_hint()}")
    if root.exists() and not root.is_dir():
        raise DataRootError(f"data root {root} is a file, not a folder; {_root_hint()}")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataRootError(f"data root {root} cannot be created ({e.strerror or e}); {_root_hint()}") from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise DataRootError(f"data root {root} is read-only; {_root_hint()}")
    try:  # a read-only mount, or a full disk, shows only on a real write
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as e:
        raise DataRootError(f"data root {root} is not writable ({e.strerror or e}); {_root_hint()}") from None
    return root


def cache_dir(kind: str) -> Path:
    p = data_root() / "cache" / kind
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        check_data_root()  # the clearer message when the root itself is the problem
        raise DataRootError(f"cache folder {p} cannot be created ({e.strerror or e}); {_root_hint()}") from None
    return p
