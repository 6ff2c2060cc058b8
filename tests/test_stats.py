"""Paired comparisons (zsar_bench/stats.py) against scipy and a hand-worked example; the leaderboard's marks."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from zsar_bench.stats import holm, mean_ci, paired, table_significance


def test_hand_worked_example():
    # A - B = [2, 4, 6, 8] (in points): mean 5, sd = sqrt(20/3), sem = sd / 2; t(0.975, 3) = 3.182446
    a, b = np.array([12.0, 14, 16, 18]), np.array([10.0, 10, 10, 10])
    r = paired(a, b)
    sem = math.sqrt(20 / 3) / 2
    assert r.mean_diff == 5.0 and (r.wins, r.ties, r.losses) == (4, 0, 0)
    assert r.ci_low == pytest.approx(5 - 3.182446 * sem, abs=1e-5)
    assert r.ci_high == pytest.approx(5 + 3.182446 * sem, abs=1e-5)
    # exact Wilcoxon: all 4 differences positive, W- = 0: two-sided p = 2 / 2^4 = 0.125
    assert r.p_wilcoxon == pytest.approx(0.125)
    # paired t: t = 5 / sem = 3.873, 3 d.o.f.: p = 0.0305
    assert r.p_ttest == pytest.approx(0.030466, abs=1e-5)


def test_against_scipy_on_random_pairs():
    rng = np.random.default_rng(0)
    a = rng.normal(0.5, 0.05, 50)
    b = a - rng.normal(0.01, 0.02, 50)
    r = paired(a, b)
    assert r.p_wilcoxon == pytest.approx(sps.wilcoxon(a, b).pvalue)
    assert r.p_ttest == pytest.approx(sps.ttest_rel(a, b).pvalue)
    lo, hi = sps.t.interval(0.95, 49, loc=(a - b).mean(), scale=sps.sem(a - b))
    assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi))
    m, l2, h2 = mean_ci(a)
    assert (l2, h2) == pytest.approx(sps.t.interval(0.95, 49, loc=a.mean(), scale=sps.sem(a)))


def test_identical_runs_are_a_tie():
    r = paired([0.3, 0.4, 0.5], [0.3, 0.4, 0.5])
    assert r.p_wilcoxon == 1.0 and r.ties == 3 and r.mean_diff == 0


def test_holm_by_hand():
    # sorted p: 0.01 (x3 = 0.03), 0.02 (x2 = 0.04), 0.04 (x1 = 0.04); back in input order
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1, monotone
    assert math.isnan(holm([float("nan"), 0.01])[0]) and holm([float("nan"), 0.01])[1] == pytest.approx(0.01)


def test_table_marks_rows_tied_with_the_best():
    rng = np.random.default_rng(1)
    base = rng.normal(0.3, 0.03, 20)
    vals = {"best": base + 0.05, "close": base + 0.05 + rng.normal(0, 0.01, 20), "far": base - 0.05}
    recs = pd.DataFrame([{"method": m, "config_hash": m, "fold": f, "seed": 0, "top1": v[f]}
                         for m, v in vals.items() for f in range(20)])
    rows = pd.DataFrame([{"method": m, "config_hash": m, "top1_mean": 100 * v.mean()} for m, v in vals.items()])
    out = table_significance(recs, rows).set_index("method")
    assert out.loc["best", "is_best"] or out.loc["close", "is_best"]
    assert out.loc["close", "tied_with_best"] and out.loc["best", "tied_with_best"]
    assert not out.loc["far", "tied_with_best"] and out.loc["far", "p_vs_best"] < 0.05
    assert out.loc["far", "diff_vs_best"] < -5


def test_compare_command(tmp_path, capsys):
    import json

    from zsar_bench.cli import main

    recs = [{"method": m, "config_hash": m, "dataset": "hmdb51", "features": "synthetic", "features_id": "synthetic-v2",
             "synthetic": True, "protocol": "random-50-50", "split_hash": "x", "fold": f, "n_folds": 4, "seed": 0,
             "mode": "zsl", "top1": v, "top5": v, "mean_class_acc": v, "train_s": 1.0, "eval_s": 0.1}
            for m, vals in {"aa": [0.12, 0.14, 0.16, 0.18], "bb": [0.1] * 4}.items() for f, v in enumerate(vals)]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    assert main(["compare", "aa", "bb", "--dataset", "hmdb51", "--records", str(path)]) == 0
    out = capsys.readouterr().out
    assert "difference A - B: +5.00" in out and "Wilcoxon signed-rank p = 0.125" in out and "4 / 0 / 0" in out
    assert main(["compare", "aa", "zz", "--dataset", "hmdb51", "--records", str(path)]) == 2


def _table(vals: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    recs = pd.DataFrame([{"method": m, "config_hash": m, "fold": f, "seed": 0, "top1": v[f]}
                         for m, v in vals.items() for f in range(len(v))])
    rows = pd.DataFrame([{"method": m, "config_hash": m, "top1_mean": 100 * np.mean(v)} for m, v in vals.items()])
    return recs, rows


def test_holm_changes_marks_that_raw_p_values_would_not():
    """Three rows each significantly worse than the best by their raw Wilcoxon p (< 0.05) but not after Holm's
    correction over the table's three comparisons: the marks and p vs best follow the Holm-adjusted p-values,
    computed here from scipy's exact p-values and Holm's rule by hand."""
    best = np.array([0.50, 0.52, 0.54, 0.56, 0.58, 0.60, 0.62, 0.64])
    # differences to the best, one positive among 8 at rank 1 (x: exact two-sided p = 4 / 256 = 0.0156) or rank 3
    # (y, z: 10 / 256 = 0.0391); Holm over 3 comparisons: x 0.047 (still significant), y and z 0.078 (tied)
    d = {"x": [-0.08, -0.07, -0.06, -0.05, -0.04, -0.03, -0.02, 0.01],
         "y": [-0.08, -0.07, -0.06, -0.05, -0.04, -0.02, -0.01, 0.03],
         "z": [-0.09, -0.07, -0.06, -0.05, -0.04, -0.02, -0.01, 0.03]}
    vals = {"best": best, **{m: best + np.array(v) for m, v in d.items()}}
    recs, rows = _table(vals)
    raw = {m: float(sps.wilcoxon(vals[m], best).pvalue) for m in d}
    assert all(p < 0.05 for p in raw.values())  # unmarked without the correction
    order = sorted(raw, key=raw.get)
    adj, running = {}, 0.0
    for rank, m in enumerate(order):  # Holm's step-down rule, by hand
        running = max(running, min(1.0, (len(order) - rank) * raw[m]))
        adj[m] = running
    assert any(p >= 0.05 for p in adj.values()) and any(p < 0.05 for p in adj.values())  # marks of both kinds
    out = table_significance(recs, rows).set_index("method")
    assert out.loc["best", "is_best"]
    for m in d:
        assert out.loc[m, "p_vs_best"] == pytest.approx(adj[m])
        assert bool(out.loc[m, "tied_with_best"]) == (adj[m] >= 0.05)
        assert out.loc[m, "diff_vs_best"] == pytest.approx(100 * np.mean(d[m]))
