"""Runtime lab tab: every registered graph on the chosen runtimes and precisions, one table, a
latency plot, a throughput-vs-batch curve and "why isn't it faster?" (UI only; the work is in
models/lab/). Its graph list is the topic registry's (``models.registry.lab_graphs``)."""
from __future__ import annotations

import json
import queue
import tempfile
import threading
from pathlib import Path

import gradio as gr

from models import limits
from models.registry import Topic
from models.runtimes import REFERENCE, RUNTIMES
from tabs.errors import user_errors
from tabs.i18n import lang_of, t, text
from tabs.kit import (BENCH_QUEUE, PRIVATE, BoundedCache, StopFlags, StudioContext, api, bind, empty_table,
                      graph_label, header, learn_accordion)

PRECISIONS = [("fp32", "fp32"), ("fp16 (GPU)", "fp16"), ("int8 (ONNX Runtime, dynamic)", "int8")]
BATCH_CHOICES = ["1", "8", "32"]
POLL_S = 0.25
SPECS_KEPT = 4        # bench specs kept between runs, by (graph, device): each holds a loaded model

def table_view(lab: dict, lang: str):
    """The latency table (every graph × runtime × precision) and its notes (reasons of rows that
    did not run), from the one report-to-table builder."""
    from models.report_table import report_table
    table = report_table(lab["latency"], graph_column=True)
    words = {"graph": text("lab.col_graph", lang), "runtime": text("common.col_runtime", lang),
             "status": text("common.col_status", lang), "speedup": text("lab.col_speedup", lang),
             "task": text("common.col_task", lang)}
    return gr.update(value=table.rows, headers=table.header(words)), table.notes


def explanations_md(lab: dict, lang: str) -> str:
    if not lab.get("explanations"):
        return ""
    titles = {k: text(f"lab.topic_{k.replace('-', '_')}", lang)
              for k in ("warm-up", "batch", "precision", "copies", "threads", "unavailable")}
    out, last = [], None
    for e in lab["explanations"]:
        if e["topic"] != last:
            out.append(f"\n**{titles[e['topic']]}**\n")
            last = e["topic"]
        # older reports (before the templates) carry only the English text
        line = text(f"lab.why.{e['key']}", lang, **e["values"]) if "key" in e else e["text"]
        out.append(f"- {line}")
    return "\n".join(out)


# ---------------------------------------------------------------------------- callbacks
@user_errors
def run_lab(ctx: StudioContext, specs: BoundedCache, stops: StopFlags, graphs, runtimes, precisions, batches, runs,
            warmup, request: gr.Request, progress=gr.Progress()):
    """Run the lab; streams the table as each bench finishes, then the plots and explanations."""
    from models.lab.pictures import latency_plot, throughput_plot
    from models.lab.run import check_settings, run_lab as lab_run
    from models.registry import bench_spec
    lang = lang_of(request)
    graphs, runtimes, precisions = list(graphs or []), [REFERENCE, *(runtimes or [])], list(precisions or [])
    try:
        sizes = sorted({int(b) for b in (batches or ["1"])})
    except (TypeError, ValueError):
        raise gr.Error(text("lab.bad_batch", lang), print_exception=False) from None
    check_settings(graphs, runtimes, precisions, sizes, int(runs), int(warmup))
    device = ctx.torch_device()
    updates: queue.Queue = queue.Queue()
    flag, box = stops.arm(request), {}

    def work():
        try:
            box["lab"] = lab_run(graphs, runtimes, precisions, sizes, runs=int(runs), warmup=int(warmup), device=device,
                                 cache_dir=ctx.cache_dir, progress=lambda f, m: updates.put(("progress", f, m)),
                                 should_stop=flag.is_set,
                                 spec_loader=lambda g, d: specs.get((g, d), lambda: bench_spec(g, d)),
                                 on_report=lambda lab: updates.put(("rows", lab, None)))
        except Exception as exc:  # noqa: BLE001 — re-raised in the request's thread below
            box["error"] = exc
        finally:
            updates.put(("done", None, None))

    # Stop sets the flag rather than cancelling the request: the worker ends after its current
    # step and the learner keeps the rows measured so far.
    worker = threading.Thread(target=work, name="runtime-lab", daemon=True)
    worker.start()
    message = text("lab.starting", lang)
    try:
        while True:
            try:
                kind, a, b = updates.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if kind == "progress":
                progress(a, desc=b)
                message = b
            elif kind == "rows":
                yield table_view(a, lang)[0], f"⏳ {message}", gr.update(), gr.update(), gr.update(), gr.update()
            else:
                break
    finally:        # a closed generator (the page went away) stops the worker too
        stops.done(request, flag)
    worker.join()
    if "error" in box:
        raise box["error"]
    lab = box["lab"]
    report_path = Path(tempfile.mkdtemp(prefix="studio-lab-")) / "runtime_lab.json"
    report_path.write_text(json.dumps(lab, indent=2) + "\n", encoding="utf-8")
    table, notes = table_view(lab, lang)
    done = text("lab.stopped" if lab["stopped"] else "lab.done", lang,
                n=sum(len(r["rows"]) for r in lab["latency"]), graphs=len(lab["latency"]))
    done += "".join(f"\n\n{n}" for n in notes)
    if lab["errors"]:
        done += "\n\n" + "\n".join(f"⚠️ {k}: {v}" for k, v in lab["errors"].items())
    yield (table, done, latency_plot(lab), throughput_plot(lab), explanations_md(lab, lang), str(report_path))


