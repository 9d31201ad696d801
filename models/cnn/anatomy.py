"""Anatomy of a CNN: the layer table (type, output shape, parameters, receptive field) and
feature-map capture. Works for any torchvision-style model that torch.fx can trace.

Receptive fields are propagated along the traced graph, so residual branches are handled
exactly: for each node, ``rf = rf_in + (k - 1) * dilation * jump_in`` and ``jump = jump_in * stride``
for convolutions and pooling; element-wise ops (the residual ``add``) take the largest field of
their inputs; global pooling and linear layers see the whole image.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

# Modules that are worth a row in the table (containers like Sequential/BasicBlock are not).
_ROW_TYPES = (nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.ReLU6, nn.MaxPool2d, nn.AvgPool2d,
              nn.AdaptiveAvgPool2d, nn.Linear, nn.Dropout, nn.Hardswish, nn.SiLU)
GLOBAL = -1   # receptive field covers the whole input


@dataclass(frozen=True)
class LayerInfo:
    name: str                 # module path, e.g. "layer2.0.conv1"
    type: str                 # "Conv2d(32→64, k3, s2)"
    output_shape: tuple       # (C, H, W) or (features,), batch dim dropped
    params: int               # trainable parameters of this module alone
    receptive_field: int      # pixels of the input one output unit sees (GLOBAL for whole image)
    jump: int                 # input pixels between neighbouring output units (the cumulative stride)

    def rf_text(self) -> str:
        return "whole image" if self.receptive_field == GLOBAL else f"{self.receptive_field}×{self.receptive_field}"


def _pair(v) -> int:
    return int(v[0] if isinstance(v, (tuple, list)) else v)


def _describe(m: nn.Module) -> str:
    if isinstance(m, nn.Conv2d):
        groups = f", groups {m.groups}" if m.groups > 1 else ""
        return (f"Conv2d({m.in_channels}→{m.out_channels}, k{_pair(m.kernel_size)}, "
                f"s{_pair(m.stride)}{groups})")
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        return f"{type(m).__name__}(k{_pair(m.kernel_size)}, s{_pair(m.stride)})"
    if isinstance(m, nn.Linear):
        return f"Linear({m.in_features}→{m.out_features})"
    if isinstance(m, nn.BatchNorm2d):
        return f"BatchNorm2d({m.num_features})"
    return type(m).__name__


def layer_table(model: nn.Module, input_shape: tuple[int, int, int]) -> list[LayerInfo]:
    """Rows for every leaf layer of ``model`` in execution order.

    input_shape: (C, H, W) of one input image. The model is traced, not modified.
    """
    from models.tracing import MODULE_CALLS
    with MODULE_CALLS.exclusive():   # fx patches nn.Module.__call__ for every thread while it traces
        gm = fx.symbolic_trace(model)
    was_training = model.training
    model.eval()
    with MODULE_CALLS.shared(), torch.no_grad():   # a forward pass: not while another thread traces
        ShapeProp(gm).propagate(torch.zeros(1, *input_shape))
    model.train(was_training)
    modules = dict(gm.named_modules())
    rf: dict[str, tuple[int, int]] = {}     # node name -> (receptive field, jump)
    rows: list[LayerInfo] = []
    for node in gm.graph.nodes:
        ins = [rf[a.name] for a in node.all_input_nodes if a.name in rf]
        r, j = (max(ins, key=lambda t: (t[0] == GLOBAL, t[0])) if ins else (1, 1))
        if node.op == "call_module":
            m = modules[node.target]
            if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)) and r != GLOBAL:
                k, s = _pair(m.kernel_size), _pair(m.stride)
                d = _pair(getattr(m, "dilation", 1))
                r, j = r + (k - 1) * d * j, j * s
            elif isinstance(m, (nn.AdaptiveAvgPool2d, nn.Linear)):
                r = GLOBAL
            if isinstance(m, _ROW_TYPES):
                meta = node.meta.get("tensor_meta")
                shape = tuple(meta.shape[1:]) if meta is not None else ()
                params = sum(p.numel() for p in m.parameters(recurse=False))
                rows.append(LayerInfo(node.target, _describe(m), shape, params, r, j))
        elif node.op == "call_function" and getattr(node.target, "__name__", "") in (
                "adaptive_avg_pool2d", "flatten", "mean"):
            r = GLOBAL if getattr(node.target, "__name__", "") != "flatten" else r
        rf[node.name] = (r, j)
    return rows


def feature_layers(model: nn.Module) -> list[str]:
    """Names of layers whose output is a spatial feature map worth showing (convs and blocks)."""
    names = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d) and "downsample" not in name:
            names.append(name)
        elif type(m).__name__ in ("BasicBlock", "Bottleneck", "InvertedResidual"):
            names.append(name)
    return names


def capture_activation(model: nn.Module, layer: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``model(x)`` once and return (output logits, activation of ``layer``) — (N, C, H, W)."""
    modules = dict(model.named_modules())
    if layer not in modules:
        raise ValueError(f"unknown layer {layer!r}; choose one of {feature_layers(model)[:6]}…")
    store: dict[str, torch.Tensor] = {}
    handle = modules[layer].register_forward_hook(lambda _m, _i, out: store.__setitem__("a", out.detach()))
    try:
        with torch.inference_mode():
            logits = model(x)
    finally:
        handle.remove()
    return logits, store["a"]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
