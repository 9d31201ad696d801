"""Multimodal lab tab: the studio's models on one picture (text -> mask, every model on every
object, text -> picture -> text) and four fusion heads that answer questions about a scene.

UI only. The work: models/multimodal/pipelines.py (the chains), models/multimodal/predictor.py
(the fusion heads and the frozen towers that feed them), models/multimodal/training.py (the live
run's loop, shared with training_scripts/train_fusion.py), models/multimodal/pictures.py.
"""
from __future__ import annotations

import time

import gradio as gr
import numpy as np

from models import limits
from models.registry import Topic
from tabs.components import SafeImage, SafeNumber
from tabs.errors import progress_adapter, user_errors
from tabs.i18n import lang_of, t, text
from tabs.kit import (BENCH_QUEUE, PRIVATE, ModelSlot, StopFlags, StudioContext, ab_panel, api, bind, compare, header,
                      heavy_queue, learn_accordion, runtime_picker, show_availability)

KINDS = ("exist", "attribute", "count", "relation")
FRAME_INTERVAL_S = 0.4
STOPS = StopFlags()


def warm(ctx: StudioContext) -> None:
    """Import what the first visit needs (torch, open_clip, ultralytics); no weights."""
    ctx.torch_device()
    import models.multimodal.pipelines  # noqa: F401
    import models.multimodal.predictor  # noqa: F401


def _checked_text(value, lang: str, key: str) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise gr.Error(text(key, lang), print_exception=False)
    if len(value) > limits.MULTIMODAL_MAX_TEXT_CHARS:
        raise gr.Error(text("multimodal.too_long", lang, n=limits.MULTIMODAL_MAX_TEXT_CHARS), print_exception=False)
    return value


def _picture(image, lang: str):
    if image is None:
        raise gr.Error(text("multimodal.no_image", lang), print_exception=False)
    return image


# ---------------------------------------------------------------------------- callbacks: one picture, several models
@user_errors
def find_and_cut(fusion: ModelSlot, sams: ModelSlot, image, phrase, runtime, request: gr.Request,
                 progress=gr.Progress()):
    """Both text -> mask pipelines, stage by stage."""
    from models.multimodal import pictures, pipelines
    lang = lang_of(request)
    image, phrase = _picture(image, lang), _checked_text(phrase, lang, "multimodal.no_phrase")
    p = fusion.get("studio", "", progress, lang)
    sam = sams.get("studio", "", progress, lang)
    progress(0.4, desc=text("multimodal.running", lang))
    a = pipelines.find_by_patch_click(p.scene_patches(), p.clip, sam, image, phrase, runtime)
    b = pipelines.find_by_box_rank(p.clip, p.yolo, sam, image, phrase, runtime)
    crops = [(c, f"{s:.3f}" + (" ★" if k == b.chosen else "")) for k, (c, s) in enumerate(zip(b.crops, b.box_scores))]
    status = text("multimodal.found", lang, phrase=phrase, a=f"{a.sam_score:.2f}", b=f"{b.sam_score:.2f}",
                  n=len(b.boxes), best=f"{b.box_scores[b.chosen]:.3f}")
    return (pictures.heat_with_click(a.scene, a.heat, a.point), pictures.mask_on(a.scene, a.mask, point=a.point),
            pictures.ranked_boxes(b.scene, b.boxes, b.box_scores, b.chosen), crops,
            pictures.mask_on(b.scene, b.mask, box=b.boxes[b.chosen]), status)


