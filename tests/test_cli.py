"""The command line end to end on synthetic features, resume after an interruption, clear errors.

``run`` starts run_bench.py as a process: the first run of the end-to-end test, the interrupted (killed) run and
the console-script check do. The other checks are of what the command does, not of the process: they call the
same ``main`` in this process (``here``), output captured, and runs that are not about worker processes train
in this process (``--executor inline``), which spares a Python start and a worker start for each."""
import json
import re
import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from conftest import ROOT
from zsar_bench.cli import main

INLINE = ("--executor", "inline")


def run(*args, timeout=600):
    return subprocess.run([sys.executable, str(ROOT / "run_bench.py"), *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def here(capsys, *args):
    """``run_bench.py ARGS`` as ``main(ARGS)`` in this process: returncode, stdout and stderr as ``run`` gives."""
    capsys.readouterr()
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return SimpleNamespace(returncode=rc, stdout=out, stderr=err)


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_run_prints_table_writes_records_and_reports(tmp_path, capsys):
    rec, rep = tmp_path / "r.jsonl", tmp_path / "reports"
    out = run("--methods", "label", "--datasets", "olympics", "--folds", "0-2", "--records", str(rec),
              "--reports-dir", str(rep), "--no-progress", "--method-args", "label.epochs=3")
    assert out.returncode == 0, out.stderr
    rows = _records(rec)
    assert len(rows) == 3 and {r["fold"] for r in rows} == {0, 1, 2}
    r0 = rows[0]
    for key in ("top1", "top5", "mean_class_acc", "split_hash", "git_sha", "versions", "config_hash",
                "n_train_videos", "n_test_videos", "train_s", "eval_s", "features_id", "mode"):
        assert key in r0
    assert r0["features_id"].startswith("synthetic-v") and r0["n_unseen"] == 8 and r0["mode"] == "zsl"
    assert "gzsl_h" not in r0  # generalised ZSL is its own mode (--gzsl)
    assert re.search(r"\| (★ |≈ )?label ", out.stdout)
    assert "3/50" in out.stdout  # partial runs: empty cells, counts shown
    assert (rep / "olympics.md").is_file() and (rep / "leaderboard.csv").is_file()
    again = here(capsys, "--methods", "label", "--datasets", "olympics", "--folds", "0-2", "--records", str(rec),
                 "--reports-dir", str(rep), "--no-progress", "--method-args", "label.epochs=3")
    assert again.returncode == 0 and "skipping 3 run(s)" in again.stderr
    assert len(_records(rec)) == 3
    forced = here(capsys, "--methods", "label", "--datasets", "olympics", "--folds", "1", "--records", str(rec),
                  "--reports-dir", str(rep), "--no-progress", "--method-args", "label.epochs=3", "--overwrite",
                  *INLINE)
    assert forced.returncode == 0 and len(_records(rec)) == 3


def test_interrupted_run_resumes_with_nothing_lost_or_duplicated(tmp_path, capsys):
    rec = tmp_path / "r.jsonl"
    args = [sys.executable, str(ROOT / "run_bench.py"), "--methods", "label", "--datasets", "olympics",
            "--folds", "0-7", "--records", str(rec), "--no-report", "--no-progress", "--method-args", "label.epochs=2"]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and (not rec.exists() or len(rec.read_text().splitlines()) < 2):
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    n_before = len(_records(rec))
    assert 2 <= n_before < 8
    out = here(capsys, *args[2:], *INLINE)  # the same command again (resuming is the driver's: in this process)
    assert out.returncode == 0, out.stderr
    rows = _records(rec)
    assert sorted(r["fold"] for r in rows) == list(range(8))
    assert f"skipping {n_before} run(s)" in out.stderr


@pytest.mark.parametrize("args,msg", [
    (["--methods", "lable", "--datasets", "olympics"], "Did you mean: label"),
    (["--methods", "label", "--datasets", "hmdb"], "Did you mean: hmdb51"),
    (["--methods", "label", "--datasets", "olympics", "--protocol", "e2e10"], "Valid choices: random-50-50"),
    (["--methods", "label", "--datasets", "olympics", "--features", "tsm"], "import-features"),
    (["--methods", "label", "--datasets", "olympics", "--method-args", "label.nope=1"], "no parameter 'nope'"),
    (["--methods", "label", "--datasets", "olympics", "--device", "cuda:7"], "no CUDA device"),
])
def test_user_errors_are_clear(args, msg, tmp_path, capsys):
    if "--device" in args:
        import torch

        if torch.cuda.is_available():
            pytest.skip("a CUDA machine: asking for CUDA is not an error there")
    out = here(capsys, *args, "--records", str(tmp_path / "r.jsonl"), "--no-report")
    assert out.returncode == 2 and msg in out.stderr and "Traceback" not in out.stderr


def test_split_file_with_unknown_class(tmp_path, capsys):
    bad = tmp_path / "s.json"
    bad.write_text(json.dumps({"dataset": "olympics", "protocol": "mine", "version": 1,
                               "folds": [{"seen": ["bowling"], "unseen": ["curling", "shot_put"]}]}))
    out = here(capsys, "--methods", "label", "--datasets", "olympics", "--split-file", str(bad), "--records",
               str(tmp_path / "r.jsonl"), "--no-report")
    assert out.returncode == 2 and "unknown olympics class" in out.stderr and "'curling'" in out.stderr


def test_splits_and_list_commands(capsys):
    run = lambda *args: here(capsys, *args)  # noqa: E731
    out = run("splits", "hmdb51", "e2e10", "--format", "json")
    doc = json.loads(out.stdout)
    assert doc["dataset"] == "hmdb51" and len(doc["folds"]) == 10 and set(doc["folds"][0]) == {"fold", "seen", "val", "unseen"}
    k = json.loads(run("splits", "kinetics", "kinetics-zsar", "--format", "json").stdout)
    assert [len(f["val"]) for f in k["folds"]] == [60] * 3 and [len(f["unseen"]) for f in k["folds"]] == [160] * 3
    methods = json.loads(run("list", "methods", "--format", "json").stdout)["methods"]
    assert {"label", "er"} <= {m["name"] for m in methods}
    assert json.loads(run("list", "protocols", "--format", "json").stdout)["protocols"]


def test_console_script_matches_run_bench(capsys):
    """The ``zsar-bench`` console script pyproject.toml declares is the function run_bench.py calls, and the two
    print the same fold list."""
    import ast
    import importlib
    import runpy
    import tomllib

    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["zsar-bench"]
    module, _, attr = target.partition(":")
    entry = getattr(importlib.import_module(module), attr)
    # run_bench.py's __main__ block calls the name `main`, and `main` there is the console script's function
    tree = ast.parse((ROOT / "run_bench.py").read_text())
    guard = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
    assert len(guard) == 1
    called = {n.func.id for n in ast.walk(guard[0]) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert "main" in called
    assert runpy.run_path(str(ROOT / "run_bench.py"), run_name="run_bench")["main"] is entry

    args = ["splits", "olympics", "random-50-50", "--format", "json"]
    script = run(*args)
    assert script.returncode == 0, script.stderr
    capsys.readouterr()
    assert entry(args) == 0
    assert capsys.readouterr().out == script.stdout
    doc = json.loads(script.stdout)
    split = json.loads((ROOT / "splits" / "olympics" / "random-50-50.json").read_text())
    assert doc["dataset"] == "olympics" and len(doc["folds"]) == len(split["folds"]) == 50
    assert [f["unseen"] for f in doc["folds"]] == [f["unseen"] for f in split["folds"]]


def test_parallel_jobs_give_the_same_records_as_sequential(tmp_path, capsys):
    common = ["--methods", "label", "--datasets", "olympics", "--folds", "0-1", "--no-report", "--no-progress",
              "--method-args", "label.epochs=2"]
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert here(capsys, *common, "--records", str(a), *INLINE).returncode == 0  # sequential: one run after the other
    out = here(capsys, *common, "--records", str(b), "--jobs", "2")  # two worker processes
    assert out.returncode == 0, out.stderr
    ra = {r["fold"]: r["top1"] for r in _records(a)}
    rb = {r["fold"]: r["top1"] for r in _records(b)}
    assert ra.keys() == rb.keys() == {0, 1}
    for k in ra:
        assert abs(ra[k] - rb[k]) < 0.02  # same seed; thread counts may differ in the last bits


def test_gzsl_mode_is_recorded_and_reported_separately(tmp_path, capsys):
    run = lambda *args: here(capsys, *args)  # noqa: E731
    rec, rep = tmp_path / "r.jsonl", tmp_path / "reports"
    base = ["--methods", "eszsl", "--datasets", "olympics", "--folds", "0", "--records", str(rec),
            "--reports-dir", str(rep), "--no-progress", *INLINE]
    assert run(*base).returncode == 0
    out = run(*base, "--gzsl")
    assert out.returncode == 0, out.stderr
    rows = _records(rec)
    assert sorted(r["mode"] for r in rows) == ["gzsl", "zsl"]
    g = next(r for r in rows if r["mode"] == "gzsl")
    z = next(r for r in rows if r["mode"] == "zsl")
    assert {"gzsl_seen", "gzsl_unseen", "gzsl_h"} <= set(g) and g["n_train_videos"] < z["n_train_videos"]
    assert "generalised ZSL" in (rep / "olympics.md").read_text()
    bad = run("--methods", "eszsl", "--datasets", "hmdb51", "--protocol", "k400-full", "--gzsl",
              "--records", str(rec), "--no-report")
    assert bad.returncode == 2 and "--gzsl" in bad.stderr and "Traceback" not in bad.stderr
