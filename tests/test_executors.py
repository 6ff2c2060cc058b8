"""Executors (issue "Scale out on existing engines"): inline, local pools, submitit (its local cluster
standing in for Slurm) and ray behind one interface give the same records; only the driver records;
a killed submitit driver restarts without losing or duplicating a run; --threads reaches every worker;
Slurm refuses node-local storage; ray is optional."""
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import types
from collections import Counter

import pytest

from conftest import ROOT
from zsar_bench import cli
from zsar_bench.running.executors import (ExecutorConfig, ExecutorError, JobState, make_executor, measured_run_seconds,
                                          node_local_reason, runs_per_job, worker_info)
from zsar_bench.paths import set_data_root
from zsar_bench.results.records import RecordStore, record_key
from zsar_bench.running.runner import RunSpec
from zsar_bench.running.sweep import run_specs
from zsar_bench.splits import load_protocol

COMPARED = ("top1", "top5", "mean_class_acc", "n_train_videos", "n_test_videos", "params", "config_hash")
HAS_RAY = importlib.util.find_spec("ray") is not None


def _grid():
    """eszsl (trained, closed form) and chance (seeded random scores) on olympics folds 0-1: the small grid
    every executor runs (each worker process pays its method's imports once: gensim for eszsl, a few seconds
    here; label's transformers would cost 10 s more per process)."""
    pr = load_protocol("olympics", "random-50-50")
    return [RunSpec(m, {}, "olympics", "synthetic", pr, pr.folds[f], 0) for m in ("eszsl", "chance") for f in (0, 1)]


def _metrics(recs):
    return {record_key(r): tuple(json.dumps(r[k], sort_keys=True) for k in COMPARED) for r in recs}


@pytest.fixture(scope="module")
def inline_records(tmp_path_factory, data_root, plugins, olympics_features):
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # as in every worker (--threads 1): bit-identical training
    try:
        with threadpool_limits(1):
            store = RecordStore(tmp_path_factory.mktemp("inline") / "r.jsonl")
            recs, _ = run_specs(_grid(), store, executor="inline", isolate=False, log=lambda m: None)
    finally:
        torch.set_num_threads(before)
    assert len(recs) == 4 and len(store.read()) == 4
    return recs


@pytest.mark.parametrize("kind,jobs,per_job", [("local", 1, None), ("submitit-local", 2, 2)])
def test_executors_give_the_records_of_inline(kind, jobs, per_job, inline_records, tmp_path):
    store = RecordStore(tmp_path / "r.jsonl")
    logs = []
    recs, _ = run_specs(_grid(), store, executor=kind, jobs=jobs, runs_per_job=per_job, log=logs.append)
    assert _metrics(recs) == _metrics(inline_records)
    rows = store.read()
    assert len(rows) == 4 and _metrics(rows) == _metrics(inline_records)  # the driver appended each once
    n_jobs = 4 if per_job is None else 4 // per_job
    assert f"executor {kind}: 4 run(s) in {n_jobs} job(s)" in "\n".join(logs)
    if kind == "submitit-local":  # collected jobs leave no state behind
        state = json.loads((tmp_path / "r.jsonl.jobs" / "state.json").read_text())
        assert state["jobs"] == []


@pytest.mark.parametrize("kind", ["local", "submitit-local"])
def test_every_worker_runs_with_threads(kind, tmp_path, data_root):
    cfg = ExecutorConfig(kind, jobs_dir=str(tmp_path / "jobs"))
    with make_executor(cfg, jobs=2, threads=2, data_root=str(data_root), records_path=tmp_path / "r.jsonl") as ex:
        jobs = [ex.submit(worker_info, group="probe") for _ in range(2)]
        infos = [j.result() for j in ex.as_completed(jobs)]
    assert [i["torch_threads"] for i in infos] == [2, 2]
    assert all(i["pid"] != os.getpid() and i["data_root"] == str(data_root) for i in infos)


