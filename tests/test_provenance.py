"""zsar_bench/results/provenance.py in a temporary git repository: a record's commit is marked -dirty when code differs
from it, and not when only what the harness writes (results/, reports/, docs/, .bench/) does."""
import os
import shutil
import subprocess

import pytest

from zsar_bench.results.provenance import GENERATED, code_changes, git_sha

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def _git(repo, *args):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path):
    _git(tmp_path, "init", "-q")
    files = {"zsar_bench/method.py": "x = 1\n", "methods/w2v.py": "y = 1\n", "results/records.jsonl": "{}\n",
             "reports/hmdb51.md": "| a |\n", "docs/fidelity.md": "# f\n", ".bench/state.json": "{}\n",
             "splits/hmdb51.json": "[]\n", "results_notes.py": "z = 1\n"}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "init")
    git_sha.cache_clear()
    yield tmp_path
    git_sha.cache_clear()


def _sha(repo):
    git_sha.cache_clear()
    return git_sha(repo)


def test_clean_checkout_is_the_commit(repo):
    head = _git(repo, "rev-parse", "HEAD").strip()
    assert _sha(repo) == head and code_changes(repo) == []


@pytest.mark.parametrize("rel", ["results/records.jsonl", "reports/hmdb51.md", "docs/fidelity.md", ".bench/state.json"])
def test_written_output_is_not_a_code_change(repo, rel):
    (repo / rel).write_text("changed by a run\n")
    assert rel.split("/")[0] in GENERATED
    assert not _sha(repo).endswith("-dirty")
    _git(repo, "add", rel)  # staged output does not count either
    assert not _sha(repo).endswith("-dirty")


@pytest.mark.parametrize("rel", ["zsar_bench/method.py", "methods/w2v.py", "splits/hmdb51.json", "results_notes.py"])
def test_changed_code_is_dirty(repo, rel):
    head = _git(repo, "rev-parse", "HEAD").strip()
    (repo / rel).write_text("changed\n")
    (repo / "results" / "records.jsonl").write_text("more records\n")
    assert _sha(repo) == head + "-dirty" and [line[3:] for line in code_changes(repo)] == [rel]
    _git(repo, "add", rel)
    assert _sha(repo) == head + "-dirty"


def test_deleted_code_is_dirty_and_untracked_files_are_not_looked_at(repo):
    (repo / "new_method.py").write_text("untracked\n")
    assert not _sha(repo).endswith("-dirty")
    (repo / "methods" / "w2v.py").unlink()
    assert _sha(repo).endswith("-dirty")


def test_no_repository_is_unknown(tmp_path):
    git_sha.cache_clear()
    assert git_sha(tmp_path) == "unknown"
    _git(tmp_path, "init", "-q")  # a repository without a commit yet
    assert _sha(tmp_path) == "unknown"


def test_asked_once_per_process(repo):
    first = _sha(repo)
    (repo / "methods" / "w2v.py").write_text("changed\n")
    assert git_sha(repo) == first  # cached, as runner.git_sha was
    assert _sha(repo) == first + "-dirty"
