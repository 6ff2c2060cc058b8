"""The HTML leaderboard: a static site under ``<reports_dir>/html/`` (no server, no network; opens from file://).

- ``index.html``: per feature set identity, a method x dataset heatmap of zero-shot top-1 on each dataset's
  default protocol, and top-1 against training time per dataset; links to the dataset pages;
- ``<dataset>.html``: every leaderboard table of the dataset, the same rows as the Markdown (zero-shot,
  generalised-ZSL and few-shot tables, published reference rows marked), sortable by clicking a header
  (a few lines of inline JavaScript), with the significance marks (★ best, ≈ not significantly worse),
  and a per-(fold, seed) strip + box plot of each row's primary metric from the records;
- plots are SVG files beside the pages (matplotlib, rendered off-screen), referenced by relative paths.

``build_tables`` turns a summary (``reports.summarise``) into structured tables whose cells are the
Markdown leaderboard's cells; the LaTeX writer (``latex``) reads the same structure.
Templates: ``zsar_bench/templates/html/`` (Jinja2, shipped as package data).
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pandas as pd

from . import tables as R

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "html"
TABLE_KEYS = ["dataset", "features_id", "protocol", "split_hash", "mode"]
RUN_KEYS = TABLE_KEYS + ["method", "config_hash"]
METRIC_LABEL = dict(R.METRICS)


# --------------------------------------------------------------------------------------------------
# structured tables (shared with latex)
# --------------------------------------------------------------------------------------------------

@dataclass
class Row:
    """One leaderboard row: ``cells`` are the Markdown cells; ``sort`` a numeric key per cell (None: sort by text)."""

    cells: list[str]
    sort: list[Optional[float]]
    method: str
    label: str  # method name as shown, without the significance mark
    config: str = ""
    k: Optional[int] = None  # few-shot K
    mode: str = "zsl"
    published: bool = False
    best: bool = False
    tied: bool = False  # not significantly worse than the best (the best row itself excluded)
    complete: bool = True
    p_vs_best: float = math.nan
    values: dict = field(default_factory=dict)  # metric -> (mean, std) in %, NaN where the Markdown cell is empty
    train_s: float = math.nan

    @property
    def mark(self) -> str:
        return "★" if self.best else ("≈" if self.tied else "")


@dataclass
class Table:
    title: str
    dataset: str
    features_id: str
    protocol: str
    split_hash: str
    kind: str  # zsl | gzsl | fewshot
    columns: list[str]
    metrics: list[tuple[str, str]]  # (key, label) of the metric columns
    primary: str
    rows: list[Row]
    header: str = ""  # the Markdown's explanation above the table
    notes: list[str] = field(default_factory=list)
    synthetic: bool = True
    slug: str = ""

    @property
    def metric_cols(self) -> list[int]:
        first = self.columns.index(self.metrics[0][1])
        return list(range(first, first + len(self.metrics)))

    @property
    def primary_col(self) -> int:
        return self.columns.index(dict(self.metrics)[self.primary])


def _f(x) -> Optional[float]:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _slug(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", "-".join(str(p) for p in parts)).strip("-").lower()


def _split_md(md: str) -> tuple[str, list[str]]:
    """(explanation above the table, notes below it) of one ``render_table`` section."""
    paras = md.split("\n\n")
    at = [i for i, p in enumerate(paras) if p.lstrip().startswith("|")]
    if not at:
        return paras[0], paras[1:]
    return "\n\n".join(paras[:at[0]]), paras[at[-1] + 1:]


def _row_fields(r, metrics) -> dict:
    """A summary row's significance flags, completeness and values (the Row fields beyond its cells)."""
    best = r.get("is_best") is True
    p = _f(r.get("p_vs_best"))
    return {"best": best, "tied": r.get("tied_with_best") is True and not best,
            "complete": bool(r.get("complete", True)) or r.get("partial") is True,
            "p_vs_best": math.nan if p is None else p, "train_s": float(r["train_s_per_fold"]),
            "values": {m: (r[f"{m}_mean"], r[f"{m}_std"]) for m, _ in metrics}}


