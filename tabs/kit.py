"""The tab kit: the skeleton every topic's tab shares, so that a tab module holds its own views only.

A tab module (``tabs/<topic>.py``) has

- module-level callbacks: plain functions a test can import and call, wrapped in
  ``tabs.errors.user_errors``; their first parameters are what ``build`` binds (a ``ModelSlot``);
- ``build(ctx, demo, topic) -> gr.Tab``: layout and wiring only.

The kit gives it the parts every tab has: the app's settings (``StudioContext``), a model slot
per model picker (``ModelSlot``: loaded predictors, preload, first-visit load with progress, the
✅ / ⚠️ status line), the source and runtime pickers, the A/B panel and its callback
(``ab_panel`` / ``compare``), the header (intro and limits) and the Learn accordion, the queues,
and the public API's endpoint names (``api``: every name says its topic).
"""
from __future__ import annotations

import functools
import inspect
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import gradio as gr

from models.registry import Graph, Model
from models.runtimes import REFERENCE, RUNTIMES
from tabs.errors import load_failed, progress_adapter
from tabs.i18n import STRINGS, t, text

# ---------------------------------------------------------------------------- queues and names
# Each tab's model work has its own queue, one job at a time (heavy_queue): a 1,000-step diffusion
# run holds up the next diffusion run, not a CNN click in another tab. Benchmarks (A/B panels, the
# Runtime lab) share one queue in the whole studio: they time the machine, two at once would time
# each other.
HEAVY = "heavy"
BENCH = "bench"
BENCH_QUEUE = dict(concurrency_id=BENCH, concurrency_limit=1)
PRIVATE = dict(api_visibility="private")     # a UI-only listener (a repeat of a public action, a toggle)
AB_WARMUP = 3     # untimed runs before an A/B is timed, every tab: first-call work is never timed


def heavy_queue(topic: str) -> dict:
    """Event keyword arguments that put a tab's model work in its own one-at-a-time queue."""
    return dict(concurrency_id=f"{HEAVY}-{topic}", concurrency_limit=1)


def api(topic: str, action: str) -> dict:
    """A public endpoint's name, ``<topic>_<action>`` (``/cnn_classify``): it says which tab answers."""
    return dict(api_name=f"{topic}_{action}")


def bind(fn: Callable, *first: Any) -> Callable:
    """``fn`` with its first parameters filled with ``first`` (a slot, a flag store): a real
    function whose signature and type hints gradio reads (it finds gr.Request and gr.Progress
    there), a generator function when ``fn`` is one. functools.partial hides both from gradio."""
    signature = inspect.signature(fn)
    rest = list(signature.parameters.values())[len(first):]
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def bound(*args, **kwargs):
            yield from fn(*first, *args, **kwargs)
    else:
        @functools.wraps(fn)
        def bound(*args, **kwargs):
            return fn(*first, *args, **kwargs)
    bound.__signature__ = signature.replace(parameters=rest)
    return bound


# ---------------------------------------------------------------------------- the app's settings
_TORCH_LOCK = threading.Lock()
# Held while app.py warms a tab's imports and while a model is built. Two threads importing the
# same packages at once (a first request arriving during warm-up) can deadlock on torchvision's
# circular imports ("partially initialized module 'torchvision.ops'"): one at a time instead.
IMPORT_LOCK = threading.RLock()


@dataclass
class StudioContext:
    """Settings every tab receives from app.py."""
    device: str = "auto"                   # "auto" = cuda when torch sees a GPU, else cpu
    backend: str = "eager"                 # the runtime tabs start on
    threads: int | None = None             # torch / ONNX Runtime CPU threads (None = torch's default)
    cache_dir: Path | None = None          # ONNX files / engines (None = models.backends default)
    preload: bool = False                  # load models at start instead of on first use
    checkpoint_root: Path | None = None    # studio checkpoints (None = assets/checkpoints)
    _torch_ready: bool = field(default=False, repr=False)

    def torch_device(self) -> str:
        """Import and set up torch on first use (threads, then "auto" → a device) and return the
        device. Start-up stays free of torch's ~2 s import; the first model load pays it."""
        with _TORCH_LOCK:
            if not self._torch_ready:
                import torch
                if self.threads:
                    torch.set_num_threads(self.threads)
                if self.device == "auto":
                    self.device = "cuda" if torch.cuda.is_available() else "cpu"
                self._torch_ready = True
        return self.device