@user_errors
def every_model(fusion: ModelSlot, sams: ModelSlot, cnns: ModelSlot, vits: ModelSlot, image, runtime,
                request: gr.Request, progress=gr.Progress()):
    """YOLO's boxes, then each box through the CNN, CLIP, the ViT and SAM; where they agree."""
    from models.multimodal import pictures, pipelines
    lang = lang_of(request)
    image = _picture(image, lang)
    p = fusion.get("studio", "", progress, lang)
    models = {"clip": p.clip, "yolo": p.yolo, "sam": sams.get("studio", "", progress, lang),
              "cnn": cnns.get("studio", "", progress, lang), "vit": vits.get("studio", "", progress, lang)}
    scene, reports = pipelines.through_every_model(models, image, runtime, max_objects=limits.MULTIMODAL_MAX_OBJECTS,
                                                   progress=progress_adapter(progress))
    if not reports:
        return pictures.numbered_objects(scene, []), [], None, text("multimodal.no_objects", lang)
    rows = [[n, f"{r.yolo[0]} ({r.yolo[1]:.2f})", f"{r.cnn[0]} ({r.cnn[1]:.2f})", f"{r.clip[0]} ({r.clip[1]:.2f})",
             f"{r.vit[0]} ({r.vit[1]:.2f})", f"{r.sam_score:.2f}", "✅" if r.agree else "❌"]
            for n, r in enumerate(reports, start=1)]
    headers = [text(f"multimodal.col_{c}", lang) for c in ("n", "yolo", "cnn", "clip", "vit", "sam", "agree")]
    gallery = [(pictures.crop_with_rollout(r.crop, r.vit_rollout), f"{n} · {r.vit[0]}")
               for n, r in enumerate(reports, start=1)]
    agree = sum(r.agree for r in reports)
    status = text("multimodal.every_status", lang, n=len(reports), agree=agree)
    return pictures.numbered_objects(scene, reports), gallery, gr.update(value=rows, headers=headers), status


@user_errors
def say_and_draw(fusion: ModelSlot, diffusions: ModelSlot, words, n, steps, seed, runtime, request: gr.Request,
                 progress=gr.Progress()):
    """Text -> the closest condition -> diffusion samples (streamed) -> CLIP reads each back."""
    from models.diffusion.pictures import grid
    from models.multimodal import pipelines
    lang = lang_of(request)
    words = _checked_text(words, lang, "multimodal.no_words")
    p = fusion.get("studio", "", progress, lang)
    cond = pipelines.closest_condition(p.clip, words, runtime)
    top = [[label, f"{c:.3f}"] for label, c in zip(cond.labels[:5], cond.cosines[:5])]
    d = diffusions.get("studio", "", progress, lang)
    flag, last, done = STOPS.arm(request), 0.0, None
    try:
        for rec in d.sample(cond.shape, cond.colour, n=int(n), sampler="ddim", steps=int(steps), seed=int(seed),
                            runtime=runtime, progress=progress_adapter(progress)):
            if hasattr(rec, "x_t"):
                if time.perf_counter() - last >= FRAME_INTERVAL_S:
                    last = time.perf_counter()
                    yield top, [(grid(rec.x0), "")], text("multimodal.drawing", lang, i=rec.index, n=rec.steps,
                                                        colour=cond.colour, shape=cond.shape)
                if flag.is_set():
                    yield top, gr.update(), text("multimodal.stopped", lang)
                    return
            else:
                done = rec
    finally:
        STOPS.done(request, flag)
    drawings = pipelines.score_drawings(p.clip, words, list(done.images), cond, runtime)
    gallery = [(dr.picture, f"{dr.label} · cos {dr.cosine:.3f} {'✅' if dr.matches else '❌'}") for dr in drawings]
    yield top, gallery, text("multimodal.drawn", lang, colour=cond.colour, shape=cond.shape, n=len(drawings),
                             ok=sum(dr.matches for dr in drawings))


def stop(request: gr.Request):
    STOPS.stop(request)
    return gr.update()


# ---------------------------------------------------------------------------- callbacks: fusion
@user_errors
def ask(fusion: ModelSlot, image, question, scene_seed, runtime, request: gr.Request, progress=gr.Progress()):
    """Every head's answer distribution, where the attention heads looked, the gates, the truth."""
    from models.multimodal import pictures
    from models.multimodal.features import scene_picture
    lang = lang_of(request)
    image, question = _picture(image, lang), _checked_text(question, lang, "multimodal.no_question")
    p = fusion.get("studio", "", progress, lang)
    answers = p.answer_all(image, question, runtime)
    truth = _truth(scene_seed, question)
    labels = [{a: float(pr) for a, pr in _top(h)} for h in answers]
    scene = scene_picture(image)
    cross = next(h for h in answers if h.head == "cross")
    gated = next(h for h in answers if h.head == "gated")
    gates = " · ".join(f"{text('multimodal.block', lang, k=k)} tanh(α) {a:+.3f}, tanh(β) {b:+.3f}"
                       for k, (a, b) in enumerate(gated.gates, start=1))
    if truth is None:
        verdict = text("multimodal.no_truth", lang)
    else:
        right = [h.head for h in answers if h.answer == truth.answer]
        verdict = text("multimodal.truth", lang, answer=truth.answer, kind=text(f"multimodal.kind_{truth.kind}", lang),
                       right=", ".join(text(f"multimodal.head_{h}", lang) for h in right) or "—")
    return (*labels, pictures.attention_over_objects(scene, cross.boxes, cross.weights),
            pictures.attention_over_objects(scene, gated.boxes, gated.weights), text("multimodal.gates", lang, gates=gates), verdict)


