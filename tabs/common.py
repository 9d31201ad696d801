"""Widgets and plumbing every tab shares: the runtime picker, the A/B panel, the "Learn"
accordion, a bounded model pool, and the error wrapper that turns exceptions into messages.
"""
from __future__ import annotations

import functools
import inspect
import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import gradio as gr

from tabs.i18n import lang_of, t, text

log = logging.getLogger("studio")

# Concurrency groups (see app.py). Each tab's model work has its own queue, one job at a time
# (heavy_queue): a 1,000-step diffusion run holds up the next diffusion run, not a CNN click in
# another tab. Benchmarks (A/B panels, the Runtime lab) share one queue, one at a time in the whole
# studio: they time the machine, and two at once would time each other.
HEAVY = "heavy"
BENCH = "bench"


def heavy_queue(tab: str) -> dict:
    """Event keyword arguments that put a tab's model work in its own one-at-a-time queue."""
    return dict(concurrency_id=f"{HEAVY}-{tab}", concurrency_limit=1)


# The runtimes every tab offers (models.backends.BACKENDS, whose labels a test keeps equal). Listed
# here so the UI can be built without importing torch; availability is filled in on first visit.
RUNTIME_LABELS = {"eager": "PyTorch eager", "compiled": "torch.compile", "onnxruntime": "ONNX Runtime",
                  "tensorrt": "TensorRT"}
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


class ModelPool:
    """A small thread-safe LRU of loaded predictors, owned by one tab (no module globals).

    ``get(key)`` builds with ``factory(*key)`` on first use; the least recently used model is
    dropped when more than ``max_items`` are loaded, so a public server's memory stays bounded.
    """

    def __init__(self, factory: Callable[..., Any], max_items: int = 3):
        self.factory = factory
        self.max_items = max_items
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, *key) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        with IMPORT_LOCK:                     # slow; outside the pool's lock
            item = self.factory(*key)
        with self._lock:
            self._items[key] = item
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return item

    def __contains__(self, key) -> bool:
        return key in self._items

    def load(self, key: tuple, progress=None, message: str = "") -> Any:
        """``get(*key)``, first showing ``message`` on ``progress`` (a gr.Progress) when the model
        is not loaded yet, so a first load never looks like a hang."""
        if progress is not None and key not in self:
            progress(0.05, desc=message)
        return self.get(*key)


# ---------------------------------------------------------------------------- errors
def _user_facing_errors() -> tuple[type[BaseException], ...]:
    from models.backends.base import BackendFailed, BackendUnavailable
    from models.checkpoints import CheckpointError
    return (ValueError, KeyError, CheckpointError, BackendUnavailable, BackendFailed, FileNotFoundError)


def _to_gr_error(e: BaseException, lang: str) -> gr.Error:
    if isinstance(e, gr.Error):
        return e
    if isinstance(e, _user_facing_errors()):
        msg = str(e).strip("'\"") or type(e).__name__
        return gr.Error(msg, print_exception=False)
    log.exception("unexpected error in a studio callback")
    return gr.Error(text("common.unexpected", lang, kind=type(e).__name__, msg=str(e)[:200]),
                    print_exception=False)


def user_errors(fn: Callable) -> Callable:
    """Wrap a Gradio callback: known problems become a clear gr.Error, anything else is logged
    with its traceback on the server and shown as a short message. Works for generators too.
    The user's language is read from a ``request: gr.Request`` argument when the callback has one.
    """
    def lang(kwargs) -> str:
        return lang_of(kwargs.get("request"))

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                _refuse_non_finite(args, kwargs)
                yield from fn(*args, **kwargs)
            except Exception as e:       # noqa: BLE001 — this is the one place that catches all
                raise _to_gr_error(e, lang(kwargs)) from None
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            _refuse_non_finite(args, kwargs)
            return fn(*args, **kwargs)
        except Exception as e:           # noqa: BLE001
            raise _to_gr_error(e, lang(kwargs)) from None
    return wrapper


