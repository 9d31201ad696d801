"""YOLO tab: detection with ultralytics, the thresholds, and what NMS removes.

UI only. The work: models/yolo/predictor.py (ultralytics' predictor and exporter behind the
studio's runtime names), models/yolo/bench.py (A/B and CLI rows).
"""
from __future__ import annotations

import gradio as gr
import numpy as np

from tabs.common import (BENCH, ModelPool, SafeImage, StudioContext, ab_panel, ab_result, heavy_queue, learn_accordion,
                         limits_note, missing_model, progress_adapter, runtime_choices, runtime_picker,
                         static_runtime_choices, user_errors)
from tabs.i18n import lang_of, t, text

NAME = "yolo"
SCENE_PX = 256


def warm(ctx: StudioContext) -> None:
    """Import what the first visit needs (torch, ultralytics, set up offline); no weights."""
    ctx.torch_device()
    import models.yolo.predictor  # noqa: F401


def random_scene(seed: int | None = None) -> np.ndarray:
    """A held-out ShapeWorld scene (colour-shape pairs the studio model never saw)."""
    from models.shapeworld import make_scene
    seed = int(np.random.default_rng(seed).integers(1 << 30))
    return make_scene(seed, 0, split="heldout", image_size=SCENE_PX, min_objects=3, max_objects=5).image


def example_paths() -> list[str]:
    """ultralytics' bundled bus.jpg / zidane.jpg (found without importing it: start-up stays
    torch-free) and the studio's photos."""
    import importlib.util
    from pathlib import Path

    from models.examples import photo_example_paths
    spec = importlib.util.find_spec("ultralytics")
    assets = Path(spec.submodule_search_locations[0]) / "assets" if spec else Path("/nonexistent")
    return [str(assets / n) for n in ("bus.jpg", "zidane.jpg") if (assets / n).is_file()] + \
        [str(p) for p in photo_example_paths()]


