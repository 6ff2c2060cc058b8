"""The HTML leaderboard: a static site under ``<reports_dir>/html/`` (no server, no network; opens from file://).

- ``index.html``: per feature set identity (current ones first, earlier synthetic generators last), a method x
  dataset heatmap of zero-shot top-1 on each dataset's default protocol (each method's default configuration,
  never the best-scoring one; colours on a per-dataset scale from chance to the column's best), and top-1
  against training time per dataset; links to the dataset pages;
- ``<dataset>.html``: the dataset's current leaderboard tables, the same rows and order as the Markdown
  (zero-shot on the default protocol, other protocols, generalised ZSL, few-shot; published reference rows
  marked), sortable by clicking a header (a few lines of inline JavaScript), with the significance marks (★ best,
  ≈ not significantly worse), and a per-(fold, seed) strip + box plot of each row's primary metric from the
  records; bookkeeping (superseded records) as footnotes at the end;
- ``<dataset>_history.html``: the tables of earlier synthetic generators, linked from the dataset page;
- plots are SVG files beside the pages (matplotlib, rendered off-screen), referenced by relative paths.

The pages render the tables of a ``model.Report`` (the same rows as every other format); the plots read the
records and the summary. Templates: ``zsar_bench/templates/html/`` (Jinja2, shipped as package data).
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import re
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np
from markupsafe import Markup, escape

from ...splits import default_protocol, load_protocol
from . import register

if TYPE_CHECKING:
    import pandas as pd

    from ..model import Report, Row, Table

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "html"
TABLE_KEYS = ["dataset", "features_id", "protocol", "split_hash", "mode"]
RUN_KEYS = TABLE_KEYS + ["method", "config_hash"]


# --------------------------------------------------------------------------------------------------
# plots (SVG)
# --------------------------------------------------------------------------------------------------

COLORS = {"best": "#c98a00", "tied": "#2b6cb0", "other": "#7a7a7a", "pub": "#b03060"}
_SVG_META = {"Date": None, "Creator": None}
PLOT_VERSION = "2"  # part of every plot's digest: bump when the drawing code changes
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


def _row_color(r: "Row") -> str:
    return COLORS["pub"] if r.published else COLORS["best"] if r.best else COLORS["tied"] if r.tied else COLORS["other"]


def _num(x) -> Optional[float]:
    from ..model import number

    x = number(x)
    return None if x is None else round(x, 6)


def strip_spec(t: "Table", folds: dict) -> Optional[dict]:
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
        label += f" ({r.config_diff})" if r.config_diff else ""
        label += f", K={r.k}" if t.kind == "fewshot" else ""
        label += f" ({r.partial})" if r.partial else ""
        marked = r.published or ((r.best or r.tied) and t.kind != "fewshot")  # few-shot tables carry no marks
        row = {"label": label, "color": _row_color(r) if marked else COLORS["other"], "marked": marked,
               "complete": r.complete, "published": r.published, "values": []}
        if r.published:
            m, s = t.value(r, metric)
            row["ms"] = [_num(m), _num(s)]
        else:
            sub = folds.get((t.dataset, t.features_id, t.protocol, t.split_hash, r.mode, r.method, r.config))
            if sub is not None and metric in sub:
                row["values"] = [round(float(v) * 100, 6) for v in sub[metric].dropna()]
        rows.append(row)
    from ..tables import METRICS

    return {"kind": "strip", "xlabel": f"{dict(METRICS).get(metric, metric)} per (fold, seed) run, %  "
                                       "(box: quartiles; ◆ published mean ± std)", "rows": rows}


def draw_strip(Figure, spec: dict, path: Path) -> Path:
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


def _default_tables(summary: "pd.DataFrame", fid: str) -> "pd.DataFrame":
    """The zero-shot rows of feature set ``fid`` on each dataset's default protocol (the current split file's
    hash where it has rows, else the split hash with the most rows)."""
    import pandas as pd

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


def _labels(g: "pd.DataFrame") -> list[str]:
    """A point's label: the method, its configuration where the table has several, "partial n/N" where partial."""
    from ..tables import partial_label

    many = g.groupby("method")["config_hash"].nunique()
    many = set(many[many > 1].index)
    return [m + (f" [{r.get('config_diff') or r['config_hash']}]" if m in many else "")
            + (f" ({partial_label(r)})" if partial_label(r) else "") for m, (_, r) in zip(g["method"], g.iterrows())]


