"""CNN tab: classify an image, then look inside the network (UI only; the work is in
models/cnn/predictor.py, the pictures in models/viz.py)."""
from __future__ import annotations

import time

import gradio as gr
import numpy as np

from models import limits, viz
from models.registry import Topic
from tabs.components import SafeImage
from tabs.errors import progress_adapter, user_errors
from tabs.i18n import lang_of, t, text
from tabs.kit import (BENCH_QUEUE, PRIVATE, ModelSlot, StudioContext, ab_panel, api, bind, compare, examples, header,
                      heavy_queue, learn_accordion, runtime_picker, show_availability, source_picker, weights_path_box)

DISPLAY_PX = 256          # small model inputs are enlarged (nearest) to this for display
DEFAULT_LAYER = "layer1.0.conv1"
SKETCH_COLOURS = ["#dc2828", "#2850dc", "#28a040", "#8c28c8", "#f08c1e"]


def warm(ctx: StudioContext) -> None:
    """Import what the first visit needs (torch, torchvision, captum) after the server is up, so
    the first click does not wait for imports. Loads no weights."""
    ctx.torch_device()
    import models.cnn.attributions  # noqa: F401
    import models.cnn.predictor  # noqa: F401


# ---------------------------------------------------------------------------- callbacks
@user_errors
def describe_model(slot: ModelSlot, source, weights_path, request: gr.Request, progress=gr.Progress()):
    """Model-level views: status line, layer choices, layer table, first-layer filters."""
    lang = lang_of(request)
    p, status = slot.status(source, weights_path, progress, lang)
    if p is None:
        return status, gr.update(), gr.update(value=None), "", None, ""
    if p.src.studio:
        status += "\n\n" + text("cnn.studio_hint", lang, classes=", ".join(p.class_names))
    rows = p.layer_table()
    table = gr.update(value=[[r.name, r.type, "×".join(map(str, r.output_shape)), f"{r.params:,}", r.rf_text()]
                             for r in rows],
                      headers=[text(k, lang) for k in ("cnn.col_layer", "cnn.col_type", "cnn.col_shape",
                                                       "cnn.col_params", "cnn.col_rf")])
    w = p.first_layer_filters()
    layers = p.feature_layers()
    return (status, gr.update(choices=layers, value=_layer(layers, None)), table,
            text("cnn.table_note", lang, params=f"{sum(r.params for r in rows):,}"), viz.filter_grid(w),
            text("cnn.filters_note", lang, n=w.shape[0], k=w.shape[-1]))


@user_errors
def classify(slot: ModelSlot, image, source, weights_path, runtime, layer, request: gr.Request,
             progress=gr.Progress()):
    """Classify with the chosen runtime and show the chosen layer's feature maps."""
    lang = lang_of(request)
    if image is None:
        return None, None, "", None, None, ""
    p = slot.get(source, weights_path, progress, lang)
    seen = p.model_view(image)      # resize / crop once; every view below starts from it
    progress(0.3, desc=text("common.building", lang, name=runtime))
    result = p.classify(seen, backend=runtime, progress=progress_adapter(progress))
    status = text("common.ran_on", lang, runtime=result.runtime, ms=f"{result.ms:.1f}")
    grid, rf_view, info = feature_view(p, seen, _layer(p.feature_layers(), layer), lang)
    return dict(result.top), viz.upscale(seen, DISPLAY_PX), status, grid, rf_view, info


@user_errors
def feature_maps(slot: ModelSlot, image, source, weights_path, layer, request: gr.Request):
    lang = lang_of(request)
    if image is None or not layer:
        return None, None, ""
    p = slot.get(source, weights_path)
    return feature_view(p, p.model_view(image), layer, lang)


@user_errors
def explain(slot: ModelSlot, image, source, weights_path, methods, target, request: gr.Request,
            progress=gr.Progress()):
    """Each chosen attribution method's heatmap over what the model saw (the eager model's gradients)."""
    lang = lang_of(request)
    if image is None:
        raise gr.Error(text("cnn.no_image", lang))
    if not methods:
        raise gr.Error(text("cnn.no_method", lang))
    p = slot.get(source, weights_path, progress, lang)
    if target and target not in p.class_names:
        raise gr.Error(text("cnn.unknown_class", lang, name=target, some=", ".join(p.class_names[:8])))
    target_idx = p.class_names.index(target) if target else None
    view = p.model_view(image)
    gallery, notes = [], []
    for i, method in enumerate(methods):
        progress((i + 0.5) / len(methods), desc=method)
        t0 = time.perf_counter()
        heat, cls = p.attribute(view, method, target_idx)
        ms = (time.perf_counter() - t0) * 1000
        gallery.append((viz.overlay(view, heat, size=DISPLAY_PX), f"{method} · {p.class_names[cls]}"))
        notes.append("- " + text("cnn.attr_note", lang, method=method, cls=p.class_names[cls], ms=f"{ms:.0f}"))
    return gallery, "\n".join(notes)


