"""captum attributions for image classifiers, returned as heatmaps in [0, 1].

Why these four: Saliency (one gradient: fast, noisy), Integrated Gradients (gradients along a
path from a baseline: satisfies completeness), Grad-CAM (gradient-weighted last feature maps:
coarse but class-discriminative), Occlusion (no gradients at all: hide a patch, watch the score).
"""
from __future__ import annotations

import numpy as np
import torch
from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, Occlusion, Saliency
from torch import nn

from models.cnn import ATTRIBUTION_METHODS

IG_STEPS = 32          # enough for a smooth map at 64-224 px; IG cost grows linearly with it


def last_conv_stage(model: nn.Module) -> nn.Module:
    """The layer Grad-CAM looks at: the last spatial stage (ResNet layer4, MobileNet features)."""
    for name in ("layer4", "features"):
        if hasattr(model, name):
            return getattr(model, name)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("this model has no convolution for Grad-CAM")
    return convs[-1]


def attribute(model: nn.Module, x: torch.Tensor, method: str, target: int) -> np.ndarray:
    """Heatmap (H, W) float32 in [0, 1] for one image x of shape (1, 3, H, W)."""
    x = x.clone().requires_grad_(True)
    with torch.enable_grad():
        if method == "Saliency":
            a = Saliency(model).attribute(x, target=target, abs=True).amax(1)
        elif method == "Integrated Gradients":
            a = IntegratedGradients(model).attribute(x, baselines=torch.zeros_like(x), target=target,
                                                     n_steps=IG_STEPS, internal_batch_size=IG_STEPS)
            a = a.abs().sum(1)
        elif method == "Grad-CAM":
            cam = LayerGradCam(model, last_conv_stage(model)).attribute(x, target=target, relu_attributions=True)
            a = LayerAttribution.interpolate(cam, x.shape[-2:], interpolate_mode="bilinear")[:, 0]
        elif method == "Occlusion":
            s = x.shape[-1]
            # A patch a quarter of the image wide hides a real part of an object. It is filled with
            # the image's own median colour (≈ its background): a grey patch on a coloured
            # background would itself look like a new object and move the score for that reason.
            win, stride = max(4, s // 4), max(2, s // 16)
            fill = x.detach().flatten(2).median(dim=2).values[..., None, None].expand_as(x)
            a = Occlusion(model).attribute(x, target=target, sliding_window_shapes=(3, win, win),
                                           strides=(3, stride, stride), baselines=fill,
                                           perturbations_per_eval=16)
            a = a.sum(1).clamp(min=0)
        else:
            raise ValueError(f"unknown attribution method {method!r}; choose one of {', '.join(ATTRIBUTION_METHODS)}")
    a = a[0].detach().float().cpu().numpy()
    hi = float(a.max())
    return (a / hi if hi > 0 else a).astype(np.float32)
