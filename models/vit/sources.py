"""Where ViT weights come from: the studio checkpoint or the public ViT-B/16 already on disk.

The pretrained model loads with transformers' own ``from_pretrained``: from a folder the learner
points at (``$STUDIO_VIT_DIR/<key>`` or a path typed in the UI), else from the Hugging Face hub
cache with ``local_files_only=True``. Nothing here downloads.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STUDIO_MODEL_ID = "vit-shapeworld"


@dataclass(frozen=True)
class ViTSource:
    key: str                 # "studio" | "vit_b_16"
    label: str               # shown in the model picker
    repo_id: str | None      # the hub id whose cache entry we read (None: studio checkpoint)


VIT_SOURCES: dict[str, ViTSource] = {
    "studio": ViTSource("studio", "Studio ViT (ShapeWorld, 8 shapes, 8×8 patches)", None),
    "vit_b_16": ViTSource("vit_b_16", "ViT-B/16 (ImageNet, 86 M, pretrained)", "google/vit-base-patch16-224"),
}


def source(key: str) -> ViTSource:
    if key not in VIT_SOURCES:
        raise ValueError(f"unknown ViT source {key!r}; choose one of {', '.join(VIT_SOURCES)}")
    return VIT_SOURCES[key]


def local_dir(src: ViTSource) -> Path | None:
    """``$STUDIO_VIT_DIR/<key>`` when it holds a saved model (config.json), else None."""
    root = os.environ.get("STUDIO_VIT_DIR")
    if root and (Path(root) / src.key / "config.json").is_file():
        return Path(root) / src.key
    return None


def missing_hint(src: ViTSource) -> str:
    return (f"{src.label} is not on this machine (not in the Hugging Face cache, no folder in "
            f"$STUDIO_VIT_DIR). On a machine with internet run `python -c \"from transformers import "
            f"ViTForImageClassification as M; M.from_pretrained('{src.repo_id}')\"`, or save it with "
            f"save_pretrained into $STUDIO_VIT_DIR/{src.key}. The studio model keeps working meanwhile.")
