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

from models.registry import Topic
from tabs.components import SafeImage
from tabs.errors import user_errors
from tabs.i18n import lang_of, t, text
from tabs.kit import (BENCH_QUEUE, PRIVATE, ModelSlot, StudioContext, ab_panel, api, bind, compare, examples, header,
                      heavy_queue, learn_accordion, runtime_picker, show_availability, source_picker, weights_path_box)

THUMB_PX = 128             # gallery hits: ShapeWorld pictures are 64 px, enlarged without blur
DEFAULT_K = 8
STUDIO_LABELS = "purple star, purple heart, purple circle, red star, blue star, orange star"
PHOTO_LABELS = "a cat, a dog, a cup of coffee, an astronaut, a rocket, a teapot"
DEFAULT_QUERY = "a large purple star"
BATCH_SIZES = (4, 10)      # the similarity matrix stays readable up to 10 × 10


def warm(ctx: StudioContext) -> None:
    """Import what the first visit needs (torch, open_clip, matplotlib); no weights."""
    ctx.torch_device()
    import models.clip.pictures  # noqa: F401
    import models.clip.predictor  # noqa: F401


def thumb(image: np.ndarray) -> np.ndarray:
    from models.viz import upscale
    return upscale(image, THUMB_PX) if image.shape[0] < THUMB_PX else image


# ---------------------------------------------------------------------------- model
@user_errors
def describe_model(slot: ModelSlot, source, weights_path, request: gr.Request, progress=gr.Progress()):
    """Model facts; the scale slider starts at the model's learned value."""
    lang = lang_of(request)
    p, status = slot.status(source, weights_path, progress, lang)
    if p is None:
        return status, gr.update()
    if p.src.studio:
        status += " " + text("clip.studio_hint", lang, held=", ".join(p.card["data"]["held_out_pairs"]))
    return status, gr.update(value=round(p.logit_scale, 1))


def source_defaults(source):
    """Labels and templates that suit the model: ShapeWorld words for the studio CLIP, photos for ViT-B-32."""
    from models.clip.prompts import PHOTO_TEMPLATES, STUDIO_TEMPLATES
    studio = source == "studio"
    return STUDIO_LABELS if studio else PHOTO_LABELS, "\n".join(STUDIO_TEMPLATES if studio else PHOTO_TEMPLATES)


# ---------------------------------------------------------------------------- zero-shot
@user_errors
def zero_shot(slot: ModelSlot, image, labels_text, templates_text, source, weights_path, runtime,
              request: gr.Request, progress=gr.Progress()):
    """Cosines of the picture with every label (its templates averaged); the bars come after."""
    from models.clip.prompts import parse_labels, parse_templates
    lang = lang_of(request)
    if image is None:
        raise gr.Error(text("clip.no_image", lang), print_exception=False)
    labels, templates = parse_labels(labels_text), parse_templates(templates_text)
    p, status = slot.status(source, weights_path, progress, lang)
    if p is None:
        return None, status
    progress(0.4, desc=text("common.building", lang, name=runtime))
    z = p.zero_shot(image, labels, templates, backend=runtime)
    best = int(z.probs.argmax())
    status = text("clip.zs_ran", lang, labels=len(labels), templates=len(templates),
                  prompts=len(labels) * len(templates), cached=z.cached_prompts, text_ms=f"{z.text_ms:.1f}",
                  image_ms=f"{z.image_ms:.1f}", runtime=z.runtime, best=labels[best], prob=f"{z.probs[best]:.2f}")
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
    return zero_shot_bars(state["labels"], cos, probs, float(scale)), gr.update(value=rows, headers=headers)


def random_shape():
    from models.examples import random_shape as fresh_shape
    return fresh_shape()


