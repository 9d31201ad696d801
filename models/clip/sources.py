"""Where CLIP weights come from: the studio checkpoint, or a public ViT-B-32 already on disk.

Pretrained CLIPs load through open_clip's own ``create_model_and_transforms(name, pretrained=...)``:
from a weights file the learner points at (``$STUDIO_CLIP_DIR/<key>/open_clip_model.safetensors``
or a path typed in the UI), else from the Hugging Face hub cache, which open_clip reads by tag
("openai", "laion2b_s34b_b79k") — with ``HF_HUB_OFFLINE=1`` it never downloads.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STUDIO_MODEL_ID = "clip-shapeworld"
WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


@dataclass(frozen=True)
class ClipSource:
    key: str                   # "studio" | "vit_b_32_openai" | "vit_b_32_laion"
    label: str                 # shown in the model picker
    model_name: str            # open_clip architecture name
    pretrained_tag: str | None  # open_clip's pretrained tag (None: the studio checkpoint)


CLIP_SOURCES: dict[str, ClipSource] = {
    "studio": ClipSource("studio", "Studio CLIP (ShapeWorld, ViT 8×8 patches, 64 px)",
                         "ShapeWorld-ViT-Tiny", None),
    "vit_b_32_openai": ClipSource("vit_b_32_openai", "ViT-B-32 · OpenAI (pretrained, 151 M)",
                                  "ViT-B-32", "openai"),
    "vit_b_32_laion": ClipSource("vit_b_32_laion", "ViT-B-32 · LAION-2B (pretrained, 151 M)",
                                 "ViT-B-32", "laion2b_s34b_b79k"),
}


def source(key: str) -> ClipSource:
    if key not in CLIP_SOURCES:
        raise ValueError(f"unknown CLIP source {key!r}; choose one of {', '.join(CLIP_SOURCES)}")
    return CLIP_SOURCES[key]


def local_weights(src: ClipSource) -> Path | None:
    """A weights file in ``$STUDIO_CLIP_DIR/<key>/`` (safetensors preferred), else None."""
    root = os.environ.get("STUDIO_CLIP_DIR")
    if not root:
        return None
    for name in WEIGHT_FILES:
        if (Path(root) / src.key / name).is_file():
            return Path(root) / src.key / name
    return None


def missing_hint(src: ClipSource) -> str:
    return (f"{src.label} is not on this machine (not in the Hugging Face cache, no file in "
            f"$STUDIO_CLIP_DIR/{src.key}/). On a machine with internet run `python -c \"import "
            f"open_clip; open_clip.create_model_and_transforms('{src.model_name}', "
            f"pretrained='{src.pretrained_tag}')\"` (it fills the cache), or copy its "
            f"open_clip_model.safetensors into $STUDIO_CLIP_DIR/{src.key}/. "
            "The studio model keeps working meanwhile.")
