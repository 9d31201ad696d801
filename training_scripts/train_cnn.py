"""Train the studio CNN (SmallResNet) to classify ShapeWorld shapes; writes
``assets/checkpoints/cnn-shapeworld/`` (model.safetensors + card.json).

    python training_scripts/train_cnn.py                 # the committed checkpoint
    python training_scripts/train_cnn.py --quick         # smoke test, seconds
    torchrun --standalone --nproc_per_node=2 training_scripts/train_cnn.py   # DDP

Data: ShapeWorld single objects at 64 px. Training and val images use the *seen*
colour–shape pairs; the held-out split uses only pairs training never saw (e.g. purple stars),
so its accuracy says whether the net learned shapes or colour shortcuts. Model input:
(N, 3, 64, 64) float32 RGB, ``pixels/255`` normalised with the architecture's mean/std.
"""
from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):   # run as a script: make `models` and `training_scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
import torch.distributed as torch_dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from models.checkpoints import REPO_ROOT, save_checkpoint
from models.cnn.modeling import STUDIO_CNN_CONFIG, build_cnn
from training_scripts.common import (TrainConfig, TrainResult, Trainer, add_common_args,
                                     cleanup_distributed, seed_everything, setup_distributed)

MODEL_ID = "cnn-shapeworld"
SCRIPT = "training_scripts/train_cnn.py"

# The recipe. Plain values; --quick swaps in QUICK. Every value lands in the card.
FULL = dict(
    train=12_000, val=1_000, heldout=1_000,
    occlusion=0.2,            # 1 in 5 training objects partly hidden: no need for the whole outline
    epochs=10, batch_size=64, lr=2e-3, weight_decay=0.05, warmup_frac=0.05,
    label_smoothing=0.05,     # soft targets: calmer logits, softer probabilities in the tab
    # Chance per image of shuffling its RGB channels / of turning it grey (see augment).
    # Measured: without them the held-out split also scores 100 % (every colour comes with
    # >= 4 shapes, so colour alone never names the shape); they stay for inputs outside the
    # palette (a learner's cyan drawing), at the cost of a slower first epoch.
    colour_aug=0.5,
    grey_aug=0.1,
    # build_cnn can zero-init each block's last BN scale (Goyal et al. 2017, made for big-batch
    # SGD). Under AdamW every weight moves ~lr per step, so those scales need hundreds of steps
    # to leave 0 and the blocks learn nothing meanwhile: measured 60 % val accuracy after 200
    # steps with scale 1 against ~525 with scale 0 (batch 64, lr 2e-3). So we start them at 1.
    zero_init_residual=False,
    patience=0, seed=0, threads=0,
)
QUICK = dict(FULL, train=256, val=128, heldout=128, epochs=2, batch_size=32, threads=1)


@dataclass
class CnnRun:
    """What ``main`` returns: the loop's result and (on rank 0) the written checkpoint."""
    result: TrainResult
    card: dict | None
    checkpoint_dir: Path | None


# --------------------------------------------------------------------------- data
def load_splits(data_dir: Path, recipe: dict, seed: int) -> dict:
    """{"train"|"val"|"heldout": SingleObjectSet}; rendered once, then read from the .npz cache."""
    from models.shapeworld import load_or_make_single_objects
    occlusion = {"train": recipe["occlusion"], "val": 0.0, "heldout": 0.0}
    return {split: load_or_make_single_objects(data_dir, recipe[split], seed, split,
                                               image_size=STUDIO_CNN_CONFIG["image_size"],
                                               occlusion=occlusion[split])
            for split in ("train", "val", "heldout")}


def to_tensors(ds) -> tuple[torch.Tensor, torch.Tensor]:
    """SingleObjectSet -> (images (N, 3, H, W) uint8 RGB, labels (N,) int64).

    The images stay uint8 (a quarter of float32's memory); the permuted NHWC array is already
    channels_last in memory, the layout the CPU convolutions run fastest in.
    """
    return torch.from_numpy(ds.images).permute(0, 3, 1, 2), torch.from_numpy(ds.labels)


