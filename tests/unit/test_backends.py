"""Runtimes: graph fingerprint, cache keys, eager/ONNX Runtime/torch.compile parity, TensorRT
reported as unavailable (and its engine-file format), the registry."""
from __future__ import annotations

import importlib.util
import json
import os
import struct

import numpy as np
import onnx
import pytest
import torch

from models.backends import (BACKENDS, BackendUnavailable, ExportableGraph, artifact_key,
                             atomic_write_bytes, availability_table, backend_names, create_backend,
                             default_cache_dir)
from models.backends.compiled import CompiledBackend
from models.backends.tensorrt_backend import (INSTALL_HINT, TensorRTBackend, pack_engine,
                                              profile_shapes, read_engine_file, unpack_engine,
                                              write_engine_file)
from tinybench import CLASSES, image, tiny_graph, tiny_net
import tinybench

PARITY_ATOL = 1e-4  # fp32 runtimes differ by summation order only


def assert_parity(ref: dict, out: dict) -> None:
    assert set(out) == {"logits"}
    assert out["logits"].dtype == np.float32
    assert out["logits"].shape == ref["logits"].shape
    assert np.abs(out["logits"] - ref["logits"]).max() < PARITY_ATOL
    assert (out["logits"].argmax(-1) == ref["logits"].argmax(-1)).all()


# -- graph, keys, files ---------------------------------------------------------------------
def test_fingerprint_is_stable_and_follows_the_weights():
    a, b = tiny_graph(tiny_net(0)), tiny_graph(tiny_net(0))
    assert a.fingerprint() == b.fingerprint()
    assert len(a.fingerprint()) == 64
    changed = tiny_net(0)
    with torch.no_grad():
        changed[0].weight[0, 0, 0, 0] += 1e-3
    assert tiny_graph(changed).fingerprint() != a.fingerprint()
    assert tiny_graph(tiny_net(1)).fingerprint() != a.fingerprint()
    assert tiny_graph(tiny_net(0), name="tests.other").fingerprint() != a.fingerprint()


def test_graph_rejects_training_mode_and_unknown_dynamic_axes():
    with pytest.raises(ValueError, match="eval"):
        tiny_graph(tiny_net().train())
    with pytest.raises(ValueError, match="neither an input nor an output"):
        ExportableGraph(name="t", module=tiny_net(), example_inputs={"image": torch.zeros(1, 3, 32, 32)},
                        output_names=["logits"], dynamic_axes={"img": {0: "batch"}})


def test_artifact_key_changes_with_precision_device_and_version():
    graph = tiny_graph()
    key = artifact_key(graph, "onnx", "1", "cpu", "fp32")
    assert key == artifact_key(tiny_graph(), "onnx", "1", "cpu", "fp32")
    others = {artifact_key(graph, "onnx", "1", "cpu", "fp16"), artifact_key(graph, "onnx", "1", "cuda", "fp32"),
              artifact_key(graph, "onnx", "2", "cpu", "fp32"), artifact_key(graph, "tensorrt", "1", "cpu", "fp32")}
    assert key not in others and len(others) == 4


def test_atomic_write_leaves_no_temporary_files(tmp_path, monkeypatch):
    target = tmp_path / "sub" / "model.bin"
    atomic_write_bytes(target, b"first")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert sorted(os.listdir(target.parent)) == ["model.bin", "model.bin.sha256"]   # the file and its recorded hash

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"third")
    assert target.read_bytes() == b"second"  # the old file survives a failed write
    assert sorted(os.listdir(target.parent)) == ["model.bin", "model.bin.sha256"]


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("STUDIO_CACHE_DIR")
    assert default_cache_dir().parts[-2:] == (".cache", "runtimes")


# -- registry -------------------------------------------------------------------------------
def test_registry_order_and_unknown_name():
    assert backend_names() == ["eager", "compiled", "onnxruntime", "tensorrt"]
    assert [row[0] for row in availability_table("cpu")] == backend_names()
    with pytest.raises(ValueError) as info:
        create_backend("tflite", tiny_graph())
    for name in BACKENDS:
        assert name in str(info.value)


# -- eager ----------------------------------------------------------------------------------
def test_eager_validates_inputs_and_precision():
    graph = tiny_graph()
    eager = create_backend("eager", graph)
    out = eager(image=image(2))
    assert out["logits"].shape == (2, len(CLASSES))
    assert "eager" in eager.describe()
    with pytest.raises(ValueError, match="image"):
        eager(picture=image())
    with pytest.raises(ValueError, match="axis 1"):
        eager(image=np.zeros((1, 4, 32, 32), np.float32))
    with pytest.raises(BackendUnavailable, match="CUDA"):
        create_backend("eager", graph, precision="fp16")  # fp16 eager is CUDA-only
    with pytest.raises(ValueError, match="precision"):
        create_backend("eager", graph, precision="fp8")
    bf16 = create_backend("eager", graph, precision="bf16")
    assert np.abs(bf16(image=image())["logits"] - eager(image=image())["logits"]).max() < 0.05
    assert graph.module[0].weight.dtype == torch.float32  # bf16 ran on a copy


