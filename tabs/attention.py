"""Attention tab: where a transformer looks, in an image (ViT) and in a sentence (GPT).

UI only. The work: models/vit/predictor.py (ViT + attention weights on any runtime),
models/gpt/attention.py (GPT's attention, the step-by-step head), models/vit/maps.py (rollout,
patterns, position similarity) and models/vit/pictures.py (the pictures).
"""
from __future__ import annotations

import gradio as gr
import numpy as np

from tabs.common import (BENCH, RUNTIME_LABELS, ModelPool, SafeImage, StudioContext, ab_panel, ab_result, heavy_queue,
                         learn_accordion, limits_note, missing_model, progress_adapter, runtime_choices,
                         runtime_picker, static_runtime_choices, user_errors)
from tabs.i18n import lang_of, t, text

NAME = "attention"
DISPLAY_PX = 320          # the clickable image: big enough to hit an 8 × 8 grid's patches
HEAD_TILE_PX = 150        # one head's map in the per-head gallery
STEP_DIMS = 4             # Q, K, V columns printed in the step-by-step tables (of d per head)
TOP_PATTERNS = 10         # rows of the "heads with a pattern" table
DEFAULT_TEXT = "ROMEO. But soft, what light through yonder window breaks? It is the east, and Juliet is the sun."
DEFAULT_STEP_TEXT = "To be or not to be"
TEXT_EXAMPLES = [DEFAULT_TEXT, "The cat sat on the mat because the cat was tired.",
                 "KING. Now is the winter of our discontent made glorious summer"]
# Which CNN draws the Grad-CAM beside a ViT: same training data where possible.
GRADCAM_CNN = {"studio": ("studio",), "vit_b_16": ("resnet18", "mobilenet_v2")}

CSS = """
#attention-patch-view img { cursor: crosshair; }
"""


def warm(ctx: StudioContext) -> None:
    """Import what the first visit needs (torch, transformers' ViT/GPT-2, matplotlib); no weights."""
    ctx.torch_device()
    import models.gpt.attention  # noqa: F401
    import models.vit.pictures  # noqa: F401
    import models.vit.predictor  # noqa: F401
    import matplotlib.pyplot  # noqa: F401


