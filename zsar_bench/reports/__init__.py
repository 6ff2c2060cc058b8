"""Leaderboards from records: ``tables`` (the summary over folds, significance marks, cell formats), ``model``
(every table built once into format-neutral objects: ``Report``, ``Table``, ``Row``, ``Cell``), ``formats`` (the
registry of report formats, one module each: Markdown, CSV, HTML, LaTeX), ``write`` (every chosen format into a
reports folder), ``stamp`` (what lets a rerun that recorded nothing new skip the work).

The names below load their module (pandas, scipy) on first use, so ``reports.stamp`` stays light."""
from __future__ import annotations

import importlib

_LAZY = {name: "tables" for name in ("METRICS", "inputs_label", "primary_metric", "records_frame",
                                      "summarise")}
_LAZY.update({name: "model" for name in ("Report", "Table", "Row", "Cell", "Column", "build_report", "build_tables")})
_LAZY["render_table"] = "formats.markdown"
_LAZY["write_reports"] = "write"
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
