"""docs/adding_a_dataset.md, followed literally in a temporary folder: the files it shows are written, its Python
runs, its shell lines run (``export`` as an environment change, ``python run_bench.py ...`` through
``zsar_bench.cli.main`` in-process); then the record is checked, and an existing dataset's synthetic features are
compared bit for bit with and without the new dataset in the world."""
import hashlib
import json
import re
import shlex
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_limits

from conftest import ROOT
from zsar_bench.cli import main
from zsar_bench.datasets import ENV_DATASETS, DATASETS, DatasetSpec
from zsar_bench.datasets.spec import SyntheticSpec
from zsar_bench.features import synthetic
from zsar_bench.split_file import FoldEntry, SplitFile

GUIDE = ROOT / "docs" / "adding_a_dataset.md"


def guide_steps() -> list[tuple[str, str, str]]:
    """[(kind, target, body)]: ('file', path, text) for a "`path`:" line followed by a code block, ('python', '',
    code) and ('bash', '', lines) for the other code blocks, in the guide's order."""
    text = GUIDE.read_text(encoding="utf-8")
    steps = []
    for m in re.finditer(r"(?:^`([^`\n]+)`:(?:(?!```).)*?)?^```(\w+)\n(.*?)^```$", text, re.M | re.S):
        path, lang, body = m.groups()
        if path:
            steps.append(("file", path, body))
        elif lang in ("python", "bash"):
            steps.append((lang, "", body))
    return steps


def _clear_world_caches():
    for f in (synthetic._world, synthetic._world_actions, synthetic._world_digest):
        f.cache_clear()


def _arrays(fs):
    v = fs.videos
    return {"features": v.features, "labels": fs.labels, "concept_ids": v.concept_ids,
            "concept_scores": v.concept_scores, "video_ids": v.video_ids}


def assert_bit_identical(a, b):
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert a[k].tobytes() == b[k].tobytes(), f"{k} differs"


@pytest.fixture
def guide_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_DATASETS, "")  # restored after the test, whatever the test sets
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_guide_adds_a_dataset_and_leaves_the_world_unchanged(guide_folder, monkeypatch, capsys):
    steps = guide_steps()
    assert [k for k, _, _ in steps] == ["file", "file", "python", "bash"], steps  # the guide's shape
    with threadpool_limits(1):  # BLAS adds in another order at another thread count: build both worlds at one
        _clear_world_caches()
        before = _arrays(synthetic.generate("olympics"))  # the world without the new dataset

    outputs = []
    for kind, target, body in steps:
        if kind == "file":
            (guide_folder / target).parent.mkdir(parents=True, exist_ok=True)
            (guide_folder / target).write_text(body, encoding="utf-8")
        elif kind == "python":
            exec(compile(body, str(GUIDE), "exec"), {"__name__": "__guide__"})
        else:
            for line in body.splitlines():
                line = line.split("  #", 1)[0].strip()
                if line.startswith("export "):
                    var, value = line[len("export "):].split("=", 1)
                    monkeypatch.setenv(var, value.replace("$PWD", str(guide_folder)))
                elif line.startswith("python run_bench.py"):
                    rc = main(shlex.split(line)[2:])
                    out, err = capsys.readouterr()
                    assert rc == 0, f"{line}\n{out}\n{err}"
                    outputs.append(out)
                elif line:
                    raise AssertionError(f"the test does not know how to follow the guide's line {line!r}")

    listed, folds = outputs[0], outputs[1]
    assert re.search(r"^toy\s+Toy Actions\s+6\s", listed, re.M), listed
    assert "toy/random-50-50 v1" in folds and folds.count("\nfold ") == 5, folds
    split = guide_folder / "toy" / "splits" / "random-50-50.json"
    rows = [json.loads(x) for x in (guide_folder / "toy-records.jsonl").read_text().splitlines()]
    assert len(rows) == 1, rows
    r = rows[0]
    assert (r["method"], r["dataset"], r["protocol"], r["fold"]) == ("chance", "toy", "random-50-50", 0)
    assert r["split_hash"] == hashlib.sha256(split.read_bytes()).hexdigest()[:12]
    assert re.fullmatch(r"synthetic-v2\+toy\.[0-9a-f]{10}", r["features_id"]), r["features_id"]
    assert 0.0 <= r["top1"] <= 1.0 and r["synthetic"] is True

    toy = synthetic.generate("toy")
    assert toy.manifest["backbone"] == "synthetic-v2" and toy.manifest["world"] == "joins"
    # archery and juggling balls are actions of the core world; the other four are the toy's own
    assert (toy.manifest["shared_actions"], toy.manifest["own_actions"]) == (2, 4)
    assert len(toy.labels) == 120 and set(toy.labels.tolist()) == set(range(6))

    # the world rebuilt from scratch with the toy dataset registered: olympics bit for bit as before
    try:
        with threadpool_limits(1):
            _clear_world_caches()
            after = synthetic.generate("olympics")
    finally:
        _clear_world_caches()
    assert after.identity == "synthetic-v2" and synthetic.identity() == "synthetic-v2"
    assert_bit_identical(before, _arrays(after))


