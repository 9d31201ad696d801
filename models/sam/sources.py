"""The SAM picker's entries: the studio checkpoint and Meta's checkpoints when on disk (found by
``models.sources.locate``; segment_anything keeps no cache of its own, so a typed path,
``$STUDIO_SAM_DIR`` or ``assets/pretrained/``)."""
from __future__ import annotations

from models.sources import Source

STUDIO_MODEL_ID = "sam-shapeworld"
DOWNLOAD_URL = "https://dl.fbaipublicfiles.com/segment_anything/"


def _meta(key: str, label: str, filename: str) -> Source:
    return Source(key, label, file=filename, env="STUDIO_SAM_DIR", options={"registry_key": key},
                  get=f"curl -LO {DOWNLOAD_URL}{filename}")


SOURCES: dict[str, Source] = {
    "studio": Source("studio", "Studio SAM (ShapeWorld, 2.9 M, 256 px)", studio=STUDIO_MODEL_ID),
    "vit_b": _meta("vit_b", "SAM ViT-B (Meta, 91 M, 1024 px, pretrained)", "sam_vit_b_01ec64.pth"),
    "vit_l": _meta("vit_l", "SAM ViT-L (Meta, 308 M, 1024 px, pretrained)", "sam_vit_l_0b3195.pth"),
    "vit_h": _meta("vit_h", "SAM ViT-H (Meta, 636 M, 1024 px, pretrained)", "sam_vit_h_4b8939.pth"),
}
