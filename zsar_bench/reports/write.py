"""Write the reports of a records file: the report is built once (``model.build_report``) and every chosen format
of the registry (``formats``) renders it; with the Markdown format, README.md indexes what each format wrote.

Crash safety (kill -9 at any moment never leaves an empty or half-written page that a later run calls "up to
date"): the freshness stamp (``stamp``) is removed before anything is written and written again only after
the last file is in place; the formats render into a staging copy of the folder (``.zsar-staging.<pid>.<hex>``
inside it), and each file that changed is then renamed over its old version (``os.replace``: a page is either
its old or its new version, never empty), and files the formats removed in the copy are removed. A staging
folder left by a killed process is removed by the next generation. A folder too large to copy (not a reports
folder; ``STAGE_LIMIT_FILES`` / ``STAGE_LIMIT_BYTES``) is written in place, still behind the stamp.
"""
from __future__ import annotations

import filecmp
import os
import shutil
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Optional

from ..errors import ZsarBenchError
from ..results.records import duplicates_note, folder_unwritable, no_replace_flag
from .formats import chosen
from .formats.markdown import readme
from .stamp import invalidate_stamp, write_stamp

STAGING_PREFIX = ".zsar-staging."
STAGE_LIMIT_FILES = 20_000
STAGE_LIMIT_BYTES = 512 * 2**20


class ReportsDirError(ZsarBenchError, ValueError):
    """The reports folder cannot be written (one line: the folder, why, the fix)."""


def check_reports_writable(path: str | Path) -> None:
    """ReportsDirError unless files can be created in ``path`` (or where it would be created): asked of the file
    system with a probe file, so that it holds for root, read-only mounts and dangling links too. Call it before
    any training."""
    why = folder_unwritable(path)
    if why:
        raise ReportsDirError(f"reports folder {path} is not writable: {why}; pass --reports-dir a writable folder "
                              "(or --no-report)")


def write_reports(records: list[dict], reports_dir: Path, command: Optional[str] = None,
                  source: Optional[str] = None, formats: Optional[Iterable[str]] = None,
                  partial: bool = False) -> list[Path]:
    """Render ``records`` into ``reports_dir`` in ``formats`` (names from ``formats.FORMATS``; None or "all":
    every registered format); returns the files written. ``partial``: rows missing runs show the mean over the
    runs done, marked "partial n/N" (``report --partial``). Only a generation in every format, not partial, is
    stamped as the reports of ``source`` (``stamp``: what lets a rerun that recorded nothing new skip
    regenerating)."""
    from .model import build_report

    requested = None if formats is None else [formats] if isinstance(formats, str) else list(formats)
    picked = chosen(requested)
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    invalidate_stamp(reports_dir)  # from here until the stamp is written again, nothing here is "up to date"
    report = build_report(records, command, source, partial=partial)
    if report.duplicates:
        warnings.warn(duplicates_note(source or "the records", report.duplicates), stacklevel=2)
    written, index = [], []
    try:
        with _staged(reports_dir) as stage:
            for fmt in picked:
                out = fmt.write(report, stage)
                written += out
                index += fmt.index_lines(report, out, stage)
            if any(f.name == "markdown" for f in picked):  # the Markdown landing page

                (stage / "README.md").write_text(readme(report, index), encoding="utf-8")
    except (OSError, _PageNotReplaced) as e:  # an immutable page, a full disk: one line, the records untouched
        raise ReportsDirError(_not_written_message(e, reports_dir, source)) from None
    written = [_live(Path(p), stage, reports_dir) for p in written]
    if source and not partial and (requested is None or "all" in requested):  # partial: not the records' reports
        write_stamp(source, reports_dir)  # last: every file is in place
    return written


class _PageNotReplaced(Exception):
    """Pages of the reports folder that could not be replaced by (or removed for) their new version."""

    def __init__(self, failures: list[tuple[Path, OSError]]):
        super().__init__(failures)
        self.failures = failures


