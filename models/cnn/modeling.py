"""CNN architectures for the CNN tab: nn.Modules only, no file or UI I/O.

The studio model is a small ResNet built from torchvision's own ``BasicBlock`` (the block of
ResNet-18/34), so what a learner sees in the layer table is the real thing at a laptop size.
Pretrained models are torchvision's ``resnet18`` / ``mobilenet_v2`` builders.
"""
from __future__ import annotations

import torch
from torch import nn
from torchvision.models import mobilenet_v2, resnet18
from torchvision.models.resnet import BasicBlock

# The studio config: plain values, stored verbatim in the checkpoint card.
STUDIO_CNN_CONFIG = {
    "arch": "small_resnet",
    "num_classes": 8,          # ShapeWorld shapes
    "in_channels": 3,
    "stem_width": 16,          # 3x3 stem (not ResNet's 7x7/2): at 64 px input every pixel matters
    "widths": [16, 32, 64, 128],
    "blocks": [1, 1, 1, 1],    # BasicBlocks per stage; stages 2-4 halve the resolution
    "image_size": 64,
    # ShapeWorld pixels in [0, 1] are normalised with these (per channel, RGB)
    "mean": [0.5, 0.5, 0.5],
    "std": [0.25, 0.25, 0.25],
}


class SmallResNet(nn.Module):
    """ResNet with torchvision BasicBlocks: stem → 4 stages → global pool → linear.

    Input: (N, 3, H, W) float32, normalised RGB. Output: (N, num_classes) logits.
    Layer names follow torchvision's ResNet (conv1, bn1, layer1..layer4, avgpool, fc) so the
    same feature-map and Grad-CAM code serves both.
    """

    def __init__(self, num_classes: int = 8, in_channels: int = 3, stem_width: int = 16,
                 widths=(16, 32, 64, 128), blocks=(1, 1, 1, 1), zero_init_residual: bool = False, **_ignored):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, stem_width, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        in_w = stem_width
        for i, (w, n) in enumerate(zip(widths, blocks)):
            stage, in_w = self._make_stage(in_w, w, n, stride=1 if i == 0 else 2), w
            setattr(self, f"layer{i + 1}", stage)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_w, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # As torchvision's ResNet: optionally start each block as the identity (Goyal et al. 2017).
        # Off by default: made for big-batch SGD; under AdamW the zeroed scales take hundreds of
        # steps to move and the blocks learn nothing meanwhile (training_scripts/train_cnn.py).
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    @staticmethod
    def _make_stage(in_w: int, out_w: int, n: int, stride: int) -> nn.Sequential:
        down = None
        if stride != 1 or in_w != out_w:
            down = nn.Sequential(nn.Conv2d(in_w, out_w, 1, stride=stride, bias=False), nn.BatchNorm2d(out_w))
        layers = [BasicBlock(in_w, out_w, stride=stride, downsample=down)]
        layers += [BasicBlock(out_w, out_w) for _ in range(n - 1)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build_cnn(config: dict, zero_init_residual: bool = False) -> nn.Module:
    """Build an (untrained) CNN from a card's architecture config."""
    arch = config.get("arch")
    if arch == "small_resnet":
        return SmallResNet(**config, zero_init_residual=zero_init_residual)
    if arch == "resnet18":
        return resnet18(weights=None, num_classes=config.get("num_classes", 1000))
    if arch == "mobilenet_v2":
        return mobilenet_v2(weights=None, num_classes=config.get("num_classes", 1000))
    raise ValueError(f"unknown CNN arch {arch!r}; known: small_resnet, resnet18, mobilenet_v2")
