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


def test_a_second_encoder_takes_the_frozen_prefix_from_the_process_cache_bit_for_bit():
    """The process's frozen-prefix cache (text.partial.PREFIX_CACHE, which spares a second fit of er-paper the
    frozen layers): a new encoder of the same weights gets a batch's states without running the frozen layers,
    and they equal, bit for bit, the states an encoder without the cache computes; changed frozen weights or
    another max_length never hit."""
    from zsar_bench.text import partial as partial_mod

    def frozen_runs(enc):
        calls = []
        enc.model.embeddings.register_forward_hook(lambda mod, inp, out: calls.append(1))
        return calls

    partial_mod.PREFIX_CACHE.clear()
    a = PartialFineTuneEncoder("minilm", trainable_layers=2, max_length=64).eval()
    a.precompute(a.register(TEXTS))
    assert len(partial_mod.PREFIX_CACHE) == 1  # one batch
    b = PartialFineTuneEncoder("minilm", trainable_layers=2, max_length=64).eval()
    runs_b = frozen_runs(b)
    ids = b.register(TEXTS)
    b.precompute(ids)
    assert runs_b == [] and all(b._states[i] is a._states[i] for i in ids.tolist())  # served from the cache
    ref = PartialFineTuneEncoder("minilm", trainable_layers=2, max_length=64, share_prefix=False).eval()
    runs_ref = frozen_runs(ref)
    ref.precompute(ref.register(TEXTS))
    assert runs_ref == [1] and len(partial_mod.PREFIX_CACHE) == 1  # computed, not stored
    for i in ids.tolist():
        assert torch.equal(b._states[i], ref._states[i])
    with torch.no_grad():  # the frozen states feed the trainable layers: the encodings agree bit for bit too
        assert torch.equal(b(ids), ref(ids))

    ref.share_prefix = True  # other frozen weights: another fingerprint, computed again
    with torch.no_grad():
        ref.model.embeddings.word_embeddings.weight[:, 0] += 1.0
    ref.clear_cache()
    ref.precompute(ids)
    assert runs_ref == [1, 1] and not torch.equal(ref._states[0], b._states[0])
    short = PartialFineTuneEncoder("minilm", trainable_layers=2, max_length=8).eval()  # other tokens: computed
    runs_short = frozen_runs(short)
    short.precompute(short.register(TEXTS))
    assert runs_short == [1] and len(partial_mod.PREFIX_CACHE) == 3
    partial_mod.PREFIX_CACHE.clear()


def test_missing_bert_is_a_clear_error(tmp_path):
    with pytest.raises(TextEncoderError, match="local folder"):
        PartialFineTuneEncoder(str(tmp_path / "no-such-bert"))


def test_er_paper_code_path_on_minilm(plugins, olympics_features):
    from zsar_bench.datasets import get_dataset
    from zsar_bench.measure.folds import make_fold_data
    from zsar_bench.running.runner import score_checked
    from zsar_bench.splits import load_protocol

    fold = load_protocol("olympics", "random-50-50").folds[0]
    data = make_fold_data(olympics_features, get_dataset("olympics").classes(), fold)
    small = data.fit.train
    keep = np.arange(0, len(small.videos), 6)  # a few clips keep this under a few seconds
    small.videos, small.labels = small.videos.subset(keep), small.labels[keep]
    m = build_method("er-paper", {"text_encoder": "minilm", "epochs": "1", "batch_size": "32"})
    from zsar_bench.trainer import Trainer

    groups = {}
    real = Trainer._optimizer

    def spy(self, params):  # the optimiser's parameter groups as ER's fit hands them over
        groups.update({g["name"]: g for g in params})
        return real(self, params)

    Trainer._optimizer = spy
    try:
        m.fit(data.fit, FitContext(device="cpu", seed=0))
    finally:
        Trainer._optimizer = real
    s = score_checked(m, data.test)
    assert s.shape == (len(data.test.videos), len(fold.unseen))
    # point 5: the fine-tuned text layers train without weight decay, the projections and gates with 1e-4
    tower = {id(p) for p in m.net_.tower.parameters() if p.requires_grad}
    assert groups["text encoder"]["weight_decay"] == 0.0 and {id(p) for p in groups["text encoder"]["params"]} == tower
    assert groups["projections"]["weight_decay"] == m.weight_decay == 1e-4
    assert not tower & {id(p) for p in groups["projections"]["params"]}
    assert any(id(p) == id(m.net_.gate_v[0].weight) for p in groups["projections"]["params"])