def _zsl_table(key: tuple, g: pd.DataFrame, published: bool) -> Table:
    ds, fid, proto, sh, mode = key
    metrics = R.GZSL_METRICS if mode == "gzsl" else R.ZSL_METRICS
    primary = R.primary_metric(mode)
    # the Markdown's order (reports.render_table)
    g = g.sort_values(f"{metrics[-1][0] if mode == 'gzsl' else 'top1'}_mean", ascending=False, na_position="last")
    first = dict(metrics)[primary]
    cols = (["Method", "Config", "Class inputs", "Runs"] + [lab for _, lab in metrics]
            + [f"{first} 95% CI", "p vs best", "Train s/fold"])
    rows = []
    for _, r in g.iterrows():
        label = r["method"] + (" (sanity)" if r["method"] in R.SANITY_NOTE else "")
        cells = ([R._mark(r) + label, r["config_hash"], r.get("inputs", "-"), R._runs(r)]
                 + [R._cell(r[f"{m}_mean"], r[f"{m}_std"]) for m, _ in metrics]
                 + [R._ci(r), R._p(r), f"{r['train_s_per_fold']:.2f}"])
        sort = ([None, None, None, _f(r["n_runs"])] + [_f(r[f"{m}_mean"]) for m, _ in metrics]
                + [_f(r.get("ci_low")), _f(r.get("p_vs_best")), _f(r["train_s_per_fold"])])
        rows.append(Row(cells, sort, r["method"], label, r["config_hash"], mode=mode, **_row_fields(r, metrics)))
    if published and mode == "zsl":
        for p in R.PUBLISHED:
            if p["dataset"] == ds and p["protocol"] == proto:
                label = f"{p['method']} (published) †"
                cells = ([label, "", p.get("inputs", ""), ""] + [R._cell(*p[m]) if m in p else "" for m, _ in metrics]
                         + ["", "", ""])
                sort = [None, None, None, None] + [p[m][0] if m in p else None for m, _ in metrics] + [None] * 3
                rows.append(Row(cells, sort, p["method"], label, published=True,
                                values={m: tuple(p[m]) if m in p else (math.nan, math.nan) for m, _ in metrics}))
    title, md = R.render_table(g, published)[0]
    header, notes = _split_md(md)
    return Table(title, ds, fid, proto, sh, "gzsl" if mode == "gzsl" else "zsl", cols, list(metrics), primary, rows,
                 header, notes, bool(g["synthetic"].iloc[0]), _slug(ds, proto, mode, fid, sh))


def _fewshot_table(key: tuple, g: pd.DataFrame, published: bool) -> Table:
    ds, fid, proto, sh = key
    metrics = R.ZSL_METRICS
    cols = ["Method", "Config", "K (clips/class)", "Runs"] + [lab for _, lab in metrics] + ["Train s/fold"]
    g = g.assign(k=g["mode"].str.split("-").str[1].astype(int)).sort_values(["method", "config_hash", "k"])
    rows = []
    for _, r in g.iterrows():
        label = r["method"] + (" (sanity)" if r["method"] in R.SANITY_NOTE else "")
        cells = ([label, r["config_hash"], str(r["k"]), R._runs(r)]
                 + [R._cell(r[f"{m}_mean"], r[f"{m}_std"]) for m, _ in metrics] + [f"{r['train_s_per_fold']:.2f}"])
        sort = [None, None, float(r["k"]), _f(r["n_runs"])] + [_f(r[f"{m}_mean"]) for m, _ in metrics] + [
            _f(r["train_s_per_fold"])]
        # the Markdown few-shot tables carry no marks; best/tied (per K) are kept for the LaTeX bold
        rows.append(Row(cells, sort, r["method"], label, r["config_hash"], k=int(r["k"]), mode=r["mode"],
                        **_row_fields(r, metrics)))
    if published and ds == "kinetics" and proto == "kinetics-zsar":
        for k, (t1, t5) in R.PUBLISHED_FEWSHOT.items():
            label = "supervised (published) ‡"
            rows.append(Row([label, "", str(k), "", R._cell(*t1), R._cell(*t5), "", ""],
                            [None, None, float(k), None, t1[0], t5[0], None, None], "supervised", label, k=k,
                            mode=f"fewshot-{k}", published=True,
                            values={"top1": t1, "top5": t5, "mean_class_acc": (math.nan, math.nan)}))
    title, md = R.render_fewshot_tables(g.drop(columns="k"), published)[0]
    header, notes = _split_md(md)
    return Table(title, ds, fid, proto, sh, "fewshot", cols, list(metrics), "top1", rows, header, notes,
                 bool(g["synthetic"].iloc[0]), _slug(ds, proto, "fewshot", fid, sh))


