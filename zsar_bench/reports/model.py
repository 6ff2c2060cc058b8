"""The leaderboards as data: every table of a report, built once from the summary (``tables.summarise``) into
format-neutral objects that the formats (``formats/``: Markdown, CSV, HTML, LaTeX, ...) render.

- ``Report``: what one generation renders: the records, the summary (one row per table row, full precision),
  every ``Table`` in page order, the flat list of published numbers, and the page-level facts (the command,
  duplicates, superseded records).
- Page order (``page_order``): a dataset's current tables first (the newest synthetic generator, then any other
  current feature set; per feature set: the default protocol, other protocols, generalised ZSL, few-shot), then
  published reference tables; tables of an earlier synthetic generator (``historical``: synthetic-v1) go to
  the dataset's history page, never before a current table. Bookkeeping (records of superseded method
  revisions, duplicate rows) is a footnote (``Report.footnotes``) at the end of a page.
- ``Table``: one (dataset, feature set, protocol, split, mode) leaderboard (``kind`` zsl, gzsl, fewshot) or a
  published reference table (``kind`` reference): title, the explanation above it (``header``), the notes
  below it, typed ``Column``s and ``Row``s.
- ``Row``: one method configuration (or one published row): its ``Cell``s under the columns and its flags
  (published, best, not significantly worse than the best, complete), how its configuration differs from the
  method's defaults (``config_diff``), its partial mark (``partial``: "partial n/N", ``report --partial``) and,
  for a method registered here but not run on a current table (``Table.not_run``, ``add_not_run_rows``), why or
  about how long it would take (``not_run``; an estimate from measured runs).
- ``Cell``: the text every text format shows (``40.0 ± 10.0``, ``8/8``, ``★ er``), the number it sorts by,
  and for a mean ± std cell the two numbers (in %), so a format can set them itself (LaTeX).

Prose (titles, headers, notes) is plain text in which backticks mark code (a command, a file name); that is
the only markup, and a format renders it as it likes. Nothing here knows any output format.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from ..datasets import get_dataset
from ..datasets.published import published_zsl
from ..features.synthetic import GENERATOR_VERSION
from ..literature import load_literature
from ..measure.stats import TEST_NOTE
from ..method import METHODS
from ..plugins import BUILTIN_PACKAGE
from ..running.method_facts import method_cards
from ..results.records import dedupe, duplicates_note
from ..splits import SplitError, default_protocol, load_protocol
from . import tables as R

SANITY_NOTE = {
    "probe-text": "probe-text: no training, no video features; cosine between the default encoder's embeddings of "
                  "a clip's top-5 concept texts and the class texts. A value near the trained rows would mean the "
                  "features leak their generator (synthetic) or that concept matching alone solves the task.",
    "chance": "chance: a uniform random score per (clip, class); expected top-1 = 1 / candidate classes.",
}

TABLE_KEYS = ["dataset", "features_id", "protocol", "split_hash", "mode"]


@dataclass(frozen=True)
class Column:
    """A column: its heading and what its cells hold (``kind``: method, config, inputs, k, runs, metric, ci, p,
    seconds, text); ``metric`` names the metric of a metric column."""

    label: str
    kind: str
    metric: Optional[str] = None


@dataclass(frozen=True)
class Cell:
    """``text``: the cell as every text format shows it ("" when empty); ``value``: the number it sorts by (None:
    by its text); ``mean``/``std``: a mean ± std cell's numbers in % (None: not such a cell; NaN: empty)."""

    text: str = ""
    value: Optional[float] = None
    mean: Optional[float] = None
    std: Optional[float] = None


@dataclass
class Row:
    """One leaderboard row. ``label``: the method as shown, without the significance mark (with " (sanity)" or
    the published row's note mark); ``note_mark``: †, ‡ or § on a published row, the note that explains it."""

    cells: list[Cell]
    method: str
    label: str
    config: str = ""
    k: Optional[int] = None  # few-shot K
    mode: str = "zsl"
    published: bool = False
    note_mark: str = ""
    best: bool = False
    tied: bool = False  # not significantly worse than the best (the best row itself excluded)
    complete: bool = True
    p_vs_best: float = math.nan
    config_diff: str = ""  # how the configuration differs from its method's defaults ("lr=0.003"); "" for none
    partial: str = ""  # "partial n/N": its means cover n of the protocol's N folds (``report --partial``)
    not_run: str = ""  # why it has no numbers ("not run: about 2.1 hours on 2 cores", "not run: needs CLIP ...")
    n_expected: Optional[int] = None  # the runs the protocol expects of it

    @property
    def mark(self) -> str:
        """★ the best row, ≈ a row not significantly worse than it (few-shot tables show neither)."""
        return "★" if self.best else ("≈" if self.tied else "")


