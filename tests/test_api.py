"""The Python API: zsar_bench.evaluate / Results / load_results, unregistered methods run in-process, and the
README's example (docs/api_example.py) as it is."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT

import zsar_bench
from zsar_bench import Method
from zsar_bench.method import METHODS
from zsar_bench.running.planning import PlanError, plan_runs
from zsar_bench.running.resolve import spec_key


class Centroids(Method):
    """Defined here and never registered: ridge from clip features to class-name letter counts."""

    name = "test-centroids"

    def __init__(self, reg: float = 100.0):
        self.reg = reg

    @staticmethod
    def _embed(classes):
        out = np.array([[c.name.lower().count(ch) for ch in "abcdefghijklmnopqrstuvwxyz "] for c in classes], float)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    def fit(self, data, ctx):
        x = data.train.videos.features.astype(np.float64)
        self.mu_ = x.mean(0)
        x = x - self.mu_
        t = self._embed(data.train.classes)[data.train.labels]
        self.w_ = np.linalg.solve(x.T @ x + self.reg * np.eye(x.shape[1]), x.T @ t)
        return self

    def score(self, videos, classes):
        return ((videos.features - self.mu_) @ self.w_) @ self._embed(classes).T


def test_evaluate_returns_results_with_a_row_per_run(tmp_path, monkeypatch, olympics_features):
    monkeypatch.chdir(tmp_path)  # records=None: nothing may be written here (no results/, no reports/)
    # isolate=False: fit in this process (Results is what is checked here; the README example below runs the
    # default, a worker process per method, and test_plugin_isolation checks the isolation)
    res = zsar_bench.evaluate(["label", "eszsl"], ["olympics"], folds="0-1", isolate=False)
    assert isinstance(res, zsar_bench.Results) and len(res) == 4
    df = res.df
    assert len(df) == 4 and sorted(zip(df["method"], df["fold"])) == [("eszsl", 0), ("eszsl", 1), ("label", 0),
                                                                        ("label", 1)]
    assert {"top1", "config_hash", "split_hash", "features_id", "mode"} <= set(df.columns)
    table = res.table()
    assert sorted(table["method"]) == ["eszsl", "label"] and set(table["n_runs"]) == {2}
    md = res.markdown()
    assert re.search(r"\| \W*label ", md) and re.search(r"\| \W*eszsl ", md) and "2/50" in md
    assert list(tmp_path.iterdir()) == []
    written = res.write_reports(tmp_path / "rep")
    assert (tmp_path / "rep" / "olympics.md") in written and (tmp_path / "rep" / "leaderboard.csv").is_file()


def test_an_unregistered_method_class_or_instance_evaluates_in_process(tmp_path, olympics_features):
    rec = tmp_path / "r.jsonl"
    logs = []
    res = zsar_bench.evaluate([Centroids, Centroids(reg=10.0)], "olympics", folds="0", records=rec, log=logs.append)
    assert "test-centroids" not in METHODS  # registered for the call only
    df = res.df
    assert list(df["method"]) == ["test-centroids"] * 2 and df["config_hash"].nunique() == 2
    assert sorted(r["params"]["reg"] for r in res.records) == [10.0, 100.0]
    assert all(0.0 <= t <= 1.0 for t in df["top1"]) and len(rec.read_text().splitlines()) == 2
    # the same configuration as a (class, args) pair: same key, so the records file resumes it
    logs.clear()
    again = zsar_bench.evaluate([(Centroids, {"reg": 10})], "olympics", folds="0", records=rec, log=logs.append)
    reg10 = next(r["config_hash"] for r in res.records if r["params"]["reg"] == 10.0)
    assert len(again) == 1 and again.records[0]["config_hash"] == reg10
    assert any("skipping 1 run(s)" in m for m in logs) and len(rec.read_text().splitlines()) == 2
    assert Centroids.__dict__.get("name") == "test-centroids"


def test_a_class_without_a_name_uses_its_class_name_and_is_restored(tmp_path, olympics_features):
    class Plain(Centroids):  # no name of its own: the class name is used
        pass

    res = zsar_bench.evaluate([Plain(reg=5.0)], "olympics", folds="0", log=lambda m: None)
    assert res.records[0]["method"] == "Plain" and "Plain" not in METHODS
    assert "name" not in Plain.__dict__


def test_load_results_round_trips(tmp_path, olympics_features):
    rec = tmp_path / "r.jsonl"
    res = zsar_bench.evaluate(["eszsl", ("eszsl", {"alpha": 2.0})], ["olympics"], folds="0-1", seeds=[0],
                              records=rec, log=lambda m: None, isolate=False)  # run_options reach run_specs
    back = zsar_bench.load_results(rec)
    assert len(back) == len(res) == 4 and back.source == str(rec)
    cols = ["method", "config_hash", "fold", "seed", "top1"]
    key = lambda d: d[cols].sort_values(cols).reset_index(drop=True)  # noqa: E731
    assert key(back.df).equals(key(res.df))
    assert back.table()[["config_hash", "top1_mean"]].sort_values("config_hash").reset_index(drop=True).equals(
        res.table()[["config_hash", "top1_mean"]].sort_values("config_hash").reset_index(drop=True))
    assert back.markdown() == res.markdown()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        zsar_bench.load_results(tmp_path / "missing.jsonl")


def test_every_way_of_asking_gives_the_command_lines_keys():
    cli = plan_runs("label", "olympics", folds="0-1", method_args=["label.lr=3e-4,label.epochs=2"])
    pairs = plan_runs([("label", {"lr": "3e-4", "epochs": 2.0})], ["olympics"], folds=[0, 1])
    margs = plan_runs(["label"], ["olympics"], folds="0,1", method_args={"label": {"lr": 0.0003, "epochs": 2}})
    keys = [[spec_key(s, "f") for s in specs] for specs in (cli, pairs, margs)]
    assert keys[0] == keys[1] == keys[2] and len(keys[0]) == 2
    assert all(s.device in ("cpu", "cuda") for s in cli)  # resolved once, at planning


@pytest.mark.parametrize("kwargs,msg", [
    (dict(methods=["lable"]), "Did you mean: label"),
    (dict(methods=[("label", {"nope": 1})]), "no parameter 'nope'"),
    (dict(methods=[("label", {"epochs": 2.5})]), "not a whole number"),
    (dict(methods=[("label", {"epochs": 0})]), "must be at least 1"),
    (dict(methods=["label"], seeds=[-1]), "is not a seed"),
    (dict(methods=["label"], mode="fewshot-0"), "unknown evaluation mode"),
    (dict(methods=["label"], device="gpu"), "is not a device"),
    (dict(methods=[object()]), "is not a method name"),
])
def test_evaluate_refuses_what_cannot_run_before_anything_runs(kwargs, msg, tmp_path):
    with pytest.raises(PlanError, match=re.escape(msg)):
        zsar_bench.evaluate(datasets=["olympics"], records=tmp_path / "r.jsonl", **kwargs)
    assert not (tmp_path / "r.jsonl").exists()


def test_a_malformed_method_class_is_refused_like_a_plugin(tmp_path):
    class NoDefault(Centroids):
        name = "test-no-default"

        def __init__(self, reg):
            self.reg = reg

    with pytest.raises(PlanError, match="needs a default value"):
        zsar_bench.evaluate([NoDefault], ["olympics"], folds="0", records=tmp_path / "r.jsonl")
    assert "test-no-default" not in METHODS


def test_a_method_named_like_a_registered_one_is_refused(tmp_path, plugins):
    class Impostor(Centroids):
        name = "label"

    with pytest.raises(PlanError, match="has the name of a registered method"):
        zsar_bench.evaluate([Impostor], ["olympics"], folds="0", records=tmp_path / "r.jsonl")
    assert METHODS.get("label") is not Impostor


def test_readme_example_runs_as_written(tmp_path, olympics_features):
    example = ROOT / "docs" / "api_example.py"
    readme = (ROOT / "README.md").read_text()
    if "## API" in readme:  # the README shows the example file verbatim: one text
        assert example.read_text().strip() in readme
    out = subprocess.run([sys.executable, str(example)], cwd=tmp_path, capture_output=True, text=True, timeout=900,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    assert re.search(r"\| \W*name-ridge ", out.stdout) and re.search(r"\| \W*label ", out.stdout)
    assert (tmp_path / "api-example" / "reports" / "olympics.md").is_file()
    assert len((tmp_path / "api-example" / "records.jsonl").read_text().splitlines()) == 6


@pytest.mark.parametrize("bad", ["records-folder", "split-file"])
def test_evaluate_raises_plan_error_for_what_cannot_run(bad, tmp_path):
    """Every mistake found before running is the documented PlanError (a ValueError), the message kept."""
    kwargs = {"records": str(tmp_path)} if bad == "records-folder" else {"split_file": str(tmp_path / "none.json")}
    with pytest.raises(zsar_bench.PlanError):
        zsar_bench.evaluate(["chance"], ["olympics"], folds="0", **kwargs)
