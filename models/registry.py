"""The topic registry: what the studio teaches, declared once, read by everything else.

A **topic** is one tab of the curriculum ("cnn", "attention", …). It declares the **models** its
tab can load (each: the picker's sources, a predictor factory, example inputs) and, for each
model, the **graphs** that run on a runtime (each: a label and the bench spec a graph is timed
with). From this one declaration:

- app.py builds one tab per topic, in the registry's order (``topics``);
- ``python -m models.bench --tab <graph>`` / ``--all`` benchmarks its graphs (``bench_graphs``);
- the Runtime lab offers them (``lab_graphs``), with their labels;
- each tab's A/B panel compares runtimes of its own graphs;
- the parametrised tests load every model and run every graph.

The studio's own topics are declared in ``models/topics.py``; ``register`` adds one at run time
(a test's toy topic, an experiment). Nothing here imports torch: the UI reads the registry while
it is built, before any model loads; predictors are imported by each model's ``load`` on first use.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from models.sources import Source, pick


@dataclass(frozen=True)
class Graph:
    """One graph a model runs on a runtime, as the bench, the A/B panel and the lab see it.

    Attributes:
        key: its id everywhere ("cnn", "sam-encoder"): ``--tab`` of the bench CLI, the lab's choice.
        label: what a learner reads ("SAM · image encoder").
        graph: the predictor's name for it, as in ``predictor.backend(graph, runtime)``.
        bench: ``(predictor, sample=None) -> BenchSpec``: the A/B panel passes the learner's input
            (a picture, a prompt); None gives the graph's own held-out input (the CLI, the lab).
        images: its first input is a batch of pictures (the lab's throughput-vs-batch curve).
        lab: offered in the Runtime lab; False for a whole pipeline the lab cannot batch.
    """

    key: str
    label: str
    graph: str
    bench: Callable[..., Any]
    images: bool = False
    lab: bool = True


@dataclass(frozen=True)
class Model:
    """One kind of model a tab loads: its picker's sources, how to load one, its graphs.

    ``load(source_key, *, device, weights_path, checkpoint_root, cache_dir)`` returns a predictor
    (``models.predictor`` contract); it imports torch and the field library on first call.
    ``examples()`` gives example inputs (file paths or texts) for the tab and the tests.
    """

    key: str
    sources: Mapping[str, Source]
    load: Callable[..., Any]
    graphs: tuple[Graph, ...] = ()
    examples: Callable[[], list] | None = None

    def source(self, key: str) -> Source:
        """``sources[key]``, or a ValueError naming the choices."""
        return pick(self.sources, key, self.key)

    def graph(self, key: str) -> Graph:
        for g in self.graphs:
            if g.key == key:
                return g
        raise ValueError(f"model {self.key!r} has no graph {key!r}; it has {', '.join(g.key for g in self.graphs)}")


@dataclass(frozen=True)
class Topic:
    """One tab: ``key`` is its id, the prefix of its API endpoints and of its i18n keys.

    ``tab`` names the UI module with ``build(ctx, demo, topic) -> gr.Tab`` (default
    ``tabs.<key>``): a name, because models never import the UI; app.py imports it."""

    key: str
    models: tuple[Model, ...] = ()
    tab: str = ""

    @property
    def tab_module(self) -> str:
        return self.tab or f"tabs.{self.key}"

    def model(self, key: str | None = None) -> Model:
        """The topic's model ``key`` (its only one when None)."""
        if key is None and len(self.models) == 1:
            return self.models[0]
        for m in self.models:
            if m.key == key:
                return m
        raise ValueError(f"topic {self.key!r} has no model {key!r}")


_extra: list[Topic] = []


def topics() -> list[Topic]:
    """Every topic in curriculum order: the studio's (``models.topics``), then registered ones."""
    from models.topics import STUDIO_TOPICS
    return list(STUDIO_TOPICS) + list(_extra)


def topic(key: str) -> Topic:
    for t in topics():
        if t.key == key:
            return t
    raise ValueError(f"unknown topic {key!r}; topics: {', '.join(t.key for t in topics())}")


def register(new: Topic) -> None:
    """Add a topic after the studio's own (its keys and graph keys must be new)."""
    taken = {t.key for t in topics()}
    graphs = set(bench_graphs())
    if new.key in taken:
        raise ValueError(f"topic {new.key!r} is registered already")
    clash = [g.key for m in new.models for g in m.graphs if g.key in graphs]
    if clash:
        raise ValueError(f"graph keys {clash} are registered already")
    _extra.append(new)


def unregister(key: str) -> None:
    _extra[:] = [t for t in _extra if t.key != key]


def bench_graphs() -> dict[str, tuple[Model, Graph]]:
    """Graph key -> (its model, the graph), every registered graph in registry order."""
    return {g.key: (m, g) for t in topics() for m in t.models for g in m.graphs}


def lab_graphs() -> dict[str, tuple[Model, Graph]]:
    """The graphs the Runtime lab offers (``Graph.lab``)."""
    return {k: v for k, v in bench_graphs().items() if v[1].lab}


def bench_spec(key: str, device: str = "cpu", source: str = "studio", **load_options):
    """The BenchSpec of graph ``key`` on its held-out input, its model loaded from ``source``."""
    graphs = bench_graphs()
    if key not in graphs:
        raise ValueError(f"unknown graph {key!r}; known: {', '.join(graphs)}")
    model, graph = graphs[key]
    return graph.bench(model.load(source, device=device, **load_options))