def build_tables(summary: pd.DataFrame, published: bool = True) -> list[Table]:
    """Every leaderboard table of ``summary`` in the Markdown's order (zero-shot and GZSL tables, then few-shot)."""
    if summary is None or summary.empty:
        return []
    fs = summary["mode"].astype(str).str.startswith("fewshot-")
    out = [_zsl_table(key, g, published) for key, g in summary[~fs].groupby(TABLE_KEYS, sort=True)]
    out += [_fewshot_table(key, g, published) for key, g in summary[fs].groupby(TABLE_KEYS[:4], sort=True)]
    if published:
        out += [t for ds in sorted(set(summary["dataset"])) for t in _reference_tables(ds)]
    return out


def _reference_tables(ds: str) -> list[Table]:
    """Published results of other backbones (``tables.render_reference_tables``): a table of their own."""
    out = []
    for title, md in R.render_reference_tables(ds):
        header, notes = _split_md(md)
        rows = [Row(cells, [None, None, p["top1"][0], None], p["method"], cells[0], published=True,
                    values={"top1": tuple(p["top1"])}) for p, cells in R.reference_rows(ds)]
        out.append(Table(title, ds, "published", "reference", "", "reference", list(R.REFERENCE_COLUMNS),
                         [("top1", "Top-1")], "top1", rows, header, notes, False, _slug(ds, "reference")))
    return out


# --------------------------------------------------------------------------------------------------
# plots (SVG)
# --------------------------------------------------------------------------------------------------

COLORS = {"best": "#c98a00", "tied": "#2b6cb0", "other": "#7a7a7a", "pub": "#b03060"}
_SVG_META = {"Date": None, "Creator": None}
PLOT_VERSION = "1"  # part of every plot's digest: bump when the drawing code changes
PLOT_CACHE = "plots.json"  # beside the pages: file name -> digest of the data it was drawn from


def _mpl():
    """matplotlib's Figure class, or None when matplotlib is not installed (the pages then say so)."""
    try:
        import matplotlib
    except ImportError:
        return None
    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # never a window; figures below are made without pyplot's global state
    from matplotlib.figure import Figure

    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "zsar-bench", "font.size": 9,
                                "axes.spines.top": False, "axes.spines.right": False})
    return Figure


def _digest(spec) -> str:
    return hashlib.sha1(json.dumps([PLOT_VERSION, spec], sort_keys=True, default=str).encode()).hexdigest()


def _save(fig, path: Path) -> Path:
    # margins are set by hand (``_margins``): bbox_inches="tight" would draw every figure twice
    fig.savefig(path, format="svg", metadata=_SVG_META)
    return path


def _margins(fig, left_chars: int = 0, top: float = 0.3, bottom: float = 0.45, right: float = 0.15,
             left: float = 0.55) -> None:
    """Subplot margins in inches (the left one grows with the longest y tick label, ~0.065 in per character)."""
    w, h = fig.get_size_inches()
    lm = left + 0.065 * left_chars
    fig.subplots_adjust(left=min(0.7, lm / w), right=1 - right / w, bottom=bottom / h, top=1 - top / h)


def _row_color(r: Row) -> str:
    return COLORS["pub"] if r.published else COLORS["best"] if r.best else COLORS["tied"] if r.tied else COLORS["other"]


def _num(x) -> Optional[float]:
    x = _f(x)
    return None if x is None else round(x, 6)


