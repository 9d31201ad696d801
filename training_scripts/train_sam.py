"""Train the studio SAM (segment_anything's classes at ShapeWorld size, models/sam/modeling.py)
on ShapeWorld instance masks with sampled prompts; writes ``assets/checkpoints/sam-shapeworld/``
(model.safetensors + card.json).

``python training_scripts/train_sam.py`` makes the committed checkpoint (under 30 min on 2
cores); ``--quick`` is a smoke test of seconds.

- Data: ShapeWorld scenes (256 px, 1-5 objects, visible instance masks), rendered once at the
  start (~7 ms each). Each batch is rotated by a multiple of 90 degrees and flipped per image.
- Prompts, as SAM's training simulates a user: for *every* object of every image in the batch,
  (a) one positive point drawn uniformly inside its mask, (b) its box, jittered on half the
  prompts (std 10 % of the side, at most 20 px, as in the SAM paper), (c) two positive points
  and one negative point drawn near the object (inside its box grown by 25 %, outside its mask).
  The image encoder runs once per image; the decoder takes all prompts of the batch at once
  (``models.sam.modeling.decode_batch``). Mask-input prompts (SAM's iterative refinement) are
  not trained: the tab never feeds a previous mask back.
- Loss (SAM's): 20 x focal + dice on the mask logits upsampled to 256 px, for mask token 0 (the
  single-output answer) plus the best of tokens 1-3 (the multimask answers: only the best one
  gets gradient, so they can specialise on ambiguous prompts); MSE between each token's
  predicted IoU and its actual IoU. Training only the best of 3 would leave token 0 untrained
  (FIELD_NOTES), yet boxes and multi-point prompts use it.
- Card metrics: held-out mIoU (scenes of the held-out colour-shape pairs) with one positive
  point at the object's centre (the maximum of the mask's distance transform, as the SAM paper
  evaluates) using multimask output picked by predicted IoU, and with the tight box using the
  single output (SAM's own conventions, which the tab follows). Measured on the fp16 weights as
  saved.
"""
from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

MODEL_ID = "sam-shapeworld"
SCRIPT = "training_scripts/train_sam.py"

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import sigmoid_focal_loss

from models.checkpoints import save_checkpoint
from models.sam.modeling import (PIXEL_MEAN, PIXEL_STD, STUDIO_SAM, PromptDecoderGraph,
                                 build_studio_sam, decode_batch, num_parameters)
from models.sam.prompts import centre_points
from training_scripts.common import TrainConfig, Trainer, run_record, seed_everything, single_process_start

# The recipe. --quick swaps in QUICK. Every value lands in the card.
FULL = dict(
    train=3_600, val=100, heldout=300, image_size=256, max_objects=5,
    # ~1.1 s per step of 8 images (~23 objects, ~70 prompts) on 2 cores: 3 epochs of 450
    # steps plus rendering and evaluation fit in ~26 min
    epochs=3, batch_size=8, lr=5e-4, weight_decay=0.1, warmup_frac=0.03,
    # loss on logits upsampled to 128 px: a probe at 256 px cost 2 s per step (the upsampled
    # (prompts, 4, 256, 256) tensors dominate), 128 px keeps boundaries finer than the 64 px logits
    loss_size=128, focal_weight=20.0, box_jitter=0.1, box_jitter_max=20.0, box_jitter_prob=0.5,
    negative_margin=0.25, seed=0, threads=0, weights_dtype="float16",
)
QUICK = dict(FULL, train=32, val=8, heldout=8, epochs=1, batch_size=4)
TRAINING_KEYS = ("epochs", "batch_size", "lr", "weight_decay", "warmup_frac", "loss_size", "focal_weight",
                 "box_jitter", "box_jitter_max", "box_jitter_prob", "negative_margin", "seed",
                 "weights_dtype")


# --------------------------------------------------------------------------- data
class SceneStore:
    """Scenes as tensors: images (N, H, W, 3) uint8, masks (N, K, H, W) bool (K = max objects,
    unused slots empty), counts (N,)."""

    def __init__(self, split: str, n: int, seed: int, image_size: int, max_objects: int):
        from models.shapeworld import make_scene
        scenes = [make_scene(seed, i, split, image_size, max_objects=max_objects) for i in range(n)]
        self.images = torch.from_numpy(np.stack([s.image for s in scenes]))
        self.masks = torch.zeros((n, max_objects, image_size, image_size), dtype=torch.bool)
        for i, s in enumerate(scenes):
            self.masks[i, :len(s.masks)] = torch.from_numpy(s.masks)
        self.counts = torch.tensor([len(s.masks) for s in scenes])

    def __len__(self) -> int:
        return len(self.counts)


