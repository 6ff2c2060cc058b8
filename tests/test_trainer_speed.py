"""The trainer's fast optimiser path (fused kernels) is the same update as the per-tensor loop: parameters
agree to float rounding after many steps, and the update is deterministic."""
import pytest
import torch

MAKE = {"adam": lambda p, **k: torch.optim.Adam(p, lr=1e-3, weight_decay=1e-4, **k),
        "adamw": lambda p, **k: torch.optim.AdamW(p, lr=1e-3, weight_decay=1e-4, **k),
        "sgd": lambda p, **k: torch.optim.SGD(p, lr=1e-2, momentum=0.9, weight_decay=1e-4, **k)}


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 8))


def _train(name: str, **impl) -> list[torch.Tensor]:
    m = _net()
    x, y = torch.randn(16, 64), torch.randint(0, 8, (16,))
    opt = MAKE[name](list(m.parameters()), **impl)
    for _ in range(50):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
    return [p.detach().clone() for p in m.parameters()]


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_fused_update_equals_the_loop_to_rounding(name):
    loop, fused = _train(name, foreach=False), _train(name, fused=True)
    for a, b in zip(loop, fused):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6), (a - b).abs().max()
    # and the parameters did move (the comparison is not between two untouched copies)
    init = [p.detach() for p in _net().parameters()]
    assert max((a - b).abs().max().item() for a, b in zip(init, fused)) > 1e-3


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_fused_update_is_deterministic(name):
    assert all(torch.equal(a, b) for a, b in zip(_train(name, fused=True), _train(name, fused=True)))


def test_trainer_builds_fused_optimisers():
    from zsar_bench.method import FitContext
    from zsar_bench.trainer import TrainConfig, Trainer

    for name in ("adam", "adamw", "sgd"):
        opt = Trainer(FitContext(), TrainConfig(optimizer=name))._optimizer([torch.nn.Parameter(torch.zeros(3))])
        assert opt.defaults["fused"] is True


def test_clip_grad_norm_equals_torch_bit_for_bit():
    """The trainer's clipping skips torch's multiply by exactly 1.0; on steps that clip and steps that do not,
    the parameters stay equal to torch.nn.utils.clip_grad_norm_'s, bit for bit."""
    from zsar_bench.trainer import clip_grad_norm

    def train(clip) -> tuple[list[torch.Tensor], int]:
        torch.manual_seed(0)
        m = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 8))
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
