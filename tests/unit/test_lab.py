"""The Runtime lab: int8 through ONNX Runtime, precision rows, batch sweeps, the lab end to end on
real studio graphs, its schema, cancelling, explanations, and the fx-tracing lock."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import jsonschema
import numpy as np
import onnx
import pytest
import torch

import tinybench
from models import bench
from models.backends import BACKENDS, create_backend
from models.backends.onnxruntime_backend import OnnxRuntimeBackend
from models.lab import explain as lab_explain
from models.lab.pictures import latency_plot, throughput_plot
from models.lab.run import check_settings, image_graphs, lab_graphs, run_lab
from models.lab.why_texts import WHY_TEXTS
from models.runtimes import RUNTIMES

SCHEMA = json.loads((Path(bench.__file__).parent / "bench_schema.json").read_text())


def validate(payload) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(payload)


# ------------------------------------------------------------------------------ int8
def test_int8_is_onnx_runtime_quantisation_on_cpu(tmp_path):
    graph = tinybench.tiny_graph()
    x = tinybench.image(4)
    ref = create_backend("eager", graph)(image=x)["logits"]
    b = create_backend("onnxruntime", graph, precision="int8", cache_dir=tmp_path)
    out = b(image=x)["logits"]
    assert out.shape == ref.shape and out.dtype == np.float32
    assert not np.array_equal(out, ref)                      # it really is quantised...
    assert np.abs(out - ref).max() < 0.1 * np.abs(ref).max()  # ...and still the same function
    model = onnx.load(str(b.onnx_path))
    props = {p.key: p.value for p in model.metadata_props}
    assert props["precision"] == "int8" and props["fingerprint"] == graph.fingerprint()
    assert any(n.op_type in ("ConvInteger", "MatMulInteger", "DynamicQuantizeLinear") for n in model.graph.node)
    assert "int8" in b.describe()
    # a second backend reuses the cached quantised file
    again = create_backend("onnxruntime", graph, precision="int8", cache_dir=tmp_path)
    assert again.onnx_path == b.onnx_path


@pytest.mark.parametrize("name", ["eager", "compiled", "tensorrt"])
def test_other_runtimes_say_why_they_do_not_run_int8(name):
    ok, reason = BACKENDS[name].supports_precision("cpu", "int8")
    assert not ok and ("ONNX Runtime" in reason or "calibration" in reason)


def test_onnx_runtime_int8_is_cpu_only():
    ok, reason = OnnxRuntimeBackend.supports_precision("cuda", "int8")
    assert not ok and "CPU" in reason


# ------------------------------------------------------------------------------ bench precisions / batch
def test_run_bench_precision_rows_compare_with_the_fp32_reference(tmp_path):
    report = bench.run_bench(tinybench.bench_spec(), ["eager", "compiled", "onnxruntime"], runs=3, warmup=1,
                             cache_dir=tmp_path, precisions=["fp32", "int8"])
    validate(report)
    pairs = [(r["backend"], r["precision"]) for r in report["rows"]]
    assert pairs[0] == ("eager", "fp32")
    assert ("onnxruntime", "int8") in pairs and ("eager", "int8") not in pairs
    assert {(s["backend"], s["precision"]) for s in report["skipped"]} == {("eager", "int8"), ("compiled", "int8")}
    int8 = next(r for r in report["rows"] if r["precision"] == "int8")
    assert int8["status"] == "ok" and 0 < int8["agreement"]["max_abs"] < 1
    fp32_ort = next(r for r in report["rows"] if r["backend"] == "onnxruntime" and r["precision"] == "fp32")
    assert fp32_ort["agreement"]["max_abs"] < int8["agreement"]["max_abs"]   # quantisation costs accuracy
    table = bench.format_table(report)
    assert "ONNX Runtime · int8" in table and "ONNX Runtime · fp32" in table
    assert "Not run: int8 on PyTorch eager, torch.compile" in table


def test_with_batch_repeats_the_input_and_redeclares_the_graph():
    spec = tinybench.bench_spec()
    same = bench.with_batch(spec)
    assert same.inputs["image"].shape == (1, 3, 32, 32) and same.graph is spec.graph
    eight = bench.with_batch(spec, 8)
    assert eight.inputs["image"].shape == (8, 3, 32, 32)
    assert tuple(eight.graph.example_inputs["image"].shape) == (8, 3, 32, 32)
    assert eight.graph.fingerprint() != spec.graph.fingerprint()   # its own cached artifacts
    np.testing.assert_array_equal(eight.inputs["image"][5], spec.inputs["image"][0])
    assert eight.task_metric is bench.output_cosine
    wide = bench.BenchSpec(tab="t", graph=spec.graph, inputs={"image": tinybench.image(3)},
                           task_metric=tinybench.top1_agreement)
    one = bench.with_batch(wide, 1)                               # one item of a batch of three
    np.testing.assert_array_equal(one.inputs["image"], wide.inputs["image"][:1])
    scalar = bench.BenchSpec(tab="t", graph=spec.graph, inputs={"image": np.float32(1)},
                             task_metric=tinybench.top1_agreement)
    with pytest.raises(ValueError, match="scalar"):
        bench.with_batch(scalar, 4)


def test_cli_precisions_writes_valid_rows(tmp_path, capsys):
    out = tmp_path / "r.json"
    with tinybench.registered(tinybench.topic()):
        code = bench.main(["--tab", "tiny", "--backends", "onnxruntime", "--precisions", "fp32,int8", "--runs",
                           "2", "--warmup", "0", "--cache-dir", str(tmp_path), "--json", str(out), "--quiet"])
        assert code == 0
        report = json.loads(out.read_text())
        validate(report)
        assert [r["precision"] for r in report["rows"]] == ["fp32", "fp32", "int8"]
        assert "cpu_features" in report["machine"]
        with pytest.raises(SystemExit):
            bench.main(["--tab", "tiny", "--precisions", "int4"])


# ------------------------------------------------------------------------------ the lab
def test_check_settings_names_the_problem():
    ok = dict(graphs=["cnn"], backends=["eager"], precisions=["fp32"], batches=[1], runs=5, warmup=1)
    check_settings(**ok)
    for bad, match in ((dict(graphs=[]), "at least one graph"), (dict(graphs=["resnet"]), "unknown graph"),
                       (dict(backends=["onnx"]), "unknown runtime"), (dict(precisions=["int4"]), "precision"),
                       (dict(batches=[0]), "batch"), (dict(batches=[10_000]), "batch"), (dict(runs=0), "runs"),
                       (dict(warmup=-1), "warm-up")):
        with pytest.raises(ValueError, match=match):
            check_settings(**{**ok, **bad})
    assert "diffusion-run" not in lab_graphs() and "yolo" not in lab_graphs() and "cnn" in lab_graphs()
    assert {"cnn", "yolo-network", "sam-encoder", "clip-image", "diffusion"} <= image_graphs()


def test_lab_end_to_end_on_two_studio_graphs(tmp_path):
    """CNN (conv) and CLIP's text tower (transformer) on eager, compiled, ONNX Runtime and int8."""
    messages = []
    lab = run_lab(["cnn", "clip-text"], ["eager", "compiled", "onnxruntime"], ["fp32", "int8"], batches=[1, 4],
                  runs=3, warmup=1, cache_dir=tmp_path, progress=lambda f, m: messages.append((f, m)))
    validate(lab)
    assert not lab["stopped"] and lab["errors"] == {}
    assert [r["tab"] for r in lab["latency"]] == ["cnn", "clip-text"]
    for report in lab["latency"]:
        got = {(r["backend"], r["precision"]): r for r in report["rows"]}
        for key in (("eager", "fp32"), ("compiled", "fp32"), ("onnxruntime", "fp32"), ("onnxruntime", "int8")):
            assert got[key]["status"] == "ok", (report["tab"], key, got[key]["status"])
        assert got[("onnxruntime", "fp32")]["agreement"]["cosine"] > 0.99999
        assert got[("onnxruntime", "int8")]["agreement"]["cosine"] > 0.99
    cnn = {(p["backend"], p["precision"], p["batch"]) for p in lab["throughput"] if p["status"] == "ok"}
    assert {("onnxruntime", "int8", 4), ("eager", "fp32", 1), ("compiled", "fp32", 4)} <= cnn
    assert all(p["graph"] == "cnn" for p in lab["throughput"])          # the text tower has no image batch
    topics = {e["topic"] for e in lab["explanations"]}
    assert {"warm-up", "batch", "precision", "copies", "threads"} <= topics
    sizes = {e["values"]["graph"]: e["values"] for e in lab["explanations"] if e["key"] == "int8_size"}
    assert set(sizes) == {"cnn", "clip-text"} and all(float(v["ratio"]) > 1.5 for v in sizes.values())
    assert messages[-1] == (1.0, "done") and all(0 <= f <= 1 for f, _ in messages)
    for picture in (latency_plot(lab), throughput_plot(lab)):
        assert picture.ndim == 3 and picture.shape[2] == 3 and picture.std() > 0


