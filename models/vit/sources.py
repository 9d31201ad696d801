"""The ViT picker's entries: the studio checkpoint and google/vit-base-patch16-224 when on disk
(a save_pretrained folder or the Hugging Face cache, found by ``models.sources.locate``)."""
from __future__ import annotations

from models.sources import Source

STUDIO_MODEL_ID = "vit-shapeworld"

SOURCES: dict[str, Source] = {
    "studio": Source("studio", "Studio ViT (ShapeWorld, 8 shapes, 8×8 patches)", studio=STUDIO_MODEL_ID),
    "vit_b_16": Source(
        "vit_b_16", "ViT-B/16 (ImageNet, 86 M, pretrained)", file="config.json", folder=True, env="STUDIO_VIT_DIR",
        hub="google/vit-base-patch16-224",
        get="python -c \"from transformers import ViTForImageClassification as M; "
            "M.from_pretrained('google/vit-base-patch16-224').save_pretrained('vit_b_16')\""),
}
