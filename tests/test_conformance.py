"""Every registered method, with no new test code: fit, score shape, finiteness, class-order
equivariance, row-order and video-id invariance, determinism, and a different number of unseen
than seen classes.

A method that needs features of a named model (``feature_model``, e.g. "clip": CLIP video embeddings whose
manifest records the checkpoint) runs the same checks on such a feature set, built here from a tiny random
CLIP (tests/clip_fixtures.py) over the same olympics clips, labels and concept detections, and must refuse
the synthetic features, which record no model."""
import numpy as np
import pytest

from zsar_bench.datasets import get_dataset
from zsar_bench.method import FitContext, build_method
from zsar_bench.plugins import load_plugins
from zsar_bench.measure.folds import make_fold_data
from zsar_bench.running.runner import score_checked
from zsar_bench.splits import Fold
from zsar_bench.types import LabelledVideos

NAMES = load_plugins()
SEEN = ["basketball_layup", "bowling", "clean_and_jerk", "discus_throw", "diving_platform_10m",
        "hammer_throw", "high_jump", "javelin_throw", "long_jump", "pole_vault"]
UNSEEN = ["diving_springboard_3m", "shot_put", "snatch", "tennis_serve", "triple_jump", "vault"]


@pytest.fixture(scope="module")
def fold_data(olympics_features):
    classes = get_dataset("olympics").classes()
    return make_fold_data(olympics_features, classes, Fold(0, tuple(SEEN), (), tuple(UNSEEN)))


@pytest.fixture(scope="module")
def gzsl_data(olympics_features):
    classes = get_dataset("olympics").classes()
    return make_fold_data(olympics_features, classes, Fold(0, tuple(SEEN), (), tuple(UNSEEN)), mode="gzsl")


@pytest.fixture(scope="module")
def fewshot_data(olympics_features):
    classes = get_dataset("olympics").classes()
    return make_fold_data(olympics_features, classes, Fold(0, tuple(SEEN), (), tuple(UNSEEN)), mode="fewshot-5")


def feature_model(name):
    return getattr(__import__("zsar_bench").method.METHODS.get(name), "feature_model", None)


@pytest.fixture(scope="module")
def clip_fold_sets(olympics_features, tmp_path_factory):
    """{mode: FoldData} of the fold above on a CLIP feature set of a tiny random CLIP: the synthetic set's clips,
    labels and concept detections; features are random unit vectors of the model's dimension clustered by class
    (a random CLIP maps random frames too close together to check learning), the manifest records the model."""
    from clip_fixtures import make_tiny_clip
    from test_clip_methods import write_tiny_clip_features
    from zsar_bench.features import load_feature_set

    fs = olympics_features
    weights = make_tiny_clip(tmp_path_factory.mktemp("conformance-clip"), seed=0)
    write_tiny_clip_features("olympics", "conformance-clip", weights, labels=fs.labels, video_ids=fs.videos.video_ids,
                             concepts=fs.concepts, concept_ids=fs.videos.concept_ids,
                             concept_scores=fs.videos.concept_scores, partition=fs.partition, kind="clusters")
    clip_fs = load_feature_set("olympics", "conformance-clip")
    assert clip_fs.manifest["model"]["kind"] == "clip"
    classes = get_dataset("olympics").classes()
    fold = Fold(0, tuple(SEEN), (), tuple(UNSEEN))
    return {mode: make_fold_data(clip_fs, classes, fold, mode=mode) for mode in ("zsl", "gzsl", "fewshot-5")}