def test_joining_datasets_never_change_each_other(guide_folder, monkeypatch):
    """A second dataset that shares a class name with the first: the first's features stay the same."""
    for kind, target, body in guide_steps():
        if kind == "file":
            (guide_folder / target).parent.mkdir(parents=True, exist_ok=True)
            (guide_folder / target).write_text(body, encoding="utf-8")
    monkeypatch.setenv(ENV_DATASETS, str(guide_folder / "toy"))
    alone = _arrays(synthetic.generate("toy"))
    other = guide_folder / "more" / "toy2"
    other.mkdir(parents=True)
    (other / "dataset.json").write_text(json.dumps({"name": "toy2", "title": "T2", "source": "s"}))
    (other / "classes.tsv").write_text("peeling_orange\tpeeling an orange\tHands peel an orange.\n"
                                       "kite\tflying a kite\tA kite rises on a string.\n")
    monkeypatch.setenv(ENV_DATASETS, f"{guide_folder / 'toy'}:{guide_folder / 'more'}")
    assert {"toy", "toy2"} <= set(DATASETS.names())
    assert_bit_identical(alone, _arrays(synthetic.generate("toy")))
    assert synthetic.dataset_identity("toy2").startswith("synthetic-v2+toy2.")


def test_a_different_core_world_has_another_identity(guide_folder, monkeypatch):
    """Declaring a dataset part of the core world would change every draw: the identity says so, so those records
    never mix with synthetic-v2's (and the features are cached apart)."""
    d = guide_folder / "coretoy"
    d.mkdir()
    (d / "dataset.json").write_text(json.dumps({"name": "coretoy", "title": "C", "source": "s",
                                                "synthetic": {"clips": 60, "world": "core"}}))
    (d / "classes.tsv").write_text("a\tpainting a fence\tA brush goes along a fence.\n"
                                   "b\tsweeping a yard\tA broom pushes leaves.\n")
    assert synthetic.world_identity() == "synthetic-v2" and synthetic._cache_dir("olympics").name == "v2"
    monkeypatch.setenv(ENV_DATASETS, str(d))
    assert synthetic.core_datasets() == ("kinetics", "ucf101", "hmdb51", "olympics", "coretoy")
    assert re.fullmatch(r"synthetic-v2-w[0-9a-f]{10}", synthetic.world_identity())
    assert synthetic.dataset_identity("olympics") == synthetic.world_identity()
    assert synthetic._cache_dir("olympics").name != "v2"
    monkeypatch.setenv(ENV_DATASETS, "")
    assert synthetic.world_identity() == "synthetic-v2"


def test_v2_world_is_pinned():
    """The committed records are synthetic-v2: the core world they were made from is pinned by its digest."""
    assert synthetic.core_datasets() == synthetic.WORLD_ORDER
    assert synthetic._world_digest(synthetic._core()) == synthetic.V2_WORLD_DIGEST
    assert synthetic.identity() == "synthetic-v2"
    assert {synthetic.dataset_identity(d) for d in synthetic.WORLD_ORDER} == {"synthetic-v2"}


def test_the_guide_documents_every_key():
    text = GUIDE.read_text(encoding="utf-8")
    keys = (list(DatasetSpec.model_fields) + list(SyntheticSpec.model_fields) + list(SplitFile.model_fields)
            + list(FoldEntry.model_fields))
    missing = [k for k in keys if f"`{k}`" not in text]
    assert not missing, f"docs/adding_a_dataset.md does not document {missing}"


def test_registered_datasets_reach_worker_processes(guide_folder, monkeypatch):
    """Spawned workers and cluster jobs import the harness afresh: the variable, which they inherit, registers
    the same datasets there."""
    for kind, target, body in guide_steps():
        if kind == "file":
            (guide_folder / target).parent.mkdir(parents=True, exist_ok=True)
            (guide_folder / target).write_text(body, encoding="utf-8")
    from zsar_bench.datasets import add_dataset_folder

    assert add_dataset_folder(guide_folder / "toy") == ["toy"]
    code = "from zsar_bench.datasets import get_dataset; print(get_dataset('toy').n_classes)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "6"
    monkeypatch.setenv(ENV_DATASETS, "")
    assert "toy" not in DATASETS
