"""Runtime lab tab: every registered graph on the chosen runtimes and precisions, one table, a
latency plot, a throughput-vs-batch curve and "why isn't it faster?" (UI only; the work is in
models/lab/)."""
from __future__ import annotations

import json
import queue
import tempfile
import threading
from pathlib import Path

import gradio as gr

from models import limits
from tabs.common import BENCH, ModelPool, StudioContext, learn_accordion, limits_note, user_errors
from tabs.i18n import lang_of, t, text

NAME = "lab"
# What each bench entry times, as a learner reads it (keys: models.lab.run.LAB_GRAPHS)
GRAPH_LABELS = {
    "cnn": "CNN · classifier",
    "gpt": "GPT · one decoding step (KV cache)",
    "attention": "ViT · classifier + attention maps",
    "attention-text": "GPT · attention over a sentence",
    "yolo": "YOLO · detector network",
    "sam-encoder": "SAM · image encoder",
    "sam-decoder": "SAM · prompt decoder",
    "clip-image": "CLIP · image tower",
    "clip-text": "CLIP · text tower",
    "diffusion": "Diffusion · UNet, one guided step",
}
RUNTIMES = [("torch.compile", "compiled"), ("ONNX Runtime", "onnxruntime"), ("TensorRT", "tensorrt")]
PRECISIONS = [("fp32", "fp32"), ("fp16 (GPU)", "fp16"), ("int8 (ONNX Runtime, dynamic)", "int8")]
BATCH_CHOICES = ["1", "8", "32"]
POLL_S = 0.25


def _spec_pool(ctx: StudioContext) -> ModelPool:
    def factory(graph: str, device: str):
        from models.lab.run import load_spec
        return load_spec(graph, device)
    return ModelPool(factory, max_items=4)    # each spec holds a loaded model: keep a few


def table_rows(lab: dict) -> tuple[list[list], list[str]]:
    """One table row per graph × runtime × precision of the latency runs, and the reasons of the
    rows that did not run as numbered notes (a reason is a sentence, not a table cell)."""
    rows, notes = [], []
    for report in lab["latency"]:
        for r in report["rows"]:
            ag = r.get("agreement") or {}
            task = ag.get("task") or {}
            status = r["status"].split(":", 1)[0]
            if status != "ok":
                notes.append(f"[{len(notes) + 1}] {report['tab']} · {r['label']} · {r['precision']}: "
                             f"{r['status'].split(':', 1)[1].strip()}")
                status = f"{status} [{len(notes)}]"
            rows.append([report["tab"], r["label"], r["precision"], status, _f(r["p50_ms"]), _f(r["p90_ms"]),
                         _f(r["p99_ms"]), f"{r['speedup']:.2f}×" if r.get("speedup") else "—",
                         _f(ag.get("max_abs"), "{:.2e}"), _f(ag.get("cosine"), "{:.6f}"),
                         f"{task['name']}: {task.get('display') or format(task['value'], '.3f')}" if task else "—"])
    return rows, notes


def _f(v, pattern: str = "{:.3f}") -> str:
    return "—" if v is None else pattern.format(v)


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
        out.append(f"- {e['text']}")
    return "\n".join(out)


