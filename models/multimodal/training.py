"""Training a fusion head: the loop ``train_fusion.py`` runs for the studio checkpoint and the tab
runs live (a few hundred steps, its curve streamed, Stop honoured), written once.

``steps(...)`` is a generator: it trains one step at a time and yields a ``Progress`` after each,
so the script logs and the tab draws from the same loop.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch
import torch.nn.functional as F

from models.multimodal import data
from models.multimodal.fusion import build_member
from models.training.optim import adamw, cosine_with_warmup


@dataclass
class Recipe:
    steps: int
    lr: float
    batch_size: int = 64
    weight_decay: float = 0.01
    warmup_frac: float = 0.05
    seed: int = 0


@dataclass
class Progress:
    step: int
    loss: float
    lr: float
    seconds: float
    losses: list[float] = field(default_factory=list)


def steps(head: torch.nn.Module, train: data.QASet, recipe: Recipe,
          should_stop: Callable[[], bool] = lambda: False) -> Iterator[Progress]:
    """Train ``head`` on ``train`` for ``recipe.steps`` (fewer when ``should_stop()`` says so),
    yielding after every step. The batches depend only on the seed: two runs of a recipe match."""
    torch.manual_seed(recipe.seed)
    optimizer = adamw(head, recipe.lr, recipe.weight_decay)
    schedule = cosine_with_warmup(optimizer, int(recipe.steps * recipe.warmup_frac), recipe.steps)
    order = torch.Generator().manual_seed(recipe.seed)
    t0, losses = time.perf_counter(), []
    for step in range(recipe.steps):
        if should_stop():
            return
        head.train()
        *inputs, answers = train.batch(torch.randint(0, len(train), (recipe.batch_size,), generator=order))
        loss = F.cross_entropy(head(*inputs)[0], answers)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        lr = schedule.get_last_lr()[0]
        schedule.step()
        losses.append(loss.item())
        yield Progress(step + 1, losses[-1], lr, time.perf_counter() - t0, losses)
    head.eval()


def fresh_head(kind: str, dims: tuple[int, int, int], seed: int = 0) -> torch.nn.Module:
    """A new head of ``kind``, initialised from ``seed`` (same seed, same starting weights); for an
    ensembled kind, one member."""
    torch.manual_seed(seed)
    return build_member(kind, *dims)
