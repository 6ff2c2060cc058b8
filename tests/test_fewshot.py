"""Few-shot mode (``fewshot-K``, ER's Table 5): the K-clip draw, what the fit sees, skipped K, blinding,
the ``fewshot-linear`` method, the CLI end to end and the few-shot leaderboard table."""
import json

import numpy as np
import pytest

from test_cli import INLINE, here
from zsar_bench.datasets import get_dataset
from zsar_bench.method import FitContext, build_method
from zsar_bench.plugins import load_plugins
from zsar_bench.results.records import RecordStore
from zsar_bench.reports import render_table, summarise
from zsar_bench.running import runner
from zsar_bench.measure.folds import MIN_EVAL, FewShotSkip, fewshot_k, make_fold_data, mode_kind
from zsar_bench.running.runner import RunSpec, _all_classes, execute_run, spec_cross_dataset
from zsar_bench.running.sweep import run_specs
from zsar_bench.splits import Fold, load_protocol

load_plugins()
SEEN = ("basketball_layup", "bowling", "clean_and_jerk", "discus_throw", "diving_platform_10m")
UNSEEN = ("diving_springboard_3m", "shot_put", "snatch", "tennis_serve", "triple_jump", "vault")
FOLD = Fold(3, SEEN, (), UNSEEN)


def _data(fs, k, seed=0, fold=FOLD):
    return make_fold_data(fs, get_dataset("olympics").classes(), fold, mode=f"fewshot-{k}", seed=seed)


def _label_of(fs):
    return dict(zip(fs.videos.video_ids.tolist(), fs.labels.tolist()))


def test_mode_names():
    assert fewshot_k("fewshot-5") == 5 and fewshot_k("fewshot-100") == 100
    assert fewshot_k("zsl") is None and fewshot_k("fewshot-0") is None and fewshot_k("fewshot-05") is None
    assert mode_kind("fewshot-2") == "fewshot" and mode_kind("gzsl") == "gzsl"
    with pytest.raises(ValueError, match="fewshot-K"):
        mode_kind("fewshot-x")


def test_draw_is_deterministic_disjoint_and_k_per_class(olympics_features):
    fs, ds = olympics_features, get_dataset("olympics")
    a, b = _data(fs, 2), _data(fs, 2)
    fit_ids = a.fit.train.videos.video_ids.tolist()
    assert fit_ids == b.fit.train.videos.video_ids.tolist()
    test_ids = a.test.videos.video_ids.tolist()
    assert not set(fit_ids) & set(test_ids)
    unseen_idx = [ds.index[c] for c in UNSEEN]
    all_ids = set(fs.videos.video_ids[np.isin(fs.labels, unseen_idx)].tolist())
    assert set(fit_ids) | set(test_ids) == all_ids  # every other clip of the test classes is evaluated
    assert np.bincount(a.fit.train.labels, minlength=len(UNSEEN)).tolist() == [2] * len(UNSEEN)
    assert a.val is None and a.unseen_columns is None and a.mode == "fewshot-2"


def test_fit_sees_only_test_classes(olympics_features):
    fs, ds = olympics_features, get_dataset("olympics")
    d = _data(fs, 5)
    assert [c.identifier for c in d.fit.train.classes] == list(UNSEEN) == [c.identifier for c in d.test.classes]
    label = _label_of(fs)
    assert {ds.identifiers[label[v]] for v in d.fit.train.videos.video_ids.tolist()} == set(UNSEEN)
    # the labels the fit gets index its classes correctly
    fit_truth = [ds.identifiers[label[v]] for v in d.fit.train.videos.video_ids.tolist()]
    assert fit_truth == [UNSEEN[i] for i in d.fit.train.labels]


