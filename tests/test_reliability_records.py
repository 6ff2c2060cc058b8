"""Reliability of the records (issue 10): nothing recorded is ever lost or double-counted.

Concurrent writers (identical commands; --overwrite beside appends; many processes on the store),
kill -9 during an --overwrite run and of a --jobs driver, repeated run keys, duplicate rows in a file,
lines that are not records, unwritable records paths, and where reports go. Subprocess tests use the
session data root ($ZSAR_BENCH_DATA, set by conftest) so features are generated once.
"""
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pytest

from conftest import ROOT
from zsar_bench import cli
from zsar_bench.results.records import RecordStore, dedupe, record_key

RUN = [sys.executable, str(ROOT / "run_bench.py")]
OLYMPICS = ["--datasets", "olympics", "--no-progress"]
LABEL = ["--methods", "label", "--method-args", "label.epochs=1"]
LABEL2 = ["--methods", "label", "--method-args", "label.epochs=2"]  # another config: other run keys
# Runs in this process train here (--executor inline): what these tests check is the records (the driver's), and a
# worker process per command would cost more than its runs. The commands started as processes keep the default
# executor: the concurrent writers and kill -9 of a driver with its workers are what they test. Concurrent commands
# that only need to race as writers run one worker each (ONE_WORKER): the drivers write the records, not the workers.
INLINE = ["--executor", "inline"]
ONE_WORKER = ["--jobs", "1"]
N_BASE = 12
SENTINEL = 0.0123  # a top1 no real run gives: marks rows written before an --overwrite


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _keys(path):
    return Counter(record_key(r) for r in _rows(path))