def build(ctx: StudioContext, demo: gr.Blocks) -> gr.Tab:
    from models.examples import photo_example_paths, shape_example_paths
    from models.gpt.sources import GPT_SOURCES
    from models.vit.maps import FUSIONS
    from models.vit.sources import VIT_SOURCES

    def make_vit(source_key: str, path: str):
        from models.vit.predictor import ViTPredictor
        return ViTPredictor(source_key, device=ctx.torch_device(), model_path=path or None,
                            checkpoint_root=ctx.checkpoint_root, cache_dir=ctx.cache_dir)

    def make_text(source_key: str):
        from models.gpt.attention import TextAttentionPredictor
        from models.gpt.predictor import GPTPredictor
        return TextAttentionPredictor(GPTPredictor(source_key, device=ctx.torch_device(),
                                                   checkpoint_root=ctx.checkpoint_root, cache_dir=ctx.cache_dir))

    def make_cnn(source_key: str):
        from models.cnn.predictor import CNNPredictor
        return CNNPredictor(source_key, device=ctx.torch_device(), checkpoint_root=ctx.checkpoint_root,
                            cache_dir=ctx.cache_dir)

    vits, texts, cnns = ModelPool(make_vit, 2), ModelPool(make_text, 2), ModelPool(make_cnn, 2)
    if ctx.preload:
        vits.get("studio", "")
        texts.get("studio")
    choices = static_runtime_choices()

    def vit(source_key, path, progress=None, lang="en"):
        return vits.load((source_key, (path or "").strip()), progress,
                         text("common.loading", lang, what=VIT_SOURCES[source_key].label))

    def gpt(source_key, progress=None, lang="en"):
        return texts.load((source_key,), progress, text("common.loading", lang, what=GPT_SOURCES[source_key].label))

    # ------------------------------------------------------------------ image: callbacks
    @user_errors
    def describe_vit(source_key, path, request: gr.Request, progress=gr.Progress()):
        """Model-level facts: status, slider ranges, the position-embedding picture."""
        from models.vit.maps import position_similarity
        from models.vit.pictures import position_mosaic
        lang = lang_of(request)
        live = gr.update(choices=runtime_choices(ctx.torch_device()))
        try:
            p = vit(source_key, path, progress, lang)
        except Exception as e:  # noqa: BLE001 — a missing model is a status line, not a crash
            return (missing_model(e, VIT_SOURCES[source_key].label, lang), gr.update(), gr.update(), None, "", live, live,
                    live, gr.update())
        status = "✅ " + text("attention.vit_ok", lang, label=VIT_SOURCES[source_key].label,
                             params=f"{p.num_parameters():,}", layers=p.num_layers, heads=p.num_heads,
                             size=p.image_size, patch=p.patch_size, grid=p.grid, tokens=p.grid ** 2 + 1)
        if p.is_hybrid:
            status += " " + text("attention.hybrid_hint", lang)
        pos = p.position_embeddings()
        mosaic = position_mosaic(position_similarity(pos), tile=max(12, DISPLAY_PX // p.grid))
        note = text("attention.pos_note", lang, grid=p.grid, dim=pos.shape[1])
        return (status, gr.update(maximum=p.num_layers, value=p.num_layers),
                gr.update(maximum=p.num_heads, value=1), mosaic, note, live, live, live,
                gr.update(columns=2 if p.num_heads <= 4 else 4))

    @user_errors
    def analyse_image(image, source_key, path, runtime, request: gr.Request, progress=gr.Progress()):
        """Run the ViT graph on the chosen runtime; keep the weights for the views (gr.State)."""
        lang = lang_of(request)
        if image is None:
            return None, None, None, ""
        try:
            p = vit(source_key, path, progress, lang)
        except Exception as e:  # noqa: BLE001 — the status line says why (no second pop-up)
            return None, None, None, missing_model(e, VIT_SOURCES[source_key].label, lang)
        view = p.model_view(image)
        progress(0.3, desc=text("common.building", lang, name=RUNTIME_LABELS.get(runtime, runtime)))
        r = p.analyse(view, backend=runtime, progress=progress_adapter(progress))
        status = text("attention.image_ran", lang, runtime=r.runtime, ms=f"{r.ms:.1f}",
                      shape="×".join(map(str, r.attentions.shape)))
        state = {"view": view, "att": r.attentions, "grid": p.grid, "source": source_key}
        return state, None, dict(r.top), status

    def _image_views(state, layer, head, average, query, lang):
        """The query's map, every head's map and the caption (the rollout has its own callback:
        it depends on neither the layer, the head nor the query)."""
        from models.vit.maps import query_map
        from models.vit.pictures import patch_overlay
        if not state:
            return None, None, ""
        att, view, g = state["att"], state["view"], state["grid"]
        layer = int(min(max(layer, 1), att.shape[0])) - 1
        head_index = None if average else int(min(max(head, 1), att.shape[1])) - 1
        q_token = 0 if query is None else 1 + query[0] * g + query[1]
        heat, on_cls = query_map(att, layer, head_index, q_token)
        scaled = heat / max(heat.max(), 1e-12)
        main = patch_overlay(view, scaled, DISPLAY_PX, query)
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
    def render_image(state, layer, head, average, query, request: gr.Request):
        return _image_views(state, layer, head, average, query, lang_of(request))

    @user_errors
    def render_rollout(state, fusion, discard):
        from models.vit.maps import rollout_map
        from models.vit.pictures import patch_overlay
        if not state:
            return None
        return patch_overlay(state["view"], rollout_map(state["att"], fusion, float(discard)), DISPLAY_PX)

    @user_errors
    def pick_patch(state, layer, head, average, evt: gr.SelectData, request: gr.Request):
        from models.vit.pictures import patch_of
        if not state:
            raise gr.Error(text("attention.no_image", lang_of(request)))
        x, y = evt.index
        query = patch_of(x, y, DISPLAY_PX, DISPLAY_PX, state["grid"])
        return (query, *_image_views(state, layer, head, average, query, lang_of(request)))

    def pick_head(evt: gr.SelectData):
        return gr.update(value=int(evt.index) + 1), False

    @user_errors
    def gradcam(state, source_key, request: gr.Request, progress=gr.Progress()):
        """The CNN tab's Grad-CAM on the same pixels the ViT saw (eager: it needs gradients)."""
        from models.cnn.sources import CNN_SOURCES
        from models.viz import overlay
        lang = lang_of(request)
        if not state:
            return None, ""
        for cnn_key in GRADCAM_CNN.get(source_key, ("studio",)):
            try:
                cnn = cnns.load((cnn_key,), progress, text("common.loading", lang, what=CNN_SOURCES[cnn_key].label))
            except Exception:  # noqa: BLE001 — try the next CNN; say so below if none loads
                continue
            heat, cls = cnn.attribute(state["view"], "Grad-CAM")
            note = text("attention.gradcam_note", lang, cnn=CNN_SOURCES[cnn_key].label, cls=cnn.class_names[cls])
            return overlay(state["view"], heat, size=DISPLAY_PX), note
        return None, text("attention.gradcam_missing", lang)

    def reset_query():
        return None

    def random_shape():
        from models.examples import random_shape as fresh_shape
        return fresh_shape()

    # ------------------------------------------------------------------ text: callbacks
    @user_errors
    def describe_gpt(source_key, request: gr.Request, progress=gr.Progress()):
        lang = lang_of(request)
        try:
            p = gpt(source_key, progress, lang)
        except Exception as e:  # noqa: BLE001
            return missing_model(e, GPT_SOURCES[source_key].label, lang), gr.update(), gr.update()
        status = "✅ " + text("attention.gpt_ok", lang, label=GPT_SOURCES[source_key].label,
                             layers=p.num_layers, heads=p.num_heads)
        return status, gr.update(maximum=p.num_layers, value=1), gr.update(maximum=p.num_heads, value=1)

    @user_errors
    def analyse_text(sentence, source_key, runtime, previous, request: gr.Request, progress=gr.Progress()):
        """Run the GPT attention graph; the first time, open the head with the clearest pattern."""
        from models.vit.maps import PATTERNS, head_patterns
        lang = lang_of(request)
        try:
            p = gpt(source_key, progress, lang)
        except Exception as e:  # noqa: BLE001 — the status line says why (no second pop-up)
            return None, None, missing_model(e, GPT_SOURCES[source_key].label, lang), None, gr.update(), gr.update()
        progress(0.3, desc=text("common.building", lang, name=RUNTIME_LABELS.get(runtime, runtime)))
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
                                                                        "attention.col_pattern",
                                                                        "attention.col_score")])
        state = {"att": r.attentions, "tokens": r.tokens, "scores": scores}
        if previous is None and rows:
            return state, dict(r.next_top), status, table, gr.update(value=rows[0][0]), gr.update(value=rows[0][1])
        return state, dict(r.next_top), status, table, gr.update(), gr.update()

    @user_errors
    def render_text(state, layer, head, request: gr.Request):
        from models.vit.maps import PATTERNS
        from models.vit.pictures import head_grid, token_heatmap
        lang = lang_of(request)
        if not state:
            return None, None, ""
        att = state["att"]
        layer = int(min(max(layer, 1), att.shape[0])) - 1
        head = int(min(max(head, 1), att.shape[1])) - 1
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
    def step_by_step(sentence, source_key, layer, head, request: gr.Request, progress=gr.Progress()):
        lang = lang_of(request)
        p = gpt(source_key, progress, lang)
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

    # ------------------------------------------------------------------ A/B
    @user_errors
    def run_ab(which, state_img, img_source, img_path, sentence, txt_source, a, b, runs, request: gr.Request,
               progress=gr.Progress()):
        from models.bench import run_bench
        lang = lang_of(request)
        if which == "text":
            from models.gpt.attention_bench import spec_for as text_spec
            spec = text_spec(gpt(txt_source, progress, lang), sentence)
        else:
            from models.vit.bench import spec_for
            if not state_img:
                raise gr.Error(text("attention.no_image", lang))
            spec = spec_for(vit(img_source, img_path, progress, lang), state_img["view"])
        report = run_bench(spec, [a, b], runs=int(runs), warmup=3, device=ctx.torch_device(),
                           cache_dir=ctx.cache_dir, progress=progress_adapter(progress))
        rows, headers, verdict = ab_result(report, a, b, lang)
        return gr.update(value=rows, headers=headers), verdict

    # ------------------------------------------------------------------ layout
    shape_examples = [str(p) for p in shape_example_paths()]
    with gr.Tab(t("attention.tab"), id=NAME) as tab:
        gr.Markdown(t("attention.intro"))
        limits_note("attention")
        runtime = runtime_picker(ctx, choices)
        with gr.Tabs():
            with gr.Tab(t("attention.image_tab"), id="attention-image"):
                with gr.Row():
                    with gr.Column(scale=1, min_width=300):
                        image = SafeImage(label=t("attention.input"), type="numpy", sources=["upload", "clipboard"],
                                          height=260, image_mode="RGB", value=shape_examples[0])
                        with gr.Row():
                            random_btn = gr.Button(t("attention.random"), size="sm")
                            run_btn = gr.Button(t("attention.analyse"), variant="primary", size="sm")
                        gr.Examples([[p] for p in shape_examples + [str(p) for p in photo_example_paths()]],
                                    inputs=[image], label=t("attention.examples"), examples_per_page=11,
                                    elem_id="attention-examples")
                    with gr.Column(scale=1, min_width=300):
                        vit_source = gr.Dropdown([(s.label, k) for k, s in VIT_SOURCES.items()], value="studio",
                                                 label=t("common.source"))
                        vit_path = gr.Textbox(label=t("attention.vit_path"), max_lines=1, visible=False,
                                              placeholder="~/models/vit-base-patch16-224")
                        vit_status = gr.Markdown()
                        prediction = gr.Label(num_top_classes=5, label=t("attention.prediction"),
                                              elem_id="attention-prediction")
                        image_status = gr.Markdown()
                with gr.Row():
                    layer = gr.Slider(1, 4, value=4, step=1, label=t("attention.layer"), elem_id="attention-layer")
                    head = gr.Slider(1, 4, value=1, step=1, label=t("attention.head"), elem_id="attention-head")
                    average = gr.Checkbox(value=True, label=t("attention.average"), elem_id="attention-average")
                with gr.Row():
                    with gr.Column(scale=1):
                        patch_caption = gr.Markdown(elem_id="attention-patch-caption")
                        patch_view = gr.Image(label=t("attention.patch_view"), interactive=False,
                                              height=DISPLAY_PX + 20, elem_id="attention-patch-view")
                        back_btn = gr.Button(t("attention.back_to_cls"), size="sm")
                    with gr.Column(scale=1):
                        gr.Markdown(t("attention.heads_help"))
                        head_gallery = gr.Gallery(label=t("attention.per_head"), columns=2, object_fit="contain",
                                                  height="auto", allow_preview=False,
                                                  elem_id="attention-head-gallery")
                with gr.Tabs():
                    with gr.Tab(t("attention.rollout_tab")):
                        gr.Markdown(t("attention.rollout_help"))
                        with gr.Row():
                            fusion = gr.Radio(list(FUSIONS), value="max", label=t("attention.fusion"))
                            discard = gr.Slider(0.0, 0.95, value=0.9, step=0.05, label=t("attention.discard"))
                        with gr.Row():
                            rollout_view = gr.Image(label=t("attention.rollout"), interactive=False,
                                                    height=DISPLAY_PX + 20, elem_id="attention-rollout")
                            gradcam_view = gr.Image(label=t("attention.gradcam"), interactive=False,
                                                    height=DISPLAY_PX + 20, elem_id="attention-gradcam")
                        gradcam_note = gr.Markdown()
                    with gr.Tab(t("attention.pos_tab")):
                        pos_note = gr.Markdown()
                        pos_view = gr.Image(label=t("attention.pos_view"), interactive=False, height=380,
                                            elem_id="attention-positions")
            with gr.Tab(t("attention.text_tab"), id="attention-text"):
                with gr.Row():
                    with gr.Column(scale=2):
                        sentence = gr.Textbox(label=t("attention.sentence"), value=DEFAULT_TEXT, lines=2,
                                              max_lines=4, elem_id="attention-sentence")
                        gr.Examples([[s] for s in TEXT_EXAMPLES], inputs=[sentence], label=t("attention.examples"))
                        text_btn = gr.Button(t("attention.analyse_text"), variant="primary", size="sm")
                    with gr.Column(scale=1):
                        gpt_source = gr.Dropdown([(s.label, k) for k, s in GPT_SOURCES.items()], value="studio",
                                                 label=t("common.source"))
                        gpt_status = gr.Markdown()
                        next_token = gr.Label(num_top_classes=5, label=t("attention.next_token"))
                        text_status = gr.Markdown()
                with gr.Row():
                    text_layer = gr.Slider(1, 4, value=1, step=1, label=t("attention.layer"),
                                           elem_id="attention-text-layer")
                    text_head = gr.Slider(1, 6, value=1, step=1, label=t("attention.head"),
                                          elem_id="attention-text-head")
                head_note = gr.Markdown(elem_id="attention-head-note")
                # Captions as text above the pictures: a floating label would hide their top rows.
                with gr.Row():
                    with gr.Column():
                        gr.Markdown(t("attention.head_view"))
                        head_view = gr.Image(label=t("attention.head_view"), show_label=False, interactive=False,
                                             elem_id="attention-head-view")
                    with gr.Column():
                        gr.Markdown(t("attention.head_grid"))
                        head_grid_view = gr.Image(label=t("attention.head_grid"), show_label=False,
                                                  interactive=False, elem_id="attention-head-grid")
                        patterns = gr.Dataframe(label=t("attention.patterns"), interactive=False, wrap=True)
                with gr.Accordion(t("attention.steps"), open=False):
                    gr.Markdown(t("attention.steps_help"))
                    with gr.Row():
                        step_text = gr.Textbox(label=t("attention.step_text"), value=DEFAULT_STEP_TEXT, max_lines=1,
                                               scale=3)
                        step_btn = gr.Button(t("attention.step_run"), scale=1)
                    steps_note = gr.Markdown(elem_id="attention-steps-note")
                    with gr.Row():
                        q_table = gr.Dataframe(label="Q", interactive=False)
                        k_table = gr.Dataframe(label="K", interactive=False)
                        v_table = gr.Dataframe(label="V", interactive=False)
                    with gr.Row():
                        scores_table = gr.Dataframe(label="QKᵀ / √d", interactive=False)
                        masked_table = gr.Dataframe(label=t("attention.masked"), interactive=False)
                    with gr.Row():
                        weights_table = gr.Dataframe(label="softmax", interactive=False, elem_id="attention-softmax")
                        out_table = gr.Dataframe(label=t("attention.head_out"), interactive=False)
        with gr.Row():
            ab_which = gr.Radio([(t("attention.image_tab"), "image"), (t("attention.text_tab"), "text")],
                                value="image", label=t("attention.ab_which"))
        ab = ab_panel(ctx, choices)
        learn_accordion("attention.learn")

        image_state = gr.State(None)
        text_state = gr.State(None)
        query = gr.State(None)

        # ------------------------------------------------------------------ events
        heavy = heavy_queue(NAME)
        hidden = dict(api_visibility="undocumented")
        private = dict(api_visibility="private")
        view_inputs = [image_state, layer, head, average, query]
        view_outputs = [patch_view, head_gallery, patch_caption]
        rollout_inputs = [image_state, fusion, discard]
        analysed = [image_state, query, prediction, image_status]
        analyse_inputs = [image, vit_source, vit_path, runtime]

        def analyse_chain(trigger, **kw):
            return (trigger(analyse_image, analyse_inputs, analysed, **kw, **heavy)
                    .then(render_image, view_inputs, view_outputs, **private)
                    .then(render_rollout, rollout_inputs, rollout_view, **private)
                    .then(gradcam, [image_state, vit_source], [gradcam_view, gradcam_note], **private, **heavy))

        vit_source.change(lambda k: gr.update(visible=k != "studio"), vit_source, vit_path, queue=False, **private)
        described = [vit_status, layer, head, pos_view, pos_note, runtime, ab.a, ab.b, head_gallery]
        analyse_chain(vit_source.change(describe_vit, [vit_source, vit_path], described, **hidden, **heavy).then)
        analyse_chain(vit_path.submit(describe_vit, [vit_source, vit_path], described, **hidden, **heavy).then)
        analyse_chain(run_btn.click, api_name="analyse_image")
        analyse_chain(image.change, **hidden)
        analyse_chain(runtime.change, **hidden)
        for control in (layer, head, average):
            control.input(render_image, view_inputs, view_outputs, **private)
        for control in (fusion, discard):
            control.input(render_rollout, rollout_inputs, rollout_view, **private)
        patch_view.select(pick_patch, [image_state, layer, head, average], [query] + view_outputs,
                          **private)
        head_gallery.select(pick_head, None, [head, average], **private) \
            .then(render_image, view_inputs, view_outputs, **private)
        back_btn.click(reset_query, None, query, **private).then(render_image, view_inputs, view_outputs, **private)
        random_btn.click(random_shape, None, image, queue=False, **private)

        text_views = [head_view, head_grid_view, head_note]
        text_analysed = [text_state, next_token, text_status, patterns, text_layer, text_head]

        def text_chain(trigger, **kw):
            return (trigger(analyse_text, [sentence, gpt_source, runtime, text_state], text_analysed, **kw, **heavy)
                    .then(render_text, [text_state, text_layer, text_head], text_views, **private))

        text_chain(text_btn.click, api_name="analyse_text")
        text_chain(sentence.submit, **hidden)
        text_chain(runtime.change, **hidden)
        text_chain(gpt_source.change(describe_gpt, gpt_source, [gpt_status, text_layer, text_head],
                                     **hidden, **heavy).then, **hidden)
        for control in (text_layer, text_head):
            control.input(render_text, [text_state, text_layer, text_head], text_views, **private)
        head_grid_view.select(pick_grid_head, text_state, [text_layer, text_head], **private) \
            .then(render_text, [text_state, text_layer, text_head], text_views, **private)
        step_outputs = [steps_note, q_table, k_table, v_table, scores_table, masked_table, weights_table, out_table]
        step_btn.click(step_by_step, [step_text, gpt_source, text_layer, text_head], step_outputs,
                       api_name="attention_steps", **heavy)

        ab.button.click(run_ab, [ab_which, image_state, vit_source, vit_path, sentence, gpt_source, ab.a, ab.b,
                                 ab.runs], [ab.table, ab.summary], api_name="compare_attention_runtimes",
                        concurrency_id=BENCH, concurrency_limit=1)

        # The first visit loads both models and shows the default image and sentence analysed.
        first = tab.select(describe_vit, [vit_source, vit_path], described, **hidden, **heavy)
        analyse_chain(first.then, **hidden)
        text_chain(tab.select(describe_gpt, gpt_source, [gpt_status, text_layer, text_head], **hidden, **heavy).then,
                   **hidden)
    return tab


def _num(v: float) -> str:
    """A table cell: 3 decimals, the causal mask's −∞ spelled out."""
    return "−∞" if np.isneginf(v) else f"{v:.3f}"
