"""Optimisers and learning-rate schedules: the training scripts' and the Training lab's."""
from __future__ import annotations

import math

import torch
from torch import nn


def cosine_with_warmup(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int,
                       min_lr_ratio: float = 0.05) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up to the optimizer's lr over ``warmup_steps``, then cosine down to
    ``min_lr_ratio·lr`` at ``total_steps``. Call ``scheduler.step()`` once per optimizer step.
    """
    if not isinstance(total_steps, int) or total_steps < 1:
        raise ValueError(f"total_steps must be an integer >= 1, got {total_steps!r}")
    if not isinstance(warmup_steps, int) or not 0 <= warmup_steps < total_steps:
        raise ValueError(f"warmup_steps must be an integer in [0, total_steps={total_steps}), "
                         f"got {warmup_steps!r}")
    if not 0 <= min_lr_ratio <= 1:
        raise ValueError(f"min_lr_ratio is a fraction in [0, 1], got {min_lr_ratio!r}")

    def factor(step: int) -> float:
        if step < warmup_steps:
            # (step + 1): the first step already learns; the last warm-up step is at full lr
            return (step + 1) / warmup_steps
        progress = min((step - warmup_steps) / max(total_steps - warmup_steps, 1), 1.0)
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def adamw(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW that decays only matrices and conv kernels (ndim >= 2), as nanoGPT does: decaying
    biases and norm scales pulls them to 0 without regularising anything."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=lr)


def make_optimizer(name: str, model: nn.Module, lr: float, weight_decay: float,
                   momentum: float = 0.9) -> torch.optim.Optimizer:
    """The Training lab's optimisers by name: "sgd", "sgd_momentum", "adam", "adamw" (``adamw``:
    no decay on biases and norm scales), "rmsprop". Weight decay is L2 in all but AdamW, where it
    is decoupled (Loshchilov & Hutter 2019)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd_momentum":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return adamw(model, lr, weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}")


def make_schedule(name: str, optimizer: torch.optim.Optimizer, total_steps: int, warmup_frac: float = 0.0,
                  step_at: float = 0.5, step_factor: float = 0.1) -> torch.optim.lr_scheduler.LRScheduler:
    """Learning-rate schedules by name, stepped once per optimizer step: "constant", "step" (x
    ``step_factor`` from ``step_at`` of the run), "cosine" (to zero), "warmup_cosine" (linear warm-up
    over ``warmup_frac`` of the run, then cosine to zero) and "one_cycle" (torch's OneCycleLR: up
    to the rate and down again, momentum the other way)."""
    if name == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    if name == "step":
        at = max(1, round(step_at * total_steps))
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 if step < at else step_factor)
    if name == "cosine":
        return cosine_with_warmup(optimizer, 0, total_steps, min_lr_ratio=0.0)
    if name == "warmup_cosine":
        warmup = min(max(1, round(warmup_frac * total_steps)), total_steps - 1) if total_steps > 1 else 0
        return cosine_with_warmup(optimizer, warmup, total_steps, min_lr_ratio=0.0)
    if name == "one_cycle":
        max_lr = [g["lr"] for g in optimizer.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=max(total_steps, 2))
    raise ValueError(f"unknown schedule {name!r}")


def schedule_curve(name: str, lr: float, total_steps: int, warmup_frac: float = 0.0) -> list[float]:
    """The learning rate at each of ``total_steps`` steps, without training: the curve the lab
    draws before a run starts."""
    param = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=lr, momentum=0.9)   # momentum: OneCycleLR cycles it
    schedule = make_schedule(name, optimizer, total_steps, warmup_frac)
    rates = []
    for _ in range(total_steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return rates