def test_cli_threads_reach_the_workers(tmp_path, data_root):
    """--threads goes from the command line to run_specs, and from there to each worker."""
    args = cli.run_parser().parse_args(["--methods", "chance", "--datasets", "olympics", "--jobs", "2",
                                        "--threads", "3", "--executor", "submitit-local", "--runs-per-job", "4"])
    assert args.threads == 3 and args.jobs == 2
    cfg = ExecutorConfig.from_args(args)
    assert cfg.kind == "submitit-local" and cfg.runs_per_job == 4
    with make_executor(cfg, jobs=args.jobs, threads=args.threads, data_root=str(data_root),
                       records_path=tmp_path / "r.jsonl") as ex:
        assert ex.submit(worker_info).result()["torch_threads"] == 3


def _alive(pid):
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_submitit_driver_restarts_and_records_every_run_once(tmp_path, olympics_features):
    rec = tmp_path / "r.jsonl"
    state = tmp_path / "r.jsonl.jobs" / "state.json"
    cmd = [sys.executable, str(ROOT / "run_bench.py"), "--methods", "chance", "--datasets", "olympics",
           "--folds", "0-2", "--records", str(rec), "--no-report", "--no-progress", "--executor", "submitit-local",
           "--jobs", "2", "--runs-per-job", "1"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(tmp_path / "first.err", "w") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        deadline = time.time() + 120
        jobs = []
        while time.time() < deadline and p.poll() is None:
            try:
                jobs = json.loads(state.read_text())["jobs"]
            except (OSError, ValueError):
                jobs = []
            if len(jobs) >= 2:
                break
            time.sleep(0.02)
        p.send_signal(signal.SIGKILL)  # two jobs submitted, the third not yet
        p.wait()
    assert len(jobs) == 2, (tmp_path / "first.err").read_text()
    n_before = len(RecordStore(rec).read())  # runs (= jobs here) the driver collected before it died
    assert n_before < 3
    assert any(_alive(j["id"]) for j in jobs) or n_before < 2  # the jobs outlive their driver
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)  # the same command again
    assert out.returncode == 0, out.stderr
    rows = RecordStore(rec).read()
    assert sorted(r["fold"] for r in rows) == [0, 1, 2]
    assert set(Counter(record_key(r) for r in rows).values()) == {1}
    if n_before < 2:  # the dead driver's jobs are taken over: finished meanwhile or waited for, not rerun
        m = re.search(r"(\d+) job\(s\) finished while no driver was running, (\d+) still running", out.stderr)
        assert m and int(m.group(1)) + int(m.group(2)) == 2 - n_before, out.stderr
    assert "1 run(s) in 1 job(s)" in out.stderr  # only the run no job covered was submitted again
    assert json.loads(state.read_text())["jobs"] == []


def test_restart_drops_lost_jobs_and_keeps_other_commands_jobs(tmp_path):
    st = JobState(tmp_path).acquire()
    st.add({"id": "999999999", "folder": str(tmp_path / "d"), "cluster": "local",
            "reply": str(tmp_path / "d" / "reply-1.npz"), "runs": 1}, [("a", 1)])
    st.add({"id": "999999998", "folder": str(tmp_path / "d"), "cluster": "local",
            "reply": str(tmp_path / "d" / "reply-2.npz"), "runs": 1}, [("other", 2)])
    st.release()
    from zsar_bench.running.sweep import _resume_jobs

    cfg = ExecutorConfig("submitit-local", jobs_dir=str(tmp_path))
    ex = make_executor(cfg, 1, 1, None, tmp_path / "r.jsonl")
    st = JobState(tmp_path).acquire()
    logs, inflight = [], {}
    claimed = _resume_jobs(ex, st, {("a", 1): object()}, RecordStore(tmp_path / "r.jsonl"), inflight, logs.append)
    st.release()
    assert claimed == set() and inflight == {}  # the pid is gone and left no result: resubmit its run
    assert "1 ended without results" in logs[0]
    assert [j["id"] for j in json.loads((tmp_path / "state.json").read_text())["jobs"]] == ["999999998"]


