"""The leaderboard's numbers: the records as the leaderboard counts them, the summary over folds (mean +- sample
std, significance against each table's best row), the cell formats, and ER's published few-shot baselines (the
zero-shot references come from the literature file: ``zsar_bench/literature.py``).

Each table is one (dataset, feature set identity, protocol, split hash, mode): feature sets and
protocols never share a mean. Cells are mean +- sample std (ddof=1) over every (fold, seed) run
of the row; a row missing any fold of the protocol keeps empty cells. Published numbers appear as
marked reference rows, never averaged with anything. ``model.py`` builds the tables from the summary;
``formats/`` renders them.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
import pandas as pd

from ..measure.stats import mean_ci, table_significance
from ..method import METHODS, describe_class_inputs
from ..running.method_facts import method_cards
from ..results.record_schema import Record
from ..results.records import contested_runs, dedupe, record_key, table_rows

DDOF = 1
METRICS = [("top1", "Top-1"), ("top5", "Top-5"), ("mean_class_acc", "Mean class acc"),
           ("gzsl_unseen", "GZSL U"), ("gzsl_seen", "GZSL S"), ("gzsl_h", "GZSL H")]
ZSL_METRICS = [("top1", "Top-1"), ("top5", "Top-5"), ("mean_class_acc", "Mean class acc")]
GZSL_METRICS = [("gzsl_unseen", "U"), ("gzsl_seen", "S"), ("gzsl_h", "H")]

# ER's supervised few-shot baselines on the Kinetics-ZSAR test classes (real features): K -> (top-1, top-5), mean +- std
PUBLISHED_FEWSHOT = {1: ((31.8, 0.8), (60.2, 2.5)), 2: ((45.0, 0.9), (73.2, 0.6)), 5: ((56.5, 1.5), (83.4, 0.8)),
                     100: ((72.7, 1.4), (93.3, 0.5))}


def inputs_label(method: str, params: object, descriptions: object = None) -> str:
    """What a row's method reads for classes (``Method.class_inputs`` of its registered class: the text tower or
    word vectors, the class-text style, the descriptions' source), shown in every leaderboard row so that a
    published setting never sits beside a different model under the same name. A method not registered here
    gets the default description from its recorded parameters."""
    cls = _registered(method)
    return (cls.class_inputs if cls is not None else describe_class_inputs)(params, descriptions)


def _registered(method: str) -> Optional[Any]:
    """What the reports know of registered method ``method``: its card (``method_facts.method_cards``, asked of a
    worker: no plugin code runs in this process), else its class when it was registered in this process (a
    notebook's), else None (unknown here, or a plugin that fails to load)."""
    card = method_cards().get(method)
    if card is not None:
        return card
    return METHODS.get(method) if method in METHODS else None


def _same_param(a: object, b: object) -> bool:
    """Two parameter values are the same (a record's JSON value against a default): numbers by value (1 and 1.0;
    never a bool as a number), anything else by its JSON form (a tuple and a list alike)."""
    num = (int, float, np.integer, np.floating)
    if isinstance(a, num) and isinstance(b, num) and not isinstance(a, (bool, np.bool_)) \
            and not isinstance(b, (bool, np.bool_)):
        return float(a) == float(b)
    try:
        return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return False


def config_differences(method: str, params: object, descriptions: object = None) -> Optional[dict]:
    """{parameter: recorded value} where a configuration differs from its registered method's defaults
    (``param_defaults``), in parameter order; a parameter an older record lacks counts as its default, one at
    its declared ``hash_omit_if_default`` value is no difference, and class descriptions other than the built-in
    ones add ``descriptions`` (their file name). {} for the default configuration; None for a method not
    registered here (its defaults are unknown)."""
    cls = _registered(method)
    if cls is None:
        return None
    defaults, omit = cls.param_defaults(), cls.hash_omitted()
    params = params if isinstance(params, dict) else {}
    out = {k: params[k] for k in defaults if k in params and not _same_param(params[k], defaults[k])
           and not (k in omit and _same_param(params[k], omit[k]))}
    if isinstance(descriptions, str) and descriptions not in ("", "builtin"):
        out["descriptions"] = Path(descriptions).name
    return out


def _param_text(v: object) -> str:
    """A parameter value as ``--method-args`` takes it: 0.003, true, description, [1, 2]."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    if isinstance(v, str):
        return v
    return json.dumps(v, default=str) if v is not None else "none"


def config_label(method: str, params: object, descriptions: object = None) -> str:
    """How a configuration differs from its method's defaults, as the leaderboards name it (``lr=0.003,
    alpha=2``; ``config_differences``); "" for the default configuration or a method not registered here."""
    diff = config_differences(method, params, descriptions)
    return ", ".join(f"{k}={_param_text(v)}" for k, v in (diff or {}).items())


def partial_label(r) -> str:
    """"partial n/N" for a summary row whose means cover n of its protocol's N folds (``summarise(partial=True)``),
    else ""."""
    if r.get("partial") is not True and not (isinstance(r.get("partial"), np.bool_) and bool(r.get("partial"))):
        return ""
    return f"partial {int(r['n_folds_done'])}/{int(r['n_folds'])}"


def _current_revision(method: str) -> Optional[int]:
    """The registered implementation's revision of ``method`` (None for a method not registered here)."""
    cls = _registered(method)
    return None if cls is None else int(cls.revision)