class StopFlags:
    """One Stop flag per browser session: a Stop button sets it, the running work (a generation,
    a lab) checks it between steps and ends there, keeping what it has done."""

    def __init__(self):
        self._flags: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    @staticmethod
    def session(request) -> str:
        return getattr(request, "session_hash", None) or "api"

    def arm(self, request) -> threading.Event:
        """A fresh flag for this request's session (a new run)."""
        with self._lock:
            flag = self._flags[self.session(request)] = threading.Event()
            if len(self._flags) > 1000:   # forget long-gone sessions
                for key in list(self._flags)[:500]:
                    self._flags.pop(key, None)
        return flag

    def stop(self, request) -> bool:
        """Set this session's flag; False when it has nothing running."""
        with self._lock:
            flag = self._flags.get(self.session(request))
        if flag is None or flag.is_set():
            return False
        flag.set()
        return True

    def done(self, request, flag: threading.Event) -> None:
        """The run that armed ``flag`` ended: Stop has nothing to stop until the next one."""
        flag.set()
        with self._lock:
            if self._flags.get(self.session(request)) is flag:
                del self._flags[self.session(request)]


# ---------------------------------------------------------------------------- model slots
class BoundedCache:
    """A small thread-safe LRU of loaded things (predictors, bench specs): a public server's memory
    stays bounded. ``get(key, make)`` builds with ``make()`` on first use, outside the lock and one
    build at a time (``IMPORT_LOCK``), and drops the least recently used beyond ``max_items``."""

    def __init__(self, max_items: int):
        self.max_items = max_items
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key) -> bool:
        return key in self._items

    def get(self, key, make: Callable[[], Any]):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        with IMPORT_LOCK:
            item = make()
        with self._lock:
            self._items[key] = item
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return item


class ModelSlot:
    """One model picker's loaded predictors: a small thread-safe LRU (a public server's memory
    stays bounded), keyed by (source, weights path).

    ``status_key`` is the tab's i18n text for a loaded model; it formats ``label`` and the keys of
    the predictor's ``describe()``. ``preload``: load the studio model at start under ``--preload``
    (False for a helper model a tab loads only on demand, such as the CNN behind a Grad-CAM)."""

    def __init__(self, ctx: StudioContext, model: Model, status_key: str, max_items: int = 2, preload: bool = True):
        self.ctx, self.model, self.status_key = ctx, model, status_key
        self._loaded = BoundedCache(max_items)
        if ctx.preload and preload:
            self.get("studio")

    def get(self, source: str, weights_path: str | None = "", progress=None, lang: str = "en"):
        """The predictor for ``source`` (and a typed weights path), loaded on first use with a
        progress message so that a first load never looks like a hang. ValueError for an unknown
        source; whatever the predictor raises when its weights cannot load."""
        src = self.model.source(source)
        path = (weights_path or "").strip()
        if progress is not None and (source, path) not in self._loaded:
            progress(0.05, desc=text("common.loading", lang, what=src.label))
        return self._loaded.get((source, path), lambda: self.model.load(
            source, device=self.ctx.torch_device(), weights_path=path or None,
            checkpoint_root=self.ctx.checkpoint_root, cache_dir=self.ctx.cache_dir))

    def status(self, source: str, weights_path: str | None, progress=None, lang: str = "en") -> tuple[Any, str]:
        """(predictor, "✅ <its facts>") or, when it cannot load, (None, "⚠️ <label> cannot be used
        here: <why>"): a missing model is a status line, not a crash."""
        label = self.model.source(source).label
        try:
            p = self.get(source, weights_path, progress, lang)
        except Exception as e:  # noqa: BLE001 — anything but a load failure is a bug: raised
            if not load_failed(e):
                raise
            return None, "⚠️ " + text("common.source_missing", lang, label=label, why=str(e))
        return p, "✅ " + text(self.status_key, lang, label=label, **p.describe())