def strip_spec(t: Table, folds: dict) -> Optional[dict]:
    """What the per-run plot of ``t`` shows: per row, its primary metric on every (fold, seed) run (%);
    published rows as their mean ± std."""
    if not t.rows or t.kind == "reference":  # published means of other backbones: the table says it all
        return None
    metric = t.primary
    configs: dict = {}
    for r in t.rows:
        if not r.published:
            configs.setdefault(r.method, set()).add(r.config)
    many = {m for m, c in configs.items() if len(c) > 1}
    rows = []
    for r in t.rows:
        label = (r.mark + " " if r.mark and t.kind != "fewshot" else "") + r.label
        label += f" [{r.config}]" if r.method in many and r.config else ""
        label += f", K={r.k}" if t.kind == "fewshot" else ""
        marked = r.published or ((r.best or r.tied) and t.kind != "fewshot")  # few-shot tables carry no marks
        row = {"label": label, "color": _row_color(r) if marked else COLORS["other"], "marked": marked,
               "complete": r.complete, "published": r.published, "values": []}
        if r.published:
            m, s = r.values.get(metric, (math.nan, math.nan))
            row["ms"] = [_num(m), _num(s)]
        else:
            sub = folds.get((t.dataset, t.features_id, t.protocol, t.split_hash, r.mode, r.method, r.config))
            if sub is not None and metric in sub:
                row["values"] = [round(float(v) * 100, 6) for v in sub[metric].dropna()]
        rows.append(row)
    return {"kind": "strip", "xlabel": f"{METRIC_LABEL.get(metric, metric)} per (fold, seed) run, %  "
                                       "(box: quartiles; ◆ published mean ± std)", "rows": rows}


def draw_strip(Figure, spec: dict, path: Path) -> Path:
    import numpy as np

    rows = spec["rows"]
    n = len(rows)
    labels = [r["label"] for r in reversed(rows)]
    chars = max(len(x) for x in labels)
    fig = Figure(figsize=(5.2 + 0.065 * chars, 0.3 * n + 0.75))
    _margins(fig, chars, top=0.12, bottom=0.5)
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)
    box_data, box_pos = [], []
    for i, r in enumerate(rows):
        y = n - 1 - i
        if r["published"]:
            m, s = r.get("ms", [None, None])
            if m is not None:
                ax.errorbar([m], [y], xerr=[[s or 0.0], [s or 0.0]], fmt="D", color=r["color"], ms=5, capsize=3, lw=1)
            continue
        v = np.asarray(r["values"], dtype=float)
        if not len(v):
            continue
        ax.scatter(v, y + rng.uniform(-0.2, 0.2, len(v)), s=7, color=r["color"],
                   alpha=0.55 if r["complete"] else 0.25, linewidths=0)
        box_data.append(v)
        box_pos.append(y)
    if box_data:
        ax.boxplot(box_data, positions=box_pos, orientation="horizontal", widths=0.55, showfliers=False,
                   manage_ticks=False, medianprops={"color": "black", "lw": 1}, boxprops={"lw": 0.8},
                   whiskerprops={"lw": 0.8}, capprops={"lw": 0.8})
    ax.set_yticks(range(n))
    ax.set_yticklabels(labels)
    for tick, r in zip(ax.get_yticklabels(), reversed(rows)):
        tick.set_color(r["color"] if r["marked"] else "black")
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(spec["xlabel"])
    ax.grid(axis="x", lw=0.4, alpha=0.5)
    return _save(fig, path)


def _default_tables(summary: pd.DataFrame, fid: str) -> pd.DataFrame:
    """The zero-shot rows of feature set ``fid`` on each dataset's default protocol (the current split file's
    hash where it has rows, else the split hash with the most rows)."""
    from ..splits import default_protocol, load_protocol

    sub = summary[(summary["features_id"] == fid) & (summary["mode"] == "zsl")]
    parts = []
    for ds, g in sub.groupby("dataset", sort=True):
        g = g[g["protocol"] == default_protocol(ds)]
        if g.empty:
            continue
        try:
            sh = load_protocol(ds, default_protocol(ds)).short_hash
        except Exception:  # noqa: BLE001  (an unknown dataset or a missing split file: fall back)
            sh = None
        if sh not in set(g["split_hash"]):
            sh = g["split_hash"].value_counts().index[0]
        parts.append(g[g["split_hash"] == sh])
    return pd.concat(parts) if parts else sub.iloc[0:0]


def _labels(g: pd.DataFrame) -> list[str]:
    many = g.groupby("method")["config_hash"].nunique()
    many = set(many[many > 1].index)
    return [m + (f" [{c}]" if m in many else "") for m, c in zip(g["method"], g["config_hash"])]


def _mark_of(r) -> str:
    return "★" if r.get("is_best") is True else "≈" if r.get("tied_with_best") is True else ""


