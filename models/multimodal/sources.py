"""The fusion picker's one entry: the studio heads (``training_scripts/train_fusion.py``), which
read the studio CLIP's and YOLO's frozen features. There are no pretrained fusion heads: they
are trained for these features and this task."""
from __future__ import annotations

from models.sources import Source

STUDIO_MODEL_ID = "fusion-shapeworld"

SOURCES: dict[str, Source] = {
    "studio": Source("studio", "Studio fusion heads (ShapeWorld questions)", studio=STUDIO_MODEL_ID),
}