def test_one_driver_per_jobs_folder(tmp_path):
    a = JobState(tmp_path).acquire()
    try:
        with pytest.raises(ExecutorError, match="another zsar-bench driver"):
            JobState(tmp_path).acquire()
    finally:
        a.release()
    JobState(tmp_path).acquire().release()


# -- batching ---------------------------------------------------------------------------------------------

def test_batching_rule():
    assert runs_per_job(None, 60, 50) == 1  # nothing measured yet
    assert runs_per_job(2.0, 0, 50) == 1  # local pools: processes persist
    assert runs_per_job(2.0, 60, 50) == 30
    assert runs_per_job(2.0, 60, 7) == 7  # never more than the group has
    assert runs_per_job(25.0, 60, 50) == 3
    assert runs_per_job(100.0, 60, 50) == 1
    assert runs_per_job(2.0, 60, 50, time_limit_s=20) == 5  # half of the job's time limit
    assert runs_per_job(2.0, 60, 50, override=4) == 4
    recs = [{"method": "er", "dataset": "hmdb51", "train_s": t, "eval_s": 0.5} for t in (1.5, 2.5, 100)]
    recs.append({"method": "er", "dataset": "ucf101", "train_s": None, "eval_s": None})
    assert measured_run_seconds(recs) == {("er", "hmdb51"): 3.0}


def test_batches_follow_the_records(tmp_path, data_root, plugins, olympics_features):
    """A method measured at 2 s per run on olympics gets 30 runs per 60 s job (all 3 here)."""
    store = RecordStore(tmp_path / "r.jsonl")
    pr = load_protocol("olympics", "random-50-50")
    store.append_if_absent({"method": "chance", "dataset": "olympics", "train_s": 1.5, "eval_s": 0.5, "fold": 99,
                            "config_hash": "x", "features_id": "x", "protocol": "x", "split_hash": "x", "seed": 0})
    specs = [RunSpec("chance", {}, "olympics", "synthetic", pr, pr.folds[f], 0) for f in (0, 1, 2)]
    logs = []
    recs, _ = run_specs(specs, store, executor="submitit-local", jobs=1, log=logs.append)
    assert len(recs) == 3
    assert "3 run(s) in 1 job(s) (chance on olympics: 3 run(s) per job (2.0s per run" in "\n".join(logs)


# -- slurm: shared storage, options -----------------------------------------------------------------------

def test_node_local_heuristic():
    assert "under /tmp" in node_local_reason("/tmp/zsar-data")
    assert node_local_reason("/dev/shm/x")
    assert node_local_reason("/var/tmp/records.jsonl")
    assert node_local_reason("/srv/shared/project/zsar-data") is None


@pytest.fixture
def restore_data_root(data_root):
    yield
    set_data_root(str(data_root))


def test_slurm_refuses_a_tmp_data_root(tmp_path, capsys, restore_data_root):
    tmp_root = "/tmp" if os.path.isdir("/tmp") else str(tmp_path)
    root = os.path.join(tmp_root, f"zsar-slurm-check-{os.getpid()}")
    code = cli.main(["--methods", "chance", "--datasets", "olympics", "--folds", "0", "--no-report",
                     "--executor", "slurm", "--slurm-partition", "gpu", "--slurm-time", "30",
                     "--data-root", root, "--records", str(tmp_path / "r.jsonl")])
    err = capsys.readouterr().err
    shutil.rmtree(root, ignore_errors=True)
    assert code == 2, err
    assert f"the data root {root} is not on shared storage" in err and "--data-root /shared/" in err
    assert not (tmp_path / "r.jsonl").exists()  # nothing ran


def test_slurm_check_names_the_records_too(tmp_path, restore_data_root):
    set_data_root(tmp_path / "data")
    cfg = ExecutorConfig("slurm", slurm_partition="gpu", slurm_time=30)
    with pytest.raises(ExecutorError, match=r"records file .* not on shared storage.*--records /shared/"):
        run_specs(_grid()[:1], RecordStore(tmp_path / "r.jsonl"), executor=cfg, log=lambda m: None)