def test_object_text_shares_the_class_text_module():
    """Point 1: the clip's concept text goes through the same text module as class texts."""
    from zsar_bench.models.er import ERNet

    torch.manual_seed(0)
    net = ERNet(16, 8, 4, use_video=False).eval()
    emb = torch.randn(3, 8)
    _, o = net.video(None, emb)
    torch.testing.assert_close(o, net.text(emb))
    assert not hasattr(net, "obj_fc")
    h, mask = torch.randn(2, 5, 8), torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    torch.testing.assert_close(net.video(None, (h, mask))[1], net.text((h, mask)))


def test_gates_have_dropout_active_in_training():
    """Point 2: each gate is Linear, ReLU, Dropout(0.5), Linear, Sigmoid; dropout acts in train mode only."""
    from zsar_bench.models.er import ERNet

    torch.manual_seed(0)
    net = ERNet(16, 8, 32)
    for g in (net.gate_v, net.gate_o):
        kinds = [type(m).__name__ for m in g]
        assert kinds == ["Linear", "ReLU", "Dropout", "Linear", "Sigmoid"] and g[2].p == 0.5
    vo = torch.randn(4, 64)
    net.train()
    assert not torch.allclose(net.gate_v(vo), net.gate_v(vo))
    net.eval()
    torch.testing.assert_close(net.gate_v(vo), net.gate_v(vo))


def test_text_dropout_acts_on_token_states_before_pooling():
    """Point 3: dropout on [n, L, H] token states, then masked mean, Linear, L2 (hand computation)."""
    from zsar_bench.models.er import TextHead

    torch.manual_seed(0)
    head = TextHead(8, 4, dropout=0.5).train()
    seen = []
    head.dropout.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape))
    h, mask = torch.randn(2, 5, 8), torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    torch.manual_seed(1)
    got = head((h, mask))
    assert seen == [torch.Size([2, 5, 8])]
    torch.manual_seed(1)
    keep = torch.nn.functional.dropout(torch.ones_like(h), 0.5, training=True)  # the same mask draw
    m = mask.unsqueeze(-1).float()
    want = torch.nn.functional.normalize(head.fc((h * keep * m).sum(1) / m.sum(1)), dim=-1)
    torch.testing.assert_close(got, want)


def test_er_loss_uses_the_unclamped_fused_score():
    """Point 4: the ER loss's fused term is v'.c + o'.c, without the class score's clamp."""
    from zsar_bench.models.er import ERNet, er_loss

    v = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    o = torch.tensor([[0.0, -1.0], [-1.0, 0.0]])  # object scores negative: a clamp would change them
    c = torch.tensor([[0.6, 0.8], [0.8, -0.6], [-1.0, 0.0]])
    pos = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    t = 0.1
    got = er_loss(ERNet.scores(v, o, c, clamp=False), pos, t)
    vn, on, cn, pn = v.numpy(), o.numpy(), c.numpy(), pos.numpy().astype(bool)

    def term(s):
        s = s / t
        logp = s - np.log(np.exp(s - s.max(1, keepdims=True)).sum(1, keepdims=True)) - s.max(1, keepdims=True)
        return -logp[pn].mean()

    want = term(vn @ cn.T + on @ cn.T) + term(vn @ cn.T) + term(on @ cn.T)
    assert abs(float(got) - want) < 1e-4
    clamped = er_loss(ERNet.scores(v, o, c, clamp=True), pos, t)
    assert abs(float(clamped) - want) > 1e-2  # the clamp would have made a difference here


