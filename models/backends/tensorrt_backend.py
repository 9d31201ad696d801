"""TensorRT 10: build an engine from the cached ONNX file once, run it on torch CUDA tensors.

Nothing here imports ``tensorrt`` at module import time, so the module loads (and the runtime is
listed as unavailable with its reason) on machines without it. The engine file format is ours:

    4 bytes   little-endian uint32 N
    N bytes   JSON header (input/output names, shapes, dtypes, graph metadata, versions)
    rest      the serialized engine (``builder.build_serialized_network``)

so the metadata travels inside the artifact, as in an ultralytics ``.engine``.
"""
from __future__ import annotations

import json
import struct
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from .base import (RUNTIMES, Backend, BackendFailed, ExportableGraph, artifact_intact, artifact_key, atomic_write_bytes,
                   normalize_device, to_torch)
from .onnxruntime_backend import OnnxRuntimeBackend

INSTALL_HINT = "tensorrt is not installed (pip install -r requirements-gpu.txt on an NVIDIA machine)"
HEADER_LENGTH = struct.Struct("<I")
WORKSPACE_BYTES = 1 << 30        # 1 GiB scratch for tactics; plenty for studio-sized graphs
PROFILE_MAX = {"batch": 32}      # largest size an engine accepts on a dynamic axis, by axis name
DEFAULT_PROFILE_MAX = 64         # for other dynamic axes (tokens, boxes, ...)


# -- engine file: header + engine -----------------------------------------------------------
def pack_engine(header: dict, engine: bytes) -> bytes:
    """Engine file bytes: uint32-LE header length, JSON header, serialized engine."""
    meta = json.dumps(header, sort_keys=True).encode("utf-8")
    return HEADER_LENGTH.pack(len(meta)) + meta + bytes(engine)


