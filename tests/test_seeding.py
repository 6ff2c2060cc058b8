"""A run is seeded once, by the harness, right before fit (``FitContext.seed_run``); the trainer starts its loop
from that same state (``FitContext.rewind_rng``), so a method's initialisation does not shift its batch order or
dropout."""
import random

import numpy as np
import pytest
import torch

import zsar_bench.method as method_module
from zsar_bench.method import FitContext
from zsar_bench.running import runner
from zsar_bench.running.runner import RunSpec, execute_run
from zsar_bench.runtime import seed_everything
from zsar_bench.splits import load_protocol
from zsar_bench.trainer import TrainConfig, Trainer


class _Toy:
    name = "toy"


def _draws() -> tuple:
    """One draw from each global RNG: python, numpy, torch."""
    return random.random(), float(np.random.rand()), torch.rand(2).tolist()


def _rng_state() -> tuple:
    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def _same_state(a: tuple, b: tuple) -> bool:
    (pa, na, ta), (pb, nb, tb) = a, b
    return (pa == pb and na[0] == nb[0] and np.array_equal(na[1], nb[1]) and tuple(na[2:]) == tuple(nb[2:])
            and torch.equal(ta, tb))


def _train(ctx: FitContext, init_draws: int) -> tuple:
    """A method's fit: draw ``init_draws`` numbers from every global RNG while "building" (the net's weights are
    constants), then train a net with dropout. Returns (batches, the steps' global draws, the trained weights)."""
    torch.randn(init_draws), np.random.rand(init_draws), [random.random() for _ in range(init_draws)]
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 1))
    for p in net.parameters():
        torch.nn.init.constant_(p, 0.1)
    x, y = torch.linspace(-1, 1, 30).reshape(10, 3), torch.linspace(0, 1, 10)[:, None]
    batches, draws = [], []

    def step(idx):
        batches.append(idx.tolist())
        draws.append(_draws())
        return torch.nn.functional.mse_loss(net(x[idx]), y[idx])

    Trainer(ctx, TrainConfig(epochs=3, batch_size=4, lr=0.05, warmup_epochs=0)).fit(_Toy(), net, 10, step)
    return batches, draws, [p.detach().clone() for p in net.parameters()]


def test_initialisation_draws_do_not_shift_the_training_stream():
    """Batch order, dropout masks and every other global draw in training are the same whether the method drew
    while building its modules or not: the trainer rewinds to the run's seeded state (it would fail if it only
    went on from where the method left the RNGs)."""
    runs = []
    for init_draws in (0, 1, 1000):
        ctx = FitContext(seed=3)
        ctx.seed_run()
        runs.append(_train(ctx, init_draws))
    (b0, d0, w0), *others = runs
    for b, d, w in others:
        assert b == b0 and d == d0
        assert all(torch.equal(p, q) for p, q in zip(w, w0))
    seed_everything(3)
    assert d0[0] == _draws()  # the first step draws exactly what follows the run's seeding


@pytest.fixture
def seedings(monkeypatch) -> dict:
    """How often python, numpy and torch are seeded (and ``FitContext.seed_run``'s ``seed_everything`` called)."""
    counts = {"seed_everything": 0, "random.seed": 0, "np.random.seed": 0, "torch.manual_seed": 0}

    def counting(name, fn):
        def wrapped(*a, **k):
            counts[name] += 1
            return fn(*a, **k)
        return wrapped

    monkeypatch.setattr(method_module, "seed_everything", counting("seed_everything", seed_everything))
    monkeypatch.setattr(random, "seed", counting("random.seed", random.seed))
    monkeypatch.setattr(np.random, "seed", counting("np.random.seed", np.random.seed))
    monkeypatch.setattr(torch, "manual_seed", counting("torch.manual_seed", torch.manual_seed))
    return counts


def test_the_trainer_rewinds_but_does_not_seed(seedings):
    ctx = FitContext(seed=3)
    ctx.seed_run()
    _train(ctx, 5)
    assert seedings == {"seed_everything": 1, "random.seed": 1, "np.random.seed": 1, "torch.manual_seed": 1}


def test_a_fit_outside_the_harness_is_seeded_once_when_it_starts():
    """No ``seed_run`` before fit (a test or a notebook calling ``method.fit`` directly): the first ``rewind_rng``
    seeds from ``ctx.seed``, later ones restore that state."""
    ctx = FitContext(seed=4)
    ctx.rewind_rng()
    first = _draws()
    ctx.rewind_rng()
    assert _draws() == first
    seed_everything(4)
    assert _draws() == first
    assert _train(FitContext(seed=4), 0)[1] == _train(FitContext(seed=4), 50)[1]


def test_seed_everything_is_kept_for_plugins_as_a_rewind():
    ctx = FitContext(seed=2)
    ctx.seed_run()
    first = _draws()
    ctx.seed_everything()
    assert _draws() == first


def test_execute_run_seeds_once_right_before_fit(plugins, olympics_features, monkeypatch, seedings):
    """One seeding per run (python, numpy and torch each seeded once, through ``FitContext.seed_run``), and
    nothing (blinding included) draws from the global RNGs between it and the method's first line."""
    seed_everything(11)
    expected = _rng_state()
    seen = {}
    build = runner.build_method

    def spy_build(name, args):
        m = build(name, args)
        fit = m.fit

        def spy_fit(data, ctx):
            seen["state"] = _rng_state()
            return fit(data, ctx)

        m.fit = spy_fit
        return m

    monkeypatch.setattr(runner, "build_method", spy_build)
    seedings.update(dict.fromkeys(seedings, 0))  # the expected state above was made with a seeding of its own
    random.random(), np.random.rand(), torch.rand(1)  # whatever state the process is in before the run
    pr = load_protocol("olympics", "random-50-50")
    spec = runner.with_rows(RunSpec("devise", {"epochs": "2"}, "olympics", "synthetic", pr, pr.folds[0], 11),
                            olympics_features)
    out = execute_run(spec, olympics_features)
    assert out["info"]["epochs"] == 2  # trained through the common trainer
    assert seedings == {"seed_everything": 1, "random.seed": 1, "np.random.seed": 1, "torch.manual_seed": 1}
    assert _same_state(seen["state"], expected)
