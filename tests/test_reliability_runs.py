"""Reliability of a sweep's runs (issue 23, items 1, 3 and 6): adversarial methods as fixtures.

- Every row says who wrote it (``run_id``); a row a method forges for another method's run, before or after that
  run is recorded, is not trusted: the honest run is trained and recorded, the driver warns, and the reports mark
  the run CONTESTED.
- One method's failure (it raises, hangs past ``--run-timeout``, ignores the timeout, kills its worker, returns
  scores of the wrong shape or type) is that method's failure, in one line; the other methods run and are recorded.
- A method defined in a notebook (run in the driver's process) is marked on its records and in the table, and what
  it patches in the harness neither reaches its own metrics nor a later ``evaluate()`` call.
"""
import json
import re
import sys
import textwrap

import pytest

import zsar_bench
from zsar_bench import Method, cli
from zsar_bench.measure import metrics
from zsar_bench.method import METHODS
from zsar_bench.results.records import RecordStore, contested_runs, record_key
from zsar_bench.running import runner
from zsar_bench.running.executors import ExecutorConfig
from zsar_bench.running.runner import RunSpec
from zsar_bench.running.sweep import RunsFailedError, run_specs
from zsar_bench.splits import load_protocol

PLUGINS = textwrap.dedent('''
    """Adversarial methods (tests/test_reliability_runs.py)."""
    import os
    import time

    import numpy as np
    from zsar_bench import Method, register_method


    class _Base(Method):
        summary = "adversarial test method"

        def __init__(self, k: int = 0):
            self.k = k

        def score(self, videos, classes):
            return np.zeros((len(videos), len(classes)))


    @register_method("adv-forger")
    class Forger(_Base):
        """Appends the rows of $ADV_FORGED to the records file $ADV_RECORDS (as a plugin reading argv could)."""

        def fit(self, data, ctx):
            with open(os.environ["ADV_FORGED"]) as src, open(os.environ["ADV_RECORDS"], "a") as dst:
                dst.write(src.read())
            return self


    @register_method("adv-boom")
    class Boom(_Base):
        def fit(self, data, ctx):
            raise RuntimeError("boom: this method always fails")


    @register_method("adv-hang")
    class Hang(_Base):
        def fit(self, data, ctx):
            time.sleep(3600)


    @register_method("adv-stubborn")
    class Stubborn(_Base):
        """Swallows the timeout and keeps going: its worker process is ended."""

        def fit(self, data, ctx):
            end = time.monotonic() + 3600
            while time.monotonic() < end:
                try:
                    time.sleep(0.2)
                except BaseException:
                    pass


    @register_method("adv-exit")
    class Exit(_Base):
        def fit(self, data, ctx):
            os._exit(3)


    @register_method("adv-shape")
    class Shape(_Base):
        def fit(self, data, ctx):
            return self

        def score(self, videos, classes):
            return np.zeros((len(videos), len(classes) + 1))


    class _Bomb:
        """Unpickling it runs code: it writes $ADV_MARKER and patches the metrics of the process that reads it."""

        def __reduce__(self):
            code = ("import os, zsar_bench.measure.metrics as m; open(os.environ['ADV_MARKER'], 'w').write('ran'); "
                    "m.zsl_metrics = lambda s, l: {'top1': 1.0, 'top5': 1.0, 'mean_class_acc': 1.0}")
            return (exec, (code,))


    @register_method("adv-pickle")
    class PickleReply(_Base):
        """Replaces its worker's reply with a pickle that would run code in whatever process unpickles it."""

        def fit(self, data, ctx):
            import pickle
            import zsar_bench.running.executors.local as local

            local.encode_outputs = lambda outs: pickle.dumps([_Bomb()])
            return self


    @register_method("adv-type")
    class Type(_Base):
        def fit(self, data, ctx):
            return self

        def score(self, videos, classes):
            return "not scores"
''')
NAMES = ("adv-forger", "adv-pickle", "adv-boom", "adv-hang", "adv-stubborn", "adv-exit", "adv-shape", "adv-type")