def normalise(images: torch.Tensor, config: dict) -> torch.Tensor:
    """(N, 3, H, W) uint8 or [0, 1] float RGB -> float32 normalised with config mean/std."""
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    mean = torch.tensor(config["mean"], device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(config["std"], device=x.device).view(1, -1, 1, 1)
    return ((x - mean) / std).contiguous(memory_format=torch.channels_last)


def augment(x: torch.Tensor, colour_p: float, grey_p: float) -> torch.Tensor:
    """Per-image random flip, RGB-channel shuffle and greyscale of (N, 3, H, W) floats in [0, 1].

    Flip: shapes are drawn at random rotations already, a mirror adds the other handedness.
    Channel shuffle and greyscale: training never shows e.g. a purple star, so a net could
    learn "purple means not a star". Shuffling channels turns purple into other hues on the
    fly, so colour carries no shape information and the net has to read the outline.
    """
    n = x.shape[0]
    flip = torch.rand(n, device=x.device) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
    if colour_p > 0:
        perms = torch.rand(n, 3, device=x.device).argsort(1)   # one random permutation per image
        keep = torch.rand(n, device=x.device) >= colour_p
        perms[keep] = torch.arange(3, device=x.device)
        x = torch.gather(x, 1, perms.view(n, 3, 1, 1).expand_as(x))
    if grey_p > 0:
        luma = [0.299, 0.587, 0.114]   # ITU-R BT.601 weights of R, G, B
        weights = torch.tensor(luma, device=x.device).view(1, 3, 1, 1)
        grey = (x * weights).sum(1, keepdim=True).expand_as(x)
        x = torch.where((torch.rand(n, device=x.device) < grey_p).view(-1, 1, 1, 1), grey, x)
    return x


# --------------------------------------------------------------------------- loss, metrics
def make_loss_fn(recipe: dict, config: dict):
    def loss_fn(model: nn.Module, batch) -> torch.Tensor:
        images, labels = batch
        x = augment(images.float() / 255.0, recipe["colour_aug"], recipe["grey_aug"])
        logits = model(normalise(x, config))
        return F.cross_entropy(logits.float(), labels, label_smoothing=recipe["label_smoothing"])
    return loss_fn


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, config: dict) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class ids, true class ids) over a loader of (uint8 images, labels)."""
    device = next(model.parameters()).device
    preds, truth = [], []
    for images, labels in loader:
        logits = model(normalise(images.to(device), config))
        preds.append(logits.argmax(1).cpu())
        truth.append(labels)
    return torch.cat(preds).numpy(), torch.cat(truth).numpy()


def classification_metrics(preds: np.ndarray, truth: np.ndarray, class_names) -> dict:
    """{"accuracy": float, "per_class": {name: accuracy}} (classes absent from truth left out)."""
    per_class = {name: float((preds[truth == k] == k).mean())
                 for k, name in enumerate(class_names) if (truth == k).any()}
    return {"accuracy": float((preds == truth).mean()), "per_class": per_class}


# --------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    parser.add_argument("--data-dir", default=None,
                        help="ShapeWorld .npz cache (default <repo>/.cache/data)")
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--val-size", type=int, default=None)
    parser.add_argument("--heldout-size", type=int, default=None)
    parser.add_argument("--patience", type=int, default=None, help="early stopping; 0 = off")
    return parser.parse_args(argv)


def train_command(argv: list[str], world_size: int) -> str:
    """The command line that reproduces this run, relative to the repo root."""
    launcher = (f"torchrun --standalone --nproc_per_node={world_size} " if world_size > 1
                else "python ")
    return (launcher + SCRIPT + (" " + shlex.join(argv) if argv else "")).strip()


def main(argv: list[str] | None = None) -> CnnRun:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    recipe = dict(QUICK if args.quick else FULL)
    for key, value in {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                       "seed": args.seed, "threads": args.threads, "patience": args.patience,
                       "train": args.train_size, "val": args.val_size,
                       "heldout": args.heldout_size}.items():
        if value is not None:
            recipe[key] = value
    if args.quick and args.resume and not args.run_dir:
        raise ValueError("--quick --resume needs --run-dir: a quick run's default run dir is a "
                         "new temporary folder each time")
    data_dir = Path(args.data_dir) if args.data_dir else REPO_ROOT / ".cache" / "data"

    t0 = time.perf_counter()
    dist = setup_distributed(args.device)
    try:
        # --quick writes to a fresh temporary folder unless told otherwise (rank 0 only writes).
        scratch = (Path(tempfile.mkdtemp(prefix="studio-cnn-quick-"))
                   if args.quick and dist.is_main and not (args.run_dir and args.out) else None)
        default_run_dir = REPO_ROOT / ".cache" / "runs" / MODEL_ID
        run_dir = args.run_dir or (str(scratch / "run") if scratch else
                                   None if args.quick else str(default_run_dir))
        out = Path(args.out) if args.out else (scratch / "checkpoints" if scratch else None)
        if dist.device.type == "cpu" and recipe["threads"]:
            torch.set_num_threads(recipe["threads"])
        # Rank 0 renders (or reads) the data first, so ranks never write one cache file twice.
        if dist.is_main:
            splits = load_splits(data_dir, recipe, recipe["seed"])
        if dist.distributed:
            torch_dist.barrier()
        if not dist.is_main:
            splits = load_splits(data_dir, recipe, recipe["seed"])

        seed_everything(recipe["seed"])   # identical initial weights on every rank
        model = build_cnn(STUDIO_CNN_CONFIG, zero_init_residual=recipe["zero_init_residual"]
                          ).to(memory_format=torch.channels_last)
        config = TrainConfig(
            epochs=recipe["epochs"], batch_size=recipe["batch_size"], lr=recipe["lr"],
            weight_decay=recipe["weight_decay"], warmup_frac=recipe["warmup_frac"],
            patience=recipe["patience"], seed=recipe["seed"], threads=recipe["threads"],
            run_dir=run_dir, metric="accuracy")

        def evaluate_fn(m: nn.Module, loader: DataLoader) -> dict:
            preds, truth = predict(m, loader, STUDIO_CNN_CONFIG)
            return {"accuracy": float((preds == truth).mean())}

        trainer = Trainer(model, to_tensors(splits["train"]), to_tensors(splits["val"]),
                          make_loss_fn(recipe, STUDIO_CNN_CONFIG), evaluate_fn, config, dist=dist)
        result = trainer.fit(resume=args.resume)

        card = folder = None
        if dist.is_main:   # one process evaluates and writes the checkpoint
            card, folder = _finish(trainer.model, result, splits, recipe, argv, dist, out,
                                   time.perf_counter() - t0)
        return CnnRun(result=result, card=card, checkpoint_dir=folder)
    finally:
        cleanup_distributed()


def _finish(model: nn.Module, result: TrainResult, splits: dict, recipe: dict, argv: list[str],
            dist, out: Path | None, wall: float) -> tuple[dict, Path]:
    from models.shapeworld import GENERATOR_VERSION, HELD_OUT_PAIRS, SHAPES
    model.load_state_dict(result.best_state)
    model.eval()
    metrics = {}
    for split in ("val", "heldout"):
        loader = DataLoader(torch.utils.data.TensorDataset(*to_tensors(splits[split])),
                            batch_size=256)
        metrics[split] = classification_metrics(*predict(model, loader, STUDIO_CNN_CONFIG), SHAPES)
    device = (f"cuda ({torch.cuda.get_device_name(dist.device)})" if dist.device.type == "cuda"
              else f"cpu ({torch.get_num_threads()} threads per process)")
    card = {
        "model_id": MODEL_ID,
        "task": "image-classification",
        "architecture": STUDIO_CNN_CONFIG,
        "class_names": list(SHAPES),
        "train_command": train_command(argv, dist.world_size),
        "data": {
            "generator": "models.shapeworld", "generator_version": GENERATOR_VERSION,
            "seed": recipe["seed"], "train": recipe["train"], "val": recipe["val"],
            "heldout": recipe["heldout"], "image_size": STUDIO_CNN_CONFIG["image_size"],
            "occlusion": recipe["occlusion"],
            "held_out_pairs": sorted(f"{c} {s}" for c, s in HELD_OUT_PAIRS),
        },
        "metrics": {
            "val_accuracy": metrics["val"]["accuracy"],
            "heldout_accuracy": metrics["heldout"]["accuracy"],
            "heldout_per_class": metrics["heldout"]["per_class"],
            "val_per_class": metrics["val"]["per_class"],
        },
        "training": {
            **{k: recipe[k] for k in ("epochs", "batch_size", "lr", "weight_decay", "warmup_frac",
                                      "label_smoothing", "colour_aug", "grey_aug",
                                      "zero_init_residual", "patience")},
            "optimizer": "AdamW", "schedule": "cosine with linear warm-up",
            "best_epoch": result.best_epoch, "epochs_run": len(result.history),
            "global_step": result.global_step, "wall_seconds": round(wall, 1),
            "history": [{k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()}
                        for row in result.history],
        },
        "train_seconds": round(result.seconds, 1),
        "device": device,
        "world_size": dist.world_size,
    }
    folder = save_checkpoint(result.best_state, card, out)
    print(f"[train_cnn] val {metrics['val']['accuracy']:.4f} heldout "
          f"{metrics['heldout']['accuracy']:.4f} -> {folder}", flush=True)
    return card, folder


if __name__ == "__main__":
    main()
