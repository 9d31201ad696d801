"""Attention tab: where a transformer looks, in an image (ViT) and in a sentence (GPT).

UI only. The work: models/vit/predictor.py (ViT + attention weights on any runtime),
models/gpt/attention.py (GPT's attention, the step-by-step head), models/vit/maps.py (rollout,
patterns, position similarity) and models/vit/pictures.py (the pictures).
"""
from __future__ import annotations

import gradio as gr
import numpy as np

from models.registry import Topic
from tabs.components import SafeImage
from tabs.errors import progress_adapter, user_errors
from tabs.i18n import lang_of, t, text
from tabs.kit import (BENCH_QUEUE, PRIVATE, ModelSlot, StudioContext, ab_panel, api, bind, compare, examples, header,
                      heavy_queue, learn_accordion, runtime_picker, show_availability, source_picker, weights_path_box)

DISPLAY_PX = 320          # the clickable image: big enough to hit an 8 × 8 grid's patches
HEAD_TILE_PX = 150        # one head's map in the per-head gallery
STEP_DIMS = 4             # Q, K, V columns printed in the step-by-step tables (of d per head)
TOP_PATTERNS = 10         # rows of the "heads with a pattern" table
DEFAULT_STEP_TEXT = "To be or not to be"
# Which CNN draws the Grad-CAM beside a ViT: same training data where possible.
GRADCAM_CNN = {"studio": ("studio",), "vit_b_16": ("resnet18", "mobilenet_v2")}

CSS = """
#attention-patch-view img { cursor: crosshair; }
"""


def warm(ctx: StudioContext) -> None:
    """Import what the first visit needs (torch, transformers' ViT/GPT-2, matplotlib); no weights."""
    ctx.torch_device()
    import matplotlib.pyplot  # noqa: F401

    import models.gpt.attention  # noqa: F401
    import models.vit.pictures  # noqa: F401
    import models.vit.predictor  # noqa: F401


