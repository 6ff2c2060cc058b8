"""docs/adding_a_method.md, followed word for word: its example plugin (taken from the guide's code block, so the
two cannot drift apart) is written to a temporary folder, named in ZSAR_BENCH_PLUGINS, listed, passed through the
conformance suite and run on one fold through the command line, and its fidelity record renders."""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

GUIDE = ROOT / "docs" / "adding_a_method.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1 and blocks[0].startswith("# my_method.py"), "the guide has one example plugin"
    return blocks[0]


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("my_plugins")
    (folder / "my_method.py").write_text(_example())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]),
           "ZSAR_BENCH_PLUGINS": "my_method"}
    return env


def _run(env, *args, timeout=600):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_the_guides_plugin_is_listed_passes_conformance_and_runs_a_fold(plugin_env, tmp_path):
    listed = _run(plugin_env, "run_bench.py", "list", "methods")
    assert listed.returncode == 0, listed.stderr
    assert "ridge-text" in listed.stdout and "lam" in listed.stdout
    conf = _run(plugin_env, "-m", "pytest", "-v", "-p", "no:cacheprovider", "tests/test_conformance.py", "-k",
                "ridge-text")
    assert conf.returncode == 0, conf.stdout[-3000:]
    assert "test_method_conformance[ridge-text] PASSED" in conf.stdout  # the suite's checks ran on the plugin
    rec = tmp_path / "r.jsonl"
    out = _run(plugin_env, "run_bench.py", "--methods", "ridge-text", "--datasets", "olympics", "--folds", "0",
               "--records", str(rec), "--no-report", "--no-progress")
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [json.loads(line) for line in rec.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["method"] == "ridge-text" and rows[0]["params"]["lam"] == 1.0
    assert rows[0]["top1"] > 2.0 / 8  # 8 unseen classes: well above chance (1/8)
    fid = _run(plugin_env, "run_bench.py", "fidelity", "--out", str(tmp_path / "fidelity.md"))
    assert fid.returncode == 0, fid.stderr
    assert "ridge-text" in (tmp_path / "fidelity.md").read_text()


def test_a_malformed_plugin_is_refused_with_what_to_fix(tmp_path):
    """The guide's promise: an argument without a default is refused with a message saying what to fix."""
    bad = _example().replace("lam: float = 1.0", "lam: float")
    (tmp_path / "bad_method.py").write_text(bad.replace('"ridge-text"', '"ridge-text-bad"'))
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "ZSAR_BENCH_PLUGINS": "bad_method"}
    out = _run(env, "run_bench.py", "list", "methods")
    assert "ridge-text-bad" not in out.stdout
    assert re.search(r"lam.*default", out.stderr + out.stdout), out.stderr
