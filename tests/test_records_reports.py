import json
import math

import pytest

from conftest import ROOT
from zsar_bench.records import RecordStore, record_key
from zsar_bench.reports import render_table, summarise, write_reports


def _rec(method, fold, top1, seed=0, n_folds=3, **kw):
    r = {"method": method, "config_hash": "abc" + method, "dataset": "hmdb51", "features": "synthetic",
         "features_id": "synthetic-v1", "synthetic": True, "protocol": "random-50-50", "split_hash": "128a305003c9",
         "fold": fold, "n_folds": n_folds, "seed": seed, "top1": top1, "top5": min(1.0, top1 + 0.3),
         "mean_class_acc": top1 - 0.01, "gzsl_seen": 0.8, "gzsl_unseen": top1 / 2, "gzsl_h": 0.3,
         "train_s": 1.0, "eval_s": 0.1}
    r.update(kw)
    return r


def test_append_is_line_atomic_and_survives_a_torn_line(tmp_path):
    store = RecordStore(tmp_path / "r.jsonl")
    store.append(_rec("a", 0, 0.5))
    with open(store.path, "a") as f:
        f.write('{"method": "a", "fold": 1, "top1"')  # a crash mid-write
    store.append(_rec("a", 2, 0.5))
    with pytest.warns(UserWarning, match="torn"):
        rows = store.read()
    assert [r["fold"] for r in rows] == [0, 2]
    assert store.path.read_text().count("\n") == 3


def test_remove_for_overwrite(tmp_path):
    store = RecordStore(tmp_path / "r.jsonl")
    for f in range(3):
        store.append(_rec("a", f, 0.5))
    assert store.remove([record_key(_rec("a", 1, 0.5))]) == 1
    assert [r["fold"] for r in store.read()] == [0, 2]


def test_summary_mean_std_and_empty_cells_for_missing_folds():
    recs = [_rec("a", f, v) for f, v in enumerate([0.30, 0.40, 0.50])] + [_rec("b", 0, 0.9), _rec("b", 1, 0.9)]
    s = summarise(recs).set_index("method")
    assert s.loc["a", "top1_mean"] == pytest.approx(40.0)
    assert s.loc["a", "top1_std"] == pytest.approx(10.0)  # sample std, ddof=1
    assert math.isnan(s.loc["b", "top1_mean"]) and s.loc["b", "n_runs"] == 2


def test_feature_sets_and_protocols_never_share_a_table():
    recs = [_rec("a", f, 0.3) for f in range(3)] + [_rec("a", f, 0.6, features_id="tsm-v1", features="tsm",
                                                         synthetic=False) for f in range(3)]
    tables = render_table(summarise(recs))
    assert len(tables) == 2 and any("SYNTHETIC" in t for t, _ in tables) and any("tsm-v1" in t for t, _ in tables)


def test_zsl_and_gzsl_runs_never_share_a_table():
    recs = [_rec("a", f, 0.3, mode="zsl") for f in range(3)] + [_rec("a", f, 0.3, mode="gzsl") for f in range(3)]
    tables = render_table(summarise(recs))
    assert len(tables) == 2
    zsl, gzsl = sorted(tables, key=lambda t: "generalised" in t[0])
    assert "Top-1" in zsl[1] and "| H " not in zsl[1] and "generalised ZSL" in gzsl[0] and "Top-1" not in gzsl[1]


def test_golden_leaderboard(tmp_path):
    recs = ([_rec("a", f, v) for f, v in enumerate([0.30, 0.40, 0.50])] + [_rec("b", 0, 0.9)]
            + [_rec("chance", f, 0.04) for f in range(3)]
            + [_rec("a", f, v, mode="gzsl", features_id="synthetic-v2") for f, v in enumerate([0.30, 0.40, 0.50])])
    write_reports(recs, tmp_path)
    golden = ROOT / "tests" / "golden" / "hmdb51.md"
    got = (tmp_path / "hmdb51.md").read_text()
    assert got == golden.read_text(), "leaderboard rendering changed; review and update tests/golden/hmdb51.md"
    assert "35.3 ± 4.6" in got and "(published) †" in got
    csv = (tmp_path / "leaderboard.csv").read_text()
    assert "top1_mean" in csv and "Chen and Huang" in csv
    json.dumps(recs)


def test_rows_name_their_class_inputs_and_drop_superseded_revisions(tmp_path, plugins):
    from zsar_bench.method import METHODS
    from zsar_bench.reports import inputs_label

    assert inputs_label({"text_encoder": "minilm", "tower": "frozen", "text_style": "name: description"},
                        "builtin") == "minilm (frozen, cached); 'name: description', descriptions project"
    assert inputs_label({"text_encoder": "bert-base-uncased", "tower": "partial", "trainable_layers": 2,
                         "text_style": "name: description"}, "/data/HMDB51/classes_label_defn.json") == (
        "bert-base-uncased, top 2 layers fine-tuned; 'name: description', descriptions classes_label_defn.json")
    assert inputs_label({"semantic": "/vecs/glove.42B.300d.txt", "text_style": "name"}) == (
        "word vectors glove.42B.300d.txt; 'name'")
    current = METHODS.get("er").revision
    assert current >= 2
    old = [_rec("er", f, 0.2, config_hash="old", params={"text_encoder": "minilm"}) for f in range(3)]
    new = [_rec("er", f, 0.3, config_hash="new", revision=current,
                params={"text_encoder": "minilm", "tower": "frozen"}) for f in range(3)]
    s = summarise(old + new)
    assert list(s["config_hash"]) == ["new"] and s.attrs["superseded"] == {"er": 3}
    assert s["inputs"].iloc[0] == "minilm (frozen, cached)"
    write_reports(old + new, tmp_path)
    assert "Not shown: 3 er record(s) made by an earlier implementation" in (tmp_path / "hmdb51.md").read_text()


def test_partial_summary_for_the_table_printed_after_a_run():
    recs = [_rec("a", f, v) for f, v in enumerate([0.30, 0.40, 0.50])] + [_rec("b", 0, 0.9), _rec("b", 2, 0.7)]
    full = summarise(recs).set_index("method")
    assert math.isnan(full.loc["b", "top1_mean"])  # reports/: the complete-only rule
    part = summarise(recs, partial=True).set_index("method")
    assert part.loc["b", "top1_mean"] == pytest.approx(80.0) and part.loc["b", "partial"]
    assert not part.loc["a", "partial"]
    md = render_table(summarise(recs, partial=True))[0][1]
    assert "2/3 (2 of 3 folds)" in md and "80.0 ± 14.1" in md and "mean over the folds that ran" in md
