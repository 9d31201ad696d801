"""What do the studio models say about each object of a ShapeWorld scene? The measurement behind
the fusion heads' object tokens (``models/multimodal/features.py``); run with
``python training_scripts/train_fusion.py --probe``.

On 300 scenes of each split, ``ObjectEncoder.detect`` finds the boxes; each true object is matched
to the box whose centre is nearest its own (within 10 px, else it counts as missed), and the box's
token is read: CLIP's colour (the crop's zero-shot colour), CLIP's shape (the same softmax summed
over the colours) and YOLO's shape (its class). Also: how often YOLO finds exactly as many boxes as
there are objects. Held-out pairs are colour-shape combinations no studio model trained on.
"""
from __future__ import annotations

import numpy as np
import torch

from models import shapeworld

SCENES = 300
MATCH_PX = 10.0


def read_split(encoder, split: str) -> dict:
    from models.multimodal.features import scene_picture
    from models.multimodal.pipelines import square_crop
    right = {"found": [], "CLIP colour": [], "CLIP shape": [], "YOLO shape": [], "box count": []}
    for scene in shapeworld.make_scenes(SCENES, 0, split, 256):
        picture = scene_picture(scene.image)
        boxes, classes, _ = encoder.detect(picture)
        right["box count"].append(len(boxes) == len(scene.specs))
        if not len(boxes):
            right["found"] += [False] * len(scene.specs)
            continue
        probs = encoder.label_probs([square_crop(picture, b) for b in boxes])
        centres = boxes.reshape(-1, 2, 2).mean(1)
        for spec in scene.specs:
            gap = np.hypot(*(centres - [spec.cx, spec.cy]).T)
            k = int(np.argmin(gap))
            right["found"].append(gap[k] <= MATCH_PX)
            if gap[k] <= MATCH_PX:
                right["CLIP colour"].append(shapeworld.COLOUR_NAMES[probs[k].sum(1).argmax()] == spec.colour)
                right["CLIP shape"].append(shapeworld.SHAPES[probs[k].sum(0).argmax()] == spec.shape)
                right["YOLO shape"].append(shapeworld.SHAPES[classes[k]] == spec.shape)
    return {k: round(float(np.mean(v)), 3) for k, v in right.items()}


@torch.no_grad()
def main() -> dict:
    from models.clip.predictor import ClipPredictor
    from models.multimodal.features import ObjectEncoder
    from models.yolo.predictor import YoloPredictor
    torch.set_num_threads(2)
    encoder = ObjectEncoder(ClipPredictor("studio"), YoloPredictor("studio"))
    table = {split: read_split(encoder, split) for split in ("train", "val", "heldout")}
    print(f"{'':10s}" + "".join(f"{k:>13s}" for k in table["train"]))
    for split, row in table.items():
        print(f"{split:10s}" + "".join(f"{v:13.3f}" for v in row.values()), flush=True)
    return table


if __name__ == "__main__":
    main()
