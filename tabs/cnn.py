"""CNN tab: classify an image, then look inside the network (UI only; the work is in
models/cnn/predictor.py)."""
from __future__ import annotations

import time

import gradio as gr
import numpy as np

from models import limits, viz
from tabs.common import (BENCH, RUNTIME_LABELS, ModelPool, SafeImage, StudioContext, ab_panel, ab_result, heavy_queue,
                         learn_accordion, limits_note, progress_adapter, runtime_choices, runtime_picker,
                         static_runtime_choices, user_errors)
from tabs.i18n import lang_of, t, text

NAME = "cnn"
DISPLAY_PX = 256          # small model inputs are enlarged (nearest) to this for display
MAX_CHANNELS = limits.MAX_CHANNELS
ATTR_METHODS = ("Grad-CAM", "Saliency", "Integrated Gradients", "Occlusion")
DEFAULT_LAYER = "layer1.0.conv1"


def _load_predictor(ctx: StudioContext):
    def factory(source_key: str, weights_path: str):
        # imported on first use: torchvision alone costs ~3 s of start-up on a 2-core machine
        from models.cnn.predictor import CNNPredictor
        return CNNPredictor(source_key, device=ctx.torch_device(), weights_path=weights_path or None,
                            checkpoint_root=ctx.checkpoint_root, cache_dir=ctx.cache_dir)
    return factory


def warm(ctx: StudioContext) -> None:
    """Import what the first visit needs (torch, torchvision, captum) after the server is up, so
    the first click does not wait for imports. Loads no weights."""
    ctx.torch_device()
    import models.cnn.predictor  # noqa: F401
    import models.cnn.attributions  # noqa: F401