def _top(head, k: int = 5):
    from models.multimodal.questions import ANSWERS
    order = np.argsort(-head.probs)[:k]
    return [(ANSWERS[i], head.probs[i]) for i in order]


def _truth(scene_seed, question):
    """The generator's answer when the picture is a scene the studio drew (its seed is kept)."""
    if scene_seed is None:
        return None
    from models.examples import example_scene
    from models.multimodal.questions import answer
    return answer(example_scene(int(scene_seed)), question)


@user_errors
def random_question(scene_seed, kind, request: gr.Request):
    """A question of ``kind`` about the drawn scene, with a checked answer."""
    from models.examples import example_scene
    from models.multimodal.questions import ask as make_question
    lang = lang_of(request)
    if scene_seed is None:
        raise gr.Error(text("multimodal.need_scene", lang), print_exception=False)
    scene = example_scene(int(scene_seed))
    q = make_question(scene, kind, np.random.default_rng(), "heldout")
    if q is None:
        raise gr.Error(text("multimodal.no_such_question", lang, kind=text(f"multimodal.kind_{kind}", lang)),
                       print_exception=False)
    return q.text


def new_scene():
    """A fresh held-out scene and its seed (so questions about it can be checked)."""
    from models.examples import example_scene
    seed = int(np.random.default_rng().integers(1 << 30))
    return example_scene(seed).image, seed


def forget_scene():
    return None


@user_errors
def train_live(fusion: ModelSlot, kind, steps, seed, request: gr.Request, progress=gr.Progress()):
    """A fresh head trained live (the loss curve streamed), then measured beside the shipped one."""
    import pandas as pd

    from models.multimodal import data, training
    lang = lang_of(request)
    p = fusion.get("studio", "", progress, lang)
    flag = STOPS.arm(request)
    try:
        progress(0.1, desc=text("multimodal.preparing", lang))
        train, val = p.practice_sets(progress_adapter(progress))
        head = training.fresh_head(kind, p.dims, int(seed))
        lr = p.card["training"]["lr"][kind]
        recipe = training.Recipe(steps=int(steps), lr=lr, seed=int(seed))
        last, step = 0.0, 0
        for prog in training.steps(head, train, recipe, should_stop=flag.is_set):
            step = prog.step
            if time.perf_counter() - last >= FRAME_INTERVAL_S or prog.step == recipe.steps:
                last = time.perf_counter()
                curve = pd.DataFrame({"step": list(range(1, prog.step + 1)), "loss": [float(v) for v in prog.losses]})
                yield curve, None, text("multimodal.training", lang, step=prog.step, n=recipe.steps,
                                        loss=f"{prog.loss:.3f}", s=f"{prog.seconds:.0f}")
    finally:
        STOPS.done(request, flag)
    head.eval()
    mine = data.accuracy_by_kind(head, val)
    shipped = data.accuracy_by_kind(p.heads[kind], val)
    rows = [[text(f"multimodal.kind_{k}", lang), f"{mine.get(k, 0):.2f}", f"{shipped.get(k, 0):.2f}"] for k in KINDS]
    headers = [text("multimodal.col_kind", lang), text("multimodal.col_live", lang, n=step),
               text("multimodal.col_shipped", lang, n=p.card["training"]["steps"][kind])]
    yield gr.update(), gr.update(value=rows, headers=headers), text("multimodal.trained", lang, n=step,
                                                                      head=text(f"multimodal.head_{kind}", lang))


