"""Markdown: ``<dataset>.md``, the dataset's current tables (``Report.current_tables``: the newest synthetic
generator and any other current feature set first, then published references), each as a GitHub table under its
title with the explanation above it and the notes below it; ``<dataset>_history.md``, its historical tables
(earlier synthetic generators), linked from the dataset page. Bookkeeping (superseded records, duplicates) is a
footnote at the end of a page. ``render_table`` gives the same tables as (title, Markdown) pairs (the table printed
after a run, ``Results.markdown``)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tabulate import tabulate

from . import register

if TYPE_CHECKING:
    import pandas as pd

    from ..model import Report, Table


def markdown_table(t: "Table") -> str:
    """One table: the header paragraph, the GitHub table, the notes (a paragraph each)."""
    body = [[c.text for c in r.cells] for r in t.all_rows]
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


def _footer(lines: list[str]) -> list[str]:
    """The bookkeeping footnotes at the end of a page, after a rule (nothing when there are none)."""
    out = ["---", ""] if lines else []
    for line in lines:
        out += [line, ""]
    return out


def history_name(ds: str) -> str:
    return f"{ds}_history.md"


LITERATURE_PAGE = "literature.md"


def literature_page(report: "Report") -> str:
    """The literature page: every published result of ``zsar_bench/data/literature.yaml`` grouped by protocol, with
    where each number can be checked; what the protocol tags mean; what was left out and why."""
    from ..literature_page import LITERATURE_NOTE, left_out, literature_tables, tag_legend

    text = ["# Published zero-shot results, with sources", "", report.generated, "", LITERATURE_NOTE, ""]
    for t in literature_tables():
        text += [f"## {t.title}", "", markdown_table(t), ""]
    text += ["## Protocol tags", ""]
    for kind, tags in tag_legend():
        text += [f"- `{kind}`: " + "; ".join(f"`{tag}`: {what}" for tag, what in tags)]
    text += ["", "## Left out for want of a source", ""]
    text += [f"- {what}: {why}." for what, why in left_out()] + [""]
    return "\n".join(text)


def index(report: "Report", written: list[Path]) -> list[str]:
    if not report.tables:
        return ["No records yet: run `python run_bench.py --methods label --datasets hmdb51`."]
    out = []
    for ds in report.datasets:
        line = f"- [{ds}]({ds}.md): {len(report.current_tables(ds))} table(s)"
        hist = report.history_tables(ds)
        if hist:
            line += (f"; historical ({', '.join(report.historical_features(ds))}): "
                     f"[{history_name(ds)}]({history_name(ds)}), {len(hist)} table(s)")
        out.append(line)
    if any(Path(p).name == LITERATURE_PAGE for p in written):
        out.append(f"- [{LITERATURE_PAGE}]({LITERATURE_PAGE}): published results of the field, grouped by protocol, "
                   "with their sources")
    return out


@register("markdown", help="<dataset>.md per dataset (current tables), <dataset>_history.md (earlier synthetic "
          "generators), literature.md (published results with sources), and README.md indexing every format "
          "written", index=index, order=10)
def write_markdown(report: "Report", reports_dir: Path) -> list[Path]:
    written = []
    for ds in report.datasets:
        current, hist = report.current_tables(ds), report.history_tables(ds)
        text = [f"# {ds} leaderboard", "", report.generated, ""]
        if hist:
            text += [f"Historical tables ({', '.join(report.historical_features(ds))}, kept for comparison): "
                     f"[{history_name(ds)}]({history_name(ds)}).", ""]
        if not current:
            text += ["No current tables: every record of this dataset was made on an earlier synthetic generator.",
                     ""]
        for t in current:
            text += [f"## {t.title}", "", markdown_table(t), ""]
        text += _footer(report.footnotes(ds))
        path = reports_dir / f"{ds}.md"
        path.write_text("\n".join(text), encoding="utf-8")
        written.append(path)
        if hist:
            text = [f"# {ds} leaderboard: historical tables", "", report.generated, "",
                    f"Tables made on an earlier synthetic generator ({', '.join(report.historical_features(ds))}), "
                    f"kept for comparison; their numbers are not comparable with the current tables "
                    f"([{ds}.md]({ds}.md)).", ""]
            for t in hist:
                text += [f"## {t.title}", "", markdown_table(t), ""]
            path = reports_dir / history_name(ds)
            path.write_text("\n".join(text), encoding="utf-8")
            written.append(path)
    if report.tables:
        path = reports_dir / LITERATURE_PAGE
        path.write_text(literature_page(report), encoding="utf-8")
        written.append(path)
    for stale in reports_dir.glob("*_history.md"):
        if stale not in written:
            stale.unlink()
    return written


def readme(report: "Report", lines: list[str]) -> str:
    """The reports folder's README.md: the title, ``lines`` (the formats'), then the footnotes of the records."""
    foot = report.footnotes()
    return "\n".join(["# zsar-bench leaderboards", "", report.generated, ""] + lines
                     + (["", *_footer(foot)[:-1]] if foot else [])) + "\n"