def heatmap_spec(d: pd.DataFrame, fid: str) -> Optional[dict]:
    """Method x dataset zero-shot top-1 (%) with the tables' marks, rows by their mean over datasets. Config
    hashes differ between datasets, so a row is a method; where a dataset's table has several configurations
    of it, the best one is shown and flagged ⁺."""
    if d.empty:
        return None
    d = d.sort_values("top1_mean", ascending=False, na_position="last")
    several = d.groupby(["dataset", "method"])["config_hash"].transform("nunique") > 1
    d = d.assign(several=several).drop_duplicates(["dataset", "method"], keep="first")
    piv = d.pivot_table(index="method", columns="dataset", values="top1_mean", aggfunc="first", dropna=False)
    piv = piv.loc[piv.mean(axis=1, skipna=True).sort_values(ascending=False, na_position="last").index]
    mark = {(r["method"], r["dataset"]): _mark_of(r) + ("⁺" if r["several"] else "") for _, r in d.iterrows()}
    return {"kind": "heatmap", "rows": list(piv.index), "cols": list(piv.columns),
            "values": [[_num(v) for v in row] for row in piv.to_numpy(dtype=float)],
            "marks": [[mark.get((i, c), "") for c in piv.columns] for i in piv.index],
            "title": f"features {fid}"}


def draw_heatmap(Figure, spec: dict, path: Path) -> Path:
    import numpy as np

    rows, cols = spec["rows"], spec["cols"]
    vals = np.array([[np.nan if v is None else v for v in row] for row in spec["values"]], dtype=float)
    nr, nc = vals.shape
    chars = max(len(str(x)) for x in rows)
    fig = Figure(figsize=(1.1 * nc + 2.4 + 0.065 * chars, 0.3 * nr + 0.9))
    _margins(fig, chars, top=0.6, bottom=0.1, right=1.0, left=0.3)
    ax = fig.add_subplot()
    vmax = max(1.0, float(np.nanmax(vals))) if np.isfinite(vals).any() else 1.0
    from matplotlib import colormaps

    im = ax.imshow(np.ma.masked_invalid(vals), cmap=colormaps["viridis"].with_extremes(bad="#eeeeee"),
                   aspect="auto", vmin=0, vmax=vmax)
    for i in range(nr):
        for j in range(nc):
            v = vals[i, j]
            txt = "–" if math.isnan(v) else f"{v:.1f}{spec['marks'][i][j]}"
            dark = not math.isnan(v) and v < 0.6 * vmax
            ax.text(j, i, txt, ha="center", va="center", fontsize=8, color="white" if dark else "black")
    ax.set_xticks(range(nc))
    ax.set_xticklabels(cols)
    ax.set_yticks(range(nr))
    ax.set_yticklabels(rows)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.xaxis.tick_top()
    cax = fig.add_axes((1 - 0.85 / fig.get_figwidth(), ax.get_position().y0, 0.12 / fig.get_figwidth(),
                        ax.get_position().height))
    fig.colorbar(im, cax=cax, label="Top-1 %")
    ax.set_title(spec["title"], fontsize=8, pad=20)
    return _save(fig, path)


def time_spec(g: pd.DataFrame, ds: str, fid: str) -> Optional[dict]:
    """Top-1 (mean over runs) against mean training seconds per fold, one point per row of the table."""
    g = g[g["top1_mean"].notna() & (g["train_s_per_fold"] > 0)]
    if g.empty:
        return None
    colors = [COLORS["best"] if m == "★" else COLORS["tied"] if m == "≈" else COLORS["other"]
              for m in (_mark_of(r) for _, r in g.iterrows())]
    return {"kind": "time", "title": f"{ds} · {g['protocol'].iloc[0]} · {fid}",
            "points": [[lab, _num(x), _num(y), c] for lab, x, y, c in
                       zip(_labels(g), g["train_s_per_fold"], g["top1_mean"], colors)]}


def draw_time(Figure, spec: dict, path: Path) -> Path:
    pts = spec["points"]
    fig = Figure(figsize=(4.4, 3.0))
    _margins(fig, 0, top=0.3, bottom=0.45, right=0.1)
    ax = fig.add_subplot()
    xs, ys = [p[1] for p in pts], [p[2] for p in pts]
    ax.scatter(xs, ys, s=22, c=[p[3] for p in pts], zorder=3)
    for lab, x, y, _ in pts:
        ax.annotate(lab, (x, y), xytext=(3, 2), textcoords="offset points", fontsize=7)
    if max(xs) / max(min(xs), 1e-9) > 20:
        from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, numticks=8))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # no mathtext: much faster
        ax.xaxis.set_minor_locator(NullLocator())
    ax.margins(x=0.12, y=0.08)
    ax.set_xlabel("training time per fold, s (mean)")
    ax.set_ylabel("Top-1 %")
    ax.set_title(spec["title"], fontsize=8)
    ax.grid(lw=0.4, alpha=0.5)
    return _save(fig, path)


