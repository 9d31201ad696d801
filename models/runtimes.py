"""The runtimes the studio knows, by name, and the facts about them that need no torch.

This is the one list of runtimes: the backends (``models.backends``) take their labels from it,
and the UI, the bench CLI and the Runtime lab read it before torch is imported (start-up stays
torch-free). Order = how the pickers list them: the reference first, then ever further from
PyTorch.
"""
from __future__ import annotations

RUNTIMES: dict[str, str] = {
    "eager": "PyTorch eager",
    "compiled": "torch.compile",
    "onnxruntime": "ONNX Runtime",
    "tensorrt": "TensorRT",
}
REFERENCE = "eager"          # every other runtime is timed and checked against it

PRECISIONS = ("fp32", "fp16", "bf16", "int8")


class BackendUnavailable(RuntimeError):
    """The runtime cannot run here (not installed, no GPU, precision unsupported); the message says why."""


class BackendFailed(RuntimeError):
    """Export, build or run failed; the message says what happened and what to try."""


def check_runtime(name: str) -> str:
    """``name`` if it is a known runtime, else a ValueError naming them."""
    if name not in RUNTIMES:
        raise ValueError(f"unknown runtime {name!r}; choose one of {', '.join(RUNTIMES)}")
    return name


def check_precision(precision: str) -> str:
    """Return ``precision`` if it is one of PRECISIONS, else raise a ValueError naming them."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


def normalize_device(device: str) -> str:
    """``"cpu"``, ``"cuda"`` or ``"cuda:<index>"``; anything else is a ValueError."""
    device = str(device).strip().lower()
    if device == "cpu" or device == "cuda":
        return device
    if device.startswith("cuda:") and device[5:].isdigit():
        return device
    raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:<index>', got {device!r}")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none): what a
    one-line status or error message quotes."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