def _true(x) -> bool:
    """A flag of the summary that is set (True or numpy's True; None, NaN and False are not)."""
    return x is True or (isinstance(x, np.bool_) and bool(x))


def _mark_of(r) -> str:
    return "★" if _true(r.get("is_best")) else "≈" if _true(r.get("tied_with_best")) else ""


def config_facts(df: "pd.DataFrame") -> dict:
    """(dataset, features_id, protocol, split_hash, mode, method, config_hash) -> {"default": True when the
    configuration's recorded parameters equal the method's defaults (``tables.config_differences``: a parameter the
    record predates counts as its default, one at its ``hash_omit_if_default`` value too) and its class
    descriptions are the built-in ones; False otherwise or when the method is not registered here, "diff":
    {parameter: recorded value} where it differs}."""
    from ..tables import config_differences

    if df.empty or any(k not in df for k in RUN_KEYS):
        return {}
    out = {}
    for key, g in df.groupby(RUN_KEYS, sort=False):
        params = g["params"].iloc[-1] if "params" in g else None
        desc = g["descriptions"].iloc[-1] if "descriptions" in g else None
        diff = config_differences(key[5], params, desc)
        out[key] = ({"default": False, "diff": {"(defaults unknown)": "method not registered here"}} if diff is None
                    else {"default": not diff, "diff": diff})
    return out


def _chance(df: "pd.DataFrame", table_key: tuple) -> Optional[float]:
    """Chance-level top-1 (%) of a table's runs: 100 / its number of candidate (unseen) classes."""
    if df.empty or "n_unseen" not in df:
        return None
    sub = df
    for k, v in zip(TABLE_KEYS, table_key):
        sub = sub[sub[k] == v]
    n = sub["n_unseen"].dropna()
    return None if n.empty or float(n.median()) <= 0 else 100.0 / float(n.median())


def heatmap_spec(d: "pd.DataFrame", fid: str, facts: Optional[dict] = None,
                 chance: Optional[dict] = None) -> Optional[dict]:
    """Method x dataset zero-shot top-1 (%) with the tables' marks. A row is a method (config hashes differ between
    datasets); where a dataset's table has several configurations of it, the one shown is never chosen by its
    score: the default configuration (``config_facts``), else the one closest to the defaults (fewest differing
    parameters, then its hash), flagged ° and named in ``notes``; ⁺ says the table has other configurations too.
    Colours are per dataset: ``rel`` places a cell between the dataset's chance level (0; ``chance``:
    {dataset: top-1 %}) and the best cell shown in its column (1), so an easy dataset does not wash out a hard
    one. Rows by their mean ``rel`` over the datasets they have."""
    import pandas as pd

    if d.empty:
        return None
    chance = chance or {}
    picked, notes = _pick_configurations(d, fid, facts or {})
    p = pd.DataFrame(picked)
    piv = p.pivot_table(index="method", columns="dataset", values="top1", aggfunc="first", dropna=False)
    cols = list(piv.columns)
    vals = piv.to_numpy(dtype=float)
    lo = np.array([chance.get(c) if chance.get(c) is not None else 0.0 for c in cols], dtype=float)
    hi = np.array([np.nanmax(vals[:, j]) if np.isfinite(vals[:, j]).any() else np.nan for j in range(len(cols))])
    with np.errstate(all="ignore"):
        rel = np.clip((vals - lo) / np.where(hi - lo > 0, hi - lo, np.nan), 0.0, 1.0)
    have = np.isfinite(rel)
    mean_rel = np.array([rel[i, have[i]].mean() if have[i].any() else -1.0 for i in range(len(rel))])
    order = np.argsort(-mean_rel, kind="stable")
    rows = [piv.index[i] for i in order]
    mark = {(x["method"], x["dataset"]): x["mark"] for x in picked}
    spec = {"kind": "heatmap", "rows": rows, "cols": cols,
            "values": [[_num(v) for v in vals[i]] for i in order],
            "rel": [[_num(v) for v in rel[i]] for i in order],
            "chance": [_num(chance.get(c)) for c in cols],
            "marks": [[mark.get((m, c), "") for c in cols] for m in rows],
            "notes": notes, "title": f"features {fid}"}
    part = {(x["method"], x["dataset"]): x["partial"] for x in picked if x["partial"]}
    if part:  # report --partial: a cell over the folds run says so
        spec["partial"] = [[part.get((m, c), "") for c in cols] for m in rows]
        spec["notes"] = notes + ["partial n/N: the mean over the n of the protocol's N folds that ran (report "
                                 "--partial), not the protocol's result and not comparable with complete cells"]
    return spec


