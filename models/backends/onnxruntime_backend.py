"""ONNX Runtime: export once to a cached .onnx file, run it with the best provider present."""
from __future__ import annotations

import contextlib
import io
import logging
import time
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from .base import (RUNTIMES, PRECISION_DTYPES, Backend, BackendFailed, BackendUnavailable, ExportableGraph,
                   artifact_intact, artifact_key, atomic_write_bytes, device_summary, first_line,
                   normalize_device, place_module, to_numpy, to_torch)

ONNX_OPSET = 17
# Best first. Never hand ORT its default list: here it starts with AzureExecutionProvider.
PROVIDER_ORDER = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
# ORT input type strings -> numpy dtypes we feed
ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
             "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(bool)": np.bool_,
             "tensor(uint8)": np.uint8, "tensor(int8)": np.int8}


def _is_cuda(device: str) -> bool:
    return device.startswith("cuda")


def _device_index(device: str) -> int:
    return int(device.split(":")[1]) if ":" in device else 0


class OnnxRuntimeBackend(Backend):
    """Exports ``graph.module`` with the TorchScript exporter (opset 17) and runs it in ORT.

    The file lives at ``<cache_dir>/<graph.name>/<artifact_key>.onnx`` with the graph's
    metadata in ``metadata_props``; a second backend for the same weights reuses it.
    ``.provider`` names the execution provider actually in use, ``.onnx_path`` the file.
    fp32 everywhere; fp16 (an fp16 export) only with the CUDA or TensorRT provider; int8 on the
    CPU provider: the fp32 file quantised by ``onnxruntime.quantization.quantize_dynamic``
    (weights int8 once, activations per call), cached beside it.
    """

    name = "onnxruntime"
    label = RUNTIMES[name]

    @classmethod
    def availability(cls, device: str = "cpu") -> tuple[bool, str]:
        device = normalize_device(device)
        try:
            import onnx  # noqa: F401  (the exporter and checker need it)
            import onnxruntime  # noqa: F401
        except ImportError as exc:
            return False, f"{exc.name} is not installed (pip install onnx onnxruntime)"
        if _is_cuda(device):
            if not torch.cuda.is_available():
                return False, "no CUDA device (torch.cuda.is_available() is False)"
            if not cls.providers_for(device):
                return False, ("onnxruntime has no CUDA or TensorRT provider here "
                               "(install onnxruntime-gpu instead of onnxruntime)")
        return True, "ok"

    @classmethod
    def supports_precision(cls, device: str, precision: str) -> tuple[bool, str]:
        if precision == "fp32":
            return True, "ok"
        if precision == "fp16" and _is_cuda(device):
            return True, "ok"
        if precision == "fp16":
            return False, "ONNX Runtime runs fp16 only with the CUDA/TensorRT provider; on CPU use fp32"
        if precision == "int8" and _is_cuda(device):
            return False, ("ONNX Runtime's dynamic int8 kernels (ConvInteger, MatMulInteger) run on its CPU "
                           "provider only: choose device cpu for int8")
        if precision == "int8":
            try:
                import onnxruntime.quantization  # noqa: F401
            except ImportError as exc:
                return False, f"onnxruntime.quantization cannot be imported ({exc})"
            return True, "ok"
        return False, f"ONNX Runtime backend does not support {precision}; use fp32 (or fp16 on CUDA, int8 on CPU)"

    @staticmethod
    def providers_for(device: str) -> list[str]:
        """Providers to ask for, best first: GPU ones for cuda devices, the CPU one for cpu."""
        import onnxruntime as ort

        available = set(ort.get_available_providers())
        wanted = GPU_PROVIDERS if _is_cuda(device) else ("CPUExecutionProvider",)
        return [p for p in PROVIDER_ORDER if p in wanted and p in available]

    # -- the ONNX file ----------------------------------------------------------------------
    @staticmethod
    def onnx_path_for(graph: ExportableGraph, cache_dir: str | Path, device: str = "cpu",
                      precision: str = "fp32") -> Path:
        """Cache path of the ONNX file; it depends on the exporter (torch) version, and for int8 on
        the quantiser's (ORT's) too."""
        kind = "cuda" if _is_cuda(device) else "cpu"
        version = f"torch-{torch.__version__}-opset{ONNX_OPSET}"
        if precision == "int8":
            import onnxruntime
            version += f"-ort-{onnxruntime.__version__}-{INT8_WEIGHT_TYPE}"
        key = artifact_key(graph, "onnx", version, kind, precision)
        return Path(cache_dir) / graph.name / f"{key}.onnx"

    @classmethod
    def ensure_onnx(cls, graph: ExportableGraph, cache_dir: str | Path, device: str = "cpu",
                    precision: str = "fp32", progress: Callable[[float, str], None] | None = None,
                    ) -> tuple[Path, bool]:
        """The cached ONNX file for this graph, exported first if missing; returns (path, reused).
        int8: the fp32 file (exported first if needed), quantised."""
        report = progress or (lambda fraction, message: None)
        if precision == "int8":
            return cls.ensure_int8(graph, cache_dir, progress)
        path = cls.onnx_path_for(graph, cache_dir, device, precision)
        if artifact_intact(path):
            report(0.8, f"ONNX: reusing {path.name[:12]}… for {graph.name}")
            return path, True
        if path.is_file():   # truncated, edited or from before hashes were recorded: never used
            report(0.02, f"ONNX: the cached {path.name[:12]}… failed its sha256 check: exporting again")
        report(0.05, f"ONNX: exporting {graph.name} (opset {ONNX_OPSET}, {precision})")
        start = time.perf_counter()
        cls.export_onnx(graph, path, precision=precision, device=device)
        report(0.8, f"ONNX: exported in {time.perf_counter() - start:.1f} s")
        return path, False

    @classmethod
    def ensure_int8(cls, graph: ExportableGraph, cache_dir: str | Path,
                    progress: Callable[[float, str], None] | None = None) -> tuple[Path, bool]:
        """The cached dynamically quantised copy of the graph's fp32 ONNX file; (path, reused)."""
        report = progress or (lambda fraction, message: None)
        path = cls.onnx_path_for(graph, cache_dir, "cpu", "int8")
        if artifact_intact(path):
            report(0.8, f"ONNX: reusing int8 {path.name[:12]}… for {graph.name}")
            return path, True
        fp32_path, _ = cls.ensure_onnx(graph, cache_dir, "cpu", "fp32",
                                       progress=lambda f, m: report(0.6 * f, m))
        report(0.65, f"ONNX Runtime: quantising {graph.name} to int8 (dynamic)")
        start = time.perf_counter()
        quantize_int8(fp32_path, path)
        report(0.8, f"ONNX: quantised in {time.perf_counter() - start:.1f} s")
        return path, False

    @staticmethod
    def export_onnx(graph: ExportableGraph, path: str | Path, precision: str = "fp32",
                    device: str = "cpu") -> Path:
        """Export ``graph`` to ``path`` (atomically), metadata in ``metadata_props``, checked.

        fp16 exports trace a half-precision copy of the module on ``device`` (use a CUDA device:
        CPU half kernels are incomplete). Raises BackendFailed when the exporter or checker fails.
        """
        import onnx

        if precision not in ("fp32", "fp16"):
            raise ValueError(f"ONNX export supports fp32 and fp16, got {precision!r}")
        path = Path(path)
        dtype = PRECISION_DTYPES[precision]
        module = place_module(graph.module, device, dtype)
        args = tuple(to_torch(v, device, dtype) for v in graph.example_inputs.values())
        buffer = io.BytesIO()
        try:
            with warnings.catch_warnings():
                # the TorchScript exporter is chosen on purpose: one file, 6x faster than dynamo
                warnings.filterwarnings("ignore", category=DeprecationWarning,
                                        message=r".*(legacy TorchScript-based ONNX export|feature will be removed).*")
                # transformers' shape checks warn that they become constants in the trace; the
                # parity tests (every runtime against eager, on new shapes) are what we rely on
                warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
                with _mha_fastpath_off():
                        torch.onnx.export(module, args, buffer, dynamo=False, opset_version=ONNX_OPSET,
                                      input_names=graph.input_names, output_names=list(graph.output_names),
                                      dynamic_axes=graph.dynamic_axes or None, do_constant_folding=True)
            model = onnx.load_from_string(buffer.getvalue())
            props = dict(graph.metadata)
            props.update({"graph": graph.name, "fingerprint": graph.fingerprint(), "precision": precision,
                          "torch_version": torch.__version__,
                          "created": datetime.now(timezone.utc).isoformat(timespec="seconds")})
            onnx.helper.set_model_props(model, props)
            onnx.checker.check_model(model)
        except Exception as exc:
            raise BackendFailed(f"ONNX export of {graph.name} failed: {type(exc).__name__}: "
                                f"{first_line(exc)} (PyTorch eager still works)") from exc
        atomic_write_bytes(path, model.SerializeToString())
        return path

    # -- the session ------------------------------------------------------------------------
    def _setup(self) -> None:
        self.onnx_path, reused = self.ensure_onnx(self.graph, self.cache_dir, self.device,
                                                  self.precision, progress=self._progress)
        self._progress(0.9, "ONNX Runtime: creating session")
        try:
            self.session = self._make_session()
        except Exception as exc:
            if not reused:
                raise BackendFailed(f"ONNX Runtime could not load {self.onnx_path.name}: "
                                    f"{first_line(exc)}") from exc
            # a cached file from an older/broken run: export once more and retry
            self.onnx_path.unlink(missing_ok=True)
            self.onnx_path, _ = self.ensure_onnx(self.graph, self.cache_dir, self.device,
                                                 self.precision, progress=self._progress)
            self.session = self._make_session()
        self.provider = self.session.get_providers()[0]
        if _is_cuda(self.device) and self.provider not in GPU_PROVIDERS:
            raise BackendUnavailable("onnxruntime could not start its CUDA/TensorRT provider "
                                     "(CUDA or cuDNN libraries missing?) and fell back to CPU")
        self._input_types = {i.name: ORT_TYPES.get(i.type) for i in self.session.get_inputs()}
        session_outputs = [o.name for o in self.session.get_outputs()]
        if session_outputs != list(self.graph.output_names):
            raise BackendFailed(f"the ONNX file's outputs {session_outputs} differ from the graph's "
                                f"{self.graph.output_names}")
        self._progress(1.0, f"ONNX Runtime ready ({self.provider})")

    def _make_session(self):
        import onnxruntime as ort

        options = ort.SessionOptions()
        # the user's thread choice is torch's; one inter-op thread: our graphs are sequential
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: ORT warns about every fallback node
        providers = []
        for provider in self.providers_for(self.device):
            if provider == "TensorrtExecutionProvider":
                engine_dir = self.cache_dir / self.graph.name / "ort-tensorrt"
                engine_dir.mkdir(parents=True, exist_ok=True)
                providers.append((provider, {"device_id": _device_index(self.device),
                                             "trt_fp16_enable": self.precision == "fp16",
                                             "trt_engine_cache_enable": True,
                                             "trt_engine_cache_path": str(engine_dir)}))
            elif provider == "CUDAExecutionProvider":
                providers.append((provider, {"device_id": _device_index(self.device)}))
            else:
                providers.append(provider)
        return ort.InferenceSession(str(self.onnx_path), sess_options=options, providers=providers)

    def _run(self, inputs: dict[str, np.ndarray | torch.Tensor]) -> dict[str, np.ndarray]:
        feed = {}
        for key, value in inputs.items():
            if key not in self._input_types:
                continue  # the exporter drops inputs the graph never reads
            array = to_numpy(value)
            want = self._input_types[key]
            feed[key] = array.astype(want, copy=False) if want is not None else array
        outputs = self.session.run(list(self.graph.output_names), feed)
        return {k: np.asarray(v, dtype=np.float32) for k, v in zip(self.graph.output_names, outputs)}

    def describe(self) -> str:
        import onnxruntime as ort

        if _is_cuda(self.device):
            where = device_summary(self.device)
        else:
            where = f"{self.session.get_session_options().intra_op_num_threads} threads"
        return f"ONNX Runtime {ort.__version__} · {self.provider} · {self.precision} · {where}"


