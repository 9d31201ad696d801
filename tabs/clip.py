"""CLIP tab: zero-shot classification, image-text retrieval, the similarity matrix behind
InfoNCE and the patch-text map.

UI only. The work: models/clip/predictor.py (two towers on any runtime, text-embedding cache),
models/clip/retrieval.py (exact / Faiss search), models/clip/gallery.py (what gets indexed),
models/clip/prompts.py (labels and templates) and models/clip/pictures.py (the pictures).
"""
from __future__ import annotations

import time

import gradio as gr
import numpy as np

from tabs.common import (BENCH, ModelPool, SafeImage, StudioContext, ab_panel, ab_result, heavy_queue, learn_accordion,
                         limits_note, missing_model, runtime_choices, runtime_picker, static_runtime_choices,
                         user_errors)
from tabs.i18n import lang_of, t, text

NAME = "clip"
THUMB_PX = 128             # gallery hits: ShapeWorld pictures are 64 px, enlarged without blur
DEFAULT_K = 8
STUDIO_LABELS = "purple star, purple heart, purple circle, red star, blue star, orange star"
PHOTO_LABELS = "a cat, a dog, a cup of coffee, an astronaut, a rocket, a teapot"
DEFAULT_QUERY = "a large purple star"
DEFAULT_PATCH_TEXT = "a red circle"
BATCH_SIZES = (4, 10)      # the similarity matrix stays readable up to 10 × 10


def warm(ctx: StudioContext) -> None:
    """Import what the first visit needs (torch, open_clip, matplotlib); no weights."""
    ctx.torch_device()
    import models.clip.pictures  # noqa: F401
    import models.clip.predictor  # noqa: F401


def _thumb(image: np.ndarray) -> np.ndarray:
    from models.viz import upscale
    return upscale(image, THUMB_PX) if image.shape[0] < THUMB_PX else image


def _scene_pair(seed: int | None = None) -> tuple[np.ndarray, str]:
    """One picture with two shapes side by side (for the patch map): where is *the red circle*?"""
    from models.shapeworld import make_scene
    rng = np.random.default_rng(seed)
    for _ in range(20):
        scene = make_scene(int(rng.integers(1 << 30)), 0, split="val", image_size=64, min_objects=2,
                           max_objects=3)
        if len({(s.colour, s.shape) for s in scene.specs}) == len(scene.specs):
            return scene.image, f"a {scene.specs[0].colour} {scene.specs[0].shape}"
    return scene.image, f"a {scene.specs[0].colour} {scene.specs[0].shape}"


