"""The trainer's fast optimiser path (fused kernels) is the same update as the per-tensor loop: a net fit through
``Trainer.fit`` with the optimiser it builds ends, to float rounding, where the same fit with the textbook
per-tensor optimiser for its config ends; and a fit is deterministic for a seed."""
from types import SimpleNamespace

import pytest
import torch

from zsar_bench.method import FitContext
from zsar_bench.trainer import Trainer

# weight decay and lr large enough that Adam vs AdamW, a dropped weight decay or another momentum show
CONFIGS = {"adam": dict(optimizer="adam", lr=1e-2, weight_decay=0.1),
           "adamw": dict(optimizer="adamw", lr=1e-2, weight_decay=0.1),
           "sgd": dict(optimizer="sgd", lr=5e-2, weight_decay=0.1)}


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 8))


def _loop_optimizer(self, params):
    """The optimiser ``TrainConfig`` names, as torch's per-tensor loop (foreach=False), built here from the
    config (not by the trainer): adam / adamw with the config's lr and weight decay, sgd with momentum 0.9."""
    c = self.config
    kw = dict(lr=c.lr, weight_decay=c.weight_decay, foreach=False)
    if c.optimizer == "adam":
        return torch.optim.Adam(params, **kw)
    if c.optimizer == "adamw":
        return torch.optim.AdamW(params, **kw)
    assert c.optimizer == "sgd"
    return torch.optim.SGD(params, momentum=0.9, **kw)


def _fit(name: str, monkeypatch, seed: int = 0, loop: bool = False):
    """Fit ``_net()`` through ``Trainer.fit`` (5 epochs of 8 batches: warmup, cosine, clipping); return the
    parameters before and after, and the optimiser the trainer stepped."""
    built = []
    make = _loop_optimizer if loop else Trainer._optimizer

    def spy(self, params):
        built.append(make(self, params))
        return built[-1]

    monkeypatch.setattr(Trainer, "_optimizer", spy)
    net = _net()
    init = [p.detach().clone() for p in net.parameters()]
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(64, 64, generator=g), torch.randint(0, 8, (64,), generator=g)
    trainer = FitContext(device="cpu", seed=seed).trainer(epochs=5, batch_size=8, **CONFIGS[name])
    trainer.fit(SimpleNamespace(name="net"), net, len(y), lambda idx: torch.nn.functional.cross_entropy(net(x[idx]), y[idx]))
    assert len(built) == 1
    return init, [p.detach().clone() for p in net.parameters()], built[0]


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_fused_update_equals_the_loop_to_rounding(name, monkeypatch):
    init, fused, opt = _fit(name, monkeypatch)
    _, loop, ref = _fit(name, monkeypatch, loop=True)
    assert opt.defaults["fused"] is True and ref.defaults["foreach"] is False and not ref.defaults["fused"]
    for a, b in zip(loop, fused):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6), (a - b).abs().max()
    # and the parameters did move (the comparison is not between two untouched copies)
    assert max((a - b).abs().max().item() for a, b in zip(init, fused)) > 1e-2


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_fused_update_is_deterministic(name, monkeypatch):
    _, first, _ = _fit(name, monkeypatch, seed=0)
    _, again, _ = _fit(name, monkeypatch, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    # control: another seed (another batch order) ends elsewhere, so equality above is not vacuous
    _, other, _ = _fit(name, monkeypatch, seed=1)
    assert max((a - b).abs().max().item() for a, b in zip(first, other)) > 1e-4


def test_trainer_builds_fused_optimisers():
    from zsar_bench.trainer import TrainConfig

    for name in ("adam", "adamw", "sgd"):
        opt = Trainer(FitContext(), TrainConfig(optimizer=name))._optimizer([torch.nn.Parameter(torch.zeros(3))])
        assert opt.defaults["fused"] is True


def test_clip_grad_norm_equals_torch_bit_for_bit():
    """The trainer's clipping skips torch's multiply by exactly 1.0; on steps that clip and steps that do not,
    the parameters stay equal to torch.nn.utils.clip_grad_norm_'s, bit for bit."""
    from zsar_bench.trainer import clip_grad_norm

    def train(clip) -> tuple[list[torch.Tensor], int]:
        m = _net()
        opt = torch.optim.SGD(m.parameters(), lr=0.5)
        x, y = torch.randn(16, 64) * 3, torch.randint(0, 8, (16,))
        clipped = 0
        for i in range(30):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(m(x * (1 + i % 3)), y).backward()
            clipped += int(clip(m, 1.0) > 1.0)
            opt.step()
        return [p.detach().clone() for p in m.parameters()], clipped

    ours, n_ours = train(clip_grad_norm)
    ref, n_ref = train(lambda m, c: torch.nn.utils.clip_grad_norm_(m.parameters(), c))
    assert n_ours == n_ref and 0 < n_ref < 30  # both branches ran
    assert all(torch.equal(a, b) for a, b in zip(ours, ref))


def test_clip_grad_norm_with_a_nan_gradient_acts_as_torch():
    from zsar_bench.trainer import clip_grad_norm

    def grads(clip):
        m = torch.nn.Linear(3, 2)
        m.weight.grad = torch.tensor([[1.0, float("nan"), 0.0], [0.0, 0.0, 0.0]])
        m.bias.grad = torch.tensor([0.5, 0.5])
        clip(m, 10.0)
        return [m.weight.grad, m.bias.grad]

    ours = grads(clip_grad_norm)
    ref = grads(lambda m, c: torch.nn.utils.clip_grad_norm_(m.parameters(), c))
    assert all(torch.equal(a.isnan(), b.isnan()) for a, b in zip(ours, ref))