def stop_lab(stops: StopFlags, request: gr.Request):
    lang = lang_of(request)
    if not stops.stop(request):
        return text("lab.nothing_to_stop", lang)
    return "⏹️ " + text("lab.stopping", lang)


# ---------------------------------------------------------------------------- layout and wiring
def build(ctx: StudioContext, demo: gr.Blocks, topic: Topic) -> gr.Tab:
    from models.registry import lab_graphs
    specs, stops = BoundedCache(SPECS_KEPT), StopFlags()
    with gr.Tab(t("lab.tab"), id=topic.key) as tab:
        header(topic.key)
        with gr.Row():
            graphs = gr.CheckboxGroup([(graph_label(g), key) for key, (_, g) in lab_graphs().items()], value=["cnn"],
                                      label=t("lab.graphs"), scale=3, elem_id="lab-graphs")
            with gr.Column(scale=2):
                runtimes = gr.CheckboxGroup([(label, name) for name, label in RUNTIMES.items() if name != REFERENCE],
                                            value=["onnxruntime"], label=t("lab.runtimes"),
                                            info=t("lab.runtimes_info"), elem_id="lab-runtimes")
                precisions = gr.CheckboxGroup(PRECISIONS, value=["fp32", "int8"], label=t("lab.precisions"),
                                              info=t("lab.precisions_info"), elem_id="lab-precisions")
        with gr.Row():
            batches = gr.CheckboxGroup(BATCH_CHOICES, value=["1", "8"], label=t("lab.batches"),
                                       info=t("lab.batches_info"), elem_id="lab-batches")
            runs = gr.Slider(3, limits.LAB_MAX_RUNS, value=20, step=1, label=t("lab.runs"))
            warmup = gr.Slider(0, 20, value=3, step=1, label=t("lab.warmup"))
        with gr.Row():
            run_btn = gr.Button(t("lab.run"), variant="primary", elem_id="lab-run")
            stop_btn = gr.Button(t("lab.stop"), variant="stop", elem_id="lab-stop")
        status = gr.Markdown(elem_id="lab-status")
        table = gr.Dataframe(headers=empty_table(graph_column=True), label=t("lab.table"), interactive=False, wrap=True,
                             elem_id="lab-table")
        latency = gr.Image(label=t("lab.latency_plot"), interactive=False, elem_id="lab-latency")
        throughput = gr.Image(label=t("lab.throughput_plot"), interactive=False, elem_id="lab-throughput")
        with gr.Accordion(t("lab.why"), open=True):
            why = gr.Markdown(elem_id="lab-why")
        report = gr.File(label=t("lab.report"), interactive=False, elem_id="lab-report")
        learn_accordion("lab.learn")

        run_btn.click(bind(run_lab, ctx, specs, stops), [graphs, runtimes, precisions, batches, runs, warmup],
                      [table, status, latency, throughput, why, report], **api(topic.key, "run"), **BENCH_QUEUE)
        stop_btn.click(bind(stop_lab, stops), None, status, queue=False, **PRIVATE)
    return tab