def _pick_configurations(d: "pd.DataFrame", fid: str, facts: dict) -> tuple[list[dict], list[str]]:
    """The heatmap's cells: per (dataset, method), the configuration shown (the default one; else the closest to
    the defaults, never the best-scoring one) with its marks and partial mark; and the notes naming the cells that
    show another configuration than the defaults."""
    from ..tables import partial_label

    picked, notes = [], []
    for (ds, method), g in d.groupby(["dataset", "method"], sort=True):
        info = {c: facts.get((ds, fid, r["protocol"], r["split_hash"], "zsl", method, c),
                             {"default": False, "diff": {}}) for c, (_, r) in zip(g["config_hash"], g.iterrows())}
        g = g.assign(_default=[info[c]["default"] for c in g["config_hash"]],
                     _ndiff=[len(info[c]["diff"]) for c in g["config_hash"]], _runs=g["n_runs"])
        # the default configuration; else the closest to the defaults: never the best-scoring one
        r = g.sort_values(["_default", "_ndiff", "_runs", "config_hash"], ascending=[False, True, False, True]).iloc[0]
        mark = _mark_of(r) + ("°" if not r["_default"] else "") + ("⁺" if len(g) > 1 else "")
        if not r["_default"]:
            diff = info[r["config_hash"]]["diff"]
            what = ", ".join(f"{k}={v}" for k, v in diff.items()) or "parameters not recorded"
            notes.append(f"° {method} on {ds}: configuration {r['config_hash']} ({what})"
                         + (f", the closest to the defaults of the {len(g)} in its table" if len(g) > 1 else
                            ", the only one run"))
        picked.append({"method": method, "dataset": ds, "top1": r["top1_mean"], "mark": mark,
                       "partial": partial_label(r)})
    return picked, notes