# ---------------------------------------------------------------------------- retrieval
@user_errors
def index_gallery(slot: ModelSlot, choice, uploads, labels_text, source, weights_path, runtime,
                  request: gr.Request, progress=gr.Progress()):
    """Embed a gallery once (pictures and captions); every search then costs one embedding."""
    from models.clip.gallery import shapeworld_gallery, upload_gallery
    from models.clip.prompts import parse_labels
    from models.images import load_image
    lang = lang_of(request)
    p = slot.get(source, weights_path, progress, lang)
    t0 = time.perf_counter()
    if choice == "uploads":
        files = [getattr(f, "name", f) for f in (uploads or [])]
        gallery = upload_gallery([p.model_view(load_image(f)) for f in files], [str(f).rsplit("/", 1)[-1] for f in files])
        captions, captions_from = parse_labels(labels_text), text("clip.labels", lang)
    else:
        gallery = shapeworld_gallery(int(choice), p.image_size)
        captions = sorted(set(gallery.captions))
        captions_from = f"{len(captions)} ShapeWorld"
    progress(0.1, desc=text("common.building", lang, name=runtime))
    images = p.index_images(gallery.images, list(range(len(gallery))), backend=runtime,
                            progress=lambda f, m: progress(0.1 + 0.8 * f, desc=m))
    sentences = p.index_sentences(captions, backend=runtime)
    state = {"images": images, "sentences": sentences, "gallery": gallery, "key": (source, weights_path, runtime)}
    status = text("clip.indexed", lang, n=len(gallery), seconds=f"{time.perf_counter() - t0:.1f}",
                  runtime=p.backend("image", runtime).describe(), how=images.describe(), captions=captions_from)
    return state, status


def _check_index(state, source, weights_path, runtime, lang):
    if not state:
        raise gr.Error(text("clip.no_index", lang), print_exception=False)
    if state["key"] != (source, weights_path, runtime):
        raise gr.Error(text("clip.stale_index", lang), print_exception=False)


@user_errors
def search_images(slot: ModelSlot, query, k, state, source, weights_path, runtime, request: gr.Request):
    """Text → the k closest pictures of the index."""
    lang = lang_of(request)
    _check_index(state, source, weights_path, runtime, lang)
    query = " ".join((query or "").split())
    if not query:
        raise gr.Error(text("clip.no_query", lang), print_exception=False)
    p = slot.get(source, weights_path)
    t0 = time.perf_counter()
    q, _ = p.embed_texts([query], runtime)
    hits = state["images"].search(q, int(k))[0]
    ms = (time.perf_counter() - t0) * 1000
    gallery = state["gallery"]
    items = [(thumb(gallery.images[h.payload]), f"{h.score:.3f} {gallery.captions[h.payload] or gallery.names[h.payload]}")
             for h in hits]
    status = text("clip.searched", lang, k=len(hits), n=len(gallery), ms=f"{ms:.1f}",
                  how=state["images"].describe(), held=sum(gallery.held_out[h.payload] for h in hits))
    return items, status


@user_errors
def search_captions(slot: ModelSlot, image, k, state, source, weights_path, runtime, request: gr.Request):
    """Picture → the k closest captions of the index."""
    lang = lang_of(request)
    _check_index(state, source, weights_path, runtime, lang)
    if image is None:
        raise gr.Error(text("clip.no_image", lang), print_exception=False)
    q, _ = slot.get(source, weights_path).embed_images([image], runtime)
    hits = state["sentences"].search(q, int(k))[0]
    headers = [text(key, lang) for key in ("clip.col_rank", "clip.col_caption", "clip.col_score")]
    return gr.update(value=[[r + 1, h.payload, round(h.score, 4)] for r, h in enumerate(hits)], headers=headers)


# ---------------------------------------------------------------------------- similarity + patches
def new_batch(n):
    from models.clip.gallery import shapeworld_gallery
    batch = shapeworld_gallery(int(n), seed=int(np.random.default_rng().integers(1 << 30)))
    return {"images": batch.images, "captions": batch.captions}


