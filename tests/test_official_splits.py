"""k400-official: train on Kinetics-400 minus the overlapping classes, test all UCF101 / HMDB51 classes on the
videos of each official test split (UCF101 by the group in a video's name, HMDB51 by the packaged official
lists). Small imported sets with official-style names check the three folds; the synthetic world is refused."""
import json
from collections import Counter

import numpy as np
import pytest

from zsar_bench import cli
from zsar_bench.datasets import get_dataset
from zsar_bench.features import load_feature_set
from zsar_bench.measure.folds import make_fold_data
from zsar_bench.official_splits import (OfficialSplitError, hmdb51_test_lists, official_test_mask, table_sha256,
                                        ucf101_group, video_key)
from zsar_bench.paths import data_root, set_data_root
from zsar_bench.splits import SplitError, load_protocol, load_split_file

GROUPS = (1, 7, 8, 14, 15, 21, 22)  # two groups of each test split, and one that only trains


def test_names_and_groups():
    assert video_key("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi") == "v_ApplyEyeMakeup_g08_c01"
    assert video_key("v_ApplyEyeMakeup_g08_c01.npy") == video_key("v_ApplyEyeMakeup_g08_c01")
    assert [ucf101_group(f"v_YoYo_g{g:02d}_c03.avi") for g in (1, 8, 25)] == [1, 8, 25]
    assert ucf101_group("syn2-ucf101-000001") is None and ucf101_group("v_YoYo_g26_c01") is None
    mask = [official_test_mask("ucf101", [f"v_YoYo_g{g:02d}_c01" for g in GROUPS], k).tolist() for k in (1, 2, 3)]
    assert mask == [[1, 1, 0, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0], [0, 0, 0, 0, 1, 1, 0]]
    with pytest.raises(OfficialSplitError, match="not official UCF101 names"):
        official_test_mask("ucf101", ["v_YoYo_g01_c01", "syn2-ucf101-000001"], 1)


def test_hmdb51_lists_are_the_official_shape():
    """Each split's test list: 30 videos of each of the 51 classes (1,530), as the official lists."""
    import zsar_bench

    ids = set(get_dataset("hmdb51").identifiers)
    rows = [ln.split("\t") for ln in (zsar_bench.__path__[0] + "/data/official_splits/hmdb51_test.tsv",)
            for ln in open(ln, encoding="utf-8").read().splitlines() if not ln.startswith("#")]
    assert {c for c, _, _ in rows} == ids and len(hmdb51_test_lists()) == len(rows)
    for k in (1, 2, 3):
        per_class = Counter(c for c, _, s in rows if str(k) in s.split(","))
        assert set(per_class.values()) == {30} and len(per_class) == 51
    assert load_split_file(load_protocol("hmdb51", "k400-official").path).folds[2].official_split == 3


def test_split_files(tmp_path):
    for ds in ("hmdb51", "ucf101"):
        pr, full = load_protocol(ds, "k400-official"), load_protocol(ds, "k400-full")
        assert pr.test_videos == "official" and pr.train_dataset == "kinetics" and pr.excluded == full.excluded
        assert [f.official_split for f in pr.folds] == [1, 2, 3] and [f.fold for f in pr.folds] == [0, 1, 2]
        assert all(f.seen == full.folds[0].seen and f.unseen == full.folds[0].unseen for f in pr.folds)
    doc = json.loads(open(load_protocol("hmdb51", "k400-official").path).read())
    for mutate, match in ((lambda d: d.update(test_videos_sha256="0" * 64), "does not match"),
                          (lambda d: d.pop("test_videos"), "official_split"),
                          (lambda d: d["folds"][0].update(official_split=4), "must be 1, 2 or 3")):
        bad = json.loads(json.dumps(doc))
        mutate(bad)
        (tmp_path / "s.json").write_text(json.dumps(bad))
        with pytest.raises(SplitError, match=match):
            load_split_file(tmp_path / "s.json")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    before = data_root()
    r = tmp_path_factory.mktemp("official")
    set_data_root(r)
    yield r
    set_data_root(before)


def _import(root, tmp, dataset, names, labels, partition=None, *extra):
    import pandas as pd

    rows = [{"video_id": v, "class": c, **({"partition": partition} if partition else {})} for v, c in zip(names, labels)]
    pd.DataFrame(rows).to_csv(tmp / f"{dataset}.csv", index=False)
    feats = np.random.default_rng(len(names)).normal(size=(len(names), 4)).astype(np.float32)
    np.save(tmp / f"{dataset}.npy", feats)
    assert cli.main(["import-features", dataset, "offi", "--from", "generic", str(tmp / f"{dataset}.npy"), "--index",
                     str(tmp / f"{dataset}.csv"), "--backbone", "test vectors", "--data-root", str(root), *extra]) == 0


