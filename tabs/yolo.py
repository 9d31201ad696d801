"""YOLO tab: detection with ultralytics, the thresholds, and what NMS removes.

UI only. The work: models/yolo/predictor.py (ultralytics' predictor and exporter behind the
studio's runtime names, models/backends/ultralytics_backend.py), models/yolo/bench.py.
"""
from __future__ import annotations

import gradio as gr

from models.registry import Topic
from tabs.components import SafeImage
from tabs.errors import progress_adapter, user_errors
from tabs.i18n import lang_of, t, text
from tabs.kit import (BENCH_QUEUE, PRIVATE, ModelSlot, StudioContext, ab_panel, api, bind, compare, examples, header,
                      heavy_queue, learn_accordion, runtime_picker, show_availability, source_picker, weights_path_box)


def warm(ctx: StudioContext) -> None:
    """Import what the first visit needs (torch, ultralytics, set up offline); no weights."""
    ctx.torch_device()
    import models.yolo.predictor  # noqa: F401


# ---------------------------------------------------------------------------- callbacks
@user_errors
def describe_model(slot: ModelSlot, source, weights_path, request: gr.Request, progress=gr.Progress()):
    """Status line; the class filter lists this model's classes."""
    p, status = slot.status(source, weights_path, progress, lang_of(request))
    if p is None:
        return status, gr.update()
    return status, gr.update(choices=list(p.names.values()), value=[])


@user_errors
def detect(slot: ModelSlot, image, conf, iou, wanted, source, weights_path, runtime, request: gr.Request,
           progress=gr.Progress()):
    """Boxes after NMS (drawn and as a table), and every candidate before it."""
    lang = lang_of(request)
    if image is None:
        raise gr.Error(text("yolo.no_image", lang), print_exception=False)
    p, status = slot.status(source, weights_path, progress, lang)
    if p is None:
        return None, None, status, None, None, ""
    progress(0.3, desc=text("common.building", lang, name=runtime))
    ids = p.class_ids(wanted)
    after = p.detect(image, runtime, conf=float(conf), iou=float(iou), classes=ids,
                     progress=progress_adapter(progress))
    before = p.candidates(image, runtime, conf=float(conf), classes=ids)
    s = after.speed
    status = text("yolo.ran", lang, n=len(after.boxes), conf=f"{float(conf):.2f}", runtime=runtime,
                  pre=f"{s['preprocess']:.1f}", inf=f"{s['inference']:.1f}", post=f"{s['postprocess']:.1f}")
    headers = [text("yolo.col_class", lang), text("yolo.col_score", lang), "x1", "y1", "x2", "y2"]
    note = text("yolo.nms_note", lang, before=len(before.boxes), after=len(after.boxes), iou=f"{float(iou):.2f}")
    for i, j, overlap in after.cross_class_overlaps(float(iou)):
        note += "\n\n" + text("yolo.nms_cross", lang, a=after.names[int(after.classes[i])], sa=f"{after.scores[i]:.2f}",
                                b=after.names[int(after.classes[j])], sb=f"{after.scores[j]:.2f}",
                                overlap=f"{overlap:.2f}")
    return after.plotted, gr.update(value=after.rows(), headers=headers), status, before.plotted, after.plotted, note


@user_errors
def compare_runtimes(slot: ModelSlot, image, source, weights_path, a, b, runs, request: gr.Request,
                     progress=gr.Progress()):
    lang = lang_of(request)
    if image is None:
        raise gr.Error(text("yolo.no_image", lang), print_exception=False)
    return compare(slot, "yolo", image, source, weights_path, a, b, runs, lang, progress)


def random_scene():
    from models.examples import random_scene as fresh_scene
    return fresh_scene()


# ---------------------------------------------------------------------------- layout and wiring
def build(ctx: StudioContext, demo: gr.Blocks, topic: Topic) -> gr.Tab:
    from models.examples import random_scene as scene
    from models.shapeworld import SHAPES
    model = topic.model()
    slot = ModelSlot(ctx, model, "yolo.model_ok")
    with gr.Tab(t("yolo.tab"), id=topic.key) as tab:
        header(topic.key)
        with gr.Row():
            source = source_picker(model, scale=2)
            runtime = runtime_picker(ctx)
        weights_path, source_changed = weights_path_box(source, "yolo.weights_path", "~/models/yolo11n.pt")
        status = gr.Markdown(elem_id="yolo-status")
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                image = SafeImage(label=t("yolo.image"), type="numpy", sources=["upload", "clipboard"], height=300,
                                  image_mode="RGB", value=scene(0))
                random_btn = gr.Button(t("yolo.random"), size="sm")
                examples(model.examples(), [image], "yolo.examples")
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
        ab = ab_panel(ctx, [model.graph("yolo")])
        learn_accordion("yolo.learn")

        heavy = heavy_queue(topic.key)
        detect_fn, describe_fn = bind(detect, slot), bind(describe_model, slot)
        detect_inputs = [image, conf, iou, wanted, source, weights_path, runtime]
        detected = [result, table, run_status, before_view, after_view, nms_note]
        described = [status, wanted]
        for event in (source_changed.then, weights_path.submit, tab.select):
            event(describe_fn, [source, weights_path], described, **PRIVATE, **heavy) \
                .then(detect_fn, detect_inputs, detected, **PRIVATE, **heavy)
        detect_btn.click(detect_fn, detect_inputs, detected, **api(topic.key, "detect"), **heavy)
        for event in (image.change, runtime.change, wanted.change, conf.release, iou.release):
            event(detect_fn, detect_inputs, detected, **PRIVATE, **heavy)
        random_btn.click(random_scene, None, image, queue=False, **PRIVATE)
        show_availability(ctx, tab.select, [runtime, ab.a, ab.b])
        ab.button.click(bind(compare_runtimes, slot), [image, source, weights_path, *ab.inputs()],
                        [ab.table, ab.summary], **api(topic.key, "compare_runtimes"), **BENCH_QUEUE)
    return tab