@dataclass
class Table:
    title: str
    dataset: str
    features_id: str
    protocol: str
    split_hash: str
    kind: str  # zsl | gzsl | fewshot | reference
    columns: list[Column]
    primary: str  # the metric the marks and the order are about
    rows: list[Row]
    header: str = ""  # the explanation above the table
    notes: list[str] = field(default_factory=list)  # below it, in order
    synthetic: bool = True
    slug: str = ""  # a name for anchors and files
    historical: bool = False  # features of an earlier synthetic generator: the dataset's history page
    # methods registered here with no result on this (current) table, a row each (``add_not_run_rows``)
    not_run: list[Row] = field(default_factory=list)

    @property
    def all_rows(self) -> list[Row]:
        """Every row as the pages show them: the rows run here (``rows`` less the published ones), then the methods
        not run (``not_run``), then the published reference rows."""
        return ([r for r in self.rows if not r.published] + self.not_run
                + [r for r in self.rows if r.published])

    @property
    def metrics(self) -> list[tuple[str, str]]:
        """(key, label) of the metric columns."""
        return [(c.metric, c.label) for c in self.columns if c.kind == "metric"]

    @property
    def metric_cols(self) -> list[int]:
        return [i for i, c in enumerate(self.columns) if c.kind == "metric"]

    @property
    def primary_col(self) -> int:
        return next(i for i, c in enumerate(self.columns) if c.kind == "metric" and c.metric == self.primary)

    def col(self, kind: str) -> Optional[int]:
        """The index of the first column of ``kind`` (None: the table has none)."""
        return next((i for i, c in enumerate(self.columns) if c.kind == kind), None)

    def value(self, row: Row, metric: str) -> tuple[float, float]:
        """(mean, std) in % of ``row`` under ``metric``; (NaN, NaN) where the cell is empty or absent."""
        for c, cell in zip(self.columns, row.cells):
            if c.kind == "metric" and c.metric == metric and cell.mean is not None:
                return cell.mean, cell.std
        return math.nan, math.nan


@dataclass
class Report:
    """Everything one generation of the reports renders (``build_report``)."""

    records: list[dict]  # deduplicated: each run key once
    summary: pd.DataFrame  # one row per (table, method, config): the numbers behind the tables, full precision
    tables: list[Table]  # every table, in page order
    published: list[dict]  # every published reference number: dataset, protocol, method, source, values
    command: Optional[str] = None
    source: Optional[str] = None  # the records file
    duplicates: int = 0  # rows of the records file that repeat a run key
    partial: bool = False  # rows missing runs show the mean over the runs done, marked "partial n/N"

    @property
    def generated(self) -> str:
        return (f"Generated by `{self.command or 'python run_bench.py report'}` from the records; do not edit by "
                "hand.")

    @property
    def superseded(self) -> dict[str, int]:
        """{method: records left out because a later revision of the method is registered}."""
        return (self.summary.attrs.get("superseded") or {}) if self.summary is not None else {}

    def superseded_of(self, dataset: Optional[str] = None) -> dict[str, int]:
        """{method: records left out because a later revision is registered}, of ``dataset`` (None: all)."""
        if dataset is None:
            return self.superseded
        by_ds = (self.summary.attrs.get("superseded_by_dataset") or {}) if self.summary is not None else {}
        return dict(by_ds.get(dataset, {}))

    def superseded_note(self, dataset: Optional[str] = None) -> str:
        """What the records of superseded revisions are (of ``dataset``; None: all), no final punctuation; "" when
        there are none."""
        sup = self.superseded_of(dataset)
        if not sup:
            return ""
        return (f"Not shown: {', '.join(f'{n} {m} record(s)' for m, n in sorted(sup.items()))} made by an earlier "
                "implementation of the method (a lower `revision`, see docs/fidelity.md)")

    def footnotes(self, dataset: Optional[str] = None) -> list[str]:
        """The bookkeeping lines of a page (of ``dataset``; None: the index), for its end: records of superseded
        method revisions, duplicate rows in the records file."""
        out = []
        if self.superseded_of(dataset):
            out.append(self.superseded_note(dataset) + "; they stay in the records file.")
        if self.duplicates:
            out.append(f"Note: {duplicates_note(self.source or 'the records', self.duplicates)}.")
        by_ds = (self.summary.attrs.get("contested") or {}) if self.summary is not None else {}
        contested: dict[str, int] = {}
        for ds, per in by_ds.items():
            if dataset is None or ds == dataset:
                for m, n in per.items():
                    contested[m] = contested.get(m, 0) + n
        if contested:
            out.append("Warning: runs recorded more than once with different numbers by different writers (marked "
                       f"CONTESTED; the last row counts): {', '.join(f'{m} {n}' for m, n in sorted(contested.items()))}.")
        return out

    @property
    def datasets(self) -> list[str]:
        return sorted({t.dataset for t in self.tables})

    def tables_of(self, dataset: str) -> list[Table]:
        """Every table of ``dataset``, in page order (current ones first, then the historical ones)."""
        return [t for t in self.tables if t.dataset == dataset]

    def current_tables(self, dataset: str) -> list[Table]:
        """The tables of the dataset's page: current feature sets and method revisions, then published references."""
        return [t for t in self.tables if t.dataset == dataset and not t.historical]

    def history_tables(self, dataset: str) -> list[Table]:
        """The tables of the dataset's history page: feature sets of an earlier synthetic generator."""
        return [t for t in self.tables if t.dataset == dataset and t.historical]

    def historical_features(self, dataset: Optional[str] = None) -> list[str]:
        """The historical feature set identities (of ``dataset``; None: all), in page order."""
        return list(dict.fromkeys(t.features_id for t in self.tables
                                  if t.historical and (dataset is None or t.dataset == dataset)))


