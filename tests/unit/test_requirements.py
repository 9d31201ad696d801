"""requirements-gpu.txt is requirements.txt with onnxruntime swapped for the GPU runtimes."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _reqs(name):
    return {line.strip() for line in (ROOT / name).read_text().splitlines()
            if line.strip() and not line.startswith("#")}


def test_gpu_requirements_match_cpu_ones():
    cpu, gpu = _reqs("requirements.txt"), _reqs("requirements-gpu.txt")
    assert {r for r in cpu if not r.startswith("onnxruntime==")} <= gpu
    assert not any(r.startswith("onnxruntime==") for r in gpu)
    assert any(r.startswith("onnxruntime-gpu") for r in gpu) and any(r.startswith("tensorrt") for r in gpu)
    assert "torch==2.14.1" in cpu and "torchvision==0.29.1" in cpu
    assert any(r.startswith("opencv-python") and "<5" in r for r in cpu)