# ---------------------------------------------------------------------------- pickers
def source_picker(model: Model, **kwargs) -> gr.Dropdown:
    """The model picker: the model's sources, the studio checkpoint first."""
    return gr.Dropdown([(s.label, k) for k, s in model.sources.items()], value="studio", label=t("common.source"),
                       **kwargs)


def weights_path_box(picker: gr.Dropdown, label_key: str, placeholder: str):
    """The typed weights path, shown for pretrained sources only and cleared for the studio one.
    Returns (the textbox, the picker's change event): chain what the new source needs on
    ``event.then`` so that it reads the path after this update."""
    box = gr.Textbox(label=t(label_key), placeholder=placeholder, max_lines=1, visible=False)
    event = picker.change(_path_for_source, picker, box, queue=False, **PRIVATE)
    return box, event


def _path_for_source(source: str):
    return gr.update(visible=True) if source != "studio" else gr.update(visible=False, value="")


def runtime_picker(ctx: StudioContext, **kwargs) -> gr.Dropdown:
    """Every runtime by name (availability is filled in on the first visit: ``live_runtimes``)."""
    return gr.Dropdown([(label, name) for name, label in RUNTIMES.items()], value=ctx.backend,
                       label=t("common.runtime"), info=t("common.runtime_info"), interactive=True, **kwargs)


def live_runtimes(ctx: StudioContext):
    """The runtime choices with their availability here: unavailable ones say why in the label."""
    from models.backends import availability_table
    return gr.update(choices=[(label if ok else f"{label} — unavailable: {reason}", name)
                              for name, label, ok, reason in availability_table(ctx.torch_device())])


def show_availability(ctx: StudioContext, event, pickers: list) -> None:
    """On ``event`` (a tab's first visit), every runtime picker of the tab learns what runs here:
    an unavailable runtime keeps its place in the list with its reason (built without torch,
    the pickers list names only)."""
    def refresh():
        update = live_runtimes(ctx)
        return [update] * len(pickers)
    event(refresh, None, pickers, **PRIVATE)


# ---------------------------------------------------------------------------- page parts
def header(topic: str) -> None:
    """The tab's introduction and its limits line (tabs/i18n_limits.py, from models.limits), so
    that nobody discovers a limit through an error message."""
    gr.Markdown(t(f"{topic}.intro"))
    gr.Markdown(t(f"{topic}.limits"), elem_classes=["studio-limits"])


def examples(rows: list, inputs: list, label_key: str, **kwargs) -> gr.Examples:
    """gr.Examples whose loader stays out of the public API (a UI convenience, not an action)."""
    return gr.Examples([[r] for r in rows], inputs=inputs, label=t(label_key), api_visibility="private", **kwargs)


def learn_accordion(key: str) -> gr.Accordion:
    with gr.Accordion(t("common.learn"), open=False) as acc:
        gr.Markdown(t(key), latex_delimiters=[])
    return acc


def graph_label(graph: Graph):
    """What a learner reads for a graph: its ``graph.<key>`` translation, else the registry label."""
    return t(f"graph.{graph.key}") if f"graph.{graph.key}" in STRINGS else graph.label


# ---------------------------------------------------------------------------- A/B
@dataclass
class ABPanel:
    which: gr.Radio | None      # the graph to compare, when the tab has several
    a: gr.Dropdown
    b: gr.Dropdown
    runs: gr.Slider
    button: gr.Button
    table: gr.Dataframe
    summary: gr.Markdown

    def inputs(self) -> list:
        return [self.a, self.b, self.runs]


