"""A toy topic in one file: a tiny model, its predictor, its bench entry and its tab. Registered
(``models.registry.register``), it must appear as a tab, a bench entry and a lab graph without a
line changed anywhere else: what "add a topic" (docs/ARCHITECTURE.md) promises.

The model is tinybench's conv net, its "studio checkpoint" its seeded weights in memory.
"""
from __future__ import annotations

import gradio as gr

import tinybench
from models.agreement import top1_agreement
from models.bench import BenchSpec, backends_of
from models.predictor import Predictor
from models.registry import Graph, Model, Topic
from models.sources import Source
from tabs.errors import user_errors
from tabs.i18n import lang_of
from tabs.kit import (BENCH_QUEUE, ModelSlot, ab_panel, api, bind, compare, heavy_queue, runtime_picker,
                      show_availability, source_picker)

SOURCES = {"studio": Source("studio", "Toy CNN (5 shapes, random weights)", studio="toy-cnn")}


class ToyPredictor(Predictor):
    SOURCES = SOURCES
    WHAT = "toy"

    def _load_studio(self, checkpoint_root) -> None:
        self.model = tinybench.tiny_net(seed=3)
        self.card, self.weights_sha = {"model_id": "toy-cnn"}, "toy"

    def _graph_makers(self) -> dict:
        return {"classifier": lambda: tinybench.tiny_graph(self.model, name="toy.studio.classifier")}

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def describe(self) -> dict:
        return {"params": f"{self.num_parameters():,}", "classes": len(tinybench.CLASSES), "size": 32}

    def classify(self, x, runtime: str = "eager") -> str:
        logits = self.backend("classifier", runtime)(image=x)["logits"][0]
        return tinybench.CLASSES[int(logits.argmax())]


def classifier_spec(predictor, sample=None) -> BenchSpec:
    x = tinybench.image(seed=1) if sample is None else sample
    return BenchSpec(tab="toy", graph=predictor.graphs()["classifier"], inputs={"image": x},
                     task_metric=top1_agreement, make_backend=backends_of(predictor, "classifier"))


def load(source: str = "studio", **options):
    return ToyPredictor(source, **options)


TOY = Model("toy", SOURCES, load, graphs=(Graph("toy", "Toy · classifier", "classifier", classifier_spec,
                                                 images=True),))
TOPIC = Topic("toy", (TOY,), tab=__name__)


# ---------------------------------------------------------------------------- its tab
@user_errors
def describe_model(slot: ModelSlot, source, request: gr.Request, progress=gr.Progress()):
    _, status = slot.status(source, "", progress, lang_of(request))
    return status


@user_errors
def classify(slot: ModelSlot, source, runtime, request: gr.Request):
    return slot.get(source).classify(tinybench.image(seed=2), runtime)


@user_errors
def compare_runtimes(slot: ModelSlot, source, a, b, runs, request: gr.Request, progress=gr.Progress()):
    return compare(slot, "toy", None, source, "", a, b, runs, lang_of(request), progress)


def build(ctx, demo, topic: Topic) -> gr.Tab:
    # the toy's status line reuses a studio string: a real topic brings its own (tabs/i18n*.py)
    slot = ModelSlot(ctx, topic.model(), "cnn.model_ok")
    with gr.Tab("Toy", id=topic.key) as tab:
        source = source_picker(topic.model())
        runtime = runtime_picker(ctx)
        status, answer = gr.Markdown(), gr.Textbox(label="class")
        run = gr.Button("Classify")
        ab = ab_panel(ctx, list(topic.model().graphs))
        heavy = heavy_queue(topic.key)
        tab.select(bind(describe_model, slot), source, status, **api(topic.key, "describe_model"), **heavy)
        show_availability(ctx, tab.select, [runtime, ab.a, ab.b])
        run.click(bind(classify, slot), [source, runtime], answer, **api(topic.key, "classify"), **heavy)
        ab.button.click(bind(compare_runtimes, slot), [source, *ab.inputs()], [ab.table, ab.summary],
                        **api(topic.key, "compare_runtimes"), **BENCH_QUEUE)
    return tab