@user_errors
def compare_runtimes(slot: ModelSlot, image, question, a, b, runs, graph_key, request: gr.Request,
                     progress=gr.Progress()):
    lang = lang_of(request)
    image, question = _picture(image, lang), _checked_text(question, lang, "multimodal.no_question")
    return compare(slot, graph_key, (image, question), "studio", "", a, b, runs, lang, progress)


def accuracy_table(lang: str = "en"):
    """The card's accuracy per question kind x head (held-out pairs and seen pairs) beside chance."""
    from tabs.facts import metric
    metrics = metric("fusion-shapeworld", "metrics") or {}
    rows = []
    for split in ("val", "heldout"):
        for k in KINDS:
            row = [text(f"multimodal.split_{split}", lang), text(f"multimodal.kind_{k}", lang)]
            row += [f"{metrics.get(split, {}).get(h, {}).get(k, float('nan')):.2f}"
                    for h in ("late", "concat", "cross", "gated")]
            row.append(f"{metrics.get('majority', {}).get(split, {}).get(k, float('nan')):.2f}")
            rows.append(row)
    headers = [text("multimodal.col_split", lang), text("multimodal.col_kind", lang),
               *[text(f"multimodal.head_{h}", lang) for h in ("late", "concat", "cross", "gated")],
               text("multimodal.col_chance", lang)]
    return gr.update(value=rows, headers=headers)


def localise_tables(request: gr.Request):
    return accuracy_table(lang_of(request))


# ---------------------------------------------------------------------------- layout and wiring
def build(ctx: StudioContext, demo: gr.Blocks, topic: Topic) -> gr.Tab:
    from models.examples import example_scene
    from models.topics import CNN, DIFFUSION, SAM, VIT
    model = topic.model()
    fusion = ModelSlot(ctx, model, "multimodal.model_ok", max_items=1)
    sams = ModelSlot(ctx, SAM, "sam.model_ok", max_items=1, preload=False)
    cnns = ModelSlot(ctx, CNN, "cnn.model_ok", max_items=1, preload=False)
    vits = ModelSlot(ctx, VIT, "attention.model_ok", max_items=1, preload=False)
    diffusions = ModelSlot(ctx, DIFFUSION, "diffusion.model_ok", max_items=1, preload=False)
    with gr.Tab(t("multimodal.tab"), id=topic.key) as tab:
        header(topic.key)
        with gr.Row():
            runtime = runtime_picker(ctx)
            status = gr.Markdown(elem_id="multimodal-status")
        scene_seed = gr.State(0)
        with gr.Row():
            with gr.Column(scale=1, min_width=260):
                image = SafeImage(label=t("multimodal.image"), type="numpy", sources=["upload", "clipboard"],
                                  height=280, image_mode="RGB", value=example_scene(0).image, elem_id="multimodal-image")
                random_btn = gr.Button(t("multimodal.random"), size="sm", elem_id="multimodal-random")
            with gr.Column(scale=3):
                with gr.Tabs():
                    with gr.Tab(t("multimodal.find_tab"), id="multimodal-find"):
                        f = _find_views()
                    with gr.Tab(t("multimodal.every_tab"), id="multimodal-every"):
                        e = _every_views()
                    with gr.Tab(t("multimodal.draw_tab"), id="multimodal-draw"):
                        d = _draw_views()
                    with gr.Tab(t("multimodal.ask_tab"), id="multimodal-ask"):
                        q = _ask_views([g.graph for g in model.graphs])
        ab = ab_panel(ctx, list(model.graphs), default="fusion-cross")
        learn_accordion("multimodal.learn")

        heavy = heavy_queue(topic.key)
        tab.select(bind(describe_model, fusion), None, status, **PRIVATE, **heavy) \
            .then(localise_tables, None, q["accuracy"], **PRIVATE)
        random_btn.click(new_scene, None, [image, scene_seed], queue=False, **PRIVATE)
        image.upload(forget_scene, None, scene_seed, queue=False, **PRIVATE)
        f["run"].click(bind(find_and_cut, fusion, sams), [image, f["phrase"], runtime],
                       [f["heat"], f["click_mask"], f["boxes"], f["crops"], f["box_mask"], f["status"]],
                       **api(topic.key, "find_and_cut"), **heavy)
        e["run"].click(bind(every_model, fusion, sams, cnns, vits), [image, runtime],
                       [e["objects"], e["crops"], e["table"], e["status"]], **api(topic.key, "every_model"), **heavy)
        d["run"].click(bind(say_and_draw, fusion, diffusions), [d["words"], d["n"], d["steps"], d["seed"], runtime],
                       [d["conditions"], d["drawings"], d["status"]], **api(topic.key, "say_and_draw"), **heavy)
        d["stop"].click(stop, None, None, queue=False, **PRIVATE)
        q["random"].click(random_question, [scene_seed, q["kind"]], q["question"], queue=False, **PRIVATE)
        q["run"].click(bind(ask, fusion), [image, q["question"], scene_seed, runtime],
                       [*q["labels"], q["cross_map"], q["gated_map"], q["gates"], q["verdict"]],
                       **api(topic.key, "ask"), **heavy)
        q["train"].click(bind(train_live, fusion), [q["train_head"], q["train_steps"], q["train_seed"]],
                         [q["curve"], q["train_table"], q["train_status"]], **api(topic.key, "train_head"), **heavy)
        q["stop"].click(stop, None, None, queue=False, **PRIVATE)
        show_availability(ctx, tab.select, [runtime, ab.a, ab.b])
        ab.button.click(bind(compare_runtimes, fusion), [image, q["question"], *ab.inputs(), ab.which],
                        [ab.table, ab.summary],
                        **api(topic.key, "compare_runtimes"), **BENCH_QUEUE)
    return tab