def test_seeds_folds_and_k_give_different_draws(olympics_features):
    fs = olympics_features
    ids = lambda d: set(d.fit.train.videos.video_ids.tolist())  # noqa: E731
    base = ids(_data(fs, 2, seed=0))
    assert ids(_data(fs, 2, seed=1)) != base
    assert ids(_data(fs, 2, seed=0, fold=Fold(4, SEEN, (), UNSEEN))) != base
    assert ids(_data(fs, 2, seed=0)) == base


def test_too_few_clips_skips_that_k_with_a_note(olympics_features, tmp_path):
    fs, ds = olympics_features, get_dataset("olympics")
    least = int(np.bincount(fs.labels)[[ds.index[c] for c in UNSEEN]].min())
    with pytest.raises(FewShotSkip, match=f"MIN_EVAL={MIN_EVAL}"):
        _data(fs, least - MIN_EVAL + 1)
    _data(fs, least - MIN_EVAL)  # exactly enough: no skip
    pr = load_protocol("olympics", "random-50-50")
    specs = [RunSpec("fewshot-linear", {}, "olympics", "synthetic", pr, pr.folds[0], seed, mode="fewshot-100")
             for seed in (0, 1)]
    logs = []
    records, skipped = run_specs(specs, RecordStore(tmp_path / "r.jsonl"), log=logs.append, isolate=False)
    assert records == [] and skipped == 0 and RecordStore(tmp_path / "r.jsonl").keys() == set()
    notes = [m for m in logs if m.startswith("note: skipping fewshot-100")]
    assert len(notes) == 1 and "fold 0" in notes[0] and "105 clips" in notes[0]  # one line for the fold, not per seed


def test_method_sees_blinded_partitions(olympics_features, monkeypatch):
    seen = {}
    real_build = runner.build_method

    def spy_build(name, args=None):
        m = real_build(name, args)
        fit, score = m.fit, m.score

        def spy_fit(data, ctx):
            seen["fit"] = data.train.videos.video_ids.tolist()
            return fit(data, ctx)

        def spy_score(videos, classes):
            seen["test"] = videos.video_ids.tolist()
            return score(videos, classes)

        m.fit, m.score = spy_fit, spy_score
        return m

    monkeypatch.setattr(runner, "build_method", spy_build)
    pr = load_protocol("olympics", "random-50-50")
    spec = RunSpec("fewshot-linear", {"epochs": "5"}, "olympics", "synthetic", pr, pr.folds[0], 0, mode="fewshot-2")
    out = execute_run(runner.with_rows(spec, olympics_features), olympics_features)
    real = set(olympics_features.videos.video_ids.tolist())
    assert seen["fit"] and not set(seen["fit"]) & real and not set(seen["test"]) & real
    assert len(seen["fit"]) == 2 * len(pr.folds[0].unseen) and out["scores"].shape[0] == len(seen["test"])


def test_fewshot_linear_scores_by_class_identity(olympics_features):
    d = _data(olympics_features, 5)
    m = build_method("fewshot-linear", {"epochs": "30"}).fit(d.fit, FitContext(seed=0))
    s = m.score(d.test.videos, list(d.test.classes))
    rev = list(d.test.classes)[::-1]
    np.testing.assert_allclose(m.score(d.test.videos, rev), s[:, ::-1], rtol=1e-5, atol=1e-6)
    assert (s.argmax(1) == d.test.labels).mean() > 2.0 / len(UNSEEN)
    other = get_dataset("olympics").classes()[get_dataset("olympics").index["bowling"]]
    with pytest.raises(ValueError, match="not trained on class"):
        m.score(d.test.videos, [other])


def test_cross_dataset_fewshot_uses_the_test_dataset_alone():
    pr = load_protocol("hmdb51", "k400-full")
    zsl = RunSpec("eszsl", {}, "hmdb51", "synthetic", pr, pr.folds[0], 0)
    few = RunSpec("eszsl", {}, "hmdb51", "synthetic", pr, pr.folds[0], 0, mode="fewshot-5")
    assert spec_cross_dataset(zsl) == "kinetics" and spec_cross_dataset(few) is None
    assert len(_all_classes(few)) == 51 < len(_all_classes(zsl))