def _refuse_non_finite(args: tuple, kwargs: dict) -> None:
    """Sliders check their range, but NaN passes every comparison: a script can send NaN or inf
    as JSON. No callback takes them, so they are refused here, once, with a message."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"a number is {value}: every slider and number field needs a finite value "
                             "within its range")


def missing_model(e: Exception, label: str, lang: str) -> str:
    """The status line for a model that cannot load (missing pretrained weights, a bad path);
    anything else is a real bug and is raised for user_errors to report."""
    from models.checkpoints import CheckpointError
    if not isinstance(e, (CheckpointError, ValueError, RuntimeError)):
        raise e
    return "⚠️ " + text("common.source_missing", lang, label=label, why=str(e))


def progress_adapter(progress: gr.Progress | None) -> Callable[[float, str], None] | None:
    """Adapt gr.Progress to the backends' progress(fraction, message) callback."""
    if progress is None:
        return None
    return lambda fraction, message: progress(fraction, desc=message)


# ---------------------------------------------------------------------------- widgets
def static_runtime_choices() -> list[tuple[str, str]]:
    """(label, value) per runtime before anything was checked (build time)."""
    return [(label, name) for name, label in RUNTIME_LABELS.items()]


def runtime_choices(device: str) -> list[tuple[str, str]]:
    """(label, value) per runtime; unavailable ones carry their reason in the label."""
    from models.backends import availability_table
    choices = []
    for name, label, ok, reason in availability_table(device):
        choices.append((label if ok else f"{label} — unavailable: {reason}", name))
    return choices


def runtime_picker(ctx: StudioContext, choices: list[tuple[str, str]]) -> gr.Dropdown:
    return gr.Dropdown(choices=choices, value=ctx.backend, label=t("common.runtime"),
                       info=t("common.runtime_info"), interactive=True)


def limits_note(tab: str) -> gr.Markdown:
    """The tab's limits as one small line (tabs/i18n_limits.py, from models.limits), so that
    nobody discovers them through an error message."""
    return gr.Markdown(t(f"{tab}.limits"), elem_classes=["studio-limits"])


def learn_accordion(key: str) -> gr.Accordion:
    with gr.Accordion(t("common.learn"), open=False) as acc:
        gr.Markdown(t(key), latex_delimiters=[])
    return acc


@dataclass
class ABPanel:
    a: gr.Dropdown
    b: gr.Dropdown
    runs: gr.Slider
    button: gr.Button
    table: gr.Dataframe
    summary: gr.Markdown


def ab_panel(ctx: StudioContext, choices: list[tuple[str, str]]) -> ABPanel:
    """The A/B accordion: two runtimes, a number of runs, a table and a one-line verdict."""
    second = next((v for _, v in choices if v == "onnxruntime"), choices[-1][1])
    with gr.Accordion(t("common.ab"), open=False):
        with gr.Row():
            a = gr.Dropdown(choices=choices, value="eager", label=t("common.ab_a"))
            b = gr.Dropdown(choices=choices, value=second, label=t("common.ab_b"))
            runs = gr.Slider(5, 200, value=30, step=5, label=t("common.ab_runs"))
        button = gr.Button(t("common.ab_run"), variant="secondary")
        summary = gr.Markdown()
        table = gr.Dataframe(label=t("common.ab_table"), interactive=False, wrap=True)
    return ABPanel(a, b, runs, button, table, summary)


