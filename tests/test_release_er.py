"""ER against the official release's own code (DeLightCMU/ElaborativeRehearsal, in ../shared/reference).

The release's ``PrecompERVSEModel`` (fusion_type 3, object stream through the text module) and its
training step ``PrecompERVSEModelLFHelper.train_one_step`` are built with random weights; the
project's ``ERNet`` gets the same weights, and both see identical inputs. The release's BERT backbone
is swapped for its own ``TextEmbedding`` backbone (same interface: token states [n, L, H] and a mask),
since BERT weights cannot be fetched here; everything after the token states is the release's code.
Dropout is off on both sides (eval mode). Skipped when ../shared is absent.
"""
import sys
import types

import numpy as np
import pytest
import torch

from conftest import SHARED_REF

CODE = SHARED_REF / "code"


class AttrDict(dict):
    """The release reads its YAML config through EasyDict; attribute access is all it needs."""

    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError:
            raise AttributeError(k) from None


def attr(d):
    return AttrDict({k: attr(v) if isinstance(v, dict) else v for k, v in d.items()})


@pytest.fixture
def release(monkeypatch):
    if not (CODE / "zeroshot" / "models" / "ervse.py").exists():
        pytest.skip("../shared/reference/er-zsar/code not present")
    monkeypatch.syspath_prepend(str(CODE))
    for missing in ("tensorboardX", "easydict"):  # imported by the release's framework, unused here
        if missing not in sys.modules:
            try:
                __import__(missing)
            except ImportError:
                monkeypatch.setitem(sys.modules, missing, types.ModuleType(missing))
    before = set(sys.modules)
    import zeroshot.models.ervse as ervse

    yield ervse
    for name in set(sys.modules) - before:  # leave no release module behind for other tests
        if name.split(".")[0] in ("zeroshot", "framework"):
            del sys.modules[name]


FEAT, WORDS, HID, DIM, T = 32, 60, 24, 512, 0.1


def build(ervse, er_weight: float):
    cfg = attr({
        "model": {
            "vis_encoder": {"dim_input": FEAT, "dim_embed": DIM, "dropout": 0.0, "l2norm": True},
            "txt_backbone": {"type": "TextEmbedding", "kwargs": {"num_words": WORDS, "dim_word": HID,
                                                                  "fix_word_embed": True}},
            "txt_encoder": {"dim_input": HID, "dim_embed": DIM, "pooling_method": "avg", "dropout": 0.5,
                            "l2norm": True},
            "comb_obj_stream": True, "topk_vis_cpts": 5, "fusion_type": 3, "clamp_obj_logits": True},
        "trainer": {"loss": {"er_loss_weight": er_weight, "type": "ce", "kwargs": {"temporature": T}},
                    "monitor_iter": 0},
    })
    helper = object.__new__(ervse.PrecompERVSEModelLFHelper)  # no trainer set-up: only its step is used
    helper.config, helper.device, helper.is_main_process = cfg, torch.device("cpu"), True
    helper.print_fn = lambda *a: None
    helper.criterion = torch.nn.CrossEntropyLoss()
    helper.model = ervse.PrecompERVSEModel(cfg.model)
    return helper


def inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    B, C, K = 6, 5, 9

    def text(n, L):
        ids = torch.randint(1, WORDS, (n, L), generator=g)
        lens = torch.randint(2, L + 1, (n,), generator=g)
        mask = torch.arange(L)[None] < lens[:, None]
        return ids * mask, mask

    txt_ids, txt_masks = text(C, 7)
    vis_cpt_ids, vis_cpt_masks = text(B, 11)
    er_cpt_ids, er_cpt_masks = text(K, 6)
    targets = torch.randint(0, C, (B,), generator=g)
    ml = torch.zeros(B, K, dtype=torch.bool)
    for b in range(B):
        ml[b, torch.randperm(K, generator=g)[:3]] = True
    return {"vis_fts": torch.rand(B, FEAT, generator=g) * 3, "txt_ids": txt_ids, "txt_masks": txt_masks,
            "targets": targets, "vis_cpt_ids": vis_cpt_ids, "vis_cpt_masks": vis_cpt_masks,
            "er_cpt_ids": er_cpt_ids, "er_cpt_masks": er_cpt_masks, "er_cpt_ml_targets": ml}


def project_net(model):
    """The project's ERNet carrying the release model's weights."""
    from zsar_bench.models.er import ERNet

    net = ERNet(FEAT, HID, DIM)
    with torch.no_grad():
        for mine, theirs in [(net.video_fc, model.vis_encoder.ft_embed), (net.text_head.fc, model.txt_encoder.ft_embed),
                             (net.gate_v[0], model.act_gate_fc[0]), (net.gate_v[3], model.act_gate_fc[3]),
                             (net.gate_o[0], model.obj_gate_fc[0]), (net.gate_o[3], model.obj_gate_fc[3])]:
            mine.weight.copy_(theirs.weight)
            mine.bias.copy_(theirs.bias)
    return net.eval()


def project_forward(net, model, x):
    tokens = lambda ids, m: (model.txt_backbone(ids, m), m)  # noqa: E731  (the release's token states)
    z = net.text(tokens(x["txt_ids"], x["txt_masks"]))
    v, o = net.video(x["vis_fts"], tokens(x["vis_cpt_ids"], x["vis_cpt_masks"]))
    c = net.text(tokens(x["er_cpt_ids"], x["er_cpt_masks"]))
    return z, v, o, c


def test_fused_scores_match_the_release(release):
    from zsar_bench.models.er import ERNet

    torch.manual_seed(0)  # fixed release weights: with seed 0 some object scores are negative (asserted below)
    helper = build(release, 1.0)
    model = helper.model.eval()
    with torch.no_grad():  # without the shared bias, texts point in diverse directions: some object scores < 0
        model.txt_encoder.ft_embed.bias.zero_()
    x = inputs()
    with torch.no_grad():
        outs = model(x)
        act = helper.generate_scores(outs["vis_embeds"], outs["txt_embeds"])
        obj = helper.generate_scores(outs["vis_cpt_embeds"], outs["txt_embeds"])
        theirs = act + obj.clamp(min=0)
        z, v, o, _ = project_forward(project_net(model), model, x)
        mine = ERNet.scores(v, o, z)
    assert (obj < 0).any(), "inputs should exercise the clamp"
    torch.testing.assert_close(mine["video"], act, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(mine["object"], obj, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(mine["fused"], theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_loss_terms_match_the_release(release, seed):
    """Action loss (ER loss weight 0) and total loss (weight 1) of the release's training step; the ER
    loss is their difference. The project computes each term with its own functions."""
    from zsar_bench.models.er import ERNet, action_loss, er_loss

    torch.manual_seed(seed)
    helper_act = build(release, 0.0)
    helper_all = build(release, 1.0)
    helper_all.model.load_state_dict(helper_act.model.state_dict())
    x = inputs(seed)
    with torch.no_grad():
        helper_act.model.eval(), helper_all.model.eval()
        their_act = float(helper_act.train_one_step(x))
        their_total = float(helper_all.train_one_step(x))
        z, v, o, c = project_forward(project_net(helper_act.model), helper_act.model, x)
        my_act = float(action_loss(ERNet.scores(v, o, z), x["targets"], T))
        my_er = float(er_loss(ERNet.scores(v, o, c, clamp=False), x["er_cpt_ml_targets"].float(), T))
    assert np.isclose(my_act, their_act, rtol=1e-5, atol=1e-5)
    assert np.isclose(my_er, their_total - their_act, rtol=1e-5, atol=1e-5)
    assert my_er > 0.1  # a real term, not a vanishing one
