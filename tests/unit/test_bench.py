"""The shared benchmark: run_bench rows and numbers, the report schema, the table, the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

import tinybench
from models import bench
from models.agreement import compare_outputs
from models.backends import BackendFailed
from models.backends.onnxruntime_backend import OnnxRuntimeBackend

SCHEMA = json.loads((Path(bench.__file__).parent / "bench_schema.json").read_text())


def validate(payload) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(payload)


# -- agreement ------------------------------------------------------------------------------
def test_compare_outputs():
    ref = {"a": np.array([1.0, 2.0], np.float32), "b": np.array([[3.0]], np.float32)}
    assert compare_outputs(ref, ref) == {"max_abs": 0.0, "cosine": 1.0}
    out = {"a": np.array([1.0, 2.5], np.float32), "b": np.array([[3.0]], np.float32)}
    stats = compare_outputs(ref, out)
    assert stats["max_abs"] == pytest.approx(0.5)
    assert stats["cosine"] == pytest.approx((1 + 5 + 9) / (np.sqrt(14) * np.sqrt(16.25)))
    assert compare_outputs({"a": np.zeros(3)}, {"a": np.zeros(3)})["cosine"] == 1.0
    with pytest.raises(ValueError, match="shape"):
        compare_outputs(ref, {"a": np.zeros(3), "b": np.zeros((1, 1))})
    with pytest.raises(ValueError, match="missing"):
        compare_outputs(ref, {"a": ref["a"]})


# -- run_bench ------------------------------------------------------------------------------
def test_run_bench_rows_numbers_and_schema(tmp_path):
    seen = []
    report = bench.run_bench(tinybench.bench_spec(), ["onnxruntime", "tensorrt"], runs=5, warmup=1,
                             cache_dir=tmp_path, progress=lambda f, m: seen.append((f, m)))
    validate(report)
    rows = {row["backend"]: row for row in report["rows"]}
    assert list(rows) == ["eager", "onnxruntime", "tensorrt"]  # eager added first as the reference
    assert rows["eager"]["status"] == rows["onnxruntime"]["status"] == "ok"
    assert rows["tensorrt"]["status"].startswith("unavailable: ") and "tensorrt" in rows["tensorrt"]["status"]
    for name in ("eager", "onnxruntime"):
        row = rows[name]
        assert 0 < row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"]
        assert row["runs"] == 5
        assert row["agreement"]["max_abs"] < 1e-4
        assert row["agreement"]["cosine"] == pytest.approx(1.0, abs=1e-6)
        assert row["agreement"]["task"] == {"name": "top1_agreement", "value": 1.0}
    assert rows["eager"]["speedup"] == 1.0
    assert rows["onnxruntime"]["speedup"] == pytest.approx(rows["eager"]["p50_ms"] / rows["onnxruntime"]["p50_ms"])
    assert all(rows["tensorrt"][k] is None for k in ("p50_ms", "p90_ms", "p99_ms", "speedup", "agreement"))
    assert report["inputs"] == {"image": [1, 3, 32, 32]} and report["machine"]["threads"] == 1
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and fractions[0] >= 0.0

    table = bench.format_table(report)
    assert "PyTorch eager" in table and "ONNX Runtime" in table and "1.00×" in table
    assert "unavailable [1]" in table
    assert "[1] TensorRT: " + rows["tensorrt"]["status"].split(": ", 1)[1] in table
    assert "| runtime |" in bench.format_markdown(report)


def test_run_bench_reports_a_failed_backend_and_rejects_unknown_names(tmp_path, monkeypatch):
    def broken_export(graph, path, *args, **kwargs):
        raise BackendFailed("ONNX export of tests.tiny.classifier failed: boom")

    monkeypatch.setattr(OnnxRuntimeBackend, "export_onnx", staticmethod(broken_export))
    report = bench.run_bench(tinybench.bench_spec(), ["onnxruntime"], runs=2, warmup=0, cache_dir=tmp_path)
    validate(report)
    eager, ort_row = report["rows"]
    assert eager["status"] == "ok"
    assert ort_row["status"] == "failed: ONNX export of tests.tiny.classifier failed: boom"
    assert ort_row["p50_ms"] is None and ort_row["agreement"] is None
    with pytest.raises(ValueError, match="onnxruntime"):
        bench.run_bench(tinybench.bench_spec(), ["onnx"], runs=2)
    with pytest.raises(ValueError, match="runs"):
        bench.run_bench(tinybench.bench_spec(), ["eager"], runs=0)


def test_run_bench_stops_when_asked(tmp_path):
    calls = iter(range(1000))
    # let eager time 3 runs, then stop: eager is ok with 3 runs, the next backend never starts
    report = bench.run_bench(tinybench.bench_spec(), ["eager", "onnxruntime"], runs=10, warmup=0,
                             cache_dir=tmp_path, should_stop=lambda: next(calls) >= 4)
    validate(report)
    eager, ort_row = report["rows"]
    assert eager["status"] == "ok" and eager["runs"] == 3
    assert ort_row["status"].startswith("failed: stopped")


# -- CLI ------------------------------------------------------------------------------------
def test_cli_writes_json_and_markdown(tmp_path, capsys):
    out, md = tmp_path / "out.json", tmp_path / "out.md"
    with tinybench.registered(tinybench.topic()):
        code = bench.main(["--tab", "tiny", "--backends", "eager,onnxruntime,tensorrt", "--runs", "3",
                           "--warmup", "1", "--device", "cpu", "--precision", "fp32", "--threads", "1",
                           "--cache-dir", str(tmp_path / "cache"), "--json", str(out), "--markdown", str(md)])
    assert code == 0
    report = json.loads(out.read_text())
    validate(report)
    assert report["tab"] == "tiny" and report["runs"] == 3
    assert [r["status"].split(":")[0] for r in report["rows"]] == ["ok", "ok", "unavailable"]
    assert "| runtime |" in md.read_text()
    captured = capsys.readouterr()
    assert "ONNX Runtime" in captured.out and "%]" in captured.err  # table on stdout, progress on stderr


def test_cli_all_keeps_going_past_a_broken_graph(tmp_path, monkeypatch, capsys):
    """--all runs every registered graph; one that cannot load is reported and the others run.
    (The studio's own graphs are left out here: they load real models.)"""
    from models import registry

    def broken(source, **options):
        raise FileNotFoundError("no checkpoint for ghost")
    monkeypatch.setattr(registry, "topics", lambda: [tinybench.topic(), tinybench.topic("ghost", broken)])
    out = tmp_path / "all.json"
    code = bench.main(["--all", "--backends", "eager", "--runs", "2", "--warmup", "0", "--quiet",
                       "--cache-dir", str(tmp_path), "--json", str(out)])
    assert code == 1  # the ghost graph failed
    reports = json.loads(out.read_text())
    validate(reports)
    assert [r["tab"] for r in reports] == ["tiny"]
    assert "ghost" in capsys.readouterr().err


def test_cli_rejects_unknown_graph_and_backend():
    with tinybench.registered(tinybench.topic()):
        with pytest.raises(SystemExit) as info:
            bench.main(["--tab", "nope"])
        assert info.value.code == 2
        with pytest.raises(SystemExit):
            bench.main(["--tab", "tiny", "--backends", "eager,openvino"])
