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