@pytest.fixture(scope="module")
def imported(root, tmp_path_factory):
    """ucf101: one clip of every class in each of GROUPS; hmdb51: two test videos of each class and split from the
    official lists plus one video no list tests; kinetics: one training clip of each Kinetics-400 class."""
    tmp = tmp_path_factory.mktemp("official-src")
    ucf = get_dataset("ucf101").identifiers
    _import(root, tmp, "ucf101", [f"{c}/v_{c}_g{g:02d}_c01.avi" for c in ucf for g in GROUPS],
            [c for c in ucf for _ in GROUPS])
    table = {}
    import zsar_bench

    for ln in open(zsar_bench.__path__[0] + "/data/official_splits/hmdb51_test.tsv", encoding="utf-8"):
        if not ln.startswith("#"):
            c, v, s = ln.rstrip("\n").split("\t")
            table.setdefault(c, []).append((v, {int(x) for x in s.split(",")}))
    names, labels = [], []
    for c, vids in table.items():
        for k in (1, 2, 3):
            names += [v for v, s in vids if s == {k}][:2]
        names.append(f"{c}_not_in_any_test_list.avi")
        labels += [c] * (len(names) - len(labels))
    _import(root, tmp, "hmdb51", names, labels)
    k400 = get_dataset("kinetics").identifiers[:400]
    _import(root, tmp, "kinetics", [f"k400-{i}" for i in range(400)], k400, "train", "--allow-empty-classes")
    return names


@pytest.mark.parametrize("dataset,per_fold", [("ucf101", 2 * 101), ("hmdb51", 2 * 51)])
def test_three_folds_test_their_official_videos(imported, root, tmp_path, dataset, per_fold):
    pr = load_protocol(dataset, "k400-official")
    fs, kin = load_feature_set(dataset, "offi"), load_feature_set("kinetics", "offi")
    classes, kclasses = get_dataset(dataset).classes(), get_dataset("kinetics").classes()
    seen_tests = []
    for f in pr.folds:
        data = make_fold_data(fs, classes, f, pr, "zsl", kin, kclasses)
        tested = [str(v) for v in data.test.videos.video_ids]
        assert len(tested) == per_fold and len(set(data.test.labels)) == len(classes)
        assert len(data.fit.train.classes) == len(f.seen) and len(data.fit.train.videos) == len(f.seen)
        if dataset == "ucf101":
            assert {ucf101_group(v) for v in tested} == {7 * f.official_split - 6, 7 * f.official_split}
        else:
            assert all(f.official_split in hmdb51_test_lists()[video_key(v)] for v in tested)
        seen_tests.append(set(tested))
    assert not (seen_tests[0] & seen_tests[1]) and not (seen_tests[1] & seen_tests[2])
    records = tmp_path / "r.jsonl"
    assert cli.main(["--methods", "chance", "--datasets", dataset, "--protocol", "k400-official", "--features", "offi",
                     "--records", str(records), "--reports-dir", str(tmp_path / "rep"), "--data-root", str(root),
                     "--no-progress", "--executor", "inline"]) == 0
    recs = [json.loads(line) for line in records.read_text().splitlines()]
    assert sorted(r["fold"] for r in recs) == [0, 1, 2] and {r["n_test_videos"] for r in recs} == {per_fold}
    assert {r["protocol"] for r in recs} == {"k400-official"}


def test_refused_without_official_names(root, capsys):
    rc = cli.main(["--methods", "chance", "--datasets", "ucf101", "--protocol", "k400-official", "--data-root",
                   str(root), "--dry-run"])
    err = capsys.readouterr().err
    assert rc != 0 and "opaque" in err and len([ln for ln in err.splitlines() if ln.startswith("error")]) == 1
    opaque = [f"syn2-hmdb51-{i:06d}" for i in range(5)]
    with pytest.raises(OfficialSplitError, match="none of the 5"):
        official_test_mask("hmdb51", opaque, 1)
    with pytest.raises(OfficialSplitError, match="no official"):
        official_test_mask("olympics", opaque, 1)
    assert table_sha256("ucf101") is None and len(table_sha256("hmdb51")) == 64
