"""What every studio ShapeWorld classifier recipe shares: data splits, augmentation, loss,
metrics, the command line, the main flow and the checkpoint card.

A recipe (``train_cnn.py``, ``train_vit.py``) is a ``ShapeWorldClassifier``: its model id,
script path, architecture config, a model builder and its FULL/QUICK recipe values, plus
``main(spec, argv)``. Everything else is here, so the CNN and the ViT are trained, measured
and described the same way.

Data: ShapeWorld single objects. Training and val images use the *seen* colour–shape pairs;
the held-out split uses only pairs training never saw (e.g. purple stars), so its accuracy says
whether the net learned shapes or colour shortcuts. Model input: (N, 3, S, S) float32 RGB,
``pixels/255`` normalised with the architecture's mean/std.
"""
from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as torch_dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from models.checkpoints import REPO_ROOT, save_checkpoint
from models.training.augment import augment
from training_scripts.common import (TrainConfig, TrainResult, Trainer, add_common_args,
                                     cleanup_distributed, seed_everything, setup_distributed)

# Recipe values every classifier card records, in this order (a spec adds its own before
# "patience"). Data sizes, seed and threads are recorded under "data" / "device" instead.
TRAINING_KEYS = ("epochs", "batch_size", "lr", "weight_decay", "warmup_frac", "label_smoothing",
                 "colour_aug", "grey_aug")


