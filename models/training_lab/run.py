"""One Training lab run: a network trained live on ShapeWorld, with its instruments.

``LabRun(settings)`` builds the network from the seed (same seed = same initial weights = same
run), ``train(should_stop)`` trains until the step cap, the wall-time cap, early stopping, a
divergence or Stop, yielding itself about twice a second for the tab to draw; calling ``train``
again after Stop resumes the same run. Everything the views draw is in ``history`` (per step:
loss, learning rate; per evaluation: training and validation loss and accuracy; per instrument
step: each layer's gradient norm, update-to-weight ratio and activation statistics) and, at the
end, in ``final`` (confusion matrix, misclassified pictures, first-layer filters).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.training.augment import random_augment
from models.training.optim import make_optimizer, make_schedule
from models.training_lab import network
from models.training_lab.data import LabData, lab_data, to_inputs
from models.training_lab.settings import LABEL_SMOOTHING, MAX_RUN_SECONDS, MOMENTUM, LabSettings

YIELD_EVERY_S = 0.4          # the views update at least twice a second
INSTRUMENT_EVERY = 5         # steps between per-layer measurements (they copy the weights)
DIVERGED_FACTOR = 100.0      # a loss this many times the first step's has diverged
TRAIN_EVAL_MAX = 512         # training pictures scored at each evaluation (the first ones)
MISCLASSIFIED_MAX = 24
SATURATED = 0.98             # a sigmoid above this (or below 1 - this), a tanh beyond ±this


@dataclass
class History:
    steps: list[int] = field(default_factory=list)          # per step
    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)     # per evaluation
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    layer_steps: list[int] = field(default_factory=list)    # per instrument step, one value per layer
    grad_norm: list[list[float]] = field(default_factory=list)
    update_ratio: list[list[float]] = field(default_factory=list)
    act_mean: list[list[float]] = field(default_factory=list)
    act_std: list[list[float]] = field(default_factory=list)
    act_trouble: list[list[float]] = field(default_factory=list)   # saturated share / dead units


@dataclass
class Final:
    confusion: np.ndarray                    # (8, 8) counts, rows = truth
    misclassified: list[tuple[int, int, int]]  # (val index, truth, predicted)
    filters: np.ndarray | None               # first conv layer's kernels (C, 3, 3, 3), CNN only


class LabRun:
    def __init__(self, settings: LabSettings, data: LabData | None = None, device: str | None = None):
        self.settings = s = settings.check()
        if s.batch_size > s.train_size:
            raise ValueError(f"the batch ({s.batch_size}) is larger than the training set ({s.train_size}): "
                             "lower the batch size or use more pictures")
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        torch.manual_seed(s.seed)
        self.net = network.build_network(s).to(self.device)
        # NHWC: oneDNN's convolutions at 16-32 channels run ~1.4x faster so on a CPU (measured)
        self.memory_format = torch.channels_last if s.network == "cnn" else torch.contiguous_format
        self.net = self.net.to(memory_format=self.memory_format)
        self.layers = network.weight_layers(self.net)
        self.layer_names = network.layer_names(self.net)
        self.parameters = network.num_parameters(self.net)
        data = (data or lab_data()).subset(s.train_size)
        self.train_images, self.train_labels = data.train_images.to(self.device), data.train_labels.to(self.device)
        self.val_images, self.val_labels = data.val_images.to(self.device), data.val_labels.to(self.device)
        self.optimizer = make_optimizer(s.optimizer, self.net, s.lr, s.weight_decay, MOMENTUM)
        self.schedule = make_schedule(s.schedule, self.optimizer, s.steps, s.warmup_frac)
        self.amp = _amp_dtype(s.mixed_precision, self.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp == torch.float16)
        self.generator = torch.Generator().manual_seed(s.seed)    # batch order and augmentation
        self._order = torch.empty(0, dtype=torch.long)
        self.history = History()
        self.step = 0
        self.seconds = 0.0           # training wall time, all resumes together
        self.status = "ready"         # in English, with the details; ``state`` is the same as (kind, facts)
        self.state: tuple[str, dict] = ("ready", {})
        self.ended = False           # finished, diverged, stopped early or capped: no resume
        self.diverged_at: int | None = None
        self.final: Final | None = None
        self._first_loss: float | None = None
        self._best = (-1.0, 0)       # (val accuracy, step)
        self._stale = 0              # evaluations without a better val accuracy

    # ------------------------------------------------------------------ the loop
    def train(self, should_stop: Callable[[], bool] = lambda: False,
              max_seconds: float = MAX_RUN_SECONDS) -> Iterator["LabRun"]:
        """Train until the end of the run or ``should_stop()``; yields self about every
        YIELD_EVERY_S and after each evaluation. Resumable after a stop."""
        if self.ended:
            return
        s = self.settings
        self._set("training", "training")
        base, started, last_yield = self.seconds, time.perf_counter(), 0.0
        while self.step < s.steps:
            if should_stop():
                self._set("paused", f"stopped at step {self.step}: Resume continues the same run", step=self.step)
                break
            if self.seconds > max_seconds:
                self._end("capped", f"stopped at step {self.step}: the {max_seconds:g} s cap for one run was reached",
                          step=self.step, seconds=f"{max_seconds:g}")
                break
            loss = self._train_step()
            if loss is None:
                break
            evaluated = self.step % s.eval_every == 0 or self.step == s.steps
            if evaluated and self._evaluate():
                break
            now = time.perf_counter() - started
            self.seconds = base + now
            if evaluated or now - last_yield >= YIELD_EVERY_S:
                last_yield = now
                yield self
        self.seconds = base + time.perf_counter() - started
        if self.step >= s.steps and not self.ended:
            self._end("finished", f"finished: {self.step} steps", steps=self.step)
        if self.ended and self.final is None:
            self.final = self._final()
        if self.ended:
            self.release()
        yield self

    def release(self) -> None:
        """Free what only training needs (network, optimiser state, batch order): a session keeps
        up to MAX_RUNS runs for the comparison, and a wide MLP with Adam's moments is tens of MB.
        The curves and the final pictures stay; a run released while stopped cannot resume."""
        if not self.ended:
            self._end("stopped", f"stopped at step {self.step}", step=self.step)
        self.net = self.optimizer = self.schedule = self.scaler = None
        self.layers = []
        self._order = torch.empty(0, dtype=torch.long)

    def _train_step(self) -> float | None:
        """One optimizer step (``accumulation`` micro-batches); the step's loss, or None when the
        run diverged."""
        s = self.settings
        instrument = self.step % INSTRUMENT_EVERY == 0
        hooks = self._activation_hooks() if instrument else None
        self.net.train()
        self.optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for _ in range(s.accumulation):
            x, y = self._batch()
            with torch.autocast(self.device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None):
                logits = self.net(x)
            loss = loss_value(s.loss, logits.float(), y)
            self.scaler.scale(loss / s.accumulation).backward()
            total += float(loss.detach()) / s.accumulation
            if hooks is not None:        # one micro-batch is measured
                stats, hooks = _remove(hooks), None
        if not math.isfinite(total) or (self._first_loss is not None and total > DIVERGED_FACTOR * self._first_loss):
            self._end("diverged", f"diverged at step {self.step + 1}: the loss became {total:.4g}; lower the learning "
                      "rate", step=self.step + 1, loss=f"{total:.4g}")
            self.diverged_at = self.step + 1
            self.history.steps.append(self.step + 1)
            self.history.loss.append(total if math.isfinite(total) else float("nan"))
            self.history.lr.append(self.optimizer.param_groups[0]["lr"])
            return None
        if self._first_loss is None:
            self._first_loss = max(total, 1e-8)
        self.scaler.unscale_(self.optimizer)
        if instrument:
            grads = [float(layer.weight.grad.norm()) if layer.weight.grad is not None else 0.0 for layer in self.layers]
            before = [layer.weight.detach().clone() for layer in self.layers]
        if s.clip_grad_norm:
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), s.clip_grad_norm)
        lr = self.optimizer.param_groups[0]["lr"]
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.schedule.step()
        self.step += 1
        h = self.history
        h.steps.append(self.step)
        h.loss.append(total)
        h.lr.append(lr)
        if instrument:
            h.layer_steps.append(self.step)
            h.grad_norm.append(grads)
            h.update_ratio.append([float((layer.weight.detach() - w).norm() / (w.norm() + 1e-12))
                                   for layer, w in zip(self.layers, before)])
            h.act_mean.append([m for m, _, _ in stats])
            h.act_std.append([sd for _, sd, _ in stats])
            h.act_trouble.append([t for _, _, t in stats])
        return total

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.settings
        if len(self._order) < s.batch_size:      # a new pass in a new order (a partial pass's tail is kept)
            self._order = torch.cat([self._order, torch.randperm(len(self.train_labels), generator=self.generator)])
        idx, self._order = self._order[:s.batch_size], self._order[s.batch_size:]
        idx = idx.to(self.device)
        x = to_inputs(self.train_images[idx])
        if s.augment:
            x = random_augment(x, s.augment, self.generator)
        return x.contiguous(memory_format=self.memory_format), self.train_labels[idx]

    # ------------------------------------------------------------------ evaluation
    def _evaluate(self) -> bool:
        """Score training and validation pictures; True when early stopping ends the run."""
        s, h = self.settings, self.history
        n = min(len(self.train_labels), TRAIN_EVAL_MAX)
        train_loss, train_acc, _ = self._score(self.train_images[:n], self.train_labels[:n])
        val_loss, val_acc, _ = self._score(self.val_images, self.val_labels)
        h.eval_steps.append(self.step)
        h.train_loss.append(train_loss)
        h.train_accuracy.append(train_acc)
        h.val_loss.append(val_loss)
        h.val_accuracy.append(val_acc)
        if val_acc > self._best[0]:
            self._best, self._stale = (val_acc, self.step), 0
        else:
            self._stale += 1
        if s.patience and self._stale >= s.patience:
            best, at = f"{self._best[0]:.1%}", self._best[1]
            self._end("early", f"stopped early at step {self.step}: validation accuracy has not improved for "
                      f"{s.patience} evaluations (best {best} at step {at})", step=self.step, patience=s.patience,
                      best=best, at=at)
            return True
        return False

    @torch.no_grad()
    def _score(self, images: torch.Tensor, labels: torch.Tensor, batch: int = 512):
        """(mean loss, accuracy, predictions) in eval mode (no dropout, batch-norm running stats)."""
        self.net.eval()
        preds, total = [], 0.0
        for i in range(0, len(labels), batch):
            with torch.autocast(self.device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None):
                logits = self.net(to_inputs(images[i:i + batch]).contiguous(memory_format=self.memory_format)).float()
            total += float(loss_value(self.settings.loss, logits, labels[i:i + batch])) * len(logits)
            preds.append(logits.argmax(1))
        pred = torch.cat(preds)
        return total / len(labels), float((pred == labels).float().mean()), pred

    def _final(self) -> Final:
        _, _, pred = self._score(self.val_images, self.val_labels)
        truth, pred = self.val_labels.cpu().numpy(), pred.cpu().numpy()
        confusion = np.zeros((network.NUM_CLASSES,) * 2, np.int64)
        np.add.at(confusion, (truth, pred), 1)
        wrong = np.flatnonzero(truth != pred)[:MISCLASSIFIED_MAX]
        first = self.layers[0]
        filters = first.weight.detach().float().cpu().numpy() if isinstance(first, nn.Conv2d) else None
        return Final(confusion, [(int(i), int(truth[i]), int(pred[i])) for i in wrong], filters)

    # ------------------------------------------------------------------ summaries
    def _set(self, kind: str, status: str, **facts) -> None:
        self.status, self.state = status, (kind, facts)

    def _end(self, kind: str, status: str, **facts) -> None:
        self._set(kind, status, **facts)
        self.ended = True

    @property
    def best_val_accuracy(self) -> float | None:
        return max(self.history.val_accuracy) if self.history.val_accuracy else None

    def steps_to(self, accuracy: float) -> int | None:
        """The first evaluated step with validation accuracy ≥ ``accuracy`` (None: never)."""
        return next((st for st, a in zip(self.history.eval_steps, self.history.val_accuracy) if a >= accuracy), None)

    # ------------------------------------------------------------------ activation statistics
    def _activation_hooks(self):
        kind = self.settings.activation
        stats: list[tuple[float, float, float]] = []

        def hook(_module, _inputs, out):
            a = out.detach().float()
            stats.append((float(a.mean()), float(a.std()), trouble(kind, a)))

        return stats, [m.register_forward_hook(hook) for m in network.activation_modules(self.net)]


def _remove(hooks) -> list[tuple[float, float, float]]:
    stats, handles = hooks
    for handle in handles:
        handle.remove()
    return stats


def trouble(kind: str, a: torch.Tensor) -> float:
    """What goes wrong with this activation, as a share: saturated outputs for sigmoid and tanh
    (gradient ≈ 0 there), dead units for the ReLU family (a unit, or a channel, that is not
    positive for any picture of the batch passes no gradient)."""
    if kind == "sigmoid":
        return float(((a > SATURATED) | (a < 1 - SATURATED)).float().mean())
    if kind == "tanh":
        return float((a.abs() > SATURATED).float().mean())
    units = a.transpose(0, 1).reshape(a.shape[1], -1)       # (units or channels, everything else)
    return float((units <= 0).all(1).float().mean())


def loss_value(kind: str, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The run's loss: cross-entropy, cross-entropy with label smoothing, or the mean squared
    error between the softmax probabilities and the one-hot truth."""
    if kind == "cross_entropy":
        return F.cross_entropy(logits, labels)
    if kind == "label_smoothing":
        return F.cross_entropy(logits, labels, label_smoothing=LABEL_SMOOTHING)
    return F.mse_loss(logits.softmax(1), F.one_hot(labels, logits.shape[1]).float())


def _amp_dtype(wanted: bool, device: torch.device) -> torch.dtype | None:
    """fp16 with loss scaling on CUDA, bfloat16 on the CPU; None when off."""
    if not wanted:
        return None
    return torch.float16 if device.type == "cuda" else torch.bfloat16
