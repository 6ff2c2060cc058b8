"""The common trainer's model selection: with validation classes the best validation epoch's weights are the
ones scored (not only its number reported); without them, the last epoch of the fixed schedule."""
import pytest
import torch

from zsar_bench.method import FitContext
from zsar_bench.trainer import TrainConfig, Trainer


class _Toy:
    name = "toy"


def _fit(val_scores):
    """Fit a linear net for len(val_scores) epochs; validation returns the given score at each epoch and keeps a
    copy of the weights it saw. Returns (the weights seen per epoch, the net's weights after fit, ctx.info)."""
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 2)
    x, y = torch.randn(32, 4), torch.randn(32, 2)
    seen = []

    def validate(method):
        seen.append({k: v.detach().clone() for k, v in net.state_dict().items()})
        return val_scores[len(seen) - 1]

    ctx = FitContext(device="cpu", seed=0, validate=validate if val_scores is not None else None)
    epochs = len(val_scores) if val_scores is not None else 4
    tr = Trainer(ctx, TrainConfig(epochs=epochs, batch_size=8, lr=0.05, warmup_epochs=0, grad_clip=None))
    tr.fit(_Toy(), net, 32, lambda idx: torch.nn.functional.mse_loss(net(x[idx]), y[idx]))
    return seen, {k: v.detach().clone() for k, v in net.state_dict().items()}, ctx.info


def test_best_middle_validation_epoch_weights_are_restored():
    seen, final, info = _fit([0.2, 0.9, 0.4, 0.3])
    assert info["best_epoch"] == 2 and info["selected_on"] == "validation classes"
    for k in final:
        assert torch.equal(final[k], seen[1][k]), k  # epoch 2's weights, restored after epoch 4
    # control: training moved the weights after epoch 2, so the last epoch's weights would differ
    assert any(not torch.equal(seen[3][k], seen[1][k]) for k in final)


def test_first_of_equal_validation_scores_is_kept():
    seen, final, info = _fit([0.5, 0.7, 0.7, 0.1])
    assert info["best_epoch"] == 2
    assert all(torch.equal(final[k], seen[1][k]) for k in final)


def test_without_validation_the_last_epoch_is_kept():
    seen, final, info = _fit(None)
    assert seen == [] and info["best_epoch"] == 4 and info["selected_on"] == "final epoch (fixed schedule)"
    torch.manual_seed(0)
    fresh = torch.nn.Linear(4, 2)
    assert any(not torch.equal(final[k], v) for k, v in fresh.state_dict().items())  # it trained


def test_history_lists_every_epochs_loss_and_validation_score_and_validation_sees_the_method():
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 2)
    x, y = torch.randn(16, 4), torch.randn(16, 2)
    seen_methods, scores = [], iter([0.1, 0.5, 0.3])
    method = _Toy()

    def validate(m):
        seen_methods.append(m)
        return next(scores)

    ctx = FitContext(device="cpu", seed=0, validate=validate)
    result = Trainer(ctx, TrainConfig(epochs=3, batch_size=8, warmup_epochs=0)).fit(
        method, net, 16, lambda idx: torch.nn.functional.mse_loss(net(x[idx]), y[idx]))
    assert seen_methods == [method] * 3
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert [h["val_top1"] for h in result.history] == [0.1, 0.5, 0.3]
    assert all(h["loss"] > 0 for h in result.history) and result.best_epoch == 2 and result.epochs == 3
