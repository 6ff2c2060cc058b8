"""Fold preparation never leaks: an auditor written here, from the feature set's own labels and video ids (not from
``make_fold_data``'s bookkeeping), checks what each mode hands to ``fit`` and to scoring. Each audit has a control:
the same auditor on a deliberately leaky fold fails, so a passing audit means something."""
from dataclasses import replace

import numpy as np
import pytest

from zsar_bench.datasets import get_dataset
from zsar_bench.measure.folds import FoldData, make_fold_data
from zsar_bench.splits import Fold, load_protocol
from zsar_bench.types import FitData, LabelledVideos


@pytest.fixture(scope="module")
def olympics(olympics_features):
    fs = olympics_features
    ids = get_dataset("olympics").identifiers
    truth = {v: ids[c] for v, c in zip(fs.videos.video_ids, fs.labels)}  # video id -> true class identifier
    assert len(truth) == len(fs.labels)  # video ids are unique: they identify clips
    return fs, truth


def _true(lv: LabelledVideos, truth: dict) -> list[str]:
    return [truth[v] for v in lv.videos.video_ids]


def audit(data: FoldData, fold: Fold, truth: dict, k: int = 0) -> None:
    """AssertionError on any leak of unseen or validation classes or clips into fit, or a wrong test set."""
    train, test = data.fit.train, data.test
    fit_classes = [c.identifier for c in train.classes]
    fit_truth = _true(train, truth)
    if data.mode.startswith("fewshot"):
        assert sorted(fit_classes) == sorted(fold.unseen)  # K-shot trains on the test classes only
        assert all(fit_truth.count(c) == k for c in fold.unseen)
    else:
        assert sorted(fit_classes) == sorted(fold.seen), "fit sees a class that is not seen"
        assert not set(fit_truth) - set(fold.seen), "a clip of an unseen or validation class is in fit"
    # labels index the class list correctly (a shuffled label is a leak of another kind)
    assert [train.classes[i].identifier for i in train.labels] == fit_truth
    assert [test.classes[i].identifier for i in test.labels] == _true(test, truth)
    assert not set(train.videos.video_ids) & set(test.videos.video_ids), "a test clip is in fit"
    if data.val is not None:
        assert sorted(c.identifier for c in data.val.classes) == sorted(fold.val)
        assert not set(data.val.videos.video_ids) & set(train.videos.video_ids)
    everything = [c for c in truth.values()]
    if data.mode == "zsl":
        assert sorted(c.identifier for c in test.classes) == sorted(fold.unseen)
        assert len(test.labels) == sum(c in fold.unseen for c in everything)  # every unseen clip, nothing else
    if data.mode == "gzsl":
        assert [c.identifier for c in test.classes] == list(fold.seen) + list(fold.unseen)
        assert data.unseen_columns.tolist() == [False] * len(fold.seen) + [True] * len(fold.unseen)
        seen_test = [c for c in _true(test, truth) if c in fold.seen]
        assert seen_test and len(seen_test) + len(fit_truth) == sum(c in fold.seen for c in everything)


def _leak_one_unseen_class(data: FoldData, fs, fold: Fold) -> FoldData:
    """The bug the auditor must see: one unseen class's clips added to fit, under a seen class's label."""
    ids = get_dataset("olympics").identifiers
    rows = np.flatnonzero(fs.labels == ids.index(fold.unseen[0]))
    t = data.fit.train
    leaked = LabelledVideos(t.videos.subset(np.arange(len(t.videos))), t.labels, t.classes)
    leaked.videos.features = np.concatenate([t.videos.features, fs.videos.features[rows]])
    leaked.videos.video_ids = np.concatenate([t.videos.video_ids, fs.videos.video_ids[rows]])
    leaked.videos.concept_ids = None
    leaked.labels = np.concatenate([t.labels, np.zeros(len(rows), t.labels.dtype)])
    return replace(data, fit=FitData(leaked, data.fit.concepts))


def test_zero_shot_fit_sees_seen_classes_only(olympics):
    fs, truth = olympics
    classes = get_dataset("olympics").classes()
    for fold in load_protocol("olympics", "random-50-50").folds[:5]:
        data = make_fold_data(fs, classes, fold)
        audit(data, fold, truth)
    with pytest.raises(AssertionError, match="unseen or validation class"):  # control
        audit(_leak_one_unseen_class(data, fs, fold), fold, truth)


def test_validation_classes_stay_out_of_fit(olympics):
    fs, truth = olympics
    ids = get_dataset("olympics").identifiers
    fold = Fold(0, tuple(ids[:8]), tuple(ids[8:11]), tuple(ids[11:]))
    data = make_fold_data(fs, get_dataset("olympics").classes(), fold)
    assert data.val is not None and len(data.val.labels) > 0
    audit(data, fold, truth)
    # control: a fold whose validation classes were trained on fails the audit
    widened = make_fold_data(fs, get_dataset("olympics").classes(), Fold(0, tuple(ids[:11]), (), tuple(ids[11:])))
    with pytest.raises(AssertionError):
        audit(replace(widened, val=data.val), fold, truth)


def test_gzsl_holds_seen_clips_out_of_fit(olympics):
    fs, truth = olympics
    fold = load_protocol("olympics", "random-50-50").folds[0]
    data = make_fold_data(fs, get_dataset("olympics").classes(), fold, mode="gzsl")
    audit(data, fold, truth)
    # control: fitting on the held-out seen clips too (the zero-shot training set) fails the audit
    zsl = make_fold_data(fs, get_dataset("olympics").classes(), fold)
    with pytest.raises(AssertionError, match="test clip is in fit"):
        audit(replace(data, fit=zsl.fit), fold, truth)


def test_fewshot_trains_on_k_clips_and_never_scores_them(olympics):
    fs, truth = olympics
    fold = load_protocol("olympics", "random-50-50").folds[0]
    data = make_fold_data(fs, get_dataset("olympics").classes(), fold, mode="fewshot-2", seed=0)
    audit(data, fold, truth, k=2)
    other = make_fold_data(fs, get_dataset("olympics").classes(), fold, mode="fewshot-2", seed=1)
    assert set(other.fit.train.videos.video_ids) != set(data.fit.train.videos.video_ids)  # seeds draw anew
    # control: scoring the training clips as well fails the audit
    t = data.fit.train
    both = LabelledVideos(t.videos, t.labels, t.classes)
    with pytest.raises(AssertionError, match="test clip is in fit"):
        audit(replace(data, test=both), fold, truth, k=2)