@user_errors
def similarity(slot: ModelSlot, batch, source, weights_path, runtime, request: gr.Request, progress=gr.Progress()):
    """The batch's N × N cosine matrix, the picture InfoNCE is computed on."""
    from models.clip.pictures import similarity_matrix
    lang = lang_of(request)
    if not batch:
        return None, ""
    p, status = slot.status(source, weights_path, progress, lang)
    if p is None:
        return None, status
    s = p.similarity(batch["images"], batch["captions"], backend=runtime)
    n = len(batch["captions"])
    note = text("clip.matrix_note", lang, loss=f"{s.info_nce():.3g}", n=n, chance=f"{np.log(n):.3f}",
                right=int((s.cosines.argmax(axis=1) == np.arange(n)).sum()))
    return similarity_matrix(batch["images"], batch["captions"], s.cosines), note


@user_errors
def patch_map(slot: ModelSlot, image, sentence, source, weights_path, runtime, request: gr.Request,
              progress=gr.Progress()):
    """Where ``sentence`` matches inside the picture: each patch's cosine with it."""
    from models.clip.pictures import patch_text_map
    lang = lang_of(request)
    if image is None:
        raise gr.Error(text("clip.no_image", lang), print_exception=False)
    sentence = " ".join((sentence or "").split())
    if not sentence:
        raise gr.Error(text("clip.no_query", lang), print_exception=False)
    p = slot.get(source, weights_path, progress, lang)
    view = p.model_view(image)
    cos = p.patch_map(view, sentence, backend=runtime)
    note = text("clip.patch_note", lang, grid=p.grid, lo=f"{cos.min():.3f}", hi=f"{cos.max():.3f}")
    if p.conv_stem:     # the studio CLIP: a token mixes more than its own patch
        note += " " + text("clip.patch_stem", lang, patch=p.patch_size)
    return patch_text_map(view, cos), note


def random_pair():
    from models.examples import scene_pair
    image, phrase = scene_pair()
    return thumb(image), phrase


@user_errors
def compare_runtimes(slot: ModelSlot, graph, batch, source, weights_path, a, b, runs, request: gr.Request,
                     progress=gr.Progress()):
    """A/B of a tower on the similarity tab's batch (None: the bench's pictures)."""
    lang = lang_of(request)
    return compare(slot, graph, batch["images"] if batch else None, source, weights_path, a, b, runs, lang, progress)