# Weights as unsigned 8-bit: on this x86 CPU (AVX2, no VNNI) ORT 1.32's U8U8 kernels ran the studio
# CNN 2.7x and CLIP's text tower 1.3x faster than signed weights (S8), at the same agreement.
INT8_WEIGHT_TYPE = "QUInt8"


def quantize_int8(fp32_path: Path, path: Path) -> Path:
    """Dynamic quantisation (``onnxruntime.quantization.quantize_dynamic``): weights of Conv,
    MatMul, Gemm... stored as 8-bit integers with a scale; activations quantised on every call,
    so no calibration data is needed. The graph's metadata is kept, with precision int8."""
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    _quiet_quantizer()
    try:
        quantize_dynamic(fp32_path, tmp, weight_type=getattr(QuantType, INT8_WEIGHT_TYPE))
        model = onnx.load(str(tmp))
        props = {p.key: p.value for p in model.metadata_props}
        props.update({"precision": "int8", "quantization": f"dynamic, weights {INT8_WEIGHT_TYPE}",
                      "onnxruntime_version": onnxruntime.__version__})
        onnx.helper.set_model_props(model, props)
    except Exception as exc:
        raise BackendFailed(f"int8 quantisation of {fp32_path.name} failed: {type(exc).__name__}: "
                            f"{first_line(exc)} (fp32 still works)") from exc
    finally:
        tmp.unlink(missing_ok=True)
    atomic_write_bytes(path, model.SerializeToString())
    return path


class _QuantizerLogFilter(logging.Filter):
    """onnxruntime.quantization logs a line per tensor through the root logger ("Quantization
    parameters for tensor ... not specified", "consider to run pre-processing"): dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname or "quantization" not in record.pathname


def _quiet_quantizer() -> None:
    root = logging.getLogger()
    if not any(isinstance(f, _QuantizerLogFilter) for f in root.filters):
        root.addFilter(_QuantizerLogFilter())


@contextlib.contextmanager
def _mha_fastpath_off():
    """nn.MultiheadAttention (open_clip's towers) takes a fused fast path in eval mode, which
    traces to ``aten::_native_multi_head_attention``: no ONNX symbolic exists for it. The plain
    path exports as MatMul/Softmax and computes the same function."""
    enabled = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(enabled)
