"""The driver never runs plugin code (issue 23, item 1): planning, record keys and text encodings come from a worker
that serves the method (``running.method_facts``), and what workers send back is read without pickle.

The adversary here acts at import: installed (named in ZSAR_BENCH_PLUGINS) but not even selected, it patches the
metric functions and fills the driver's feature cache with other labels the moment its module is imported. Before,
the driver imported every plugin to plan: eszsl and chance were recorded at 100%. Now its module is imported only in
worker processes, and every other method's records are those of a run without it."""
import os
import sys
import textwrap

import pytest

from zsar_bench import cli
from zsar_bench.measure import metrics
from zsar_bench.method import METHODS
from zsar_bench.results.records import RecordStore
from zsar_bench.running import runner

AT_IMPORT = textwrap.dedent('''
    """Patches the harness of whatever process imports it, and says which process that was."""
    import os

    import numpy as np
    import zsar_bench.measure.metrics as m
    import zsar_bench.running.runner as r
    from zsar_bench import Method, register_method

    with open(os.environ["ADV_IMPORTED"], "a") as f:
        f.write(f"{os.getpid()}\\n")
    perfect = lambda scores, labels: {"top1": 1.0, "top5": 1.0, "mean_class_acc": 1.0}
    m.zsl_metrics = r.zsl_metrics = perfect
    r._feature_cache.clear()  # and a cache the guard cannot see: emptied, then poisoned on first use
    _load = r.load_feature_set

    def poisoned(dataset, features):
        fs = _load(dataset, features)
        fs.labels[:] = 0
        return fs

    r.load_feature_set = poisoned


    @register_method("adv-import")
    class AtImport(Method):
        summary = "patches the harness when imported"

        def __init__(self, k: int = 0):
            self.k = k

        def fit(self, data, ctx):
            return self

        def score(self, videos, classes):
            return np.zeros((len(videos), len(classes)))
''')


@pytest.fixture
def at_import(tmp_path, monkeypatch):
    import multiprocessing.forkserver as forkserver

    from zsar_bench.running.executors.local import WARM_MODULES

    forkserver.set_forkserver_preload(WARM_MODULES)
    forkserver.ensure_running()
    (tmp_path / "adv_at_import.py").write_text(AT_IMPORT)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("ZSAR_BENCH_PLUGINS", "adv_at_import")
    monkeypatch.setenv("ADV_IMPORTED", str(tmp_path / "imported-by"))
    saved = (metrics.zsl_metrics, runner.zsl_metrics, runner.load_feature_set)
    yield tmp_path
    metrics.zsl_metrics, runner.zsl_metrics, runner.load_feature_set = saved
    METHODS._items.pop("adv-import", None)
    METHODS._origins.pop("adv-import", None)
    sys.modules.pop("adv_at_import", None)


def _run(methods, records, *extra):
    return cli.main(["--methods", methods, "--datasets", "olympics", "--folds", "0", "--records", str(records),
                     "--no-report", "--no-progress", "--jobs", "1", *extra])


def _numbers(rows):
    return {r["method"]: (r["top1"], r["top5"], r["mean_class_acc"]) for r in rows}


@pytest.mark.parametrize("selected", [False, True], ids=["installed", "selected"])
def test_a_plugin_patching_at_import_never_reaches_the_driver(at_import, tmp_path, selected, capsys, data_root):
    clean = tmp_path / "clean.jsonl"
    os.environ.pop("ZSAR_BENCH_PLUGINS")
    assert _run("eszsl,chance", clean) == 0
    os.environ["ZSAR_BENCH_PLUGINS"] = "adv_at_import"
    rec = tmp_path / "r.jsonl"
    methods = "eszsl,adv-import,chance" if selected else "eszsl,chance"
    assert _run(methods, rec) == 0, capsys.readouterr().err
    marker = tmp_path / "imported-by"
    imported_by = {int(p) for p in marker.read_text().split()} if marker.exists() else set()
    # never in the driver; selected, in its own workers (built-in methods' workers import built-in methods only;
    # the worker that describes the methods for the printed table imports every plugin, and answers text only)
    assert os.getpid() not in imported_by and (imported_by or not selected)
    assert "adv_at_import" not in sys.modules and metrics.zsl_metrics.__module__ == "zsar_bench.measure.metrics"
    rows = RecordStore(rec).read()
    assert {m: v for m, v in _numbers(rows).items() if m != "adv-import"} == _numbers(RecordStore(clean).read())
    if selected:  # in its own worker the labels it poisons are not there (a worker holds none): its own constant
        assert _numbers(rows)["adv-import"][0] < 0.5  # scores, scored honestly