DRAW = {"strip": draw_strip, "heatmap": draw_heatmap, "time": draw_time}


# --------------------------------------------------------------------------------------------------
# pages
# --------------------------------------------------------------------------------------------------

def _md_inline(text: str):
    """Markdown prose of the leaderboards (``code`` spans only) as safe HTML."""
    from markupsafe import Markup, escape

    parts = re.split(r"`([^`]*)`", text)
    return Markup("".join(str(escape(p)) if i % 2 == 0 else f"<code>{escape(p)}</code>" for i, p in enumerate(parts)))


def _env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["md"] = _md_inline
    return env


def _records_frame(records: list[dict]) -> pd.DataFrame:
    """The records as the leaderboard counts them (mode filled in, superseded method revisions dropped)."""
    return R.records_frame(records)[0]


def _fold_groups(df: pd.DataFrame) -> dict:
    """(dataset, features_id, protocol, split_hash, mode, method, config_hash) -> that row's runs."""
    if df.empty or any(k not in df for k in RUN_KEYS):
        return {}
    return {k: g for k, g in df.groupby(RUN_KEYS, sort=False)}


def _feature_order(df: pd.DataFrame, fids: list[str]) -> list[str]:
    """Feature set identities, the one with the most recent record first (historical sets last)."""
    if df.empty or "time" not in df or "features_id" not in df:
        return sorted(fids, reverse=True)
    latest = df.groupby("features_id")["time"].max().astype(str).to_dict()
    return sorted(fids, key=lambda f: (latest.get(f, ""), f), reverse=True)


def _per_class_pages(env, base: dict, records: list[dict], scores_dir: Optional[Path], out: Path) -> dict:
    """One page per (dataset, method, protocol, mode) with saved scores (``--save-scores``): per-class top-1 and
    the most confused pairs (``scores.per_class``). Returns {dataset: [{"href", "label"}]}."""
    links: dict = {}
    if scores_dir is None or not Path(scores_dir).is_dir():
        return links
    from ..scores import per_class

    groups = sorted({(r.get("dataset"), r.get("method"), r.get("protocol"), r.get("mode") or "zsl")
                     for r in records if r.get("scores_file") and (Path(scores_dir) / r["scores_file"]).is_file()})
    for ds, method, protocol, mode in groups:
        table, pairs, runs = per_class(records, scores_dir, method, ds, protocol, mode)
        if not runs:
            continue
        name = f"perclass-{_slug(ds, method, protocol, mode)}.html"

        def rows(df):
            return {"columns": list(df.columns), "rows": [[f"{v:.1f}" if isinstance(v, float) else v for v in r]
                                                          for r in df.itertuples(index=False)]}

        (out / name).write_text(env.get_template("perclass.html").render(
            **base, page=ds, title=f"{method} on {ds}: per class", dataset=ds, method=method,
            about=f"{protocol} · {mode} · {runs} run(s) with saved scores (--save-scores).",
            classes=rows(table), pairs=rows(pairs)), encoding="utf-8")
        links.setdefault(ds, []).append({"href": name, "label": f"{method} · {protocol} · {mode} ({runs} runs)"})
    return links