def _not_written_message(e: Exception, reports_dir: Path, source: Optional[str]) -> str:
    if isinstance(e, _PageNotReplaced):
        page, err = e.failures[0]
        more = f" (and {len(e.failures) - 1} other file(s))" if len(e.failures) > 1 else ""
        what, others = f"report file {page}{more} could not be replaced", "every other page was updated"
    else:  # while the formats wrote their copy: nothing was published
        page, err = Path(getattr(e, "filename2", None) or getattr(e, "filename", None) or reports_dir), e
        what, others = f"report file {page} could not be written", f"the pages in {reports_dir} are as they were"
    flag = no_replace_flag(page) if page.is_file() else None
    records = f"the records ({source}) are unchanged" if source else "no records were changed"
    return (f"{what} ({err.strerror or err}{f'; it is {flag}' if flag else ''}); {records} and {others}; make it "
            f"writable ({f'chattr -{flag[-2]}' if flag else 'chmod u+w'} {page}) and rerun `run_bench.py report`, "
            "or pass --reports-dir another folder")


def _live(p: Path, stage: Path, reports_dir: Path) -> Path:
    try:
        return reports_dir / p.relative_to(stage)
    except ValueError:  # written outside the folder (a plugin's choice)
        return p


def _files(root: Path, skip_staging: bool = False) -> dict[str, Path]:
    """Regular files under ``root`` by relative path (symlinks neither followed nor listed)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if skip_staging and Path(dirpath) == root:
            dirnames[:] = [d for d in dirnames if not d.startswith(STAGING_PREFIX)]
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        for f in filenames:
            p = Path(dirpath, f)
            if not p.is_symlink() and p.is_file():
                out[p.relative_to(root).as_posix()] = p
    return out


def _remove_stale_stages(reports_dir: Path) -> None:
    """Staging folders of generations whose process is gone (killed mid-way)."""
    for d in reports_dir.glob(STAGING_PREFIX + "*"):
        parts = d.name[len(STAGING_PREFIX):].split(".")
        if not parts[0].isdigit() or int(parts[0]) == os.getpid():
            continue
        try:
            os.kill(int(parts[0]), 0)
            continue  # alive: another generation in progress
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except (PermissionError, OverflowError):
            continue


@contextmanager
def _staged(reports_dir: Path) -> Iterator[Path]:
    """A folder to render into, published into ``reports_dir`` file by file (``os.replace``) on success."""
    _remove_stale_stages(reports_dir)
    live = _files(reports_dir, skip_staging=True)
    sizes = 0
    for p in live.values():
        try:
            sizes += p.stat().st_size
        except OSError:
            pass
    if len(live) > STAGE_LIMIT_FILES or sizes > STAGE_LIMIT_BYTES:  # not a reports folder: write in place
        yield reports_dir
        return
    stage = reports_dir / f"{STAGING_PREFIX}{os.getpid()}.{os.urandom(4).hex()}"
    try:
        stage.mkdir()
        for rel, src in live.items():
            dst = stage / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        yield stage
        _publish(stage, reports_dir, set(live))
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _publish(stage: Path, reports_dir: Path, before: set[str]) -> None:
    """Move the files of ``stage`` that differ from ``reports_dir``'s over them (README.md last), then remove
    those the formats removed from the copy."""
    now = _files(stage)
    failures: list[tuple[Path, OSError]] = []  # a page that cannot be replaced: the others are, then one error
    for rel in sorted(now, key=lambda r: (r == "README.md", r)):
        src, dst = now[rel], reports_dir / rel
        if rel in before and dst.is_file() and not dst.is_symlink() and filecmp.cmp(src, dst, shallow=False):
            continue  # unchanged: left as it is
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
        except OSError as e:
            failures.append((dst, e))
    for rel in sorted(before - set(now)):
        try:
            (reports_dir / rel).unlink()
        except FileNotFoundError:
            pass
        except OSError as e:
            failures.append((reports_dir / rel, e))
    if failures:
        raise _PageNotReplaced(failures)