def test_the_adversary_does_poison_a_process_that_imports_it(at_import):
    """The control: imported here, the plugin does change the metrics (so the test above can fail)."""
    import importlib

    importlib.import_module("adv_at_import")
    assert metrics.zsl_metrics(None, None)["top1"] == 1.0


def test_inline_runs_plugins_here_and_marks_every_record(at_import, tmp_path, capsys, data_root):
    """The inline executor runs method code in the driver by design: the plugin is imported here, the guard puts the
    harness back before any metric (``running.guard``), and every record made so is marked in_process. Isolated,
    above, the same plugin is never imported by the driver at all."""
    rec = tmp_path / "r.jsonl"
    assert _run("chance,adv-import", rec, "--executor", "inline") == 0, capsys.readouterr().err
    imported_by = {int(p) for p in (tmp_path / "imported-by").read_text().split()}
    assert os.getpid() in imported_by
    rows = RecordStore(rec).read()
    assert len(rows) == 2 and all(r.get("in_process") for r in rows) and _numbers(rows)["chance"][0] < 0.5


PEEK = textwrap.dedent('''
    """Looks for the test labels in its worker's memory: the frames that call score() and every object alive."""
    import gc
    import os
    import sys

    import numpy as np
    from zsar_bench import Method, register_method


    def _labels_of(obj, n):
        labels = getattr(obj, "labels", None)
        return labels if isinstance(labels, np.ndarray) and labels.ndim == 1 and len(labels) >= n else None


    @register_method("adv-peek")
    class Peek(Method):
        summary = "reads test labels from its caller's frames or any feature set alive in its process"

        def __init__(self, k: int = 0):
            self.k = k

        def fit(self, data, ctx):
            return self

        def score(self, videos, classes):
            n, found = len(videos), []
            frame = sys._getframe(1)
            while frame is not None:  # a caller's partition with labels (aligned with what this method sees)
                for v in list(frame.f_locals.values()):
                    if _labels_of(v, n) is not None and len(v.labels) == n:
                        found.append(("frame", v.labels))
                frame = frame.f_back
            for obj in gc.get_objects():  # a feature set with labels: match the rows by their features
                if type(obj).__name__ == "FeatureSet" and _labels_of(obj, n) is not None:
                    found.append(("feature set", obj))
            with open(os.environ["ADV_PEEK"], "a") as f:
                f.write(",".join(kind for kind, _ in found) + "\\n")
            out = np.zeros((n, len(classes)))
            if found and found[0][0] == "frame":
                out[np.arange(n), found[0][1]] = 1.0
            return out
''')


@pytest.fixture
def peek(tmp_path, monkeypatch):
    (tmp_path / "adv_peek.py").write_text(PEEK)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("ZSAR_BENCH_PLUGINS", "adv_peek")
    monkeypatch.setenv("ADV_PEEK", str(tmp_path / "found"))
    yield tmp_path
    METHODS._items.pop("adv-peek", None)
    METHODS._origins.pop("adv-peek", None)
    sys.modules.pop("adv_peek", None)


def test_no_test_label_is_in_a_workers_memory(peek, tmp_path, capsys, data_root):
    """Before: ``score_checked`` held the blinded test partition with its labels one frame up, and the worker's
    feature set held every label: a method read them and scored 100%. Now a worker builds the partitions from the
    rows the driver hands over, without the test labels, from a feature set loaded without labels."""
    rec = tmp_path / "r.jsonl"
    assert _run("adv-peek", rec) == 0, capsys.readouterr().err
    assert (tmp_path / "found").read_text().split() == []  # nothing found, in any frame or object
    (row,) = RecordStore(rec).read()
    assert row["top1"] < 0.5  # its all-zero scores: one class for every clip
