"""Report formats: one registry (``FORMATS``, name -> ``Format``) that both ``reports.write_reports`` and
``run_bench.py report --format`` read. A format is one module that renders a ``model.Report`` into the reports
folder and registers itself with ``@register(name, help=...)`` when imported:

- the formats of this package: every module in this folder (Markdown, CSV, HTML, LaTeX), found by
  ``load_formats`` without being listed anywhere;
- formats outside it: a module named in ``$ZSAR_BENCH_PLUGINS`` (comma-separated import names, as for method
  plugins) or by an entry point in the group ``zsar_bench.report_formats`` of an installed package.

docs/adding_a_report_format.md is the guide. The modules here import their heavy dependencies inside their
functions, so that listing the formats (``report --help``) stays fast.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Optional

from ...registry import Registry, RegistryError

if TYPE_CHECKING:
    from ..model import Report

ENTRY_POINT_GROUP = "zsar_bench.report_formats"
MODULES_ENV = "ZSAR_BENCH_PLUGINS"  # the method plugins' variable: one list of local plugin modules
DISABLE_ENV = "ZSAR_BENCH_DISABLE_PLUGINS"


@dataclass(frozen=True)
class Format:
    """``write(report, reports_dir)`` renders ``report`` into ``reports_dir`` and returns the files it wrote;
    ``index(report, written)`` gives the lines of the reports folder's README.md that point to them (default: a
    link per file); ``order`` places the format among the others (the README's order and the order formats are
    written in: HTML pages link the Markdown and CSV files written before them)."""

    name: str
    write: Callable[["Report", Path], list[Path]]
    help: str
    index: Optional[Callable[["Report", list[Path]], list[str]]] = None
    order: int = 100

    def index_lines(self, report: "Report", written: list[Path], reports_dir: Path) -> list[str]:
        if self.index is not None:
            return self.index(report, written)
        rels = [Path(p).relative_to(reports_dir).as_posix() for p in written]
        return [f"- [{rel}]({rel})" for rel in rels]


FORMATS: Registry[Format] = Registry("report format")


def register(name: str, help: str, index: Optional[Callable] = None, order: int = 100) -> Callable:
    """Decorator for a format's writer: ``@register("tsv", help="leaderboard.tsv: ...")``."""

    def deco(write: Callable) -> Callable:
        FORMATS.register(name, origin=getattr(write, "__module__", None))(Format(name, write, help, index, order))
        return write

    return deco


def load_formats() -> list[str]:
    """Import every format module not imported yet (this folder's, the entry points', ``$ZSAR_BENCH_PLUGINS``'s);
    returns the format names in their order. A third-party module that fails to import is a warning."""
    for m in pkgutil.iter_modules(__path__):
        if not m.name.startswith("_"):
            importlib.import_module(f"{__name__}.{m.name}")
    if os.environ.get(DISABLE_ENV, "").lower() not in ("1", "true", "yes"):
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            _import(ep.value.split(":")[0], f"entry point {ep.name!r}", ep.load)
        for modname in [m.strip() for m in os.environ.get(MODULES_ENV, "").split(",") if m.strip()]:
            _import(modname, f"module {modname!r} named in ${MODULES_ENV}",
                    lambda n=modname: importlib.import_module(n))
    return names()


def _import(modname: str, what: str, load: Callable) -> None:
    if modname in sys.modules:
        return
    try:
        load()
    except Exception as e:  # noqa: BLE001 - a broken plugin must not stop the reports
        warnings.warn(f"report format plugin {what} failed to load and is skipped: {type(e).__name__}: {e}",
                      stacklevel=3)


def names() -> list[str]:
    """The registered formats, in their order."""
    return [f.name for f in sorted((FORMATS.get(n) for n in FORMATS.names()), key=lambda f: (f.order, f.name))]


def chosen(requested: Optional[Iterable[str]] = None) -> list[Format]:
    """The formats to write, in their order: every registered one (``None`` or "all"), or those named."""
    load_formats()
    if requested is None:
        return [FORMATS.get(n) for n in names()]
    req = [r for r in requested]
    if "all" in req:
        return [FORMATS.get(n) for n in names()]
    if not req:
        raise RegistryError(f"no report format named; choose from: all, {', '.join(names())}")
    picked = {FORMATS.get(n).name for n in req}  # unknown names raise, with suggestions
    return [FORMATS.get(n) for n in names() if n in picked]
