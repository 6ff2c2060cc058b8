"""The seeded draws of fold preparation (few-shot clips, the GZSL hold-out), few-shot feasibility and the
cross-dataset backbone check, against recipes and counts written out here."""
import hashlib
from types import SimpleNamespace

import numpy as np
import pytest

from zsar_bench.measure.folds import (GZSL_HOLDOUT, MIN_EVAL, check_method_mode, check_same_backbone, fewshot_draw,
                                      fewshot_k, fewshot_shortfall, gzsl_holdout, mode_kind)
from zsar_bench.features.base import FeatureStoreError
from zsar_bench.types import ClassInfo


def _fs(labels, identity="synthetic-v2", dataset="toy", synthetic=True, backbone=None, name="synthetic"):
    return SimpleNamespace(labels=np.asarray(labels), identity=identity, dataset=dataset, is_synthetic=synthetic,
                           manifest={"backbone": backbone} if backbone else {}, name=name)


def _rng(*parts):  # the documented recipe: sha256 of the parts joined by "|", first 8 bytes little-endian
    return np.random.default_rng(int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8],
                                                "little"))


def test_fewshot_draw_is_the_documented_function_of_identity_dataset_fold_seed_and_k():
    labels = np.repeat(np.arange(4), 10)
    fs = _fs(labels)
    got = fewshot_draw(fs, [1, 3], fold=2, seed=5, k=3)
    rng = _rng("fewshot", "synthetic-v2", "toy", 2, 5, 3)
    want = np.zeros(40, bool)
    for c in (1, 3):
        want[rng.choice(np.flatnonzero(labels == c), 3, replace=False)] = True
    assert got.tolist() == want.tolist()
    assert np.bincount(labels[got], minlength=4).tolist() == [0, 3, 0, 3]
    # every part of the seed matters
    for kw in [dict(fold=3), dict(seed=6)]:
        args = {"fold": 2, "seed": 5, "k": 3, **kw}
        assert fewshot_draw(fs, [1, 3], **args).tolist() != got.tolist(), kw
    assert fewshot_draw(_fs(labels, identity="other"), [1, 3], 2, 5, 3).tolist() != got.tolist()
    assert fewshot_draw(_fs(labels, dataset="toy2"), [1, 3], 2, 5, 3).tolist() != got.tolist()


def test_gzsl_holdout_is_a_fifth_of_every_class_drawn_per_feature_set():
    labels = np.concatenate([np.repeat(0, 10), np.repeat(1, 3), np.repeat(2, 1), np.repeat(3, 7), np.repeat(4, 2)])
    held = gzsl_holdout(_fs(labels))
    assert GZSL_HOLDOUT == 0.2
    # round(0.2 n), at least one; a class with a single clip keeps it for training
    assert np.bincount(labels[held], minlength=5).tolist() == [2, 1, 0, 1, 1]
    rng = _rng("gzsl-holdout", "toy", "synthetic-v2")
    want = np.zeros(len(labels), bool)
    for c, n in [(0, 2), (1, 1), (3, 1), (4, 1)]:
        want[rng.choice(np.flatnonzero(labels == c), n, replace=False)] = True
    assert held.tolist() == want.tolist()
    assert gzsl_holdout(_fs(labels, identity="x")).tolist() != held.tolist()


def test_fewshot_shortfall_boundary_and_message():
    labels = np.concatenate([np.repeat(0, 8), np.repeat(1, 6), np.repeat(2, 2)])
    classes = [ClassInfo("a", "a"), ClassInfo("b", "b"), ClassInfo("c", "c")]
    assert MIN_EVAL == 5
    assert fewshot_shortfall(_fs(labels), [0, 1], 1, classes) is None  # 6 = 1 + 5 clips: enough
    msg = fewshot_shortfall(_fs(labels), [0, 1], 2, classes)
    assert msg == ("2-shot needs 7 clips in every test class (2 to train + MIN_EVAL=5 to evaluate); 1 class(es) "
                   "have fewer (least: 'b', 6)")
    msg = fewshot_shortfall(_fs(labels), [0, 1, 2], 3)
    assert msg.endswith("2 class(es) have fewer (least: '#2', 2)") and msg.startswith("3-shot needs 8 clips")
    # the class with the highest index has no clips at all: counted as 0, not an index error
    assert fewshot_shortfall(_fs(labels), [0, 5], 1, None).endswith("(least: '#5', 0)")
    assert fewshot_shortfall(_fs(labels), [], 1) is None


def test_modes():
    assert fewshot_k("fewshot-5") == 5 and fewshot_k("fewshot-0") is None and fewshot_k("zsl") is None
    assert fewshot_k(5) is None and fewshot_k("fewshot-5x") is None
    assert [mode_kind(m) for m in ("zsl", "gzsl", "fewshot-2")] == ["zsl", "gzsl", "fewshot"]
    with pytest.raises(ValueError, match="unknown evaluation mode 'fewshot'"):
        mode_kind("fewshot")


def test_check_method_mode(plugins):
    from zsar_bench.method import METHODS, Method, register_method

    check_method_mode("eszsl", "fewshot-1")
    check_method_mode("eszsl", "gzsl")
    with pytest.raises(ValueError) as e:
        check_method_mode("fewshot-linear", "zsl")
    assert str(e.value) == ("method 'fewshot-linear' does not support zsl evaluation (mode zsl); it supports fewshot: "
                            "pass --fewshot K[,K...], e.g. --fewshot 1,2,5")

    @register_method("zsl-only-toy")
    class ZslOnly(Method):
        modes = ("zsl",)

        def fit(self, data, ctx):
            return self

        def score(self, videos, classes):
            return np.zeros((len(videos), len(classes)))

    try:
        check_method_mode("zsl-only-toy", "zsl")
        with pytest.raises(ValueError) as e:
            check_method_mode("zsl-only-toy", "fewshot-3")
        assert str(e.value) == ("method 'zsl-only-toy' does not support fewshot evaluation (mode fewshot-3); it "
                                "supports zsl")  # no --fewshot hint for a method that cannot run few-shot
    finally:
        METHODS._items.pop("zsl-only-toy", None)
        METHODS._origins.pop("zsl-only-toy", None)


def test_cross_dataset_backbones():
    k, h = _fs([0], "synthetic-v2", "kinetics"), _fs([0], "synthetic-v2", "hmdb51")
    check_same_backbone(k, h)
    with pytest.raises(FeatureStoreError, match="same synthetic world"):
        check_same_backbone(k, _fs([0], "synthetic-v1", "hmdb51"))
    real = dict(synthetic=False, identity="r")
    with pytest.raises(FeatureStoreError, match="same synthetic world"):  # one synthetic side is enough to refuse
        check_same_backbone(k, _fs([0], dataset="hmdb51", **real, backbone="tsm"))
    with pytest.raises(FeatureStoreError, match="same synthetic world"):
        check_same_backbone(_fs([0], dataset="kinetics", **real, backbone="tsm"), h)
    check_same_backbone(_fs([0], dataset="kinetics", **real, backbone="tsm"),
                        _fs([0], dataset="hmdb51", **real, backbone="tsm"))
    for a, b in [("tsm", "i3d"), (None, "tsm"), ("tsm", None), (None, None)]:
        with pytest.raises(FeatureStoreError, match=f"backbone {a!r} and .* has {b!r}"):
            check_same_backbone(_fs([0], dataset="kinetics", **real, backbone=a),
                                _fs([0], dataset="hmdb51", **real, backbone=b))
