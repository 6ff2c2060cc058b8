"""Each run is resolved once (issue 21): a method configuration is built once for its facts (``method_facts``:
parameters, config hash, revision) and once for the texts it embeds, in a worker that serves its method (here,
with the inline executor, in this process); the driver computes each run's record key once
(``resolve.resolve_runs``); the worker builds the method once per run to fit it; the driver's record comes from
those facts and builds nothing. Isolated (the default), the driver's own process builds no method at all."""
import sys

import zsar_bench.method as method_module

import pytest

from zsar_bench.running import method_facts, resolve, runner, sweep
from zsar_bench.results.records import RecordStore
from zsar_bench.running.runner import RunSpec
from zsar_bench.splits import load_protocol


def _specs():
    pr = load_protocol("olympics", "random-50-50")
    grid = [RunSpec(m, args, "olympics", "synthetic", pr, pr.folds[f], seed)
            for m, args in (("eszsl", {}), ("eszsl", {"alpha": "2.0"}), ("chance", {}))
            for f in (0, 1) for seed in (0, 1)]
    return grid + grid[:2]  # two runs asked for twice: planned once


@pytest.fixture
def counted(monkeypatch):
    """Where ``build_method`` and ``resolve_run`` are called from, and that nothing uses ``spec_key``."""
    calls = {"build": [], "resolve": 0}
    real_build, real_resolve = method_module.build_method, resolve.resolve_run

    def build(name, overrides=None, available=False):
        calls["build"].append((sys._getframe(1).f_code.co_name, name))
        return real_build(name, overrides, available)

    def count_resolve(*a, **k):
        calls["resolve"] += 1
        return real_resolve(*a, **k)

    def no_spec_key(*a, **k):
        raise AssertionError("the driver recomputed a record key (spec_key) instead of using the run's facts")

    monkeypatch.setattr(method_module, "build_method", build)
    monkeypatch.setattr(method_facts, "build_method", build)  # where the facts are asked (in this process here)
    monkeypatch.setattr(runner, "build_method", build)
    monkeypatch.setattr(resolve, "resolve_run", count_resolve)
    monkeypatch.setattr(resolve, "spec_key", no_spec_key)
    monkeypatch.setattr(sweep, "spec_key", no_spec_key, raising=False)
    return calls


def test_a_run_builds_its_method_once_and_computes_its_key_once(counted, tmp_path, data_root, plugins):
    store = RecordStore(tmp_path / "r.jsonl")
    recs, skipped = sweep.run_specs(_specs(), store, executor="inline", isolate=False, log=lambda m: None)
    n_runs = 12
    assert len(recs) == n_runs and len(store.read()) == n_runs and skipped == 0
    where = [f for f, _ in counted["build"]]
    assert where.count("execute_run") == n_runs  # the worker: once per run, to fit it
    assert where.count("_facts") == 3  # once per configuration (eszsl, eszsl alpha=2, chance): its facts
    assert where.count("_text_requests") == 3  # and once for the texts it embeds
    assert len(where) == n_runs + 6, where  # nowhere else: not finish_record, not the worker's check
    assert counted["resolve"] == n_runs + 2  # one key per run asked for (the repeats are dropped by that key)

    # the records carry the facts resolved by the driver
    by_alpha = {r["params"]["alpha"] for r in recs if r["method"] == "eszsl"}
    assert by_alpha == {2.0, 3.0}
    assert len({r["config_hash"] for r in recs}) == 3


def test_isolated_the_driver_builds_no_method(counted, tmp_path, data_root, plugins):
    """The default executor: every build happens in the method's worker processes, none in the driver."""
    store = RecordStore(tmp_path / "r.jsonl")
    recs, _ = sweep.run_specs(_specs()[:2], store, log=lambda m: None, jobs=1)
    assert len(recs) == 2 and counted["build"] == [] and counted["resolve"] == 2
    inline, _ = sweep.run_specs(_specs()[:2], RecordStore(tmp_path / "inline.jsonl"), isolate=False,
                                log=lambda m: None)
    assert [r["config_hash"] for r in recs] == [r["config_hash"] for r in inline]  # the same key either way
    assert [r["top1"] for r in recs] == [r["top1"] for r in inline]


def test_a_rerun_resolves_and_skips_without_fitting(counted, tmp_path, data_root, plugins):
    store = RecordStore(tmp_path / "r.jsonl")
    sweep.run_specs(_specs(), store, executor="inline", isolate=False, log=lambda m: None)
    counted["build"].clear()
    recs, skipped = sweep.run_specs(_specs(), store, executor="inline", isolate=False, log=lambda m: None)
    assert skipped == 12 and len(recs) == 12
    assert [f for f, _ in counted["build"]] == ["_facts"] * 3  # no fit, no text, no extra build


def test_the_worker_trains_what_the_driver_planned_whatever_the_records_say(tmp_path, data_root, plugins,
                                                                           olympics_features):
    """A job never reads the records file (issue 23: a row written there meanwhile, by a plugin say, must not make
    an honest run skip): it fits the run the driver resolved, once."""
    from zsar_bench.running.worker import _run_batch

    spec = _specs()[0]
    resolved = resolve.resolve_runs([spec], lambda s: olympics_features)[0]
    store = RecordStore(tmp_path / "r.jsonl")
    rec = resolve.run_fold(resolved, olympics_features)
    store.append_if_absent({**rec, "top1": 0.99})  # a row for this run, planted
    (out,) = _run_batch([runner.with_rows(resolved, olympics_features)])
    assert runner.finish_record(resolved, olympics_features, out)["top1"] == rec["top1"]
