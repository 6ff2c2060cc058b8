"""Write the reports of a records file: the report is built once (``model.build_report``) and every chosen format
of the registry (``formats``) renders it; with the Markdown format, README.md indexes what each format wrote."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Iterable, Optional

from .formats import chosen
from .stamp import write_stamp


def write_reports(records: list[dict], reports_dir: Path, command: Optional[str] = None,
                  source: Optional[str] = None, formats: Optional[Iterable[str]] = None) -> list[Path]:
    """Render ``records`` into ``reports_dir`` in ``formats`` (names from ``formats.FORMATS``; None or "all":
    every registered format); returns the files written. Only a generation in every format is stamped as the
    reports of ``source`` (``stamp``: what lets a rerun that recorded nothing new skip regenerating)."""
    from ..records import duplicates_note
    from .model import build_report

    requested = None if formats is None else [formats] if isinstance(formats, str) else list(formats)
    picked = chosen(requested)
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    report = build_report(records, command, source)
    if report.duplicates:
        warnings.warn(duplicates_note(source or "the records", report.duplicates), stacklevel=2)
    written, index = [], []
    for fmt in picked:
        out = fmt.write(report, reports_dir)
        written += out
        index += fmt.index_lines(report, out, reports_dir)
    if any(f.name == "markdown" for f in picked):  # the Markdown landing page
        from .formats.markdown import readme

        (reports_dir / "README.md").write_text(readme(report, index), encoding="utf-8")
    if source and (requested is None or "all" in requested):
        write_stamp(source, reports_dir)
    return written
