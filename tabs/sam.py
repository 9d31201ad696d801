"""SAM tab: click, negative-click or box an object and get SAM's masks; "segment everything".

UI only. The work: models/sam/predictor.py (encoder once per image, decoder per click, on any
runtime), models/sam/pictures.py (overlays), models/sam/bench.py (A/B and CLI rows).

The prompt lives in a text box as JSON in image pixels, ``{"points": [[x, y, 1|0], ...],
"box": [x1, y1, x2, y2] | null}``: clicks on the picture edit it, a learner can read and edit
the numbers, and the API (``/sam_segment``) takes the same text.
"""
from __future__ import annotations

import json

import gradio as gr
import numpy as np

from models import limits
from models.registry import Topic
from tabs.components import SafeImage
from tabs.errors import progress_adapter, user_errors
from tabs.i18n import lang_of, t, text
from tabs.kit import (BENCH_QUEUE, PRIVATE, ModelSlot, StudioContext, ab_panel, api, bind, compare, examples, header,
                      heavy_queue, learn_accordion, runtime_picker, show_availability, source_picker, weights_path_box)

CANVAS_PX = 440            # on-screen height of the clickable picture
THUMB_PX = 160
MAX_PROMPT_CHARS = limits.SAM_MAX_PROMPT_CHARS
EMPTY_PROMPT = '{"points": [], "box": null}'
PROMPT_EXAMPLE = '{"points": [[120, 80, 1]], "box": null}'


def warm(ctx: StudioContext) -> None:
    """Import what the first visit needs (torch, segment_anything, scipy); no weights."""
    ctx.torch_device()
    import models.sam.predictor  # noqa: F401
    import models.sam.prompts  # noqa: F401


# ---------------------------------------------------------------------------- the prompt text
def parse_prompt(raw: str | None, lang: str = "en") -> dict:
    """The prompt text -> {"points": [(x, y, label)], "box": [x1, y1, x2, y2] | None}."""
    raw = (raw or "").strip() or EMPTY_PROMPT
    try:
        if len(raw) > MAX_PROMPT_CHARS:
            raise ValueError(f"{len(raw)} characters, at most {MAX_PROMPT_CHARS}")
        data = json.loads(raw)
        if not isinstance(data, dict) or set(data) - {"points", "box"}:
            raise ValueError('an object with "points" and "box"')
        points = []
        for p in data.get("points") or []:
            if not (isinstance(p, list) and len(p) == 3 and p[2] in (0, 1)
                    and all(isinstance(v, (int, float)) and np.isfinite(v) for v in p[:2])):
                raise ValueError(f"bad point {json.dumps(p)[:40]}")
            points.append((float(p[0]), float(p[1]), int(p[2])))
        box = data.get("box")
        if box is not None:
            if not (isinstance(box, list) and len(box) == 4
                    and all(isinstance(v, (int, float)) and np.isfinite(v) for v in box)):
                raise ValueError(f"bad box {json.dumps(box)[:40]}")
            box = [float(v) for v in box]
    except (ValueError, TypeError) as e:
        raise gr.Error(text("sam.bad_prompt", lang, example=PROMPT_EXAMPLE, detail=str(e)[:120]),
                       print_exception=False) from None
    return {"points": points, "box": box}


def format_prompt(prompt: dict) -> str:
    pts = [[round(x, 1), round(y, 1), int(label)] for x, y, label in prompt["points"]]
    box = [round(v, 1) for v in prompt["box"]] if prompt["box"] is not None else None
    return json.dumps({"points": pts, "box": box})


# ---------------------------------------------------------------------------- results
def pack(pred) -> dict:
    """What the candidate gallery needs later, small enough to keep in the session."""
    return {"masks": np.packbits(pred.masks, axis=-1), "width": pred.masks.shape[-1],
            "scores": [float(s) for s in pred.scores], "tokens": list(pred.tokens), "best": pred.best,
            "chosen": pred.best, "rule": pred.rule, "low_res": pred.low_res.astype(np.float16),
            "decoder_ms": pred.decoder_ms, "encoder_ms": pred.encoder_ms, "cached": pred.embedding_cached}


def _mask(result: dict, i: int) -> np.ndarray:
    return np.unpackbits(result["masks"][i], axis=-1, count=result["width"]).astype(bool)


def _name(token: int, lang: str) -> str:
    """A candidate by its mask token: 0 is SAM's single output, 1-3 its multimask answers."""
    return text("sam.name_multimask", lang, i=token) if token else text("sam.name_single", lang)


