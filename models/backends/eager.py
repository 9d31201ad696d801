"""PyTorch eager: the reference every other runtime is compared against."""
from __future__ import annotations

import numpy as np
import torch

from .base import (RUNTIMES, INT8_ONLY_ORT, PRECISION_DTYPES, Backend, device_summary, normalize_device, place_module,
                   to_torch)


class EagerBackend(Backend):
    """Runs ``graph.module`` as it is, under ``torch.inference_mode``.

    fp16 runs only on CUDA (many CPU fp16 kernels are missing or slow); bf16 runs on CPU and CUDA.
    """

    name = "eager"
    label = RUNTIMES[name]

    @classmethod
    def availability(cls, device: str = "cpu") -> tuple[bool, str]:
        device = normalize_device(device)
        if device.startswith("cuda") and not torch.cuda.is_available():
            return False, "no CUDA device (torch.cuda.is_available() is False)"
        return True, "ok"

    @classmethod
    def supports_precision(cls, device: str, precision: str) -> tuple[bool, str]:
        if precision == "int8":
            return False, INT8_ONLY_ORT
        if precision == "fp16" and not device.startswith("cuda"):
            return False, "fp16 eager runs only on CUDA; on CPU use fp32 or bf16"
        return True, "ok"

    def _setup(self) -> None:
        self._dtype = PRECISION_DTYPES[self.precision]
        self.module = place_module(self.graph.module, self.device, self._dtype)

    def _run(self, inputs: dict[str, np.ndarray | torch.Tensor]) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            args = [to_torch(v, self.device, self._dtype) for v in inputs.values()]
            outputs = self.module(*args)
            return self._outputs_to_numpy(outputs)  # .cpu() waits for the GPU

    def describe(self) -> str:
        return f"PyTorch {torch.__version__} eager · {device_summary(self.device)} · {self.precision}"