@pytest.fixture
def adversaries(tmp_path, monkeypatch, plugins):
    """The adversarial methods as a plugin module named in ZSAR_BENCH_PLUGINS (worker processes import it too)."""
    import multiprocessing.forkserver as forkserver

    import zsar_bench.plugins as plugin_loader
    from zsar_bench.running.executors.local import WARM_MODULES

    forkserver.set_forkserver_preload(WARM_MODULES)
    forkserver.ensure_running()
    (tmp_path / "adversarial_plugins.py").write_text(PLUGINS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("ZSAR_BENCH_PLUGINS", "adversarial_plugins")
    plugin_loader.load_plugins(force=True)
    yield tmp_path
    for name in NAMES:
        METHODS._items.pop(name, None)
        METHODS._origins.pop(name, None)
    sys.modules.pop("adversarial_plugins", None)


def _specs(*methods, folds=(0,)):
    pr = load_protocol("olympics", "random-50-50")
    return [RunSpec(m, {}, "olympics", "synthetic", pr, pr.folds[f], 0) for m in methods for f in folds]


@pytest.fixture(scope="module")
def honest(tmp_path_factory, data_root):
    """eszsl on olympics fold 0, run alone in this process: the numbers every other run of it must match."""
    recs, _ = run_specs(_specs("eszsl"), RecordStore(tmp_path_factory.mktemp("honest") / "r.jsonl"),
                        isolate=False, log=lambda m: None)
    return recs[0]


def _forge(tmp_path, monkeypatch, honest, records, forged=True):
    row = {k: v for k, v in honest.items() if k != "in_process"}
    if forged:
        del row["run_id"]
        row.update(top1=0.99, top5=1.0, mean_class_acc=0.99)
    (tmp_path / "forged.jsonl").write_text(json.dumps(row) + "\n")
    monkeypatch.setenv("ADV_FORGED", str(tmp_path / "forged.jsonl"))
    monkeypatch.setenv("ADV_RECORDS", str(records))


# -- item 3: every row says who wrote it ---------------------------------------------------------------------------

def test_a_row_forged_before_the_honest_run_is_not_trusted(adversaries, tmp_path, monkeypatch, honest):
    """Before: the honest eszsl run was skipped as "recorded meanwhile by another run" and its record was 99%."""
    store = RecordStore(tmp_path / "r.jsonl")
    _forge(tmp_path, monkeypatch, honest, store.path)
    logs = []
    recs, _ = run_specs(_specs("adv-forger", "eszsl"), store, isolate=False, log=logs.append)
    mine = recs[1]
    assert mine["top1"] == honest["top1"] and mine["run_id"] == recs[0]["run_id"]
    assert re.fullmatch(r"[0-9a-f]{16}@.+:[0-9]+", mine["run_id"])
    assert any("a row for this run appeared during this sweep, written by an unknown writer" in m and
               "not trusted" in m for m in logs), logs
    rows = [r for r in store.read() if r["method"] == "eszsl"]
    assert [r["top1"] for r in rows] == [0.99, honest["top1"]]  # the honest row last: readers count it
    assert list(contested_runs(store.read())) == [record_key(honest)]


def test_a_row_forged_after_the_honest_run_is_reported(adversaries, tmp_path, monkeypatch, honest):
    store = RecordStore(tmp_path / "r.jsonl")
    _forge(tmp_path, monkeypatch, honest, store.path)
    logs = []
    run_specs(_specs("eszsl", "adv-forger"), store, isolate=False, log=logs.append)
    assert any("the records' last row of this run is not the one this sweep wrote" in m for m in logs), logs
    out = tmp_path / "rep"
    zsar_bench.Results(store.read()).write_reports(out)  # every row, as `report` reads them
    page = (out / "olympics.md").read_text()
    assert "eszsl [CONTESTED: 1 run(s)]" in page  # the forged row, last, counts: marked
    assert "Warning: runs recorded more than once with different numbers by different writers" in page


def test_a_row_with_the_same_numbers_is_kept_once(adversaries, tmp_path, monkeypatch, honest):
    """Two identical commands started together: the second to finish finds this run's own numbers, written by the
    other driver, and keeps that row (one row per run), as before."""
    store = RecordStore(tmp_path / "r.jsonl")
    _forge(tmp_path, monkeypatch, {**honest, "run_id": "0123456789abcdef@elsewhere:1"}, store.path, forged=False)
    logs = []
    recs, _ = run_specs(_specs("adv-forger", "eszsl"), store, isolate=False, log=logs.append)
    assert recs[1]["run_id"] == "0123456789abcdef@elsewhere:1" and recs[1]["top1"] == honest["top1"]
    assert any("recorded the same numbers meanwhile: kept that row" in m for m in logs), logs
    assert [r["method"] for r in store.read()].count("eszsl") == 1 and not contested_runs(store.read())


# -- item 6: one method's failure is that method's failure ---------------------------------------------------------

def _one_line_error(rc, err):
    assert rc == 2, err
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("executor", ["local", "inline"])
def test_failing_methods_are_recorded_as_failures_and_the_others_run(adversaries, tmp_path, capsys, executor):
    """Before: the first failure aborted the sweep with a traceback (or BrokenProcessPool), later methods unrun,
    and a hanging method blocked it forever."""
    rec = tmp_path / "r.jsonl"
    bad = ["adv-boom", "adv-hang", "adv-shape", "adv-type"] + (["adv-exit", "adv-stubborn"] if executor == "local" else [])
    rc = cli.main(["--methods", ",".join(bad[:2] + ["chance"] + bad[2:]), "--datasets", "olympics", "--folds", "0",
                   "--records", str(rec), "--no-report", "--no-progress", "--run-timeout", "2", "--jobs", "1",
                   "--executor", executor])
    err = capsys.readouterr().err
    line = _one_line_error(rc, err)
    assert f"{len(bad)} run(s) failed and were not recorded" in line and "rerun the same command" in line
    assert "adv-boom: 1 run(s), RuntimeError: boom" in line
    assert "adv-hang: 1 run(s), RunTimeoutError: the run went past its time limit of 2s (--run-timeout)" in line
    assert "method 'adv-shape': score() returned shape" in line
    assert "method 'adv-type': score() returned str, not an array of numbers" in line
    if executor == "local":
        assert "adv-exit: 1 run(s), WorkerDiedError: its worker process died (exit code 3" in line
        assert "adv-stubborn: 1 run(s), WorkerDiedError: its worker process died (exit code 75" in line
    rows = RecordStore(rec).read()
    assert [r["method"] for r in rows] == ["chance"] and rows[0].get("in_process") is (executor == "inline" or None)
    failures = [json.loads(x) for x in (tmp_path / "r.jsonl.failures.jsonl").read_text().splitlines()]
    assert sorted(f["method"] for f in failures) == sorted(bad) and all(f["fold"] == 0 for f in failures)
    assert err.count("FAILED, not recorded") == len(bad)


def test_a_worker_reply_is_never_unpickled(adversaries, tmp_path, monkeypatch, honest):
    """Before: the driver unpickled what a worker sent back (``concurrent.futures``), so method code in a worker
    could run code in the driver, the process that computes every method's metrics. Now a reply is JSON and
    ``.npz`` arrays read without pickle: the forged reply fails its own run, in one line, and runs nothing."""
    marker = tmp_path / "bomb-ran"
    monkeypatch.setenv("ADV_MARKER", str(marker))
    with pytest.raises(RunsFailedError) as e:
        run_specs(_specs("adv-pickle", "eszsl"), RecordStore(tmp_path / "r.jsonl"), log=lambda m: None, jobs=1)
    assert not marker.exists() and metrics.zsl_metrics.__module__ == "zsar_bench.measure.metrics"
    assert "adv-pickle: 1 run(s), WireError: a worker's reply could not be read" in str(e.value)
    (eszsl,) = e.value.records
    assert (eszsl["top1"], eszsl["top5"], eszsl["mean_class_acc"]) == \
        (honest["top1"], honest["top5"], honest["mean_class_acc"])


def test_run_timeout_is_a_config_key_and_is_checked(tmp_path, capsys, plugins):
    from zsar_bench.cli.run import run_parser
    from zsar_bench.running.planning import load_config

    cfg = tmp_path / "sweep.yaml"
    cfg.write_text("methods: [chance]\ndatasets: [olympics]\nrun_timeout: 90\n")
    assert load_config(cfg, run_parser()).options["run_timeout"] == 90.0
    args = run_parser().parse_args(["--config", str(cfg), "--run-timeout", "30"])
    assert ExecutorConfig.from_args(args).run_timeout == 30.0
    rec = tmp_path / "r.jsonl"
    for bad in ("0", "-5", "nan"):
        rc = cli.main(["--methods", "chance", "--datasets", "olympics", "--folds", "0", "--records", str(rec),
                       "--no-report", "--run-timeout", bad])
        line = _one_line_error(rc, capsys.readouterr().err)
        assert f"--run-timeout {float(bad)}: give a positive number of seconds" in line
    assert not rec.exists()


# -- item 1: a method defined in a notebook ------------------------------------------------------------------------

class NotebookPoison(Method):
    """Defined "in a notebook": patches the metric functions, a function's code and a numpy function as it fits."""

    name = "test-notebook-poison"

    def __init__(self, k: int = 0):
        self.k = k

    def fit(self, data, ctx):
        import numpy as np

        from zsar_bench.measure import metrics as m
        from zsar_bench.running import runner as r

        perfect = lambda scores, labels: {"top1": 1.0, "top5": 1.0, "mean_class_acc": 1.0}  # noqa: E731
        m.zsl_metrics = r.zsl_metrics = perfect
        m.topk_accuracy.__code__ = (lambda scores, labels, k: 1.0).__code__
        np.argsort = lambda *a, **k: 0
        return self

    def score(self, videos, classes):
        import numpy as np

        return np.zeros((len(videos), len(classes)))


NotebookPoison.__module__ = "__main__"


def test_a_notebook_method_is_marked_and_cannot_poison_later_calls(tmp_path, honest):
    """Before: the notebook method and every method of later evaluate() calls in the process recorded 100%."""
    import numpy as np

    originals = (metrics.zsl_metrics, runner.zsl_metrics, metrics.topk_accuracy.__code__, np.argsort)
    logs = []
    res = zsar_bench.evaluate([NotebookPoison], "olympics", folds="0", records=tmp_path / "r.jsonl", log=logs.append)
    (rec,) = res.records
    assert rec["in_process"] is True and rec["top1"] < 0.5  # its constant scores, scored honestly
    assert any("NOT ISOLATED" in m for m in logs)
    assert any("zsar_bench.measure.metrics.zsl_metrics" in m and "restored before its metrics" in m for m in logs)
    assert "[IN-PROCESS: not isolated]" in res.markdown(partial=True)
    assert (metrics.zsl_metrics, runner.zsl_metrics, metrics.topk_accuracy.__code__, np.argsort) == originals
    later = zsar_bench.evaluate(["eszsl"], "olympics", folds="0", isolate=False, log=lambda m: None)
    assert later.records[0]["top1"] == honest["top1"]