def build_report(records: list[dict], command: Optional[str] = None, source: Optional[str] = None,
                 partial: bool = False) -> Report:
    """The report of ``records``: deduplicated, summarised and built into tables once, for every format; the
    current tables name the registered methods not run on them (``add_not_run_rows``). ``partial``: rows missing
    runs show the mean over the runs done, marked "partial n/N" (``report --partial``)."""
    every_row = list(records)  # summarise counts each run once too, and marks runs whose rows disagree
    records, n_duplicates = dedupe(every_row)
    summary = R.summarise(every_row, partial=partial)
    tables = build_tables(summary, runtimes=measured_runtimes(records))
    return Report(records, summary, tables, published_numbers(), command, source, n_duplicates, partial)


def build_tables(summary: pd.DataFrame, published: bool = True, runtimes: Optional[dict] = None) -> list[Table]:
    """Every table of ``summary`` in page order (``page_order``): per dataset its current tables, then (with
    ``published``) its reference tables, then its historical tables; ``published`` also adds the published rows
    to the tables. With ``runtimes`` (``measured_runtimes``), each dataset's current default table also names
    the registered methods without a complete result there (``add_not_run_rows``)."""
    if summary is None or summary.empty:
        return []
    fs = summary["mode"].astype(str).str.startswith("fewshot-")
    out = [_zsl_table(key, g, published) for key, g in summary[~fs].groupby(TABLE_KEYS, sort=True)]
    out += [_fewshot_table(key, g, published) for key, g in summary[fs].groupby(TABLE_KEYS[:4], sort=True)]
    if published:
        out += [t for ds in sorted(set(summary["dataset"])) for t in _reference_tables(ds)]
    facts = {ds: _protocol_facts(ds) for ds in {t.dataset for t in out}}
    if runtimes is not None:
        for t in out:
            add_not_run_rows(t, runtimes, facts[t.dataset])
    return sorted(out, key=lambda t: page_order(t, facts[t.dataset]))


def current_synthetic_id() -> str:
    """The feature identity of the newest synthetic generator's core world (``synthetic-v2``)."""
    return f"synthetic-v{GENERATOR_VERSION}"


def is_historical(features_id: str) -> bool:
    """True for the features of an earlier synthetic generator (``synthetic-v1``, and any world of it): their
    tables are kept for comparison on a page of their own. Real feature sets are never historical."""
    m = re.fullmatch(r"synthetic-v(\d+)(?:[-+].*)?", str(features_id))
    return bool(m) and int(m.group(1)) < GENERATOR_VERSION


def features_order(features_id: str) -> tuple:
    """Where a feature set's tables go: current before historical; among the current, the newest generator's
    core world (the default features) first, then the others by name; the historical ones newest first."""
    fid = str(features_id)
    if is_historical(fid):
        m = re.match(r"synthetic-v(\d+)", fid)
        return (1, -int(m.group(1)), fid)
    return (0, 0 if fid == current_synthetic_id() else 1, fid)


def _protocol_facts(ds: str) -> tuple[Optional[str], dict[str, str]]:
    """(the dataset's default protocol, {protocol: its current split file's short hash}); None/{} where unknown."""
    try:
        default = default_protocol(ds)
    except Exception:  # noqa: BLE001  (a dataset not registered here: no protocol comes first)
        return None, {}
    hashes = {}
    try:
        hashes[default] = load_protocol(ds, default).short_hash
    except Exception:  # noqa: BLE001
        pass
    return default, hashes


def page_order(t: Table, facts: Optional[tuple] = None) -> tuple:
    """The sort key of a table on its dataset's pages: current tables first (by ``features_order``; per feature
    set the default protocol's zero-shot table, then other protocols, generalised ZSL, few-shot; the current
    split file before older ones), published reference tables after them, historical tables last."""
    default, hashes = facts if facts is not None else _protocol_facts(t.dataset)
    kind = {"zsl": 0, "gzsl": 2, "fewshot": 3}.get(t.kind, 4)
    if t.kind == "zsl" and t.protocol != default:
        kind = 1
    other_split = hashes.get(t.protocol) not in (None, t.split_hash)
    return (t.dataset, t.historical, t.kind == "reference", features_order(t.features_id), kind,
            t.protocol != default, t.protocol, other_split, t.split_hash)


