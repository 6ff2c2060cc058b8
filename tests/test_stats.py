"""Paired comparisons (zsar_bench/measure/stats.py) against scipy and a hand-worked example; the leaderboard's marks."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from zsar_bench.measure.stats import holm, mean_ci, paired, table_significance


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


def test_paired_edge_cases_by_hand():
    r = paired([0.5, 0.6, 0.7], [0.4, 0.5, 0.6])  # a constant difference of 0.1: no spread
    assert r.n == 3 and r.mean_diff == pytest.approx(0.1) and (r.wins, r.ties, r.losses) == (3, 0, 0)
    assert r.p_ttest == 0.0  # every run better by the same amount: t is infinite
    assert r.p_wilcoxon == pytest.approx(sps.wilcoxon([0.5, 0.6, 0.7], [0.4, 0.5, 0.6]).pvalue) == pytest.approx(0.25)
    one = paired([0.5], [0.4])
    assert one.n == 1 and math.isnan(one.p_ttest) and math.isnan(one.ci_low) and one.p_wilcoxon == 1.0
    none = paired([], [])
    assert none.n == 0 and math.isnan(none.mean_diff) and (none.wins, none.ties, none.losses) == (0, 0, 0)
    mixed = paired([0.5, 0.4, 0.3, 0.3], [0.4, 0.5, 0.3, 0.2])
    assert (mixed.wins, mixed.ties, mixed.losses) == (2, 1, 1)
    with pytest.raises(ValueError, match="aligned"):
        paired([0.1, 0.2], [0.1])


def test_paired_as_dict_in_percent():
    r = paired([0.5, 0.7], [0.4, 0.4])
    d = r.as_dict()
    assert d["mean_diff"] == pytest.approx(20.0) and d["n"] == 2 and (d["wins"], d["ties"], d["losses"]) == (2, 0, 0)
    assert d["ci_low"] == pytest.approx(100 * r.ci_low) and d["ci_high"] == pytest.approx(100 * r.ci_high)
    assert d["p_wilcoxon"] == r.p_wilcoxon and d["p_ttest"] == r.p_ttest
    assert r.as_dict(scale=1.0)["mean_diff"] == pytest.approx(0.2)


def test_mean_ci_by_hand():
    m, lo, hi = mean_ci([1.0, 2.0, 3.0, 4.0])
    half = 3.182446 * math.sqrt(5 / 3) / 2  # t(0.975, 3) * sd / sqrt(4)
    assert m == 2.5 and lo == pytest.approx(2.5 - half, abs=1e-5) and hi == pytest.approx(2.5 + half, abs=1e-5)
    m90, lo90, hi90 = mean_ci([1.0, 2.0, 3.0, 4.0], level=0.90)
    assert lo < lo90 < hi90 < hi
    assert mean_ci([0.3, 0.3, 0.3]) == (0.3, 0.3, 0.3)
    v, a, b = mean_ci([0.7])
    assert v == 0.7 and math.isnan(a) and math.isnan(b)
    assert all(math.isnan(x) for x in mean_ci([]))


def test_aligned_pairs_runs_by_fold_and_seed_within_a_configuration():
    from zsar_bench.measure.stats import aligned

    recs = pd.DataFrame([
        {"method": "a", "config_hash": "c1", "fold": 0, "seed": 0, "top1": 0.1},
        {"method": "a", "config_hash": "c1", "fold": 1, "seed": 0, "top1": 0.2},
        {"method": "a", "config_hash": "c2", "fold": 0, "seed": 0, "top1": 0.9},
        {"method": "a", "config_hash": "c1", "fold": 0, "seed": 1, "top1": 0.3},
        {"method": "b", "config_hash": "d", "fold": 1, "seed": 0, "top1": 0.5},
        {"method": "b", "config_hash": "d", "fold": 0, "seed": 1, "top1": 0.6},
        {"method": "b", "config_hash": "d", "fold": 2, "seed": 0, "top1": 0.7},
    ])
    x, y = aligned(recs, "a", "b", config_a="c1")
    assert x.tolist() == [0.3, 0.2] and y.tolist() == [0.6, 0.5]  # (0, 1) and (1, 0) in (fold, seed) order
    x2, _ = aligned(recs, "a", "b", config_a="c2")
    assert x2.tolist() == []  # c2 has no run b also has
    dup = pd.concat([recs, pd.DataFrame([{"method": "b", "config_hash": "d", "fold": 1, "seed": 0, "top1": 0.55}])])
    assert aligned(dup, "a", "b", config_a="c1")[1].tolist() == [0.6, 0.55]  # the last row of a run counts


def test_holm_with_ties_and_a_single_p_value():
    assert holm([0.01]) == pytest.approx([0.01])
    assert holm([0.02, 0.02]) == pytest.approx([0.04, 0.04])
    assert holm([0.03, 0.001, 0.2]) == pytest.approx([0.06, 0.003, 0.2])
    assert holm([]) == []


def test_table_significance_without_complete_rows_marks_nothing():
    recs, rows = _table({"a": [0.3, 0.4], "b": [0.2, 0.3]})
    rows["top1_mean"] = np.nan
    out = table_significance(recs, rows)
    assert not out["is_best"].any() and not out["tied_with_best"].any() and out["p_vs_best"].isna().all()


def test_table_significance_compares_against_the_best_configuration_only():
    """Two configurations of one method: each row is paired with the best row's own configuration."""
    best = np.array([0.5, 0.6, 0.7, 0.8, 0.5, 0.6, 0.7, 0.8])
    recs = pd.DataFrame(
        [{"method": "m", "config_hash": "good", "fold": f, "seed": 0, "top1": v} for f, v in enumerate(best)]
        + [{"method": "m", "config_hash": "bad", "fold": f, "seed": 0, "top1": v - 0.2} for f, v in enumerate(best)]
        + [{"method": "n", "config_hash": "n", "fold": f, "seed": 0, "top1": v - 0.1} for f, v in enumerate(best)])
    rows = pd.DataFrame([{"method": "m", "config_hash": "good", "top1_mean": 100 * best.mean()},
                         {"method": "m", "config_hash": "bad", "top1_mean": 100 * (best.mean() - 0.2)},
                         {"method": "n", "config_hash": "n", "top1_mean": 100 * (best.mean() - 0.1)}])
    out = table_significance(recs, rows)
    assert out["is_best"].tolist() == [True, False, False]
    assert out["diff_vs_best"].iloc[1] == pytest.approx(-20.0) and out["diff_vs_best"].iloc[2] == pytest.approx(-10.0)
    p = sps.wilcoxon(best - 0.2, best).pvalue
    assert out["p_vs_best"].iloc[1] == pytest.approx(min(1.0, 2 * p))


