"""The trainer's faster optimiser path changes no number: foreach updates equal the per-tensor loop bit for bit."""
import copy

import pytest
import torch


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_foreach_update_is_bit_identical(name):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(32, 8))
    x, y = torch.randn(16, 64), torch.randint(0, 8, (16,))
    make = {"adam": lambda p, f: torch.optim.Adam(p, lr=1e-3, weight_decay=1e-4, foreach=f),
            "adamw": lambda p, f: torch.optim.AdamW(p, lr=1e-3, weight_decay=1e-4, foreach=f),
            "sgd": lambda p, f: torch.optim.SGD(p, lr=1e-2, momentum=0.9, weight_decay=1e-4, foreach=f)}[name]

    def train(foreach: bool):
        torch.manual_seed(1)
        m = copy.deepcopy(net)
        opt = make(list(m.parameters()), foreach)
        for _ in range(25):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(m(x), y).backward()
            opt.step()
        return [p.detach() for p in m.parameters()]

    assert all(torch.equal(a, b) for a, b in zip(train(False), train(True)))


def test_trainer_builds_foreach_optimisers():
    from zsar_bench.method import FitContext
    from zsar_bench.trainer import TrainConfig, Trainer

    for name in ("adam", "adamw", "sgd"):
        opt = Trainer(FitContext(), TrainConfig(optimizer=name))._optimizer([torch.nn.Parameter(torch.zeros(3))])
        assert opt.defaults["foreach"] is True