def _rec(method, k, fold, top1):
    return {"method": method, "config_hash": "c-" + method, "dataset": "kinetics", "features": "synthetic",
            "features_id": "synthetic-v2", "synthetic": True, "protocol": "kinetics-zsar",
            "split_hash": "abcdef012345", "fold": fold, "n_folds": 3, "seed": 0, "mode": f"fewshot-{k}",
            "top1": top1, "top5": min(1.0, top1 + 0.3), "mean_class_acc": top1, "train_s": 1.0, "eval_s": 0.1}


def test_fewshot_table_rows_and_published_reference():
    recs = [_rec("fewshot-linear", k, f, 0.1 * k ** 0.5) for k in (100, 2) for f in range(3)]
    recs += [dict(_rec("some-zsl-method", 1, 0, 0.4), mode="zsl")]  # not registered: no revision to supersede it
    tables = render_table(summarise(recs))
    assert "Few-shot" not in tables[0][0] and "Few-shot (supervised on K clips of each test class)" in tables[1][0]
    md = tables[1][1]
    lines = [ln for ln in md.splitlines() if ln.startswith("| fewshot-linear")]
    assert [ln.split("|")[3].strip() for ln in lines] == ["2", "100"] and all("3/3" in ln for ln in lines)
    assert "14.1 ± 0.0" in lines[0]
    pub = [ln for ln in md.splitlines() if "(published) ‡" in ln]
    assert len(pub) == 4 and "31.8 ± 0.8" in pub[0] and "72.7 ± 1.4" in pub[3]
    assert "ER, ICCV 2021, Table 5" in md


def test_cli_fewshot_end_to_end(tmp_path, capsys):
    """The command (its main, in this process, output captured; runs inline: no worker processes to start)."""
    rec, rep = tmp_path / "r.jsonl", tmp_path / "reports"
    out = here(capsys, "--methods", "fewshot-linear,eszsl", "--datasets", "olympics", "--fewshot", "1,2,100",
               "--folds", "0", "--records", str(rec), "--reports-dir", str(rep), "--no-progress",
               "--method-args", "fewshot-linear.epochs=20", *INLINE)
    assert out.returncode == 0, out.stderr
    assert "note: skipping fewshot-100 on olympics/random-50-50 fold 0" in out.stderr
    rows = [json.loads(line) for line in rec.read_text().splitlines()]
    assert sorted((r["method"], r["mode"]) for r in rows) == [("eszsl", "fewshot-1"), ("eszsl", "fewshot-2"),
                                                              ("fewshot-linear", "fewshot-1"),
                                                              ("fewshot-linear", "fewshot-2")]
    for r in rows:
        k = int(r["mode"].split("-")[1])
        assert r["n_train_videos"] == k * r["n_unseen"] and r["selected_on"] != "validation classes"
        assert {"top1", "top5", "mean_class_acc"} <= set(r) and "gzsl_h" not in r
    report = (rep / "olympics.md").read_text()
    assert "Few-shot (supervised on K clips of each test class)" in report and "| fewshot-linear" in report
    assert "Few-shot" in out.stdout


@pytest.mark.parametrize("args,msg", [
    (["--methods", "fewshot-linear"], "does not support zsl"),
    (["--methods", "fewshot-linear", "--gzsl"], "does not support gzsl"),
    (["--methods", "eszsl", "--fewshot", "1", "--gzsl"], "--fewshot and --gzsl"),
    (["--methods", "eszsl", "--fewshot", "0,2"], "positive whole number"),
])
def test_cli_fewshot_errors(args, msg, tmp_path, capsys):
    out = here(capsys, *args, "--datasets", "olympics", "--records", str(tmp_path / "r.jsonl"), "--no-report")
    assert out.returncode == 2 and msg in out.stderr and "Traceback" not in out.stderr