def views(img, prompt, result, lang, corner=None):
    """canvas, candidate gallery, logits picture for a result (or none yet)."""
    from models.sam.pictures import display_factor, logits_picture, overlay
    from models.viz import upscale
    f = display_factor(img.shape)
    if result is None:
        return overlay(img, None, prompt["points"], prompt["box"], corner, factor=f), None, None
    chosen = result["chosen"]
    canvas = overlay(img, _mask(result, chosen), prompt["points"], prompt["box"], corner, factor=f)
    gallery = []
    for i, (token, score) in enumerate(zip(result["tokens"], result["scores"])):
        thumb = overlay(img, _mask(result, i))
        thumb = upscale(thumb, THUMB_PX) if max(thumb.shape[:2]) < THUMB_PX else thumb
        key = "sam.candidate_chosen" if i == chosen else "sam.candidate_caption"
        gallery.append((thumb, text(key, lang, name=_name(token, lang), score=f"{score:.3f}")))
    logits = logits_picture(result["low_res"][result["tokens"][chosen]].astype(np.float32))
    return canvas, gallery, logits


def status_line(result, lang, runtime_label, why=None):
    enc = (text("sam.enc_cached", lang, ms=f"{result['encoder_ms'] or 0:.1f}") if result["cached"]
           else text("sam.enc_ran", lang, ms=f"{result['encoder_ms']:.1f}"))
    chosen = result["chosen"]
    if why is None:
        why = text("sam.why_best" if result["rule"] == "highest_iou" else "sam.why_single", lang)
    area = int(_mask(result, chosen).sum())
    line = text("sam.ran", lang, dec=f"{result['decoder_ms']:.1f}", enc=enc, n=len(result["tokens"]),
                chosen=_name(result["tokens"][chosen], lang), why=why, area=f"{area:,}")
    return f"{line} · {runtime_label}" if runtime_label else line


def need_image(image, lang):
    if image is None:
        raise gr.Error(text("sam.no_image", lang), print_exception=False)
    from models.images import load_image
    return load_image(image)


def blank_canvas(image: np.ndarray) -> np.ndarray:
    from models.sam.pictures import display_factor, overlay
    return overlay(image, factor=display_factor(image.shape))


# ---------------------------------------------------------------------------- callbacks
@user_errors
def describe_model(slot: ModelSlot, source, weights_path, request: gr.Request, progress=gr.Progress()):
    _, status = slot.status(source, weights_path, progress, lang_of(request))
    return status


@user_errors
def encode(slot: ModelSlot, image, source, weights_path, runtime, request: gr.Request, progress=gr.Progress()):
    """A new picture (or model, or runtime): compute its embedding now, clear the prompt."""
    lang = lang_of(request)
    if image is None:
        return None, EMPTY_PROMPT, None, [], None, None, None, ""
    img = need_image(image, lang)
    p, status = slot.status(source, weights_path, progress, lang)
    if p is None:
        return blank_canvas(img), EMPTY_PROMPT, None, [], None, None, None, status
    progress(0.3, desc=text("common.building", lang, name=runtime))
    emb, cached = p.embed(img, runtime, progress_adapter(progress))
    return (blank_canvas(img), EMPTY_PROMPT, None, [], None, None, None,
            text("sam.encoded_cached" if cached else "sam.encoded", lang, ms=f"{emb.encoder_ms:.1f}",
                 runtime=emb.runtime))


def run_segment(slot: ModelSlot, img, prompt, source, weights_path, runtime, lang, progress=None):
    """(canvas, gallery, logits, status, result) for ``prompt`` on ``img``."""
    p = slot.get(source, weights_path, progress, lang)
    if not prompt["points"] and prompt["box"] is None:
        canvas, _, _ = views(img, prompt, None, lang)
        return canvas, None, None, text("sam.empty_prompt", lang), None
    pred = p.predict(img, prompt["points"], prompt["box"], runtime, progress_adapter(progress))
    result = pack(pred)
    canvas, gallery, logits = views(img, prompt, result, lang)
    return canvas, gallery, logits, status_line(result, lang, pred.runtime), result


@user_errors
def segment(slot: ModelSlot, image, prompt_text, source, weights_path, runtime, request: gr.Request,
            progress=gr.Progress()):
    """The prompt text as it stands -> masks (the Segment button and the API)."""
    lang = lang_of(request)
    img = need_image(image, lang)
    return run_segment(slot, img, parse_prompt(prompt_text, lang), source, weights_path, runtime, lang, progress)


