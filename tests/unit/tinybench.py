"""A tiny benchmark graph for the runtime tests: a conv net that exports and compiles in seconds.

``bench_spec()`` is its BenchSpec; ``topic()`` declares it as a registry topic (``models.registry``)
so that the bench CLI and the lab tests find it as they find a real graph (``registered``).
"""
from __future__ import annotations

import contextlib
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


def bench_spec(predictor=None, sample=None) -> BenchSpec:
    """The tiny graph's BenchSpec (a Graph.bench: the predictor and sample are not needed)."""
    return BenchSpec(tab="tiny", graph=tiny_graph(), inputs={"image": image()}, task_metric=top1_agreement)


def topic(key: str = "tiny", load=None) -> "Topic":
    """A registry topic with one graph, ``key``, whose bench is ``bench_spec``; ``load`` replaces
    its model loader (a test's broken model)."""
    from models.registry import Graph, Model, Topic
    from models.sources import Source
    graph = Graph(key, f"{key} · classifier", "classifier", bench_spec, images=True)
    model = Model(key, {"studio": Source("studio", key, studio=key)}, load or (lambda source, **options: None),
                  graphs=(graph,))
    return Topic(key, (model,))


@contextlib.contextmanager
def registered(*topics):
    """The registry with ``topics`` added, for the length of a ``with`` block."""
    from models import registry
    for t in topics:
        registry.register(t)
    try:
        yield
    finally:
        for t in topics:
            registry.unregister(t.key)


def count_exports(monkeypatch) -> list:
    """Record every ONNX export (the file path) while the test runs: a cache test counts them."""
    from models.backends.onnxruntime_backend import OnnxRuntimeBackend
    exports, original = [], OnnxRuntimeBackend.export_onnx

    def spy(graph, path, *args, **kwargs):
        exports.append(path)
        return original(graph, path, *args, **kwargs)
    monkeypatch.setattr(OnnxRuntimeBackend, "export_onnx", staticmethod(spy))
    return exports