def ab_panel(ctx: StudioContext, graphs: list[Graph], default: str | None = None) -> ABPanel:
    """The A/B accordion: which graph (when several; ``default`` first picked), two runtimes, a
    number of runs, a table and a one-line verdict."""
    choices = [(label, name) for name, label in RUNTIMES.items()]
    with gr.Accordion(t("common.ab"), open=False):
        which = gr.Radio([(graph_label(g), g.key) for g in graphs], value=default or graphs[0].key,
                         label=t("common.ab_which")) if len(graphs) > 1 else None
        with gr.Row():
            a = gr.Dropdown(choices=choices, value=REFERENCE, label=t("common.ab_a"))
            b = gr.Dropdown(choices=choices, value="onnxruntime", label=t("common.ab_b"))
            runs = gr.Slider(5, 200, value=30, step=5, label=t("common.ab_runs"))
        button = gr.Button(t("common.ab_run"), variant="secondary")
        summary = gr.Markdown()
        table = gr.Dataframe(headers=empty_table(), label=t("common.ab_table"), interactive=False, wrap=True)
    return ABPanel(which, a, b, runs, button, table, summary)


def empty_table(graph_column: bool = False) -> list[str]:
    """The header of a bench table before anything ran (its English words: the UI's language is
    known only in a request)."""
    from models.report_table import report_table
    return report_table([], graph_column=graph_column).header()


def compare(slot: ModelSlot, graph_key: str, sample, source: str, weights_path: str | None, a: str, b: str,
            runs, lang: str, progress=None):
    """The A/B callback's work for every tab: runtimes ``a`` and ``b`` of one graph on the
    learner's ``sample`` (a picture, a prompt: what ``Graph.bench`` takes), ``AB_WARMUP`` untimed
    runs each, then ``runs`` timed; (table update, verdict)."""
    from models.bench import run_bench
    graph = slot.model.graph(graph_key)
    p = slot.get(source, weights_path, progress, lang)
    report = run_bench(graph.bench(p, sample), [a, b], runs=int(runs), warmup=AB_WARMUP,
                       device=slot.ctx.torch_device(), cache_dir=slot.ctx.cache_dir,
                       progress=progress_adapter(progress))
    return ab_view(report, a, b, lang)


def ab_view(report: dict, a: str, b: str, lang: str):
    """(the table as a gr.update, the verdict line) for runtimes ``a`` and ``b`` of a bench report."""
    from models.report_table import report_table, task_cell
    table = report_table([report], only=[a, b] if a != b else [a], baseline=a)
    words = {"runtime": text("common.col_runtime", lang), "status": text("common.col_status", lang),
             "speedup": text("common.col_speedup", lang), "task": text("common.col_task", lang)}
    update = gr.update(value=table.rows, headers=table.header(words))
    rows = {r["backend"]: r for r in report["rows"]}
    ra, rb = rows[a], rows[b]
    for name, r in ((a, ra), (b, rb)):
        if r["status"] != "ok":
            return update, text("common.ab_failed", lang, name=r.get("label", name), status=r["status"])
    speedup = ra["p50_ms"] / rb["p50_ms"]
    agreement = rb.get("agreement") or {}
    verdict = text("common.ab_summary", lang, a=ra["label"], b=rb["label"], a_p50=f"{ra['p50_ms']:.2f}",
                   b_p50=f"{rb['p50_ms']:.2f}", speedup=f"{speedup:.2f}",
                   faster=text("common.faster" if speedup >= 1 else "common.slower", lang),
                   max_abs=f"{agreement.get('max_abs', 0):.2e}", cosine=f"{agreement.get('cosine', 1):.6f}",
                   task=task_cell(agreement))
    return update, verdict