def published_numbers() -> list[dict]:
    """Every published reference number, flat, whatever the records hold (the few-shot baselines aside): every
    literature row (its protocol: the harness protocol its class split equals, else the class split's tag), then
    the rows of datasets' own specs: {dataset, protocol, method, source, values: {metric: (mean, std)}}."""
    lit = load_literature()
    out = [{"dataset": r.dataset, "protocol": lit.harness_protocol(r) or r.protocol.class_split, "method": r.method,
            "source": lit.cite(r), "values": _literature_values(r)} for r in lit.rows]
    known = {(p["dataset"], p["protocol"], p["method"]) for p in out}
    out += [{"dataset": p["dataset"], "protocol": p["protocol"], "method": p["method"], "source": p["source"],
             "values": {m: p[m] for m, _ in R.METRICS if m in p}} for p in published_zsl()
            if (p["dataset"], p["protocol"], p["method"]) not in known]  # a dataset spec's own rows
    return out


def _literature_values(row) -> dict:
    """{metric: (mean, std)} of a literature row (std NaN where the source gives none)."""
    return {m: (ms[0], math.nan if ms[1] is None else ms[1]) for m in ("top1", "top5")
            if (ms := row.mean_std(m)) is not None}


def number(x) -> Optional[float]:
    """``x`` as a float, None for NaN or what is no number."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def slug(*parts: str) -> str:
    """A name for anchors and files: the parts joined, lower case, runs of other characters as one hyphen."""
    return re.sub(r"[^A-Za-z0-9]+", "-", "-".join(str(p) for p in parts)).strip("-").lower()


def _pm(mean, std) -> Cell:
    """A mean ± std cell from a summary row's (or a published entry's) numbers."""
    return Cell(R._cell(mean, std), number(mean), mean, std)


def _flags(r, metrics) -> dict:
    """A summary row's significance flags, completeness, configuration and partial mark (the Row fields beyond
    its cells)."""
    best = r.get("is_best") is True
    p = number(r.get("p_vs_best"))
    expected = number(r.get("n_expected"))
    diff = r.get("config_diff")
    return {"best": best, "tied": r.get("tied_with_best") is True and not best,
            "complete": bool(r.get("complete", True)) or r.get("partial") is True,
            "p_vs_best": math.nan if p is None else p, "config_diff": diff if isinstance(diff, str) else "",
            "partial": R.partial_label(r), "n_expected": None if expected is None else int(expected)}


def _config_cell(r) -> Cell:
    """The Config cell: the configuration's hash, and how it differs from the method's defaults (nothing more
    for the defaults): ``eb5cb7b487 (lr=0.003)``."""
    diff = r.get("config_diff")
    return Cell(str(r["config_hash"]) + (f" ({diff})" if isinstance(diff, str) and diff else ""))


def _label(method: str, r=None) -> str:
    """The method as a row shows it: " (sanity)" for a sanity row, then the writer marks of summary row ``r``."""
    return method + (" (sanity)" if method in SANITY_NOTE else "") + ("" if r is None else _writer_marks(r))


IN_PROCESS_MARK = " [IN-PROCESS: not isolated]"
CONTESTED_MARK = " [CONTESTED: {n} run(s)]"
WRITER_NOTES = {
    "in_process": "[IN-PROCESS: not isolated] marks rows with runs fit and scored in the driver's own process (a "
                  "method defined in a notebook or script, or `--executor inline`): that method's code could have "
                  "changed how its own numbers were computed.",
    "contested": "[CONTESTED: n run(s)] marks rows with runs recorded more than once with different numbers by "
                 "different writers (for example a method writing rows into the records file); the last row of "
                 "each is counted: check the records file.",
}


def _writer_marks(r) -> str:
    out = IN_PROCESS_MARK if r.get("in_process") is True or r.get("in_process") is np.bool_(True) else ""
    n = number(r.get("contested"))
    return out + (CONTESTED_MARK.format(n=int(n)) if n else "")


def _writer_notes(g: pd.DataFrame) -> list[str]:
    """The notes below a table explaining the writer marks its rows carry."""
    return [note for flag, note in WRITER_NOTES.items()
            if flag in g and any(v is True or v is np.bool_(True) or (flag == "contested" and number(v))
                                 for v in g[flag])]


def _few_classes_note(ds: str, proto: str, sh: str) -> Optional[str]:
    """Top-5 over at most 5 candidate classes is 100% by construction: said below the table."""
    try:
        pr = load_protocol(ds, proto)
    except (SplitError, ValueError):
        return None
    most = max(len(f.unseen) for f in pr.folds)
    if pr.short_hash != sh or most > 5:
        return None
    return (f"Top-5 is 100% by construction here: each fold tests at most {most} unseen classes, so the true class is "
            "always among the top 5; read Top-1 and Mean class acc.")


def _excluded_note(ds: str, proto: str, sh: str) -> Optional[str]:
    """The training classes a cross-dataset protocol removed, read from its split file."""
    try:
        pr = load_protocol(ds, proto)
    except (SplitError, ValueError):
        return None
    if pr.short_hash != sh or not pr.train_dataset or pr.train_dataset == ds:
        return None
    names = ", ".join(e["class"] for e in pr.excluded) or "none"
    return (f"Trained on {pr.train_dataset} ({len(pr.folds[0].seen)} classes); excluded from training because they "
            f"overlap a {ds} class ({len(pr.excluded)}; exact or near-identical name, or word-vector cosine "
            f"distance < 0.05; details in {Path(pr.path).name}): {names}.")


def _zsl_table(key: tuple, g: pd.DataFrame, published: bool) -> Table:
    """One zero-shot or generalised-ZSL table: rows by the primary metric, best first; unseen-class metrics
    (zsl) or U, S and H (gzsl); the published rows of its dataset and protocol (zsl) after them."""
    ds, fid, proto, sh, mode = key
    metrics = R.GZSL_METRICS if mode == "gzsl" else R.ZSL_METRICS
    primary = R.primary_metric(mode)
    g = g.sort_values(f"{metrics[-1][0] if mode == 'gzsl' else 'top1'}_mean", ascending=False, na_position="last")
    first = dict(metrics)[primary]
    cols = ([Column("Method", "method"), Column("Config", "config"), Column("Class inputs", "inputs"),
             Column("Runs", "runs")] + [Column(label, "metric", m) for m, label in metrics]
            + [Column(f"{first} 95% CI", "ci"), Column("p vs best", "p"), Column("Train s/fold", "seconds")])
    rows = [_zsl_row(r, mode, metrics) for _, r in g.iterrows()]
    notes = [SANITY_NOTE[m] for m in SANITY_NOTE if m in set(g["method"])] + _writer_notes(g)
    if published and mode == "zsl":
        for row, note in _published_rows(ds, proto, metrics):
            rows.append(row)
            notes.append(note)
    notes += [n for n in (_excluded_note(ds, proto, sh), _few_classes_note(ds, proto, sh) if mode == "zsl" else None)
              if n]
    synthetic = bool(g["synthetic"].iloc[0])
    title = (f"{ds} · {proto}{' · generalised ZSL' if mode == 'gzsl' else ''} (split {sh}) · features {fid}"
             f"{' (SYNTHETIC)' if synthetic else ''}")
    return Table(title, ds, fid, proto, sh, "gzsl" if mode == "gzsl" else "zsl", cols, primary, rows,
                 _zsl_header(g, ds, fid, mode, first, synthetic), list(dict.fromkeys(notes)), synthetic,
                 slug(ds, proto, mode, fid, sh), is_historical(fid))


def _zsl_row(r, mode: str, metrics: list) -> Row:
    """A zero-shot or generalised-ZSL table's row of a summary row."""
    label = _label(r["method"], r)
    cells = ([Cell(R._mark(r) + label), _config_cell(r), Cell(r.get("inputs", "-")),
              Cell(R._runs(r), number(r["n_runs"]))]
             + [_pm(r[f"{m}_mean"], r[f"{m}_std"]) for m, _ in metrics]
             + [Cell(R._ci(r), number(r.get("ci_low"))), Cell(R._p(r), number(r.get("p_vs_best"))),
                Cell(f"{r['train_s_per_fold']:.2f}", number(r["train_s_per_fold"]))])
    return Row(cells, r["method"], label, r["config_hash"], mode=mode, **_flags(r, metrics))