def _popen(*args):
    return subprocess.Popen([*RUN, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.fixture(scope="module")
def base(tmp_path_factory, data_root):
    """Records of label (1 epoch) on olympics folds 0-11, made once in this process (this also makes the
    features and text caches that the subprocesses below reuse)."""
    path = tmp_path_factory.mktemp("base") / "records.jsonl"
    assert cli.main([*LABEL, *OLYMPICS, "--folds", f"0-{N_BASE - 1}", "--records", str(path), "--no-report",
                     *INLINE]) == 0
    assert len(_rows(path)) == N_BASE
    return path


def _copy(base, dest, top1=None):
    rows = _rows(base)
    if top1 is not None:
        rows = [{**r, "top1": top1} for r in rows]
    dest.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    return dest


# -- concurrent writers ---------------------------------------------------------------------------

@pytest.mark.slow
def test_two_identical_commands_started_together_record_each_run_once(tmp_path, base):
    rec = tmp_path / "r.jsonl"
    args = [*LABEL2, *OLYMPICS, "--folds", "0-7", "--records", str(rec), "--no-report", *ONE_WORKER]
    procs = [_popen(*args) for _ in range(2)]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    keys = _keys(rec)
    trained = sum(e.count("top1 ") for e in errs)
    kept_other = sum(e.count("another run recorded it meanwhile") for e in errs)
    print(f"\nidentical commands x2: runs asked 16, trained {trained} (lost the race under the lock: {kept_other}), "
          f"rows recorded {sum(keys.values())}, distinct runs {len(keys)}, duplicates {sum(keys.values()) - len(keys)}")
    assert len(keys) == 8 and set(keys.values()) == {1}
    assert {k[6] for k in keys} == set(range(8))


@pytest.mark.slow
def test_overwrite_beside_appends_loses_no_row(tmp_path, base):
    """Another command appends 20 runs while this process loops --overwrite runs (each a locked rewrite
    of the file, renamed over it) until the appender is done: every row of both survives, once."""
    rec = _copy(base, tmp_path / "r.jsonl", top1=SENTINEL)  # old rows of label epochs=1
    appender = _popen(*LABEL2, *OLYMPICS, "--folds", "0-19", "--records", str(rec), "--no-report", *ONE_WORKER)
    overwrites = 0
    while appender.poll() is None or overwrites < 2:
        assert cli.main([*LABEL, *OLYMPICS, "--folds", str(overwrites % N_BASE), "--overwrite", "--records",
                         str(rec), "--no-report", *INLINE]) == 0
        overwrites += 1
        time.sleep(0.2)  # leave the appender some of the 2 cores
    assert appender.wait(timeout=300) == 0, appender.stderr.read()
    keys = _keys(rec)
    rows = _rows(rec)
    print(f"\noverwrite beside appends: {overwrites} --overwrite runs beside a 20-run command; rows {len(rows)} "
          f"(expected {N_BASE + 20}), distinct runs {len(keys)}, duplicates {len(rows) - len(keys)}")
    assert len(rows) == len(keys) == N_BASE + 20
    old = {r["fold"]: r["top1"] for r in rows if r["params"]["epochs"] == 1}
    assert sorted(old) == list(range(N_BASE))
    assert all(old[f] != SENTINEL for f in range(min(overwrites, N_BASE)))  # redone rows replaced the old ones
    assert sorted(r["fold"] for r in rows if r["params"]["epochs"] == 2) == list(range(20))
    assert not list(tmp_path.glob(".r.jsonl.*"))  # no temporary or probe file left


STRESS = textwrap.dedent("""
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location("records", sys.argv[1])
    records = importlib.util.module_from_spec(spec); spec.loader.exec_module(records)
    store = records.RecordStore(sys.argv[2])
    role, n = sys.argv[3], int(sys.argv[4])
    def rec(method, fold, v):
        return {"method": method, "config_hash": "c", "dataset": "d", "features_id": "f", "protocol": "p",
                "split_hash": "s", "fold": fold, "seed": 0, "top1": v, "writer": role}
    wrote = 0
    for i in range(n):
        if role == "supersede":
            store.supersede(rec("over", i % 10, i))
        elif role.startswith("append"):
            store.append(rec(role, i, i)); wrote += 1
        else:  # "same" walks the keys up, "same-rev" down: they meet and race in the middle
            wrote += store.append_if_absent(rec("same", i if role == "same" else n - 1 - i, i))
    print(wrote)
""")


@pytest.mark.slow
def test_store_under_many_concurrent_writers(tmp_path):
    """Store level, 5 processes at once: 2 race append_if_absent over the same 150 keys (in opposite
    orders), 2 append 150 rows each, 1 supersedes 10 keys 150 times (the file is renamed over 150
    times under the appenders)."""
    script = tmp_path / "stress.py"
    script.write_text(STRESS)
    path = tmp_path / "r.jsonl"
    mod = ROOT / "zsar_bench" / "results" / "records.py"
    roles = ["same", "same-rev", "append-a", "append-b", "supersede"]
    procs = [subprocess.Popen([sys.executable, str(script), str(mod), str(path), role, "150"], stdout=subprocess.PIPE,
                              text=True) for role in roles]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    rows = _rows(path)
    by = Counter(r["method"] for r in rows)
    keys = Counter(record_key(r) for r in rows)
    print(f"\nstore stress: 600 writes + 150 supersedes from 5 processes; rows {len(rows)}, distinct {len(keys)}, "
          f"duplicates {len(rows) - len(keys)}; append_if_absent wins {[int(o) for o in outs[:2]]}")
    assert by == {"same": 150, "append-a": 150, "append-b": 150, "over": 10}
    assert set(keys.values()) == {1}
    assert sum(int(o) for o in outs[:2]) == 150
    assert {r["top1"] for r in rows if r["method"] == "over"} == set(range(140, 150))  # the last supersede won


# -- crashes --------------------------------------------------------------------------------------

def _wait_for(proc, needle, timeout=180):
    """Read the child's stderr until a line contains needle."""
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if needle in line:
            return
    raise AssertionError(f"{needle!r} never printed:\n{''.join(seen)}")


@pytest.mark.slow
def test_kill_9_during_overwrite_keeps_the_old_rows_not_redone(tmp_path, base):
    rec = _copy(base, tmp_path / "r.jsonl", top1=SENTINEL)
    p = _popen(*LABEL, *OLYMPICS, "--folds", f"0-{N_BASE - 1}", "--overwrite", "--records", str(rec), "--no-report")
    _wait_for(p, f"[1/{N_BASE}]")
    p.send_signal(signal.SIGKILL)
    p.wait()
    rows = _rows(rec)
    top1 = {r["fold"]: r["top1"] for r in rows}
    redone = [f for f, v in top1.items() if v != SENTINEL]
    print(f"\nkill -9 during --overwrite: {len(redone)} of {N_BASE} runs redone, {len(rows)} rows left")
    # every run still there; a kill between a supersede's append and its rewrite leaves that run's old row
    # before its new one (readers count the last: RecordStore.supersede), so at most one run has two rows
    assert N_BASE <= len(rows) <= N_BASE + 1 and sorted(top1) == list(range(N_BASE))
    assert 1 <= len(redone) < N_BASE  # the run(s) finished before the kill were replaced, the rest kept


def _descendants(pid):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            kids.setdefault(int(fields[1]), []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _alive(pid):
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"  # a zombie has exited


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.slow
def test_kill_9_of_a_jobs_driver_takes_its_workers_with_it(tmp_path, base):
    rec = tmp_path / "r.jsonl"
    p = _popen(*LABEL2, *OLYMPICS, "--folds", "0-49", "--jobs", "2", "--records", str(rec), "--no-report")
    _wait_for(p, "[1/50]")
    workers = _descendants(p.pid)
    assert len(workers) >= 2
    p.send_signal(signal.SIGKILL)
    p.wait()
    deadline = time.time() + 15
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.2)
    left = [w for w in workers if _alive(w)]
    for w in left:  # do not leak them into the rest of the session
        os.kill(w, signal.SIGKILL)
    assert not left, f"orphaned worker processes: {left}"


# -- repeated keys, duplicate rows, lines that are not records --------------------------------------

@pytest.mark.slow
def test_repeated_folds_seeds_and_methods_run_once(tmp_path, base, capsys):
    rec = tmp_path / "r.jsonl"
    assert cli.main(["--methods", "label,label", "--method-args", "label.epochs=1", *OLYMPICS, "--folds", "0,1,0",
                     "--seeds", "0,0", "--records", str(rec), "--no-report", *INLINE]) == 0
    err = capsys.readouterr().err
    assert "ignoring 10 repeated run(s)" in err and "[2/2]" in err
    keys = _keys(rec)
    assert len(keys) == 2 and set(keys.values()) == {1}


def test_report_counts_a_duplicated_key_once_and_says_so(tmp_path, base):
    rec = _copy(base, tmp_path / "r.jsonl")
    rows = _rows(rec)
    with open(rec, "a") as f:  # fold 0 twice: an older version or a concatenation did this
        f.write(json.dumps({**next(r for r in rows if r["fold"] == 0), "top1": 0.99}) + "\n")
    assert len(_rows(rec)) == N_BASE + 1  # control: the file does hold the repeated key, counted twice raw
    reports = tmp_path / "out"
    with pytest.warns(UserWarning, match="1 duplicate row"):
        assert cli.main(["report", "--records", str(rec), "--reports-dir", str(reports)]) == 0
    import pandas as pd

    board = pd.read_csv(reports / "leaderboard.csv")
    assert float(board[board["method"] == "label"]["n_runs"].iloc[0]) == N_BASE
    assert "duplicate row" in (reports / "README.md").read_text()
    assert "duplicate row" in (reports / "olympics.md").read_text()
    uniq, n_dup = dedupe(_rows(rec))
    assert n_dup == 1 and next(r for r in uniq if r["fold"] == 0)["top1"] == 0.99  # the last row counts


@pytest.mark.slow
def test_lines_that_are_not_objects_are_skipped_with_a_warning(tmp_path, base, capsys):
    rec = _copy(base, tmp_path / "r.jsonl")
    with open(rec, "a") as f:
        f.write('42\nnull\n[1, 2]\n{"method": "label", "fold": [1]}\n')
    n = N_BASE
    with pytest.warns(UserWarning, match=rf"r\.jsonl:{n + 1}: .*not a JSON object"):
        assert len(RecordStore(rec).read()) == n
    with pytest.warns(UserWarning, match=rf"r\.jsonl:{n + 2}: "):
        assert cli.main(["report", "--records", str(rec), "--reports-dir", str(tmp_path / "rep")]) == 0
    with pytest.warns(UserWarning, match=rf"r\.jsonl:{n + 4}: .*not plain values"):
        assert cli.main([*LABEL2, *OLYMPICS, "--folds", "0", "--records", str(rec), "--no-report", *INLINE]) == 0
    assert (tmp_path / "rep" / "olympics.md").is_file()
    assert rec.read_text().count("\n") == n + 5  # the run appended after the odd lines, which stay


def test_supersede_keeps_lines_it_cannot_parse_and_takes_the_lock(tmp_path):
    store = RecordStore(tmp_path / "r.jsonl")
    base = {"method": "m", "config_hash": "c", "dataset": "d", "features_id": "f", "protocol": "p",
            "split_hash": "s", "seed": 0}
    for f in range(3):
        store.append({**base, "fold": f, "top1": 0.1})
    with open(store.path, "a") as fh:
        fh.write("42\n")
    assert store.supersede({**base, "fold": 1, "top1": 0.9}) == 1
    assert store.remove([record_key({**base, "fold": 2})]) == 1
    lines = store.path.read_text().splitlines()
    assert "42" in lines and len(lines) == 3
    with pytest.warns(UserWarning):
        assert {r["fold"]: r["top1"] for r in store.read()} == {0: 0.1, 1: 0.9}
    assert store.append_if_absent({**base, "fold": 1, "top1": 0.5}) is False
    assert store.append_if_absent({**base, "fold": 2, "top1": 0.5}) is True


# -- unwritable records, where reports go -----------------------------------------------------------

@pytest.mark.parametrize("case", ["folder", "parent is a file", "read-only file"])
def test_unwritable_records_fail_before_training(tmp_path, capsys, case):
    if case == "folder":
        rec, msg = tmp_path, "is a folder"
    elif case == "parent is a file":
        (tmp_path / "f").write_text("x")
        rec, msg = tmp_path / "f" / "r.jsonl", "is a file, not a folder"
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes read-only files")
        rec, msg = tmp_path / "r.jsonl", "not writable"
        rec.write_text("")
        rec.chmod(0o444)
    t0 = time.perf_counter()
    code = cli.main([*LABEL, *OLYMPICS, "--folds", "0-1", "--records", str(rec)])
    err = capsys.readouterr().err
    assert code == 2 and msg in err and str(rec) in err and "--records" in err
    assert len(err.strip().splitlines()) == 1 and "[1/" not in err  # one line; nothing trained
    assert time.perf_counter() - t0 < 10


def _tree_digest(folder):
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode() + p.read_bytes())
    return h.hexdigest()


@pytest.mark.slow
def test_reports_follow_a_custom_records_file(tmp_path, base, monkeypatch):
    committed = _tree_digest(ROOT / "reports")
    rec = tmp_path / "trial" / "r.jsonl"
    assert cli.main([*LABEL, *OLYMPICS, "--folds", "0", "--records", str(rec), *INLINE]) == 0
    assert (tmp_path / "trial" / "reports" / "olympics.md").is_file()
    assert cli.main(["report", "--records", str(rec)]) == 0
    monkeypatch.chdir(tmp_path)  # records in the current folder: reports/ here would be "the" reports/
    _copy(rec, tmp_path / "other.jsonl")
    assert cli.main(["report", "--records", "other.jsonl"]) == 0
    assert (tmp_path / "other-reports" / "olympics.md").is_file() and not (tmp_path / "reports").exists()
    assert cli.reports_dir_for("results/records.jsonl", None).as_posix() == "reports"
    assert cli.reports_dir_for(str(rec), "elsewhere").as_posix() == "elsewhere"
    assert _tree_digest(ROOT / "reports") == committed


def test_report_on_a_missing_records_file_is_an_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["report", "--records", "typo.jsonl"]) == 2
    assert cli.main(["report"]) == 2  # the default results/records.jsonl is missing here
    err = capsys.readouterr().err
    assert "typo.jsonl does not exist" in err and "Traceback" not in err
    assert not (tmp_path / "reports").exists()


def test_reports_dir_that_is_a_file_is_an_error(tmp_path, base, capsys):
    (tmp_path / "file").write_text("x")
    assert cli.main(["report", "--records", str(base), "--reports-dir", str(tmp_path / "file")]) == 2
    assert cli.main([*LABEL, *OLYMPICS, "--folds", "0", "--records", str(tmp_path / "r.jsonl"),
                     "--reports-dir", str(tmp_path / "file")]) == 2
    err = capsys.readouterr().err
    assert err.count("is a file, not a folder") == 2 and not (tmp_path / "r.jsonl").exists()