def ab_result(report: dict, a: str, b: str, lang: str) -> tuple[list[list], list[str], str]:
    """Rows, headers and a verdict for the A/B table from a models.bench report."""
    rows_by_name = {r["backend"]: r for r in report["rows"]}
    ra, rb = rows_by_name.get(a), rows_by_name.get(b)
    columns = report.get("columns", [])   # a tab's own measurements (GPT: TTFT, tokens/s)
    headers = [text("common.col_runtime", lang), text("common.col_status", lang), "p50 ms", "p90 ms", "p99 ms",
               text("common.col_speedup", lang), "max abs err", "cosine", text("common.col_task", lang)]
    headers += [title for _, title, _ in columns]
    table = []
    names = [a] + ([b] if b != a else [])
    for name in names:
        r = rows_by_name[name]
        ok = r["status"] == "ok"
        speed = (ra["p50_ms"] / r["p50_ms"]) if ok and ra and ra["status"] == "ok" and r["p50_ms"] else None
        ag = r.get("agreement") or {}
        task = ag.get("task") or {}
        table.append([r.get("label", name), r["status"],
                      _fmt(r.get("p50_ms")), _fmt(r.get("p90_ms")), _fmt(r.get("p99_ms")),
                      f"{speed:.2f}×" if speed else "—", _fmt(ag.get("max_abs"), "{:.2e}"),
                      _fmt(ag.get("cosine"), "{:.6f}"),
                      _task_text(task)] +
                     [_fmt((r.get("metrics") or {}).get(key), "{:" + spec + "}") for key, _, spec in columns])
    for name, r in ((a, ra), (b, rb)):
        if r["status"] != "ok":
            return table, headers, text("common.ab_failed", lang, name=r.get("label", name), status=r["status"])
    speedup = ra["p50_ms"] / rb["p50_ms"]
    ag = rb.get("agreement") or {}
    task = ag.get("task") or {}
    verdict = text("common.ab_summary", lang, a=ra.get("label", a), b=rb.get("label", b),
                   a_p50=_fmt(ra["p50_ms"]), b_p50=_fmt(rb["p50_ms"]), speedup=f"{speedup:.2f}",
                   faster=text("common.faster" if speedup >= 1 else "common.slower", lang),
                   max_abs=_fmt(ag.get("max_abs"), "{:.2e}"), cosine=_fmt(ag.get("cosine"), "{:.6f}"),
                   task_name=task.get("name", "task"),
                   task_value=task.get("display") or _fmt(task.get("value"), "{:.3f}"))
    return table, headers, verdict


def _task_text(task: dict) -> str:
    if not task.get("name"):
        return "—"
    return f"{task['name']}: {task.get('display') or format(task.get('value'), '.3f')}"


def _fmt(v, pattern: str = "{:.2f}") -> str:
    return "—" if v is None else pattern.format(v)


class SafeImage(gr.Image):
    """gr.Image whose upload decoding failures become a clear message instead of a PIL error.

    A file named .png that is not one (or a truncated JPEG) passes the browser's type check and
    fails inside gr.Image.preprocess; we catch it there. The frontend is the stock image widget.
    """

    def get_block_name(self) -> str:
        return "image"

    def preprocess(self, payload):
        from models.images import MAX_UPLOAD_BYTES
        path = getattr(payload, "path", None)
        if path and Path(path).is_file() and Path(path).stat().st_size > MAX_UPLOAD_BYTES:
            raise gr.Error(f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MB: upload a smaller image.",
                           print_exception=False)
        try:
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Exception as e:  # noqa: BLE001 — PIL raises many types for a bad file
            name = getattr(payload, "orig_name", None) or "The file"
            raise gr.Error(f"{name} is not an image we can read ({type(e).__name__}): upload a PNG, JPEG, "
                           "WebP or BMP picture.", print_exception=False) from None


class SafeNumber(gr.Number):
    """gr.Number that refuses NaN and infinity with a clear message. A script can send them as
    JSON; the stock component fails inside its own rounding with a long internal message."""

    def get_block_name(self) -> str:
        return "number"

    def preprocess(self, payload):
        if isinstance(payload, float) and not math.isfinite(payload):
            raise gr.Error(f"{payload} is not a number this field takes: send a finite whole number between "
                           f"{self.minimum} and {self.maximum}.", print_exception=False)
        return super().preprocess(payload)