@user_errors
def describe_model(slot: ModelSlot, request: gr.Request, progress=gr.Progress()):
    _, status = slot.status("studio", "", progress, lang_of(request))
    return status


def _find_views() -> dict:
    gr.Markdown(t("multimodal.find_intro"))
    with gr.Row():
        phrase = gr.Textbox(value="the yellow diamond", label=t("multimodal.phrase"), max_lines=1, scale=3,
                            elem_id="multimodal-phrase")
        run = gr.Button(t("multimodal.find"), variant="primary", scale=1, elem_id="multimodal-find-run")
    status = gr.Markdown(elem_id="multimodal-find-status")
    gr.Markdown(t("multimodal.pipeline_a"))
    with gr.Row():
        heat = gr.Image(label=t("multimodal.heat"), interactive=False, height=300, elem_id="multimodal-heat")
        click_mask = gr.Image(label=t("multimodal.click_mask"), interactive=False, height=300,
                              elem_id="multimodal-click-mask")
    gr.Markdown(t("multimodal.pipeline_b"))
    with gr.Row():
        boxes = gr.Image(label=t("multimodal.ranked"), interactive=False, height=300, elem_id="multimodal-ranked")
        box_mask = gr.Image(label=t("multimodal.box_mask"), interactive=False, height=300, elem_id="multimodal-box-mask")
    crops = gr.Gallery(label=t("multimodal.crops"), columns=8, height="auto", object_fit="contain",
                       allow_preview=False, elem_id="multimodal-crops")
    return dict(phrase=phrase, run=run, status=status, heat=heat, click_mask=click_mask, boxes=boxes,
                box_mask=box_mask, crops=crops)


def _every_views() -> dict:
    gr.Markdown(t("multimodal.every_intro"))
    run = gr.Button(t("multimodal.every_run"), variant="primary", elem_id="multimodal-every-run")
    status = gr.Markdown(elem_id="multimodal-every-status")
    with gr.Row():
        objects = gr.Image(label=t("multimodal.objects"), interactive=False, height=320, elem_id="multimodal-objects")
        crops = gr.Gallery(label=t("multimodal.rollouts"), columns=2, height="auto", object_fit="contain",
                           allow_preview=False, elem_id="multimodal-rollouts")
    table = gr.Dataframe(label=t("multimodal.agreement"), interactive=False, wrap=True, elem_id="multimodal-agreement")
    return dict(run=run, status=status, objects=objects, crops=crops, table=table)