def unpack_engine(data: bytes) -> tuple[dict, bytes]:
    """Split engine file bytes into (header dict, serialized engine); ValueError when malformed."""
    if len(data) < HEADER_LENGTH.size:
        raise ValueError("not a studio engine file: shorter than its 4-byte header length")
    (length,) = HEADER_LENGTH.unpack_from(data, 0)
    end = HEADER_LENGTH.size + length
    if end > len(data):
        raise ValueError(f"not a studio engine file: header says {length} bytes, file has {len(data)}")
    try:
        header = json.loads(data[HEADER_LENGTH.size:end].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a studio engine file: header is not JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise ValueError("not a studio engine file: header is not a JSON object")
    return header, data[end:]


def write_engine_file(path: str | Path, header: dict, engine: bytes) -> None:
    """Write header + engine atomically (a reader never sees half an engine)."""
    atomic_write_bytes(Path(path), pack_engine(header, engine))


def read_engine_file(path: str | Path) -> tuple[dict, bytes]:
    """(header, serialized engine) from a file written by ``write_engine_file``."""
    return unpack_engine(Path(path).read_bytes())


def profile_shapes(graph: ExportableGraph) -> dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
    """(min, opt, max) shape per input; opt is the example.

    A dynamic axis spans ``graph.axis_ranges[name]`` when the graph names one (e.g. a KV cache
    from 0 positions), else 1..PROFILE_MAX.
    """
    def bounds(axis_name: str, example_size: int) -> tuple[int, int]:
        if axis_name in graph.axis_ranges:
            return graph.axis_ranges[axis_name]
        return 1, max(example_size, PROFILE_MAX.get(axis_name, DEFAULT_PROFILE_MAX))

    shapes = {}
    for key, example in graph.example_inputs.items():
        axes = graph.dynamic_axes.get(key, {})
        opt = tuple(int(d) for d in example.shape)
        low = tuple(bounds(axes[i], d)[0] if i in axes else d for i, d in enumerate(opt))
        high = tuple(bounds(axes[i], d)[1] if i in axes else d for i, d in enumerate(opt))
        opt = tuple(min(max(o, lo), hi) for o, lo, hi in zip(opt, low, high))
        shapes[key] = (low, opt, high)
    return shapes


def _device_index(device: str) -> int:
    return int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()


def _torch_dtype(trt, dtype) -> torch.dtype:
    """torch dtype for a ``trt.DataType`` (the engine's I/O types)."""
    table = {"FLOAT": torch.float32, "HALF": torch.float16, "BF16": torch.bfloat16,
             "INT32": torch.int32, "INT64": torch.int64, "INT8": torch.int8,
             "UINT8": torch.uint8, "BOOL": torch.bool}
    for attr, torch_dtype in table.items():
        if getattr(trt.DataType, attr, None) == dtype:
            return torch_dtype
    raise BackendFailed(f"TensorRT tensor type {dtype} has no torch equivalent")


def _progress_monitor(trt, report):
    """A ``trt.IProgressMonitor`` that reports top-level build phases as fractions 0.3..0.95."""

    class Monitor(trt.IProgressMonitor):
        def __init__(self):
            trt.IProgressMonitor.__init__(self)
            self._top: dict[str, int] = {}

        def phase_start(self, phase_name, parent_phase, num_steps):
            if parent_phase is None:
                self._top[phase_name] = max(int(num_steps), 1)
                report(0.3, f"TensorRT: {phase_name}")

        def step_complete(self, phase_name, step):
            steps = self._top.get(phase_name)
            if steps:
                report(0.3 + 0.65 * (int(step) + 1) / steps, f"TensorRT: {phase_name} {int(step) + 1}/{steps}")
            return True  # False would cancel the build

        def phase_finish(self, phase_name):
            self._top.pop(phase_name, None)

    return Monitor()


class TensorRTBackend(Backend):
    """Builds a TensorRT engine (fp16 where asked) from the cached ONNX file and runs it.

    Engines are specific to the GPU, TensorRT version and precision, so those are in the cache
    key. Dynamic axes get one optimisation profile spanning 1..PROFILE_MAX around the example.
    I/O uses torch CUDA tensors (``set_tensor_address``) on a private stream.
    """

    name = "tensorrt"
    label = RUNTIMES[name]

    @classmethod
    def availability(cls, device: str = "cpu") -> tuple[bool, str]:
        device = normalize_device(device)
        try:
            import tensorrt  # noqa: F401
        except ImportError:
            return False, INSTALL_HINT
        except Exception as exc:  # e.g. the wheel is there but libnvinfer is not
            return False, f"tensorrt failed to import ({type(exc).__name__}: {exc})"
        if not torch.cuda.is_available():
            return False, "no CUDA device (TensorRT needs an NVIDIA GPU)"
        if not device.startswith("cuda"):
            return False, "TensorRT runs only on CUDA devices: choose device cuda"
        return True, "ok"

    @classmethod
    def supports_precision(cls, device: str, precision: str) -> tuple[bool, str]:
        if precision in ("fp32", "fp16"):
            return True, "ok"
        if precision == "int8":   # an int8 engine needs a calibrator and its cache, which we do not build
            return False, ("TensorRT int8 needs calibration data (an IInt8Calibrator); the studio builds "
                           "fp32/fp16 engines and shows int8 through ONNX Runtime's quantisation")
        try:
            import tensorrt as trt
        except Exception:
            return False, INSTALL_HINT
        if precision == "bf16" and hasattr(trt.BuilderFlag, "BF16"):
            return True, "ok"
        return False, f"TensorRT {trt.__version__} here does not build {precision} engines; use fp16 or fp32"

    # -- build or load --------------------------------------------------------------------
    def _setup(self) -> None:
        import tensorrt as trt

        self._trt = trt
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._index = _device_index(self.device)
        self._torch_device = torch.device("cuda", self._index)
        major, minor = torch.cuda.get_device_capability(self._index)
        self.gpu_name = torch.cuda.get_device_name(self._index)
        # an engine only runs on the GPU model and TensorRT version it was built for
        device_tag = f"{self.gpu_name}|sm{major}{minor}"
        key = artifact_key(self.graph, "tensorrt", trt.__version__, device_tag, self.precision)
        self.engine_path = self.cache_dir / self.graph.name / f"{key}.engine"

        with torch.cuda.device(self._index):
            self.header, engine_bytes = self._load_cached()
            if engine_bytes is None:
                self.header, engine_bytes = self._build_and_save(device_tag)
            self._runtime = trt.Runtime(self._logger)
            self.engine = self._runtime.deserialize_cuda_engine(engine_bytes)
            if self.engine is None:
                self.engine_path.unlink(missing_ok=True)
                raise BackendFailed(f"TensorRT could not load the engine for {self.graph.name}; the cached "
                                    "file was removed, try again to rebuild it")
            self.context = self.engine.create_execution_context()
            if self.context is None:
                raise BackendFailed("TensorRT could not create an execution context (GPU out of memory?)")
            self._stream = torch.cuda.Stream(device=self._torch_device)
        self._io = {}
        for i in range(self.engine.num_io_tensors):
            tensor_name = self.engine.get_tensor_name(i)
            is_input = self.engine.get_tensor_mode(tensor_name) == trt.TensorIOMode.INPUT
            self._io[tensor_name] = (is_input, _torch_dtype(trt, self.engine.get_tensor_dtype(tensor_name)))
        missing = [k for k in self.graph.output_names if k not in self._io]
        if missing:
            raise BackendFailed(f"the TensorRT engine has no output(s) {missing}")
        self._profiles = profile_shapes(self.graph)
        self._engine_bytes = len(engine_bytes)
        self._progress(1.0, f"TensorRT ready ({self.engine_path.name[:12]}…)")

    def _load_cached(self) -> tuple[dict | None, bytes | None]:
        if not artifact_intact(self.engine_path):   # missing, or not the bytes that were written
            return None, None
        try:
            header, engine_bytes = read_engine_file(self.engine_path)
        except (OSError, ValueError):
            return None, None
        if (header.get("fingerprint") != self.graph.fingerprint()
                or header.get("tensorrt_version") != self._trt.__version__):
            return None, None
        self._progress(0.9, f"TensorRT: reusing cached engine {self.engine_path.name[:12]}…")
        return header, engine_bytes

    def _build_and_save(self, device_tag: str) -> tuple[dict, bytes]:
        onnx_path, _ = OnnxRuntimeBackend.ensure_onnx(
            self.graph, self.cache_dir, self.device, self._onnx_precision(),
            progress=lambda fraction, message: self._progress(0.25 * fraction, message))
        start = time.perf_counter()
        self._progress(0.3, f"TensorRT: building {self.precision} engine for {self.graph.name} "
                            "(tens of seconds to minutes, once)")
        engine_bytes = self._build(onnx_path)
        self._progress(0.95, f"TensorRT: engine built in {time.perf_counter() - start:.0f} s")
        shapes = profile_shapes(self.graph)
        header = {
            "graph": self.graph.name,
            "fingerprint": self.graph.fingerprint(),
            "tensorrt_version": self._trt.__version__,
            "torch_version": torch.__version__,
            "device": device_tag,
            "precision": self.precision,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "inputs": {k: {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", ""),
                           "min": list(shapes[k][0]), "max": list(shapes[k][2])}
                       for k, v in self.graph.example_inputs.items()},
            "outputs": list(self.graph.output_names),
            "dynamic_axes": {k: {str(a): n for a, n in v.items()} for k, v in self.graph.dynamic_axes.items()},
            "metadata": dict(self.graph.metadata),
        }
        write_engine_file(self.engine_path, header, engine_bytes)
        return header, engine_bytes

    def _weakly_typed(self) -> bool:
        """TensorRT 10 lowers precision with builder flags on an fp32 network; TensorRT 11 removed
        those flags (networks are always strongly typed), so the precision must be in the ONNX."""
        return hasattr(self._trt.BuilderFlag, "FP16")

    def _onnx_precision(self) -> str:
        return "fp32" if self._weakly_typed() or self.precision == "fp32" else self.precision

    def _build(self, onnx_path: Path) -> bytes:
        trt = self._trt
        builder = trt.Builder(self._logger)
        network = builder.create_network(0)  # explicit batch is the only mode since TensorRT 10
        parser = trt.OnnxParser(network, self._logger)
        if not parser.parse_from_file(str(onnx_path)):
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
            raise BackendFailed(f"TensorRT could not parse the ONNX file of {self.graph.name}: "
                                + "; ".join(errors[:3] or ["no parser message"]))
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
        if self._weakly_typed() and self.precision == "fp16":
            config.set_flag(trt.BuilderFlag.FP16)
        elif self._weakly_typed() and self.precision == "bf16":
            config.set_flag(trt.BuilderFlag.BF16)
        profile = builder.create_optimization_profile()
        shapes = profile_shapes(self.graph)
        for i in range(network.num_inputs):
            tensor_name = network.get_input(i).name
            if tensor_name in shapes:
                profile.set_shape(tensor_name, *shapes[tensor_name])
        config.add_optimization_profile(profile)
        if hasattr(trt, "IProgressMonitor"):
            monitor = _progress_monitor(trt, self._progress)  # must outlive the build
            config.progress_monitor = monitor
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise BackendFailed(f"TensorRT failed to build an engine for {self.graph.name} (see the log "
                                "above); try fp32, or PyTorch eager / ONNX Runtime")
        return bytes(serialized)

    # -- run ------------------------------------------------------------------------------
    def _run(self, inputs: dict[str, np.ndarray | torch.Tensor]) -> dict[str, np.ndarray]:
        keep = []  # device tensors must live until the stream is synchronised
        with torch.cuda.device(self._index), torch.cuda.stream(self._stream):
            for key, value in inputs.items():
                if key not in self._io:
                    continue  # the exporter dropped an input the graph never reads
                low, _, high = self._profiles[key]
                shape = tuple(value.shape)
                if any(s < lo or s > hi for s, lo, hi in zip(shape, low, high)):
                    raise ValueError(f"input {key!r} shape {shape} is outside the engine's range "
                                     f"{low}..{high}")
                tensor = to_torch(value, self._torch_device, self._io[key][1]).to(self._io[key][1]).contiguous()
                keep.append(tensor)
                self.context.set_input_shape(key, shape)
                self.context.set_tensor_address(key, tensor.data_ptr())
            outputs = {}
            for key in self.graph.output_names:
                shape = tuple(self.context.get_tensor_shape(key))
                tensor = torch.empty(shape, dtype=self._io[key][1], device=self._torch_device)
                outputs[key] = tensor
                self.context.set_tensor_address(key, tensor.data_ptr())
            if not self.context.execute_async_v3(self._stream.cuda_stream):
                raise BackendFailed(f"TensorRT execution of {self.graph.name} failed (see the log above)")
            self._stream.synchronize()
        return {k: v.float().cpu().numpy() for k, v in outputs.items()}

    def describe(self) -> str:
        return (f"TensorRT {self._trt.__version__} · {self.gpu_name} ({self.device}) · {self.precision} · "
                f"engine {self._engine_bytes / 2**20:.1f} MiB")
