"""The numbers of a leaderboard row (zsar_bench/reports/tables.py: summarise, its significance columns and the cell
formats), each checked against a value computed here with numpy or scipy from hand-made records."""
import math

import numpy as np
import pytest
from scipy import stats as sps

from zsar_bench.reports.tables import _cell, _ci, _mark, _p, _runs, drop_superseded, records_frame, summarise


def _rec(method, fold, top1, seed=0, n_folds=3, **kw):
    r = {"method": method, "config_hash": "c" + method, "dataset": "hmdb51", "features": "synthetic",
         "features_id": "synthetic-v2", "synthetic": True, "protocol": "random-50-50", "split_hash": "s", "fold": fold,
         "n_folds": n_folds, "seed": seed, "mode": "zsl", "top1": top1, "top5": min(1.0, top1 + 0.2),
         "mean_class_acc": top1 - 0.01, "train_s": 2.0 + fold, "eval_s": 0.5}
    r.update(kw)
    return r


def test_mean_std_and_runs_of_a_complete_row_with_seeds():
    vals = {(f, s): 0.1 * (f + 1) + 0.01 * s for f in range(3) for s in range(2)}
    s = summarise([_rec("a", f, v, seed=sd) for (f, sd), v in vals.items()]).iloc[0]
    x = np.array(list(vals.values()))
    assert s["n_runs"] == 6 and s["n_expected"] == 6 and s["n_seeds"] == 2 and s["complete"]
    assert s["top1_mean"] == pytest.approx(100 * x.mean()) and s["top1_std"] == pytest.approx(100 * x.std(ddof=1))
    assert s["top5_mean"] == pytest.approx(100 * np.minimum(1, x + 0.2).mean())
    assert s["mean_class_acc_mean"] == pytest.approx(100 * (x - 0.01).mean())
    assert s["train_s_per_fold"] == pytest.approx(np.mean([2.0 + f for f, _ in vals])) and s["eval_s_per_fold"] == 0.5
    lo, hi = sps.t.interval(0.95, 5, loc=100 * x.mean(), scale=100 * sps.sem(x))
    assert (s["ci_low"], s["ci_high"]) == pytest.approx((lo, hi))
    assert s["is_best"] and s["train_dataset"] == "hmdb51"


def test_a_row_missing_a_fold_has_empty_cells_unless_partial():
    recs = [_rec("a", 0, 0.2), _rec("a", 1, 0.4)]
    full = summarise(recs).iloc[0]
    assert not full["complete"] and math.isnan(full["top1_mean"]) and full["n_runs"] == 2 and full["n_expected"] == 3
    part = summarise(recs, partial=True).iloc[0]
    assert part["partial"] and part["top1_mean"] == pytest.approx(30.0)
    assert part["top1_std"] == pytest.approx(100 * np.std([0.2, 0.4], ddof=1)) and part["n_folds_done"] == 2
    rows = lambda df: [r for _, r in df.iterrows()]  # noqa: E731  (the rows as the renderers read them)
    assert _runs(rows(summarise(recs, partial=True))[0]) == "2/3 (partial 2/3)"
    assert part["note"] == "partial 2/3" and summarise(recs).iloc[0]["note"] == ""
    assert _runs(rows(summarise(recs))[0]) == "2/3"
    # a repeated fold does not complete a row: three runs, two folds
    assert not summarise(recs + [_rec("a", 1, 0.4, seed=0, top5=0.1)]).iloc[0]["complete"]


def test_one_run_has_no_spread_and_a_missing_metric_empties_its_cell():
    one = summarise([_rec("a", 0, 0.3, n_folds=1)]).iloc[0]
    assert one["top1_mean"] == pytest.approx(30.0) and math.isnan(one["top1_std"])
    assert _cell(one["top1_mean"], one["top1_std"]) == "30.0"  # no "± 0.0" for a single run
    assert math.isnan(one["ci_low"]) and _ci(one) == ""
    recs = [_rec("a", f, 0.3) for f in range(3)]
    recs[1]["top5"] = None
    row = summarise(recs).iloc[0]
    assert math.isnan(row["top5_mean"]) and row["top1_mean"] == pytest.approx(30.0)


