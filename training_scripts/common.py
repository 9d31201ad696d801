"""The training loop every studio recipe shares: one code path from 1 CPU core to N GPUs.

A recipe (``train_<topic>.py``) builds its model and datasets, writes two small functions,

- ``loss_fn(model, batch) -> scalar loss``   (batch already on the device; augment here)
- ``evaluate_fn(model, loader) -> {"name": float, ...}``   (model in eval mode, no grad)

and calls ``Trainer(model, train_data, val_data, loss_fn, evaluate_fn, config).fit()``.
The trainer does the rest, in the order a step happens:

1. sample a per-process shard of the data (``DistributedSampler``, reshuffled per epoch);
2. forward + loss under autocast (CUDA only), backward, ``grad_accum`` micro-batches per step
   (DDP gradient all-reduce only on the last micro-batch: ``no_sync`` on the others);
3. unscale, clip the gradient norm, optimizer step, LR schedule step (cosine with warm-up);
4. after each epoch: evaluate on rank 0, keep the best weights, early-stop on ``metric``,
   write ``run_dir/last.pt`` atomically so ``resume=True`` continues the same run.

Launch with ``python train_x.py`` (one process) or ``torchrun --nproc_per_node=N train_x.py``
(DDP; "nccl" on CUDA, "gloo" on CPU). Config is plain values in ``TrainConfig``.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.distributed as torch_dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, TensorDataset

from models.files import atomic_writer
from models.training.optim import adamw, cosine_with_warmup  # noqa: F401  (shared with the Training lab)

LAST_STATE = "last.pt"     # resume state inside run_dir
STATE_FORMAT = 1           # bump when the layout of last.pt changes


# --------------------------------------------------------------------------- seeding, processes
def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global RNG and torch (CPU and every CUDA device)."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    _seed_rng(seed)


def _seed_rng(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)   # NumPy's global seed must fit in 32 bits
    torch.manual_seed(seed)


def _epoch_seed(seed: int, epoch: int, rank: int) -> int:
    # Reseeding at every epoch start from (seed, epoch, rank) makes augmentation randomness a
    # pure function of where we are in the run, so a resumed run is the same run on every
    # rank without gathering each rank's RNG state into last.pt. The primes only keep the
    # three numbers from colliding.
    return (seed * 1_000_003 + epoch * 1_009 + rank) % 2**63


@dataclass(frozen=True)
class Dist:
    """Where this process sits in the job. ``device`` is the one device it trains on."""
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup_distributed(device: str | None = None) -> Dist:
    """Join the process group when launched by ``torchrun`` (WORLD_SIZE > 1), else run alone.

    device: "cpu", "cuda" or None (CUDA when available). Under torchrun each process takes
    ``cuda:LOCAL_RANK``; the backend is "nccl" on CUDA and "gloo" on CPU.
    """
    if device not in (None, "auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}")
    use_cuda = torch.cuda.is_available() if device in (None, "auto") else device == "cuda"
    if use_cuda and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but torch sees no CUDA device")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if world_size > 1:
        if use_cuda:
            torch.cuda.set_device(local_rank)   # before init: NCCL binds to the current device
        if not torch_dist.is_initialized():
            torch_dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    dev = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    return Dist(rank=rank, world_size=world_size, local_rank=local_rank, device=dev)


def cleanup_distributed() -> None:
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def to_device(batch: Any, device: torch.device) -> Any:
    """Move a tensor or a (nested) list/tuple/dict of tensors to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


# --------------------------------------------------------------------------- config, schedule
AMP_MODES = ("auto", "bf16", "fp16", "off")


