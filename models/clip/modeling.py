"""CLIP = open_clip's own model, built from a JSON config, split into the two graphs a runtime
runs: the image tower and the text tower.

- The studio architecture is data: ``model_configs/ShapeWorld-ViT-Tiny.json`` (a small ViT and a
  small text transformer), registered with ``open_clip.add_model_config`` so
  ``open_clip.create_model("ShapeWorld-ViT-Tiny")`` and ``open_clip.get_tokenizer(...)`` work like
  for any model open_clip ships (``list_models()`` includes it).
- The studio model swaps the ViT's patchify convolution for a small ResNet stem (the attention
  tab's hybrid ViT does the same, ``models.vit.modeling.ResNetStem``): in probes of this recipe
  on 2 CPU cores a patchify ViT had learned colours but not shapes after 300 steps (zero-shot
  stuck at ~20 %), the hybrid passed 50 % by then. The JSON stays open_clip's own schema; the
  stem is recorded in the checkpoint's card (``STUDIO_STEM``).
- ``ImageTower``: pixels -> (image embedding, one embedding per patch), both L2-normalised, in
  the shared space: the patch embeddings say where a caption matches inside the picture.
- ``TextTower``: token ids -> text embedding, L2-normalised.

Both are plain ``nn.Module`` s in eval mode: the eager, torch.compile, ONNX Runtime and TensorRT
backends each run them unchanged (models/backends). Nothing here reads files or knows the UI.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

STUDIO_CLIP_NAME = "ShapeWorld-ViT-Tiny"
CONFIG_DIR = Path(__file__).resolve().parent / "model_configs"
# ShapeWorld pictures are saturated shapes on mid-grey-ish backgrounds; (0.5, 0.25) maps them
# to about [-2, 2], as the CNN and ViT do. Pretrained CLIPs bring their own mean/std.
STUDIO_MEAN = (0.5, 0.5, 0.5)
STUDIO_STD = (0.25, 0.25, 0.25)

# The studio image tower's patch embedding: ResNet widths per stage (2 ** stages = patch size).
STUDIO_STEM = {"type": "resnet", "widths": [16, 32, 64]}

_registered = False


def register_configs() -> None:
    """Make the studio JSON configs known to open_clip (idempotent)."""
    global _registered
    if not _registered:
        import open_clip
        open_clip.add_model_config(CONFIG_DIR)
        _registered = True


def model_config(name: str = STUDIO_CLIP_NAME) -> dict:
    """The architecture dict open_clip builds ``name`` from (a copy)."""
    import copy

    import open_clip
    register_configs()
    config = open_clip.get_model_config(name)
    if config is None:
        raise ValueError(f"open_clip knows no model {name!r}; see open_clip.list_models()")
    return copy.deepcopy(config)


def build_clip(name: str = STUDIO_CLIP_NAME, stem: dict | None = None) -> nn.Module:
    """A randomly initialised open_clip CLIP of architecture ``name`` (eval mode), its patchify
    convolution replaced by a ResNet stem when ``stem`` says so (see the module doc)."""
    import logging

    import open_clip
    register_configs()
    # open_clip warns "Model initialized randomly" on the root logger; here that is the point
    # (the caller loads a checkpoint or trains next), so the server log is spared it.
    quiet = _DropMessage("initialized randomly")
    logging.getLogger().addFilter(quiet)
    try:
        model = open_clip.create_model(name, pretrained=None)
    finally:
        logging.getLogger().removeFilter(quiet)
    if stem:
        from models.vit.modeling import ResNetStem
        if stem.get("type") != "resnet":
            raise ValueError(f"unknown stem {stem!r}: only {{'type': 'resnet', 'widths': [...]}}")
        visual = model.visual
        patch = visual.image_size[0] // visual.grid_size[0]
        if 2 ** len(stem["widths"]) != patch:   # max-pool + (len - 1) strided stages
            raise ValueError(f"a ResNet stem with {len(stem['widths'])} stages makes "
                             f"{2 ** len(stem['widths'])} px patches, but the patch size is {patch}")
        visual.conv1 = ResNetStem(3, list(stem["widths"]), visual.conv1.out_channels)
    return model.eval()


class _DropMessage:
    """A logging filter that drops records containing ``text``."""

    def __init__(self, text: str):
        self.text = text

    def filter(self, record) -> bool:
        return self.text not in record.getMessage()


def tokenizer_for(name: str = STUDIO_CLIP_NAME):
    """open_clip's tokenizer for ``name``: the bundled BPE (49,408 tokens), padded/cut to the
    model's context length, so ``tokenizer(["a red circle"])`` -> (1, context_length) int64."""
    import open_clip
    register_configs()
    return open_clip.get_tokenizer(name)


class ImageTower(nn.Module):
    """pixels (B, 3, S, S) float32, normalised -> (image (B, D), patches (B, G*G, D)).

    Both outputs are L2-normalised, so ``image @ text.T`` is a cosine similarity. ``patches`` are
    row-major over the G x G patch grid (G = S / patch size), one embedding per patch: the last
    block's attention keeps only its value path (each patch's own value through the output
    projection, no mixing across patches: MaskCLIP, Zhou et al. 2022) and drops the residual and
    the MLP (ClearCLIP, Lan et al. 2024), then the same ``ln_post`` and projection as the pooled
    token. On ShapeWorld scenes the best-matching patch of "a <colour> <shape>" lies on
    that object 54 % of the time this way, 25 % with the plain last-layer patch tokens.
    """

    def __init__(self, clip: nn.Module):
        super().__init__()
        self.visual = clip.visual
        if not hasattr(self.visual, "_embeds") or getattr(self.visual, "attn_pool", None) is not None:
            raise ValueError("ImageTower needs an open_clip VisionTransformer without attention "
                             "pooling (the ViT-B-32 family and the studio config)")

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        visual = self.visual
        blocks = visual.transformer.resblocks
        x = visual._embeds(pixels)
        if not visual.transformer.batch_first:
            x = x.transpose(0, 1)
        for block in blocks[:-1]:
            x = block(x)
        last = blocks[-1]
        pooled_in = last(x)
        dense_in = last.ls_1(_value_path(last.attn, last.ln_1(x)))
        if not visual.transformer.batch_first:
            pooled_in, dense_in = pooled_in.transpose(0, 1), dense_in.transpose(0, 1)
        pooled, _ = visual._pool(pooled_in)
        _, patches = visual._pool(dense_in)
        if visual.proj is not None:
            pooled, patches = pooled @ visual.proj, patches @ visual.proj
        return F.normalize(pooled, dim=-1), F.normalize(patches, dim=-1)


def _value_path(attn: nn.MultiheadAttention, x: torch.Tensor) -> torch.Tensor:
    """What attention outputs when every token attends only to itself: out_proj(W_v x + b_v)."""
    d = attn.embed_dim
    v = F.linear(x, attn.in_proj_weight[2 * d:], attn.in_proj_bias[2 * d:])
    return attn.out_proj(v)


class TextTower(nn.Module):
    """token ids (B, context_length) int64 -> text embedding (B, D), L2-normalised."""

    def __init__(self, clip: nn.Module):
        super().__init__()
        self.clip = clip

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.clip.encode_text(ids, normalize=True)


def grid_size(clip: nn.Module) -> int:
    """Patches per side of the image tower's grid."""
    return int(clip.visual.grid_size[0])


def image_size(clip: nn.Module) -> int:
    return int(clip.visual.image_size[0])


def context_length(clip: nn.Module) -> int:
    return int(clip.context_length)