def _is_sanity(method: str) -> bool:
    """A registered method that learns nothing (``Method.learns = False``: chance, training-free probes)."""
    cls = _registered(method)
    return cls is not None and not cls.learns


def drop_superseded(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Records made by an earlier implementation of a method (``revision`` below the registered one) stay in
    the records file but leave the leaderboard; returns (kept, {method: records dropped})."""
    if df.empty:
        return df, {}
    rev = (df["revision"].fillna(Record.DEFAULT_REVISION).astype(int) if "revision" in df
           else pd.Series(Record.DEFAULT_REVISION, index=df.index))
    current = {m: _current_revision(m) for m in df["method"].unique()}
    old = pd.Series([current[m] is not None and r < current[m] for m, r in zip(df["method"], rev)], index=df.index)
    dropped = df[old]["method"].value_counts().to_dict()
    kept = df[~old]
    by_ds: dict[str, dict[str, int]] = {}
    if "dataset" in df:
        for (ds, m), n in df[old].groupby(["dataset", "method"]).size().items():
            by_ds.setdefault(str(ds), {})[str(m)] = int(n)
    kept.attrs["superseded_by_dataset"] = by_ds  # each dataset page's footnote counts its own
    return kept, {str(k): int(v) for k, v in dropped.items()}


def records_frame(records: Iterable[dict]) -> tuple[pd.DataFrame, dict[str, int]]:
    """The records as the leaderboard counts them: one row per run key (the last), mode filled in,
    records of superseded method revisions dropped; returns (frame, {method: records dropped})."""
    df = pd.DataFrame(table_rows(dedupe(records)[0]))
    if df.empty:
        return df, {}
    # records written before evaluation modes existed (synthetic-v1) are zero-shot runs
    df["mode"] = df["mode"].fillna(Record.DEFAULT_MODE) if "mode" in df else Record.DEFAULT_MODE
    return drop_superseded(df)


def summarise(records: Iterable[dict], partial: bool = False) -> pd.DataFrame:
    """One row per (dataset, features_id, protocol, split_hash, method, config_hash); each run key counts
    once (the last of its rows, see ``records.dedupe``). A row missing runs of its protocol has empty
    cells (the leaderboard rule), unless ``partial``: then its cells are means over the runs it has and
    the row is flagged ``partial`` (the table printed after a ``--folds 0-2`` run, ``report --partial``) and its
    ``note`` says "partial n/N" (n of the protocol's N folds). ``config_diff`` names how the row's configuration
    differs from its method's defaults (``config_label``; "" for the defaults)."""
    records = list(records)
    contested = contested_runs(records)
    df, dropped = records_frame(records)
    by_ds = dict(df.attrs.get("superseded_by_dataset") or {})
    if df.empty:
        df.attrs["superseded"] = dropped
        df.attrs["superseded_by_dataset"] = by_ds
        return df
    group = list(Record.GROUP_FIELDS)
    rows = []
    for key, g in df.groupby(group, sort=True):
        n_folds = int(g["n_folds"].max())
        n_seeds = g["seed"].nunique()
        expected = n_folds * n_seeds
        complete = len(g) >= expected and g["fold"].nunique() == n_folds
        params = g["params"].iloc[-1] if "params" in g else None
        descriptions = g["descriptions"].iloc[-1] if "descriptions" in g else None
        row = dict(zip(group, key))
        row.update({"features": g["features"].iloc[0], "synthetic": bool(g["synthetic"].iloc[0]),
                    "train_dataset": g["train_dataset"].dropna().iloc[0] if "train_dataset" in g and
                    g["train_dataset"].notna().any() else key[0],
                    "inputs": inputs_label(key[group.index("method")], params, descriptions),
                    "config_diff": config_label(key[group.index("method")], params, descriptions),
                    "n_runs": len(g), "n_expected": expected, "partial": bool(partial and not complete),
                    "n_folds_done": int(g["fold"].nunique()), "n_folds": n_folds, "n_seeds": n_seeds, "complete": complete,
                    "train_s_per_fold": float(g["train_s"].mean()), "eval_s_per_fold": float(g["eval_s"].mean())})
        for m, _ in METRICS:
            vals = g[m].dropna() if m in g else pd.Series(dtype=float)
            ok = (complete or partial) and len(vals) == len(g) and len(vals) > 0
            row[f"{m}_mean"] = float(vals.mean() * 100) if ok else math.nan
            # one run has no spread to show: its std is NaN and its cell the mean alone
            row[f"{m}_std"] = float(vals.std(ddof=DDOF) * 100) if ok and len(vals) > 1 else math.nan
        row["note"] = partial_label(row)
        row.update(_writer_flags(g, contested))
        rows.append(row)
    out = pd.DataFrame(rows)
    out = _with_significance(df, out)
    out.attrs["superseded"] = dropped
    out.attrs["superseded_by_dataset"] = by_ds
    out.attrs["contested"] = _contested_by_method(contested)
    return out


def _writer_flags(g: pd.DataFrame, contested: dict) -> dict:
    """A summary row's writer marks: ``in_process`` (a run fit and scored in the driver's own process, without
    isolation: a method defined in a notebook or script, ``--executor inline``) and ``contested`` (runs whose
    rows, from different writers, disagree: ``records.contested_runs``; the last row is counted)."""
    in_process = bool("in_process" in g and (g["in_process"] == True).any())  # noqa: E712 - NaN where absent
    n = sum(1 for r in g.to_dict("records") if record_key(r) in contested) if contested else 0
    return {"in_process": in_process, "contested": n}


def _contested_by_method(contested: dict) -> dict[str, dict[str, int]]:
    """{dataset: {method: contested runs}}."""
    out: dict[str, dict[str, int]] = {}
    for key in contested:
        per = out.setdefault(str(key[2]), {})
        per[str(key[0])] = per.get(str(key[0]), 0) + 1
    return out


def primary_metric(mode: str) -> str:
    return "gzsl_h" if mode == "gzsl" else "top1"


def _with_significance(df: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Per table: the primary metric's 95% interval for every row, and every row against the table's best
    (paired over folds x seeds, Holm-corrected; ``stats.table_significance``)."""
    keys = ["dataset", "features_id", "protocol", "split_hash", "mode"]
    parts = []
    for key, rows in summary.groupby(keys, sort=False):
        metric = primary_metric(key[-1])
        recs = df
        for k, v in zip(keys, key):
            recs = recs[recs[k] == v]
        rows = table_significance(recs, rows, metric)
        sanity = rows["method"].map(_is_sanity).astype(bool)
        rows.loc[sanity, "tied_with_best"] = False  # a sanity row is never "as good as the best", whatever the test
        lo, hi = [], []
        for _, r in rows.iterrows():
            g = recs[(recs["method"] == r["method"]) & (recs["config_hash"] == r["config_hash"])]
            ok = not math.isnan(r[f"{metric}_mean"])
            _, a, b = mean_ci(g[metric].dropna() * 100) if ok and metric in g else (0, math.nan, math.nan)
            lo.append(max(a, 0.0) if not math.isnan(a) else a)  # accuracies live in [0, 100]: the interval too
            hi.append(min(b, 100.0) if not math.isnan(b) else b)
        parts.append(rows.assign(ci_low=lo, ci_high=hi))
    return pd.concat(parts) if parts else summary


def _runs(r) -> str:
    """Runs done / expected; a partial row (``summarise(partial=True)``) adds "partial n/N": its means cover n of
    the protocol's N folds."""
    part = partial_label(r)
    return f"{r['n_runs']}/{r['n_expected']}" + (f" ({part})" if part else "")


def _mark(r) -> str:
    """★ the best row of a table, ≈ a row not significantly worse than it (see ``stats``)."""
    if r.get("is_best") is True:
        return "★ "
    return "≈ " if r.get("tied_with_best") is True else ""


def _ci(r) -> str:
    lo, hi = r.get("ci_low", math.nan), r.get("ci_high", math.nan)
    return "" if lo is None or hi is None or math.isnan(lo) or math.isnan(hi) else f"[{lo:.1f}, {hi:.1f}]"


def _p(r) -> str:
    p = r.get("p_vs_best", math.nan)
    if p is None or math.isnan(p):
        return ""
    if r.get("testable") is False or r.get("testable") is np.False_:
        return f"too few runs to test (n = {int(r.get('n_pairs', 0))})"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _cell(mean: float, std: float) -> str:
    """mean ± std; the mean alone where there is no spread to give (one run: std NaN)."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return ""
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.1f}"
    return f"{mean:.1f} ± {std:.1f}"