def call_model(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Logits of a plain ``nn.Module`` classifier: ``model(x)``."""
    return model(x)


@dataclass(frozen=True)
class ShapeWorldClassifier:
    """One studio classifier recipe: who it is and the few things that differ per model.

    build(architecture, class_names, recipe) returns a freshly initialised model;
    logits(model, x) runs it on normalised images (``model(x)`` unless told otherwise);
    recipe_keys: the spec's own recipe values that land in the card next to TRAINING_KEYS.
    """
    model_id: str
    script: str               # relative to the repo root, as written in the card's train_command
    description: str          # --help's first line
    architecture: dict
    build: Callable[[dict, list[str], dict], nn.Module]
    full: dict
    quick: dict
    logits: Callable[[nn.Module, torch.Tensor], torch.Tensor] = call_model
    recipe_keys: tuple[str, ...] = ()

    @property
    def tag(self) -> str:
        return f"[{Path(self.script).stem}]"


@dataclass
class ClassifierRun:
    """What ``main`` returns: the loop's result and (on rank 0) the written checkpoint."""
    result: TrainResult
    card: dict | None
    checkpoint_dir: Path | None


# --------------------------------------------------------------------------- data
def load_splits(data_dir: Path, recipe: dict, seed: int, image_size: int) -> dict:
    """{"train"|"val"|"heldout": SingleObjectSet}; rendered once, then read from the .npz cache."""
    from models.shapeworld import load_or_make_single_objects
    occlusion = {"train": recipe["occlusion"], "val": 0.0, "heldout": 0.0}
    return {split: load_or_make_single_objects(data_dir, recipe[split], seed, split,
                                               image_size=image_size, occlusion=occlusion[split])
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


# --------------------------------------------------------------------------- loss, metrics
def make_loss_fn(spec: ShapeWorldClassifier, recipe: dict):
    def loss_fn(model: nn.Module, batch) -> torch.Tensor:
        images, labels = batch
        x = augment(images.float() / 255.0, recipe["colour_aug"], recipe["grey_aug"],
                    recipe.get("rot90_aug", 0.0), recipe.get("max_shift", 0))
        logits = spec.logits(model, normalise(x, spec.architecture))
        return F.cross_entropy(logits.float(), labels, label_smoothing=recipe["label_smoothing"])
    return loss_fn


@torch.no_grad()
def predict(spec: ShapeWorldClassifier, model: nn.Module, loader: DataLoader,
            config: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class ids, true class ids) over a loader of (uint8 images, labels);
    ``config`` (a card's architecture) defaults to the spec's."""
    device = next(model.parameters()).device
    preds, truth = [], []
    for images, labels in loader:
        logits = spec.logits(model, normalise(images.to(device), config or spec.architecture))
        preds.append(logits.argmax(1).cpu())
        truth.append(labels)
    return torch.cat(preds).numpy(), torch.cat(truth).numpy()


def split_loader(ds, batch_size: int = 256) -> DataLoader:
    """A plain, ordered loader of (uint8 images, labels) over one SingleObjectSet."""
    return DataLoader(TensorDataset(*to_tensors(ds)), batch_size=batch_size)


def classification_metrics(preds: np.ndarray, truth: np.ndarray, class_names) -> dict:
    """{"accuracy": float, "per_class": {name: accuracy}} (classes absent from truth left out)."""
    per_class = {name: float((preds[truth == k] == k).mean())
                 for k, name in enumerate(class_names) if (truth == k).any()}
    return {"accuracy": float((preds == truth).mean()), "per_class": per_class}


# --------------------------------------------------------------------------- main
def parse_args(spec: ShapeWorldClassifier, argv: list[str] | None) -> argparse.Namespace:
    parser = add_common_args(argparse.ArgumentParser(description=spec.description))
    parser.add_argument("--data-dir", default=None,
                        help="ShapeWorld .npz cache (default <repo>/.cache/data)")
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--val-size", type=int, default=None)
    parser.add_argument("--heldout-size", type=int, default=None)
    parser.add_argument("--patience", type=int, default=None, help="early stopping; 0 = off")
    return parser.parse_args(argv)


def train_command(spec: ShapeWorldClassifier, argv: list[str], world_size: int) -> str:
    """The command line that reproduces this run, relative to the repo root."""
    launcher = (f"torchrun --standalone --nproc_per_node={world_size} " if world_size > 1
                else "python ")
    return (launcher + spec.script + (" " + shlex.join(argv) if argv else "")).strip()


def main(spec: ShapeWorldClassifier, argv: list[str] | None = None) -> ClassifierRun:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(spec, argv)
    recipe = dict(spec.quick if args.quick else spec.full)
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
    image_size = spec.architecture["image_size"]

    t0 = time.perf_counter()
    dist = setup_distributed(args.device)
    try:
        # --quick writes to a fresh temporary folder unless told otherwise (rank 0 only writes).
        scratch = (Path(tempfile.mkdtemp(prefix=f"studio-{spec.model_id}-quick-"))
                   if args.quick and dist.is_main and not (args.run_dir and args.out) else None)
        default_run_dir = REPO_ROOT / ".cache" / "runs" / spec.model_id
        run_dir = args.run_dir or (str(scratch / "run") if scratch else
                                   None if args.quick else str(default_run_dir))
        out = Path(args.out) if args.out else (scratch / "checkpoints" if scratch else None)
        if dist.device.type == "cpu" and recipe["threads"]:
            torch.set_num_threads(recipe["threads"])
        # Rank 0 renders (or reads) the data first, so ranks never write one cache file twice.
        if dist.is_main:
            splits = load_splits(data_dir, recipe, recipe["seed"], image_size)
        if dist.distributed:
            torch_dist.barrier()
        if not dist.is_main:
            splits = load_splits(data_dir, recipe, recipe["seed"], image_size)

        from models.shapeworld import SHAPES
        seed_everything(recipe["seed"])   # identical initial weights on every rank
        model = spec.build(spec.architecture, list(SHAPES), recipe)
        config = TrainConfig(
            epochs=recipe["epochs"], batch_size=recipe["batch_size"], lr=recipe["lr"],
            weight_decay=recipe["weight_decay"], warmup_frac=recipe["warmup_frac"],
            patience=recipe["patience"], seed=recipe["seed"], threads=recipe["threads"],
            run_dir=run_dir, metric="accuracy")

        def evaluate_fn(m: nn.Module, loader: DataLoader) -> dict:
            preds, truth = predict(spec, m, loader)
            return {"accuracy": float((preds == truth).mean())}

        trainer = Trainer(model, to_tensors(splits["train"]), to_tensors(splits["val"]),
                          make_loss_fn(spec, recipe), evaluate_fn, config, dist=dist)
        result = trainer.fit(resume=args.resume)

        card = folder = None
        if dist.is_main:   # one process evaluates and writes the checkpoint
            card, folder = _finish(spec, trainer.model, result, splits, recipe, argv, dist, out,
                                   time.perf_counter() - t0)
        return ClassifierRun(result=result, card=card, checkpoint_dir=folder)
    finally:
        cleanup_distributed()


def _finish(spec: ShapeWorldClassifier, model: nn.Module, result: TrainResult, splits: dict,
            recipe: dict, argv: list[str], dist, out: Path | None,
            wall: float) -> tuple[dict, Path]:
    from models.shapeworld import GENERATOR_VERSION, HELD_OUT_PAIRS, SHAPES
    model.load_state_dict(result.best_state)
    model.eval()
    metrics = {split: classification_metrics(*predict(spec, model, split_loader(splits[split])),
                                             SHAPES)
               for split in ("val", "heldout")}
    device = (f"cuda ({torch.cuda.get_device_name(dist.device)})" if dist.device.type == "cuda"
              else f"cpu ({torch.get_num_threads()} threads per process)")
    card = {
        "model_id": spec.model_id,
        "task": "image-classification",
        "architecture": spec.architecture,
        "class_names": list(SHAPES),
        "train_command": train_command(spec, argv, dist.world_size),
        "data": {
            "generator": "models.shapeworld", "generator_version": GENERATOR_VERSION,
            "seed": recipe["seed"], "train": recipe["train"], "val": recipe["val"],
            "heldout": recipe["heldout"], "image_size": spec.architecture["image_size"],
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
            **{k: recipe[k] for k in (*TRAINING_KEYS, *spec.recipe_keys, "patience")},
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
    print(f"{spec.tag} val {metrics['val']['accuracy']:.4f} heldout "
          f"{metrics['heldout']['accuracy']:.4f} -> {folder}", flush=True)
    return card, folder
