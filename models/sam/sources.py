"""Where SAM weights come from: the studio checkpoint, or Meta's SAM checkpoints already on disk.

Pretrained SAMs load through segment_anything's own ``sam_model_registry[kind](checkpoint=path)``
from a file the learner points at (typed in the tab) or ``$STUDIO_SAM_DIR/<file name>``. The
registry's builder reads the file with ``torch.load``, which in PyTorch >= 2.6 defaults to
``weights_only=True``: a checkpoint cannot run code. Nothing here downloads.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STUDIO_MODEL_ID = "sam-shapeworld"


@dataclass(frozen=True)
class SamSource:
    key: str                  # "studio" | "vit_b" | "vit_l" | "vit_h"
    label: str                # shown in the model picker
    registry_key: str | None  # segment_anything.sam_model_registry key (None: the studio model)
    filename: str | None      # Meta's file name for the checkpoint


SAM_SOURCES: dict[str, SamSource] = {
    "studio": SamSource("studio", "Studio SAM (ShapeWorld, 2.9 M, 256 px)", None, None),
    "vit_b": SamSource("vit_b", "SAM ViT-B (Meta, 91 M, 1024 px, pretrained)", "vit_b",
                       "sam_vit_b_01ec64.pth"),
    "vit_l": SamSource("vit_l", "SAM ViT-L (Meta, 308 M, 1024 px, pretrained)", "vit_l",
                       "sam_vit_l_0b3195.pth"),
    "vit_h": SamSource("vit_h", "SAM ViT-H (Meta, 636 M, 1024 px, pretrained)", "vit_h",
                       "sam_vit_h_4b8939.pth"),
}
DOWNLOAD_URL = "https://dl.fbaipublicfiles.com/segment_anything/"


def source(key: str) -> SamSource:
    if key not in SAM_SOURCES:
        raise ValueError(f"unknown SAM source {key!r}; choose one of {', '.join(SAM_SOURCES)}")
    return SAM_SOURCES[key]


def search_dirs() -> list[Path]:
    from models.checkpoints import REPO_ROOT
    dirs = [Path(os.environ["STUDIO_SAM_DIR"])] if os.environ.get("STUDIO_SAM_DIR") else []
    return dirs + [REPO_ROOT / "assets" / "pretrained"]


def local_weights(src: SamSource) -> Path | None:
    for d in search_dirs():
        if src.filename and (d / src.filename).is_file():
            return d / src.filename
    return None


def missing_hint(src: SamSource) -> str:
    return (f"{src.label} is not on this machine ({src.filename} is in none of "
            f"{', '.join(str(d) for d in search_dirs())}). On a machine with internet download "
            f"{DOWNLOAD_URL}{src.filename} and copy it into $STUDIO_SAM_DIR (or type its path "
            "in the weights box). The studio model keeps working meanwhile.")
