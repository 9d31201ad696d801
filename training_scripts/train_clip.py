"""Train the studio CLIP (open_clip, config ``models/clip/model_configs/ShapeWorld-ViT-Tiny.json``)
contrastively on ShapeWorld pictures and their captions; writes
``assets/checkpoints/clip-shapeworld/`` (model.safetensors + card.json).

``python training_scripts/train_clip.py`` makes the committed checkpoint (under 20 min on 2
cores); ``--quick`` is a smoke test of seconds; torchrun runs it under DDP (each process
contrasts its own batch: no all-gather, the negatives are the local batch).

- Data: single-object ShapeWorld pictures, pre-rendered once into the .npz cache the CNN uses
  (drawing on the fly dominated a probe's run time). The held-out colour-shape pairs
  (``models.shapeworld.HELD_OUT_PAIRS``) are never seen in training.
- Text: each picture is paired, per step, with one of its caption variants
  (``models.clip.prompts.caption_variants``), tokenised by open_clip's bundled BPE.
- Loss: CLIP's symmetric InfoNCE, except that two pictures with the *same* sentence in one
  batch are both positives for it (targets spread over equal captions). A batch of 256 from
  ~1,300 distinct full captions holds ~25 such pairs, which plain InfoNCE would push apart.
- Card metrics: zero-shot top-1 over all 48 "colour shape" labels with the studio prompt
  templates, on new renders of seen pairs (val) and on the held-out pairs.
"""
from __future__ import annotations

import argparse
import math
import shlex
import sys
import tempfile
import time
from pathlib import Path

MODEL_ID = "clip-shapeworld"
SCRIPT = "training_scripts/train_clip.py"

if __package__ in (None, ""):   # run as a script: make `models` and `training_scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
import torch.distributed as torch_dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from models.checkpoints import REPO_ROOT, save_checkpoint
from models.clip.modeling import STUDIO_CLIP_NAME, STUDIO_MEAN, STUDIO_STD, STUDIO_STEM, build_clip
from models.clip.modeling import model_config, tokenizer_for
from models.clip.prompts import STUDIO_TEMPLATES, caption_variants, colour_shape_labels
from training_scripts.common import (TrainConfig, Trainer, add_common_args, cleanup_distributed, run_record,
                                     seed_everything, setup_distributed, with_overrides)

# The recipe. Plain values; --quick swaps in QUICK. Every value lands in the card.
FULL = dict(
    train=24_000, val=1_000, heldout=1_000, occlusion=0.0,
    # open_clip's usual AdamW (betas 0.9/0.98, wd 0.1) at a small-model learning rate. Batch
    # 128: ~0.6 s per step on 2 cores, so 9 epochs (1,683 steps) fit in ~18 min.
    epochs=9, batch_size=128, lr=1e-3, weight_decay=0.1, warmup_frac=0.05,
    seed=0, threads=0, patience=0,
    # Saved (and measured) in fp16: half the file (15 -> 7.6 MB; open_clip's 49,408-token
    # embedding table is most of it). The card's metrics are those of the fp16 weights.
    weights_dtype="float16",
)
QUICK = dict(FULL, train=512, val=128, heldout=128, epochs=2, batch_size=64)
TRAINING_KEYS = ("epochs", "batch_size", "lr", "weight_decay", "warmup_frac", "seed", "weights_dtype")
MAX_LOGIT_SCALE = math.log(100)   # open_clip's clamp: temperature never below 0.01


def load_splits(data_dir: Path, recipe: dict, image_size: int) -> dict:
    from models.shapeworld import load_or_make_single_objects
    return {split: load_or_make_single_objects(data_dir, recipe[split], recipe["seed"], split,
                                               image_size=image_size,
                                               occlusion=recipe["occlusion"])
            for split in ("train", "val", "heldout")}


