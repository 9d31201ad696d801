"""The Vision Transformer of the attention tab: transformers' ``ViTForImageClassification``.

The studio ViT and the pretrained ViT-B/16 (``google/vit-base-patch16-224``) are the same class,
so every view works on both. Attention runs with ``attn_implementation="eager"``: it computes
``softmax(QKᵀ/√d)`` as a real tensor, which fused scaled-dot-product kernels never build, so the
weights can be returned, exported to ONNX and compared across runtimes.
``ViTWithAttentions`` is the graph every runtime runs: ``pixel_values -> (logits, attentions)``.
"""
from __future__ import annotations

import torch
from torch import nn

from models.gpt.modeling import import_transformers

# The studio config: plain values, stored verbatim in the checkpoint card. 64 px ShapeWorld
# images cut into 8 px patches: an 8 × 8 grid, so 64 patch tokens + 1 [CLS] token.
STUDIO_VIT_CONFIG = {
    "arch": "vit",
    "image_size": 64,
    "patch_size": 8,
    "num_channels": 3,
    "hidden_size": 128,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,        # 32 dims per head
    "intermediate_size": 256,
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
    "num_labels": 8,                 # ShapeWorld shapes
    # Patch embedding: a "hybrid" ViT (Dosovitskiy et al. 2021, section 3.1): the tokens are the
    # 8 × 8 feature map of a small ResNet trunk (the CNN tab's stem + 3 stages of torchvision
    # BasicBlocks), each projected to the hidden size by a 1×1 convolution, instead of ViT's
    # single 8 px stride-8 "patchify" convolution. Still an 8×8 grid of patch tokens + [CLS].
    # Why: measured on ShapeWorld (2 cores), the patchify ViT was still at ~22 % val accuracy
    # after 1,500 steps (colour shortcuts only) and a 3-conv stem reached 70 % val / 48 % held-out
    # after 900; a ViT needs far more data or steps than a 15-minute CPU budget to learn edges.
    "stem": "resnet",
    "stem_widths": [16, 32, 64],     # BasicBlock stages; the max-pool and 2 strided stages make 8 px
    # ShapeWorld pixels in [0, 1] are normalised with these (per channel, RGB), as for the CNN
    "mean": [0.5, 0.5, 0.5],
    "std": [0.25, 0.25, 0.25],
}
# Keys of a studio config that are ours, not ViTConfig's.
_NOT_VIT_CONFIG = ("arch", "mean", "std", "class_names", "stem", "stem_widths")


class ResNetStem(nn.Sequential):
    """Hybrid-ViT patch embedding: 3×3 conv, BN, ReLU, 2×2 max-pool, then one torchvision
    BasicBlock per width (stride 1, then 2, 2) and a 1×1 conv to the hidden size:
    (B, 3, S, S) -> (B, hidden, S/8, S/8), a drop-in for ViT's patchify convolution."""

    def __init__(self, in_channels: int, widths: list[int], hidden: int):
        from models.cnn.modeling import SmallResNet
        layers = [nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]),
                  nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        c = widths[0]
        for i, w in enumerate(widths):
            layers.append(SmallResNet._make_stage(c, w, 1, stride=1 if i == 0 else 2))
            c = w
        super().__init__(*layers, nn.Conv2d(c, hidden, 1))

    @property
    def weight(self) -> torch.Tensor:
        """transformers' ViTModel reads ``projection.weight.dtype`` to cast its input."""
        return self[-1].weight


def vit_config(config: dict, class_names: list[str] | None = None):
    """A transformers ``ViTConfig`` (eager attention) from a card's architecture dict."""
    import_transformers()
    from transformers import ViTConfig

    kwargs = {k: v for k, v in config.items() if k not in _NOT_VIT_CONFIG}
    if class_names:
        kwargs["id2label"] = dict(enumerate(class_names))
        kwargs["label2id"] = {n: i for i, n in enumerate(class_names)}
    return ViTConfig(**kwargs, attn_implementation="eager")


def build_vit(config: dict | None = None, class_names: list[str] | None = None) -> nn.Module:
    """A freshly initialised ``ViTForImageClassification`` (STUDIO_VIT_CONFIG by default)."""
    import_transformers()
    from transformers import ViTForImageClassification

    config = config or STUDIO_VIT_CONFIG
    model = ViTForImageClassification(vit_config(config, class_names))
    if config.get("stem", "patchify") == "resnet":
        widths = list(config["stem_widths"])
        if 2 ** len(widths) != config["patch_size"]:   # max-pool + (len - 1) strided stages
            raise ValueError(f"a ResNet stem with {len(widths)} stages makes {2 ** len(widths)} px patches, "
                             f"but patch_size is {config['patch_size']}")
        model.vit.embeddings.patch_embeddings.projection = ResNetStem(config["num_channels"], widths,
                                                                      config["hidden_size"])
    return model


class ViTWithAttentions(nn.Module):
    """``pixel_values (B, 3, S, S) -> (logits (B, C), attentions (B, L, H, N, N))``.

    ``attentions[b, l, h, i, j]`` is how much token ``i`` attends to token ``j`` in layer ``l``,
    head ``h``; token 0 is [CLS], tokens 1..N-1 the patches in row-major order. Rows sum to 1.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        if model.config._attn_implementation != "eager":
            raise ValueError("ViTWithAttentions needs eager attention (fused kernels return no weights): "
                             "load the model with attn_implementation='eager'")
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(pixel_values=pixel_values, output_attentions=True)
        return out.logits, torch.stack(out.attentions, dim=1)