# ---------------------------------------------------------------------------- layout and wiring
def build(ctx: StudioContext, demo: gr.Blocks, topic: Topic) -> gr.Tab:
    model = topic.model()
    slot = ModelSlot(ctx, model, "clip.model_ok")
    with gr.Tab(t("clip.tab"), id=topic.key) as tab:
        header(topic.key)
        with gr.Row():
            source = source_picker(model, scale=2)
            runtime = runtime_picker(ctx)
        weights_path, source_changed = weights_path_box(source, "clip.weights_path",
                                                        "~/models/ViT-B-32/open_clip_model.safetensors")
        status = gr.Markdown(elem_id="clip-status")
        with gr.Tabs():
            with gr.Tab(t("clip.zs_tab"), id="clip-zero-shot"):
                z = _zero_shot_views(model)
            with gr.Tab(t("clip.ret_tab"), id="clip-retrieval"):
                r = _retrieval_views(model)
            with gr.Tab(t("clip.sim_tab"), id="clip-similarity"):
                s = _similarity_views()
        ab = ab_panel(ctx, list(model.graphs))
        learn_accordion("clip.learn")
        zs_state, index_state, batch_state = gr.State(None), gr.State(None), gr.State(None)

        # ------------------------------------------------------------------ events
        heavy = heavy_queue(topic.key)
        model_inputs = [source, weights_path, runtime]
        bars = (render_bars, [zs_state, z["scale"]], [z["bars"], z["table"]])

        def classify_chain(event, **kw):
            return (event(bind(zero_shot, slot), [z["image"], z["labels"], z["templates"], *model_inputs],
                          [zs_state, z["status"]], **kw, **heavy)
                    .then(*bars, **PRIVATE))

        def similarity_chain(event, **kw):
            return event(bind(similarity, slot), [batch_state, *model_inputs], [s["matrix"], s["note"]], **kw, **heavy)

        def describe(event):
            return event(bind(describe_model, slot), [source, weights_path], [status, z["scale"]],
                         **PRIVATE, **heavy)

        describe_and_classify = source_changed.then(source_defaults, source, [z["labels"], z["templates"]], **PRIVATE)
        for event in (describe_and_classify.then, weights_path.submit):
            classify_chain(describe(event).then, **PRIVATE)
        classify_chain(z["classify"].click, **api(topic.key, "zero_shot"))
        for event in (z["image"].change, runtime.change, z["labels"].submit):
            classify_chain(event, **PRIVATE)
        z["scale"].release(*bars, **PRIVATE)
        z["random"].click(random_shape, None, z["image"], queue=False, **PRIVATE)

        search = (bind(search_images, slot), [r["query"], r["k"], index_state, *model_inputs], [r["hits"], r["status"]])
        r["index"].click(bind(index_gallery, slot), [r["choice"], r["uploads"], z["labels"], *model_inputs],
                         [index_state, r["index_status"]], **api(topic.key, "index_gallery"), **heavy) \
            .then(*search, **PRIVATE)
        r["search"].click(*search, **api(topic.key, "search_images"), **heavy)
        r["query"].submit(*search, **PRIVATE, **heavy)
        r["describe"].click(bind(search_captions, slot), [r["image_query"], r["k"], index_state, *model_inputs],
                            r["captions"], **api(topic.key, "search_captions"), **heavy)

        for event in (s["new"].click, s["n"].release):
            similarity_chain(event(new_batch, s["n"], batch_state, **PRIVATE).then, **PRIVATE)
        patch = (bind(patch_map, slot), [s["patch_image"], s["patch_text"], *model_inputs],
                 [s["patch_view"], s["patch_note"]])
        s["patch_run"].click(*patch, **api(topic.key, "patch_map"), **heavy)
        s["pair"].click(random_pair, None, [s["patch_image"], s["patch_text"]], queue=False, **PRIVATE) \
            .then(*patch, **PRIVATE, **heavy)

        ab.button.click(bind(compare_runtimes, slot), [ab.which, batch_state, source, weights_path, *ab.inputs()],
                        [ab.table, ab.summary], **api(topic.key, "compare_runtimes"), **BENCH_QUEUE)
        # The first visit loads the studio CLIP and shows every view once.
        show_availability(ctx, tab.select, [runtime, ab.a, ab.b])
        first = describe(tab.select)
        classify_chain(first.then, **PRIVATE)
        similarity_chain(first.then(new_batch, s["n"], batch_state, **PRIVATE).then, **PRIVATE)
        first.then(*patch, **PRIVATE, **heavy)
    return tab


def _zero_shot_views(model) -> dict:
    from models.clip.prompts import PHOTO_TEMPLATES, STUDIO_TEMPLATES
    pictures = model.examples()
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            image = SafeImage(label=t("clip.image"), type="numpy", sources=["upload", "clipboard"], height=240,
                              image_mode="RGB", value=pictures[0])
            random_btn = gr.Button(t("clip.random"), size="sm")
            examples(pictures, [image], "clip.examples", examples_per_page=11,
                        elem_id="clip-examples")
        with gr.Column(scale=2):
            labels = gr.Textbox(label=t("clip.labels"), info=t("clip.labels_info"), value=STUDIO_LABELS, lines=2,
                                max_lines=4, elem_id="clip-labels")
            templates = gr.Textbox(label=t("clip.templates"), info=t("clip.templates_info"),
                                   value="\n".join(STUDIO_TEMPLATES), lines=4, max_lines=8, elem_id="clip-templates")
            with gr.Row():
                studio_tpl = gr.Button(t("clip.studio_templates"), size="sm")
                photo_tpl = gr.Button(t("clip.photo_templates"), size="sm")
            scale = gr.Slider(1, 100, value=14.3, step=0.1, label=t("clip.scale"), elem_id="clip-scale")
            classify_btn = gr.Button(t("clip.classify"), variant="primary")
    status = gr.Markdown(elem_id="clip-zs-status")
    gr.Markdown(t("clip.bars"))   # a caption above: a floating label would hide the titles
    bars = gr.Image(label=t("clip.bars"), show_label=False, interactive=False, elem_id="clip-bars")
    table = gr.Dataframe(label=t("clip.zs_table"), interactive=False, wrap=True, elem_id="clip-zs-table")
    studio_tpl.click(lambda: "\n".join(STUDIO_TEMPLATES), None, templates, queue=False, **PRIVATE)
    photo_tpl.click(lambda: "\n".join(PHOTO_TEMPLATES), None, templates, queue=False, **PRIVATE)
    return dict(image=image, random=random_btn, labels=labels, templates=templates, scale=scale,
                classify=classify_btn, status=status, bars=bars, table=table)


