"""Paired comparisons over folds: every method of a table runs on the same folds and seeds, so two rows
can be compared run by run instead of by their means and standard deviations.

- ``mean_ci``: a row's mean with its 95% t interval over its runs;
- ``paired``: the difference A - B over the (fold, seed) runs both have: mean difference with its 95%
  t interval, Wilcoxon signed-rank p-value (scipy, two-sided; paired t-test p as a second opinion),
  and wins / ties / losses;
- ``holm``: Holm's step-down correction of a family of p-values;
- ``table_significance``: within one leaderboard table, every row against the best row, Holm-corrected
  over the table's comparisons; rows whose corrected Wilcoxon p is at least ``ALPHA`` are "not
  significantly worse than the best" and the leaderboard marks them, but only where the test can speak:
  with n paired runs the smallest two-sided exact Wilcoxon p is 2 / 2^n, so a comparison with
  2 / 2^n >= ``ALPHA`` (n <= 5), or a table whose first Holm step cannot reach ``ALPHA`` (m comparisons,
  m * 2 / 2^n >= ``ALPHA`` for the largest n), is "too few runs to test" and marks nothing.

Distributions come from scipy; nothing here approximates them by hand.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05
TEST_NOTE = ("two-sided Wilcoxon signed-rank test on the paired per-(fold, seed) differences against the best row, "
             f"Holm-corrected over the table's comparisons, alpha {ALPHA}")


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the t interval of the mean; a single value gives (v, nan, nan)."""
    x = np.asarray(values, dtype=float)
    m = float(x.mean()) if len(x) else math.nan
    if len(x) < 2:
        return m, math.nan, math.nan
    sem = float(x.std(ddof=1)) / math.sqrt(len(x))
    if sem == 0:
        return m, m, m
    lo, hi = stats.t.interval(level, len(x) - 1, loc=m, scale=sem)
    return m, float(lo), float(hi)


@dataclass
class Paired:
    """A - B over the runs both have (values in the records' units, fractions; ``pct`` gives %)."""

    n: int
    mean_diff: float
    ci_low: float
    ci_high: float
    p_wilcoxon: float
    p_ttest: float
    wins: int
    ties: int
    losses: int

    def as_dict(self, scale: float = 100.0) -> dict:
        return {"n": self.n, "mean_diff": self.mean_diff * scale, "ci_low": self.ci_low * scale,
                "ci_high": self.ci_high * scale, "p_wilcoxon": self.p_wilcoxon, "p_ttest": self.p_ttest,
                "wins": self.wins, "ties": self.ties, "losses": self.losses}


def paired(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Paired:
    """Paired comparison of two aligned sequences (same runs, same order)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired comparison needs aligned runs, got {a.shape} and {b.shape}")
    d = a - b
    n = len(d)
    m, lo, hi = mean_ci(d, level)
    wins, losses = int((d > 0).sum()), int((d < 0).sum())
    ties = n - wins - losses
    if n == 0:
        return Paired(0, math.nan, math.nan, math.nan, math.nan, math.nan, 0, 0, 0)
    if np.all(d == 0):
        p_w = p_t = 1.0
    else:
        p_w = float(stats.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided").pvalue)  # some d != 0
        p_t = float(stats.ttest_rel(a, b).pvalue) if n > 1 and np.std(d) > 0 else (0.0 if n > 1 else math.nan)
    return Paired(n, m, lo, hi, p_w, p_t, wins, ties, losses)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (monotone, capped at 1), in the input order; NaN stays NaN."""
    p = np.asarray(pvalues, dtype=float)
    ok = ~np.isnan(p)
    out = np.full(len(p), np.nan)
    idx = np.flatnonzero(ok)
    order = idx[np.argsort(p[idx], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


def aligned(records: pd.DataFrame, a: str, b: str, metric: str = "top1",
            config_a: Optional[str] = None, config_b: Optional[str] = None) -> tuple[np.ndarray, np.ndarray]:
    """Values of ``metric`` for methods ``a`` and ``b`` on the (fold, seed) runs both have, aligned."""
    def runs(method: str, config: Optional[str]) -> pd.Series:
        g = records[records["method"] == method]
        if config is not None:
            g = g[g["config_hash"] == config]
        return g.drop_duplicates(["fold", "seed"], keep="last").set_index(["fold", "seed"])[metric].dropna()

    ra, rb = runs(a, config_a), runs(b, config_b)
    common = ra.index.intersection(rb.index).sort_values()
    return ra.loc[common].to_numpy(dtype=float), rb.loc[common].to_numpy(dtype=float)


def smallest_p(n: int) -> float:
    """The smallest two-sided p-value the exact Wilcoxon signed-rank test can give on ``n`` paired runs: 2 / 2^n
    (every difference of one sign); 1 for no runs."""
    return min(1.0, 2.0 ** (1 - n)) if n > 0 else 1.0


def table_significance(records: pd.DataFrame, rows: pd.DataFrame, metric: str = "top1") -> pd.DataFrame:
    """For one leaderboard table: each complete row against the best complete row (by mean ``metric``),
    paired over the runs both have, Holm-corrected over the table's comparisons. Returns ``rows`` with
    columns ``p_vs_best`` (Holm-adjusted Wilcoxon), ``diff_vs_best`` (%), ``n_pairs`` (paired runs),
    ``testable`` (the test can reach ``ALPHA`` with those runs, see the module note), ``tied_with_best``
    (bool: the best row itself, or a testable row not significantly worse), ``is_best``."""
    out = rows.copy()
    out["p_vs_best"], out["diff_vs_best"], out["n_pairs"] = math.nan, math.nan, 0
    out["is_best"], out["tied_with_best"], out["testable"] = False, False, False
    col = f"{metric}_mean"
    ok = out[col].notna() if col in out else pd.Series(False, index=out.index)
    if not ok.any():
        return out
    best = out[ok][col].idxmax()
    out.loc[best, ["is_best", "tied_with_best"]] = True
    bm, bc = out.loc[best, "method"], out.loc[best, "config_hash"]
    others = [i for i in out[ok].index if i != best]
    raw, n_pairs = [], []
    for i in others:
        x, y = aligned(records, out.loc[i, "method"], bm, metric, out.loc[i, "config_hash"], bc)
        pr = paired(x, y)
        raw.append(pr.p_wilcoxon)
        n_pairs.append(pr.n)
        out.loc[i, "diff_vs_best"] = pr.mean_diff * 100
        out.loc[i, "n_pairs"] = pr.n
    first_step = len(others) * smallest_p(max(n_pairs, default=0)) < ALPHA  # Holm's first step can succeed
    for i, p, n in zip(others, holm(raw), n_pairs):
        testable = bool(first_step and smallest_p(n) < ALPHA)
        out.loc[i, "p_vs_best"] = p
        out.loc[i, "testable"] = testable
        out.loc[i, "tied_with_best"] = bool(testable and not math.isnan(p) and p >= ALPHA)
    return out