def test_paired_p_values_on_exact_differences():
    """Differences exactly representable in binary, so 'no spread' is exact: every run better by 0.5 gives a
    t-test p of 0 (infinite t), identical runs p = 1 for both tests; with spread both p-values are scipy's."""
    same = paired([1.0, 2.0, 3.0], [0.5, 1.5, 2.5])
    assert same.p_ttest == 0.0 and same.p_wilcoxon == pytest.approx(0.25) and same.mean_diff == 0.5
    tie = paired([1.0, 2.0], [1.0, 2.0])
    assert tie.p_ttest == 1.0 and tie.p_wilcoxon == 1.0 and (tie.wins, tie.ties, tie.losses) == (0, 2, 0)
    two = paired([1.0, 2.0], [0.0, 1.5])
    assert two.p_ttest == pytest.approx(sps.ttest_rel([1.0, 2.0], [0.0, 1.5]).pvalue)
    assert two.p_wilcoxon == pytest.approx(sps.wilcoxon([1.0, 2.0], [0.0, 1.5]).pvalue)
    with_zero = paired([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0])  # one zero difference: dropped (wilcox)
    assert with_zero.p_wilcoxon == pytest.approx(sps.wilcoxon([0.0, 1.0, 2.0, 3.0], zero_method="wilcox").pvalue)


def test_paired_interval_level_and_empty_runs():
    a, b = [0.5, 0.7, 0.6, 0.9], [0.4, 0.4, 0.5, 0.5]
    d = np.subtract(a, b)
    r90 = paired(a, b, level=0.90)
    assert (r90.ci_low, r90.ci_high) == pytest.approx(sps.t.interval(0.90, 3, loc=d.mean(), scale=sps.sem(d)))
    assert paired(a, b).ci_low < r90.ci_low
    none = paired([], [])
    assert all(math.isnan(x) for x in (none.mean_diff, none.ci_low, none.ci_high, none.p_wilcoxon, none.p_ttest))


def test_holm_caps_at_one_and_reads_none_as_missing():
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])  # 2 x 0.6 = 1.2 is capped
    out = holm([None, 0.01])
    assert math.isnan(out[0]) and out[1] == pytest.approx(0.01)


@pytest.mark.filterwarnings("error")
def test_mean_ci_of_nothing_is_nan_without_a_warning():
    assert all(math.isnan(x) for x in mean_ci([]))


def test_table_significance_without_the_metric_or_comparisons():
    rows = pd.DataFrame([{"method": "a", "config_hash": "a"}, {"method": "b", "config_hash": "b"}])
    out = table_significance(pd.DataFrame(columns=["method", "config_hash", "fold", "seed", "top1"]), rows)
    assert not out["is_best"].any() and out["p_vs_best"].isna().all() and out["diff_vs_best"].isna().all()
    recs, rows = _table({"a": [0.3, 0.4], "b": [0.2, 0.3]})
    rows.loc[rows["method"] == "b", "top1_mean"] = np.nan  # b incomplete: a is best, nothing to compare
    out = table_significance(recs, rows).set_index("method")
    assert out.loc["a", "is_best"] and math.isnan(out.loc["b", "diff_vs_best"]) and not out.loc["b", "testable"]
