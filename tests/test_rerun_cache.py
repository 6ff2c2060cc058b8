"""What a rerun that recorded nothing new may skip: regenerating reports and rendering the printed table."""
import json

import pytest

from zsar_bench.paths import set_data_root
from zsar_bench.reports import stamp


@pytest.fixture
def committed(monkeypatch, tmp_path):
    set_data_root(tmp_path / "data")
    code = {"v": "0.1@abc"}
    monkeypatch.setattr(stamp, "code_identity", lambda: code["v"])
    yield code
    set_data_root(None)


def test_reports_stamp_follows_records_and_code(committed, tmp_path):
    records = tmp_path / "r.jsonl"
    records.write_text(json.dumps({"a": 1}) + "\n")
    out = tmp_path / "reports"
    assert not stamp.reports_up_to_date(str(records), out)
    out.mkdir()
    (out / "README.md").write_text("x")
    stamp.write_stamp(str(records), out)
    assert stamp.reports_up_to_date(str(records), out)
    with records.open("a") as f:  # a new record: stale
        f.write(json.dumps({"a": 2}) + "\n")
    assert not stamp.reports_up_to_date(str(records), out)
    stamp.write_stamp(str(records), out)
    committed["v"] = "0.1@def"  # other code: stale
    assert not stamp.reports_up_to_date(str(records), out)
    stamp.write_stamp(str(records), out)
    (out / "README.md").unlink()  # the folder was emptied: stale
    assert not stamp.reports_up_to_date(str(records), out)
    assert not list(out.glob(".*"))  # the stamp never lands in the reports folder


def test_table_cache_renders_once_per_content(committed):
    calls = []

    def render():
        calls.append(1)
        return f"table {len(calls)}"

    recs = [{"method": "a", "top1": 0.5}]
    assert stamp.cached_text(recs, render) == "table 1"
    assert stamp.cached_text(recs, render) == "table 1" and len(calls) == 1
    assert stamp.cached_text(recs + [{"method": "b"}], render) == "table 2"
    committed["v"] = None  # uncommitted code: never cached
    assert stamp.cached_text(recs, render) == "table 3"
    assert stamp.cached_text(recs, render) == "table 4"


def test_caches_are_off_in_the_test_suite():
    assert stamp.code_identity.__module__ == "zsar_bench.reports.stamp"
    import os

    assert os.environ.get("ZSAR_BENCH_RERUN_CACHE") == "0"


def test_rerun_answers_from_the_remembered_plan_without_torch(tmp_path, olympics_features):
    """A clean clone of this commit, the same command twice: the second plans nothing and never imports torch."""
    import os
    import shutil
    import subprocess
    import sys

    from conftest import ROOT
    from zsar_bench.features.base import feature_root

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    if subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                      text=True).stdout.strip():  # a working tree with edits: the clone lacks them; copy the package
        shutil.rmtree(clone / "zsar_bench")
        shutil.copytree(ROOT / "zsar_bench", clone / "zsar_bench", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(ROOT / "methods", clone / "methods", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run(["git", "add", "-A"], cwd=clone, check=True)
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "wip"], cwd=clone, check=True)
    env = {k: v for k, v in os.environ.items() if k != "ZSAR_BENCH_RERUN_CACHE"}
    env["ZSAR_BENCH_DATA"] = str(tmp_path / "data")
    # a data root of its own, holding a copy of the session's synthetic olympics set (as test_integrity's): the
    # commands load the features rather than generate them again; they run inline (no worker process to start:
    # what is checked is the driver's plan cache, and the first and third runs import torch either way)
    shutil.copytree(feature_root("olympics", "synthetic"), tmp_path / "data" / "features" / "olympics" / "synthetic")
    cmd = [sys.executable, "-c", "import sys; sys.argv[0] = 'run_bench.py'; from zsar_bench.cli import main; rc = main("
           "['--methods', 'chance', '--datasets', 'olympics', '--folds', '0-1', '--records', sys.argv[1], '--no-progress', "
           "'--executor', 'inline']); "
           "print('TORCH', 'torch' in sys.modules); sys.exit(rc)", str(tmp_path / "r.jsonl")]
    first = subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    second = subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    assert "TORCH True" in first.stdout and "TORCH False" in second.stdout
    assert "all 2 run(s) already in" in second.stderr
    assert first.stdout.replace("TORCH True", "") == second.stdout.replace("TORCH False", "")  # the same table
    (tmp_path / "r.jsonl").write_text("")  # every record gone: planned and run again the full way
    third = subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    assert third.returncode == 0 and "TORCH True" in third.stdout