def test_lab_stops_when_asked_and_keeps_what_finished(tmp_path):
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 30
    lab = run_lab(["cnn"], ["eager", "onnxruntime"], ["fp32"], batches=[1, 8, 32], runs=20, warmup=0,
                  cache_dir=tmp_path, should_stop=stop)
    validate(lab)
    assert lab["stopped"]
    assert len(lab["throughput"]) < 2 * 3        # not every batch ran


def test_lab_reports_a_graph_that_cannot_load_and_runs_the_others(tmp_path):
    def loader(graph, device):
        if graph == "sam-encoder":
            raise FileNotFoundError("no checkpoint for sam-shapeworld")
        return tinybench.bench_spec()
    lab = run_lab(["sam-encoder", "cnn"], ["eager"], ["fp32"], batches=[1], runs=2, warmup=0, cache_dir=tmp_path,
                  spec_loader=loader)
    validate(lab)
    assert "no checkpoint" in lab["errors"]["sam-encoder"]
    assert [r["tab"] for r in lab["latency"]] == ["cnn"]


def test_fixed_cost_fit_and_batch_explanation():
    points = [{"batch": b, "p50_ms": 2.0 + 0.5 * b, "items_per_s": b / (2.0 + 0.5 * b) * 1000} for b in (1, 8, 32)]
    fixed, per_item = lab_explain.fixed_cost(points)
    assert fixed == pytest.approx(2.0) and per_item == pytest.approx(0.5)
    lab = {"throughput": [dict(p, graph="g", label="ONNX Runtime", precision="fp32", backend="onnxruntime",
                               status="ok") for p in points]}
    (key, values), (general, _) = lab_explain.batch_notes(lab)
    note = WHY_TEXTS[key].format(**values)
    assert note.startswith("g, ONNX Runtime fp32: 400 → 1,778 items/s from batch 1 to 32 (4.4×)")  # 1/2.5, 32/18 ms
    assert "crosses batch 0 at 2.00 ms, 80% of its batch-1 call" in note
    assert general == "batch_what" and "intercept" in WHY_TEXTS[general] and "estimate" in WHY_TEXTS[general]
    noisy = [{"batch": b, "p50_ms": 0.5 * b - 0.1, "items_per_s": b / (0.5 * b - 0.1) * 1000} for b in (1, 8)]
    lab = {"throughput": [dict(p, graph="g", label="ONNX Runtime", precision="fp32") for p in noisy]}
    assert lab_explain.batch_notes(lab)[0][0] == "batch_gain_noisy"     # no "0 % fixed cost" from a clipped fit


