"""``--executor slurm`` needs the data root, the records file and the jobs folder on storage every node mounts:
``node_local_reason`` says why a path probably is not, ``check_shared_storage`` refuses such paths."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from .base import ExecutorError

# Paths that are private to one machine on a typical cluster (also $TMPDIR, $SLURM_TMPDIR and any tmpfs).
NODE_LOCAL_ROOTS = ("/tmp", "/var/tmp", "/dev/shm", "/run", "/scratch/local", "/localscratch", "/local", "/lscratch")


def node_local_reason(path: str | Path) -> Optional[str]:
    """Why ``path`` is probably private to one machine (under /tmp, $TMPDIR, a tmpfs, ...), or None."""
    p = Path(os.path.realpath(Path(path).expanduser()))
    roots = list(NODE_LOCAL_ROOTS) + [os.environ[v] for v in ("TMPDIR", "SLURM_TMPDIR", "TMP", "TEMP")
                                      if os.environ.get(v, "").startswith("/")]
    for root in roots:
        r = Path(os.path.realpath(root)) if os.path.exists(root) else Path(root)
        if r != Path("/") and (p == r or r in p.parents):
            return f"it is under {root}, which is node-local on a cluster"
    fstype = _mount_fstype(p)
    if fstype in ("tmpfs", "ramfs"):
        return f"it is on a {fstype} (memory of one machine)"
    return None


def _mount_fstype(p: Path) -> Optional[str]:
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    best, fstype = "", None
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        mnt = parts[1].replace("\\040", " ")
        if (str(p) == mnt or str(p).startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best):
            best, fstype = mnt, parts[2]
    return fstype


def check_shared_storage(paths: dict[str, Path]) -> None:
    """``--executor slurm``: each of ``paths`` ({what: path}, e.g. the data root and the records file)
    must be on storage every node mounts, and writable. ExecutorError naming the fix otherwise."""
    fixes = {"data root": "--data-root /shared/zsar-data", "records file": "--records /shared/results/records.jsonl",
             "jobs folder": "--jobs-dir /shared/zsar-jobs"}
    problems = []
    for what, path in paths.items():
        why = node_local_reason(path)
        if why:
            problems.append(f"the {what} {path} is not on shared storage ({why}): compute nodes would not see "
                            f"it; pass {fixes.get(what, what)} (a folder every node mounts, e.g. in your home "
                            "or project space)")
            continue
        folder = Path(path) if what != "records file" else Path(path).parent
        probe = folder
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
            problems.append(f"the {what} {path} is not writable ({probe}); pass {fixes.get(what, what)} "
                            "in a writable folder on shared storage")
    if problems:
        raise ExecutorError("--executor slurm: " + "; and ".join(problems))
