"""The common trainer's schedule, batches, optimiser and bookkeeping, each against a value worked out here."""
import math

import numpy as np
import pytest
import torch

from zsar_bench.method import FitContext
from zsar_bench.trainer import TrainConfig, Trainer, lr_factor


class _Toy:
    name = "toy"


def test_linear_warmup_then_cosine_by_hand():
    total, warm = 10, 4
    got = [lr_factor(s, total, warm, "linear", "cosine") for s in range(total)]
    want = [1 / 4, 2 / 4, 3 / 4, 4 / 4] + [0.5 * (1 + math.cos(math.pi * (s - 4) / 6)) for s in range(4, 10)]
    assert got == pytest.approx(want)
    assert lr_factor(12, total, warm, "linear", "cosine") == pytest.approx(0.0)  # past the end: the floor


def test_exponential_warmup_is_ers():
    # ER's release: lr * exp(5 (step / warmup - 1)) over the warmup steps
    assert [lr_factor(s, 20, 5, "exponential", "cosine") for s in range(5)] == pytest.approx(
        [math.exp(5.0 * ((s + 1) / 5 - 1.0)) for s in range(5)])
    assert lr_factor(4, 20, 5, "exponential", "cosine") == pytest.approx(1.0)


def test_constant_schedule_and_no_warmup():
    assert [lr_factor(s, 8, 0, "linear", "constant") for s in range(8)] == [1.0] * 8
    assert lr_factor(0, 8, 0, "linear", "cosine") == pytest.approx(1.0)
    assert lr_factor(2, 3, 3, "linear", "cosine") == pytest.approx(1.0)  # warmup only
    assert lr_factor(3, 3, 3, "linear", "cosine") == 1.0  # no cosine phase to decay over


def _fit(config: TrainConfig, n: int = 10, loss_fn=None, seed: int = 0):
    """Fit a linear net; returns (batches seen, lr per step, the optimiser, ctx.info, the net)."""
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    x, y = torch.randn(n, 3), torch.randn(n, 1)
    batches, lrs, opts = [], [], []
    ctx = FitContext(device="cpu", seed=seed)
    tr = Trainer(ctx, config)
    real = tr._optimizer

    def spy(params):
        opts.append(real(params))
        return opts[0]

    tr._optimizer = spy

    def step(idx):
        batches.append(idx.tolist())
        lrs.append(opts[0].param_groups[0]["lr"])
        return loss_fn(net, idx) if loss_fn else torch.nn.functional.mse_loss(net(x[idx]), y[idx])

    tr.fit(_Toy(), net, n, step)
    return batches, lrs, opts[0], ctx.info, net


def test_every_epoch_is_a_permutation_in_batches_of_the_batch_size():
    batches, _, _, info, _ = _fit(TrainConfig(epochs=3, batch_size=4, warmup_epochs=0))
    assert [len(b) for b in batches] == [4, 4, 2] * 3  # ceil(10 / 4) steps an epoch, the last one short
    for e in range(3):
        assert sorted(sum(batches[3 * e:3 * e + 3], [])) == list(range(10))
    assert batches[:3] != batches[3:6]  # reshuffled each epoch
    assert info["epochs"] == 3 and info["best_epoch"] == 3 and info["selected_on"] == "final epoch (fixed schedule)"
    dropped, *_ = _fit(TrainConfig(epochs=2, batch_size=4, warmup_epochs=0, drop_last=True))
    assert [len(b) for b in dropped] == [4, 4] * 2  # drop_last: floor(10 / 4) steps


def test_batches_follow_the_seed():
    a = _fit(TrainConfig(epochs=2, batch_size=4), seed=3)[0]
    assert a == _fit(TrainConfig(epochs=2, batch_size=4), seed=3)[0]
    assert a != _fit(TrainConfig(epochs=2, batch_size=4), seed=4)[0]


def test_learning_rate_per_step_follows_the_schedule():
    c = TrainConfig(epochs=4, batch_size=5, lr=0.2, warmup_epochs=1.0, warmup="linear", schedule="cosine")
    _, lrs, *_ = _fit(c)  # 2 steps an epoch, 8 steps, 2 of warmup
    assert lrs == pytest.approx([0.2 * lr_factor(s, 8, 2, "linear", "cosine") for s in range(8)])
    assert lrs[0] == pytest.approx(0.1) and lrs[1] == pytest.approx(0.2)
    half = _fit(TrainConfig(epochs=2, batch_size=5, lr=1.0, warmup_epochs=0.5, schedule="constant"))[1]
    assert half == pytest.approx([1.0] * 4)  # round(0.5 * 2) = 1 warmup step: (0 + 1) / 1


