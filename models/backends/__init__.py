"""Runtimes ("backends"): one class per runtime, chosen by name from ``BACKENDS``.

    backend = create_backend("onnxruntime", graph, device="cpu")
    outputs = backend(image=batch)          # {"logits": float32 ndarray}

A runtime that cannot run here raises ``BackendUnavailable`` with its reason (and is listed as
such by ``availability_table``); it never crashes the caller.
"""
from __future__ import annotations

from pathlib import Path

from models.runtimes import RUNTIMES

from .base import (Backend, BackendFailed, BackendUnavailable, ExportableGraph, Progress,
                   artifact_key, atomic_write_bytes, default_cache_dir)
from .compiled import CompiledBackend
from .eager import EagerBackend
from .onnxruntime_backend import OnnxRuntimeBackend
from .tensorrt_backend import TensorRTBackend

# One class per runtime of models.runtimes.RUNTIMES, in its order (the order the UI lists them in)
BACKENDS: dict[str, type[Backend]] = {
    cls.name: cls for cls in sorted((EagerBackend, CompiledBackend, OnnxRuntimeBackend, TensorRTBackend),
                                    key=lambda cls: list(RUNTIMES).index(cls.name))
}
assert list(BACKENDS) == list(RUNTIMES), "every runtime in models.runtimes has exactly one backend class"

__all__ = ["BACKENDS", "Backend", "BackendCache", "BackendFailed", "BackendUnavailable", "ExportableGraph",
           "artifact_key", "atomic_write_bytes", "availability_table", "backend_names",
           "create_backend", "default_cache_dir"]


def backend_names() -> list[str]:
    """Registered runtime names in display order."""
    return list(RUNTIMES)


def availability_table(device: str = "cpu") -> list[tuple[str, str, bool, str]]:
    """(name, label, ok, reason) for every runtime on ``device``; reason is "ok" when it runs."""
    return [(name, cls.label, *cls.availability(device)) for name, cls in BACKENDS.items()]


def create_backend(name: str, graph: ExportableGraph, device: str = "cpu", precision: str = "fp32",
                   cache_dir: str | Path | None = None, progress: Progress | None = None) -> Backend:
    """Build runtime ``name`` for ``graph``; ValueError for an unknown name, BackendUnavailable
    when it cannot run here, BackendFailed when export/build fails."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; known backends: {', '.join(BACKENDS)}")
    return BACKENDS[name](graph, device=device, precision=precision, cache_dir=cache_dir, progress=progress)


class BackendCache:
    """The backends a predictor built for one graph, by (runtime, precision).

    Each runtime is exported / compiled / built once, on first use, and warmed with one call
    so that set-up is never timed as if it were inference. The graph itself is made once, by
    ``make_graph`` (its fingerprint hashes every weight). ``make_backend`` defaults to
    ``create_backend``; it takes the same arguments.
    """

    def __init__(self, make_graph, device: str = "cpu", cache_dir: str | Path | None = None, make_backend=None):
        self._make_graph = make_graph
        self._make_backend = make_backend     # None: create_backend; a library's own runtimes (YOLO) differ
        self._graph: ExportableGraph | None = None
        self.device = device
        self.cache_dir = cache_dir
        self._backends: dict[tuple[str, str], Backend] = {}

    @property
    def graph(self) -> ExportableGraph:
        if self._graph is None:
            self._graph = self._make_graph()
        return self._graph

    def get(self, name: str = "eager", precision: str = "fp32", progress: Progress | None = None) -> Backend:
        key = (name, precision)
        if key not in self._backends:
            make = self._make_backend or create_backend
            backend = make(name, self.graph, device=self.device, precision=precision, cache_dir=self.cache_dir,
                           progress=progress)
            backend.warmup(1)
            self._backends[key] = backend
        return self._backends[key]