def _retrieval_views(model) -> dict:
    from models.clip.gallery import GALLERY_SIZES
    pictures = model.examples()
    with gr.Row():
        choice = gr.Radio([(text("clip.gallery_shapeworld", "en", n=n), str(n)) for n in GALLERY_SIZES]
                          + [(text("clip.gallery_uploads", "en"), "uploads")], value=str(GALLERY_SIZES[1]),
                          label=t("clip.gallery_source"), scale=3)
        index_btn = gr.Button(t("clip.index"), variant="primary", scale=1)
    uploads = gr.File(label=t("clip.uploads"), file_count="multiple", file_types=["image"], visible=False)
    index_status = gr.Markdown(elem_id="clip-index-status")
    with gr.Row():
        query = gr.Textbox(label=t("clip.query"), value=DEFAULT_QUERY, max_lines=1, scale=3, elem_id="clip-query")
        k = gr.Slider(1, 24, value=DEFAULT_K, step=1, label=t("clip.k"), scale=1)
        search_btn = gr.Button(t("clip.search"), variant="primary", scale=1)
    status = gr.Markdown(elem_id="clip-search-status")
    hits = gr.Gallery(label=t("clip.hits"), columns=6, height=400, object_fit="contain", allow_preview=False,
                      elem_id="clip-hits")
    with gr.Row():
        with gr.Column(scale=1):
            image_query = SafeImage(label=t("clip.image_query"), type="numpy", sources=["upload", "clipboard"],
                                    height=200, image_mode="RGB", value=pictures[1])
            describe_btn = gr.Button(t("clip.describe"))
        with gr.Column(scale=2):
            captions = gr.Dataframe(label=t("clip.captions"), interactive=False, wrap=True, elem_id="clip-captions")
    choice.change(lambda c: gr.update(visible=c == "uploads"), choice, uploads, queue=False, **PRIVATE)
    return dict(choice=choice, index=index_btn, uploads=uploads, index_status=index_status, query=query, k=k,
                search=search_btn, status=status, hits=hits, image_query=image_query, describe=describe_btn,
                captions=captions)


def _similarity_views() -> dict:
    from models.examples import scene_pair
    with gr.Row():
        n = gr.Slider(*BATCH_SIZES, value=6, step=1, label=t("clip.batch"), scale=3)
        new_btn = gr.Button(t("clip.new_batch"), scale=1)
    matrix = gr.Image(label=t("clip.matrix"), interactive=False, elem_id="clip-matrix")
    note = gr.Markdown(elem_id="clip-matrix-note")
    with gr.Row():
        with gr.Column(scale=1):
            pair_image, pair_text = scene_pair(0)
            patch_image = SafeImage(label=t("clip.patch_image"), type="numpy", sources=["upload", "clipboard"],
                                    height=240, image_mode="RGB", value=thumb(pair_image))
            patch_text = gr.Textbox(label=t("clip.patch_text"), value=pair_text, max_lines=1)
            with gr.Row():
                pair_btn = gr.Button(t("clip.random"), size="sm")
                patch_btn = gr.Button(t("clip.patch_run"), variant="primary", size="sm")
        with gr.Column(scale=1):
            patch_view = gr.Image(label=t("clip.patch_map"), interactive=False, elem_id="clip-patch-map")
            patch_note = gr.Markdown()
    return dict(n=n, new=new_btn, matrix=matrix, note=note, patch_image=patch_image, patch_text=patch_text,
                pair=pair_btn, patch_run=patch_btn, patch_view=patch_view, patch_note=patch_note)
