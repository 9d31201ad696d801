"""torch.compile (inductor): same weights, fused kernels; CUDA graphs on GPU."""
from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
import threading
import time

import numpy as np
import torch

from .base import (RUNTIMES, INT8_ONLY_ORT, PRECISION_DTYPES, Backend, BackendFailed, BackendUnavailable, device_summary,
                   first_line, normalize_device, place_module, to_torch)

# "reduce-overhead" records CUDA graphs: batch-1 GPU inference is launch-bound, and replaying a
# graph removes the launches (resnet18 fp16 on an H200: 2.75 -> 0.23 ms). On CPU there are no
# CUDA graphs and "default" is the mode that fuses; "max-autotune" compiles for minutes.
MODES = {"cpu": "default", "cuda": "reduce-overhead"}
_COMPILING = threading.Lock()


class CompiledBackend(Backend):
    """``torch.compile(module, mode=MODES[device])``, compiled lazily on the first call per shape.

    Compiled graphs specialise on input shapes: a new batch size recompiles once (dynamo then
    marks that axis dynamic by itself). Kernels are cached in ``TORCHINDUCTOR_CACHE_DIR``
    (``<cache_dir>/inductor`` unless already set), so a restart reuses them.
    """

    name = "compiled"
    label = RUNTIMES[name]

    @classmethod
    def availability(cls, device: str = "cpu") -> tuple[bool, str]:
        device = normalize_device(device)
        if device.startswith("cuda") and not torch.cuda.is_available():
            return False, "no CUDA device (torch.cuda.is_available() is False)"
        # Importing torch._dynamo costs ~2.5 s, and the UI asks this at start-up: only probe it
        # here when something already imported it; __init__ always checks it for real.
        if "torch._dynamo" in sys.modules:
            ok, reason = cls._dynamo_supported()
            if not ok:
                return ok, reason
        elif importlib.util.find_spec("torch._dynamo") is None:
            return False, "this torch build has no torch._dynamo (torch.compile)"
        if device == "cpu":
            cxx = os.environ.get("CXX")
            if not ((cxx and shutil.which(cxx)) or shutil.which("g++") or shutil.which("cc")):
                return False, "no C++ compiler found: inductor needs g++ or clang on CPU (apt-get install g++)"
        else:
            from torch.utils._triton import has_triton

            if not has_triton():
                return False, "triton is not installed: inductor needs it on CUDA"
        return True, "ok"

    @staticmethod
    def _dynamo_supported() -> tuple[bool, str]:
        try:
            import torch._dynamo as dynamo

            supported = dynamo.is_dynamo_supported()
        except Exception as exc:  # a broken install must show as a reason, not crash the tab
            return False, f"torch.compile cannot load ({type(exc).__name__}: {exc})"
        if not supported:
            return False, "torch.compile does not support this Python version/platform"
        return True, "ok"

    @classmethod
    def supports_precision(cls, device: str, precision: str) -> tuple[bool, str]:
        if precision == "int8":
            return False, INT8_ONLY_ORT
        if precision == "fp16" and not device.startswith("cuda"):
            return False, "fp16 torch.compile runs only on CUDA; on CPU use fp32 or bf16"
        return True, "ok"

    def _setup(self) -> None:
        # inductor reads this at compile time, so setting it here (not at import) is enough; before
        # importing dynamo, which fills in its own default (/tmp/torchinductor_<user>) on first import
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(self.cache_dir / "inductor"))
        ok, reason = self._dynamo_supported()
        if not ok:
            raise BackendUnavailable(reason)
        self.mode = MODES["cuda" if self.device.startswith("cuda") else "cpu"]
        self._dtype = PRECISION_DTYPES[self.precision]
        self.module = place_module(self.graph.module, self.device, self._dtype)
        self._compiled = torch.compile(self.module, mode=self.mode)
        self._seen_shapes: set[tuple] = set()

    def _run(self, inputs: dict[str, np.ndarray | torch.Tensor]) -> dict[str, np.ndarray]:
        shapes = tuple(tuple(v.shape) for v in inputs.values())
        first = shapes not in self._seen_shapes
        if first:
            self._progress(0.0, f"torch.compile: compiling {self.graph.name} for shapes "
                                f"{', '.join(str(s) for s in shapes)} (seconds to a minute, once)")
            start = time.perf_counter()
        # no_grad, not inference_mode: dynamo guards on the grad mode, and inference tensors
        # fed to CUDA graphs force re-recording
        with torch.no_grad():
            args = [to_torch(v, self.device, self._dtype) for v in inputs.values()]
            for key, arg in zip(inputs, args):
                for axis, axis_name in self.graph.dynamic_axes.get(key, {}).items():
                    # A sequence axis changes every call (a KV cache grows by one token per
                    # step): say so up front, or dynamo recompiles per length until its limit.
                    # Batch axes stay static: one recompile when they change is cheaper.
                    if axis_name != "batch":
                        torch._dynamo.maybe_mark_dynamic(arg, axis)
            if self.mode == "reduce-overhead":
                # tells the CUDA-graph tree that the previous outputs are consumed
                torch.compiler.cudagraph_mark_step_begin()
            try:
                # one compilation at a time in the process: tabs run in parallel, and dynamo's
                # compile-time state is global (calls with compiled shapes do not take the lock)
                with _COMPILING if first else contextlib.nullcontext():
                    outputs = self._compiled(*args)
            except Exception as exc:
                if not first:
                    raise
                raise BackendFailed(f"torch.compile failed on {self.graph.name}: {type(exc).__name__}: "
                                    f"{first_line(exc)} "
                                    "(PyTorch eager still works)") from exc
            result = self._outputs_to_numpy(outputs)  # copies out of CUDA-graph memory
        if first:
            self._seen_shapes.add(shapes)
            self._progress(1.0, f"torch.compile: compiled in {time.perf_counter() - start:.1f} s")
        return result

    def describe(self) -> str:
        return (f"torch.compile {torch.__version__} · inductor mode={self.mode} · "
                f"{device_summary(self.device)} · {self.precision}")
