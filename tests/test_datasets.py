import json

import pytest

from conftest import reference
from zsar_bench.datasets import DATASETS, get_dataset


@pytest.mark.parametrize("name,n", [("olympics", 16), ("hmdb51", 51), ("ucf101", 101), ("kinetics", 620)])
def test_class_counts_and_unique_identifiers(name, n):
    ds = get_dataset(name)
    assert len(ds.identifiers) == n == len(set(ds.identifiers)) == len(ds.names)


def _norm(s):
    return s.lower().replace(" ", "").replace("_", "")


@pytest.mark.parametrize("name,folder", [("olympics", "OlympicSports16"), ("hmdb51", "HMDB51"), ("ucf101", "UCF101")])
def test_class_lists_match_er_release(name, folder):
    ref = json.loads(reference(f"{folder}/classes_label_defn.json").read_text())
    ds = get_dataset(name)
    assert sorted(_norm(x["word"]) for x in ref) == sorted(_norm(n) for n in ds.names)


def test_kinetics_list_is_er_id_order():
    ref = json.loads(reference("Kinetics/zsl220/classes620_label_defn.json").read_text())
    assert [x["word"] for x in ref] == get_dataset("kinetics").identifiers


def test_hmdb_and_ucf_use_official_identifiers():
    assert "brush_hair" in get_dataset("hmdb51").identifiers
    assert "ApplyEyeMakeup" in get_dataset("ucf101").identifiers
    assert "HandstandPushups" in get_dataset("ucf101").identifiers  # classInd.txt spelling
    assert set(DATASETS.names()) == {"olympics", "hmdb51", "ucf101", "kinetics"}


# --- the declared specs (zsar_bench/datasets/spec.py) ------------------------------------------------------------

def test_every_dataset_is_declared_by_its_spec():
    for name in ("olympics", "hmdb51", "ucf101", "kinetics"):
        ds = get_dataset(name)
        assert ds.builtin and ds.origin == f"zsar_bench/data/datasets/{name}.json"
        assert ds.class_file == f"zsar_bench/data/classes/{name}.tsv"
        assert ds.spec.synthetic.world == "core" and len(ds.builtin_descriptions) == ds.n_classes
    assert get_dataset("kinetics").seen_pool == 400 and get_dataset("kinetics").default_protocol == "kinetics-zsar"
    assert [get_dataset(n).synthetic_clips for n in ("olympics", "hmdb51", "ucf101", "kinetics")] == [
        783, 6766, 13320, 18600]


def test_published_references_come_from_the_literature_and_the_specs():
    """The † rows the leaderboards show are the literature rows whose class split is a harness protocol (with their
    sources); the few-shot baselines are the kinetics spec's."""
    from zsar_bench.datasets.published import published_fewshot, published_zsl
    from zsar_bench.literature import load_literature
    from zsar_bench.reports import tables

    lit = load_literature()
    expected = {(r.dataset, lit.harness_protocol(r), r.method) for r in lit.rows if lit.harness_protocol(r)}
    rows = published_zsl()
    assert {(p["dataset"], p["protocol"], p["method"]) for p in rows} == expected
    er = next(p for p in rows if (p["dataset"], p["method"]) == ("hmdb51", "ER"))
    assert er["protocol"] == "random-50-50" and er["top1"] == (35.3, 4.6) and "Table 3" in er["source"]
    assert published_fewshot()[("kinetics", "kinetics-zsar")]["results"] == tables.PUBLISHED_FEWSHOT


def _folder(tmp_path, spec, classes="a\tapple picking\tPicking.\nb\tbee keeping\tBees.\n", name="x"):
    d = tmp_path / name
    d.mkdir()
    (d / "dataset.json").write_text(spec if isinstance(spec, str) else json.dumps(spec))
    (d / "classes.tsv").write_text(classes)
    return d


OK_SPEC = {"name": "x", "title": "X", "source": "s"}


@pytest.mark.parametrize("spec,classes,phrase", [
    ({**OK_SPEC, "clases": "c.tsv"}, None, r"dataset\.json: unknown key 'clases' \(a typo\?\); the keys are: name"),
    ({"name": "x", "source": "s"}, None, r"dataset\.json: missing key 'title'"),
    ({**OK_SPEC, "name": "../x"}, None, r"name must be a plain name .*got '\.\./x'"),
    ({**OK_SPEC, "synthetic": {"world": "maybe"}}, None, r"synthetic\.world input should be 'core' or 'joins'"),
    ({**OK_SPEC, "n_classes": 3}, None, r"class file has 2 rows, expected 3 \(n_classes in .*dataset\.json\)"),
    ({**OK_SPEC, "name": "hmdb51"}, None, r"duplicate dataset name 'hmdb51'"),
    ("{oops", None, r"dataset\.json: not valid JSON"),
    (OK_SPEC, "a\tapple\nb\n", r"classes\.tsv:2: expected identifier<TAB>name separated by tabs, got 'b'"),
    (OK_SPEC, "a\tapple\na\tavocado\n", r"classes\.tsv:2: identifier 'a' is listed twice \(first on line 1\)"),
    ({**OK_SPEC, "classes": "nope.tsv"}, None, r"its class table .*nope\.tsv does not exist"),
])
def test_spec_errors_are_one_clear_line(tmp_path, monkeypatch, capsys, spec, classes, phrase):
    from zsar_bench.cli import main

    d = _folder(tmp_path, spec, **({"classes": classes} if classes else {}))
    monkeypatch.setenv("ZSAR_BENCH_DATASETS", str(d))
    rc = main(["list", "datasets"])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert __import__("re").search(phrase, lines[0]), lines[0]
    monkeypatch.setenv("ZSAR_BENCH_DATASETS", "")
    assert "x" not in DATASETS and "hmdb51" in DATASETS  # a broken folder leaves nothing behind


def test_registering_a_missing_folder_says_so(tmp_path, monkeypatch):
    from zsar_bench.datasets import DatasetSpecError

    monkeypatch.setenv("ZSAR_BENCH_DATASETS", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetSpecError, match=r"\$ZSAR_BENCH_DATASETS: .*nowhere does not exist"):
        DATASETS.names()
    monkeypatch.setenv("ZSAR_BENCH_DATASETS", str(tmp_path))
    with pytest.raises(DatasetSpecError, match=r"holds no dataset\.json"):
        DATASETS.names()


def test_a_dataset_folder_with_its_splits(tmp_path, monkeypatch):
    d = _folder(tmp_path, {**OK_SPEC, "splits": "splits", "default_protocol": "mine"},
                classes="a\tapple picking\tPicking.\nb\tbee keeping\tBees.\nc\tcanoeing\tPaddling.\n")
    (d / "splits").mkdir()
    (d / "splits" / "mine.json").write_text(json.dumps(
        {"dataset": "x", "protocol": "mine", "version": 1, "folds": [{"seen": ["a"], "unseen": ["b", "c"]}]}))
    monkeypatch.setenv("ZSAR_BENCH_DATASETS", str(d))
    from zsar_bench.splits import available_protocols, default_protocol, load_protocol

    assert available_protocols("x") == {"x": ["mine"]} and default_protocol("x") == "mine"
    pr = load_protocol("x", "mine")
    assert pr.folds[0].unseen == ("b", "c") and get_dataset("x").builtin_descriptions["c"] == "Paddling."
    assert "x" in available_protocols() and "hmdb51" in available_protocols()
