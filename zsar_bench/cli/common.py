"""What every command shares: the usage error, the options for data root / records / reports, and the
command-line wrappers of ``planning``'s parsers (a PlanError becomes a UsageError)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional

from ..errors import ZsarBenchError
from ..paths import REPO_ROOT
from ..results.records import DEFAULT_RECORDS
from ..running import planning
from ..running.planning import PlanError

DEFAULT_REPORTS = Path("reports")


class UsageError(ZsarBenchError):
    """A user mistake: printed without a traceback, exit code 2."""


def common_options(p: argparse.ArgumentParser) -> None:
    data_root_option(p)
    p.add_argument("--records", default=str(DEFAULT_RECORDS), help="records JSONL file (default %(default)s)")
    p.add_argument("--reports-dir", default=None,
                   help=f"leaderboard folder (default: {DEFAULT_REPORTS}/ for the default --records, otherwise a "
                        "reports/ folder next to the records file)")


def data_root_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-root", help="where features and caches live (default $ZSAR_BENCH_DATA or ~/.cache/zsar-bench)")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _planned(fn, *a, **kw):
    """Call a planning function; its PlanError is a usage error here."""
    try:
        return fn(*a, **kw)
    except PlanError as e:
        raise UsageError(str(e)) from None


def check_device(device: str, option: str = "--device") -> str:
    """``device`` if it is auto, cpu, cuda or cuda:N; a UsageError listing them otherwise."""
    return _planned(planning.check_device, device, option)


def parse_method_args(items: list[str], methods: list[str]) -> dict[str, dict[str, str]]:
    """``["label.lr=1e-3,er.epochs=5"]`` -> {method: {key: raw value}}. Items split on commas followed by
    ``METHOD.KEY=`` only, so ``label.text_style=a video of {name}, outdoors`` keeps its comma."""
    return _planned(planning.parse_method_args, items, methods)


def _scores_dir(args: argparse.Namespace) -> Path:
    """--save-scores [DIR]: the folder given, or scores/ next to the records file."""
    from ..results.scores import default_scores_dir

    return Path(args.save_scores) if args.save_scores else default_scores_dir(args.records)


def _same_path(a, b) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def reports_dir_for(records: str | Path, reports_dir: Optional[str]) -> Path:
    """Where the reports of a records file go: ``--reports-dir`` when given; ``reports/`` for the default
    ``results/records.jsonl``; otherwise ``reports/`` next to the records file (``<stem>-reports/`` where
    that would be the committed ``reports/``), so a trial ``--records`` never rewrites the committed
    leaderboards."""
    if reports_dir:
        return Path(reports_dir)
    rec = Path(records)
    for root in (Path("."), REPO_ROOT):
        if _same_path(rec, root / DEFAULT_RECORDS):
            return root / DEFAULT_REPORTS
    out = rec.parent / "reports"
    if any(_same_path(out, root / DEFAULT_REPORTS) for root in (Path("."), REPO_ROOT)):
        out = rec.parent / f"{rec.stem}-reports"
    return out


def check_reports_dir(path: Path) -> None:
    """A usage error unless ``path`` is, or can be made, a writable folder (nothing is created here)."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"--reports-dir {path} is a file, not a folder; pass a folder (created if missing)")
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"reports folder {path} cannot be created: {probe} is a file; pass --reports-dir FOLDER")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"reports folder {path} is not writable ({probe}); pass --reports-dir a writable folder")
