"""make_fold_data on small feature sets built here (olympics' 16 classes, a few clips each): training partitions,
cross-dataset training sides, refusals, and what FitData carries, against expectations written out by hand."""
import numpy as np
import pytest

from zsar_bench.datasets import get_dataset
from zsar_bench.features.base import TEST, TRAIN, FeatureSet, FeatureStoreError
from zsar_bench.measure.folds import _part, make_fold_data
from zsar_bench.splits import Fold, Protocol, SplitError
from zsar_bench.types import ConceptVocabulary, Videos

IDS = get_dataset("olympics").identifiers
CLASSES = get_dataset("olympics").classes()
FOLD = Fold(0, tuple(IDS[:6]), tuple(IDS[6:8]), tuple(IDS[8:]))


def _fs(per_class=4, partition=True, skip=(), name="imported", dataset="olympics", manifest=None):
    labels = np.array([c for c in range(16) if c not in skip for _ in range(per_class)])
    n = len(labels)
    vids = np.array([f"{dataset}-{i}" for i in range(n)])
    part = np.array([TRAIN if i % per_class else TEST for i in range(n)]) if partition else None
    vocab = ConceptVocabulary(("a", "b", "c", "d", "e", "f"), ("da", "db", "dc", "dd", "de", "df"))
    v = Videos(np.arange(n * 3, dtype=np.float32).reshape(n, 3), np.tile(np.arange(6), (n, 1)), None, vids)
    return FeatureSet(dataset, name, name + "-v1", v, labels, part, vocab, manifest or {"model": {"kind": "toy"}})


def _proto(**kw):
    return Protocol("olympics", "p", 1, "", (FOLD,), "0" * 64, "p.json", **kw)


def test_train_partition_keeps_the_seen_classes_training_videos_only():
    fs = _fs()
    data = make_fold_data(fs, CLASSES, FOLD, _proto(train_partition="train"))
    ids = set(data.fit.train.videos.video_ids)
    want = {v for v, c, p in zip(fs.videos.video_ids, fs.labels, fs.partition) if c < 6 and p == TRAIN}
    assert ids == want and len(ids) == 6 * 3
    # without the protocol's train_partition every clip of a seen class trains (the papers' zero-shot training set)
    all_seen = make_fold_data(fs, CLASSES, FOLD, _proto())
    assert len(all_seen.fit.train.labels) == 6 * 4
    # a feature set that records no partition trains on every seen clip even under train_partition
    nopart = make_fold_data(_fs(partition=False), CLASSES, FOLD, _proto(train_partition="train"))
    assert len(nopart.fit.train.labels) == 6 * 4
    # the test side is every unseen clip, whatever the partition
    assert len(data.test.labels) == 8 * 4


def test_fit_data_carries_the_concepts_and_the_features_model():
    fs = _fs()
    data = make_fold_data(fs, CLASSES, FOLD)
    assert data.fit.concepts is fs.concepts and data.fit.model == {"kind": "toy"}
    assert data.unseen_columns is None and data.mode == "zsl"
    assert make_fold_data(_fs(manifest={"x": 1}), CLASSES, FOLD).fit.model is None
    assert len(data.val.labels) == 2 * 4  # the validation classes' clips, for the harness's model selection
    assert make_fold_data(fs, CLASSES, Fold(0, FOLD.seen, (), FOLD.unseen)).val is None  # none: no selection


def test_cross_dataset_fits_on_the_training_side():
    test_fs, train_fs = _fs(dataset="olympics"), _fs(per_class=3, dataset="olympics", name="other")
    data = make_fold_data(test_fs, CLASSES, FOLD, train_fs=train_fs, train_classes=CLASSES)
    assert set(data.fit.train.videos.video_ids) <= set(train_fs.videos.video_ids)
    assert len(data.fit.train.labels) == 6 * 3 and len(data.val.labels) == 2 * 3  # train side's clips
    assert set(data.test.videos.video_ids) <= set(test_fs.videos.video_ids) and len(data.test.labels) == 8 * 4
    assert data.fit.concepts is train_fs.concepts
    with pytest.raises(SplitError, match="generalised ZSL needs seen and unseen classes from one dataset"):
        make_fold_data(test_fs, CLASSES, FOLD, mode="gzsl", train_fs=train_fs, train_classes=CLASSES)
    # the same feature set passed as train_fs is no cross-dataset run: gzsl works
    same = make_fold_data(test_fs, CLASSES, FOLD, mode="gzsl", train_fs=test_fs, train_classes=CLASSES)
    assert same.unseen_columns.sum() == 8


