"""The common trainer every iterative method uses.

A method hands over a ``torch.nn.Module`` and a step function ``step(batch_index) -> loss`` (the
method keeps its tensors; the trainer picks the batch indices). The trainer owns the optimiser,
the warmup + cosine schedule, gradient clipping, mixed precision, the batch order, a progress bar and
per-epoch validation with best-epoch selection (on validation classes only; without them the
final epoch of the fixed schedule is kept).

A run is seeded once, by the harness, right before fit (``FitContext.seed_run``); the trainer starts its loop from
that same state (``FitContext.rewind_rng``), so a method's initialisation does not shift its batch order or dropout.

Mixed precision (``TrainConfig.amp``): ``auto`` (every method's setting) is autocast on CUDA, bf16 where the GPU
has it, else fp16 with a ``GradScaler``, and plain fp32 on a CPU; ``off`` is fp32 everywhere; ``bf16`` and
``fp16`` force that autocast on any device, ``fp16`` with a ``GradScaler`` (on a CPU too: the tests run the
CUDA path's lines there: autocast, scaling, a step skipped when a gradient is inf or NaN).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Protocol

import numpy as np
import torch
from tqdm.auto import tqdm


class TrainContext(Protocol):
    """What the trainer reads of the run's ``method.FitContext`` (declared here, so that the trainer does not
    import the method side that builds it)."""

    device: str
    seed: int
    progress: bool
    validate: Optional[Callable[[Any], float]]
    info: dict

    def rewind_rng(self) -> None: ...


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"  # adam | adamw | sgd
    warmup_epochs: float = 1.0
    warmup: str = "linear"  # linear | exponential (ER)
    schedule: str = "cosine"  # cosine | constant
    grad_clip: Optional[float] = 10.0
    drop_last: bool = False
    amp: str = "auto"  # auto | off | bf16 | fp16 (see the module docstring)


AMP_MODES = ("auto", "off", "bf16", "fp16")


def amp_settings(amp: str, device: torch.device) -> tuple[bool, torch.dtype, bool]:
    """(autocast on, its dtype, GradScaler on) for ``amp`` on ``device``. ``auto``: CUDA only, bf16 where the GPU
    supports it, else fp16 with the scaler; a CPU stays fp32."""
    if amp not in AMP_MODES:
        raise ValueError(f"unknown amp {amp!r}; choose one of {', '.join(AMP_MODES)}")
    if amp == "auto":
        if device.type != "cuda":
            return False, torch.float16, False
        amp = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if amp == "off":
        return False, torch.float16, False
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return True, dtype, dtype == torch.float16


def lr_factor(step: int, total: int, warmup_steps: int, warmup: str, schedule: str) -> float:
    if warmup_steps > 0 and step < warmup_steps:
        frac = (step + 1) / warmup_steps
        return frac if warmup == "linear" else math.exp(5.0 * (frac - 1.0))
    if schedule == "constant" or total <= warmup_steps:
        return 1.0
    progress = (step - warmup_steps) / max(1, total - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def clip_grad_norm(module: torch.nn.Module, max_norm: float) -> torch.Tensor:
    """``torch.nn.utils.clip_grad_norm_`` (2-norm), bit for bit, without its multiply of every gradient by exactly
    1.0 when the norm is within ``max_norm`` (a pass over all gradients each step; on a CPU, where the check
    costs no device sync). Returns the total norm."""
    params = [p for p in module.parameters() if p.grad is not None]
    norm = torch.nn.utils.get_total_norm([p.grad for p in params], 2.0)
    # torch's clip_coef = max_norm / (norm + 1e-6), clamped at 1; a NaN coefficient multiplies, as in torch
    if norm.device.type != "cpu" or not bool(max_norm / (norm + 1e-6) >= 1.0):
        torch.nn.utils.clip_grads_with_norm_(params, max_norm, norm)
    return norm


@dataclass
class TrainResult:
    best_epoch: int
    epochs: int
    history: list
    selected_on: str  # "validation classes" | "final epoch (fixed schedule)"


class Trainer:
    def __init__(self, ctx: TrainContext, config: TrainConfig):
        self.ctx = ctx
        self.config = config
        self.device = torch.device(ctx.device)

    def _optimizer(self, params):
        # fused: one kernel per update instead of about eight passes over every parameter (CPU and CUDA). On a
        # CPU, with clipping, it cuts ~19 ms of ER's ~80 ms step to ~5 ms. The update is the same; only
        # float rounding differs from the per-tensor loop (about 1e-7 relative a step; tests/test_trainer_speed.py
        # bounds it), as it does between two CPUs' vector kernels.
        c = self.config
        if c.optimizer == "adam":
            return torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay, fused=True)
        if c.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay, fused=True)
        if c.optimizer == "sgd":
            return torch.optim.SGD(params, lr=c.lr, momentum=0.9, weight_decay=c.weight_decay, fused=True)
        raise ValueError(f"unknown optimizer {c.optimizer!r}; choose adam, adamw or sgd")

    def fit(self, method: Any, module: torch.nn.Module, n_samples: int,
            step: Callable[[torch.Tensor], torch.Tensor], param_groups=None) -> TrainResult:
        c = self.config
        self.ctx.rewind_rng()  # the run's seeded state, whatever the method drew while building its modules
        if self.device.type == "cpu":
            torch.use_deterministic_algorithms(True, warn_only=True)
        gen = torch.Generator().manual_seed(self.ctx.seed)  # the batch order's own stream, apart from the global RNGs
        run = self._start(module, n_samples, param_groups)
        validate = self.ctx.validate
        best = (-math.inf, 0, None)
        history = []
        bar = None
        if self.ctx.progress:
            bar = tqdm(total=c.epochs, desc=f"train {method.name}", unit="epoch", leave=False, disable=None)
        for epoch in range(1, c.epochs + 1):
            module.train()
            perm = torch.randperm(n_samples, generator=gen)
            losses = self._epoch(method, module, step, run, perm, epoch)
            entry = {"epoch": epoch, "loss": float(np.mean(losses))}
            if validate is not None:
                module.eval()
                acc = float(validate(method))
                entry["val_top1"] = acc
                if acc > best[0]:
                    best = (acc, epoch, copy.deepcopy({k: v.detach().cpu() for k, v in module.state_dict().items()}))
            history.append(entry)
            if bar:
                bar.set_postfix({k: round(v, 4) for k, v in entry.items() if k != "epoch"})
                bar.update(1)
        if bar:
            bar.close()
        return self._result(module, validate, best, history)

    def _start(self, module: torch.nn.Module, n_samples: int, param_groups) -> "_FitRun":
        """The optimiser, the schedule's step counts and mixed precision (``amp_settings``) for one fit."""
        c = self.config
        opt = self._optimizer(param_groups if param_groups is not None else [p for p in module.parameters() if p.requires_grad])
        base_lrs = [g["lr"] for g in opt.param_groups]
        steps_per_epoch = (n_samples // c.batch_size) if c.drop_last else math.ceil(n_samples / c.batch_size)
        steps_per_epoch = max(1, steps_per_epoch)
        total = steps_per_epoch * c.epochs
        warm = int(round(c.warmup_epochs * steps_per_epoch))
        use_amp, amp_dtype, scale = amp_settings(c.amp, self.device)
        scaler = torch.amp.GradScaler(self.device.type, enabled=scale)
        return _FitRun(opt, base_lrs, steps_per_epoch, total, warm, use_amp, amp_dtype, scaler)

    def _epoch(self, method: Any, module: torch.nn.Module, step: Callable[[torch.Tensor], torch.Tensor],
               run: "_FitRun", perm: torch.Tensor, epoch: int) -> list[float]:
        """One epoch's optimiser steps over the batches of ``perm``; returns their losses."""
        c = self.config
        opt, scaler = run.opt, run.scaler
        losses = []
        for b in range(run.steps_per_epoch):
            idx = perm[b * c.batch_size:(b + 1) * c.batch_size].to(self.device)
            f = lr_factor(run.step_i, run.total, run.warm, c.warmup, c.schedule)
            for g, lr0 in zip(opt.param_groups, run.base_lrs):
                g["lr"] = lr0 * f
            with torch.autocast(self.device.type, dtype=run.amp_dtype, enabled=run.use_amp):
                loss = step(idx)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{method.name}: loss became {loss.item()} at epoch {epoch}; lower the lr")
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if c.grad_clip:
                scaler.unscale_(opt)
                clip_grad_norm(module, c.grad_clip)
            scaler.step(opt)
            scaler.update()
            losses.append(float(loss.detach()))
            run.step_i += 1
        return losses

    def _result(self, module: torch.nn.Module, validate, best: tuple, history: list) -> TrainResult:
        """The selected epoch's weights loaded (best on validation classes, else the final epoch), recorded in
        ``ctx.info``."""
        c = self.config
        module.eval()
        if validate is not None and best[2] is not None:
            module.load_state_dict(best[2])
            result = TrainResult(best[1], c.epochs, history, "validation classes")
        else:
            result = TrainResult(c.epochs, c.epochs, history, "final epoch (fixed schedule)")
        self.ctx.info.update({"best_epoch": result.best_epoch, "epochs": result.epochs, "selected_on": result.selected_on,
                              "final_loss": history[-1]["loss"] if history else None})
        return result


@dataclass
class _FitRun:
    """One fit's optimiser, learning-rate schedule and AMP settings, and the global step it has reached."""

    opt: torch.optim.Optimizer
    base_lrs: list
    steps_per_epoch: int
    total: int
    warm: int
    use_amp: bool
    amp_dtype: torch.dtype
    scaler: torch.amp.GradScaler
    step_i: int = 0