# -- ONNX Runtime ---------------------------------------------------------------------------
def test_onnxruntime_matches_eager_and_reuses_its_cached_file(tmp_path, monkeypatch):
    exports = tinybench.count_exports(monkeypatch)
    graph = tiny_graph()
    messages = []
    ort_backend = create_backend("onnxruntime", graph, cache_dir=tmp_path,
                                 progress=lambda f, m: messages.append((f, m)))
    eager = create_backend("eager", graph)
    assert ort_backend.provider == "CPUExecutionProvider"
    assert "CPUExecutionProvider" in ort_backend.describe()
    assert messages and all(0.0 <= f <= 1.0 for f, _ in messages)
    for batch in (1, 4):  # 4 goes through the dynamic batch axis
        x = image(batch, seed=batch)
        assert_parity(eager(image=x), ort_backend(image=x))
    x = torch.from_numpy(image(1))  # torch inputs work too
    assert_parity(eager(image=x), ort_backend(image=x))

    path = ort_backend.onnx_path
    assert path.parent == tmp_path / graph.name and path.suffix == ".onnx"
    assert len(exports) == 1
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".sha256"]  # no temporary files
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(props["classes"]) == CLASSES
    assert props["fingerprint"] == graph.fingerprint()
    assert props["torch_version"] == torch.__version__ and props["created"]

    again = create_backend("onnxruntime", tiny_graph(), cache_dir=tmp_path)
    assert len(exports) == 1, "the cached ONNX file must be reused, not exported again"
    assert again.onnx_path == path
    assert_parity(eager(image=image()), again(image=image()))


def test_onnxruntime_declines_fp16_on_cpu(tmp_path):
    with pytest.raises(BackendUnavailable, match="fp16"):
        create_backend("onnxruntime", tiny_graph(), precision="fp16", cache_dir=tmp_path)


# -- torch.compile --------------------------------------------------------------------------
def test_compiled_sets_the_inductor_cache_dir_without_compiling(tmp_path, monkeypatch):
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    backend = CompiledBackend(tiny_graph(), cache_dir=tmp_path)
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "inductor")
    assert backend.mode == "default"


@pytest.mark.slow
def test_compiled_matches_eager(monkeypatch):
    # kernels compiled once stay in the studio's cache: later runs take seconds, not ~25 s
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(default_cache_dir() / "inductor"))
    graph = tiny_graph()
    messages = []
    compiled = create_backend("compiled", graph, progress=lambda f, m: messages.append(m))
    compiled.warmup(2)
    assert any("compiling" in m for m in messages)
    assert_parity(create_backend("eager", graph)(image=image(seed=3)), compiled(image=image(seed=3)))
    assert "torch.compile" in compiled.describe()


# -- TensorRT (not installed on CPU machines) -----------------------------------------------
def test_tensorrt_is_unavailable_on_cpu_and_never_crashes():
    ok, reason = TensorRTBackend.availability()
    assert not ok and "tensorrt" in reason.lower()
    if importlib.util.find_spec("tensorrt") is None:
        assert reason == INSTALL_HINT
    with pytest.raises(BackendUnavailable, match="(?i)tensorrt"):
        create_backend("tensorrt", tiny_graph())
    row = dict((name, (ok, why)) for name, _, ok, why in availability_table("cpu"))["tensorrt"]
    assert row == (False, reason)


def test_engine_file_header_round_trip(tmp_path):
    header = {"inputs": {"image": {"shape": [1, 3, 32, 32], "dtype": "float32"}},
              "outputs": ["logits"], "metadata": {"classes": json.dumps(CLASSES)},
              "tensorrt_version": "10.9.0", "fingerprint": "ab" * 32}
    engine = bytes(range(256)) * 3
    path = tmp_path / "x.engine"
    write_engine_file(path, header, engine)
    raw = path.read_bytes()
    (length,) = struct.unpack("<I", raw[:4])
    assert json.loads(raw[4:4 + length]) == header and raw[4 + length:] == engine
    assert read_engine_file(path) == (header, engine)
    assert sorted(os.listdir(tmp_path)) == ["x.engine", "x.engine.sha256"]
    assert unpack_engine(pack_engine({}, b"")) == ({}, b"")
    for broken in (b"\x01", struct.pack("<I", 99) + b"{}", struct.pack("<I", 2) + b"no", struct.pack("<I", 2) + b"[]"):
        with pytest.raises(ValueError, match="not a studio engine file"):
            unpack_engine(broken)


def test_tensorrt_profile_spans_the_dynamic_batch():
    low, opt, high = profile_shapes(tiny_graph())["image"]
    assert (low, opt, high) == ((1, 3, 32, 32), (1, 3, 32, 32), (32, 3, 32, 32))