@dataclass
class TrainConfig:
    """Every knob of the loop, as plain values (stored verbatim in last.pt and the card)."""
    epochs: int = 10
    batch_size: int = 64           # per process: the global batch is batch_size·world·grad_accum
    lr: float = 1e-3               # peak LR, reached at the end of warm-up
    weight_decay: float = 0.05
    warmup_frac: float = 0.05      # fraction of all optimizer steps spent warming up
    min_lr_ratio: float = 0.05     # cosine floor, as a fraction of lr
    grad_accum: int = 1            # micro-batches per optimizer step
    clip_grad_norm: float = 1.0    # 0 = no clipping
    # "auto": bf16 autocast on CUDA GPUs that support it (no scaler needed: bf16 has fp32's
    # range), else fp16 + GradScaler; off on CPU, where autocast is slower than fp32 on most
    # CPUs without AMX and would make CPU runs (and tests) numerically different from GPU runs
    # for no gain.
    amp: str = "auto"
    metric: str = "accuracy"       # key of evaluate_fn's dict to maximise
    patience: int = 0              # stop after this many epochs without a better metric; 0 = off
    seed: int = 0
    run_dir: str | None = None     # last.pt + TensorBoard events; None = neither
    log_every: int = 50            # optimizer steps between TensorBoard loss points
    threads: int = 0               # torch CPU threads per process; 0 = 1 under DDP, else torch's
    eval_batch_size: int = 256
    progress: bool = True          # tqdm bar on rank 0 (only when stderr is a terminal)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "grad_accum", "eval_batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {getattr(self, name)!r}")
        for name in ("patience", "threads", "seed", "log_every"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {getattr(self, name)!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if not 0 <= self.warmup_frac < 1:
            raise ValueError(f"warmup_frac is a fraction in [0, 1), got {self.warmup_frac!r}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"min_lr_ratio is a fraction in [0, 1], got {self.min_lr_ratio!r}")
        if self.weight_decay < 0 or self.clip_grad_norm < 0:
            raise ValueError("weight_decay and clip_grad_norm must be >= 0")
        if self.amp not in AMP_MODES:
            raise ValueError(f"amp must be one of {AMP_MODES}, got {self.amp!r}")


def with_overrides(recipe: dict, **flags) -> dict:
    """A copy of ``recipe`` where every flag the command line set (not None) replaces its value."""
    return {**recipe, **{k: v for k, v in flags.items() if v is not None}}


def run_paths(model_id: str, args: argparse.Namespace) -> tuple[str, Path | None]:
    """(run dir, checkpoint root) for a single-process recipe: ``--quick`` writes both into a
    fresh temp folder (a smoke run never touches the committed checkpoint); a full run keeps its
    resume state in ``.cache/runs/<model_id>`` and writes ``assets/checkpoints`` (root None)."""
    from models.checkpoints import REPO_ROOT
    scratch = Path(tempfile.mkdtemp(prefix=f"studio-{model_id}-quick-")) if args.quick else None
    run_dir = args.run_dir or (str(scratch / "run") if scratch else str(REPO_ROOT / ".cache" / "runs" / model_id))
    out = Path(args.out) if args.out else (scratch / "checkpoints" if scratch else None)
    return run_dir, out


def run_record(result: "TrainResult", wall_seconds: float) -> dict:
    """The card's account of a Trainer run (inside its "training" entry): best epoch, steps, the
    per-epoch history, and the wall time. A resumed invocation's wall time covers only itself
    (``train_seconds`` in the card sums all of them), so it is named that way."""
    resumed = result.start_epoch > 1
    return {"best_epoch": result.best_epoch, "epochs_run": len(result.history), "global_step": result.global_step,
            ("wall_seconds_this_invocation" if resumed else "wall_seconds"): round(wall_seconds, 1),
            "resumed": resumed,
            "history": [{k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()}
                        for row in result.history]}


def single_process_start(doc: str, full: dict, quick: dict, model_id: str, why: str,
                         argv: list[str] | None = None):
    """The opening of a single-process recipe: parse the common flags (+ ``--train-size``), apply
    them to ``full`` (or ``quick``), refuse torchrun (``why`` says why), pick the run and
    checkpoint folders, set the thread count. Returns (argv, args, recipe, dist, run_dir, out)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = add_common_args(argparse.ArgumentParser(description=doc.split("\n\n")[0]))
    parser.add_argument("--train-size", type=int, default=None)
    args = parser.parse_args(argv)
    recipe = with_overrides(quick if args.quick else full, epochs=args.epochs, batch_size=args.batch_size,
                            lr=args.lr, seed=args.seed, threads=args.threads, train=args.train_size)
    dist = setup_distributed(args.device)
    if dist.distributed:
        raise SystemExit(f"{model_id} trains in one process ({why})")
    run_dir, out = run_paths(model_id, args)
    if recipe["threads"]:
        torch.set_num_threads(recipe["threads"])
    return argv, args, recipe, dist, run_dir, out


def add_common_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The flags every recipe shares. Defaults are None so a recipe (and --quick) fills them."""
    parser.add_argument("--epochs", type=int, default=None, help="passes over the training set")
    parser.add_argument("--batch-size", type=int, default=None, help="per process")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate")
    parser.add_argument("--seed", type=int, default=None, help="data and init seed")
    parser.add_argument("--run-dir", default=None, help="resume state (last.pt) + TensorBoard logs")
    parser.add_argument("--resume", action="store_true", help="continue from run-dir/last.pt")
    parser.add_argument("--quick", action="store_true", help="tiny data, 2 epochs: a smoke test")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads per process")
    parser.add_argument("--out", default=None, help="checkpoint root (writes <out>/<model_id>/)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    return parser


# --------------------------------------------------------------------------- the loop
@dataclass
class TrainResult:
    """What ``fit`` returns (on every rank; val metrics come from rank 0).

    history: one dict per finished epoch (including epochs of an earlier run when resumed):
    {"epoch" (1-based), "train_loss", "lr", "seconds", **val metrics}.
    best_state: CPU copy of the weights with the best ``metric``.
    """
    history: list[dict]
    best_metric: float
    best_epoch: int
    best_state: dict[str, torch.Tensor]
    global_step: int
    start_epoch: int               # first epoch this call trained (1-based); > epochs if none
    stopped_early: bool
    seconds: float                 # training wall time, summed over resumed runs
    world_size: int = 1
    config: dict = field(default_factory=dict)


LossFn = Callable[[nn.Module, Any], torch.Tensor]
EvalFn = Callable[[nn.Module, DataLoader], dict]


class Trainer:
    """Runs ``config.epochs`` epochs of AdamW on ``model``; see the module docstring."""

    def __init__(self, model: nn.Module, train_data: Dataset | tuple[torch.Tensor, ...],
                 val_data: Dataset | tuple[torch.Tensor, ...], loss_fn: LossFn, evaluate_fn: EvalFn,
                 config: TrainConfig, dist: Dist | None = None,
                 optimizer: torch.optim.Optimizer | None = None):
        self.config = config
        self.dist = dist or setup_distributed()
        self.loss_fn, self.evaluate_fn = loss_fn, evaluate_fn
        self.train_data = _as_dataset(train_data, "train_data")
        self.val_data = _as_dataset(val_data, "val_data")
        dev = self.dist.device
        if dev.type == "cpu":
            threads = config.threads or (1 if self.dist.distributed else 0)
            if threads:   # N processes x default threads would oversubscribe the cores
                torch.set_num_threads(threads)
        self.model = model.to(dev)
        self.optimizer = optimizer or adamw(self.model, config.lr, config.weight_decay)
        self.amp_dtype = _amp_dtype(config.amp, dev)
        # Loss scaling only matters for fp16 (its range underflows small gradients).
        self.scaler = torch.amp.GradScaler(dev.type, enabled=self.amp_dtype == torch.float16)

        self.sampler = DistributedSampler(
            self.train_data, num_replicas=self.dist.world_size, rank=self.dist.rank,
            shuffle=True, seed=config.seed, drop_last=True)
        # drop_last: a last batch of one sample would break BatchNorm, and equal batch counts
        # on every rank keep DDP's all-reduces in step.
        self.loader = DataLoader(self.train_data, batch_size=config.batch_size,
                                 sampler=self.sampler, drop_last=True,
                                 pin_memory=dev.type == "cuda")
        if len(self.loader) == 0:
            raise ValueError(
                f"the training set ({len(self.train_data)} samples over {self.dist.world_size} "
                f"process(es)) gives no full batch of {config.batch_size}: lower --batch-size")
        self.val_loader = DataLoader(self.val_data, batch_size=config.eval_batch_size,
                                     shuffle=False, pin_memory=dev.type == "cuda")
        self.micro_per_epoch = len(self.loader)
        self.steps_per_epoch = math.ceil(self.micro_per_epoch / config.grad_accum)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.scheduler = cosine_with_warmup(
            self.optimizer, int(config.warmup_frac * self.total_steps), self.total_steps,
            config.min_lr_ratio)
        ids = [dev.index] if dev.type == "cuda" else None
        self.ddp_model = (DistributedDataParallel(self.model, device_ids=ids)
                          if self.dist.distributed else self.model)

    # ------------------------------------------------------------------ state
    def _state(self, epoch: int, global_step: int, history: list[dict], best: dict,
               bad_epochs: int, stopped: bool, seconds: float) -> dict:
        """Everything needed to continue: tensors and primitives only (weights_only loadable)."""
        return {
            "format": STATE_FORMAT, "epoch": epoch, "global_step": global_step,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "best_metric": best["metric"], "best_epoch": best["epoch"], "best_state": best["state"],
            "bad_epochs": bad_epochs, "stopped_early": stopped, "history": history,
            "seconds": seconds, "world_size": self.dist.world_size, "config": asdict(self.config),
        }

    def _save_state(self, state: dict) -> None:
        run_dir = Path(self.config.run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        with atomic_writer(run_dir / LAST_STATE) as f:   # a crash mid-write leaves the previous epoch's file
            torch.save(state, f)

    def _load_state(self) -> dict | None:
        if not self.config.run_dir:
            raise ValueError("resume needs a run_dir (--run-dir) holding last.pt")
        path = Path(self.config.run_dir) / LAST_STATE
        if not path.exists():
            if self.dist.is_main:
                print(f"[train] no {path} yet: starting a new run", flush=True)
            return None
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"{path} has state format {state.get('format')}, expected "
                             f"{STATE_FORMAT}: start a new run (drop --resume)")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        # The schedule function is rebuilt from this run's config; only the step count is restored.
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        old = state["config"]
        changed = {k: (old.get(k), v) for k, v in asdict(self.config).items()
                   if k not in ("run_dir", "epochs", "progress", "threads") and old.get(k) != v}
        if changed and self.dist.is_main:
            print(f"[train] resuming with changed settings {changed}: not the same run any more",
                  flush=True)
        return state

    # ------------------------------------------------------------------ loop
    def fit(self, resume: bool = False) -> TrainResult:
        cfg, dist = self.config, self.dist
        history: list[dict] = []
        best = {"metric": -math.inf, "epoch": 0, "state": _cpu_copy(self.model.state_dict())}
        start_epoch, global_step, bad_epochs, stopped, seconds = 1, 0, 0, False, 0.0
        state = self._load_state() if resume else None
        if state is not None:
            start_epoch, global_step = state["epoch"] + 1, state["global_step"]
            history, bad_epochs, stopped, seconds = (state["history"], state["bad_epochs"],
                                                     state["stopped_early"], state["seconds"])
            best = {"metric": state["best_metric"], "epoch": state["best_epoch"],
                    "state": state["best_state"]}
            if dist.is_main:
                print(f"[train] resumed {cfg.run_dir}/{LAST_STATE}: epoch {start_epoch}, "
                      f"step {global_step}", flush=True)
        writer = self._writer()
        t_start = time.perf_counter()
        try:
            for epoch in range(start_epoch, cfg.epochs + 1):
                if stopped:
                    break
                t_epoch = time.perf_counter()
                train_loss, global_step = self._train_epoch(epoch, global_step, writer)
                metrics = self._evaluate()
                row = {"epoch": epoch, "train_loss": train_loss,
                       "lr": self.scheduler.get_last_lr()[0],
                       "seconds": time.perf_counter() - t_epoch, **metrics}
                if cfg.metric not in metrics:
                    raise ValueError(f"evaluate_fn returned {sorted(metrics)}, "
                                     f"without the metric to maximise {cfg.metric!r}")
                history.append(row)
                value = float(metrics[cfg.metric])
                # Only a strict improvement resets patience, but a tie takes the newer weights:
                # once val accuracy saturates (1.0), the later, longer-trained model is kept.
                bad_epochs = 0 if value > best["metric"] else bad_epochs + 1
                if value >= best["metric"]:
                    best = {"metric": value, "epoch": epoch,
                            "state": _cpu_copy(self.model.state_dict())}
                stopped = bool(cfg.patience) and bad_epochs >= cfg.patience and epoch < cfg.epochs
                if dist.is_main:
                    shown = " ".join(f"{k} {v:.4f}" for k, v in metrics.items())
                    print(f"[train] epoch {epoch}/{cfg.epochs} step {global_step} loss "
                          f"{train_loss:.4f} {shown} ({row['seconds']:.1f} s)"
                          + (" early stop" if stopped else ""), flush=True)
                    if writer:
                        for k, v in metrics.items():
                            writer.add_scalar(f"val/{k}", v, global_step)
                        writer.add_scalar("train/epoch_loss", train_loss, global_step)
                        writer.flush()
                    if cfg.run_dir:
                        self._save_state(self._state(
                            epoch, global_step, history, best, bad_epochs, stopped,
                            seconds + time.perf_counter() - t_start))
        finally:
            if writer:
                writer.close()
        if dist.distributed:
            torch_dist.barrier()   # last.pt is complete before any rank moves on
        return TrainResult(history=history, best_metric=best["metric"], best_epoch=best["epoch"],
                           best_state=best["state"], global_step=global_step,
                           start_epoch=start_epoch, stopped_early=stopped,
                           seconds=seconds + time.perf_counter() - t_start,
                           world_size=dist.world_size, config=asdict(cfg))

    def _train_epoch(self, epoch: int, global_step: int, writer) -> tuple[float, int]:
        cfg, dev = self.config, self.dist.device
        _seed_rng(_epoch_seed(cfg.seed, epoch, self.dist.rank))
        self.sampler.set_epoch(epoch)   # a different shuffle per epoch, identical on resume
        self.ddp_model.train()
        loss_sum = torch.zeros((), device=dev)
        n = self.micro_per_epoch
        bar = self._progress(n, epoch)
        for i, batch in enumerate(self.loader):
            group_start = (i // cfg.grad_accum) * cfg.grad_accum
            group_size = min(cfg.grad_accum, n - group_start)   # the last group may be short
            last_micro = i == group_start + group_size - 1
            batch = to_device(batch, dev)
            # Skip DDP's gradient all-reduce on all but the last micro-batch of a step.
            sync = contextlib.nullcontext() if last_micro or not self.dist.distributed \
                else self.ddp_model.no_sync()
            with sync:
                with torch.autocast(dev.type, dtype=self.amp_dtype or torch.float32,
                                    enabled=self.amp_dtype is not None):
                    loss = self.loss_fn(self.ddp_model, batch)
                self.scaler.scale(loss / group_size).backward()
            loss_sum += loss.detach().float()
            if last_micro:
                if cfg.clip_grad_norm:
                    self.scaler.unscale_(self.optimizer)
                    nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip_grad_norm)
                self.scaler.step(self.optimizer)
                self.scaler.update()
                self.optimizer.zero_grad(set_to_none=True)
                self.scheduler.step()
                global_step += 1
                if writer and cfg.log_every and global_step % cfg.log_every == 0:
                    writer.add_scalar("train/loss", loss.item(), global_step)
                    writer.add_scalar("train/lr", self.scheduler.get_last_lr()[0], global_step)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        if self.dist.distributed:   # the epoch loss over all ranks, not only rank 0's shard
            torch_dist.all_reduce(loss_sum)
            loss_sum /= self.dist.world_size
        # Checked once per epoch (a per-step check would stall the GPU every step), after the
        # all-reduce so every rank sees the same NaN and stops together.
        if not torch.isfinite(loss_sum):
            raise FloatingPointError(f"the training loss became {float(loss_sum)} in epoch "
                                     f"{epoch}: lower the learning rate (--lr)")
        return float(loss_sum) / n, global_step

    def _evaluate(self) -> dict:
        """Rank 0 evaluates the plain (unwrapped) model; the metrics are sent to every rank so
        all of them take the same early-stopping decision."""
        metrics = None
        if self.dist.is_main:
            self.model.eval()
            with torch.no_grad(), torch.autocast(self.dist.device.type,
                                                 dtype=self.amp_dtype or torch.float32,
                                                 enabled=self.amp_dtype is not None):
                metrics = self.evaluate_fn(self.model, self.val_loader)
                metrics = {k: float(v) for k, v in metrics.items()}
            self.model.train()
        if self.dist.distributed:
            box = [metrics]
            torch_dist.broadcast_object_list(box, src=0)
            metrics = box[0]
        return metrics

    def _writer(self):
        if not (self.dist.is_main and self.config.run_dir):
            return None
        from torch.utils.tensorboard import SummaryWriter   # imported here: only rank 0 needs it
        return SummaryWriter(log_dir=str(Path(self.config.run_dir) / "tb"))

    def _progress(self, total: int, epoch: int):
        if not (self.dist.is_main and self.config.progress and sys.stderr.isatty()):
            return None
        from tqdm import tqdm
        return tqdm(total=total, desc=f"epoch {epoch}", leave=False, unit="batch")


def _as_dataset(data, name: str) -> Dataset:
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (tuple, list)) and data and all(isinstance(t, torch.Tensor) for t in data):
        return TensorDataset(*data)
    raise ValueError(f"{name} must be a torch Dataset or a tuple of tensors with equal first "
                     f"dimension, got {type(data).__name__}")


def _amp_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda" or mode == "off":
        if mode in ("bf16", "fp16") and device.type != "cuda":
            raise ValueError(f"amp={mode!r} needs a CUDA device; use amp='auto' or 'off' on CPU")
        return None
    if mode == "fp16":
        return torch.float16
    if mode == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def _cpu_copy(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in state.items()}