def _published_rows(ds: str, proto: str, metrics: list) -> list[tuple[Row, str]]:
    """(row, note) of every published number on ``ds``/``proto``: marked †, after the rows of this harness."""
    out = []
    for p in published_zsl():
        if p["dataset"] == ds and p["protocol"] == proto:
            label = f"{p['method']} (published) †"
            cells = ([Cell(label), Cell(""), Cell(p.get("inputs", "")), Cell("")]
                     + [_pm(*p[m]) if m in p else Cell() for m, _ in metrics] + [Cell()] * 3)
            out.append((Row(cells, p["method"], label, published=True, note_mark="†"),
                        f"† Published reference, not run here: {p['source']}; {p['note']}. "
                        "Real features: not comparable with synthetic rows, never averaged with them."))
    return out


def _zsl_header(g: pd.DataFrame, ds: str, fid: str, mode: str, first: str, synthetic: bool) -> str:
    """The explanation above a zero-shot or generalised-ZSL table."""
    n_seeds = sorted(set(g["n_seeds"]))
    partial = g.get("partial", pd.Series(False, index=g.index)).fillna(False).astype(bool).any()
    header = (f"Mean ± sample std (ddof={R.DDOF}) in %, over all folds × seeds of the protocol "
              f"(seeds per row: {', '.join(map(str, n_seeds))}). Runs = done/expected; "
              + ("a row marked \"partial n/N\" is the mean over the n of the protocol's N folds that ran, not "
                 "comparable with complete rows. " if partial else "a row with missing runs has empty cells. ")
              + f"★ = best {first}; ≈ = not significantly worse than ★, unmarked = significantly "
              f"worse ({TEST_NOTE}); p vs best = that Holm-adjusted p-value, or \"too few runs to test\" where "
              "the test cannot reach the alpha with the paired runs at hand (n <= 5, or too many comparisons for "
              "Holm's first step): such rows carry no mark either way; a sanity row is never marked ≈. 95% CI = t "
              f"interval of the mean {first}, clipped to [0, 100]; a single run shows its value without ± or "
              f"interval. Pairwise: `python run_bench.py compare A B --dataset {ds}`. ")
    if mode == "gzsl":
        header += ("Generalised ZSL (Xian et al.): 20% of each seen class's clips held out and the model fit on the "
                   "rest; candidates = seen + unseen; U/S = mean class accuracy on unseen / held-out seen clips, "
                   "H = their harmonic mean.")
    else:
        header += ("Zero-shot: trained on every clip of the seen classes; Top-1/Top-5/Mean class acc over the "
                   "unseen classes' clips among the unseen classes.")
        if fid == "synthetic-v1":
            header += (" (Historical synthetic-v1 records: made before generator v2 and the paper training sets; "
                       "they trained on 80% of the seen classes' clips and are kept for comparison only.)")
    if synthetic:
        header += (" Features: the embedded synthetic set (see README), for checking the harness and comparing "
                   "methods under controlled conditions, not for claims about real videos.")
    return header


