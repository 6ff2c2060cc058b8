import json
import sys

import numpy as np
import pytest

from conftest import ROOT, reference
from zsar_bench.datasets import get_dataset
from zsar_bench.splits import SplitError, available_protocols, load_protocol, load_split_file, parse_folds

ALL = [(d, p) for d, ps in available_protocols().items() for p in ps]


def test_expected_protocols_exist():
    assert {("olympics", "random-50-50"), ("hmdb51", "random-50-50"), ("ucf101", "random-50-50"),
            ("hmdb51", "e2e10"), ("ucf101", "e2e10"), ("kinetics", "kinetics-zsar")} <= set(ALL)


@pytest.mark.parametrize("dataset,protocol", ALL)
def test_every_split_file_validates(dataset, protocol):
    pr = load_protocol(dataset, protocol)
    n = get_dataset(dataset).n_classes
    for f in pr.folds:
        assert not (set(f.seen) & set(f.val))
        if pr.train_dataset in (None, dataset):
            assert not (set(f.seen) & set(f.unseen)) and not (set(f.val) & set(f.unseen))
        if protocol in ("random-50-50", "e2e10"):
            assert len(f.unseen) == n // 2 and len(f.seen) == n - n // 2
        if protocol.startswith("k400-"):  # cross-dataset: Kinetics-400 minus the classes overlapping the target
            k400 = set(get_dataset("kinetics").identifiers[:400])
            assert set(f.seen) <= k400 and len(f.seen) + len(pr.excluded) == 400
            assert len(f.unseen) == (n if protocol in ("k400-full", "k400-official") else n // 2)
    assert len({(tuple(f.unseen), f.official_split) for f in pr.folds}) == len(pr.folds)  # folds differ


def test_random_50_50_script_reproduces_files_exactly(tmp_path):
    from zsar_bench.split_generation import write_all

    write_all(tmp_path)
    for d, p in ALL:
        assert (tmp_path / d / f"{p}.json").read_bytes() == (ROOT / "splits" / d / f"{p}.json").read_bytes()


@pytest.mark.parametrize("dataset", ["hmdb51", "ucf101"])
def test_e2e10_is_brattoli_et_al(dataset):
    """Independent re-derivation from the paper's code recipe."""
    ids = get_dataset(dataset).identifiers
    if dataset == "hmdb51":
        classes = np.unique([c.replace("_", " ") for c in ids])
        to_id = {c.replace("_", " "): c for c in ids}
    else:
        classes = np.unique(ids)
        to_id = {c: c for c in ids}
    pr = load_protocol(dataset, "e2e10")
    assert len(pr.folds) == 10
    for k, fold in enumerate(pr.folds):
        np.random.seed(k)
        perm = np.random.permutation(len(classes))
        unseen = {to_id[c] for c in classes[perm[: len(classes) // 2]]}
        assert set(fold.unseen) == unseen
        assert set(fold.seen) == set(ids) - unseen


def test_kinetics_zsar_is_er_release():
    ids = get_dataset("kinetics").identifiers
    val = json.loads(reference("Kinetics/zsl220/val_class_idxs.json").read_text())
    tst = json.loads(reference("Kinetics/zsl220/tst_class_idxs.json").read_text())
    trn = json.loads(reference("Kinetics/zsl220/trn_class_idxs.json").read_text())
    pr = load_protocol("kinetics", "kinetics-zsar")
    for k, f in enumerate(pr.folds):
        assert set(f.seen) == {ids[i] for i in trn[k]}
        assert set(f.val) == {ids[i] for i in val[k]}
        assert set(f.unseen) == {ids[i] for i in tst[k]}


def _write(tmp_path, doc):
    p = tmp_path / "s.json"
    p.write_text(json.dumps(doc))
    return p


def test_split_errors_are_clear(tmp_path):
    ok = {"dataset": "olympics", "protocol": "mine", "version": 1,
          "folds": [{"seen": ["bowling", "vault"], "unseen": ["snatch", "high_jump"]}]}
    assert load_split_file(_write(tmp_path, ok)).folds[0].unseen == ("snatch", "high_jump")
    bad = json.loads(json.dumps(ok))
    bad["folds"][0]["unseen"] = ["snatch", "hihg_jump"]
    with pytest.raises(SplitError, match=r"unknown olympics class.*hihg_jump.*did you mean 'high_jump'"):
        load_split_file(_write(tmp_path, bad))
    bad["folds"][0]["unseen"] = ["snatch", "vault"]
    with pytest.raises(SplitError, match="both 'seen' and 'unseen'"):
        load_split_file(_write(tmp_path, bad))
    with pytest.raises(SplitError, match="missing key 'version'"):
        load_split_file(_write(tmp_path, {k: v for k, v in ok.items() if k != "version"}))
    counted = dict(ok, counts={"seen": 3})
    with pytest.raises(SplitError, match="counts say 3"):
        load_split_file(_write(tmp_path, counted))
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(SplitError, match="not valid JSON"):
        load_split_file(tmp_path / "x.json")
    with pytest.raises(SplitError, match="Valid choices: e2e10, k400-e2e10, k400-full, k400-official, random-50-50"):
        load_protocol("hmdb51", "nope")


def test_parse_folds():
    pr = load_protocol("hmdb51", "e2e10")
    assert [f.fold for f in parse_folds("0-2,5", pr)] == [0, 1, 2, 5]
    with pytest.raises(SplitError, match="folds \\[12\\]"):
        parse_folds("12", pr)


def test_split_file_keys_are_declared(tmp_path):
    """Every key is declared (split_file.SplitFile): a misspelt key is an error, not silently ignored."""
    ok = {"dataset": "olympics", "protocol": "mine", "version": 1,
          "folds": [{"seen": ["bowling", "vault"], "unseen": ["snatch", "high_jump"]}]}
    with pytest.raises(SplitError, match=r"s\.json: unknown key 'train_datset' \(a typo\?\); a split file's keys "
                                         r"are dataset, protocol, version, description, counts, train_dataset"):
        load_split_file(_write(tmp_path, dict(ok, train_datset="kinetics")))
    bad = json.loads(json.dumps(ok))
    bad["folds"][0]["vals"] = []
    with pytest.raises(SplitError, match=r"fold #0: unknown key 'vals' \(a typo\?\); a fold's keys are fold, seen, "
                                         r"val, unseen"):
        load_split_file(_write(tmp_path, bad))
    with pytest.raises(SplitError, match=r"version must be an integer, got '1'"):
        load_split_file(_write(tmp_path, dict(ok, version="1")))
    with pytest.raises(SplitError, match=r"train_partition must be \"train\" or absent, got 'test'"):
        load_split_file(_write(tmp_path, dict(ok, train_partition="test")))
    with pytest.raises(SplitError, match=r"'excluded' must be a list of objects with a 'class' key"):
        load_split_file(_write(tmp_path, dict(ok, excluded=[{"why": "overlap"}])))
    with pytest.raises(SplitError, match=r"top level must be an object"):
        load_split_file(_write(tmp_path, [ok]))
    with pytest.raises(SplitError, match=r"fold #0: each fold needs 'seen' and 'unseen'"):
        load_split_file(_write(tmp_path, dict(ok, folds=[{"seen": ["bowling"]}])))
    two = dict(ok, folds=ok["folds"] * 2)
    with pytest.raises(SplitError, match=r"fold #1: duplicate fold number 1"):
        load_split_file(_write(tmp_path, dict(two, folds=[dict(f, fold=1) for f in two["folds"]])))
    cross = dict(ok, dataset="hmdb51", train_dataset="kinetics",
                 folds=[{"seen": ["archery"], "unseen": ["archery", "ride_bike"]}])
    with pytest.raises(SplitError, match=r"fold #0: 1 unknown hmdb51 class\(es\) in 'unseen': 'archery'.*"
                                         r"zsar_bench/data/classes/hmdb51\.tsv"):
        load_split_file(_write(tmp_path, cross))
    cross["folds"][0]["unseen"] = ["ride_bike", "shoot_bow"]
    pr = load_split_file(_write(tmp_path, cross))  # seen and unseen may share names across datasets
    assert pr.train_dataset == "kinetics" and pr.folds[0].seen == ("archery",)


def test_e2e_class_order_is_brattoli_et_als_sort_key(monkeypatch):
    """HMDB51's names are sorted with '_' read as ' ' (Brattoli et al. sort the folder names so written); UCF101's
    as they are. Names where that changes the order: ' ' sorts before 'B', '_' after it."""
    from types import SimpleNamespace

    import zsar_bench.split_generation as sg

    fake = {"hmdb51": ["aB", "a_b", "ab"], "ucf101": ["aB", "a_b", "ab"]}
    monkeypatch.setattr(sg, "get_dataset", lambda name: SimpleNamespace(identifiers=fake[name]))
    assert sg.e2e_sorted_classes("hmdb51") == ["a_b", "aB", "ab"]
    assert sg.e2e_sorted_classes("ucf101") == ["aB", "a_b", "ab"]


def test_split_files_can_be_written_into_a_new_folder(tmp_path):
    from zsar_bench.split_generation import write

    write(tmp_path / "new" / "splits", "toy", "p", 1, "d", [{"fold": 0, "seen": ["é"], "val": [], "unseen": []}],
          {"seen": 1, "val": 0, "unseen": 0})
    raw = (tmp_path / "new" / "splits" / "toy" / "p.json").read_bytes()
    assert raw.endswith(b"\n") and json.loads(raw.decode("utf-8"))["folds"][0]["seen"] == ["é"]
