"""Where a record's code comes from: the checkout's commit, marked ``-dirty`` only when code changed.

The harness itself writes into the checkout (records under ``results/``, leaderboards under ``reports/``,
generated pages under ``docs/``, run state under ``.bench/``); those changes say nothing about the code that
computed a number, so they do not mark it modified. Any other tracked file that differs from the commit
(a method, the harness, a split file, a config) does. Untracked files are not looked at (as before).
"""
from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Optional, Union

from ..paths import CHECKOUT

# Folders the harness writes (or regenerates) itself: their changes are output, not code.
GENERATED = ("results", "reports", "docs", ".bench")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=5).stdout.rstrip("\n")


def code_changes(root: Union[str, Path], generated: tuple[str, ...] = GENERATED) -> list[str]:
    """``git status --porcelain`` lines of tracked files under ``root`` that differ from the commit (staged or
    not), outside the ``generated`` folders (relative to ``root``)."""
    excludes = [f":(exclude){d.strip('/')}/" for d in generated]
    out = _git(Path(root), "status", "--porcelain", "--untracked-files=no", "--", ".", *excludes)
    return [line for line in out.splitlines() if line.strip()]


@lru_cache(maxsize=8)
def _git_sha(root: Path) -> str:
    try:
        sha = _git(root, "rev-parse", "--verify", "-q", "HEAD").strip()
        if not sha:
            return "unknown"
        return sha + ("-dirty" if code_changes(root) else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def git_sha(root: Optional[Union[str, Path]] = None) -> str:
    """The commit of ``root`` (default: this checkout), with ``-dirty`` when code differs from it (changes under
    results/, reports/, docs/ and .bench/ do not count); "unknown" without git, outside a repository, and in a
    wheel install (a repository around site-packages is another project's). Asked once per process and root."""
    if root is None:
        if CHECKOUT is None:
            return "unknown"
        root = CHECKOUT
    return _git_sha(Path(root).resolve())


git_sha.cache_clear = _git_sha.cache_clear  # type: ignore[attr-defined]  (as the lru_cache it replaces)