@pytest.mark.parametrize("name, cls, wd", [("adam", torch.optim.Adam, 0.0), ("adamw", torch.optim.AdamW, 0.01),
                                           ("sgd", torch.optim.SGD, 1e-4)])
def test_optimiser_kind_lr_and_weight_decay(name, cls, wd):
    *_, opt, _, _ = _fit(TrainConfig(epochs=1, optimizer=name, lr=0.03, weight_decay=wd, schedule="constant",
                                     warmup_epochs=0))
    assert type(opt) is cls and opt.defaults["lr"] == 0.03 and opt.defaults["weight_decay"] == wd
    if name == "sgd":
        assert opt.defaults["momentum"] == 0.9
    with pytest.raises(ValueError, match="unknown optimizer"):
        Trainer(FitContext(), TrainConfig(optimizer="lbfgs"))._optimizer([torch.nn.Parameter(torch.zeros(1))])


def test_gradients_are_clipped_to_the_configured_norm():
    seen = []

    def loss(net, idx):  # a huge loss: unclipped gradient norm far above 1
        if net.weight.grad is not None:
            seen.append(float(torch.cat([p.grad.flatten() for p in net.parameters()]).norm()))
        return 1e4 * net(torch.ones(len(idx), 3)).sum()

    _fit(TrainConfig(epochs=2, batch_size=10, grad_clip=1.0, optimizer="sgd", warmup_epochs=0), loss_fn=loss)
    assert seen and all(s == pytest.approx(1.0, rel=1e-4) for s in seen)  # the previous step's, after clipping
    seen.clear()
    _fit(TrainConfig(epochs=2, batch_size=10, grad_clip=None, optimizer="sgd", warmup_epochs=0), loss_fn=loss)
    assert seen and all(s > 100 for s in seen)  # control: without clipping they stay large


def test_a_non_finite_loss_stops_with_a_clear_error():
    with pytest.raises(FloatingPointError, match="toy: loss became nan at epoch 1; lower the lr"):
        _fit(TrainConfig(epochs=2), loss_fn=lambda net, idx: net(torch.ones(len(idx), 3)).sum() * float("nan"))


def test_info_reports_the_last_epochs_mean_loss():
    losses = []

    def loss(net, idx):
        v = torch.nn.functional.mse_loss(net(torch.ones(len(idx), 3)), torch.zeros(len(idx), 1))
        losses.append(float(v.detach()))
        return v

    *_, info, _ = _fit(TrainConfig(epochs=2, batch_size=4, warmup_epochs=0), loss_fn=loss)
    assert info["final_loss"] == pytest.approx(np.mean(losses[3:]))


def test_batch_order_does_not_depend_on_what_the_step_draws():
    """The trainer draws batches from its own generator: a step that uses the global RNG (dropout does) leaves
    the batch order unchanged."""
    plain = _fit(TrainConfig(epochs=2, batch_size=4))[0]
    drawing = _fit(TrainConfig(epochs=2, batch_size=4), loss_fn=lambda net, idx: (
        torch.rand(7).sum() * 0 + net(torch.ones(len(idx), 3)).pow(2).mean()))[0]
    assert plain == drawing


def test_cpu_fits_switch_on_deterministic_algorithms_with_warnings_only():
    torch.use_deterministic_algorithms(False)
    try:
        _fit(TrainConfig(epochs=1))
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        torch.use_deterministic_algorithms(False)


def test_only_the_parameter_groups_handed_over_are_trained():
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    bias0 = net.bias.detach().clone()
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    tr = Trainer(FitContext(device="cpu", seed=0), TrainConfig(epochs=2, batch_size=4, lr=0.1, warmup_epochs=0))
    tr.fit(_Toy(), net, 8, lambda idx: torch.nn.functional.mse_loss(net(x[idx]), y[idx]),
           param_groups=[{"params": [net.weight], "weight_decay": 0.0}])
    assert torch.equal(net.bias.detach(), bias0)  # not handed over: untouched