@pytest.mark.parametrize("missing, side", [(2, "seen"), (6, "val"), (12, "unseen")])
def test_a_split_class_without_clips_is_refused(missing, side):
    with pytest.raises(FeatureStoreError, match=rf"no clips for classes \['{IDS[missing]}'\] named by the split"):
        make_fold_data(_fs(skip=(missing,)), CLASSES, FOLD)
    with pytest.raises(FeatureStoreError, match="no clips for classes"):
        make_fold_data(_fs(skip=(12,)), CLASSES, FOLD, mode="fewshot-1")


def test_fewshot_default_seed_is_0_and_the_draw_follows_it():
    fs = _fs(per_class=8)
    a = make_fold_data(fs, CLASSES, FOLD, mode="fewshot-2")
    b = make_fold_data(fs, CLASSES, FOLD, mode="fewshot-2", seed=0)
    c = make_fold_data(fs, CLASSES, FOLD, mode="fewshot-2", seed=1)
    assert list(a.fit.train.videos.video_ids) == list(b.fit.train.videos.video_ids)
    assert set(a.fit.train.videos.video_ids) != set(c.fit.train.videos.video_ids)
    assert a.val is None and a.unseen_columns is None and a.mode == "fewshot-2"
    assert a.fit.concepts is fs.concepts and a.fit.model == {"kind": "toy"}
    assert len(a.test.labels) == 8 * 6 and len(a.fit.train.labels) == 8 * 2


def test_labelled_maps_labels_to_positions_in_the_class_list():
    fs = _fs()
    lv = _part(fs, np.isin(fs.labels, [9, 3]), [9, 3], CLASSES)
    assert lv.rows.tolist() == np.flatnonzero(np.isin(fs.labels, [9, 3])).tolist()
    assert [c.identifier for c in lv.classes] == [IDS[9], IDS[3]]
    assert lv.labels.dtype == np.int64 and sorted(set(lv.labels.tolist())) == [0, 1]
    assert all(lv.classes[l].identifier == IDS[c] for l, c in zip(lv.labels, fs.labels[np.isin(fs.labels, [9, 3])]))
    empty = _part(fs, np.zeros(len(fs.labels), bool), [], CLASSES)
    assert len(empty.labels) == 0 and empty.classes == []


def test_fewshot_with_too_few_clips_is_skipped_naming_the_class():
    from zsar_bench.measure.folds import FewShotSkip

    fs = _fs(per_class=6)  # 6 clips: K = 1 leaves 5 to evaluate (enough), K = 2 leaves 4
    assert len(make_fold_data(fs, CLASSES, FOLD, mode="fewshot-1").test.labels) == 8 * 5
    with pytest.raises(FewShotSkip, match=rf"olympics fold 0: 2-shot needs 7 clips .* \(least: '{IDS[8]}', 6\)"):
        make_fold_data(fs, CLASSES, FOLD, mode="fewshot-2")


def test_fewshot_draw_differs_between_folds_with_the_same_classes():
    fs = _fs(per_class=8)
    a = make_fold_data(fs, CLASSES, FOLD, mode="fewshot-2")
    b = make_fold_data(fs, CLASSES, Fold(1, FOLD.seen, FOLD.val, FOLD.unseen), mode="fewshot-2")
    assert set(a.fit.train.videos.video_ids) != set(b.fit.train.videos.video_ids)
    assert not set(a.fit.train.videos.video_ids) & set(a.test.videos.video_ids)