def _fewshot_table(key: tuple, g: pd.DataFrame, published: bool) -> Table:
    """One few-shot table per (dataset, feature set, protocol, split): a row per (method, config, K) of the
    ``fewshot-K`` rows; on kinetics-zsar, ER's Table 5 as marked reference rows."""
    ds, fid, proto, sh = key
    metrics = R.ZSL_METRICS
    cols = ([Column("Method", "method"), Column("Config", "config"), Column("K (clips/class)", "k"),
             Column("Runs", "runs")] + [Column(label, "metric", m) for m, label in metrics]
            + [Column("Train s/fold", "seconds")])
    g = g.assign(k=g["mode"].str.split("-").str[1].astype(int)).sort_values(["method", "config_hash", "k"])
    rows = []
    for _, r in g.iterrows():
        label = _label(r["method"], r)
        cells = ([Cell(label), _config_cell(r), Cell(str(r["k"]), float(r["k"])),
                  Cell(R._runs(r), number(r["n_runs"]))]
                 + [_pm(r[f"{m}_mean"], r[f"{m}_std"]) for m, _ in metrics]
                 + [Cell(f"{r['train_s_per_fold']:.2f}", number(r["train_s_per_fold"]))])
        # no marks in few-shot tables; best/tied (per K) are kept for the formats that bold the best of each K
        rows.append(Row(cells, r["method"], label, r["config_hash"], k=int(r["k"]), mode=r["mode"],
                        **_flags(r, metrics)))
    notes = [SANITY_NOTE[m] for m in SANITY_NOTE if m in set(g["method"])] + _writer_notes(g)
    if published and ds == "kinetics" and proto == "kinetics-zsar":
        label = "supervised (published) ‡"
        for k, (t1, t5) in R.PUBLISHED_FEWSHOT.items():
            rows.append(Row([Cell(label), Cell(""), Cell(str(k), float(k)), Cell(""), _pm(*t1), _pm(*t5), Cell(),
                             Cell()], "supervised", label, k=k, mode=f"fewshot-{k}", published=True, note_mark="‡"))
        notes.append("‡ Published reference, not run here: ER, ICCV 2021, Table 5 (supervised few-shot baselines "
                     "on the 160 test classes of each fold, the same visual features as ER). Real features: not "
                     "comparable with synthetic rows, never averaged with them.")
    synthetic = bool(g["synthetic"].iloc[0])
    title = (f"{ds} · {proto} · Few-shot (supervised on K clips of each test class) (split {sh}) · "
             f"features {fid}{' (SYNTHETIC)' if synthetic else ''}")
    header = (f"Mean ± sample std (ddof={R.DDOF}) in %, over all folds × seeds of the protocol (each seed is its "
              "own draw of the K clips). Runs = done/expected; a row with missing runs has empty cells. "
              "Few-shot: the model is fit on K clips of each test (unseen) class of a fold and nothing else, "
              "and the rest of those classes' clips are classified among the test classes; a K that would leave "
              "a class fewer than MIN_EVAL = 5 clips to evaluate (zsar_bench/measure/folds.py) is skipped for that fold.")
    if synthetic:
        header += " Features: the embedded synthetic set (see README), not for claims about real videos."
    return Table(title, ds, fid, proto, sh, "fewshot", cols, "top1", rows, header, list(dict.fromkeys(notes)),
                 synthetic, slug(ds, proto, "fewshot", fid, sh), is_historical(fid))