def build(ctx: StudioContext, demo: gr.Blocks) -> gr.Tab:
    from models.clip.gallery import GALLERY_SIZES
    from models.clip.prompts import PHOTO_TEMPLATES, STUDIO_TEMPLATES
    from models.clip.sources import CLIP_SOURCES
    from models.examples import photo_example_paths, shape_example_paths

    def make_clip(source_key: str, path: str):
        from models.clip.predictor import ClipPredictor
        return ClipPredictor(source_key, device=ctx.torch_device(), weights_path=path or None,
                             checkpoint_root=ctx.checkpoint_root, cache_dir=ctx.cache_dir)

    clips = ModelPool(make_clip, 2)
    if ctx.preload:
        clips.get("studio", "")
    choices = static_runtime_choices()

    def clip(source_key, path, progress=None, lang="en"):
        return clips.load((source_key, (path or "").strip()), progress,
                          text("common.loading", lang, what=CLIP_SOURCES[source_key].label))

    # ------------------------------------------------------------------ model
    @user_errors
    def describe(source_key, path, request: gr.Request, progress=gr.Progress()):
        """Model facts; the scale slider starts at the model's learned value."""
        lang = lang_of(request)
        live = gr.update(choices=runtime_choices(ctx.torch_device()))
        try:
            p = clip(source_key, path, progress, lang)
        except Exception as e:  # noqa: BLE001 — a missing model is a status line, not a crash
            return missing_model(e, CLIP_SOURCES[source_key].label, lang), gr.update(), live, live, live
        status = "✅ " + text("clip.model_ok", lang, label=CLIP_SOURCES[source_key].label,
                             params=f"{p.num_parameters():,}", size=p.image_size, grid=p.grid,
                             context=p.context_length, dim=p.model.visual.output_dim,
                             scale=f"{p.logit_scale:.1f}")
        if source_key == "studio":
            held = ", ".join(p.card["data"]["held_out_pairs"])
            status += " " + text("clip.studio_hint", lang, held=held)
        return status, gr.update(value=round(p.logit_scale, 1)), live, live, live

    def source_defaults(source_key):
        studio = source_key == "studio"
        return (gr.update(visible=not studio), STUDIO_LABELS if studio else PHOTO_LABELS,
                "\n".join(STUDIO_TEMPLATES if studio else PHOTO_TEMPLATES))

    # ------------------------------------------------------------------ zero-shot
    @user_errors
    def classify(image, labels_text, templates_text, source_key, path, runtime, request: gr.Request,
                 progress=gr.Progress()):
        from models.clip.prompts import parse_labels, parse_templates
        lang = lang_of(request)
        if image is None:
            raise gr.Error(text("clip.no_image", lang), print_exception=False)
        labels, templates = parse_labels(labels_text), parse_templates(templates_text)
        try:
            p = clip(source_key, path, progress, lang)
        except Exception as e:  # noqa: BLE001
            return None, missing_model(e, CLIP_SOURCES[source_key].label, lang)
        progress(0.4, desc=text("common.building", lang, name=runtime))
        z = p.zero_shot(image, labels, templates, backend=runtime)
        best = int(z.probs.argmax())
        status = text("clip.zs_ran", lang, labels=len(labels), templates=len(templates),
                      prompts=len(labels) * len(templates), cached=z.cached_prompts, text_ms=f"{z.text_ms:.1f}",
                      image_ms=f"{z.image_ms:.1f}", runtime=z.runtime, best=labels[best],
                      prob=f"{z.probs[best]:.2f}")
        return {"labels": labels, "cosines": z.cosines}, status

    def render_bars(state, scale, request: gr.Request):
        """Bars and table for ``state`` at the slider's scale: numpy only, no model call."""
        from models.classification import softmax
        from models.clip.pictures import zero_shot_bars
        if not state:
            return None, None
        lang = lang_of(request)
        cos = np.asarray(state["cosines"], np.float64)
        logits = float(scale) * cos
        probs = softmax(logits)
        order = np.argsort(-probs, kind="stable")
        rows = [[state["labels"][i], round(float(cos[i]), 4), round(float(logits[i]), 2), round(float(probs[i]), 4)]
                for i in order]
        headers = [text(k, lang) for k in ("clip.col_label", "clip.col_cosine", "clip.col_logit", "clip.col_prob")]
        return (zero_shot_bars(state["labels"], cos, probs, float(scale)),
                gr.update(value=rows, headers=headers))

    def random_shape():
        from models.examples import random_shape as fresh_shape
        return fresh_shape()

    # ------------------------------------------------------------------ retrieval
    @user_errors
    def index_gallery(choice, uploads, labels_text, source_key, path, runtime, request: gr.Request,
                      progress=gr.Progress()):
        from models.clip.gallery import shapeworld_gallery, upload_gallery
        from models.clip.prompts import parse_labels
        from models.images import load_image
        lang = lang_of(request)
        p = clip(source_key, path, progress, lang)
        t0 = time.perf_counter()
        if choice == "uploads":
            files = [getattr(f, "name", f) for f in (uploads or [])]
            gallery = upload_gallery([p.model_view(load_image(f)) for f in files],
                                     [str(f).rsplit("/", 1)[-1] for f in files])
            captions = parse_labels(labels_text)
            captions_from = text("clip.labels", lang)
        else:
            gallery = shapeworld_gallery(int(choice), p.image_size)
            captions = sorted(set(gallery.captions))
            captions_from = f"{len(captions)} ShapeWorld"
        progress(0.1, desc=text("common.building", lang, name=runtime))
        images = p.index_images(gallery.images, list(range(len(gallery))), backend=runtime,
                                progress=lambda f, m: progress(0.1 + 0.8 * f, desc=m))
        sentences = p.index_sentences(captions, backend=runtime)
        seconds = time.perf_counter() - t0
        state = {"images": images, "sentences": sentences, "gallery": gallery, "key": (source_key, path, runtime)}
        status = text("clip.indexed", lang, n=len(gallery), seconds=f"{seconds:.1f}",
                      runtime=p.image_backend(runtime).describe(), how=images.describe(), captions=captions_from)
        return state, status

    def _check_index(state, source_key, path, runtime, lang):
        if not state:
            raise gr.Error(text("clip.no_index", lang), print_exception=False)
        if state["key"] != (source_key, path, runtime):
            raise gr.Error(text("clip.stale_index", lang), print_exception=False)

    @user_errors
    def search_text(query, k, state, source_key, path, runtime, request: gr.Request):
        lang = lang_of(request)
        _check_index(state, source_key, path, runtime, lang)
        query = " ".join((query or "").split())
        if not query:
            raise gr.Error(text("clip.no_query", lang), print_exception=False)
        p = clip(source_key, path)
        t0 = time.perf_counter()
        q, _ = p.embed_texts([query], runtime)
        hits = state["images"].search(q, int(k))[0]
        ms = (time.perf_counter() - t0) * 1000
        gallery = state["gallery"]
        items = [(_thumb(gallery.images[h.payload]),
                  f"{h.score:.3f} {gallery.captions[h.payload] or gallery.names[h.payload]}") for h in hits]
        held = sum(gallery.held_out[h.payload] for h in hits)
        status = text("clip.searched", lang, k=len(hits), n=len(gallery), ms=f"{ms:.1f}",
                      how=state["images"].describe(), held=held)
        return items, status

    @user_errors
    def search_image(image, k, state, source_key, path, runtime, request: gr.Request):
        lang = lang_of(request)
        _check_index(state, source_key, path, runtime, lang)
        if image is None:
            raise gr.Error(text("clip.no_image", lang), print_exception=False)
        p = clip(source_key, path)
        q, _ = p.embed_images([image], runtime)
        hits = state["sentences"].search(q, int(k))[0]
        headers = [text(k_, lang) for k_ in ("clip.col_rank", "clip.col_caption", "clip.col_score")]
        return gr.update(value=[[r + 1, h.payload, round(h.score, 4)] for r, h in enumerate(hits)], headers=headers)

    # ------------------------------------------------------------------ similarity + patches
    def new_batch(n):
        from models.clip.gallery import shapeworld_gallery
        batch = shapeworld_gallery(int(n), seed=int(np.random.default_rng().integers(1 << 30)))
        return {"images": batch.images, "captions": batch.captions}

    @user_errors
    def similarity(batch, source_key, path, runtime, request: gr.Request, progress=gr.Progress()):
        from models.clip.pictures import similarity_matrix
        lang = lang_of(request)
        if not batch:
            return None, ""
        try:
            p = clip(source_key, path, progress, lang)
        except Exception as e:  # noqa: BLE001
            return None, missing_model(e, CLIP_SOURCES[source_key].label, lang)
        s = p.similarity(batch["images"], batch["captions"], backend=runtime)
        n = len(batch["captions"])
        right = int((s.cosines.argmax(axis=1) == np.arange(n)).sum())
        note = text("clip.matrix_note", lang, loss=f"{s.info_nce():.3g}", n=n, chance=f"{np.log(n):.3f}",
                    right=right)
        return similarity_matrix(batch["images"], batch["captions"], s.cosines), note

    @user_errors
    def patch_map(image, sentence, source_key, path, runtime, request: gr.Request, progress=gr.Progress()):
        from models.clip.pictures import patch_text_map
        lang = lang_of(request)
        if image is None:
            raise gr.Error(text("clip.no_image", lang), print_exception=False)
        sentence = " ".join((sentence or "").split())
        if not sentence:
            raise gr.Error(text("clip.no_query", lang), print_exception=False)
        p = clip(source_key, path, progress, lang)
        view = p.model_view(image)
        cos = p.patch_map(view, sentence, backend=runtime)
        note = text("clip.patch_note", lang, grid=p.grid, lo=f"{cos.min():.3f}", hi=f"{cos.max():.3f}")
        return patch_text_map(view, cos), note

    def random_pair():
        return _scene_pair()

    # ------------------------------------------------------------------ A/B
    @user_errors
    def run_ab(which, batch, source_key, path, a, b, runs, request: gr.Request, progress=gr.Progress()):
        from models.bench import run_bench
        from models.clip.bench import BENCH_IMAGES, bench_pictures, image_spec_for, text_spec_for
        from tabs.common import progress_adapter
        lang = lang_of(request)
        p = clip(source_key, path, progress, lang)
        images = batch["images"] if batch else bench_pictures(BENCH_IMAGES, p.image_size)
        spec = (image_spec_for if which == "image" else text_spec_for)(p, images)
        report = run_bench(spec, [a, b], runs=int(runs), warmup=3, device=ctx.torch_device(),
                           cache_dir=ctx.cache_dir, progress=progress_adapter(progress))
        rows, headers, verdict = ab_result(report, a, b, lang)
        return gr.update(value=rows, headers=headers), verdict

    # ------------------------------------------------------------------ layout
    shape_examples = [str(p) for p in shape_example_paths()]
    with gr.Tab(t("clip.tab"), id=NAME) as tab:
        gr.Markdown(t("clip.intro"))
        limits_note("clip")
        with gr.Row():
            source = gr.Dropdown([(s.label, k) for k, s in CLIP_SOURCES.items()], value="studio",
                                 label=t("common.source"), scale=2)
            runtime = runtime_picker(ctx, choices)
        weights_path = gr.Textbox(label=t("clip.weights_path"), max_lines=1, visible=False,
                                  placeholder="~/models/ViT-B-32/open_clip_model.safetensors")
        status = gr.Markdown(elem_id="clip-status")
        with gr.Tabs():
            with gr.Tab(t("clip.zs_tab"), id="clip-zero-shot"):
                with gr.Row():
                    with gr.Column(scale=1, min_width=280):
                        image = SafeImage(label=t("clip.image"), type="numpy", sources=["upload", "clipboard"],
                                          height=240, image_mode="RGB", value=shape_examples[0])
                        random_btn = gr.Button(t("clip.random"), size="sm")
                        gr.Examples([[p] for p in shape_examples + [str(p) for p in photo_example_paths()]],
                                    inputs=[image], label=t("clip.examples"), examples_per_page=11,
                                    elem_id="clip-examples")
                    with gr.Column(scale=2):
                        labels = gr.Textbox(label=t("clip.labels"), info=t("clip.labels_info"), value=STUDIO_LABELS,
                                            lines=2, max_lines=4, elem_id="clip-labels")
                        templates = gr.Textbox(label=t("clip.templates"), info=t("clip.templates_info"),
                                               value="\n".join(STUDIO_TEMPLATES), lines=4, max_lines=8,
                                               elem_id="clip-templates")
                        with gr.Row():
                            studio_tpl = gr.Button(t("clip.studio_templates"), size="sm")
                            photo_tpl = gr.Button(t("clip.photo_templates"), size="sm")
                        scale = gr.Slider(1, 100, value=14.3, step=0.1, label=t("clip.scale"), elem_id="clip-scale")
                        classify_btn = gr.Button(t("clip.classify"), variant="primary")
                zs_status = gr.Markdown(elem_id="clip-zs-status")
                gr.Markdown(t("clip.bars"))   # a caption above: a floating label would hide the titles
                bars = gr.Image(label=t("clip.bars"), show_label=False, interactive=False, elem_id="clip-bars")
                zs_table = gr.Dataframe(label=t("clip.zs_table"), interactive=False, wrap=True, elem_id="clip-zs-table")
            with gr.Tab(t("clip.ret_tab"), id="clip-retrieval"):
                with gr.Row():
                    gallery_choice = gr.Radio(
                        [(text("clip.gallery_shapeworld", "en", n=n), str(n)) for n in GALLERY_SIZES]
                        + [(text("clip.gallery_uploads", "en"), "uploads")],
                        value=str(GALLERY_SIZES[1]), label=t("clip.gallery_source"), scale=3)
                    index_btn = gr.Button(t("clip.index"), variant="primary", scale=1)
                uploads = gr.File(label=t("clip.uploads"), file_count="multiple", file_types=["image"], visible=False)
                index_status = gr.Markdown(elem_id="clip-index-status")
                with gr.Row():
                    query = gr.Textbox(label=t("clip.query"), value=DEFAULT_QUERY, max_lines=1, scale=3,
                                       elem_id="clip-query")
                    k = gr.Slider(1, 24, value=DEFAULT_K, step=1, label=t("clip.k"), scale=1)
                    search_btn = gr.Button(t("clip.search"), variant="primary", scale=1)
                search_status = gr.Markdown(elem_id="clip-search-status")
                hits = gr.Gallery(label=t("clip.hits"), columns=6, height=400, object_fit="contain",
                                  allow_preview=False, elem_id="clip-hits")
                with gr.Row():
                    with gr.Column(scale=1):
                        image_query = SafeImage(label=t("clip.image_query"), type="numpy",
                                                sources=["upload", "clipboard"], height=200, image_mode="RGB",
                                                value=shape_examples[1])
                        describe_btn = gr.Button(t("clip.describe"))
                    with gr.Column(scale=2):
                        captions = gr.Dataframe(label=t("clip.captions"), interactive=False, wrap=True,
                                                elem_id="clip-captions")
            with gr.Tab(t("clip.sim_tab"), id="clip-similarity"):
                with gr.Row():
                    batch_n = gr.Slider(*BATCH_SIZES, value=6, step=1, label=t("clip.batch"), scale=3)
                    batch_btn = gr.Button(t("clip.new_batch"), scale=1)
                matrix = gr.Image(label=t("clip.matrix"), interactive=False, elem_id="clip-matrix")
                matrix_note = gr.Markdown(elem_id="clip-matrix-note")
                with gr.Row():
                    with gr.Column(scale=1):
                        pair_image, pair_text = _scene_pair(0)
                        patch_image = SafeImage(label=t("clip.patch_image"), type="numpy",
                                                sources=["upload", "clipboard"], height=240, image_mode="RGB",
                                                value=_thumb(pair_image))
                        patch_sentence = gr.Textbox(label=t("clip.patch_text"), value=pair_text, max_lines=1)
                        with gr.Row():
                            pair_btn = gr.Button(t("clip.random"), size="sm")
                            patch_btn = gr.Button(t("clip.patch_run"), variant="primary", size="sm")
                    with gr.Column(scale=1):
                        patch_view = gr.Image(label=t("clip.patch_map"), interactive=False, elem_id="clip-patch-map")
                        patch_note = gr.Markdown()
        ab_which = gr.Radio([(t("clip.ab_image"), "image"), (t("clip.ab_text"), "text")], value="image",
                            label=t("clip.ab_which"))
        ab = ab_panel(ctx, choices)
        learn_accordion("clip.learn")

        zs_state = gr.State(None)
        index_state = gr.State(None)
        batch_state = gr.State(None)

        # ------------------------------------------------------------------ events
        heavy = heavy_queue(NAME)
        hidden = dict(api_visibility="undocumented")
        private = dict(api_visibility="private")
        model_inputs = [source, weights_path, runtime]
        described = [status, scale, runtime, ab.a, ab.b]

        def classify_chain(trigger, **kw):
            return (trigger(classify, [image, labels, templates] + model_inputs, [zs_state, zs_status], **kw, **heavy)
                    .then(render_bars, [zs_state, scale], [bars, zs_table], **private))

        def similarity_chain(trigger, **kw):
            return trigger(similarity, [batch_state] + model_inputs, [matrix, matrix_note], **kw, **heavy)

        source.change(source_defaults, source, [weights_path, labels, templates], queue=False, **private)
        for trigger in (source.change, weights_path.submit):
            classify_chain(trigger(describe, [source, weights_path], described, **hidden, **heavy).then, **hidden)
        classify_chain(classify_btn.click, api_name="zero_shot")
        classify_chain(image.change, **hidden)
        classify_chain(runtime.change, **hidden)
        classify_chain(labels.submit, **hidden)
        scale.release(render_bars, [zs_state, scale], [bars, zs_table], **private)
        random_btn.click(random_shape, None, image, queue=False, **private)
        studio_tpl.click(lambda: "\n".join(STUDIO_TEMPLATES), None, templates, queue=False, **private)
        photo_tpl.click(lambda: "\n".join(PHOTO_TEMPLATES), None, templates, queue=False, **private)

        gallery_choice.change(lambda c: gr.update(visible=c == "uploads"), gallery_choice, uploads, queue=False,
                              **private)
        index_btn.click(index_gallery, [gallery_choice, uploads, labels] + model_inputs, [index_state, index_status],
                        api_name="index_gallery", **heavy) \
            .then(search_text, [query, k, index_state] + model_inputs, [hits, search_status], **private)
        search_args = (search_text, [query, k, index_state] + model_inputs, [hits, search_status])
        search_btn.click(*search_args, api_name="search_images", **heavy)
        query.submit(*search_args, **hidden, **heavy)
        describe_btn.click(search_image, [image_query, k, index_state] + model_inputs, captions,
                           api_name="search_captions", **heavy)

        similarity_chain(batch_btn.click(new_batch, batch_n, batch_state, **private).then, **hidden)
        similarity_chain(batch_n.release(new_batch, batch_n, batch_state, **private).then, **hidden)
        patch_inputs = [patch_image, patch_sentence] + model_inputs
        patch_btn.click(patch_map, patch_inputs, [patch_view, patch_note], api_name="patch_map", **heavy)
        pair_btn.click(random_pair, None, [patch_image, patch_sentence], queue=False, **private) \
            .then(patch_map, patch_inputs, [patch_view, patch_note], **private, **heavy)

        ab.button.click(run_ab, [ab_which, batch_state, source, weights_path, ab.a, ab.b, ab.runs],
                        [ab.table, ab.summary], api_name="compare_clip_runtimes",
                        concurrency_id=BENCH, concurrency_limit=1)

        # The first visit loads the studio CLIP and shows every view once.
        first = tab.select(describe, [source, weights_path], described, **hidden, **heavy)
        classify_chain(first.then, **hidden)
        similarity_chain(first.then(new_batch, batch_n, batch_state, **private).then, **hidden)
        first.then(patch_map, patch_inputs, [patch_view, patch_note], **private, **heavy)
    return tab