def build(ctx: StudioContext, demo: gr.Blocks) -> gr.Tab:
    from models.cnn.sources import CNN_SOURCES
    from models.examples import photo_example_paths, shape_example_paths

    pool = ModelPool(_load_predictor(ctx), max_items=3)
    if ctx.preload:
        pool.get("studio", "")
    choices = static_runtime_choices()

    def get(source_key, weights_path, progress=None, lang="en"):
        return pool.load((source_key, (weights_path or "").strip()), progress,
                         text("common.loading", lang, what=CNN_SOURCES[source_key].label))

    # ------------------------------------------------------------------ callbacks
    @user_errors
    def describe_model(source_key, weights_path, request: gr.Request, progress=gr.Progress()):
        """Model-level views: status line, layer choices, layer table, first-layer filters."""
        lang = lang_of(request)
        live = gr.update(choices=runtime_choices(ctx.torch_device()))   # availability, with reasons
        try:
            p = get(source_key, weights_path, progress, lang)
        except Exception as e:  # noqa: BLE001 — a missing source is a status, not a crash
            from models.checkpoints import CheckpointError
            if not isinstance(e, (CheckpointError, ValueError, RuntimeError)):
                raise
            msg = text("cnn.source_missing", lang, label=CNN_SOURCES[source_key].label, why=str(e))
            return (f"⚠️ {msg}", gr.update(), gr.update(value=None), "", None, "", live, live, live)
        rows = p.layer_table()
        total = sum(r.params for r in rows)
        status = "✅ " + text("cnn.source_ok", lang, label=CNN_SOURCES[source_key].label,
                             params=f"{sum(x.numel() for x in p.model.parameters()):,}",
                             classes=len(p.class_names), size=p.image_size)
        if source_key == "studio":
            status += "\n\n" + text("cnn.studio_hint", lang, classes=", ".join(p.class_names))
        layers = p.feature_layers()
        table = gr.update(value=[[r.name, r.type, "×".join(map(str, r.output_shape)), f"{r.params:,}", r.rf_text()]
                                 for r in rows],
                          headers=[text(k, lang) for k in ("cnn.col_layer", "cnn.col_type", "cnn.col_shape",
                                                           "cnn.col_params", "cnn.col_rf")])
        w = p.first_layer_filters()
        filters = viz.filter_grid(w)
        note = text("cnn.filters_note", lang, n=w.shape[0], k=w.shape[-1])
        table_note = text("cnn.table_note", lang, params=f"{total:,}")
        layer = DEFAULT_LAYER if DEFAULT_LAYER in layers else layers[0]
        return status, gr.update(choices=layers, value=layer), table, table_note, filters, note, live, live, live

    @user_errors
    def analyse(image, source_key, weights_path, runtime, layer, request: gr.Request, progress=gr.Progress()):
        """Classify with the chosen runtime and show the chosen layer's feature maps."""
        lang = lang_of(request)
        if image is None:
            return None, None, "", None, None, ""
        p = get(source_key, weights_path, progress, lang)
        seen = p.model_view(image)      # resize / crop once; every view below starts from it
        progress(0.3, desc=text("common.building", lang, name=RUNTIME_LABELS.get(runtime, runtime)))
        result = p.classify(seen, backend=runtime, progress=progress_adapter(progress))
        status = text("common.ran_on", lang, runtime=result.runtime, ms=f"{result.ms:.1f}")
        layers = p.feature_layers()
        layer = layer if layer in layers else (DEFAULT_LAYER if DEFAULT_LAYER in layers else layers[0])
        grid, rf_view, info = _feature_view(p, seen, layer, lang)
        return dict(result.top), viz.upscale(seen, DISPLAY_PX), status, grid, rf_view, info

    @user_errors
    def feature_maps_only(image, source_key, weights_path, layer, request: gr.Request):
        lang = lang_of(request)
        if image is None or not layer:
            return None, None, ""
        p = get(source_key, weights_path)
        return _feature_view(p, p.model_view(image), layer, lang)

    @user_errors
    def explain(image, source_key, weights_path, methods, target, request: gr.Request, progress=gr.Progress()):
        lang = lang_of(request)
        if image is None:
            raise gr.Error(text("cnn.no_image", lang))
        if not methods:
            raise gr.Error(text("cnn.no_method", lang))
        p = get(source_key, weights_path, progress, lang)
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
    def run_ab(image, source_key, weights_path, a, b, runs, request: gr.Request, progress=gr.Progress()):
        from models.bench import run_bench
        from models.cnn.bench import spec_for
        lang = lang_of(request)
        if image is None:
            raise gr.Error(text("cnn.no_image", lang))
        p = get(source_key, weights_path, progress, lang)
        report = run_bench(spec_for(p, image), [a, b], runs=int(runs), warmup=3, device=ctx.torch_device(),
                           cache_dir=ctx.cache_dir, progress=progress_adapter(progress))
        rows, headers, verdict = ab_result(report, a, b, lang)
        return gr.update(value=rows, headers=headers), verdict

    def random_shape():
        from models.examples import random_shape as fresh_shape
        return fresh_shape()

    @user_errors
    def from_sketch(sketch, request: gr.Request):
        lang = lang_of(request)
        composite = sketch.get("composite") if isinstance(sketch, dict) else None
        if composite is None or np.asarray(composite).size == 0 or _blank(np.asarray(composite)):
            raise gr.Error(text("cnn.empty_sketch", lang))
        from models.images import load_image
        return load_image(np.asarray(composite))   # RGBA → RGB on white

    def class_choices(source_key, weights_path):
        try:
            names = get(source_key, weights_path).class_names
        except Exception:  # noqa: BLE001 — the status line already says why
            names = []
        return gr.update(choices=[("—", "")] + [(n, n) for n in names], value="")

    # ------------------------------------------------------------------ layout
    with gr.Tab(t("cnn.tab"), id=NAME) as tab:
        gr.Markdown(t("cnn.intro"))
        limits_note("cnn")
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                image = SafeImage(label=t("cnn.input"), type="numpy", sources=["upload", "clipboard"],
                                 height=280, image_mode="RGB")
                with gr.Row():
                    random_btn = gr.Button(t("cnn.random"), size="sm")
                    classify_btn = gr.Button(t("cnn.classify"), variant="primary", size="sm")
                gr.Examples([[str(p)] for p in shape_example_paths() + photo_example_paths()], inputs=[image],
                            label=t("cnn.examples"), examples_per_page=12)
                with gr.Accordion(t("cnn.draw"), open=False):
                    sketch = gr.Sketchpad(label=t("cnn.sketch"), type="numpy", height=260,
                                          canvas_size=(256, 256),
                                          brush=gr.Brush(default_size=14, colors=["#dc2828", "#2850dc", "#28a040",
                                                                                 "#8c28c8", "#f08c1e"]))
                    sketch_btn = gr.Button(t("cnn.classify_drawing"), size="sm")
            with gr.Column(scale=1, min_width=320):
                source = gr.Dropdown([(s.label, k) for k, s in CNN_SOURCES.items()], value="studio",
                                     label=t("common.source"))
                weights_path = gr.Textbox(label=t("cnn.pretrained_path"), placeholder="~/weights/resnet18-f37072fd.pth",
                                          max_lines=1, visible=False)
                source_status = gr.Markdown()
                runtime = runtime_picker(ctx, choices)
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
                    methods = gr.CheckboxGroup(list(ATTR_METHODS), value=["Grad-CAM", "Saliency"],
                                               label=t("cnn.attr_method"))
                    target = gr.Dropdown(label=t("cnn.attr_target"), info=t("cnn.attr_target_info"),
                                         choices=[("—", "")], value="", allow_custom_value=True)
                explain_btn = gr.Button(t("cnn.attr_run"))
                attr_gallery = gr.Gallery(label=t("cnn.attr_out"), columns=4, height=300, object_fit="contain")
                attr_note = gr.Markdown()
        ab = ab_panel(ctx, choices)
        learn_accordion("cnn.learn")

        # ------------------------------------------------------------------ events
        model_inputs = [source, weights_path]
        described = [source_status, layer, table, table_note, filters, filters_note, runtime, ab.a, ab.b]
        analysed = [label, model_view, run_status, fmap, rf_view, fmap_info]
        analyse_inputs = [image, source, weights_path, runtime, layer]
        heavy = heavy_queue(NAME)

        def on_source(source_key):
            return gr.update(visible=source_key != "studio")

        # Public API (gradio_client, "Use via API"): classify, feature_maps, explain, compare_runtimes,
        # describe_model. The other listeners repeat them for UI triggers and stay out of the docs.
        hidden = dict(api_visibility="undocumented")
        source.change(on_source, source, weights_path, queue=False, api_visibility="private")
        (source.change(describe_model, model_inputs, described, api_name="describe_model", **heavy)
         .then(class_choices, model_inputs, target, api_visibility="private")
         .then(analyse, analyse_inputs, analysed, **hidden, **heavy))
        weights_path.submit(describe_model, model_inputs, described, **hidden, **heavy) \
            .then(analyse, analyse_inputs, analysed, **hidden, **heavy)
        classify_btn.click(analyse, analyse_inputs, analysed, api_name="classify", **heavy)
        image.change(analyse, analyse_inputs, analysed, **hidden, **heavy)
        runtime.change(analyse, analyse_inputs, analysed, **hidden, **heavy)
        layer.input(feature_maps_only, [image, source, weights_path, layer], [fmap, rf_view, fmap_info],
                    api_name="feature_maps", **heavy)
        random_btn.click(random_shape, None, image, queue=False, api_name="random_shape")
        sketch_btn.click(from_sketch, sketch, image, **hidden)
        explain_btn.click(explain, [image, source, weights_path, methods, target], [attr_gallery, attr_note],
                          api_name="explain", **heavy)
        ab.button.click(run_ab, [image, source, weights_path, ab.a, ab.b, ab.runs], [ab.table, ab.summary],
                        api_name="compare_runtimes", concurrency_id=BENCH, concurrency_limit=1)
        # The first visit (page load or opening this tab) loads the model, with a progress message.
        for trigger in (demo.load, tab.select):
            trigger(describe_model, model_inputs, described, **hidden, **heavy) \
                .then(class_choices, model_inputs, target, api_visibility="private")
    return tab


def _feature_view(p, seen: np.ndarray, layer: str, lang: str) -> tuple[np.ndarray, np.ndarray, str]:
    """The channel grid of ``layer``, its receptive field on the input, and the line that
    explains its numbers. ``seen`` is the model's own view of the image (p.model_view)."""
    fm = p.feature_maps(seen, layer)
    r = fm.info
    info = text("cnn.fmap_info", lang, layer=layer, type=r.type if r else "?",
                shape="×".join(map(str, fm.maps.shape)), params=f"{r.params:,}" if r else "?",
                rf=r.rf_text() if r else "?", jump=r.jump if r else "?",
                shown=min(MAX_CHANNELS, fm.maps.shape[0]), channels=fm.maps.shape[0])
    rf_view = viz.receptive_field_box(seen, r.receptive_field if r else -1, DISPLAY_PX)
    return viz.channel_grid(fm.maps, max_channels=MAX_CHANNELS), rf_view, info


def _blank(img: np.ndarray) -> bool:
    """True when a sketch has no strokes (fully transparent or one flat colour)."""
    if img.ndim == 3 and img.shape[2] == 4:
        return not (img[..., 3] > 0).any()
    return float(img.std()) < 1.0