@user_errors
def click(slot: ModelSlot, image, prompt_text, mode, corner, history, source, weights_path, runtime,
          evt: gr.SelectData, request: gr.Request, progress=gr.Progress()):
    """A click on the picture: a point (object / background) or a box corner, then the masks."""
    from models.sam.pictures import display_factor, to_image_xy
    lang = lang_of(request)
    img = need_image(image, lang)
    prompt = parse_prompt(prompt_text, lang)
    x, y = to_image_xy(*(float(v) for v in evt.index), display_factor(img.shape))
    history = list(history or [])
    if mode == "box":
        if corner is None:      # first corner: remember it, draw it, wait for the second
            canvas, _, _ = views(img, prompt, None, lang, corner=[x, y])
            return (format_prompt(prompt), [x, y], history, canvas, gr.update(), gr.update(),
                    text("sam.corner_first", lang), gr.update())
        x1, y1 = corner
        prompt["box"] = [min(x1, x), min(y1, y), max(x1, x), max(y1, y)]
        history.append("box")
    else:
        prompt["points"].append((x, y, 1 if mode == "positive" else 0))
        history.append("point")
    shown = run_segment(slot, img, prompt, source, weights_path, runtime, lang, progress)
    return format_prompt(prompt), None, history, *shown


@user_errors
def undo(slot: ModelSlot, image, prompt_text, corner, history, source, weights_path, runtime, request: gr.Request,
         progress=gr.Progress()):
    lang = lang_of(request)
    img = need_image(image, lang)
    prompt = parse_prompt(prompt_text, lang)
    history = list(history or [])
    if corner is None:
        last = history.pop() if history else ("point" if prompt["points"] else "box")
        if last == "point" and prompt["points"]:
            prompt["points"].pop()
        else:
            prompt["box"] = None
    shown = run_segment(slot, img, prompt, source, weights_path, runtime, lang, progress)
    return format_prompt(prompt), None, history, *shown


@user_errors
def clear(image, request: gr.Request):
    lang = lang_of(request)
    canvas = blank_canvas(need_image(image, lang)) if image is not None else None
    return EMPTY_PROMPT, None, [], canvas, None, None, text("sam.empty_prompt", lang), None


@user_errors
def choose(image, prompt_text, result, evt: gr.SelectData, request: gr.Request):
    """A click on a candidate shows that mask instead of SAM's pick."""
    lang = lang_of(request)
    if result is None:
        return gr.update(), gr.update(), gr.update(), gr.update(), result
    img = need_image(image, lang)
    result = dict(result, chosen=int(evt.index))
    canvas, gallery, logits = views(img, parse_prompt(prompt_text, lang), result, lang)
    return canvas, gallery, logits, status_line(result, lang, "", text("sam.why_user", lang)), result


@user_errors
def everything(slot: ModelSlot, image, points_per_side, pred_iou, stability, source, weights_path, runtime,
               request: gr.Request, progress=gr.Progress()):
    """segment_anything's automatic mask generator over a grid of single-click prompts."""
    from models.sam.pictures import DISPLAY_MIN_PX
    from models.sam.pictures import everything as paint
    from models.viz import upscale
    lang = lang_of(request)
    img = need_image(image, lang)
    p = slot.get(source, weights_path, progress, lang)
    progress(0.3, desc=text("sam.everything_title", lang))
    records, ms, cached = p.everything(img, int(points_per_side), float(pred_iou), float(stability),
                                       runtime, progress_adapter(progress))
    side = int(points_per_side)
    status = text("sam.everything_ran", lang, n=len(records), side=side, points=side * side,
                  calls=p.decoder_calls(side), ms=f"{ms:.0f}", runtime=p.backend("decoder", runtime).describe(),
                  cached=text("sam.cached_word" if cached else "sam.computed_word", lang))
    return upscale(paint(img, records), DISPLAY_MIN_PX), status


@user_errors
def compare_runtimes(slot: ModelSlot, graph, image, source, weights_path, a, b, runs, request: gr.Request,
                     progress=gr.Progress()):
    """A/B of the encoder or the decoder on the picture (None: the bench's held-out scene)."""
    lang = lang_of(request)
    return compare(slot, graph, image, source, weights_path, a, b, runs, lang, progress)


def random_scene():
    from models.examples import random_scene as fresh_scene
    return fresh_scene()