def build(ctx: StudioContext, demo: gr.Blocks) -> gr.Tab:
    from models.shapeworld import SHAPES
    from models.yolo.sources import YOLO_SOURCES

    def make_yolo(source_key: str, path: str):
        from models.yolo.predictor import YoloPredictor
        return YoloPredictor(source_key, device=ctx.torch_device(), weights_path=path or None,
                             checkpoint_root=ctx.checkpoint_root, cache_dir=ctx.cache_dir)

    yolos = ModelPool(make_yolo, 2)
    if ctx.preload:
        yolos.get("studio", "")
    choices = static_runtime_choices()

    def yolo(source_key, path, progress=None, lang="en"):
        return yolos.load((source_key, (path or "").strip()), progress,
                          text("common.loading", lang, what=YOLO_SOURCES[source_key].label))

    @user_errors
    def describe(source_key, path, request: gr.Request, progress=gr.Progress()):
        lang = lang_of(request)
        live = gr.update(choices=runtime_choices(ctx.torch_device()))
        try:
            p = yolo(source_key, path, progress, lang)
        except Exception as e:  # noqa: BLE001 — a missing model is a status line, not a crash
            return missing_model(e, YOLO_SOURCES[source_key].label, lang), gr.update(), live, live, live
        status = "✅ " + text("yolo.model_ok", lang, label=YOLO_SOURCES[source_key].label,
                             params=f"{p.num_parameters():,}",
                             classes=len(p.names), size=p.imgsz)
        return status, gr.update(choices=list(p.names.values()), value=[]), live, live, live

    @user_errors
    def detect(image, conf, iou, wanted, source_key, path, runtime, request: gr.Request, progress=gr.Progress()):
        lang = lang_of(request)
        if image is None:
            raise gr.Error(text("yolo.no_image", lang), print_exception=False)
        try:
            p = yolo(source_key, path, progress, lang)
        except Exception as e:  # noqa: BLE001
            return None, None, missing_model(e, YOLO_SOURCES[source_key].label, lang), None, None, ""
        progress(0.3, desc=text("common.building", lang, name=runtime))
        ids = [i for i, n in p.names.items() if n in (wanted or [])] or None
        after = p.detect(image, runtime, conf=float(conf), iou=float(iou), classes=ids)
        before = p.candidates(image, runtime, conf=float(conf), classes=ids)
        s = after.speed
        status = text("yolo.ran", lang, n=len(after.boxes), conf=f"{float(conf):.2f}", runtime=runtime, pre=f"{s['preprocess']:.1f}",
                      inf=f"{s['inference']:.1f}", post=f"{s['postprocess']:.1f}")
        headers = [text("yolo.col_class", lang), text("yolo.col_score", lang), "x1", "y1", "x2", "y2"]
        note = text("yolo.nms_note", lang, before=len(before.boxes), after=len(after.boxes), iou=f"{float(iou):.2f}")
        return (after.plotted, gr.update(value=after.rows(), headers=headers), status, before.plotted,
                after.plotted, note)

    @user_errors
    def run_ab(image, source_key, path, a, b, runs, request: gr.Request, progress=gr.Progress()):
        from models.bench import run_bench
        from models.yolo.bench import spec_for
        lang = lang_of(request)
        if image is None:
            raise gr.Error(text("yolo.no_image", lang), print_exception=False)
        p = yolo(source_key, path, progress, lang)
        report = run_bench(spec_for(p, image), [a, b], runs=int(runs), warmup=2, device=ctx.torch_device(),
                           cache_dir=ctx.cache_dir, progress=progress_adapter(progress))
        rows, headers, verdict = ab_result(report, a, b, lang)
        return gr.update(value=rows, headers=headers), verdict

    with gr.Tab(t("yolo.tab"), id=NAME) as tab:
        gr.Markdown(t("yolo.intro"))
        limits_note("yolo")
        with gr.Row():
            source = gr.Dropdown([(s.label, k) for k, s in YOLO_SOURCES.items()], value="studio",
                                 label=t("common.source"), scale=2)
            runtime = runtime_picker(ctx, choices)
        weights_path = gr.Textbox(label=t("yolo.weights_path"), max_lines=1, visible=False,
                                  placeholder="~/models/yolo11n.pt")
        status = gr.Markdown(elem_id="yolo-status")
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                image = SafeImage(label=t("yolo.image"), type="numpy", sources=["upload", "clipboard"], height=300,
                                  image_mode="RGB", value=random_scene(0))
                random_btn = gr.Button(t("yolo.random"), size="sm")
                gr.Examples([[p] for p in example_paths()], inputs=[image], label=t("yolo.examples"))
            with gr.Column(scale=1, min_width=300):
                conf = gr.Slider(0.05, 0.95, value=0.25, step=0.05, label=t("yolo.conf"), elem_id="yolo-conf")
                iou = gr.Slider(0.1, 1.0, value=0.7, step=0.05, label=t("yolo.iou"), elem_id="yolo-iou")
                wanted = gr.CheckboxGroup(list(SHAPES), value=[], label=t("yolo.classes"))
                detect_btn = gr.Button(t("yolo.detect"), variant="primary")
                run_status = gr.Markdown(elem_id="yolo-run-status")
        with gr.Row():
            result = gr.Image(label=t("yolo.result"), interactive=False, elem_id="yolo-result")
            table = gr.Dataframe(label=t("yolo.table"), interactive=False, wrap=True, elem_id="yolo-table")
        with gr.Accordion(t("yolo.nms_title"), open=True):
            nms_note = gr.Markdown(elem_id="yolo-nms-note")
            with gr.Row():
                before_view = gr.Image(label=t("yolo.before"), interactive=False, elem_id="yolo-before")
                after_view = gr.Image(label=t("yolo.after"), interactive=False, elem_id="yolo-after")
        ab = ab_panel(ctx, choices)
        learn_accordion("yolo.learn")

        heavy = heavy_queue(NAME)
        hidden = dict(api_visibility="undocumented")
        private = dict(api_visibility="private")
        detect_inputs = [image, conf, iou, wanted, source, weights_path, runtime]
        detect_outputs = [result, table, run_status, before_view, after_view, nms_note]
        described = [status, wanted, runtime, ab.a, ab.b]

        source.change(lambda k: gr.update(visible=k != "studio"), source, weights_path, queue=False, **private)
        for trigger in (source.change, weights_path.submit):
            trigger(describe, [source, weights_path], described, **hidden, **heavy) \
                .then(detect, detect_inputs, detect_outputs, **hidden, **heavy)
        detect_btn.click(detect, detect_inputs, detect_outputs, api_name="detect", **heavy)
        for trigger in (image.change, runtime.change, wanted.change):
            trigger(detect, detect_inputs, detect_outputs, **hidden, **heavy)
        for slider in (conf, iou):
            slider.release(detect, detect_inputs, detect_outputs, **hidden, **heavy)
        random_btn.click(random_scene, None, image, queue=False, **private)
        ab.button.click(run_ab, [image, source, weights_path, ab.a, ab.b, ab.runs], [ab.table, ab.summary],
                        api_name="compare_yolo_runtimes", concurrency_id=BENCH, concurrency_limit=1)
        tab.select(describe, [source, weights_path], described, **hidden, **heavy) \
            .then(detect, detect_inputs, detect_outputs, **hidden, **heavy)
    return tab
