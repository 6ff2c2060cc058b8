"""The driver's one-time text encodings (``sweep.pre_encode``) cover every text a run embeds: after it, a fold
of ``er`` encodes nothing (every class, concept and per-clip object text is in the disk cache)."""
import pytest

from zsar_bench.features import load_feature_set
from zsar_bench.running.planning import plan_runs
from zsar_bench.running.resolve import run_fold
from zsar_bench.running.sweep import pre_encode
from zsar_bench.text import encoders


def test_pre_encoded_texts_cover_an_er_fold(monkeypatch):
    spec = plan_runs("er", "olympics", folds="1", device="cpu", method_args=["er.epochs=1"])[0]
    fs = load_feature_set("olympics", "synthetic")
    logs = []
    pre_encode([spec], lambda s: fs, logs.append)
    assert pre_encode([spec], lambda s: fs, logs.append) == 0  # the second time: all cached

    def refuse(self, texts):
        raise AssertionError(f"encoded {len(texts)} text(s) during the fold: pre_encode missed them")

    monkeypatch.setattr(encoders.HFTextEncoder, "encode", refuse)
    rec = run_fold(spec, fs)
    assert 0.0 <= rec["top1"] <= 1.0


def test_methods_without_a_frozen_encoder_declare_nothing(plugins):
    from zsar_bench.datasets import get_dataset
    from zsar_bench.method import build_method

    fs = load_feature_set("olympics", "synthetic")
    classes = get_dataset("olympics").classes()
    assert build_method("w2v", {}).text_encodings(classes, fs.concepts, fs.videos.concept_ids) == []
    assert build_method("er", {"tower": "partial"}).text_encodings(classes, fs.concepts, fs.videos.concept_ids) == []
    plan = build_method("er", {}).text_encodings(classes, fs.concepts, fs.videos.concept_ids)
    assert len(plan) == 1 and len(plan[0].texts) == len(classes) + len(fs.concepts) + len(fs.labels)


@pytest.mark.parametrize("model_batch", [None, 4])
def test_model_batch_is_restored(model_batch):
    class Fake:
        batch_size = 64
        identity, dim, pooling, max_length = "fake-encoder-test", 2, "mean", 8

        def encode(self, texts):
            import numpy as np

            assert self.batch_size == (model_batch or 64)
            return np.ones((len(texts), 2), np.float32)

    enc = encoders.CachedTextEncoder(Fake(), progress=False)
    enc.encode([f"t{i}-{model_batch}" for i in range(3)], model_batch=model_batch)
    assert enc.encoder.batch_size == 64


def test_on_progress_counts_each_encoded_batch_and_nothing_cached():
    """The driver's progress display follows the encoder's own batches (length-sorted, ``batch_size`` each)."""
    import numpy as np

    class Fake:
        identity, dim, pooling, max_length = "fake-encoder-progress", 2, "mean", 8

        def encode(self, texts):
            return np.ones((len(texts), 2), np.float32)

    enc = encoders.CachedTextEncoder(Fake(), progress=False)
    texts = [f"progress text {i}" for i in range(7)]
    enc.encode(texts[:2])  # two already cached: not counted again
    seen = []
    enc.encode(texts, batch_size=2, on_progress=seen.append)
    assert seen == [2, 2, 1]