def test_rows_are_per_configuration_and_marked_against_the_best():
    recs = ([_rec("a", f, v) for f, v in enumerate([0.30, 0.40, 0.50])]
            + [_rec("a", f, v, config_hash="other") for f, v in enumerate([0.10, 0.20, 0.30])]
            + [_rec("b", f, v) for f, v in enumerate([0.31, 0.41, 0.52])])
    s = summarise(recs).set_index("config_hash")
    assert len(s) == 3 and s.loc["cb", "is_best"] and not s.loc["ca", "is_best"]
    raw = {"ca": sps.wilcoxon([0.30, 0.40, 0.50], [0.31, 0.41, 0.52]).pvalue,
           "other": sps.wilcoxon([0.10, 0.20, 0.30], [0.31, 0.41, 0.52]).pvalue}
    lo, hi = sorted(raw, key=raw.get)
    adj = {lo: min(1.0, 2 * raw[lo])}
    adj[hi] = max(adj[lo], min(1.0, raw[hi]))  # Holm over the table's two comparisons, by hand
    for c in raw:
        assert s.loc[c, "p_vs_best"] == pytest.approx(adj[c])
    assert s.loc["ca", "diff_vs_best"] == pytest.approx(100 * np.mean([-0.01, -0.01, -0.02]))


def test_gzsl_and_zsl_rows_are_summarised_apart():
    recs = [_rec("a", f, 0.3) for f in range(3)] + [
        _rec("a", f, 0.3, mode="gzsl", gzsl_seen=0.8, gzsl_unseen=0.2, gzsl_h=0.32) for f in range(3)]
    s = summarise(recs).set_index("mode")
    assert s.loc["gzsl", "gzsl_h_mean"] == pytest.approx(32.0) and s.loc["zsl", "top1_mean"] == pytest.approx(30.0)
    assert math.isnan(s.loc["zsl", "gzsl_h_mean"]) and s.loc["gzsl", "is_best"] and s.loc["zsl", "is_best"]


def test_records_frame_dedupes_and_fills_the_mode():
    old = {k: v for k, v in _rec("a", 0, 0.1).items() if k != "mode"}
    df, dropped = records_frame([old, _rec("a", 0, 0.2), _rec("a", 1, 0.3)])
    assert len(df) == 2 and dropped == {} and set(df["mode"]) == {"zsl"}
    assert sorted(df["top1"]) == [0.2, 0.3]  # the mode-less row and the zsl row are one run: the last counts
    assert records_frame([])[0].empty


def test_drop_superseded_keeps_current_and_unknown_methods(plugins):
    from zsar_bench.method import METHODS

    cur = METHODS.get("er").revision
    import pandas as pd

    df = pd.DataFrame([_rec("er", 0, 0.1, revision=cur - 1), _rec("er", 1, 0.2, revision=cur),
                       _rec("nobody-knows", 0, 0.3, revision=1), _rec("eszsl", 0, 0.4)])
    kept, dropped = drop_superseded(df)
    assert dropped == {"er": 1} and sorted(kept["top1"]) == [0.2, 0.3, 0.4]


def test_cell_formats():
    assert _cell(40.04, 10.0) == "40.0 ± 10.0" and _cell(math.nan, 1.0) == "" and _cell(None, 1.0) == ""
    assert _cell(12.34, math.nan) == "12.3" and _cell(12.34, None) == "12.3" and _cell(5.0, 0.0) == "5.0 ± 0.0"
    assert _ci({"ci_low": 15.23, "ci_high": 64.77}) == "[15.2, 64.8]" and _ci({"ci_low": math.nan, "ci_high": 1}) == ""
    assert _ci({}) == "" and _ci({"ci_low": None, "ci_high": None}) == "" and _ci({"ci_low": None, "ci_high": 5.0}) == ""
    assert _ci({"ci_low": 5.0, "ci_high": None}) == ""
    assert _p({"p_vs_best": 0.0004}) == "<0.001" and _p({"p_vs_best": 0.001}) == "0.001" and _p({}) == ""
    assert _p({"p_vs_best": 0.25}) == "0.250" and _p({"p_vs_best": None}) == ""
    assert _p({"p_vs_best": 0.25, "testable": False, "n_pairs": 3}) == "too few runs to test (n = 3)"
    assert _p({"p_vs_best": 0.01, "testable": True, "n_pairs": 8}) == "0.010"
    assert _mark({"is_best": True, "tied_with_best": True}) == "★ " and _mark({"tied_with_best": True}) == "≈ "
    assert _mark({"is_best": False, "tied_with_best": False}) == "" and _mark({}) == ""


