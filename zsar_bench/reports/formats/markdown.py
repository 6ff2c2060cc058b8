"""Markdown: ``<dataset>.md``, every table of the dataset as a GitHub table under its title, the explanation above
it and the notes below it. ``render_table`` gives the same tables as (title, Markdown) pairs (the table printed
after a run, ``Results.markdown``)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from . import register

if TYPE_CHECKING:
    import pandas as pd

    from ..model import Report, Table


def markdown_table(t: "Table") -> str:
    """One table: the header paragraph, the GitHub table, the notes (a paragraph each)."""
    from tabulate import tabulate

    body = [[c.text for c in r.cells] for r in t.rows]
    md = t.header + "\n\n" + tabulate(body, headers=[c.label for c in t.columns], tablefmt="github",
                                      disable_numparse=True)
    if t.notes:
        md += "\n\n" + "\n\n".join(t.notes)
    return md


def render_table(summary: "pd.DataFrame", published: bool = True) -> list[tuple[str, str]]:
    """[(title, markdown)] for every leaderboard table of ``summary`` (zero-shot and generalised-ZSL tables, then
    few-shot ones; not the reference tables of other backbones), ``published`` rows included or not."""
    from ..model import build_tables

    return [(t.title, markdown_table(t)) for t in build_tables(summary, published) if t.kind != "reference"]


def _front(report: "Report") -> list[str]:
    """What every page starts with after its title: the generation line and the notes about the records."""
    out = [report.generated, ""]
    if report.duplicates:
        from ...records import duplicates_note

        out += [f"Note: {duplicates_note(report.source or 'the records', report.duplicates)}.", ""]
    if report.superseded:
        out += [report.superseded_note() + "; they stay in the records file.", ""]
    return out


def index(report: "Report", written: list[Path]) -> list[str]:
    if not report.tables:
        return ["No records yet: run `python run_bench.py --methods label --datasets hmdb51`."]
    return [f"- [{ds}]({ds}.md): {len(report.tables_of(ds))} table(s)" for ds in report.datasets]


@register("markdown", help="<dataset>.md per dataset, and README.md indexing every format written", index=index,
          order=10)
def write_markdown(report: "Report", reports_dir: Path) -> list[Path]:
    written = []
    for ds in report.datasets:
        text = [f"# {ds} leaderboard", ""] + _front(report)
        for t in report.tables_of(ds):
            text += [f"## {t.title}", "", markdown_table(t), ""]
        path = reports_dir / f"{ds}.md"
        path.write_text("\n".join(text), encoding="utf-8")
        written.append(path)
    return written


def readme(report: "Report", lines: list[str]) -> str:
    """The reports folder's README.md: the title, the notes of every page, then ``lines`` (the formats')."""
    return "\n".join(["# zsar-bench leaderboards", ""] + _front(report) + lines) + "\n"