def _reference_tables(ds: str) -> list[Table]:
    """The reference tables of ``ds``'s page: per class split with a ``reference_table``, its rows of ``ds``."""
    lit = load_literature()
    rows = [r for r in lit.rows if r.dataset == ds and lit.reference_table(r)]
    out = []
    for tag in dict.fromkeys(r.protocol.class_split for r in rows):
        mine = [r for r in rows if r.protocol.class_split == tag]
        top5 = any(r.top5 for r in mine)
        cols = ([Column("Method", "method"), Column("Backbone and pre-training", "text"),
                 Column("Class text", "text"), Column("Folds", "text"), Column("Top-1", "metric", "top1")]
                + ([Column("Top-5", "metric", "top5")] if top5 else []) + [Column("Source", "text")])
        body = []
        for r in mine:
            label = f"{r.method} (published) §"
            cells = ([Cell(label), Cell(f"{lit.tag_text('backbone', r.protocol.backbone)}; "
                                        + ", ".join(lit.tag_text('pretraining', p) for p in r.protocol.pretraining)),
                      Cell(lit.tag_text("class_text", r.protocol.class_text)),
                      Cell(str(r.protocol.folds) if r.protocol.folds else "not stated"), _lit_cell(r, "top1")]
                     + ([_lit_cell(r, "top5")] if top5 else []) + [Cell(lit.cite(r))])
            body.append(Row(cells, r.method, label, published=True, note_mark="§"))
        header = (f"Published reference, not run here: {lit.tag_text('class_split', tag)}. § Backbone and "
                  "pre-training differ from every feature set in the tables above, so these rows are never ranked "
                  "with them; the CLIP-era methods of this harness (`clip`, `clip-adapter`, `er-clip`) run on "
                  "CLIP features (README, CLIP-era methods). Every row with its protocol tags: the literature page.")
        notes = [f"{r.method}: {r.note}" for r in mine if r.note]
        out.append(Table(f"{ds} · published results, {tag} (reference only)", ds, "published", "reference", "",
                         "reference", cols, "top1", body, header, notes, False, slug(ds, "reference", tag)))
    return out


def _lit_cell(row, metric: str) -> Cell:
    """A literature row's mean ± std cell (the mean alone where the source gives no std; empty where no number)."""
    ms = row.mean_std(metric)
    return Cell() if ms is None else _pm(ms[0], ms[1])


# --------------------------------------------------------------------------------------------------
# registered methods not run on a current table: a row each, with an estimate of the time or the reason
# --------------------------------------------------------------------------------------------------

TIMING_CORES = 2  # the CPU cores of the machine whose records time the runs (docs/results.md)
NOT_RUN_NOTE = (
    "Not run: a method registered here (the harness's methods/) with no complete result of its current "
    "implementation on this protocol. Its hours are an ESTIMATE, not a measurement: the method's median "
    "training + evaluation seconds per fold on each dataset where it has zero-shot records on {fid} (their "
    "default protocols; records of its current implementation, else of an earlier one), scaled by this "
    "dataset's clips over that dataset's ({clips} here), the median of those, times this protocol's {folds} "
    "folds × 1 seed, on the {cores} CPU cores that made the records; `python run_bench.py --methods M "
    "--datasets {ds}` runs one.")


def measured_runtimes(records: list[dict]) -> dict[str, dict[str, float]]:
    """{method: {dataset: median training + evaluation seconds of one run}} over the zero-shot records on the
    current synthetic features and each dataset's default protocol: a method's records of its current revision,
    or, where it has none, of earlier ones (the time of a run changes less than its numbers)."""
    fid = current_synthetic_id()
    defaults: dict[str, Optional[str]] = {}
    revisions: dict[str, Optional[int]] = {}
    times: dict[tuple, tuple[list, list]] = {}
    for r in records:
        ds, method = r.get("dataset"), r.get("method")
        if (r.get("mode") or "zsl") != "zsl" or r.get("features_id") != fid or not ds or not method:
            continue
        if ds not in defaults:
            defaults[ds] = _protocol_facts(ds)[0]
        train, evals = number(r.get("train_s")), number(r.get("eval_s"))
        if r.get("protocol") != defaults[ds] or train is None:
            continue
        if method not in revisions:
            revisions[method] = R._current_revision(method)
        current = (r.get("revision") or 1) == revisions[method]
        times.setdefault((method, ds), ([], []))[0 if current else 1].append(train + (evals or 0.0))
    has_current = {m for (m, _), (cur, _) in times.items() if cur}
    out: dict[str, dict[str, float]] = {}
    for (method, ds), (cur, old) in sorted(times.items()):
        vals = cur if method in has_current else old
        if vals:
            out.setdefault(method, {})[ds] = float(np.median(vals))
    return out


def _clips(ds: str) -> Optional[int]:
    """The clips of ``ds`` in the synthetic world (None for a dataset not registered here)."""
    try:
        return int(get_dataset(ds).synthetic_clips)
    except Exception:  # noqa: BLE001
        return None


def estimated_hours(method: str, ds: str, runs: int, runtimes: dict) -> Optional[float]:
    """The hours ``runs`` runs of ``method`` on ``ds`` would take (an estimate, ``NOT_RUN_NOTE``): per dataset
    where it was timed, its median seconds per run scaled by the ratio of the clip counts; the median of those,
    times ``runs``. None when it was never timed."""
    clips = _clips(ds)
    scaled = [s * clips / c for d, s in (runtimes.get(method) or {}).items() if (c := _clips(d)) and clips]
    return float(np.median(scaled)) * runs / 3600 if scaled else None