@pytest.mark.parametrize("cfg,msg", [
    (ExecutorConfig("slurm"), "needs --slurm-partition and --slurm-time"),
    (ExecutorConfig("slurm", slurm_partition="p"), "needs --slurm-time"),
    (ExecutorConfig("local", slurm_gpus=1), "--slurm-gpus apply to --executor slurm only"),
    (ExecutorConfig("inline", ray_address="auto"), "--ray-address applies to --executor ray only"),
    (ExecutorConfig("slurm", slurm_partition="p", slurm_time=0), "--slurm-time 0: give a positive number"),
    (ExecutorConfig("local", runs_per_job=0), "--runs-per-job 0"),
    (ExecutorConfig("kubernetes"), "unknown executor"),
])
def test_executor_option_errors(cfg, msg):
    with pytest.raises(ExecutorError, match=msg.replace("-", r"\-")):
        cfg.check()


# -- ray (optional) -------------------------------------------------------------------------------------------

@pytest.mark.skipif(HAS_RAY, reason="ray is installed")
def test_ray_absent_says_how_to_install(capsys, tmp_path):
    with pytest.raises(ExecutorError, match=r"pip install 'zsar-bench\[ray\]'"):
        ExecutorConfig("ray").check()
    assert cli.main(["--methods", "chance", "--datasets", "olympics", "--folds", "0", "--executor", "ray",
                     "--no-report", "--records", str(tmp_path / "r.jsonl")]) == 2
    assert "pip install 'zsar-bench[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "r.jsonl").exists()


@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (optional extra: pip install 'zsar-bench[ray]')")
def test_ray_gives_the_records_of_inline(inline_records, tmp_path):
    recs, _ = run_specs(_grid(), RecordStore(tmp_path / "r.jsonl"), executor="ray", jobs=2, log=lambda m: None)
    assert _metrics(recs) == _metrics(inline_records)


def test_ray_adapter_on_a_stand_in(monkeypatch):
    """The ray back end's calls (init, remote with max_calls=1 and --threads CPUs, wait, get, cancel) on a
    stand-in module that runs tasks at once; the real thing is tested above when ray is installed."""
    calls = {}

    class Ref:
        def __init__(self, fn, args):
            try:
                self.value, self.exc = fn(*args), None
            except Exception as e:  # noqa: BLE001
                self.value, self.exc = None, types.SimpleNamespace(cause=e)

    class TaskError(Exception):
        def __init__(self, cause):
            super().__init__(str(cause))
            self.cause = cause

    def remote(**opts):
        calls["opts"] = opts
        return lambda fn: types.SimpleNamespace(remote=lambda *a: Ref(fn, a))

    def get(ref):
        if ref.exc is not None:
            raise TaskError(ref.exc.cause)
        return ref.value

    fake = types.SimpleNamespace(
        is_initialized=lambda: False, init=lambda **kw: calls.setdefault("init", kw), remote=remote,
        wait=lambda refs, num_returns=1, timeout=None: (refs[:num_returns], refs[num_returns:]), get=get,
        cancel=lambda ref, force=False: calls.setdefault("cancel", force), shutdown=lambda: calls.setdefault("down", 1))
    monkeypatch.setitem(sys.modules, "ray", fake)
    setups = []
    monkeypatch.setattr("zsar_bench.running.executors.base._worker_setup", lambda *a: setups.append(a))
    with make_executor(ExecutorConfig("ray", ray_address="ray://head:10001"), None, 3, "/data", "r.jsonl") as ex:
        assert ex.name == "ray" and ex.remote
        ok = ex.submit(len, [1, 2, 3], group="label")
        bad = ex.submit(int, "x", group="label")
        assert [j.id for j in ex.as_completed([ok, bad])] == [ok.id, bad.id]
        assert ok.result() == 3
        with pytest.raises(ValueError):  # the job's own exception, not ray's wrapper
            bad.result()
        ex.cancel([ok])
    assert calls["opts"] == {"max_calls": 1, "num_cpus": 3, "num_gpus": 0}
    assert calls["init"]["address"] == "ray://head:10001" and calls["cancel"] is True and calls["down"] == 1
    assert setups == [("/data", 3), ("/data", 3)]
