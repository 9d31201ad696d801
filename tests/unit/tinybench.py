"""A tiny benchmark "tab" for the runtime tests: a conv net that exports and compiles in seconds.

Exposes ``bench_spec(device, source)`` like a real tab's ``models.<tab>.bench`` module, so the
CLI test can register it in ``models.bench.BENCH_TABS``.
"""
from __future__ import annotations

import json

import numpy as np
import torch
from torch import nn

from models.backends import ExportableGraph
from models.bench import BenchSpec

CLASSES = ["circle", "square", "triangle", "star", "cross"]
IMAGE_SHAPE = (1, 3, 32, 32)  # (N, C, H, W) float32


def tiny_net(seed: int = 0) -> nn.Module:
    """Conv2d(3,8,3)-ReLU-AdaptiveAvgPool-Flatten-Linear(8,5) in eval mode, seeded weights."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                            nn.Linear(8, len(CLASSES)))
    return net.eval()


def tiny_graph(module: nn.Module | None = None, name: str = "tests.tiny.classifier") -> ExportableGraph:
    """The tiny net as an ExportableGraph: input "image" (N,3,32,32), output "logits" (N,5)."""
    return ExportableGraph(
        name=name,
        module=module if module is not None else tiny_net(),
        example_inputs={"image": torch.zeros(IMAGE_SHAPE)},
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        metadata={"classes": json.dumps(CLASSES), "checkpoint_sha256": "0" * 64},
    )


def image(batch: int = 1, seed: int = 0) -> np.ndarray:
    """A random (batch, 3, 32, 32) float32 image batch."""
    return np.random.default_rng(seed).standard_normal((batch, *IMAGE_SHAPE[1:])).astype(np.float32)


def top1_agreement(ref: dict[str, np.ndarray], out: dict[str, np.ndarray]) -> tuple[str, float]:
    """Fraction of samples whose argmax class is the same in both outputs."""
    return "top1_agreement", float(np.mean(ref["logits"].argmax(-1) == out["logits"].argmax(-1)))


def bench_spec(device: str = "cpu", source: str = "studio") -> BenchSpec:
    """The spec the bench CLI asks a tab for (device/source are accepted and ignored here)."""
    return BenchSpec(tab="tiny", graph=tiny_graph(), inputs={"image": image()}, task_metric=top1_agreement)


def count_exports(monkeypatch) -> list:
    """Record every ONNX export (the file path) while the test runs: a cache test counts them."""
    from models.backends.onnxruntime_backend import OnnxRuntimeBackend
    exports, original = [], OnnxRuntimeBackend.export_onnx

    def spy(graph, path, *args, **kwargs):
        exports.append(path)
        return original(graph, path, *args, **kwargs)
    monkeypatch.setattr(OnnxRuntimeBackend, "export_onnx", staticmethod(spy))
    return exports
