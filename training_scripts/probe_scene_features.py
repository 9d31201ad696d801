"""Can a frozen studio tower see a ShapeWorld scene? The measurement behind the fusion heads'
features (``models/multimodal/features.py``); run with ``python training_scripts/train_fusion.py --probe``.

For each candidate token grid, every object's tokens (those whose cell centre lies on its visible
mask) are averaged, and two linear probes (softmax regression, Adam, 300 full-batch steps) are
fitted on 600 training scenes to say the object's colour and its shape; accuracy is measured on
200 new scenes of seen pairs and on 200 scenes of held-out colour-shape pairs.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from models import shapeworld

TRAIN, TEST = 600, 200


def object_means(tokens: torch.Tensor, scenes) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(objects, D) mean token per object, and its colour and shape ids."""
    grid = int(round(tokens.shape[1] ** 0.5))
    xs, colours, shapes = [], [], []
    for t, scene in zip(tokens, scenes):
        cell = scene.image.shape[0] / grid
        centres = (np.arange(grid) * cell + cell / 2).astype(int)
        for k, mask in enumerate(scene.masks):
            on = torch.from_numpy(mask[np.ix_(centres, centres)].ravel())
            if on.any():
                xs.append(t[on].mean(0))
                colours.append(int(scene.colours[k]))
                shapes.append(int(scene.class_ids[k]))
    return torch.stack(xs), torch.tensor(colours), torch.tensor(shapes)


def linear_probe(x, y, x_test, y_test, classes: int) -> float:
    torch.manual_seed(0)
    probe = torch.nn.Linear(x.shape[1], classes)
    optimizer = torch.optim.Adam(probe.parameters(), 1e-2)
    for _ in range(300):
        optimizer.zero_grad()
        F.cross_entropy(probe(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        return float((probe(x_test).argmax(1) == y_test).float().mean())


def clip_tokens(clip, size: int):
    from models.multimodal.features import CLIPSceneTokens, clip_pixels
    tower = CLIPSceneTokens(clip.model, size)
    return lambda scenes: torch.cat([tower(clip_pixels(scenes[i:i + 64], clip.norm, size))
                                     for i in range(0, len(scenes), 64)])


def yolo_tokens(yolo):
    import copy

    from models.multimodal.features import YOLO_LAYER
    net = copy.deepcopy(yolo.yolo.model).eval()
    out = []
    net.model[YOLO_LAYER].register_forward_hook(lambda _m, _i, o: out.append(o))

    def run(scenes):
        chunks = []
        for i in range(0, len(scenes), 32):
            net(torch.from_numpy(np.ascontiguousarray(scenes[i:i + 32].transpose(0, 3, 1, 2))).float() / 255)
            chunks.append(out.pop().flatten(2).transpose(1, 2))
        return torch.cat(chunks)
    return run


@torch.no_grad()
def main() -> dict:
    from models.clip.predictor import ClipPredictor
    from models.yolo.predictor import YoloPredictor
    torch.set_num_threads(2)
    clip, yolo = ClipPredictor("studio"), YoloPredictor("studio")
    scenes = {split: shapeworld.make_scenes(n, 0, split, 256)
              for split, n in (("train", TRAIN), ("val", TEST), ("heldout", TEST))}
    pictures = {split: np.stack([s.image for s in v]) for split, v in scenes.items()}
    candidates = {"CLIP, scene at 64 px (8x8)": clip_tokens(clip, 64),
                  "CLIP, scene at 128 px (16x16)": clip_tokens(clip, 128),
                  "YOLO neck P3 (32x32)": yolo_tokens(yolo)}
    table = {}
    for name, tokens_of in candidates.items():
        t0 = time.perf_counter()
        means = {split: object_means(tokens_of(pictures[split]), scenes[split]) for split in scenes}
        x, colour, shape = means["train"]
        row = {}
        for split in ("val", "heldout"):
            xt, ct, st = means[split]
            with torch.enable_grad():
                row[split] = {"colour": round(linear_probe(x, colour, xt, ct, 6), 3),
                              "shape": round(linear_probe(x, shape, xt, st, 8), 3)}
        table[name] = row
        print(f"{name:32s} seen pairs colour {row['val']['colour']:.2f} shape {row['val']['shape']:.2f} | "
              f"held-out pairs colour {row['heldout']['colour']:.2f} shape {row['heldout']['shape']:.2f} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    return table


if __name__ == "__main__":
    main()
