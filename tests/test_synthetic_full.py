"""The opt-in larger synthetic Kinetics sets (``features/synthetic_full.py``): real-size counts, chunked generation
in bounded memory, their own identity, loading through the store; run here at a tiny scale through the same code."""
import json
import tracemalloc

import numpy as np
import pytest

from conftest import reference
from zsar_bench.features import load_feature_set
from zsar_bench.features import synthetic_full as sf
from zsar_bench.features.arrow_store import check_real_name
from zsar_bench.features.base import FeatureStoreError
from zsar_bench.features.synthetic import FEATURE_DIM, TOP_K, world, world_identity


def test_full_counts_are_kinetics_zsar_real_sizes():
    c = sf.class_counts("synthetic-full")
    assert len(c) == 620
    assert c[:400].sum() == 240_000 and 0.55 * 600 <= c[:400].min() and c[:400].max() <= 1.45 * 600
    assert c[400:].sum() == 19_449 and c[400:].min() == 40 and c[400:].max() == 99
    assert (sf.class_counts("synthetic-x3") == 90).all()


def test_full_counts_match_ers_release():
    metas = reference("Kinetics/zsl220/tst_video_metas.jsonl")
    labels = [json.loads(line)["label"] for line in metas.read_text().splitlines() if line.strip()]
    want = np.bincount(labels, minlength=620)[400:]
    assert sf.class_counts("synthetic-full")[400:].tolist() == want.tolist()


def test_names_and_identities():
    assert sf.is_sized("synthetic-full") and sf.is_sized("synthetic-x1") and sf.is_sized("synthetic-x64")
    assert not any(sf.is_sized(n) for n in ("synthetic", "synthetic-x0", "synthetic-x65", "synthetic-xl", "full"))
    assert world_identity() == "synthetic-v2"  # the default world is untouched
    ids = {sf.sized_identity(n) for n in ("synthetic-full", "synthetic-x1", "synthetic-x3")}
    assert len(ids) == 3 and all(i.startswith("synthetic-v2-") and i != "synthetic-v2" for i in ids)
    assert sf.sized_identity("synthetic-x1", chunk=100) != sf.sized_identity("synthetic-x1")
    with pytest.raises(FeatureStoreError, match="kinetics only"):
        load_feature_set("olympics", "synthetic-full")
    with pytest.raises(FeatureStoreError, match="names starting 'synthetic-'"):
        check_real_name("synthetic-full")


@pytest.fixture
def tiny(monkeypatch):
    """synthetic-x2 at 4 clips per class, in chunks of 300 rows."""
    counts = np.full(620, 4)
    counts[:3] = [1, 2, 9]
    monkeypatch.setattr(sf, "class_counts", lambda name: counts)
    monkeypatch.setattr(sf, "CHUNK", 300)
    return counts


def test_tiny_set_through_the_store(tiny, data_root):
    fs = load_feature_set("kinetics", "synthetic-x2")
    n = int(tiny.sum())
    assert fs.is_synthetic and fs.name == "synthetic-x2"
    assert fs.identity == sf.sized_identity("synthetic-x2", tiny, 300) and fs.identity.startswith("synthetic-v2-x2.")
    assert np.bincount(fs.labels, minlength=620).tolist() == tiny.tolist()
    f = fs.videos.features
    assert f.shape == (n, FEATURE_DIM) and f.dtype == np.float32 and np.isfinite(f).all() and (f >= 0).all()
    assert fs.videos.concept_ids.shape == (n, TOP_K) and 0 <= fs.videos.concept_ids.min()
    assert fs.videos.concept_ids.max() < len(fs.concepts)
    assert (np.diff(fs.videos.concept_scores, axis=1) <= 0).all()  # scores descending
    assert len(set(fs.videos.video_ids.tolist())) == n
    assert fs.manifest["chunk"] == 300 and fs.manifest["counts"] == tiny.tolist()
    again = load_feature_set("kinetics", "synthetic-x2")  # from disk now, same arrays
    assert np.array_equal(again.videos.features, f) and np.array_equal(again.labels, fs.labels)


def test_chunks_are_reproducible_and_class_structured(tiny, tmp_path):
    a = sf.write_sized(tmp_path / "a", "synthetic-x2", tiny, chunk=300)
    b = sf.write_sized(tmp_path / "b", "synthetic-x2", tiny, chunk=300)
    assert a["files"]["features.npy"]["sha256"] == b["files"]["features.npy"]["sha256"]
    assert a["files"]["meta.npz"]["sha256"] == b["files"]["meta.npz"]["sha256"]
    c = sf.write_sized(tmp_path / "c", "synthetic-x2", tiny, chunk=250)
    assert c["files"]["features.npy"]["sha256"] != a["files"]["features.npy"]["sha256"]  # hence chunk in the id
    # clips of one class lie nearer their own class mean than other classes' clips do (the world's structure)
    feats = np.load(tmp_path / "a" / "features.npy").astype(np.float32)
    labels = np.load(tmp_path / "a" / "meta.npz")["labels"]
    means = np.stack([feats[labels == k].mean(0) for k in range(620)])
    d = ((feats[:, None, :] - means[None, 600:620]) ** 2).sum(-1)
    rows = labels >= 600
    assert (d[rows].argmin(1) == labels[rows] - 600).mean() > 0.5


def test_generation_memory_is_bounded_by_the_chunk(monkeypatch, tmp_path):
    """Peak memory while generating grows with the chunk, not with the set: far below one float32 matrix."""
    counts = np.full(620, 8)
    n = int(counts.sum())
    world()  # the shared world is built (and cached) before measuring
    tracemalloc.start()
    try:
        sf.write_sized(tmp_path / "m", "synthetic-x1", counts, chunk=128)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.25 * n * FEATURE_DIM * 4, peak
