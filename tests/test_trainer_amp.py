"""The trainer's mixed-precision path (autocast, GradScaler, a step skipped on an inf gradient), run on a CPU so
that the lines a CUDA run uses are exercised without a GPU; and ``auto`` on a CPU left exactly as fp32."""
import pytest
import torch

from zsar_bench.method import FitContext
from zsar_bench.trainer import TrainConfig, Trainer, amp_settings


class _Toy:
    name = "toy"


def _data(n: int = 64):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 8, generator=g)
    y = (x @ torch.randn(8, 3, generator=g)).argmax(1)
    return x, y


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))


def test_amp_settings_per_mode():
    cpu = torch.device("cpu")
    assert amp_settings("auto", cpu) == (False, torch.float16, False)  # a CPU stays fp32: what runs today
    assert amp_settings("off", cpu)[0] is False
    assert amp_settings("bf16", cpu) == (True, torch.bfloat16, False)
    assert amp_settings("fp16", cpu) == (True, torch.float16, True)
    with pytest.raises(ValueError, match="unknown amp 'fp8'"):
        amp_settings("fp8", cpu)


def test_auto_on_a_cpu_computes_what_off_computes():
    x, y = _data()
    weights = []
    for amp in ("auto", "off"):
        net = _net()
        Trainer(FitContext(device="cpu", seed=0), TrainConfig(epochs=3, batch_size=16, lr=0.05, amp=amp)).fit(
            _Toy(), net, len(y), lambda idx: torch.nn.functional.cross_entropy(net(x[idx]), y[idx]))
        weights.append([p.detach().clone() for p in net.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*weights))


def test_bf16_autocast_on_cpu_trains_and_the_loss_falls():
    x, y = _data()
    net = _net()
    dtypes = []

    def step(idx):
        logits = net(x[idx])
        dtypes.append(logits.dtype)
        return torch.nn.functional.cross_entropy(logits, y[idx])

    ctx = FitContext(device="cpu", seed=0)
    Trainer(ctx, TrainConfig(epochs=12, batch_size=16, lr=0.05, warmup_epochs=0, amp="bf16")).fit(
        _Toy(), net, len(y), step)
    assert set(dtypes) == {torch.bfloat16}  # the linear layers ran under autocast
    assert all(p.dtype == torch.float32 for p in net.parameters())  # master weights stay fp32
    final = ctx.info["final_loss"]
    with torch.no_grad():
        start = torch.nn.functional.cross_entropy(_net()(x), y).item()
    assert final < 0.6 * start, (start, final)


def test_fp16_scaler_on_cpu_skips_the_step_with_an_inf_gradient_and_then_proceeds():
    x, y = _data(32)
    net = _net()
    w = net[0].weight
    snapshots, scales = [], []
    tr = Trainer(FitContext(device="cpu", seed=0), TrainConfig(epochs=1, batch_size=8, lr=0.05, warmup_epochs=0,
                                                                schedule="constant", amp="fp16"))
    real_start = tr._start

    def start(*a, **k):
        run = real_start(*a, **k)
        assert run.scaler.is_enabled() and run.use_amp and run.amp_dtype == torch.float16
        tr.run_ = run
        return run

    tr._start = start
    calls = []

    def step(idx):
        k = len(calls)
        calls.append(k)
        snapshots.append(w.detach().clone())
        scales.append(tr.run_.scaler.get_scale())
        out = torch.nn.functional.cross_entropy(net(x[idx]), y[idx])
        if k == 1:  # the second step's gradient of the first layer becomes inf (the loss itself is finite)
            w.register_hook(lambda g: torch.full_like(g, float("inf")) if len(calls) == 2 else g)
        return out

    tr.fit(_Toy(), net, len(y), step)
    snapshots.append(w.detach().clone())
    scales.append(tr.run_.scaler.get_scale())
    assert len(calls) == 4
    assert not torch.equal(snapshots[0], snapshots[1])  # step 0 updated the weights
    assert torch.equal(snapshots[1], snapshots[2])  # step 1 saw inf: skipped, weights unchanged
    assert scales[2] == scales[1] * 0.5  # and the scale backed off
    assert not torch.equal(snapshots[2], snapshots[3])  # the next step proceeds
    assert scales[3] == scales[2]  # at the reduced scale
    assert torch.isfinite(w).all()
    opt_steps = {int(s["step"]) for s in tr.run_.opt.state.values()}
    assert opt_steps == {3}  # the skipped step is not counted in Adam's bias correction