def write_html(records: list[dict], summary: pd.DataFrame, reports_dir: Path, command: Optional[str] = None,
               tables: Optional[list[Table]] = None, scores_dir: Optional[Path] = None) -> list[Path]:
    """Write ``<reports_dir>/html/``: index.html, one page per dataset, their SVG plots. A plot whose data
    did not change since the last generation (its digest in ``plots.json``) is not drawn again; files of an
    earlier generation that are not rewritten (a dataset or table that went away) are removed. Returns the
    pages."""
    try:
        env = _env()
    except ImportError:
        warnings.warn("HTML leaderboard not written: Jinja2 is not installed", stacklevel=2)
        return []
    out = Path(reports_dir) / "html"
    out.mkdir(parents=True, exist_ok=True)
    can_plot = importlib.util.find_spec("matplotlib") is not None
    if not can_plot:
        warnings.warn("HTML leaderboard written without plots: matplotlib is not installed", stacklevel=2)
    tables = build_tables(summary) if tables is None else tables
    df = _records_frame(records)
    folds = _fold_groups(df) if can_plot else {}
    cache_path = out / PLOT_CACHE
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8")) if cache_path.is_file() else {}
    except (OSError, ValueError):
        cache = {}
    new_cache: dict = {}
    made: set[Path] = set()
    Figure = None

    def plot(spec: Optional[dict], name: str) -> Optional[str]:
        nonlocal Figure
        if not can_plot or spec is None:
            return None
        path, digest = out / name, _digest(spec)
        if cache.get(name) != digest or not path.is_file():
            Figure = Figure or _mpl()
            DRAW[spec["kind"]](Figure, spec, path)
        new_cache[name] = digest
        made.add(path)
        return name

    gen = f"Generated by `{command or 'python run_bench.py report'}` from the records; do not edit by hand."
    superseded = (summary.attrs.get("superseded") or {}) if summary is not None else {}
    sup_note = ""
    if superseded:
        sup_note = (f"Not shown: {', '.join(f'{n} {m} record(s)' for m, n in sorted(superseded.items()))} made by an "
                    "earlier implementation of the method (a lower `revision`, see docs/fidelity.md).")
    datasets = sorted({t.dataset for t in tables})
    fids = _feature_order(df, sorted({t.features_id for t in tables if t.kind == "zsl"}))

    # per feature set: the heatmap, and accuracy against training time per dataset (on the index and the
    # dataset's page)
    time_plots: dict = {}
    heatmaps = []
    for fid in fids:
        d = _default_tables(summary, fid)
        hm = plot(heatmap_spec(d, fid), f"heatmap-{_slug(fid)}.svg")
        per_ds = []
        for ds, g in d.groupby("dataset", sort=True):
            img = plot(time_spec(g, ds, fid), f"time-{_slug(ds, fid)}.svg")
            if img:
                item = {"dataset": ds, "fid": fid, "img": img, "protocol": g["protocol"].iloc[0]}
                per_ds.append(item)
                time_plots.setdefault(ds, []).append(item)
        heatmaps.append({"fid": fid, "img": hm, "time": per_ds,
                         "synthetic": bool(d["synthetic"].any()) if not d.empty else False})

    pages = []
    base = {"gen": gen, "sup_note": sup_note, "datasets": datasets, "plots": can_plot,
            "marks_note": f"★ = best row of a table (its primary metric); ≈ = not significantly worse than ★; "
                          f"unmarked = significantly worse ({R.TEST_NOTE}). † ‡ = published reference rows "
                          "(real features, not run here)."}
    per_class_links = _per_class_pages(env, base, records, scores_dir, out)
    for links in per_class_links.values():
        made.update(out / link["href"] for link in links)
    for ds in datasets:
        ts = [{"t": t, "img": plot(strip_spec(t, folds), f"{t.slug}-folds.svg")} for t in tables if t.dataset == ds]
        p = out / f"{ds}.html"
        p.write_text(env.get_template("dataset.html").render(
            **base, page=ds, title=f"{ds} leaderboard", dataset=ds, tables=ts, time_plots=time_plots.get(ds, []),
            per_class=per_class_links.get(ds, []),
            md_link=f"../{ds}.md" if (Path(reports_dir) / f"{ds}.md").is_file() else None), encoding="utf-8")
        made.add(p)
        pages.append(p)
    counts = {ds: sum(1 for t in tables if t.dataset == ds) for ds in datasets}
    idx = out / "index.html"
    idx.write_text(env.get_template("index.html").render(
        **base, page="index", title="zsar-bench leaderboards", heatmaps=heatmaps, counts=counts,
        csv_link="../leaderboard.csv" if (Path(reports_dir) / "leaderboard.csv").is_file() else None), encoding="utf-8")
    made.add(idx)
    for stale in list(out.glob("*.html")) + list(out.glob("*.svg")):
        if stale not in made:
            stale.unlink()
    cache_path.write_text(json.dumps(new_cache, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return [idx] + pages
