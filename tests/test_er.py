"""ER specifics: the frozen-prefix cache equals the full encoder; er-paper's code path runs on the
packaged MiniLM; the ER loss and fusion behave as the paper says."""
import numpy as np
import pytest
import torch

from zsar_bench.method import FitContext, build_method
from zsar_bench.text.encoders import TextEncoderError
from zsar_bench.text.partial import PartialFineTuneEncoder

TEXTS = ["brush hair: a person pulls a brush through long hair in front of a mirror",
         "golf: a player swings a club at a small white ball on a green course, following through",
         "short text", "barbell: a long metal bar with heavy plates at each end"]


@pytest.fixture(scope="module")
def partial():
    enc = PartialFineTuneEncoder("minilm", trainable_layers=2, max_length=64)
    enc.eval()
    return enc


def test_cached_prefix_equals_full_encoder(partial):
    ids = partial.register(TEXTS)
    with torch.no_grad():
        cached = partial(ids)
        full = partial.forward_full(ids)
    torch.testing.assert_close(cached, full, rtol=1e-5, atol=2e-5)


def test_cached_prefix_gradients_reach_only_trainable_layers(partial):
    partial.train()
    ids = partial.register(TEXTS[:2])
    partial(ids).sum().backward()
    layers = partial.model.encoder.layer
    assert all(p.grad is None for p in partial.model.embeddings.parameters())
    assert all(p.grad is None for p in layers[0].parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in layers[-1].parameters())
    partial.zero_grad(set_to_none=True)
    partial.eval()


def test_missing_bert_is_a_clear_error(tmp_path):
    with pytest.raises(TextEncoderError, match="local folder"):
        PartialFineTuneEncoder(str(tmp_path / "no-such-bert"))


def test_er_paper_code_path_on_minilm(plugins, olympics_features):
    from zsar_bench.datasets import get_dataset
    from zsar_bench.runner import make_fold_data, score_checked
    from zsar_bench.splits import load_protocol

    fold = load_protocol("olympics", "random-50-50").folds[0]
    data = make_fold_data(olympics_features, get_dataset("olympics").classes(), fold)
    small = data.fit.train
    keep = np.arange(0, len(small.videos), 6)  # a few clips keep this under a few seconds
    small.videos, small.labels = small.videos.subset(keep), small.labels[keep]
    m = build_method("er-paper", {"text_encoder": "minilm", "epochs": "1", "batch_size": "32"})
    m.fit(data.fit, FitContext(device="cpu", seed=0))
    s = score_checked(m, data.test)
    assert s.shape == (len(data.test.videos), len(fold.unseen))


def test_fused_score_is_video_plus_positive_object_part():
    from zsar_bench.er import ERNet

    v = torch.tensor([[1.0, 0.0]])
    o = torch.tensor([[0.0, 1.0]])
    z = torch.tensor([[0.6, -0.8], [0.6, 0.8]])
    s = ERNet.scores(v, o, z)
    torch.testing.assert_close(s["fused"], torch.tensor([[0.6, 1.4]]))


def test_er_ablation_flags(plugins):
    assert build_method("er-ed").use_objects is False and build_method("er-ed").er_loss is False
    assert build_method("er-obj").use_video is False and build_method("er-obj").er_loss is True
    assert build_method("er-noer").er_loss is False and build_method("er-name").text_style == "name"
    p = build_method("er-paper")
    assert (p.text_encoder, p.tower, p.trainable_layers, p.lr) == ("bert-base-uncased", "partial", 2, 1e-4)
