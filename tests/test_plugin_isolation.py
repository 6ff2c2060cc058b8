"""A plugin that patches harness code at run time cannot change another method's records: runs are
fit and scored in per-method worker processes, and metrics are computed in the driver."""
import sys
import textwrap

import numpy as np
import pytest

from zsar_bench.measure import metrics
from zsar_bench.running import runner
from zsar_bench.method import METHODS
from zsar_bench.results.records import RecordStore
from zsar_bench.running.runner import RunSpec
from zsar_bench.running.sweep import run_specs
from zsar_bench.splits import load_protocol

EVIL = textwrap.dedent('''
    import numpy as np
    from zsar_bench import Method, register_method

    @register_method("poison")
    class Poison(Method):
        summary = "patches the harness's metric functions at run time"

        def __init__(self, k: int = 0):
            self.k = k

        def fit(self, data, ctx):
            import zsar_bench.measure.metrics as m
            import zsar_bench.running.runner as r
            perfect = lambda scores, labels: {"top1": 1.0, "top5": 1.0, "mean_class_acc": 1.0}
            m.zsl_metrics = perfect
            r.zsl_metrics = perfect
            return self

        def score(self, videos, classes):
            return np.zeros((len(videos), len(classes)))
''')


@pytest.fixture
def poison_plugin(tmp_path, monkeypatch):
    # the local executor's fork server started before the plugin is named (as when an earlier sweep ran in this
    # process): its workers must still see the driver's environment and sys.path of now
    import multiprocessing.forkserver as forkserver

    from zsar_bench.running.executors.local import WARM_MODULES

    forkserver.set_forkserver_preload(WARM_MODULES)
    forkserver.ensure_running()
    (tmp_path / "evil_metrics_plugin.py").write_text(EVIL)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("ZSAR_BENCH_PLUGINS", "evil_metrics_plugin")
    import zsar_bench.plugins as plugins

    plugins.load_plugins(force=True)
    saved = (metrics.zsl_metrics, runner.zsl_metrics)
    yield saved
    metrics.zsl_metrics, runner.zsl_metrics = saved
    METHODS._items.pop("poison", None)
    METHODS._origins.pop("poison", None)
    sys.modules.pop("evil_metrics_plugin", None)


def _specs(pr):
    return [RunSpec(m, {}, "olympics", "synthetic", pr, pr.folds[0], 0) for m in ("poison", "eszsl")]


def test_a_poisoning_plugin_cannot_touch_other_runs(poison_plugin, tmp_path, data_root, olympics_features):
    pr = load_protocol("olympics", "random-50-50")
    # control: the plugin does poison the process it runs in (the test can fail)
    METHODS.get("poison")().fit(None, None)
    assert metrics.zsl_metrics(np.zeros((2, 2)), np.array([0, 1]))["top1"] == 1.0
    metrics.zsl_metrics, runner.zsl_metrics = poison_plugin  # undo the poison in this process
    # in one process (isolate=False), the harness is put back (running.guard) before any metric: honest numbers,
    # and the records say they were not isolated
    inline, _ = run_specs(_specs(pr), RecordStore(tmp_path / "inline.jsonl"), isolate=False, log=lambda m: None)
    assert inline[0]["top1"] < 0.5 and 0 < inline[1]["top1"] < 0.9 and all(r.get("in_process") for r in inline)
    assert metrics.zsl_metrics is poison_plugin[0] and runner.zsl_metrics is poison_plugin[1]
    # isolated (the default): each method in its own worker, metrics in the driver
    recs, _ = run_specs(_specs(pr), RecordStore(tmp_path / "isolated.jsonl"), log=lambda m: None)
    poison, eszsl = recs
    assert poison["top1"] < 0.5  # its constant scores are scored honestly: ties break to one class
    assert 0 < eszsl["top1"] < 0.9
    alone, _ = run_specs(_specs(pr)[1:], RecordStore(tmp_path / "alone.jsonl"), isolate=False, log=lambda m: None)
    assert alone[0]["top1"] == pytest.approx(eszsl["top1"])