# ---------------------------------------------------------------------------- image (ViT)
@user_errors
def describe_vit(vits: ModelSlot, source, weights_path, request: gr.Request, progress=gr.Progress()):
    """Model-level facts: status, slider ranges, the position-embedding picture."""
    from models.vit.maps import position_similarity, position_structure
    from models.vit.pictures import position_mosaic
    lang = lang_of(request)
    p, status = vits.status(source, weights_path, progress, lang)
    if p is None:
        return status, gr.update(), gr.update(), None, "", gr.update()
    if p.is_hybrid:
        status += " " + text("attention.hybrid_hint", lang, patch=p.patch_size, rf=p.token_receptive_field(),
                             size=p.image_size)
    pos = p.position_embeddings()
    similarity = position_similarity(pos)
    grid_shape = position_structure(similarity)
    note = text("attention.pos_note", lang, grid=p.grid, dim=pos.shape[1],
                **{k: f"{v:.2f}" for k, v in grid_shape.items()})
    if p.is_hybrid:
        note += " " + text("attention.pos_hybrid", lang)
    mosaic = position_mosaic(similarity, tile=max(12, DISPLAY_PX // p.grid))
    return (status, gr.update(maximum=p.num_layers, value=p.num_layers), gr.update(maximum=p.num_heads, value=1),
            mosaic, note,
            gr.update(columns=2 if p.num_heads <= 4 else 4))


@user_errors
def analyse_image(vits: ModelSlot, image, source, weights_path, runtime, request: gr.Request,
                  progress=gr.Progress()):
    """Run the ViT graph on the chosen runtime; keep the weights for the views (gr.State)."""
    lang = lang_of(request)
    if image is None:
        return None, None, None, ""
    p, status = vits.status(source, weights_path, progress, lang)
    if p is None:                   # the status line says why (no second pop-up)
        return None, None, None, status
    view = p.model_view(image)
    progress(0.3, desc=text("common.building", lang, name=runtime))
    r = p.analyse(view, backend=runtime, progress=progress_adapter(progress))
    status = text("attention.image_ran", lang, runtime=r.runtime, ms=f"{r.ms:.1f}",
                  shape="×".join(map(str, r.attentions.shape)))
    return {"view": view, "att": r.attentions, "grid": p.grid, "source": source}, None, dict(r.top), status


@user_errors
def render_image(state, layer, head, average, query, request: gr.Request):
    """The query's map, every head's map and the caption (the rollout has its own callback: it
    depends on neither the layer, the head nor the query)."""
    from models.vit.maps import query_map
    from models.vit.pictures import patch_overlay
    lang = lang_of(request)
    if not state:
        return None, None, ""
    att, view, g = state["att"], state["view"], state["grid"]
    layer, head_index = _pick(layer, att.shape[0]), None if average else _pick(head, att.shape[1])
    q_token = 0 if query is None else 1 + query[0] * g + query[1]
    heat, on_cls = query_map(att, layer, head_index, q_token)
    main = patch_overlay(view, heat / max(heat.max(), 1e-12), DISPLAY_PX, query)
    who = text("attention.query_cls", lang) if query is None else \
        text("attention.query_patch", lang, row=query[0] + 1, col=query[1] + 1)
    heads = text("attention.all_heads", lang) if head_index is None else f"{head_index + 1}"
    caption = text("attention.patch_caption", lang, who=who, layer=layer + 1, heads=heads,
                   peak=f"{heat.max():.3f}", cls=f"{on_cls:.3f}", uniform=f"{1 / att.shape[-1]:.3f}")
    gallery = []
    for h in range(att.shape[1]):
        hm, _ = query_map(att, layer, h, q_token)
        gallery.append((patch_overlay(view, hm / max(hm.max(), 1e-12), HEAD_TILE_PX, query),
                        text("attention.head_label", lang, head=h + 1, peak=f"{hm.max():.2f}")))
    return main, gallery, caption


@user_errors
def render_rollout(state, fusion, discard):
    from models.vit.maps import rollout_map
    from models.vit.pictures import patch_overlay
    if not state:
        return None
    return patch_overlay(state["view"], rollout_map(state["att"], fusion, float(discard)), DISPLAY_PX)


@user_errors
def pick_patch(state, layer, head, average, evt: gr.SelectData, request: gr.Request):
    """A click on the picture makes that patch the query."""
    from models.vit.pictures import patch_of
    if not state:
        raise gr.Error(text("attention.no_image", lang_of(request)))
    query = patch_of(*evt.index, DISPLAY_PX, DISPLAY_PX, state["grid"])
    return (query, *render_image(state, layer, head, average, query, request))


def pick_head(evt: gr.SelectData):
    return gr.update(value=int(evt.index) + 1), False


@user_errors
def gradcam(cnns: ModelSlot, state, request: gr.Request, progress=gr.Progress()):
    """The CNN tab's Grad-CAM on the pixels the ViT saw (eager: it needs gradients)."""
    from models.viz import overlay
    lang = lang_of(request)
    if not state:
        return None, ""
    for cnn_key in GRADCAM_CNN.get(state["source"], ("studio",)):
        cnn, _ = cnns.status(cnn_key, "", progress, lang)
        if cnn is None:              # try the next CNN; say so below if none loads
            continue
        # crop=False: the CNN sees the ViT's own square whole (its own 256 -> 224 crop would zoom it
        # by 8/7 about the centre and the map would not lie over the pixels it explains)
        heat, cls = cnn.attribute(state["view"], "Grad-CAM", crop=False)
        note = text("attention.gradcam_note", lang, cnn=cnn.src.label, cls=cnn.class_names[cls])
        return overlay(state["view"], heat, size=DISPLAY_PX), note
    return None, text("attention.gradcam_missing", lang)


def reset_query():
    return None


def random_shape():
    from models.examples import random_shape as fresh_shape
    return fresh_shape()


# ---------------------------------------------------------------------------- text (GPT)
@user_errors
def describe_gpt(texts: ModelSlot, source, request: gr.Request, progress=gr.Progress()):
    lang = lang_of(request)
    p, status = texts.status(source, "", progress, lang)
    if p is None:
        return status, gr.update(), gr.update()
    return status, gr.update(maximum=p.num_layers, value=1), gr.update(maximum=p.num_heads, value=1)


@user_errors
def analyse_text(texts: ModelSlot, sentence, source, runtime, previous, request: gr.Request,
                 progress=gr.Progress()):
    """Run the GPT attention graph; the first time, open the head with the clearest pattern."""
    from models.vit.maps import PATTERNS, head_patterns
    lang = lang_of(request)
    p, status = texts.status(source, "", progress, lang)
    if p is None:                   # the status line says why (no second pop-up)
        return None, None, status, None, gr.update(), gr.update()
    progress(0.3, desc=text("common.building", lang, name=runtime))
    r = p.analyse(sentence, backend=runtime, progress=progress_adapter(progress))
    scores = head_patterns(r.attentions)
    status = text("attention.text_ran", lang, runtime=r.runtime, ms=f"{r.ms:.1f}", tokens=len(r.tokens))
    best = scores.max(-1)                        # one row per head: its strongest pattern
    rows = []
    for flat in np.argsort(-best, axis=None)[:TOP_PATTERNS]:
        layer, head = np.unravel_index(flat, best.shape)
        k = int(scores[layer, head].argmax())
        rows.append([int(layer) + 1, int(head) + 1, PATTERNS[k], round(float(best[layer, head]), 3)])
    table = gr.update(value=rows, headers=[text(k, lang) for k in ("attention.col_layer", "attention.col_head",
                                                                    "attention.col_pattern", "attention.col_score")])
    state = {"att": r.attentions, "tokens": r.tokens, "scores": scores}
    first = previous is None and rows
    return (state, dict(r.next_top), status, table, gr.update(value=rows[0][0]) if first else gr.update(),
            gr.update(value=rows[0][1]) if first else gr.update())


@user_errors
def render_text(state, layer, head, request: gr.Request):
    from models.vit.maps import PATTERNS
    from models.vit.pictures import head_grid, token_heatmap
    lang = lang_of(request)
    if not state:
        return None, None, ""
    att = state["att"]
    layer, head = _pick(layer, att.shape[0]), _pick(head, att.shape[1])
    title = text("attention.head_view_title", lang, layer=layer + 1, head=head + 1)
    view = token_heatmap(att[layer, head], state["tokens"], title)
    grid = head_grid(att, state["scores"], PATTERNS, selected=(layer, head))
    s = state["scores"][layer, head]
    note = text("attention.head_view_note", lang, layer=layer + 1, head=head + 1, prev=f"{s[0]:.2f}",
                first=f"{s[1]:.2f}", self=f"{s[2]:.2f}")
    return view, grid, note


def pick_grid_head(state, evt: gr.SelectData):
    """A click on the layer × head grid picks that head (the subplots form a regular grid)."""
    from models.vit.pictures import grid_head_at
    if not state:
        return gr.update(), gr.update()
    layer, head = grid_head_at(*evt.index, *state["att"].shape[:2])
    return gr.update(value=layer + 1), gr.update(value=head + 1)


@user_errors
def attention_steps(texts: ModelSlot, sentence, source, layer, head, request: gr.Request, progress=gr.Progress()):
    """One head, step by step on a tiny input: Q, K, V, QKᵀ/√d, the mask, softmax, the output."""
    lang = lang_of(request)
    p = texts.get(source, "", progress, lang)
    s = p.head_steps(sentence, int(layer) - 1, int(head) - 1)
    tok = [f"{i + 1} {w}" for i, w in enumerate(s.tokens)]
    d = s.q.shape[1]
    dims = [f"d{i + 1}" for i in range(min(STEP_DIMS, d))]

    def rows_of(matrix, columns):
        return gr.update(value=[[tok[i]] + [_num(v) for v in row[:len(columns)]] for i, row in enumerate(matrix)],
                         headers=[text("attention.col_token", lang)] + columns)

    note = text("attention.steps_note", lang, layer=int(layer), head=int(head), t=len(tok), d=d,
                shown=len(dims), sqrt=f"{np.sqrt(d):.3f}", err=f"{s.max_abs_vs_model:.1e}")
    return (note, rows_of(s.q, dims), rows_of(s.k, dims), rows_of(s.v, dims), rows_of(s.scores, tok),
            rows_of(s.masked, tok), rows_of(s.weights, tok), rows_of(s.output, dims))


# ---------------------------------------------------------------------------- A/B
@user_errors
def compare_runtimes(vits: ModelSlot, texts: ModelSlot, graph, image_state, vit_source, vit_path, sentence,
                     gpt_source, a, b, runs, request: gr.Request, progress=gr.Progress()):
    """A/B of the image graph on the analysed picture, or of the text graph on the sentence."""
    lang = lang_of(request)
    if graph == "attention-text":
        return compare(texts, graph, sentence, gpt_source, "", a, b, runs, lang, progress)
    if not image_state:
        raise gr.Error(text("attention.no_image", lang))
    return compare(vits, "attention", image_state["view"], vit_source, vit_path, a, b, runs, lang, progress)


def _pick(value, count: int) -> int:
    """A 1-based layer or head from a slider (or the API) as a 0-based index; refused when outside."""
    index = int(value) - 1
    if not 0 <= index < count:
        raise ValueError(f"{int(value)} is outside 1-{count}: this model has {count}")
    return index


def _num(v: float) -> str:
    """A table cell: 3 decimals, the causal mask's −∞ spelled out."""
    return "−∞" if np.isneginf(v) else f"{v:.3f}"


# ---------------------------------------------------------------------------- layout and wiring
def build(ctx: StudioContext, demo: gr.Blocks, topic: Topic) -> gr.Tab:
    from models.topics import CNN
    vit_model, text_model = topic.model("vit"), topic.model("gpt-attention")
    vits = ModelSlot(ctx, vit_model, "attention.vit_ok")
    texts = ModelSlot(ctx, text_model, "attention.gpt_ok")
    cnns = ModelSlot(ctx, CNN, "cnn.model_ok", preload=False)    # the Grad-CAM beside the ViT
    with gr.Tab(t("attention.tab"), id=topic.key) as tab:
        header(topic.key)
        runtime = runtime_picker(ctx)
        with gr.Tabs():
            with gr.Tab(t("attention.image_tab"), id="attention-image"):
                i = _image_inputs(vit_model)
                v = _image_views()
            with gr.Tab(t("attention.text_tab"), id="attention-text"):
                x = _text_inputs(text_model)
                w = _text_views()
        ab = ab_panel(ctx, [*vit_model.graphs, *text_model.graphs])
        learn_accordion("attention.learn")
        image_state, text_state, query = gr.State(None), gr.State(None), gr.State(None)

        # ------------------------------------------------------------------ events: image
        heavy = heavy_queue(topic.key)
        image, vit_source, vit_path = i["image"], i["source"], i["path"]
        view_inputs = [image_state, v["layer"], v["head"], v["average"], query]
        view_outputs = [v["patch"], v["gallery"], v["caption"]]
        rollout = (render_rollout, [image_state, v["fusion"], v["discard"]], v["rollout"])
        analysed = [image_state, query, i["prediction"], i["image_status"]]
        analyse_fn, describe_fn = bind(analyse_image, vits), bind(describe_vit, vits)
        described = [i["status"], v["layer"], v["head"], v["positions"], v["positions_note"], v["gallery"]]

        def analyse_chain(event, **kw):
            return (event(analyse_fn, [image, vit_source, vit_path, runtime], analysed, **kw, **heavy)
                    .then(render_image, view_inputs, view_outputs, **PRIVATE)
                    .then(*rollout, **PRIVATE)
                    .then(bind(gradcam, cnns), image_state, [v["gradcam"], v["gradcam_note"]], **PRIVATE, **heavy))

        for event in (i["changed"].then, vit_path.submit, tab.select):
            analyse_chain(event(describe_fn, [vit_source, vit_path], described, **PRIVATE, **heavy).then, **PRIVATE)
        analyse_chain(i["run"].click, **api(topic.key, "analyse_image"))
        for event in (image.change, runtime.change):
            analyse_chain(event, **PRIVATE)
        for control in (v["layer"], v["head"], v["average"]):
            control.input(render_image, view_inputs, view_outputs, **PRIVATE)
        for control in (v["fusion"], v["discard"]):
            control.input(*rollout, **PRIVATE)
        v["patch"].select(pick_patch, view_inputs[:-1], [query] + view_outputs, **PRIVATE)
        v["gallery"].select(pick_head, None, [v["head"], v["average"]], **PRIVATE) \
            .then(render_image, view_inputs, view_outputs, **PRIVATE)
        v["back"].click(reset_query, None, query, **PRIVATE).then(render_image, view_inputs, view_outputs, **PRIVATE)
        i["random"].click(random_shape, None, image, queue=False, **PRIVATE)

        # ------------------------------------------------------------------ events: text
        sentence, gpt_source = x["sentence"], x["source"]
        text_inputs = [text_state, w["layer"], w["head"]]
        rendered = [w["head_view"], w["head_grid"], w["note"]]
        analysed_text = [text_state, x["next_token"], x["text_status"], w["patterns"], w["layer"], w["head"]]

        def text_chain(event, **kw):
            return (event(bind(analyse_text, texts), [sentence, gpt_source, runtime, text_state], analysed_text,
                          **kw, **heavy)
                    .then(render_text, text_inputs, rendered, **PRIVATE))

        text_chain(x["run"].click, **api(topic.key, "analyse_text"))
        for event in (sentence.submit, runtime.change):
            text_chain(event, **PRIVATE)
        for event in (gpt_source.change, tab.select):
            text_chain(event(bind(describe_gpt, texts), gpt_source, [x["status"], w["layer"], w["head"]],
                             **PRIVATE, **heavy).then, **PRIVATE)
        for control in (w["layer"], w["head"]):
            control.input(render_text, text_inputs, rendered, **PRIVATE)
        w["head_grid"].select(pick_grid_head, text_state, [w["layer"], w["head"]], **PRIVATE) \
            .then(render_text, text_inputs, rendered, **PRIVATE)
        w["step_run"].click(bind(attention_steps, texts), [w["step_text"], gpt_source, w["layer"], w["head"]],
                            w["steps"], **api(topic.key, "steps"), **heavy)

        show_availability(ctx, tab.select, [runtime, ab.a, ab.b])
        ab.button.click(bind(compare_runtimes, vits, texts),
                        [ab.which, image_state, vit_source, vit_path, sentence, gpt_source, *ab.inputs()],
                        [ab.table, ab.summary], **api(topic.key, "compare_runtimes"), **BENCH_QUEUE)
    return tab


def _image_inputs(model) -> dict:
    """The image view's picture column and its model column."""
    pictures = model.examples()
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            image = SafeImage(label=t("attention.input"), type="numpy", sources=["upload", "clipboard"],
                              height=260, image_mode="RGB", value=pictures[0])
            with gr.Row():
                random_btn = gr.Button(t("attention.random"), size="sm", elem_id="attention-random")
                run_btn = gr.Button(t("attention.analyse"), variant="primary", size="sm", elem_id="attention-run")
            examples(pictures, [image], "attention.examples",
                        examples_per_page=11, elem_id="attention-examples")
        with gr.Column(scale=1, min_width=300):
            source = source_picker(model)
            path, changed = weights_path_box(source, "attention.weights_path", "~/models/vit-base-patch16-224")
            status = gr.Markdown()
            prediction = gr.Label(num_top_classes=5, label=t("attention.prediction"), elem_id="attention-prediction")
            image_status = gr.Markdown()
    return dict(image=image, run=run_btn, random=random_btn, source=source, path=path, changed=changed,
                status=status, prediction=prediction, image_status=image_status)


def _image_views() -> dict:
    """The image view's pictures: the query's map, every head, rollout beside Grad-CAM, positions."""
    from models.vit.maps import FUSIONS
    with gr.Row():
        layer = gr.Slider(1, 4, value=4, step=1, label=t("attention.layer"), elem_id="attention-layer")
        head = gr.Slider(1, 4, value=1, step=1, label=t("attention.head"), elem_id="attention-head")
        average = gr.Checkbox(value=True, label=t("attention.average"), elem_id="attention-average")
    with gr.Row():
        with gr.Column(scale=1):
            caption = gr.Markdown(elem_id="attention-patch-caption")
            patch = gr.Image(label=t("attention.patch_view"), interactive=False, height=DISPLAY_PX + 20,
                             elem_id="attention-patch-view")
            back = gr.Button(t("attention.back_to_cls"), size="sm")
        with gr.Column(scale=1):
            gr.Markdown(t("attention.heads_help"))
            gallery = gr.Gallery(label=t("attention.per_head"), columns=2, object_fit="contain", height="auto",
                                 allow_preview=False, elem_id="attention-head-gallery")
    with gr.Tabs():
        with gr.Tab(t("attention.rollout_tab")):
            gr.Markdown(t("attention.rollout_help"))
            with gr.Row():
                fusion = gr.Radio(list(FUSIONS), value="max", label=t("attention.fusion"))
                discard = gr.Slider(0.0, 0.95, value=0.9, step=0.05, label=t("attention.discard"))
            with gr.Row():
                rollout = gr.Image(label=t("attention.rollout"), interactive=False, height=DISPLAY_PX + 20,
                                   elem_id="attention-rollout")
                gradcam_view = gr.Image(label=t("attention.gradcam"), interactive=False, height=DISPLAY_PX + 20,
                                        elem_id="attention-gradcam")
            gradcam_note = gr.Markdown()
        with gr.Tab(t("attention.pos_tab")):
            positions_note = gr.Markdown()
            positions = gr.Image(label=t("attention.pos_view"), interactive=False, height=380,
                                 elem_id="attention-positions")
    return dict(layer=layer, head=head, average=average, caption=caption,
                patch=patch, back=back, gallery=gallery, fusion=fusion, discard=discard, rollout=rollout,
                gradcam=gradcam_view, gradcam_note=gradcam_note, positions=positions, positions_note=positions_note)


def _text_inputs(model) -> dict:
    """The text view's sentence column and its model column."""
    from models.examples import SENTENCES
    with gr.Row():
        with gr.Column(scale=2):
            sentence = gr.Textbox(label=t("attention.sentence"), value=SENTENCES[0], lines=2, max_lines=4,
                                  elem_id="attention-sentence")
            examples(model.examples(), [sentence], "attention.examples")
            text_btn = gr.Button(t("attention.analyse_text"), variant="primary", size="sm")
        with gr.Column(scale=1):
            source = source_picker(model)
            status = gr.Markdown()
            next_token = gr.Label(num_top_classes=5, label=t("attention.next_token"))
            text_status = gr.Markdown()
    return dict(sentence=sentence, run=text_btn, source=source, status=status, next_token=next_token,
                text_status=text_status)


def _text_views() -> dict:
    """The text view: the head view and the layer × head grid, then the step-by-step head."""
    with gr.Row():
        layer = gr.Slider(1, 4, value=1, step=1, label=t("attention.layer"), elem_id="attention-text-layer")
        head = gr.Slider(1, 6, value=1, step=1, label=t("attention.head"), elem_id="attention-text-head")
    note = gr.Markdown(elem_id="attention-head-note")
    # Captions as text above the pictures: a floating label would hide their top rows.
    with gr.Row():
        with gr.Column():
            gr.Markdown(t("attention.head_view"))
            head_view = gr.Image(label=t("attention.head_view"), show_label=False, interactive=False,
                                 elem_id="attention-head-view")
        with gr.Column():
            gr.Markdown(t("attention.head_grid"))
            head_grid = gr.Image(label=t("attention.head_grid"), show_label=False, interactive=False,
                                 elem_id="attention-head-grid")
            patterns = gr.Dataframe(label=t("attention.patterns"), interactive=False, wrap=True)
    with gr.Accordion(t("attention.steps"), open=False):
        gr.Markdown(t("attention.steps_help"))
        with gr.Row():
            step_text = gr.Textbox(label=t("attention.step_text"), value=DEFAULT_STEP_TEXT, max_lines=1, scale=3)
            step_run = gr.Button(t("attention.step_run"), scale=1)
        steps_note = gr.Markdown(elem_id="attention-steps-note")
        with gr.Row():
            q, k, v = (gr.Dataframe(label=name, interactive=False) for name in ("Q", "K", "V"))
        with gr.Row():
            scores = gr.Dataframe(label="QKᵀ / √d", interactive=False)
            masked = gr.Dataframe(label=t("attention.masked"), interactive=False)
        with gr.Row():
            weights = gr.Dataframe(label="softmax", interactive=False, elem_id="attention-softmax")
            out = gr.Dataframe(label=t("attention.head_out"), interactive=False)
    return dict(layer=layer, head=head, note=note, head_view=head_view, head_grid=head_grid, patterns=patterns,
                step_text=step_text, step_run=step_run,
                steps=[steps_note, q, k, v, scores, masked, weights, out])