def _fewshot_conformance(name, data):
    """A method without zero-shot mode (Method.modes): fit on 5 clips of each test class, then shape,
    class-order equivariance, row/id invariance, determinism, a clear error for an unknown class, above chance."""
    m = _fit(name, data)
    test = data.test
    s = score_checked(m, test)
    assert s.shape == (len(test.videos), len(UNSEEN)) and np.isfinite(s).all()
    perm = np.random.default_rng(0).permutation(len(UNSEEN))
    np.testing.assert_allclose(np.asarray(m.score(test.videos, [test.classes[i] for i in perm])), s[:, perm],
                               rtol=1e-4, atol=1e-5)
    rows = np.random.default_rng(1).permutation(len(test.videos))
    renamed = test.videos.subset(rows)
    renamed.video_ids = np.array([f"renamed-{i}" for i in range(len(rows))])
    np.testing.assert_allclose(np.asarray(m.score(renamed, list(test.classes))), s[rows], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(score_checked(_fit(name, data), test), s, rtol=1e-4, atol=1e-5)
    stranger = get_dataset("olympics").classes()[get_dataset("olympics").index[SEEN[0]]]
    with pytest.raises(ValueError):
        m.score(test.videos.subset(np.arange(3)), [stranger])
    acc = (s.argmax(1) == test.labels).mean()
    assert acc > 2.0 / len(UNSEEN), f"{name}: few-shot accuracy {acc:.2f} is near chance"


def _fit(name, data, seed=0):
    cls = __import__("zsar_bench").method.METHODS.get(name)
    m = build_method(name, cls.test_params)  # Method.test_params: a cheaper configuration, {} by default
    out = m.fit(data.fit, FitContext(device="cpu", seed=seed))
    assert out is m, "fit must return self"
    return m


def test_there_are_methods():
    assert "label" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_method_conformance(name, fold_data, gzsl_data, request):
    fewshot_data = None
    if feature_model(name) is not None:  # needs features of a named model: refuses others, runs on its own
        assert feature_model(name) == "clip", f"{name}: no conformance feature set for {feature_model(name)!r}"
        with pytest.raises(ValueError, match="no CLIP model"):
            _fit(name, gzsl_data)
        sets = request.getfixturevalue("clip_fold_sets")
        fold_data, gzsl_data, fewshot_data = sets["zsl"], sets["gzsl"], sets["fewshot-5"]
    if "zsl" not in __import__("zsar_bench").method.METHODS.get(name).modes:  # few-shot only: its own checks
        return _fewshot_conformance(name, fewshot_data or request.getfixturevalue("fewshot_data"))
    # fit on the generalised-ZSL training clips (80% of the seen clips), so one model serves every check
    # below, the last included: accuracy on held-out clips of its own seen classes
    m = _fit(name, gzsl_data)
    test = fold_data.test
    s = score_checked(m, test)
    assert s.shape == (len(test.videos), len(UNSEEN)) and np.isfinite(s).all()

    perm = np.random.default_rng(0).permutation(len(UNSEEN))
    s_perm = m.score(test.videos, [test.classes[i] for i in perm])
    np.testing.assert_allclose(np.asarray(s_perm), s[:, perm], rtol=1e-4, atol=1e-5)

    # a clip's scores do not depend on its id or on where it sits among the other clips
    rows = np.random.default_rng(1).permutation(len(test.videos))
    renamed = test.videos.subset(rows)
    renamed.video_ids = np.array([f"renamed-{i}" for i in range(len(rows))])
    np.testing.assert_allclose(np.asarray(m.score(renamed, list(test.classes))), s[rows], rtol=1e-4, atol=1e-5)

    three = m.score(test.videos.subset(np.arange(7)), list(test.classes[:3]))
    assert np.asarray(three).shape == (7, 3)

    m2 = _fit(name, gzsl_data)
    np.testing.assert_allclose(score_checked(m2, test), s, rtol=1e-4, atol=1e-5)

    # a method that learns beats chance clearly on held-out clips of its own seen classes
    if not type(m).learns:
        return
    g = gzsl_data.test
    seen_rows = ~gzsl_data.unseen_columns[g.labels]
    held = LabelledVideos(g.videos.subset(np.flatnonzero(seen_rows)), g.labels[seen_rows], g.classes[: len(SEEN)])
    acc = (score_checked(m, held).argmax(1) == held.labels).mean()
    assert acc > 2.0 / len(SEEN), f"{name}: seen-class accuracy {acc:.2f} is near chance"


def test_fit_data_holds_seen_training_clips_only(fold_data, gzsl_data, olympics_features):
    ds = get_dataset("olympics")
    by_id = dict(zip(olympics_features.videos.video_ids, olympics_features.labels))
    seen_idx = [ds.index[c] for c in SEEN]
    # ZSL: every clip of the seen classes trains (as in the ZSAR papers), no unseen clip does
    fit = fold_data.fit.train
    assert {c.identifier for c in fit.classes} == set(SEEN)
    ids = set(fit.videos.video_ids)
    assert not ids & set(fold_data.test.videos.video_ids)
    assert {ds.identifiers[by_id[v]] for v in ids} == set(SEEN)
    assert len(ids) == int(np.isin(olympics_features.labels, seen_idx).sum())
    # GZSL: its own fit on the seen clips minus a held-out 20% per class, which the test set holds
    gfit = set(gzsl_data.fit.train.videos.video_ids)
    gtest = set(gzsl_data.test.videos.video_ids)
    assert gfit < ids and not gfit & gtest
    held = (ids - gfit)
    assert held <= gtest and len(held) == pytest.approx(0.2 * len(ids), rel=0.1)
    assert len(gtest) == len(held) + len(fold_data.test.videos)