def pixels(images_uint8: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float32 normalised as the predictor does."""
    mean = torch.tensor(STUDIO_MEAN, device=images_uint8.device).view(1, 3, 1, 1)
    std = torch.tensor(STUDIO_STD, device=images_uint8.device).view(1, 3, 1, 1)
    return (images_uint8.permute(0, 3, 1, 2).float() / 255 - mean) / std


class CaptionTable:
    """Every distinct training sentence, tokenised once; pictures point into it."""

    def __init__(self, ds, tokenizer):
        variants = [caption_variants(spec, cap) for spec, cap in zip(ds.specs, ds.captions)]
        self.sentences = sorted({s for v in variants for s in v})
        index = {s: i for i, s in enumerate(self.sentences)}
        self.tokens = tokenizer(self.sentences)                          # (S, context) int64
        self.ids = torch.tensor([[index[s] for s in v] for v in variants])  # (N, variants)


def contrastive_loss(image_features: torch.Tensor, text_features: torch.Tensor,
                     logit_scale: torch.Tensor, sentence_ids: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE with every equal sentence in the batch a positive (see module doc)."""
    logits = logit_scale * image_features @ text_features.T
    same = (sentence_ids[:, None] == sentence_ids[None, :]).float()
    targets = same / same.sum(dim=1, keepdim=True)
    return 0.5 * (torch.sum(-targets * F.log_softmax(logits, dim=1), dim=1).mean()
                  + torch.sum(-targets * F.log_softmax(logits.T, dim=1), dim=1).mean())


def make_loss_fn(table: CaptionTable):
    def loss_fn(model: nn.Module, batch) -> torch.Tensor:
        images, variant_ids = batch
        clip = model.module if hasattr(model, "module") else model
        with torch.no_grad():
            clip.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
        pick = torch.randint(variant_ids.shape[1], (len(variant_ids),), device=variant_ids.device)
        sentence_ids = variant_ids[torch.arange(len(variant_ids)), pick]
        tokens = table.tokens.to(images.device)[sentence_ids]
        image_features, text_features, logit_scale = model(pixels(images), tokens)
        return contrastive_loss(image_features, text_features, logit_scale, sentence_ids)
    return loss_fn


@torch.no_grad()
def label_embeddings(clip: nn.Module, tokenizer, labels: list[str],
                     templates=STUDIO_TEMPLATES) -> torch.Tensor:
    """(L, D): each label's template embeddings averaged, renormalised (prompt ensembling)."""
    device = next(clip.parameters()).device
    out = []
    for label in labels:
        e = clip.encode_text(tokenizer([t.format(label) for t in templates]).to(device),
                             normalize=True).mean(0)
        out.append(e / e.norm())
    return torch.stack(out)


@torch.no_grad()
def zero_shot_predictions(clip: nn.Module, tokenizer, images_uint8: np.ndarray,
                          batch_size: int = 256) -> np.ndarray:
    """Index into ``colour_shape_labels()`` of each picture's zero-shot top-1."""
    clip.eval()
    text = label_embeddings(clip, tokenizer, colour_shape_labels())
    device = text.device
    preds = []
    for i in range(0, len(images_uint8), batch_size):
        x = pixels(torch.from_numpy(images_uint8[i:i + batch_size]).to(device))
        preds.append((clip.encode_image(x, normalize=True) @ text.T).argmax(1).cpu())
    return torch.cat(preds).numpy()


def zero_shot_metrics(clip: nn.Module, tokenizer, ds) -> dict:
    """Top-1 over all 48 colour-shape labels, plus how often colour and shape alone are right."""
    labels = colour_shape_labels()
    preds = zero_shot_predictions(clip, tokenizer, ds.images)
    truth = [f"{sp.colour} {sp.shape}" for sp in ds.specs]
    guessed = [labels[p] for p in preds]
    per_pair: dict[str, list[bool]] = {}
    for t, g in zip(truth, guessed):
        per_pair.setdefault(t, []).append(t == g)
    return {
        "top1": float(np.mean([t == g for t, g in zip(truth, guessed)])),
        "colour": float(np.mean([t.split()[0] == g.split()[0] for t, g in zip(truth, guessed)])),
        "shape": float(np.mean([t.split()[1] == g.split()[1] for t, g in zip(truth, guessed)])),
        "per_pair": {k: float(np.mean(v)) for k, v in sorted(per_pair.items())},
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    parser.add_argument("--data-dir", default=None, help="ShapeWorld .npz cache (.cache/data)")
    parser.add_argument("--train-size", type=int, default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    recipe = with_overrides(QUICK if args.quick else FULL, epochs=args.epochs, batch_size=args.batch_size,
                            lr=args.lr, seed=args.seed, threads=args.threads, train=args.train_size)
    data_dir = Path(args.data_dir) if args.data_dir else REPO_ROOT / ".cache" / "data"
    architecture = model_config(STUDIO_CLIP_NAME)
    image_size = architecture["vision_cfg"]["image_size"]

    t0 = time.perf_counter()
    dist = setup_distributed(args.device)
    try:
        scratch = (Path(tempfile.mkdtemp(prefix=f"studio-{MODEL_ID}-quick-"))
                   if args.quick and dist.is_main and not (args.run_dir and args.out) else None)
        run_dir = args.run_dir or (str(scratch / "run") if scratch else
                                   None if args.quick else str(REPO_ROOT / ".cache" / "runs" / MODEL_ID))
        out = Path(args.out) if args.out else (scratch / "checkpoints" if scratch else None)
        if dist.device.type == "cpu" and recipe["threads"]:
            torch.set_num_threads(recipe["threads"])
        if dist.is_main:   # rank 0 renders the cache first, so no file is written twice
            splits = load_splits(data_dir, recipe, image_size)
        if dist.distributed:
            torch_dist.barrier()
        if not dist.is_main:
            splits = load_splits(data_dir, recipe, image_size)

        tokenizer = tokenizer_for(STUDIO_CLIP_NAME)
        table = CaptionTable(splits["train"], tokenizer)
        seed_everything(recipe["seed"])
        model = build_clip(STUDIO_CLIP_NAME, STUDIO_STEM)
        optimizer = torch.optim.AdamW(
            [{"params": [p for p in model.parameters() if p.ndim >= 2], "weight_decay": recipe["weight_decay"]},
             {"params": [p for p in model.parameters() if p.ndim < 2], "weight_decay": 0.0}],
            lr=recipe["lr"], betas=(0.9, 0.98), eps=1e-6)
        config = TrainConfig(
            epochs=recipe["epochs"], batch_size=recipe["batch_size"], lr=recipe["lr"],
            weight_decay=recipe["weight_decay"], warmup_frac=recipe["warmup_frac"],
            patience=recipe["patience"], seed=recipe["seed"], threads=recipe["threads"],
            run_dir=run_dir, metric="accuracy")
        train = (torch.from_numpy(splits["train"].images), table.ids)
        # The Trainer's val loader is not used: zero-shot needs the label prompts, not batches.
        val = (torch.from_numpy(splits["val"].images[:1]),)

        def evaluate_fn(m: nn.Module, _loader: DataLoader) -> dict:
            metrics = zero_shot_metrics(m, tokenizer, splits["val"])
            return {"accuracy": metrics["top1"], "logit_scale": float(m.logit_scale.detach().exp())}

        trainer = Trainer(model, train, val, make_loss_fn(table), evaluate_fn, config,
                          dist=dist, optimizer=optimizer)
        result = trainer.fit(resume=args.resume)
        if not dist.is_main:
            return {}
        return _finish(model, tokenizer, result, splits, recipe, architecture, argv, dist, out,
                       time.perf_counter() - t0, len(table.sentences))
    finally:
        cleanup_distributed()


def _finish(model, tokenizer, result, splits, recipe, architecture, argv, dist, out, wall,
            n_sentences) -> dict:
    from models.shapeworld import GENERATOR_VERSION, HELD_OUT_PAIRS
    dtype = getattr(torch, recipe["weights_dtype"])
    state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in result.best_state.items()}
    model.load_state_dict(state)      # back into the fp32 model: measure exactly what ships
    model.eval()
    seen = zero_shot_metrics(model, tokenizer, splits["val"])
    held = zero_shot_metrics(model, tokenizer, splits["heldout"])
    kept = [a for a in argv if a != "--resume"]
    launcher = (f"torchrun --standalone --nproc_per_node={dist.world_size} "
                if dist.world_size > 1 else "python ")
    device = (f"cuda ({torch.cuda.get_device_name(dist.device)})" if dist.device.type == "cuda"
              else f"cpu ({torch.get_num_threads()} threads per process)")
    card = {
        "model_id": MODEL_ID,
        "task": "zero-shot-image-classification",
        "architecture": {"open_clip_model": STUDIO_CLIP_NAME, **architecture, "stem": STUDIO_STEM,
                         "mean": list(STUDIO_MEAN), "std": list(STUDIO_STD)},
        # --resume continues the same run bit for bit (seeded per epoch), so the command that
        # reproduces the weights is the one without it
        "train_command": (launcher + SCRIPT + (" " + shlex.join(kept) if kept else "")).strip(),
        "data": {
            "generator": "models.shapeworld", "generator_version": GENERATOR_VERSION,
            "seed": recipe["seed"], "train": recipe["train"], "val": recipe["val"],
            "heldout": recipe["heldout"], "image_size": architecture["vision_cfg"]["image_size"],
            "occlusion": recipe["occlusion"], "distinct_training_sentences": n_sentences,
            "held_out_pairs": sorted(f"{c} {s}" for c, s in HELD_OUT_PAIRS),
        },
        "metrics": {
            "zero_shot_labels": "48 'colour shape' labels, studio templates averaged",
            "seen_top1": seen["top1"], "heldout_top1": held["top1"],
            "seen_colour": seen["colour"], "seen_shape": seen["shape"],
            "heldout_colour": held["colour"], "heldout_shape": held["shape"],
            "heldout_per_pair": held["per_pair"],
            "logit_scale": float(model.logit_scale.detach().exp()),
        },
        "training": {
            **{k: recipe[k] for k in TRAINING_KEYS},
            "optimizer": "AdamW (betas 0.9, 0.98)", "schedule": "cosine with linear warm-up",
            "loss": "symmetric InfoNCE, equal sentences in a batch are all positives",
            **run_record(result, wall),
        },
        "train_seconds": round(result.seconds, 1),
        "device": device,
        "world_size": dist.world_size,
    }
    folder = save_checkpoint(state, card, out)
    print(f"{MODEL_ID}: zero-shot seen {seen['top1']:.4f} held-out {held['top1']:.4f} -> {folder}",
          flush=True)
    return {"card": card, "checkpoint_dir": folder, "result": result}


if __name__ == "__main__":
    main()