def _draw_views() -> dict:
    gr.Markdown(t("multimodal.draw_intro"))
    with gr.Row():
        words = gr.Textbox(value="a purple star", label=t("multimodal.words"), max_lines=1, scale=3,
                           elem_id="multimodal-words")
        n = gr.Slider(1, limits.MULTIMODAL_MAX_DRAWINGS, value=4, step=1, label=t("multimodal.n"))
    with gr.Row():
        steps = gr.Slider(*limits.MULTIMODAL_DRAW_STEPS, value=25, step=1, label=t("multimodal.steps"))
        seed = SafeNumber(value=0, precision=0, minimum=0, maximum=2**31 - 1, label=t("multimodal.seed"))
    with gr.Row():
        run = gr.Button(t("multimodal.draw"), variant="primary", elem_id="multimodal-draw-run")
        stop_btn = gr.Button(t("multimodal.stop"), variant="stop", elem_id="multimodal-draw-stop")
    status = gr.Markdown(elem_id="multimodal-draw-status")
    with gr.Row():
        conditions = gr.Dataframe(headers=[t("multimodal.col_condition"), t("multimodal.col_cosine")],
                                  label=t("multimodal.conditions"), interactive=False, elem_id="multimodal-conditions")
        drawings = gr.Gallery(label=t("multimodal.drawings"), columns=4, height="auto", object_fit="contain",
                              allow_preview=False, elem_id="multimodal-drawings")
    return dict(words=words, n=n, steps=steps, seed=seed, run=run, stop=stop_btn, status=status,
                conditions=conditions, drawings=drawings)


def _ask_views(heads: list[str]) -> dict:
    gr.Markdown(t("multimodal.ask_intro"))
    with gr.Row():
        question = gr.Textbox(value="is the yellow diamond left or right of the orange square?", label=t("multimodal.question"),
                              max_lines=1, scale=3, elem_id="multimodal-question")
        kind = gr.Dropdown([(t(f"multimodal.kind_{k}"), k) for k in KINDS], value="relation",
                           label=t("multimodal.kind"), scale=1)
        random_q = gr.Button(t("multimodal.random_question"), size="sm", scale=1, elem_id="multimodal-random-question")
    run = gr.Button(t("multimodal.ask"), variant="primary", elem_id="multimodal-ask-run")
    verdict = gr.Markdown(elem_id="multimodal-verdict")
    with gr.Row():
        labels = [gr.Label(num_top_classes=5, label=t(f"multimodal.head_{h}"), elem_id=f"multimodal-answer-{h}")
                  for h in heads]
    with gr.Row():
        cross_map = gr.Image(label=t("multimodal.cross_map"), interactive=False, height=280, elem_id="multimodal-cross-map")
        gated_map = gr.Image(label=t("multimodal.gated_map"), interactive=False, height=280, elem_id="multimodal-gated-map")
    gates = gr.Markdown(elem_id="multimodal-gates")
    gr.Markdown(t("multimodal.accuracy_intro"))
    accuracy = gr.Dataframe(value=None, label=t("multimodal.accuracy"), interactive=False, wrap=True,
                            elem_id="multimodal-accuracy")
    with gr.Accordion(t("multimodal.live_title"), open=False):
        gr.Markdown(t("multimodal.live_intro"))
        with gr.Row():
            train_head = gr.Dropdown([(t(f"multimodal.head_{h}"), h) for h in heads], value="cross",
                                     label=t("multimodal.train_head"))
            train_steps = gr.Slider(20, limits.FUSION_LIVE_MAX_STEPS, value=300, step=10, label=t("multimodal.train_steps"))
            train_seed = SafeNumber(value=0, precision=0, minimum=0, maximum=2**31 - 1, label=t("multimodal.seed"))
        with gr.Row():
            train = gr.Button(t("multimodal.train"), variant="primary", elem_id="multimodal-train")
            stop_btn = gr.Button(t("multimodal.stop"), variant="stop", elem_id="multimodal-train-stop")
        train_status = gr.Markdown(elem_id="multimodal-train-status")
        curve = gr.LinePlot(x="step", y="loss", label=t("multimodal.curve"), elem_id="multimodal-curve")
        train_table = gr.Dataframe(label=t("multimodal.train_table"), interactive=False, elem_id="multimodal-train-table")
    return dict(question=question, kind=kind, random=random_q, run=run, verdict=verdict, labels=labels,
                cross_map=cross_map, gated_map=gated_map, gates=gates, accuracy=accuracy, train_head=train_head,
                train_steps=train_steps, train_seed=train_seed, train=train, stop=stop_btn,
                train_status=train_status, curve=curve, train_table=train_table)