def draw_heatmap(Figure, spec: dict, path: Path) -> Path:
    rows, cols = spec["rows"], spec["cols"]
    vals = np.array([[np.nan if v is None else v for v in row] for row in spec["values"]], dtype=float)
    rel = np.array([[np.nan if v is None else v for v in row] for row in spec["rel"]], dtype=float)
    nr, nc = vals.shape
    chars = max(len(str(x)) for x in rows)
    fig = Figure(figsize=(1.25 * nc + 2.85 + 0.065 * chars, (0.42 if spec.get("partial") else 0.3) * nr + 1.1))
    _margins(fig, chars, top=0.8, bottom=0.1, right=1.45, left=0.3)
    ax = fig.add_subplot()
    from matplotlib import colormaps

    im = ax.imshow(np.ma.masked_invalid(rel), cmap=colormaps["viridis"].with_extremes(bad="#eeeeee"),
                   aspect="auto", vmin=0.0, vmax=1.0)
    partial = spec.get("partial")
    for i in range(nr):
        for j in range(nc):
            v = vals[i, j]
            txt = "–" if math.isnan(v) else f"{v:.1f}{spec['marks'][i][j]}"
            dark = not math.isnan(rel[i, j]) and rel[i, j] < 0.6
            color = "white" if dark else "black"
            if partial and partial[i][j] and not math.isnan(v):  # the mean over the folds run, and how many
                ax.text(j, i - 0.13, txt, ha="center", va="center", fontsize=8, color=color)
                ax.text(j, i + 0.22, partial[i][j], ha="center", va="center", fontsize=6, color=color)
            else:
                ax.text(j, i, txt, ha="center", va="center", fontsize=8, color=color)
    ax.set_xticks(range(nc))
    ax.set_xticklabels([f"{c}\nchance {ch:.1f}" if ch is not None else str(c)
                        for c, ch in zip(cols, spec["chance"])])
    ax.set_yticks(range(nr))
    ax.set_yticklabels(rows)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.xaxis.tick_top()
    cax = fig.add_axes((1 - 1.3 / fig.get_figwidth(), ax.get_position().y0, 0.12 / fig.get_figwidth(),
                        ax.get_position().height))
    cb = fig.colorbar(im, cax=cax, ticks=[0, 1])
    cb.ax.set_yticklabels(["chance", "best"])
    cb.set_label("per dataset: chance → best shown", fontsize=8)
    ax.set_title(spec["title"], fontsize=8, pad=30)
    return _save(fig, path)


def time_spec(g: "pd.DataFrame", ds: str, fid: str) -> Optional[dict]:
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

def _prose(text: str):
    """The model's prose (plain text, backticks marking code) as safe HTML."""
    parts = re.split(r"`([^`]*)`", text)
    return Markup("".join(str(escape(p)) if i % 2 == 0 else f"<code>{escape(p)}</code>" for i, p in enumerate(parts)))


def _env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["prose"] = _prose
    return env


def _records_frame(records: list[dict]) -> "pd.DataFrame":
    """The records as the leaderboard counts them (mode filled in, superseded method revisions dropped)."""
    from ..tables import records_frame

    return records_frame(records)[0]


def _fold_groups(df: "pd.DataFrame") -> dict:
    """(dataset, features_id, protocol, split_hash, mode, method, config_hash) -> that row's runs."""
    if df.empty or any(k not in df for k in RUN_KEYS):
        return {}
    return {k: g for k, g in df.groupby(RUN_KEYS, sort=False)}


def _per_class_pages(env, base: dict, records: list[dict], scores_dir: Optional[Path], out: Path) -> dict:
    """One page per (dataset, method, protocol, mode) with saved scores (``--save-scores``): per-class top-1 and
    the most confused pairs (``scores.per_class``). Returns {dataset: [{"href", "label"}]}."""
    links: dict = {}
    if scores_dir is None or not Path(scores_dir).is_dir():
        return links
    from ...results.scores import per_class
    from ..model import slug as _slug

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


def index(report: "Report", written: list[Path]) -> list[str]:
    return ["- [html/index.html](html/index.html): the same tables as a static site (sortable, with plots)"]


