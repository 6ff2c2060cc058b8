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
  (published, best, not significantly worse than the best, complete).
- ``Cell``: the text every text format shows (``40.0 ± 10.0``, ``8/8``, ``★ er``), the number it sorts by,
  and for a mean ± std cell the two numbers (in %), so a format can set them itself (LaTeX).

Prose (titles, headers, notes) is plain text in which backticks mark code (a command, a file name); that is
the only markup, and a format renders it as it likes. Nothing here knows any output format.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pandas as pd

from . import tables as R
from ..stats import TEST_NOTE

SANITY_NOTE = {
    "probe-text": "probe-text: no training, no video features; cosine between the default encoder's embeddings of "
                  "a clip's top-5 concept texts and the class texts. A value near the trained rows would mean the "
                  "features leak their generator (synthetic) or that concept matching alone solves the task.",
    "chance": "chance: a uniform random score per (clip, class); expected top-1 = 1 / candidate classes.",
}

# CLIP-era methods on Kinetics-600 zero-shot (ViT-B/16, CLIP pre-training): a reference table of their own on the
# kinetics page, never a row of a table of this harness's feature sets (their backbone and pre-training differ).
CLIP_ERA_BACKBONE = ("ViT-B/16, CLIP pre-training (OpenAI, 400M image-text pairs), then trained on Kinetics-400; "
                     "text: CLIP's text tower")
CLIP_ERA_PROTOCOL = ("Kinetics-600 zero-shot: 3 splits of 160 of the 220 classes new in Kinetics-600 (Chen and "
                     "Huang's splits: the test classes of kinetics-zsar); top-1 mean ± std over the 3 splits")
CLIP_ERA_PROTOCOL_ID = "kinetics600-zs (CLIP-era, ViT-B/16)"  # the protocol column of their CSV rows
REFERENCE_DATASETS = {"kinetics": R.PUBLISHED_CLIP_ERA}
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
            from ..records import duplicates_note

            out.append(f"Note: {duplicates_note(self.source or 'the records', self.duplicates)}.")
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


def build_report(records: list[dict], command: Optional[str] = None, source: Optional[str] = None) -> Report:
    """The report of ``records``: deduplicated, summarised and built into tables once, for every format."""
    from ..records import dedupe

    records, n_duplicates = dedupe(records)
    summary = R.summarise(records)
    return Report(records, summary, build_tables(summary), published_numbers(), command, source, n_duplicates)


def build_tables(summary: pd.DataFrame, published: bool = True) -> list[Table]:
    """Every table of ``summary`` in page order (``page_order``): per dataset its current tables, then (with
    ``published``) its reference tables, then its historical tables; ``published`` also adds the published rows
    to the tables."""
    if summary is None or summary.empty:
        return []
    fs = summary["mode"].astype(str).str.startswith("fewshot-")
    out = [_zsl_table(key, g, published) for key, g in summary[~fs].groupby(TABLE_KEYS, sort=True)]
    out += [_fewshot_table(key, g, published) for key, g in summary[fs].groupby(TABLE_KEYS[:4], sort=True)]
    if published:
        out += [t for ds in sorted(set(summary["dataset"])) for t in _reference_tables(ds)]
    facts = {ds: _protocol_facts(ds) for ds in {t.dataset for t in out}}
    return sorted(out, key=lambda t: page_order(t, facts[t.dataset]))


def current_synthetic_id() -> str:
    """The feature identity of the newest synthetic generator's core world (``synthetic-v2``)."""
    from ..features.synthetic import GENERATOR_VERSION

    return f"synthetic-v{GENERATOR_VERSION}"


def is_historical(features_id: str) -> bool:
    """True for the features of an earlier synthetic generator (``synthetic-v1``, and any world of it): their
    tables are kept for comparison on a page of their own. Real feature sets are never historical."""
    from ..features.synthetic import GENERATOR_VERSION

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
    from ..splits import default_protocol, load_protocol

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
    """Every published reference number, flat, whatever the records hold (the few-shot baselines aside):
    {dataset, protocol, method, source, values: {metric: (mean, std)}}."""
    out = [{"dataset": p["dataset"], "protocol": p["protocol"], "method": p["method"], "source": p["source"],
            "values": {m: p[m] for m, _ in R.METRICS if m in p}} for p in R.PUBLISHED]
    out += [{"dataset": ds, "protocol": CLIP_ERA_PROTOCOL_ID, "method": p["method"], "source": p["source"],
             "values": {"top1": p["top1"]}} for ds, entries in REFERENCE_DATASETS.items() for p in entries]
    return out


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
    """A summary row's significance flags and completeness (the Row fields beyond its cells)."""
    best = r.get("is_best") is True
    p = number(r.get("p_vs_best"))
    return {"best": best, "tied": r.get("tied_with_best") is True and not best,
            "complete": bool(r.get("complete", True)) or r.get("partial") is True,
            "p_vs_best": math.nan if p is None else p}


def _label(method: str) -> str:
    return method + (" (sanity)" if method in SANITY_NOTE else "")


