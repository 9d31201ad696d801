"""The Training lab's networks, built from ``LabSettings``: an MLP or a small CNN over 32 x 32 RGB
ShapeWorld pictures, eight shape classes out.

Every learnable layer (``nn.Linear`` / ``nn.Conv2d``) is one row of the lab's per-layer views, in
order from input to output (``layer_names``). A hidden layer is ``layer -> norm -> activation ->
dropout``; with residual connections on, each hidden layer after the first adds its input back
(``x + f(x)``), the path that lets gradients skip the layer.
"""
from __future__ import annotations

import torch
from torch import nn

from models.shapeworld import SHAPES
from models.training_lab.settings import LabSettings

IMAGE_SIZE = 32
NUM_CLASSES = len(SHAPES)
_ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.01), "gelu": nn.GELU,
                "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
_GAIN_NAMES = {"relu": "relu", "leaky_relu": "leaky_relu", "gelu": "relu", "sigmoid": "sigmoid", "tanh": "tanh"}


class Hidden(nn.Module):
    """One hidden layer: layer -> norm -> activation -> dropout, plus its input when residual."""

    def __init__(self, layer: nn.Module, norm: nn.Module, activation: nn.Module, dropout: float, residual: bool):
        super().__init__()
        self.layer, self.norm, self.act = layer, norm, activation
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.drop(self.act(self.norm(self.layer(x))))
        return x + y if self.residual else y


def _norm(kind: str, width: int, conv: bool) -> nn.Module:
    if kind == "batchnorm":
        return nn.BatchNorm2d(width) if conv else nn.BatchNorm1d(width)
    if kind == "layernorm":     # over (C, H, W) for a feature map: GroupNorm with one group
        return nn.GroupNorm(1, width) if conv else nn.LayerNorm(width)
    return nn.Identity()


def _pool_after(depth: int) -> set[int]:
    """Which conv layers (0-based) a 2 x 2 max-pool follows: up to three, spread over the depth
    (32 -> 16 -> 8 -> 4 px), so a deep CNN is not all at full resolution."""
    return {round((k + 1) * depth / 3) - 1 for k in range(min(3, depth))}


def build_network(s: LabSettings) -> nn.Sequential:
    """The network of ``s`` with its initialisation applied (seed torch first for the same weights)."""
    act = _ACTIVATIONS[s.activation]
    layers: list[nn.Module] = []
    if s.network == "mlp":
        layers.append(nn.Flatten())
        width_in = 3 * IMAGE_SIZE * IMAGE_SIZE
        for i in range(s.depth):
            layers.append(Hidden(nn.Linear(width_in, s.width), _norm(s.norm, s.width, False), act(), s.dropout,
                                 s.residual and i > 0))
            width_in = s.width
    else:
        pools = _pool_after(s.depth)
        width_in = 3
        for i in range(s.depth):
            layers.append(Hidden(nn.Conv2d(width_in, s.width, 3, padding=1), _norm(s.norm, s.width, True), act(),
                                 s.dropout, s.residual and i > 0))
            if i in pools:
                layers.append(nn.MaxPool2d(2))
            width_in = s.width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers.append(nn.Linear(s.width, NUM_CLASSES))
    net = nn.Sequential(*layers)
    initialise(net, s)
    return net


def initialise(net: nn.Module, s: LabSettings) -> None:
    """Apply ``s.init`` to every weight layer ("default" keeps PyTorch's own: Kaiming-uniform with
    a = √5, the bias uniform in ±1/√fan_in); biases start at zero otherwise."""
    if s.init == "default":
        return
    for layer in weight_layers(net):
        w = layer.weight
        if s.init == "kaiming":
            nn.init.kaiming_normal_(w, nonlinearity="leaky_relu" if s.activation == "leaky_relu" else "relu")
        elif s.init == "xavier":
            nn.init.xavier_normal_(w, gain=nn.init.calculate_gain(_GAIN_NAMES[s.activation]))
        elif s.init == "zeros":
            nn.init.zeros_(w)
        else:
            nn.init.normal_(w, 0.0, s.init_std)
        nn.init.zeros_(layer.bias)


def weight_layers(net: nn.Module) -> list[nn.Module]:
    """The learnable layers, input to output: the rows of the per-layer views."""
    return [m for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def layer_names(net: nn.Module) -> list[str]:
    """"conv 1", "conv 2", ..., "output" (or "linear 1", ...)."""
    layers = weight_layers(net)
    return [f"{'conv' if isinstance(m, nn.Conv2d) else 'linear'} {i + 1}" for i, m in enumerate(layers[:-1])] + ["output"]


def activation_modules(net: nn.Module) -> list[nn.Module]:
    """Each hidden layer's activation, input to output (the activation-statistics rows)."""
    return [m.act for m in net.modules() if isinstance(m, Hidden)]


def num_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def parameter_count(s: LabSettings) -> int:
    """How many parameters ``s`` builds, before any run: built on the meta device, so no memory
    is allocated, no weight initialised and no random number drawn."""
    with torch.device("meta"):
        return num_parameters(build_network(s))