def build(ctx: StudioContext, demo: gr.Blocks) -> gr.Tab:
    pool = _spec_pool(ctx)
    # session -> the stop flag of its running lab. Stop sets the flag rather than cancelling the
    # request: the worker ends after its current step and the learner keeps the rows measured so far.
    running: dict[str, threading.Event] = {}
    headers = ["graph", "runtime", "precision", "status", "p50 ms", "p90 ms", "p99 ms", "speed-up",
               "max abs err", "cosine", "task agreement"]

    @user_errors
    def run(graphs, runtimes, precisions, batches, runs, warmup, request: gr.Request, progress=gr.Progress()):
        """Run the lab; streams the table as each bench finishes, then the plots and explanations."""
        from models.lab.pictures import latency_plot, throughput_plot
        from models.lab.run import check_settings, run_lab
        lang = lang_of(request)
        graphs, runtimes, precisions = list(graphs or []), list(runtimes or []), list(precisions or [])
        try:
            sizes = sorted({int(b) for b in (batches or ["1"])})
        except (TypeError, ValueError):
            raise gr.Error(text("lab.bad_batch", lang), print_exception=False) from None
        check_settings(graphs, ["eager"] + runtimes, precisions, sizes, int(runs), int(warmup))
        device = ctx.torch_device()
        updates: queue.Queue = queue.Queue()
        stop = threading.Event()
        session = getattr(request, "session_hash", None) or "anonymous"
        running[session] = stop
        box: dict = {}

        def work():
            try:
                box["lab"] = run_lab(graphs, ["eager"] + runtimes, precisions, sizes, runs=int(runs),
                                     warmup=int(warmup), device=device, cache_dir=ctx.cache_dir,
                                     progress=lambda f, m: updates.put(("progress", f, m)),
                                     should_stop=stop.is_set, spec_loader=lambda g, d: pool.get(g, d),
                                     on_report=lambda lab: updates.put(("rows", table_rows(lab)[0], None)))
            except Exception as exc:  # noqa: BLE001 — re-raised in the request's thread below
                box["error"] = exc
            finally:
                updates.put(("done", None, None))

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
                    yield (gr.update(value=a, headers=headers), f"⏳ {message}", gr.update(), gr.update(),
                           gr.update(), gr.update())
                else:
                    break
        finally:        # a closed generator (the page went away) stops the worker too
            stop.set()
            running.pop(session, None)
        worker.join()
        if "error" in box:
            raise box["error"]
        lab = box["lab"]
        report_path = Path(tempfile.mkdtemp(prefix="studio-lab-")) / "runtime_lab.json"
        report_path.write_text(json.dumps(lab, indent=2) + "\n", encoding="utf-8")
        rows, notes = table_rows(lab)
        done = text("lab.stopped" if lab["stopped"] else "lab.done", lang,
                    n=sum(len(r["rows"]) for r in lab["latency"]), graphs=len(lab["latency"]))
        done += "".join(f"\n\n{n}" for n in notes)
        if lab["errors"]:
            done += "\n\n" + "\n".join(f"⚠️ {k}: {v}" for k, v in lab["errors"].items())
        yield (gr.update(value=rows, headers=headers), done, latency_plot(lab), throughput_plot(lab),
               explanations_md(lab, lang), str(report_path))

    def stop_lab(request: gr.Request):
        lang = lang_of(request)
        flag = running.get(getattr(request, "session_hash", None) or "anonymous")
        if flag is None:
            return text("lab.nothing_to_stop", lang)
        flag.set()
        return "⏹️ " + text("lab.stopping", lang)

    # ------------------------------------------------------------------ layout
    with gr.Tab(t("lab.tab"), id=NAME) as tab:
        gr.Markdown(t("lab.intro"))
        limits_note("lab")
        with gr.Row():
            graphs = gr.CheckboxGroup([(label, key) for key, label in GRAPH_LABELS.items()], value=["cnn"],
                                      label=t("lab.graphs"), scale=3, elem_id="lab-graphs")
            with gr.Column(scale=2):
                runtimes = gr.CheckboxGroup(RUNTIMES, value=["onnxruntime"], label=t("lab.runtimes"),
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
        table = gr.Dataframe(headers=headers, label=t("lab.table"), interactive=False, wrap=True, elem_id="lab-table")
        latency = gr.Image(label=t("lab.latency_plot"), interactive=False, elem_id="lab-latency")
        throughput = gr.Image(label=t("lab.throughput_plot"), interactive=False, elem_id="lab-throughput")
        with gr.Accordion(t("lab.why"), open=True):
            why = gr.Markdown(elem_id="lab-why")
        report = gr.File(label=t("lab.report"), interactive=False, elem_id="lab-report")
        learn_accordion("lab.learn")

        run_btn.click(run, [graphs, runtimes, precisions, batches, runs, warmup],
                              [table, status, latency, throughput, why, report], api_name="run_lab",
                              concurrency_id=BENCH, concurrency_limit=1)
        stop_btn.click(stop_lab, None, status, queue=False, api_visibility="private")
    return tab