def _row(backend, precision, p50, **extra):
    row = {"backend": backend, "label": RUNTIMES[backend], "precision": precision, "status": "ok", "p50_ms": p50,
           "setup_s": 1.0, "speedup": 2.0 / p50, "agreement": None}
    return {**row, **extra}


def test_int8_note_reports_the_measured_file_sizes_not_a_rule():
    agree = {"max_abs": 0.01, "cosine": 0.99999, "task": {"name": "top1_agreement", "value": 1.0}}
    report = {"tab": "cnn", "precision": "fp32", "rows": [_row("eager", "fp32", 2.0), _row("onnxruntime", "fp32", 1.0, artifact_mb=4.0),
                                     _row("onnxruntime", "int8", 0.8, artifact_mb=1.6, agreement=agree)]}
    lab = {"latency": [report], "device": "cpu", "machine": {"cpu_features": ["avx2"]}}
    notes = dict(lab_explain.precision_notes(lab))
    assert notes["int8_size"] == {"graph": "cnn", "fp32_mb": "4.00", "int8_mb": "1.60", "ratio": "2.5"}
    assert notes["precision_own"]["ratio"] == "1.25"                  # against ONNX Runtime fp32, not eager
    assert "int8_no_vnni" in notes and "4×" not in WHY_TEXTS["int8_no_vnni"]