class _Plots:
    """The plots of one generation, drawn into ``out``: a plot whose data did not change since the last generation
    (its digest in ``plots.json``) is not drawn again. Calling it with a spec (None: no plot) and a file name
    returns the name to link, or None when there is no plot; ``made`` collects the files of this generation."""

    def __init__(self, out: Path, can_plot: bool):
        self.out, self.can_plot = out, can_plot
        self.cache_path = out / PLOT_CACHE
        try:
            self.cache = json.loads(self.cache_path.read_text(encoding="utf-8")) if self.cache_path.is_file() else {}
        except (OSError, ValueError):
            self.cache = {}
        self.new_cache: dict = {}
        self.made: set[Path] = set()
        self.Figure = None

    def __call__(self, spec: Optional[dict], name: str) -> Optional[str]:
        if not self.can_plot or spec is None:
            return None
        path, digest = self.out / name, _digest(spec)
        if self.cache.get(name) != digest or not path.is_file():
            self.Figure = self.Figure or _mpl()
            DRAW[spec["kind"]](self.Figure, spec, path)
        self.new_cache[name] = digest
        self.made.add(path)
        return name

    def save_cache(self) -> None:
        self.cache_path.write_text(json.dumps(self.new_cache, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _feature_set_plots(report: "Report", df: "pd.DataFrame", plot: _Plots) -> tuple[list[dict], dict]:
    """Per feature set (current ones first): the heatmap, and accuracy against training time per dataset (on the
    index and the dataset's page, or its history page for a historical feature set). Returns (the index's
    heatmap entries, {dataset: its time plots})."""
    from ..model import features_order, is_historical
    from ..model import slug as _slug

    fids = sorted({t.features_id for t in report.tables if t.kind == "zsl"}, key=features_order)
    facts = config_facts(df)
    time_plots: dict = {}
    heatmaps = []
    for fid in fids:
        d = _default_tables(report.summary, fid)
        chance = {ds: _chance(df, (ds, fid, g["protocol"].iloc[0], g["split_hash"].iloc[0], "zsl"))
                  for ds, g in d.groupby("dataset", sort=True)}
        spec = heatmap_spec(d, fid, facts, chance)
        hm = plot(spec, f"heatmap-{_slug(fid)}.svg")
        per_ds = []
        for ds, g in d.groupby("dataset", sort=True):
            img = plot(time_spec(g, ds, fid), f"time-{_slug(ds, fid)}.svg")
            if img:
                item = {"dataset": ds, "fid": fid, "img": img, "protocol": g["protocol"].iloc[0],
                        "historical": is_historical(fid)}
                per_ds.append(item)
                time_plots.setdefault(ds, []).append(item)
        heatmaps.append({"fid": fid, "img": hm, "time": per_ds, "historical": is_historical(fid),
                         "notes": spec["notes"] if spec else [],
                         "synthetic": bool(d["synthetic"].any()) if not d.empty else False})
    return heatmaps, time_plots


def _base(report: "Report", can_plot: bool) -> dict:
    """What every page's template reads."""
    from ...measure.stats import TEST_NOTE

    return {"gen": report.generated, "datasets": sorted({t.dataset for t in report.tables}), "plots": can_plot,
            "literature_link": bool(report.tables),
            "marks_note": f"★ = best row of a table (its primary metric); ≈ = not significantly worse than ★; "
                          f"unmarked = significantly worse ({TEST_NOTE}). † ‡ = published reference rows "
                          "(real features, not run here)."}


def _dataset_pages(env, base: dict, report: "Report", reports_dir: Path, plot: _Plots, folds: dict,
                   time_plots: dict, per_class_links: dict) -> list[Path]:
    """``<dataset>.html`` (its current tables) and, where it has historical tables, ``<dataset>_history.html``."""
    out = plot.out
    pages = []
    for ds in base["datasets"]:
        hist = report.history_tables(ds)
        hist_fids = report.historical_features(ds)
        ts = [{"t": t, "img": plot(strip_spec(t, folds), f"{t.slug}-folds.svg")} for t in report.current_tables(ds)]
        p = out / f"{ds}.html"
        p.write_text(env.get_template("dataset.html").render(
            **base, page=ds, title=f"{ds} leaderboard", dataset=ds, tables=ts,
            time_plots=[tp for tp in time_plots.get(ds, []) if not tp["historical"]],
            per_class=per_class_links.get(ds, []), footnotes=report.footnotes(ds),
            history={"href": f"{ds}_history.html", "fids": ", ".join(hist_fids)} if hist else None, back=None,
            md_link=f"../{ds}.md" if (Path(reports_dir) / f"{ds}.md").is_file() else None), encoding="utf-8")
        pages.append(p)
        if hist:
            ts = [{"t": t, "img": plot(strip_spec(t, folds), f"{t.slug}-folds.svg")} for t in hist]
            p = out / f"{ds}_history.html"
            md = Path(reports_dir) / f"{ds}_history.md"
            p.write_text(env.get_template("dataset.html").render(
                **base, page=ds, title=f"{ds} leaderboard: historical tables", dataset=ds, tables=ts,
                time_plots=[tp for tp in time_plots.get(ds, []) if tp["historical"]], per_class=[], footnotes=[],
                history=None, back={"href": f"{ds}.html", "fids": ", ".join(hist_fids)},
                md_link=f"../{md.name}" if md.is_file() else None), encoding="utf-8")
            pages.append(p)
    return pages


def _index_page(env, base: dict, report: "Report", reports_dir: Path, out: Path, heatmaps: list[dict]) -> Path:
    datasets = base["datasets"]
    counts = {ds: len(report.current_tables(ds)) for ds in datasets}
    hist_counts = {ds: len(report.history_tables(ds)) for ds in datasets}
    idx = out / "index.html"
    idx.write_text(env.get_template("index.html").render(
        **base, page="index", title="zsar-bench leaderboards", heatmaps=heatmaps, counts=counts,
        hist_counts=hist_counts, footnotes=report.footnotes(),
        csv_link="../leaderboard.csv" if (Path(reports_dir) / "leaderboard.csv").is_file() else None), encoding="utf-8")
    return idx


def _literature_page(env, base: dict, reports_dir: Path, out: Path) -> Path:
    """``literature.html``: every published result of the literature file grouped by protocol, with its sources."""
    from ..literature_page import LITERATURE_NOTE, left_out, literature_tables, tag_legend

    p = out / "literature.html"
    md = Path(reports_dir) / "literature.md"
    p.write_text(env.get_template("literature.html").render(
        **base, page="literature", title="Published zero-shot results, with sources", about=LITERATURE_NOTE,
        tables=literature_tables(), legend=tag_legend(), left_out=left_out(), footnotes=[],
        md_link="../literature.md" if md.is_file() else None), encoding="utf-8")
    return p


@register("html", help="html/, a static site (sortable tables, significance marks, plots)",
          index=index, order=30)
def write_html(report: "Report", reports_dir: Path) -> list[Path]:
    """Write ``<reports_dir>/html/``: index.html, one page per dataset, their SVG plots, and a per-class page for
    each method with saved scores (``--save-scores``, in ``scores/`` beside the records file). A plot whose data
    did not change since the last generation (its digest in ``plots.json``) is not drawn again; files of an
    earlier generation that are not rewritten (a dataset or table that went away) are removed. Returns the
    pages."""
    from ...results.scores import default_scores_dir

    scores_dir = default_scores_dir(report.source) if report.source else None
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
    df = _records_frame(report.records)
    folds = _fold_groups(df) if can_plot else {}
    plot = _Plots(out, can_plot)
    heatmaps, time_plots = _feature_set_plots(report, df, plot)
    base = _base(report, can_plot)
    per_class_links = _per_class_pages(env, dict(base, footnotes=[]), report.records, scores_dir, out)
    made = set(plot.made)
    for links in per_class_links.values():
        made.update(out / link["href"] for link in links)
    pages = _dataset_pages(env, base, report, reports_dir, plot, folds, time_plots, per_class_links)
    idx = _index_page(env, base, report, reports_dir, out, heatmaps)
    if report.tables:
        pages.append(_literature_page(env, base, reports_dir, out))
    made |= plot.made | set(pages) | {idx}
    for stale in list(out.glob("*.html")) + list(out.glob("*.svg")):
        if stale not in made:
            stale.unlink()
    plot.save_cache()
    return [idx] + pages