def _excluded_note(ds: str, proto: str, sh: str) -> Optional[str]:
    """The training classes a cross-dataset protocol removed, read from its split file."""
    from ..splits import SplitError, load_protocol

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
    rows = []
    for _, r in g.iterrows():
        label = _label(r["method"])
        cells = ([Cell(R._mark(r) + label), Cell(r["config_hash"]), Cell(r.get("inputs", "-")),
                  Cell(R._runs(r), number(r["n_runs"]))]
                 + [_pm(r[f"{m}_mean"], r[f"{m}_std"]) for m, _ in metrics]
                 + [Cell(R._ci(r), number(r.get("ci_low"))), Cell(R._p(r), number(r.get("p_vs_best"))),
                    Cell(f"{r['train_s_per_fold']:.2f}", number(r["train_s_per_fold"]))])
        rows.append(Row(cells, r["method"], label, r["config_hash"], mode=mode, **_flags(r, metrics)))
    notes = [SANITY_NOTE[m] for m in SANITY_NOTE if m in set(g["method"])]
    if published and mode == "zsl":
        for p in R.PUBLISHED:
            if p["dataset"] == ds and p["protocol"] == proto:
                label = f"{p['method']} (published) †"
                cells = ([Cell(label), Cell(""), Cell(p.get("inputs", "")), Cell("")]
                         + [_pm(*p[m]) if m in p else Cell() for m, _ in metrics] + [Cell()] * 3)
                rows.append(Row(cells, p["method"], label, published=True, note_mark="†"))
                notes.append(f"† Published reference, not run here: {p['source']}; {p['note']}. "
                             "Real features: not comparable with synthetic rows, never averaged with them.")
    excluded = _excluded_note(ds, proto, sh)
    if excluded:
        notes.append(excluded)
    synthetic = bool(g["synthetic"].iloc[0])
    n_seeds = sorted(set(g["n_seeds"]))
    title = (f"{ds} · {proto}{' · generalised ZSL' if mode == 'gzsl' else ''} (split {sh}) · features {fid}"
             f"{' (SYNTHETIC)' if synthetic else ''}")
    header = (f"Mean ± sample std (ddof={R.DDOF}) in %, over all folds × seeds of the protocol "
              f"(seeds per row: {', '.join(map(str, n_seeds))}). Runs = done/expected; "
              + ("a row marked 'k of n folds' is a mean over the folds that ran, not comparable with complete "
                 "rows. " if g.get("partial", pd.Series(False, index=g.index)).any() else
                 "a row with missing runs has empty cells. ")
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
    return Table(title, ds, fid, proto, sh, "gzsl" if mode == "gzsl" else "zsl", cols, primary, rows, header,
                 list(dict.fromkeys(notes)), synthetic, slug(ds, proto, mode, fid, sh), is_historical(fid))


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
        label = _label(r["method"])
        cells = ([Cell(label), Cell(r["config_hash"]), Cell(str(r["k"]), float(r["k"])),
                  Cell(R._runs(r), number(r["n_runs"]))]
                 + [_pm(r[f"{m}_mean"], r[f"{m}_std"]) for m, _ in metrics]
                 + [Cell(f"{r['train_s_per_fold']:.2f}", number(r["train_s_per_fold"]))])
        # no marks in few-shot tables; best/tied (per K) are kept for the formats that bold the best of each K
        rows.append(Row(cells, r["method"], label, r["config_hash"], k=int(r["k"]), mode=r["mode"],
                        **_flags(r, metrics)))
    notes = [SANITY_NOTE[m] for m in SANITY_NOTE if m in set(g["method"])]
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
              "a class fewer than MIN_EVAL = 5 clips to evaluate (zsar_bench/folds.py) is skipped for that fold.")
    if synthetic:
        header += " Features: the embedded synthetic set (see README), not for claims about real videos."
    return Table(title, ds, fid, proto, sh, "fewshot", cols, "top1", rows, header, list(dict.fromkeys(notes)),
                 synthetic, slug(ds, proto, "fewshot", fid, sh), is_historical(fid))


def _reference_tables(ds: str) -> list[Table]:
    """Published results of other backbones for ``ds`` (CLIP-era on kinetics): a table of their own, never
    mixed into a table of a feature set run here."""
    entries = REFERENCE_DATASETS.get(ds, ())
    if not entries:
        return []
    cols = [Column("Method", "method"), Column("Backbone and pre-training", "text"), Column("Top-1", "metric", "top1"),
            Column("Source", "text")]
    rows = [Row([Cell(f"{p['method']} (published) §"), Cell(CLIP_ERA_BACKBONE), _pm(*p["top1"]), Cell(p["source"])],
                p["method"], f"{p['method']} (published) §", published=True, note_mark="§") for p in entries]
    header = (f"Published reference, not run here: {CLIP_ERA_PROTOCOL}. § Backbone and pre-training differ from "
              "every feature set in the tables above (CLIP-era models saw 400M image-text pairs and Kinetics-400 "
              "videos end to end), so these rows are never ranked with them; to compare on the same folds, run "
              "`clip`, `clip-adapter` and `er-clip` on CLIP features (README, CLIP-era methods).")
    return [Table(f"{ds} · published CLIP-era results (ViT-B/16; reference only)", ds, "published", "reference", "",
                  "reference", cols, "top1", rows, header, [], False, slug(ds, "reference"))]
