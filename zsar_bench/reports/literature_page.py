"""The literature as tables of the report model (``model.Table``), for every format to render:

- ``literature_tables()``: the literature page, every row of ``zsar_bench/data/literature.yaml`` grouped by its
  class split (the protocol), with its protocol tags and the places its number can be checked;
- ``tag_legend()``, ``left_out()``: what each protocol tag means; the results left out for want of a source.

On the dataset pages, rows whose class split equals a harness protocol are the † rows of that protocol's tables
(``model._published_rows``), and rows whose class split asks for a reference table (``reference_table``) are
``model._reference_tables``' § tables.
"""
from __future__ import annotations

from typing import Optional

from ..literature import Literature, Row as LitRow, load_literature
from .model import Cell, Column, Row, Table, _pm, slug

LITERATURE_NOTE = ("Published numbers as their sources print them (mean ± std in %; a number without ± is printed "
                   "without one), not run here and never averaged with anything run here. Each row names where "
                   "the number can be checked: a paper's table, or a file of the authors' repository at a commit "
                   "and its lines; \"reporting X\" marks a comparison table that repeats X's number.")


def _mean_std(row: LitRow, metric: str) -> Cell:
    ms = row.mean_std(metric)
    return Cell() if ms is None else _pm(ms[0], ms[1])


def _tags(lit: Literature, row: LitRow) -> tuple[str, str, str, str]:
    """(backbone, pre-training, class text, overlap removed) of ``row`` as their tags."""
    p = row.protocol
    return p.backbone, " + ".join(p.pretraining), p.class_text, p.overlap_removed


def literature_tables(lit: Optional[Literature] = None) -> list[Table]:
    """One table per class split of the literature file (in the order its tags declare them): a row per result."""
    lit = lit or load_literature()
    cols = [Column("Method", "method"), Column("Dataset", "text"), Column("Top-1", "metric", "top1"),
            Column("Top-5", "metric", "top5"), Column("Folds", "text"), Column("Backbone", "text"),
            Column("Pre-training", "text"), Column("Class text", "text"), Column("Overlap removed", "text"),
            Column("Source", "text")]
    out = []
    for tag, rows in lit.groups():
        body = [Row([Cell(r.method), Cell(r.dataset), _mean_std(r, "top1"), _mean_std(r, "top5"),
                     Cell(str(r.protocol.folds) if r.protocol.folds else "not stated"), *map(Cell, _tags(lit, r)),
                     Cell(lit.cite(r))], r.method, r.method, published=True) for r in rows]
        notes = [f"{r.method} ({r.dataset}): {r.note}" for r in rows if r.note]
        spec = lit.tags["class_split"][tag]
        where = (f" Shown as † rows of the `{spec.harness_protocol}` tables." if spec.harness_protocol else
                 " Shown in a reference table (§) on the dataset pages." if spec.reference_table else "")
        out.append(Table(f"literature · {tag}", "literature", "published", tag, "", "literature", cols, "top1", body,
                         f"Class split `{tag}`: {spec.text}.{where}", notes, False, slug("literature", tag)))
    return out


def tag_legend(lit: Optional[Literature] = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(kind, [(tag, what it means)])] of every protocol tag the literature declares."""
    lit = lit or load_literature()
    return [(kind, [(t, v.text) for t, v in tags.items()]) for kind, tags in lit.tags.items()]


def left_out(lit: Optional[Literature] = None) -> list[tuple[str, str]]:
    """(what, why) of every result left out for want of a source it could be checked in."""
    lit = lit or load_literature()
    return [(x.what, x.why) for x in lit.left_out]
