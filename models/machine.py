"""Facts about the machine a benchmark ran on (no torch: the retrieval bench imports it too)."""
from __future__ import annotations

import platform


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# CPU features that decide what a precision can buy here (int8 dot products, fp16/bf16 math)
PRECISION_FEATURES = ("avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16",
                      "amx_bf16", "amx_int8")


def cpu_features() -> list[str]:
    """Which of ``PRECISION_FEATURES`` the CPU reports in /proc/cpuinfo (empty where unknown)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [name for name in PRECISION_FEATURES if name in flags]
    except OSError:
        pass
    return []