def test_few_runs_and_sanity_rows_are_never_marked_tied():
    """3 folds: the exact test cannot reach 0.05 (smallest p 0.25), so nothing is marked ≈ and the p column says
    so. With 8 folds a close row is ≈, but a sanity row (chance) never is, even when the test cannot tell it apart."""
    few = summarise([_rec("a", f, v) for f, v in enumerate([0.30, 0.40, 0.50])]
                    + [_rec("b", f, v) for f, v in enumerate([0.29, 0.41, 0.48])]).set_index("method")
    assert not few.loc["b", "tied_with_best"] and not few.loc["b", "testable"] and few.loc["b", "n_pairs"] == 3
    rows = {r["method"]: r for _, r in few.reset_index().iterrows()}
    assert _p(rows["b"]) == "too few runs to test (n = 3)" and _mark(rows["b"]) == ""
    vals = [0.30, 0.42, 0.35, 0.50, 0.38, 0.44, 0.31, 0.47]
    many = summarise([_rec("a", f, v, n_folds=8) for f, v in enumerate(vals)]
                     + [_rec("b", f, v + (0.01 if f % 2 else -0.012), n_folds=8) for f, v in enumerate(vals)]
                     + [_rec("chance", f, v + (0.01 if f % 2 else -0.012), n_folds=8) for f, v in enumerate(vals)]
                     ).set_index("method")
    assert many.loc["b", "testable"] and many.loc["b", "tied_with_best"]  # the test can speak: b is tied
    assert many.loc["chance", "testable"] and not many.loc["chance", "tied_with_best"]  # sanity: never marked


def test_summary_rows_are_sorted_and_carry_their_context():
    params = {"text_encoder": "minilm", "tower": "frozen", "text_style": "name: description"}
    recs = ([_rec("b", f, 0.2, params=params, descriptions=f"/data/d{f}.json") for f in range(3)]
            + [_rec("a", f, 0.3, train_dataset="kinetics") for f in range(3)])
    s = summarise(recs)
    assert list(s["method"]) == ["a", "b"]  # grouped rows in key order, not input order
    a, b = s.iloc[0], s.iloc[1]
    assert a["features"] == "synthetic" and a["train_dataset"] == "kinetics" and b["train_dataset"] == "hmdb51"
    from zsar_bench.reports.tables import inputs_label

    assert b["inputs"] == inputs_label("b", params, "/data/d2.json") != inputs_label("b", params, "/data/d0.json")  # the last


def test_summary_says_which_records_it_dropped_as_superseded(plugins):
    from zsar_bench.method import METHODS

    cur = METHODS.get("er").revision
    assert cur >= 2
    old = [_rec("er", f, 0.1, config_hash="old") for f in range(3)]  # no revision field: written by revision 1
    assert summarise(old).attrs["superseded"] == {"er": 3} and summarise(old).empty
    mixed = summarise(old + [_rec("er", f, 0.2, revision=cur) for f in range(3)])
    assert mixed.attrs["superseded"] == {"er": 3} and mixed.iloc[0]["top1_mean"] == pytest.approx(20.0)
    assert summarise([]).attrs["superseded"] == {}


def test_a_fold_id_outside_the_protocol_does_not_complete_a_row():
    s = summarise([_rec("a", f, 0.3) for f in (0, 1, 2, 3)]).iloc[0]
    assert not s["complete"] and math.isnan(s["top1_mean"])


def test_intervals_per_configuration_and_none_for_incomplete_rows():
    recs = ([_rec("a", f, v) for f, v in enumerate([0.30, 0.40, 0.50])]
            + [_rec("a", f, v, config_hash="other") for f, v in enumerate([0.10, 0.25, 0.30])]
            + [_rec("b", f, 0.2) for f in (0, 1)])
    s = summarise(recs).set_index("config_hash")
    for c, vals in [("ca", [30.0, 40.0, 50.0]), ("other", [10.0, 25.0, 30.0])]:
        lo, hi = sps.t.interval(0.95, 2, loc=np.mean(vals), scale=sps.sem(vals))
        assert (s.loc[c, "ci_low"], s.loc[c, "ci_high"]) == pytest.approx((max(lo, 0.0), min(hi, 100.0)))
    assert s.loc["other", "ci_low"] == 0.0  # the t interval reaches below 0: clipped
    assert math.isnan(s.loc["cb", "ci_low"]) and math.isnan(s.loc["cb", "ci_high"])  # incomplete: no interval


def test_gzsl_tables_rank_by_h():
    recs = [_rec(m, f, t, mode="gzsl", gzsl_seen=0.8, gzsl_unseen=u, gzsl_h=h) for f in range(8)
            for m, u, h, t in [("a", 0.2, 0.3 + 0.01 * f, 0.1), ("b", 0.3, 0.4 + 0.01 * f, 0.05)]]
    for r in recs:
        r["n_folds"] = 8
    s = summarise(recs).set_index("method")
    assert s.loc["b", "is_best"] and not s.loc["a", "is_best"]  # best H, though a has the better top-1
    assert s.loc["a", "diff_vs_best"] == pytest.approx(-10.0)
