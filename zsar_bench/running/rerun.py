"""A rerun that has every record returns at once, without importing torch or building any method.

After a run, the keys of its planned runs are remembered under a digest of the request: the code (version and
git sha; never for uncommitted code), the command's options that decide what is planned, the contents of the
files it names (split file, descriptions, config), the data root, the feature sets' manifests, the plugin
environment, the files of the datasets registered through ``$ZSAR_BENCH_DATASETS``. The same request again
finds its keys; when the records file has every one of them, the command prints the (cached) table of those
records and leaves the (up-to-date) reports alone. Anything else, a miss, goes through the full planning,
which decides for itself what is left to run.
"""
from __future__ import annotations

import hashlib
import json
import os
from importlib.metadata import entry_points
from pathlib import Path
from typing import Optional

from ..datasets import DATASETS
from ..paths import cache_dir, data_root
from ..reports.stamp import code_identity
from ..results.records import RecordStore, record_key

# options that decide only how runs are executed or shown, never which runs are planned
_NOT_PLANNING = {"jobs", "threads", "executor", "runs_per_job", "jobs_dir", "slurm_partition", "slurm_time",
                 "slurm_gpus", "slurm_cpus", "slurm_mem", "ray_address", "no_progress", "no_report", "reports_dir",
                 "records", "device"}
_FILE_OPTIONS = ("split_file", "descriptions", "config", "pretrain_names")


def _file_digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def _plugins() -> list:
    """Third-party method plugins as installed (name, value, version) plus the plugin environment variables."""
    eps = sorted((ep.name, ep.value, getattr(ep.dist, "version", None) if ep.dist else None)
                 for ep in entry_points(group="zsar_bench.methods"))
    return [eps, os.environ.get("ZSAR_BENCH_PLUGINS"), os.environ.get("ZSAR_BENCH_DISABLE_PLUGINS")]


def request_digest(args) -> Optional[str]:
    """The digest of what ``args`` plans, or None when it cannot be trusted (uncommitted code, ``--overwrite``,
    ``--config``)."""
    code = code_identity()
    if code is None or getattr(args, "overwrite", False) or getattr(args, "config", None):
        return None  # a config may name its own records file and data root: planned the full way
    opts = {k: v for k, v in sorted(vars(args).items()) if k not in _NOT_PLANNING}
    files = {k: _file_digest(opts[k]) for k in _FILE_OPTIONS if opts.get(k)}
    root = data_root()
    manifests = []
    for m in sorted((root / "features").glob("*/*/manifest.json")):
        try:
            st = m.stat()
        except OSError:
            continue
        manifests.append([str(m.relative_to(root)), st.st_size, st.st_mtime_ns])
    doc = [code, str(root.resolve()), opts, files, manifests, _plugins()]
    if os.environ.get("ZSAR_BENCH_DATASETS"):  # datasets of your own: their spec, tables and split files

        doc.append(sorted((ds.name, ds.files_digest()) for ds in DATASETS.external()))
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _plan_file(digest: str) -> Path:
    return cache_dir("plans") / f"{digest}.json"


def remember(digest: Optional[str], keys: list[tuple]) -> None:
    """Remember the planned run keys of a request (after its runs are recorded)."""
    if digest is None:
        return
    try:
        p = _plan_file(digest)
        tmp = p.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps([list(k) for k in keys]), encoding="utf-8")
        tmp.replace(p)
    except OSError:  # an optimisation only
        pass


def recorded(digest: Optional[str], records_path: Path) -> Optional[list[dict]]:
    """The records of every run the request plans, in plan order, when the records file has them all; else None."""
    if digest is None:
        return None
    try:
        keys = json.loads(_plan_file(digest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

    wanted = {json.dumps(k): i for i, k in enumerate(keys)}
    found: dict[int, dict] = {}
    for r in RecordStore(records_path).read():
        i = wanted.get(json.dumps(list(record_key(r)), default=str))
        if i is not None:
            found[i] = r  # the last row of a key, as everywhere else
    if len(found) < len(keys):
        return None
    return [found[i] for i in range(len(keys))]
