"""The CLIP picker's entries: the studio checkpoint and ViT-B-32 weights when on disk (an
open_clip weights file in ``$STUDIO_CLIP_DIR/<key>/`` or a typed path, or open_clip's own entry
in the Hugging Face cache; ``models.sources.locate``). They load through open_clip's own
``create_model_and_transforms(name, pretrained=<file>)``."""
from __future__ import annotations

from models.sources import Source

STUDIO_MODEL_ID = "clip-shapeworld"
WEIGHTS_FILE = "open_clip_model.safetensors"   # open_clip's safetensors name on the hub


def _vit_b_32(key: str, label: str, tag: str, hub: str, quick_gelu: bool) -> Source:
    return Source(key, label, file=WEIGHTS_FILE, env="STUDIO_CLIP_DIR", hub=hub,
                  # the OpenAI weights were trained with QuickGELU: open_clip applies it by tag, not
                  # for a weights file, so the predictor must ask for it
                  options={"model_name": "ViT-B-32", "quick_gelu": quick_gelu},
                  get=f"python -c \"import open_clip; open_clip.create_model_and_transforms('ViT-B-32', "
                      f"pretrained='{tag}')\" (fills the Hugging Face cache)")


SOURCES: dict[str, Source] = {
    "studio": Source("studio", "Studio CLIP (ShapeWorld, ViT 8×8 patches, 64 px)", studio=STUDIO_MODEL_ID,
                     options={"model_name": "ShapeWorld-ViT-Tiny"}),
    "vit_b_32_openai": _vit_b_32("vit_b_32_openai", "ViT-B-32 · OpenAI (pretrained, 151 M)", "openai",
                                 "timm/vit_base_patch32_clip_224.openai", quick_gelu=True),
    "vit_b_32_laion": _vit_b_32("vit_b_32_laion", "ViT-B-32 · LAION-2B (pretrained, 151 M)", "laion2b_s34b_b79k",
                                "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", quick_gelu=False),
}