def pixels(images_uint8: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) normalised as ``Sam.preprocess`` does (no padding:
    ShapeWorld scenes are already the encoder's size)."""
    mean = torch.tensor(PIXEL_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(PIXEL_STD).view(1, 3, 1, 1)
    return (images_uint8.permute(0, 3, 1, 2).float() - mean) / std


def augment(images: torch.Tensor, masks: torch.Tensor):
    """Per image: rotate by k x 90 degrees and maybe flip, image and masks alike."""
    out_i, out_m = [], []
    for img, m in zip(images, masks):
        k = int(torch.randint(4, ()))
        img, m = torch.rot90(img, k, (0, 1)), torch.rot90(m, k, (1, 2))
        if torch.rand(()) < 0.5:
            img, m = img.flip(1), m.flip(2)
        out_i.append(img)
        out_m.append(m)
    return torch.stack(out_i), torch.stack(out_m)


def mask_boxes(masks: torch.Tensor) -> torch.Tensor:
    """(P, H, W) bool -> (P, 4) xyxy in pixel coordinates (x2 = last column, as SAM's boxes)."""
    h, w = masks.shape[-2:]
    cols, rows = masks.any(1), masks.any(2)
    xs, ys = torch.arange(w).expand_as(cols), torch.arange(h).expand_as(rows)
    x1 = torch.where(cols, xs, w).min(1).values
    x2 = torch.where(cols, xs, -1).max(1).values
    y1 = torch.where(rows, ys, h).min(1).values
    y2 = torch.where(rows, ys, -1).max(1).values
    return torch.stack([x1, y1, x2, y2], 1).float()


def sample_points(weights: torch.Tensor, n: int) -> torch.Tensor:
    """(P, H, W) non-negative weights -> (P, n, 2) xy pixel coordinates, drawn in proportion."""
    p, h, w = weights.shape
    flat = torch.multinomial(weights.reshape(p, -1).float(), n, replacement=True)
    return torch.stack([flat % w, flat // w], -1).float()


def make_prompts(masks: torch.Tensor, recipe: dict):
    """Prompts for every object: SamOnnxModel's (coords, labels) format, grouped by length.

    Returns [(coords (P, T, 2), labels (P, T), object index (P,))] for the two-token group
    (one point + padding, or a box as two corners) and the four-token group (2 positive +
    1 negative point + padding).
    """
    p, h, w = masks.shape
    pad_xy, pad_lab = torch.zeros(p, 1, 2), -torch.ones(p, 1)
    one = sample_points(masks, 1)
    point = (torch.cat([one, pad_xy], 1), torch.cat([torch.ones(p, 1), pad_lab], 1))

    boxes = mask_boxes(masks)
    side = torch.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], 1).repeat(1, 2) + 1
    noise = (torch.randn(p, 4) * recipe["box_jitter"] * side).clamp(-recipe["box_jitter_max"],
                                                                     recipe["box_jitter_max"])
    noise = noise * (torch.rand(p, 1) < recipe["box_jitter_prob"])
    boxes = (boxes + noise).clamp(0, w - 1)
    box = (boxes.view(p, 2, 2), torch.tensor([2.0, 3.0]).expand(p, 2))

    grow = recipe["negative_margin"] * side[:, :2]
    lo = (mask_boxes(masks)[:, :2] - grow).floor().clamp(min=0)
    hi = (mask_boxes(masks)[:, 2:] + grow).ceil()
    xs, ys = torch.arange(w).view(1, 1, w), torch.arange(h).view(1, h, 1)
    near = ((xs >= lo[:, 0, None, None]) & (xs <= hi[:, 0, None, None])
            & (ys >= lo[:, 1, None, None]) & (ys <= hi[:, 1, None, None]))
    outside = ~masks
    # near the object when there is room, anywhere outside it otherwise
    negative = sample_points((outside & near).float() + outside.float() * 1e-4, 1)
    multi = (torch.cat([sample_points(masks, 2), negative, pad_xy], 1),
             torch.cat([torch.ones(p, 2), torch.zeros(p, 1), pad_lab], 1))
    idx = torch.arange(p)
    return [(torch.cat([point[0], box[0]]), torch.cat([point[1], box[1]]), torch.cat([idx, idx])),
            (multi[0], multi[1], idx)]


# --------------------------------------------------------------------------- loss
def dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p = logits.sigmoid().flatten(-2)
    t = target.flatten(-2)
    return 1 - (2 * (p * t).sum(-1) + 1) / (p.sum(-1) + t.sum(-1) + 1)


def mask_iou(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """IoU over the last two dims of bool tensors; an empty union counts as 1."""
    inter = (pred & target).flatten(-2).sum(-1).float()
    union = (pred | target).flatten(-2).sum(-1).float()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


def upsample(low_res: torch.Tensor, size: int) -> torch.Tensor:
    # Sam.postprocess_masks: bilinear to the encoder's input size (here also the image's)
    return F.interpolate(low_res, (size, size), mode="bilinear", align_corners=False)


def make_loss_fn(store: SceneStore, recipe: dict):
    graph_cache: dict[int, PromptDecoderGraph] = {}

    def loss_fn(model: nn.Module, batch) -> torch.Tensor:
        sam = model.module if hasattr(model, "module") else model
        graph = graph_cache.setdefault(id(sam), PromptDecoderGraph(sam))
        (index,) = batch
        images, masks = augment(store.images[index], store.masks[index])
        counts = store.counts[index]
        image_of = torch.repeat_interleave(torch.arange(len(index)), counts)
        objects = torch.cat([masks[i, :counts[i]] for i in range(len(index))])
        # masks area-averaged to the loss resolution: soft edges, as the upsampled logits have
        targets = F.adaptive_avg_pool2d(objects.float(), recipe["loss_size"])
        embeddings = sam.image_encoder(pixels(images))
        total_mask, total_iou, n = 0.0, 0.0, 0
        for coords, labels, obj in make_prompts(objects, recipe):
            low, iou_pred = decode_batch(graph, embeddings, image_of[obj], coords, labels)
            logits = upsample(low, recipe["loss_size"])                 # (P, 4, S, S)
            target = targets[obj].unsqueeze(1).expand_as(logits)
            per_token = (recipe["focal_weight"]
                         * sigmoid_focal_loss(logits, target, reduction="none").mean((-2, -1))
                         + dice_loss(logits, target))                      # (P, 4)
            total_mask = total_mask + (per_token[:, 0] + per_token[:, 1:].min(1).values).sum()
            with torch.no_grad():
                actual = mask_iou(logits > 0, target >= 0.5)
            total_iou = total_iou + F.mse_loss(iou_pred, actual, reduction="none").sum(1).sum()
            n += len(obj)
        return (total_mask + total_iou) / n
    return loss_fn


# --------------------------------------------------------------------------- evaluation
@torch.no_grad()
def evaluate_miou(sam, store: SceneStore, batch_size: int = 16) -> dict:
    """mIoU over every object of ``store``: centre point (multimask, best predicted IoU) and
    tight box (single output)."""
    sam.eval()
    graph = PromptDecoderGraph(sam)
    size = store.images.shape[1]
    point_ious, box_ious, areas = [], [], []
    for start in range(0, len(store), batch_size):
        sl = slice(start, start + batch_size)
        counts = store.counts[sl]
        image_of = torch.repeat_interleave(torch.arange(len(counts)), counts)
        objects = torch.cat([store.masks[sl][i, :c] for i, c in enumerate(counts)])
        embeddings = sam.image_encoder(pixels(store.images[sl]))
        p = len(objects)
        centre = torch.from_numpy(centre_points(objects.numpy())).view(p, 1, 2)
        coords = torch.cat([centre, torch.zeros(p, 1, 2)], 1)
        labels = torch.tensor([1.0, -1.0]).expand(p, 2)
        low, scores = decode_batch(graph, embeddings, image_of, coords, labels)
        best = scores[:, 1:].argmax(1) + 1
        chosen = upsample(low[torch.arange(p), best].unsqueeze(1), size)[:, 0] > 0
        point_ious.append(mask_iou(chosen, objects))
        boxes = mask_boxes(objects).view(p, 2, 2)
        low, _ = decode_batch(graph, embeddings, image_of, boxes, torch.tensor([2.0, 3.0]).expand(p, 2))
        box_ious.append(mask_iou(upsample(low[:, :1], size)[:, 0] > 0, objects))
        areas.append(objects.flatten(1).sum(1))
    point, box, area = torch.cat(point_ious), torch.cat(box_ious), torch.cat(areas)
    small = area < area.float().median()
    return {"miou_point": float(point.mean()), "miou_box": float(box.mean()),
            "miou_point_small_half": float(point[small].mean()),
            "miou_box_small_half": float(box[small].mean()), "objects": int(len(point))}


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict:
    t0 = time.perf_counter()
    argv, args, recipe, dist, run_dir, out = single_process_start(__doc__, FULL, QUICK, MODEL_ID,
                                                                  "the scenes live in its memory", argv)

    stores = {split: SceneStore(split, recipe[split], recipe["seed"], recipe["image_size"],
                                recipe["max_objects"]) for split in ("train", "val", "heldout")}
    print(f"{MODEL_ID}: rendered scenes in {time.perf_counter() - t0:.1f} s "
          f"({int(stores['train'].counts.sum())} training objects)", flush=True)
    seed_everything(recipe["seed"])
    model = build_studio_sam({"image_size": recipe["image_size"]}).train()
    config = TrainConfig(
        epochs=recipe["epochs"], batch_size=recipe["batch_size"], lr=recipe["lr"],
        weight_decay=recipe["weight_decay"], warmup_frac=recipe["warmup_frac"], seed=recipe["seed"],
        threads=recipe["threads"], run_dir=run_dir, metric="miou", amp="off")

    def evaluate_fn(m: nn.Module, _loader) -> dict:
        metrics = evaluate_miou(m, stores["val"])
        m.train()
        return {"miou": (metrics["miou_point"] + metrics["miou_box"]) / 2,
                "miou_point": metrics["miou_point"], "miou_box": metrics["miou_box"]}

    trainer = Trainer(model, (torch.arange(len(stores["train"])),), (torch.arange(1),),
                      make_loss_fn(stores["train"], recipe), evaluate_fn, config, dist=dist)
    result = trainer.fit(resume=args.resume)
    return _finish(model, result, stores, recipe, argv, out, time.perf_counter() - t0)


def _finish(model, result, stores, recipe, argv, out, wall) -> dict:
    from models.shapeworld import GENERATOR_VERSION, HELD_OUT_PAIRS
    dtype = getattr(torch, recipe["weights_dtype"])
    state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in result.best_state.items()}
    model.load_state_dict(state)      # back into the fp32 model: measure exactly what ships
    model.eval()
    val = evaluate_miou(model, stores["val"])
    held = evaluate_miou(model, stores["heldout"])
    kept = [a for a in argv if a != "--resume"]
    card = {
        "model_id": MODEL_ID,
        "task": "promptable-segmentation",
        "architecture": {"segment_anything": "Sam(ImageEncoderViT, PromptEncoder, MaskDecoder)",
                         **STUDIO_SAM, "image_size": recipe["image_size"],
                         "pixel_mean": list(PIXEL_MEAN), "pixel_std": list(PIXEL_STD),
                         "parameters": num_parameters(model)},
        "train_command": ("python " + SCRIPT + (" " + shlex.join(kept) if kept else "")).strip(),
        "data": {"generator": "models.shapeworld.make_scene", "generator_version": GENERATOR_VERSION,
                 "seed": recipe["seed"], "train_scenes": recipe["train"], "val_scenes": recipe["val"],
                 "heldout_scenes": recipe["heldout"], "image_size": recipe["image_size"],
                 "max_objects": recipe["max_objects"],
                 "training_objects": int(stores["train"].counts.sum()),
                 "held_out_pairs": sorted(f"{c} {s}" for c, s in HELD_OUT_PAIRS)},
        "metrics": {
            "protocol": "mIoU over every object; point = one positive click at the mask's "
                        "distance-transform maximum, multimask output, best predicted IoU; "
                        "box = tight box, single output; masks at 256 px",
            "heldout_miou_point": held["miou_point"], "heldout_miou_box": held["miou_box"],
            "heldout_miou_point_small_half": held["miou_point_small_half"],
            "heldout_miou_box_small_half": held["miou_box_small_half"],
            "heldout_objects": held["objects"],
            "val_miou_point": val["miou_point"], "val_miou_box": val["miou_box"],
        },
        "training": {
            **{k: recipe[k] for k in TRAINING_KEYS},
            "optimizer": "AdamW", "schedule": "cosine with linear warm-up",
            "loss": "20 x focal + dice (token 0 + best of tokens 1-3) + IoU MSE",
            **run_record(result, wall),
        },
        "train_seconds": round(result.seconds, 1),
        "device": f"cpu ({torch.get_num_threads()} threads)",
    }
    folder = save_checkpoint(state, card, out)
    print(f"{MODEL_ID}: held-out mIoU point {held['miou_point']:.4f} box {held['miou_box']:.4f} "
          f"-> {folder}", flush=True)
    return {"card": card, "checkpoint_dir": folder, "result": result}


if __name__ == "__main__":
    main()