@user_errors
def compare_runtimes(slot: ModelSlot, image, source, weights_path, a, b, runs, request: gr.Request,
                     progress=gr.Progress()):
    lang = lang_of(request)
    if image is None:
        raise gr.Error(text("cnn.no_image", lang))
    return compare(slot, "cnn", image, source, weights_path, a, b, runs, lang, progress)


@user_errors
def from_sketch(sketch, request: gr.Request):
    """The drawing as an RGB picture (strokes on white) for the input box."""
    from models.images import load_image
    composite = sketch.get("composite") if isinstance(sketch, dict) else None
    if composite is None or np.asarray(composite).size == 0 or _blank(np.asarray(composite)):
        raise gr.Error(text("cnn.empty_sketch", lang_of(request)))
    return load_image(np.asarray(composite))   # RGBA → RGB on white


def class_choices(slot: ModelSlot, source, weights_path):
    """The attribution target's choices: the loaded model's classes ("—" = its prediction)."""
    try:
        names = slot.get(source, weights_path).class_names
    except Exception:  # noqa: BLE001 — the status line already says why
        names = []
    return gr.update(choices=[("—", "")] + [(n, n) for n in names], value="")


def random_shape():
    from models.examples import random_shape as fresh_shape
    return fresh_shape()


def feature_view(p, seen: np.ndarray, layer: str, lang: str) -> tuple[np.ndarray, np.ndarray, str]:
    """The channel grid of ``layer``, its receptive field on the input, and the line that
    explains its numbers. ``seen`` is the model's own view of the image (p.model_view)."""
    fm = p.feature_maps(seen, layer)
    r = fm.info
    info = text("cnn.fmap_info", lang, layer=layer, type=r.type if r else "?",
                shape="×".join(map(str, fm.maps.shape)), params=f"{r.params:,}" if r else "?",
                rf=r.rf_text() if r else "?", jump=r.jump if r else "?",
                shown=min(limits.MAX_CHANNELS, fm.maps.shape[0]), channels=fm.maps.shape[0])
    rf_view = viz.receptive_field_box(seen, r.receptive_field if r else -1, DISPLAY_PX)
    return viz.channel_grid(fm.maps, max_channels=limits.MAX_CHANNELS), rf_view, info


def _layer(layers: list[str], asked: str | None) -> str:
    """The asked layer when the model has it, else the default one (a new model has other layers)."""
    return asked if asked in layers else (DEFAULT_LAYER if DEFAULT_LAYER in layers else layers[0])


def _blank(img: np.ndarray) -> bool:
    """True when a sketch has no strokes (fully transparent or one flat colour)."""
    if img.ndim == 3 and img.shape[2] == 4:
        return not (img[..., 3] > 0).any()
    return float(img.std()) < 1.0


