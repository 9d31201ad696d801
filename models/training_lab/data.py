"""The Training lab's data: 32 x 32 ShapeWorld single objects (eight shapes), rendered once per
process (~7 s) and kept in memory. The training set is the first ``train_size`` pictures of a
fixed draw, so a smaller set is a subset of a larger one and two runs with the same size see the
same pictures.

The draw (``shapeworld.draw_objects``): medium and large objects within 15 degrees of upright, on
all three backgrounds. At 32 px a small or freely turned shape is hard to tell (a square turned by
45 degrees is a diamond): a 32-channel CNN reached 35 % validation accuracy in 300 steps on the
classifiers' full draw, 94 % on this one, and a lesson needs a network that learns in seconds."""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import torch

from models.training_lab.network import IMAGE_SIZE
from models.training_lab.settings import FULL_TRAIN, VAL_SIZE

DATA_SEED = 0
DRAW = dict(sizes=("medium", "large"), max_rotation=15.0, backgrounds=("flat", "gradient", "noise"))
_LOCK = threading.Lock()


@dataclass(frozen=True)
class LabData:
    """uint8 pictures (N, 3, 32, 32) and shape labels (N,), for training and validation."""
    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor

    def subset(self, train_size: int) -> "LabData":
        return LabData(self.train_images[:train_size], self.train_labels[:train_size], self.val_images,
                       self.val_labels)


def to_inputs(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> float32 in [-1, 1], what the networks read."""
    return images_uint8.float() / 127.5 - 1


@functools.lru_cache(maxsize=1)
def _full() -> LabData:
    from models.shapeworld import SHAPES, draw_objects
    tensors = []
    for split, n in (("train", FULL_TRAIN), ("val", VAL_SIZE)):
        images, pair_ids = draw_objects(n, DATA_SEED, split, IMAGE_SIZE, stream=0x1AB, **DRAW)
        tensors += [torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(pair_ids % len(SHAPES))]
    return LabData(*tensors)


def lab_data(train_size: int = FULL_TRAIN) -> LabData:
    """The first ``train_size`` training pictures and the whole validation set (rendered on the
    first call)."""
    with _LOCK:          # two first visits render once
        return _full().subset(train_size)