def test_er_loss_equals_boolean_mask_indexing_bit_for_bit():
    """er_loss finds the positives once for the three streams; loss and gradients are those of indexing each
    stream by the boolean mask (the release's form), bit for bit."""
    from zsar_bench.models.er import er_loss

    torch.manual_seed(0)
    base = {k: torch.randn(32, 90) for k in ("fused", "video", "object")}
    pos = torch.zeros(32, 90)
    pos.scatter_(1, torch.randint(0, 90, (32, 5)), 1.0)

    def run(loss_fn):
        sc = {k: v.clone().requires_grad_(True) for k, v in base.items()}
        loss = loss_fn(sc)
        loss.backward()
        return loss.detach(), [sc[k].grad for k in sc]

    got = run(lambda sc: er_loss(sc, pos, 0.1))
    want = run(lambda sc: sum(-torch.nn.functional.log_softmax(s / 0.1, dim=1)[pos.bool()].mean() for s in sc.values()))
    assert torch.equal(got[0], want[0]) and all(torch.equal(a, b) for a, b in zip(got[1], want[1]))


def test_fused_score_is_video_plus_positive_object_part():
    from zsar_bench.models.er import ERNet

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


def test_er_training_loss_is_the_action_loss_plus_one_times_the_er_loss(plugins, olympics_features, monkeypatch):
    """ER's default objective on one batch: the action loss (CE over the seen classes, three streams) plus
    1 x the ER loss (the batch's concepts as candidates, each clip's own top-5 as positives), as the paper and the
    fidelity record state. Both terms are computed here from the net's stream scores by hand."""
    import torch.nn.functional as F

    from zsar_bench.datasets import get_dataset
    from zsar_bench.measure.folds import make_fold_data
    from zsar_bench.models.er import N_OBJECTS, object_texts
    from zsar_bench.splits import load_protocol
    from zsar_bench.text.styles import class_texts

    fold = load_protocol("olympics", "random-50-50").folds[0]
    train = make_fold_data(olympics_features, get_dataset("olympics").classes(), fold).fit
    captured = {}

    class CaptureTrainer:  # the harness's trainer, replaced by one that keeps ER's step function
        def fit(self, method, module, n_samples, step, param_groups=None):
            captured["step"] = step

    monkeypatch.setattr(FitContext, "trainer", lambda self, **config: CaptureTrainer())
    m = build_method("er", {})
    m.fit(train, FitContext(device="cpu", seed=0))
    net = m.net_.eval()  # dropout off: the step and the hand computation see the same network
    idx = torch.arange(0, 24)
    with torch.no_grad():
        got = float(captured["step"](idx))
        v = train.train.videos
        z = net.text(m._embed(class_texts(train.train.classes, m.text_style)))
        vv, oo = net.video(torch.as_tensor(v.features[:24], dtype=torch.float32),
                           m._embed(object_texts(train.concepts, v.concept_ids[:24])))
        y = torch.as_tensor(train.train.labels[:24])
        t = m.temperature
        action = sum(F.cross_entropy(s / t, y) for s in net.scores(vv, oo, z).values())
        own = v.concept_ids[:24, :N_OBJECTS]
        cand = sorted(set(own.ravel().tolist()))
        c = net.text(m._embed([train.concepts.texts()[j] for j in cand]))
        er = 0.0
        for s in net.scores(vv, oo, c, clamp=False).values():
            logp = F.log_softmax(s / t, dim=1)
            er += -np.mean([float(logp[i, cand.index(j)]) for i in range(24) for j in set(own[i].tolist())])
    assert m.er_weight == 1.0 and float(er) > 0.1  # the ER term is large enough to tell a wrong weight
    assert got == pytest.approx(float(action) + 1.0 * float(er), rel=1e-5)
