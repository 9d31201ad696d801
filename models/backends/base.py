"""What every runtime shares: the graph a predictor hands over, the Backend contract, the cache.

A predictor wraps the part of its model that runs per request in an ``ExportableGraph`` (an
``nn.Module`` plus named example inputs and outputs). A ``Backend`` turns that graph into
something runnable on one runtime (PyTorch eager, torch.compile, ONNX Runtime, TensorRT) and is
called with the same named numpy/torch inputs whatever the runtime, returning float32 numpy
arrays keyed by output name. Pre- and post-processing stay in the predictor, so every runtime
shares them.

Artifacts (ONNX files, TensorRT engines) are cached under ``default_cache_dir()`` keyed by
``artifact_key`` and written with ``atomic_write_bytes`` so a crash never leaves half a file.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from models.files import atomic_write, sha256_bytes, sha256_file
from models.runtimes import (PRECISIONS, RUNTIMES, BackendFailed, BackendUnavailable,  # noqa: F401 (the contract)
                             check_precision, first_line, normalize_device)

Progress = Callable[[float, str], None]

# int8 is weight (and per-call activation) quantisation inside an ONNX graph: what flows in and
# out of the runtime stays float32
PRECISION_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16, "int8": torch.float32}
INT8_ONLY_ORT = "int8 here is ONNX Runtime's quantisation (onnxruntime.quantization): choose ONNX Runtime"


@dataclass(eq=False)  # identity equality: comparing tensors field by field is meaningless
class ExportableGraph:
    """What a predictor hands a backend: an nn.Module plus named example inputs/outputs.

    Attributes:
        name: dotted id used as the cache folder, e.g. ``"cnn.studio.classifier"``.
        module: in eval mode; ``forward(*inputs in input_names order)`` returns a tensor or a
            tuple of tensors, one per name in ``output_names``.
        example_inputs: input name -> example tensor (CPU, float32 for images; integer dtypes
            allowed for token ids). Their order is the forward() argument order.
        output_names: one name per forward() output, in order.
        dynamic_axes: tensor name -> {axis index: axis name}, e.g.
            ``{"image": {0: "batch"}, "logits": {0: "batch"}}``; every other axis is fixed to
            the example's size.
        metadata: strings stored inside the artifacts (class names as JSON, source checkpoint
            sha256, ...).
        axis_ranges: dynamic axis name -> (smallest, largest) size a runtime with fixed
            optimisation profiles (TensorRT) must accept, e.g. ``{"past_len": (0, 511)}``;
            unnamed axes span 1..a default.
    """

    name: str
    module: torch.nn.Module
    example_inputs: dict[str, torch.Tensor]
    output_names: list[str]
    dynamic_axes: dict[str, dict[int, str]] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    axis_ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    _fingerprint: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in "/\\"):
            raise ValueError(f"graph name must be a non-empty dotted id without slashes, got {self.name!r}")
        if not self.example_inputs:
            raise ValueError(f"graph {self.name!r} needs at least one example input")
        if not self.output_names:
            raise ValueError(f"graph {self.name!r} needs at least one output name")
        if self.module.training:
            # export traces in eval mode while eager would run in train mode: they would disagree
            raise ValueError(f"graph {self.name!r}: call module.eval() before wrapping it "
                             "(BatchNorm/Dropout behave differently in training mode)")
        for key, value in self.example_inputs.items():
            if not isinstance(value, torch.Tensor):
                raise ValueError(f"example input {key!r} of graph {self.name!r} must be a torch.Tensor, "
                                 f"got {type(value).__name__}")
        known = set(self.example_inputs) | set(self.output_names)
        for tensor_name, axes in self.dynamic_axes.items():
            if tensor_name not in known:
                raise ValueError(f"dynamic_axes names {tensor_name!r}, which is neither an input nor an "
                                 f"output of graph {self.name!r} (known: {', '.join(sorted(known))})")
            example = self.example_inputs.get(tensor_name)
            for axis in axes:
                if example is not None and not 0 <= axis < example.dim():
                    raise ValueError(f"dynamic axis {axis} of input {tensor_name!r} is outside its "
                                     f"{example.dim()} dimensions")
        axis_names = {n for axes in self.dynamic_axes.values() for n in axes.values()}
        for axis_name, bounds in self.axis_ranges.items():
            if axis_name not in axis_names:
                raise ValueError(f"axis_ranges names {axis_name!r}, which is not a dynamic axis of graph "
                                 f"{self.name!r} (dynamic: {', '.join(sorted(axis_names)) or 'none'})")
            low, high = bounds
            if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high):
                raise ValueError(f"axis_ranges[{axis_name!r}] must be (low, high) with 0 <= low <= high, "
                                 f"got {bounds!r}")
        for key, value in self.metadata.items():
            if not isinstance(value, str):
                raise ValueError(f"metadata[{key!r}] must be a string (store lists as JSON), "
                                 f"got {type(value).__name__}")

    @property
    def input_names(self) -> list[str]:
        """Input names in forward() argument order."""
        return list(self.example_inputs)

    def fingerprint(self) -> str:
        """sha256 hex over name, module class and repr, every state_dict tensor, input specs, outputs.

        Memoised on this instance (hashing a big model's weights takes a while): build a new
        graph after changing weights.
        """
        if self._fingerprint is None:
            h = hashlib.sha256()
            cls = type(self.module)
            for part in (self.name, f"{cls.__module__}.{cls.__qualname__}", repr(self.module)):
                h.update(part.encode())
                h.update(b"\0")
            for key, tensor in self.module.state_dict().items():
                flat = tensor.detach().cpu().contiguous().reshape(-1)
                h.update(f"{key}|{flat.dtype}|{tuple(tensor.shape)}".encode())
                # viewing as bytes works for every dtype, bfloat16 included (numpy has no bf16)
                h.update(flat.view(torch.uint8).numpy().data)
            for key, tensor in self.example_inputs.items():
                h.update(f"in|{key}|{tuple(tensor.shape)}|{tensor.dtype}".encode())
            h.update(("out|" + "|".join(self.output_names)).encode())
            self._fingerprint = h.hexdigest()
        return self._fingerprint


def default_cache_dir() -> Path:
    """``$STUDIO_CACHE_DIR`` or ``<repo>/.cache/runtimes``: where ONNX files and engines live."""
    env = os.environ.get("STUDIO_CACHE_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".cache" / "runtimes"


def artifact_key(graph: ExportableGraph, runtime: str, runtime_version: str, device: str,
                 precision: str) -> str:
    """sha256 hex naming one artifact: graph weights + runtime/version + device + precision + shapes."""
    spec = {
        "fingerprint": graph.fingerprint(),
        "runtime": runtime,
        "runtime_version": runtime_version,
        "device": device,
        "precision": precision,
        "inputs": {k: [list(v.shape), str(v.dtype)] for k, v in graph.example_inputs.items()},
        "outputs": list(graph.output_names),
        "dynamic_axes": {k: {str(a): n for a, n in sorted(v.items())} for k, v in graph.dynamic_axes.items()},
    }
    if graph.axis_ranges:   # only graphs that name ranges: the keys of older artifacts stay valid
        spec["axis_ranges"] = {k: list(v) for k, v in sorted(graph.axis_ranges.items())}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def hash_record(path: Path) -> Path:
    """Where the sha256 of a cached artifact is recorded: ``<file>.sha256`` beside it."""
    return Path(path).with_name(Path(path).name + ".sha256")


def artifact_intact(path: Path) -> bool:
    """True when ``path`` exists and matches the sha256 recorded when it was written. A file
    with no record, a truncated or edited one, is not used: the caller builds it again."""
    path, record = Path(path), hash_record(path)
    if not path.is_file() or not record.is_file():
        return False
    return record.read_text(encoding="utf-8").strip() == sha256_file(path)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (``models.files.atomic_write``), then record its
    sha256 beside it (``hash_record``) for ``artifact_intact``."""
    atomic_write(path, data)
    atomic_write(hash_record(path), sha256_bytes(data) + "\n")


def cuda_available() -> bool:
    return torch.cuda.is_available()


class Backend(ABC):
    """One runtime for one ExportableGraph on one device at one precision.

    Subclasses set ``name``/``label``, implement ``availability``, ``_setup`` (export/build;
    called from ``__init__``), ``_run`` and ``describe``. Inputs are validated here, so every
    runtime rejects a wrong name or shape with the same message.
    """

    name: ClassVar[str]
    label: ClassVar[str]

    def __init__(self, graph: ExportableGraph, device: str = "cpu", precision: str = "fp32",
                 cache_dir: str | Path | None = None, progress: Progress | None = None):
        self.graph = graph
        self.device = normalize_device(device)
        self.precision = check_precision(precision)
        ok, reason = self.availability(self.device)
        if not ok:
            raise BackendUnavailable(reason)
        ok, reason = self.supports_precision(self.device, self.precision)
        if not ok:
            raise BackendUnavailable(reason)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._progress_cb = progress
        self._setup()

    # -- contract -------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def availability(cls, device: str = "cpu") -> tuple[bool, str]:
        """(True, "ok") when this runtime can run on ``device`` here, else (False, reason)."""

    @classmethod
    def supports_precision(cls, device: str, precision: str) -> tuple[bool, str]:
        """(True, "ok") or (False, reason) for a precision on a device; fp32 everywhere by default."""
        if precision == "fp32":
            return True, "ok"
        return False, f"{cls.label} supports only fp32 here (asked for {precision} on {device})"

    @abstractmethod
    def _setup(self) -> None:
        """Export/build/load whatever the runtime needs; may call ``self._progress``."""

    @abstractmethod
    def _run(self, inputs: dict[str, np.ndarray | torch.Tensor]) -> dict[str, np.ndarray]:
        """Run once on validated inputs (graph input order); return float32 host arrays."""

    @abstractmethod
    def describe(self) -> str:
        """One line for the UI, e.g. "ONNX Runtime 1.32.0 · CPUExecutionProvider · fp32 · 4 threads"."""

    # -- shared behaviour -----------------------------------------------------------------
    def __call__(self, **inputs: np.ndarray | torch.Tensor) -> dict[str, np.ndarray]:
        """Run the graph on named inputs (numpy or torch); returns {output name: float32 ndarray}."""
        from models.tracing import MODULE_CALLS
        with MODULE_CALLS.shared():   # not while torch.fx traces a model in another thread
            return self._run(self._validate(inputs))

    def warmup(self, n: int = 3) -> None:
        """Run the graph's example inputs ``n`` times (first-call compilation, allocator, caches)."""
        for _ in range(n):
            self(**self.graph.example_inputs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.graph.name} on {self.device} ({self.precision})>"

    def _progress(self, fraction: float, message: str) -> None:
        if self._progress_cb is not None:
            self._progress_cb(min(max(float(fraction), 0.0), 1.0), message)

    def _validate(self, inputs: dict) -> dict[str, np.ndarray | torch.Tensor]:
        expected = self.graph.input_names
        if set(inputs) != set(expected):
            raise ValueError(f"{self.graph.name} expects inputs {', '.join(expected)}; "
                             f"got {', '.join(inputs) or 'none'}")
        ordered = {}
        for key in expected:
            value = inputs[key]
            if not isinstance(value, (np.ndarray, torch.Tensor)):
                raise ValueError(f"input {key!r} must be a numpy array or torch tensor, "
                                 f"got {type(value).__name__}")
            example = self.graph.example_inputs[key]
            shape = tuple(value.shape)
            if len(shape) != example.dim():
                raise ValueError(f"input {key!r} must have {example.dim()} dimensions like "
                                 f"{tuple(example.shape)}, got shape {shape}")
            dynamic = self.graph.dynamic_axes.get(key, {})
            for axis, (got, want) in enumerate(zip(shape, example.shape)):
                if axis not in dynamic and got != want:
                    raise ValueError(f"input {key!r} axis {axis} must be {want} (only axes "
                                     f"{sorted(dynamic) or 'none'} may vary), got shape {shape}")
            ordered[key] = value
        return ordered

    def _outputs_to_numpy(self, outputs) -> dict[str, np.ndarray]:
        """Map a forward() result (tensor or tuple/list) to {output name: float32 ndarray}."""
        if isinstance(outputs, torch.Tensor):
            outputs = (outputs,)
        outputs = tuple(outputs)
        if len(outputs) != len(self.graph.output_names):
            raise BackendFailed(f"{self.graph.name} returned {len(outputs)} outputs but names "
                                f"{len(self.graph.output_names)} ({', '.join(self.graph.output_names)})")
        return {key: out.detach().float().cpu().numpy()
                for key, out in zip(self.graph.output_names, outputs)}


def place_module(module: torch.nn.Module, device: str, dtype: torch.dtype) -> torch.nn.Module:
    """The module on ``device`` with floating weights in ``dtype``.

    Returns ``module`` itself when it is already there (CPU, float32); otherwise a deep copy,
    so the predictor's own module (and every other backend sharing it) stays untouched.
    """
    tensors = list(module.parameters()) + list(module.buffers())
    on_cpu_fp32 = all(t.device.type == "cpu" and (not t.is_floating_point() or t.dtype == torch.float32)
                      for t in tensors)
    if device == "cpu" and dtype == torch.float32 and on_cpu_fp32:
        return module
    return copy.deepcopy(module).to(device=device, dtype=dtype).eval()


def device_summary(device: str) -> str:
    """"cpu · 4 threads" or "NVIDIA H200 (cuda:0)": the part of describe() that names the hardware."""
    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name(torch.device(device))} ({device})"
    return f"cpu · {torch.get_num_threads()} threads"


def to_torch(value: np.ndarray | torch.Tensor, device: str, float_dtype: torch.dtype) -> torch.Tensor:
    """Tensor on ``device``; floating inputs cast to ``float_dtype``, integer/bool ones kept."""
    tensor = value if isinstance(value, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(value))
    if tensor.is_floating_point():
        return tensor.to(device=device, dtype=float_dtype)
    return tensor.to(device=device)


def to_numpy(value: np.ndarray | torch.Tensor) -> np.ndarray:
    """Host numpy array (detached, contiguous) from a numpy array or torch tensor."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:
            value = value.float()
        return value.contiguous().numpy()
    return np.ascontiguousarray(value)
