"""Blinding (zsar_bench/measure/blinding.py): a method sees rows in a seeded order under fresh opaque ids, and its scores
come back in the harness's own row order, checked."""
import numpy as np
import pytest

from zsar_bench.measure.blinding import Blinder, score_checked
from zsar_bench.method import Method
from zsar_bench.types import ClassInfo, LabelledVideos, Videos


class _FirstColumns(Method):
    """Scores = the first C feature columns: a row's scores identify the row."""

    name = "first-columns"

    def fit(self, data, ctx):
        return self

    def score(self, videos, classes):
        self.seen_ids = list(videos.video_ids)
        return videos.features[:, :len(classes)]


def _data(n=12, c=3):
    r = np.random.default_rng(0)
    v = Videos(r.standard_normal((n, 5)).astype(np.float32), video_ids=np.array([f"v_class{i % c}_{i}" for i in range(n)]))
    return LabelledVideos(v, np.arange(n) % c, [ClassInfo(f"class{i}", f"class {i}", "") for i in range(c)])


def test_scores_come_back_in_the_harness_row_order():
    data = _data()
    m = _FirstColumns()
    s = Blinder(0, 1, "zsl").score(m, data, "test")
    np.testing.assert_array_equal(s, data.videos.features[:, :3].astype(np.float64))  # row i is clip i again
    assert sorted(m.seen_ids) != sorted(data.videos.video_ids.tolist())  # and the method saw other ids
    assert not any("class" in i for i in m.seen_ids)


def test_order_is_seeded_by_run_and_part():
    v = _data().videos
    _, a = Blinder(0, 1, "zsl").blind(v, "test")
    _, b = Blinder(0, 1, "zsl").blind(v, "test")
    _, c = Blinder(0, 1, "zsl").blind(v, "val")
    _, d = Blinder(1, 1, "zsl").blind(v, "test")
    assert a.tolist() == b.tolist() and sorted(a.tolist()) == list(range(12))
    assert a.tolist() != c.tolist() and a.tolist() != d.tolist()


def test_blinded_rows_and_labels_stay_together():
    data = _data()
    bl = Blinder(2, 0, "zsl").blind_labelled(data, "fit")
    _, order = Blinder(2, 0, "zsl").blind(data.videos, "fit")
    np.testing.assert_array_equal(bl.videos.features, data.videos.features[order])
    np.testing.assert_array_equal(bl.labels, data.labels[order])
    assert [c.identifier for c in bl.classes] == ["class0", "class1", "class2"]
    assert len(set(bl.videos.video_ids)) == 12
    assert all(len(i) == 16 for i in bl.videos.video_ids)  # 8-byte hex digests


def test_videos_without_ids_get_ids_too():
    data = _data()
    data.videos.video_ids = None
    out, order = Blinder(0, 0, "zsl").blind(data.videos, "test")
    assert len(set(out.video_ids)) == 12 and sorted(order.tolist()) == list(range(12))


class _Bad(_FirstColumns):
    def __init__(self, out):
        self.out = out

    def score(self, videos, classes):
        return self.out


@pytest.mark.parametrize("out, msg", [(np.zeros((12, 2)), r"shape \(12, 2\), expected \(12, 3\)"),
                                      (np.full((12, 3), np.nan), "NaN or inf"),
                                      (np.full((12, 3), np.inf), "NaN or inf")])
def test_score_checked_refuses_wrong_shapes_and_non_finite_scores(out, msg):
    with pytest.raises(ValueError, match=msg):
        score_checked(_Bad(out), _data())


def test_score_checked_returns_float64():
    s = score_checked(_Bad(np.ones((12, 3), np.float32)), _data())
    assert s.dtype == np.float64 and s.shape == (12, 3)


def test_ids_are_fresh_for_every_run_with_the_same_seed():
    v = _data().videos
    a, order_a = Blinder(0, 1, "zsl").blind(v, "test")
    b, order_b = Blinder(0, 1, "zsl").blind(v, "test")
    assert order_a.tolist() == order_b.tolist()  # the same seeded order ...
    assert not set(a.video_ids) & set(b.video_ids)  # ... under ids that cannot be matched across runs


def test_each_part_is_scored_in_its_own_order():
    class Recorder(_FirstColumns):
        def score(self, videos, classes):
            self.rows = videos.features[:, 0].tolist()
            return videos.features[:, :len(classes)]

    data, m, bl = _data(), Recorder(), Blinder(0, 1, "zsl")
    bl.score(m, data, "val")
    val_rows = m.rows
    bl.score(m, data, "test")
    assert val_rows != m.rows and sorted(val_rows) == sorted(m.rows)