# ---------------------------------------------------------------------------- layout and wiring
def build(ctx: StudioContext, demo: gr.Blocks, topic: Topic) -> gr.Tab:
    from models.examples import example_scene
    model = topic.model()
    slot = ModelSlot(ctx, model, "sam.model_ok")
    first = example_scene(0).image
    with gr.Tab(t("sam.tab"), id=topic.key) as tab:
        header(topic.key)
        with gr.Row():
            source = source_picker(model, scale=2)
            runtime = runtime_picker(ctx)
        weights_path, source_changed = weights_path_box(source, "sam.weights_path", "~/models/sam_vit_b_01ec64.pth")
        status = gr.Markdown(elem_id="sam-status")
        with gr.Row():
            with gr.Column(scale=1, min_width=260):
                image = SafeImage(label=t("sam.image"), type="numpy", sources=["upload", "clipboard"],
                                  height=220, image_mode="RGB", value=first)
                random_btn = gr.Button(t("sam.random"), size="sm")
                examples(model.examples(), [image], "sam.examples")
                mode = gr.Radio([(t("sam.mode_positive"), "positive"), (t("sam.mode_negative"), "negative"),
                                 (t("sam.mode_box"), "box")], value="positive", label=t("sam.mode"),
                                elem_id="sam-mode")
                with gr.Row():
                    undo_btn = gr.Button(t("sam.undo"), size="sm", elem_id="sam-undo")
                    clear_btn = gr.Button(t("sam.clear"), size="sm", elem_id="sam-clear")
                prompt = gr.Textbox(value=EMPTY_PROMPT, label=t("sam.prompt"), max_lines=3, elem_id="sam-prompt")
                segment_btn = gr.Button(t("sam.segment"), variant="primary")
            with gr.Column(scale=2, min_width=360):
                canvas = gr.Image(value=blank_canvas(first), label=t("sam.canvas"), interactive=False,
                                  height=CANVAS_PX, elem_id="sam-canvas")
                run_status = gr.Markdown(elem_id="sam-run-status")
        with gr.Row():
            gallery = gr.Gallery(label=t("sam.candidates"), columns=4, height=300, allow_preview=False,
                                 object_fit="contain", elem_id="sam-candidates", scale=3)
            logits = gr.Image(label=t("sam.logits"), interactive=False, height=300, elem_id="sam-logits", scale=1)
        with gr.Accordion(t("sam.everything_title"), open=False):
            gr.Markdown(t("sam.everything_intro"))
            with gr.Row():
                points_per_side = gr.Slider(4, limits.SAM_MAX_POINTS_PER_SIDE, value=16, step=1,
                                            label=t("sam.points_per_side"))
                pred_iou = gr.Slider(0.0, 1.0, value=0.8, step=0.01, label=t("sam.pred_iou"))
                stability = gr.Slider(0.0, 1.0, value=0.9, step=0.01, label=t("sam.stability"))
            everything_btn = gr.Button(t("sam.everything_run"), variant="primary", elem_id="sam-everything-run")
            everything_status = gr.Markdown(elem_id="sam-everything-status")
            everything_view = gr.Image(label=t("sam.everything_view"), interactive=False, height=CANVAS_PX,
                                       elem_id="sam-everything")
        ab = ab_panel(ctx, list(model.graphs), default="sam-decoder")   # what every click costs
        learn_accordion("sam.learn")
        corner, history, result = gr.State(None), gr.State([]), gr.State(None)

        heavy = heavy_queue(topic.key)
        model_inputs = [source, weights_path, runtime]
        shown = [canvas, gallery, logits, run_status, result]
        edited = [prompt, corner, history, *shown]
        encoded = [canvas, prompt, corner, history, gallery, logits, result, run_status]
        encode_fn = bind(encode, slot)
        for event in (source_changed.then, weights_path.submit, tab.select):
            event(bind(describe_model, slot), [source, weights_path], status,
                  **PRIVATE, **heavy).then(encode_fn, [image, *model_inputs], encoded, **PRIVATE, **heavy)
        for event in (image.change, runtime.change):
            event(encode_fn, [image, *model_inputs], encoded, **PRIVATE, **heavy)
        segment_fn = bind(segment, slot)
        segment_btn.click(segment_fn, [image, prompt, *model_inputs], shown, **api(topic.key, "segment"), **heavy)
        prompt.submit(segment_fn, [image, prompt, *model_inputs], shown, **PRIVATE, **heavy)
        canvas.select(bind(click, slot), [image, prompt, mode, corner, history, *model_inputs], edited,
                      **PRIVATE, **heavy)
        undo_btn.click(bind(undo, slot), [image, prompt, corner, history, *model_inputs], edited, **PRIVATE, **heavy)
        clear_btn.click(clear, [image], edited, **PRIVATE)
        gallery.select(choose, [image, prompt, result], shown, **PRIVATE)
        everything_btn.click(bind(everything, slot), [image, points_per_side, pred_iou, stability, *model_inputs],
                             [everything_view, everything_status], **api(topic.key, "segment_everything"), **heavy)
        random_btn.click(random_scene, None, image, queue=False, **PRIVATE)
        show_availability(ctx, tab.select, [runtime, ab.a, ab.b])
        ab.button.click(bind(compare_runtimes, slot), [ab.which, image, source, weights_path, *ab.inputs()],
                        [ab.table, ab.summary], **api(topic.key, "compare_runtimes"), **BENCH_QUEUE)
    return tab
