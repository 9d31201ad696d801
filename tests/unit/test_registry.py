"""The topic registry: a toy topic registered from one file appears as a tab, a bench entry and a
lab graph; and every studio model keeps the predictor contract (parametrised over the registry,
so a new model is tested by being registered)."""
from __future__ import annotations

import json

import gradio as gr
import pytest

import tinybench
import toy_topic
from models import registry
from models.registry import Topic
from models.topics import STUDIO_TOPICS

MODELS = [m for t in STUDIO_TOPICS for m in t.models]


def test_a_toy_topic_appears_everywhere(tmp_path, capsys):
    """Registered from tests/unit/toy_topic.py alone: its tab is built, the bench CLI times its
    graph, the lab offers and runs it, and its tab's A/B callback compares two runtimes."""
    import app
    from models import bench
    from models.lab.run import lab_graphs, run_lab
    from tabs.kit import ModelSlot, StudioContext
    with tinybench.registered(toy_topic.TOPIC):
        demo = app.build_demo(StudioContext(cache_dir=tmp_path))
        assert "toy" in [b.id for b in demo.blocks.values() if isinstance(b, gr.Tab)]
        assert {"/toy_describe_model", "/toy_classify", "/toy_compare_runtimes"} <= set(
            demo.get_api_info()["named_endpoints"])

        out = tmp_path / "toy.json"
        assert bench.main(["--tab", "toy", "--backends", "eager,onnxruntime", "--runs", "2", "--warmup", "0",
                           "--cache-dir", str(tmp_path), "--json", str(out), "--quiet"]) == 0
        rows = json.loads(out.read_text())["rows"]
        assert [r["status"] for r in rows] == ["ok", "ok"] and rows[1]["agreement"]["task"]["value"] == 1.0
        assert "Toy · classifier" not in capsys.readouterr().err

        assert "toy" in lab_graphs()
        lab = run_lab(["toy"], ["eager", "onnxruntime"], ["fp32"], batches=[1, 4], runs=2, warmup=0,
                      cache_dir=tmp_path)
        assert lab["errors"] == {} and [r["tab"] for r in lab["latency"]] == ["toy"]
        assert {p["batch"] for p in lab["throughput"]} == {1, 4}          # Graph.images: the batch curve

        slot = ModelSlot(StudioContext(cache_dir=tmp_path), toy_topic.TOY, "cnn.model_ok")
        table, verdict = toy_topic.compare_runtimes(slot, "studio", "eager", "onnxruntime", 5, None)
        assert "top1_agreement: 1.000" in verdict and len(table["value"]) == 2
    assert "toy" not in registry.bench_graphs()                             # unregistered again


def test_registry_refuses_a_topic_or_graph_key_twice():
    with tinybench.registered(tinybench.topic()):
        with pytest.raises(ValueError, match="registered already"):
            registry.register(tinybench.topic())
        with pytest.raises(ValueError, match="graph keys \\['cnn'\\]"):
            registry.register(Topic("cnn2", tinybench.topic("cnn").models))


def test_registry_lookups():
    graphs = registry.bench_graphs()
    assert list(graphs)[:3] == ["cnn", "attention", "attention-text"]
    assert registry.topic("sam").model().graph("sam-decoder").graph == "decoder"
    with pytest.raises(ValueError, match="unknown topic"):
        registry.topic("bert")
    with pytest.raises(ValueError, match="unknown cnn source 'vgg'"):
        registry.topic("cnn").model().source("vgg")
    assert [t.key for t in registry.topics()][-1] == "lab"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Every studio model, loaded once through its registry loader."""
    cache = tmp_path_factory.mktemp("registry-cache")
    return {m.key: m.load("studio", device="cpu", cache_dir=cache) for m in MODELS}


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.key)
def test_every_studio_model_keeps_the_predictor_contract(model, loaded):
    """graphs() holds every registered graph; backend(graph, name, *, precision, progress) takes
    keyword-only options; describe() and num_parameters() give the status line's facts; the
    model's examples exist; an unknown graph or runtime is refused with a message."""
    import inspect
    p = loaded[model.key]
    assert {g.graph for g in model.graphs} <= set(p.graphs())
    params = inspect.signature(p.backend).parameters
    assert [n for n, v in params.items() if v.kind is v.KEYWORD_ONLY] == ["precision", "progress"]
    facts = p.describe()
    assert isinstance(facts, dict) and facts and p.num_parameters() > 0
    assert p.src.key == "studio" and p.card and p.weights_sha
    for example in (model.examples() if model.examples else []):
        assert isinstance(example, str) and example
    with pytest.raises(ValueError, match="has no graph"):
        p.backend("no-such-graph", "eager")
    with pytest.raises(ValueError, match="unknown runtime"):
        p.backend(model.graphs[0].graph, "openvino")


@pytest.mark.parametrize("key", list(registry.bench_graphs()))
def test_every_registered_graph_runs_on_its_bench_input(key, loaded):
    """Each graph's bench spec (its held-out input) runs once on PyTorch eager through the
    predictor's own backend, and its outputs agree with themselves."""
    from models.agreement import compare_outputs
    model, graph = registry.bench_graphs()[key]
    spec = graph.bench(loaded[model.key])
    assert spec.graph is loaded[model.key].graphs()[graph.graph]
    out, _ = spec.run_once(spec.make_backend("eager", "fp32", None))
    stats = compare_outputs(out, out)
    assert stats["max_abs"] == 0.0 and stats["cosine"] == pytest.approx(1.0)
    name, _ = spec.task_metric(out, out)
    assert isinstance(name, str) and name