def _hours(h: float) -> str:
    if h >= 10:
        return f"about {h:.0f} hours"
    return f"about {h:.2g} hours" if h >= 0.001 else "under 0.001 hours"


def registered_here() -> list[str]:
    """The methods registered by the harness itself (its methods/ folder), by name: the rows a current table
    owes a reader (third-party plugins are left out: what they need is not known here)."""
    return sorted(n for n, card in method_cards().items() if card.origin.startswith(BUILTIN_PACKAGE))


def cannot_run_here(method: str) -> Optional[str]:
    """Why ``method`` cannot run on the default synthetic features (its default configuration), as a row says it;
    None when it can: it needs other features (CLIP), it only runs few-shot, or the weights its defaults load are
    not on this machine (checked offline by the method's worker: no network is asked)."""
    card = method_cards().get(method)
    return "not registered here" if card is None else card.cannot_run


def _is_current_default(t: Table, facts: tuple) -> bool:
    """``t`` is a dataset's current table: zero-shot, the default synthetic features, its default protocol and
    current split file."""
    default, hashes = facts
    return (t.kind == "zsl" and not t.historical and t.features_id == current_synthetic_id()
            and t.protocol == default and hashes.get(default) == t.split_hash)


def _n_folds(ds: str, proto: str) -> Optional[int]:
    try:
        return len(load_protocol(ds, proto).folds)
    except Exception:  # noqa: BLE001
        return None


def add_not_run_rows(t: Table, runtimes: dict, facts: tuple) -> None:
    """On a dataset's current table (``_is_current_default``), a row for each method registered here
    (``registered_here``; sanity rows too) without a complete result: "not run: about H hours on 2 cores" (an
    estimate, ``estimated_hours``; the note below the table says how it is made) or "not run: <why>" where it
    cannot run there (``cannot_run_here``); a row of such a method that lacks runs says how long the rest takes
    instead of showing empty cells. The new rows are ``t.not_run`` (``Table.all_rows`` places them after the rows
    run here, before the published ones); ``t.rows`` keeps the rows of results."""
    if not _is_current_default(t, facts):
        return
    n_folds = _n_folds(t.dataset, t.protocol)
    if not n_folds:
        return
    own = [r for r in t.rows if not r.published]
    new = []
    for method in registered_here():
        mine = [r for r in own if r.method == method]
        if any(r.complete for r in mine):
            continue
        why = cannot_run_here(method)
        for r in mine:  # runs missing: how long the rest would take
            if why is None:
                _mark_incomplete(t, r, runtimes)
        if not mine:
            hours = None if why else estimated_hours(method, t.dataset, n_folds, runtimes)
            text = (f"not run: {why}" if why else f"not run: {_hours(hours)} on {TIMING_CORES} cores"
                    if hours is not None else "not run: never timed here, no estimate")
            new.append(_not_run_row(t, method, text, n_folds))
    if not new and not any(r.not_run for r in own):
        return
    t.not_run = sorted(new, key=lambda r: ("hours" not in r.not_run, r.method))
    note = NOT_RUN_NOTE.format(fid=t.features_id, clips=_clips(t.dataset), folds=n_folds, cores=TIMING_CORES,
                               ds=t.dataset)
    if any(r.not_run for r in own):
        note += " A row that lacks runs says how many are left and about how long they take, estimated the same way."
    t.notes.append(note)


def _not_run_row(t: Table, method: str, text: str, n_folds: int) -> Row:
    """A row for a method with no result on ``t``: its name, what its default configuration reads for classes,
    0 runs and ``text`` where its numbers would be."""
    label = _label(method)
    cls = R._registered(method)
    try:
        inputs = R.inputs_label(method, cls.param_defaults() if cls is not None else {})
    except Exception:  # noqa: BLE001
        inputs = "-"
    cells = [Cell() for _ in t.columns]
    cells[0] = Cell(label)
    cells[t.col("inputs")] = Cell(inputs)
    cells[t.col("runs")] = Cell(f"0/{n_folds}", 0.0)
    cells[t.primary_col] = Cell(text)
    return Row(cells, method, label, complete=False, not_run=text, n_expected=n_folds)


def _mark_incomplete(t: Table, r: Row, runtimes: dict) -> None:
    """A row missing runs (its cells empty): its primary cell says how many runs are left and about how long
    they take."""
    done = int(r.cells[t.col("runs")].value or 0)
    left = (r.n_expected or done) - done
    hours = estimated_hours(r.method, t.dataset, left, runtimes)
    if left <= 0 or hours is None:
        return
    r.not_run = f"incomplete: {left} runs left, {_hours(hours)} on {TIMING_CORES} cores"
    r.cells[t.primary_col] = Cell(r.not_run)
