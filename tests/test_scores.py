"""--save-scores: each run's test score matrix as Parquet keyed like its record; per-class views from them."""
import numpy as np
import pandas as pd
import pytest

from zsar_bench.results.records import RecordStore


def test_saved_scores_reproduce_the_record_and_feed_per_class(tmp_path, plugins, olympics_features):
    from zsar_bench.running.runner import RunSpec
    from zsar_bench.running.sweep import run_specs
    from zsar_bench.results.scores import per_class, read_scores
    from zsar_bench.splits import load_protocol

    proto = load_protocol("olympics", "random-50-50")
    folder = tmp_path / "scores"
    specs = [RunSpec("eszsl", {}, "olympics", "synthetic", proto, proto.folds[f], 0, save_scores=str(folder))
             for f in (0, 1)]
    store = RecordStore(tmp_path / "r.jsonl")
    recs, _ = run_specs(specs, store, isolate=False, log=lambda m: None)
    assert len(recs) == 2
    for rec in recs:
        df = read_scores(folder / rec["scores_file"])
        classes = [c for c in df.columns if c not in ("video_id", "label")]
        assert sorted(classes) == sorted(proto.folds[rec["fold"]].unseen)
        assert len(df) == rec["n_test_videos"]
        top1 = float((np.asarray(classes)[df[classes].to_numpy().argmax(1)] == df["label"].to_numpy()).mean())
        assert abs(top1 - rec["top1"]) < 1e-9  # the saved matrix is the one the metrics came from
    table, pairs, runs = per_class(store.read(), folder, "eszsl", "olympics", "random-50-50")
    assert runs == 2
    unseen = set(proto.folds[0].unseen) | set(proto.folds[1].unseen)
    assert set(table["class"]) == unseen and table["top1"].between(0, 100).all()
    assert not pairs.empty and (pairs["true"] != pairs["predicted"]).all()
    assert isinstance(pairs, pd.DataFrame) and pairs["share_of_true"].max() <= 100


def test_cli_save_scores_and_per_class(tmp_path, capsys):
    from zsar_bench.cli import main

    rec = tmp_path / "r.jsonl"
    base = ["--records", str(rec), "--no-report", "--no-progress"]
    assert main(["--methods", "eszsl", "--datasets", "olympics", "--folds", "0-1", "--save-scores",
                 "--executor", "inline"] + base) == 0
    assert len(list((tmp_path / "scores").glob("*.parquet"))) == 2
    capsys.readouterr()
    assert main(["report", "--per-class", "eszsl", "--dataset", "olympics", "--records", str(rec)]) == 0
    out = capsys.readouterr().out
    assert "per-class top-1" in out and "most confused pairs" in out
    assert main(["report", "--per-class", "label", "--dataset", "olympics", "--records", str(rec)]) == 2
    # the HTML leaderboard links a per-class page for every method with saved scores
    pytest.importorskip("jinja2")
    assert main(["report", "--records", str(rec), "--format", "html"]) == 0
    html = tmp_path / "reports" / "html"
    pages = list(html.glob("perclass-*.html"))
    assert len(pages) == 1 and "most confused pairs" in pages[0].read_text().lower()
    assert pages[0].name in (html / "olympics.html").read_text()