def test_copies_are_timed_both_ways_with_the_graphs_own_outputs():
    spec = tinybench.bench_spec()
    ms, in_mib, out_mib = lab_explain.round_trip(spec, "cpu", repeats=3)
    outputs = spec.graph.module(*(torch.from_numpy(v) for v in spec.inputs.values()))
    expected_out = sum(t.nbytes for t in (outputs if isinstance(outputs, (tuple, list)) else [outputs])) / 2**20
    assert ms >= 0 and in_mib == pytest.approx(sum(v.nbytes for v in spec.inputs.values()) / 2**20)
    assert out_mib == pytest.approx(expected_out) and out_mib > 0


def test_every_explanation_is_translated_with_the_same_placeholders():
    from string import Formatter

    from tabs.i18n import STRINGS
    names = lambda s: {f for _, f, _, _ in Formatter().parse(s) if f}   # noqa: E731
    for key, en in WHY_TEXTS.items():
        got_en, zh = STRINGS[f"lab.why.{key}"]
        assert got_en == en and names(zh) == names(en), key


def test_explanations_show_in_the_learners_language():
    from tabs.lab import explanations_md
    lab = {"explanations": lab_explain.explain({"latency": [], "throughput": [], "device": "cpu",
                                                "machine": {"threads": 1, "cores": 2, "cpu": "x"}})}
    assert "rule of thumb" in explanations_md(lab, "en") and "no host↔device copies" in explanations_md(lab, "en")
    zh = explanations_md(lab, "zh-CN")
    assert "经验法则" in zh and "主机↔设备拷贝" in zh and "rule of thumb" not in zh


# ------------------------------------------------------------------------------ fx tracing vs inference
def test_fx_tracing_does_not_break_inference_in_another_thread():
    """torch.fx patches nn.Module.__call__ for every thread while tracing; backends wait for it."""
    from torchvision.models import resnet18

    from models.cnn.anatomy import layer_table
    backend = create_backend("eager", tinybench.tiny_graph())
    x = tinybench.image(1)
    errors, done = [], threading.Event()

    def infer():
        while not done.is_set():
            try:
                backend(image=x)
            except Exception as exc:  # noqa: BLE001 — the failure under test
                errors.append(exc)
                return
    worker = threading.Thread(target=infer)
    worker.start()
    try:
        model = resnet18(num_classes=4).eval()
        for _ in range(5):
            assert len(layer_table(model, (3, 32, 32))) > 10
    finally:
        done.set()
        worker.join()
    assert errors == []


def test_two_threads_tracing_layer_tables_do_not_break_each_other():
    """The attention tab traces the ViT's stem while Grad-CAM's CNN traces its own: each one's
    shape propagation is a forward pass, which must not run inside the other's trace."""
    from torchvision.models import resnet18

    from models.cnn.anatomy import layer_table
    errors = []

    def tables():
        try:
            model = resnet18(num_classes=4).eval()
            for _ in range(25):
                layer_table(model, (3, 32, 32))
        except Exception as exc:  # noqa: BLE001 — the failure under test
            errors.append(exc)
    workers = [threading.Thread(target=tables) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []


def test_read_write_lock_lets_a_writer_in_only_alone():
    from models.tracing import ReadWriteLock
    lock = ReadWriteLock()
    inside, order = threading.Event(), []
    release = threading.Event()

    def reader():
        with lock.shared():
            inside.set()
            release.wait(5)
            order.append("reader out")

    def writer():
        with lock.exclusive():
            order.append("writer in")
    r = threading.Thread(target=reader)
    r.start()
    inside.wait(5)
    w = threading.Thread(target=writer)
    w.start()
    w.join(0.2)
    assert order == []                  # the writer waits for the reader
    release.set()
    r.join(5)
    w.join(5)
    assert order == ["reader out", "writer in"]
    with lock.shared():                 # re-entrant in one thread
        with lock.shared():
            pass
        with lock.exclusive():
            pass