# ---------------------------------------------------------------------------- layout and wiring
def build(ctx: StudioContext, demo: gr.Blocks, topic: Topic) -> gr.Tab:
    from models.cnn import ATTRIBUTION_METHODS
    model = topic.model()
    slot = ModelSlot(ctx, model, "cnn.model_ok", max_items=3)
    with gr.Tab(t("cnn.tab"), id=topic.key) as tab:
        header(topic.key)
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                image = SafeImage(label=t("cnn.input"), type="numpy", sources=["upload", "clipboard"], elem_id="cnn-input",
                                  height=280, image_mode="RGB")
                with gr.Row():
                    random_btn = gr.Button(t("cnn.random"), size="sm")
                    classify_btn = gr.Button(t("cnn.classify"), variant="primary", size="sm")
                examples(model.examples(), [image], "cnn.examples",
                            examples_per_page=12)
                with gr.Accordion(t("cnn.draw"), open=False):
                    sketch = gr.Sketchpad(label=t("cnn.sketch"), type="numpy", height=260, canvas_size=(256, 256),
                                          brush=gr.Brush(default_size=14, colors=SKETCH_COLOURS))
                    sketch_btn = gr.Button(t("cnn.classify_drawing"), size="sm")
            with gr.Column(scale=1, min_width=320):
                source = source_picker(model)
                weights_path, source_changed = weights_path_box(source, "cnn.weights_path",
                                                                "~/weights/resnet18-f37072fd.pth")
                source_status = gr.Markdown()
                runtime = runtime_picker(ctx)
                label = gr.Label(num_top_classes=5, label=t("cnn.top5"))
                run_status = gr.Markdown()
            with gr.Column(scale=1, min_width=260):
                model_view = gr.Image(label=t("cnn.model_view"), interactive=False, height=280)
        with gr.Tabs():
            with gr.Tab(t("cnn.fmaps")):
                # choices arrive with the model; custom values let API callers name any layer
                layer = gr.Dropdown(label=t("cnn.layer"), choices=[], interactive=True, allow_custom_value=True)
                fmap_info = gr.Markdown()
                # Captions as text above the pictures: a floating label would hide the top row of channels.
                with gr.Row():
                    with gr.Column(scale=3):
                        gr.Markdown(t("cnn.fmap_grid"))
                        fmap = gr.Image(label=t("cnn.fmap_grid"), show_label=False, interactive=False,
                                        elem_id="cnn-feature-grid")
                    with gr.Column(scale=1):
                        gr.Markdown(t("cnn.rf_view"))
                        rf_view = gr.Image(label=t("cnn.rf_view"), show_label=False, interactive=False, height=280,
                                           elem_id="cnn-receptive-field")
            with gr.Tab(t("cnn.table")):
                table_note = gr.Markdown()
                table = gr.Dataframe(interactive=False, wrap=True, max_height=420)
            with gr.Tab(t("cnn.filters")):
                filters_note = gr.Markdown()
                filters = gr.Image(label=t("cnn.filters"), interactive=False, height=240)
            with gr.Tab(t("cnn.attr")):
                with gr.Row():
                    methods = gr.CheckboxGroup(list(ATTRIBUTION_METHODS), value=["Grad-CAM", "Saliency"],
                                               label=t("cnn.attr_method"))
                    target = gr.Dropdown(label=t("cnn.attr_target"), info=t("cnn.attr_target_info"),
                                         choices=[("—", "")], value="", allow_custom_value=True)
                explain_btn = gr.Button(t("cnn.attr_run"))
                attr_gallery = gr.Gallery(label=t("cnn.attr_out"), columns=4, height=300, object_fit="contain")
                attr_note = gr.Markdown()
        ab = ab_panel(ctx, list(model.graphs))
        learn_accordion("cnn.learn")

        # ------------------------------------------------------------------ events
        model_inputs = [source, weights_path]
        described = [source_status, layer, table, table_note, filters, filters_note]
        classified = [label, model_view, run_status, fmap, rf_view, fmap_info]
        classify_inputs = [image, source, weights_path, runtime, layer]
        heavy = heavy_queue(topic.key)
        describe_fn, classify_fn = bind(describe_model, slot), bind(classify, slot)
        choices_fn = bind(class_choices, slot)

        def describe_chain(event, **kw):
            return (event(describe_fn, model_inputs, described, **kw, **heavy)
                    .then(choices_fn, model_inputs, target, **PRIVATE))

        describe_chain(source_changed.then, **api(topic.key, "describe_model")) \
            .then(classify_fn, classify_inputs, classified, **PRIVATE, **heavy)
        describe_chain(weights_path.submit, **PRIVATE).then(classify_fn, classify_inputs, classified, **PRIVATE,
                                                            **heavy)
        classify_btn.click(classify_fn, classify_inputs, classified, **api(topic.key, "classify"), **heavy)
        for event in (image.change, runtime.change):
            event(classify_fn, classify_inputs, classified, **PRIVATE, **heavy)
        layer.input(bind(feature_maps, slot), [image, source, weights_path, layer], [fmap, rf_view, fmap_info],
                    **api(topic.key, "feature_maps"), **heavy)
        random_btn.click(random_shape, None, image, queue=False, **api(topic.key, "random_shape"))
        sketch_btn.click(from_sketch, sketch, image, **PRIVATE)
        explain_btn.click(bind(explain, slot), [image, source, weights_path, methods, target],
                          [attr_gallery, attr_note], **api(topic.key, "explain"), **heavy)
        ab.button.click(bind(compare_runtimes, slot), [image, *model_inputs, *ab.inputs()], [ab.table, ab.summary],
                        **api(topic.key, "compare_runtimes"), **BENCH_QUEUE)
        # The first visit (page load or opening this tab) loads the model, with a progress message.
        for event in (demo.load, tab.select):
            describe_chain(event, **PRIVATE)
            show_availability(ctx, event, [runtime, ab.a, ab.b])
    return tab
