"""SAM tab: click, negative-click or box an object and get SAM's masks; "segment everything".

UI only. The work: models/sam/predictor.py (encoder once per image, decoder per click, on any
runtime), models/sam/pictures.py (overlays), models/sam/bench.py (A/B and CLI rows).

The prompt lives in a text box as JSON in image pixels, ``{"points": [[x, y, 1|0], ...],
"box": [x1, y1, x2, y2] | null}``: clicks on the picture edit it, a learner can read and edit
the numbers, and the API (``/segment``) takes the same text.
"""
from __future__ import annotations

import json

import gradio as gr
import numpy as np

from models import limits
from tabs.common import (BENCH, ModelPool, SafeImage, StudioContext, ab_panel, ab_result, heavy_queue, learn_accordion,
                         limits_note, missing_model, progress_adapter, runtime_choices, runtime_picker,
                         static_runtime_choices, user_errors)
from tabs.i18n import lang_of, t, text

NAME = "sam"
SCENE_PX = 256
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


def example_scene(seed: int = 0):
    """A held-out ShapeWorld scene (colour-shape pairs the studio model never saw) with 3-5 objects."""
    from models.shapeworld import make_scene
    return make_scene(seed, 0, split="heldout", image_size=SCENE_PX, min_objects=3, max_objects=5)


def random_scene() -> np.ndarray:
    return example_scene(int(np.random.default_rng().integers(1 << 30))).image


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
def _pack(pred) -> dict:
    """What the candidate gallery needs later, small enough to keep in the session."""
    return {"masks": np.packbits(pred.masks, axis=-1), "width": pred.masks.shape[-1],
            "scores": [float(s) for s in pred.scores], "labels": pred.labels, "best": pred.best,
            "chosen": pred.best, "low_res": pred.low_res.astype(np.float16),
            "decoder_ms": pred.decoder_ms, "encoder_ms": pred.encoder_ms, "cached": pred.embedding_cached}


def _mask(result: dict, i: int) -> np.ndarray:
    return np.unpackbits(result["masks"][i], axis=-1, count=result["width"]).astype(bool)


def _label(name: str, lang: str) -> str:
    if name == "single output":
        return text("sam.name_single", lang)
    return text("sam.name_multimask", lang, i=name.split()[-1])


def build(ctx: StudioContext, demo: gr.Blocks) -> gr.Tab:
    from models.sam.sources import SAM_SOURCES

    def make_sam(source_key: str, path: str):
        from models.sam.predictor import StudioSamPredictor
        return StudioSamPredictor(source_key, device=ctx.torch_device(), weights_path=path or None,
                                  checkpoint_root=ctx.checkpoint_root, cache_dir=ctx.cache_dir)

    sams = ModelPool(make_sam, 2)
    if ctx.preload:
        sams.get("studio", "")
    choices = static_runtime_choices()

    def sam(source_key, path, progress=None, lang="en"):
        if source_key not in SAM_SOURCES:
            raise ValueError(f"unknown SAM model {source_key!r}; choose one of {', '.join(SAM_SOURCES)}")
        return sams.load((source_key, (path or "").strip()), progress,
                         text("common.loading", lang, what=SAM_SOURCES[source_key].label))

    def need_image(image, lang):
        if image is None:
            raise gr.Error(text("sam.no_image", lang), print_exception=False)
        from models.images import load_image
        return load_image(image)

    # ------------------------------------------------------------------ rendering
    def views(img, prompt, result, lang, corner=None):
        """canvas, candidate gallery, logits picture, status for a result (or none yet)."""
        from models.sam.pictures import display_factor, logits_picture, overlay
        from models.viz import upscale
        f = display_factor(img.shape)
        if result is None:
            return overlay(img, None, prompt["points"], prompt["box"], corner, factor=f), None, None
        chosen = result["chosen"]
        canvas = overlay(img, _mask(result, chosen), prompt["points"], prompt["box"], corner, factor=f)
        gallery = []
        for i, (name, score) in enumerate(zip(result["labels"], result["scores"])):
            thumb = overlay(img, _mask(result, i))
            thumb = upscale(thumb, THUMB_PX) if max(thumb.shape[:2]) < THUMB_PX else thumb
            key = "sam.candidate_chosen" if i == chosen else "sam.candidate_caption"
            gallery.append((thumb, text(key, lang, name=_label(name, lang), score=f"{score:.3f}")))
        token = (chosen + 1) if chosen < 3 else 0          # candidates are tokens 1, 2, 3 (, 0)
        logits = logits_picture(result["low_res"][token].astype(np.float32))
        return canvas, gallery, logits

    def status_line(result, lang, runtime_label, why=None):
        enc = (text("sam.enc_cached", lang, ms=f"{result['encoder_ms'] or 0:.1f}") if result["cached"]
               else text("sam.enc_ran", lang, ms=f"{result['encoder_ms']:.1f}"))
        chosen = result["chosen"]
        if why is None:
            why = text("sam.why_best" if len(result["labels"]) == 3 else "sam.why_single", lang)
        area = int(_mask(result, chosen).sum())
        return text("sam.ran", lang, dec=f"{result['decoder_ms']:.1f}", enc=enc, n=len(result["labels"]),
                    chosen=_label(result["labels"][chosen], lang), why=why, area=f"{area:,}") + \
            f" · {runtime_label}"

    # ------------------------------------------------------------------ callbacks
    @user_errors
    def describe(source_key, path, request: gr.Request, progress=gr.Progress()):
        lang = lang_of(request)
        live = gr.update(choices=runtime_choices(ctx.torch_device()))
        try:
            p = sam(source_key, path, progress, lang)
        except Exception as e:  # noqa: BLE001 — a missing model is a status line, not a crash
            return missing_model(e, SAM_SOURCES[source_key].label, lang), live, live, live
        status = "✅ " + text("sam.model_ok", lang, label=SAM_SOURCES[source_key].label,
                             params=f"{p.num_parameters():,}", size=p.image_size, grid=p.grid)
        return status, live, live, live

    @user_errors
    def encode(image, source_key, path, runtime, request: gr.Request, progress=gr.Progress()):
        """A new picture (or model, or runtime): compute its embedding now, clear the prompt."""
        lang = lang_of(request)
        from models.sam.pictures import display_factor, overlay
        if image is None:
            return None, EMPTY_PROMPT, None, [], None, None, None, ""
        img = need_image(image, lang)
        canvas = overlay(img, factor=display_factor(img.shape))
        try:
            p = sam(source_key, path, progress, lang)
        except Exception as e:  # noqa: BLE001
            return canvas, EMPTY_PROMPT, None, [], None, None, None, missing_model(e, SAM_SOURCES[source_key].label, lang)
        progress(0.3, desc=text("common.building", lang, name=runtime))
        emb, cached = p.embed(img, runtime, progress_adapter(progress))
        key = "sam.encoded_cached" if cached else "sam.encoded"
        return (canvas, EMPTY_PROMPT, None, [], None, None, None,
                text(key, lang, ms=f"{emb.encoder_ms:.1f}", runtime=emb.runtime))

    def run_segment(img, prompt, source_key, path, runtime, lang, progress=None):
        p = sam(source_key, path, progress, lang)
        if not prompt["points"] and prompt["box"] is None:
            canvas, _, _ = views(img, prompt, None, lang)
            return canvas, None, None, text("sam.empty_prompt", lang), None
        pred = p.predict(img, prompt["points"], prompt["box"], runtime,
                         progress_adapter(progress) if progress else None)
        result = _pack(pred)
        canvas, gallery, logits = views(img, prompt, result, lang)
        return canvas, gallery, logits, status_line(result, lang, pred.runtime), result

    @user_errors
    def segment(image, prompt_text, source_key, path, runtime, request: gr.Request, progress=gr.Progress()):
        """The prompt text as it stands -> masks (the Segment button and the API)."""
        lang = lang_of(request)
        img = need_image(image, lang)
        prompt = parse_prompt(prompt_text, lang)
        return run_segment(img, prompt, source_key, path, runtime, lang, progress)

    @user_errors
    def click(image, prompt_text, mode, corner, history, source_key, path, runtime, evt: gr.SelectData,
              request: gr.Request, progress=gr.Progress()):
        lang = lang_of(request)
        img = need_image(image, lang)
        prompt = parse_prompt(prompt_text, lang)
        from models.sam.pictures import display_factor, to_image_xy
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
        canvas, gallery, logits, status, result = run_segment(img, prompt, source_key, path, runtime, lang, progress)
        return format_prompt(prompt), None, history, canvas, gallery, logits, status, result

    @user_errors
    def undo(image, prompt_text, corner, history, source_key, path, runtime, request: gr.Request,
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
        canvas, gallery, logits, status, result = run_segment(img, prompt, source_key, path, runtime, lang, progress)
        return format_prompt(prompt), None, history, canvas, gallery, logits, status, result

    @user_errors
    def clear(image, request: gr.Request):
        from models.sam.pictures import display_factor, overlay
        lang = lang_of(request)
        canvas = None
        if image is not None:
            img = need_image(image, lang)
            canvas = overlay(img, factor=display_factor(img.shape))
        return EMPTY_PROMPT, None, [], canvas, None, None, text("sam.empty_prompt", lang), None

    @user_errors
    def choose(image, prompt_text, result, evt: gr.SelectData, request: gr.Request):
        lang = lang_of(request)
        if result is None:
            return gr.update(), gr.update(), gr.update(), gr.update(), result
        img = need_image(image, lang)
        result = dict(result, chosen=int(evt.index))
        canvas, gallery, logits = views(img, parse_prompt(prompt_text, lang), result, lang)
        return canvas, gallery, logits, status_line(result, lang, "", text("sam.why_user", lang)).rstrip(" ·"), result

    @user_errors
    def everything(image, points_per_side, pred_iou, stability, source_key, path, runtime,
                   request: gr.Request, progress=gr.Progress()):
        from models.sam.pictures import everything as paint
        from models.sam.predictor import MAX_PROMPTS
        lang = lang_of(request)
        img = need_image(image, lang)
        p = sam(source_key, path, progress, lang)
        progress(0.3, desc=text("sam.everything_title", lang))
        records, ms, cached = p.everything(img, int(points_per_side), float(pred_iou), float(stability),
                                           runtime, progress_adapter(progress))
        side = int(points_per_side)
        status = text("sam.everything_ran", lang, n=len(records), side=side, points=side * side,
                      calls=-(-side * side // MAX_PROMPTS), ms=f"{ms:.0f}", runtime=p.decoder_backend(runtime).describe(),
                      cached=text("sam.cached_word" if cached else "sam.computed_word", lang))
        from models.sam.pictures import DISPLAY_MIN_PX
        from models.viz import upscale
        return upscale(paint(img, records), DISPLAY_MIN_PX), status

    @user_errors
    def run_ab(which, image, source_key, path, a, b, runs, request: gr.Request, progress=gr.Progress()):
        from models.bench import run_bench
        from models.sam.bench import bench_scene, decoder_spec_for, encoder_spec_for, grid_clicks
        lang = lang_of(request)
        p = sam(source_key, path, progress, lang)
        img = need_image(image, lang) if image is not None else bench_scene().image
        spec = (encoder_spec_for if which == "encoder" else decoder_spec_for)(p, img, grid_clicks(img))
        report = run_bench(spec, [a, b], runs=int(runs), warmup=3, device=ctx.torch_device(),
                           cache_dir=ctx.cache_dir, progress=progress_adapter(progress))
        rows, headers, verdict = ab_result(report, a, b, lang)
        return gr.update(value=rows, headers=headers), verdict

    # ------------------------------------------------------------------ layout
    first = example_scene(0).image
    with gr.Tab(t("sam.tab"), id=NAME) as tab:
        gr.Markdown(t("sam.intro"))
        limits_note("sam")
        with gr.Row():
            source = gr.Dropdown([(s.label, k) for k, s in SAM_SOURCES.items()], value="studio",
                                 label=t("common.source"), scale=2)
            runtime = runtime_picker(ctx, choices)
        weights_path = gr.Textbox(label=t("sam.weights_path"), max_lines=1, visible=False,
                                  placeholder="~/models/sam_vit_b_01ec64.pth")
        status = gr.Markdown(elem_id="sam-status")
        with gr.Row():
            with gr.Column(scale=1, min_width=260):
                image = SafeImage(label=t("sam.image"), type="numpy", sources=["upload", "clipboard"],
                                  height=220, image_mode="RGB", value=first)
                random_btn = gr.Button(t("sam.random"), size="sm")
                gr.Examples([[str(p)] for p in _examples()], inputs=[image], label=t("sam.examples"))
                mode = gr.Radio([(t("sam.mode_positive"), "positive"), (t("sam.mode_negative"), "negative"),
                                 (t("sam.mode_box"), "box")], value="positive", label=t("sam.mode"),
                                elem_id="sam-mode")
                with gr.Row():
                    undo_btn = gr.Button(t("sam.undo"), size="sm", elem_id="sam-undo")
                    clear_btn = gr.Button(t("sam.clear"), size="sm", elem_id="sam-clear")
                prompt = gr.Textbox(value=EMPTY_PROMPT, label=t("sam.prompt"), max_lines=3,
                                    elem_id="sam-prompt")
                segment_btn = gr.Button(t("sam.segment"), variant="primary")
            with gr.Column(scale=2, min_width=360):
                canvas = gr.Image(value=_first_canvas(first), label=t("sam.canvas"), interactive=False, height=CANVAS_PX,
                                  elem_id="sam-canvas")
                run_status = gr.Markdown(elem_id="sam-run-status")
        with gr.Row():
            gallery = gr.Gallery(label=t("sam.candidates"), columns=4, height=300, allow_preview=False,
                                 object_fit="contain", elem_id="sam-candidates", scale=3)
            logits = gr.Image(label=t("sam.logits"), interactive=False, height=300, elem_id="sam-logits", scale=1)
        with gr.Accordion(t("sam.everything_title"), open=False):
            gr.Markdown(t("sam.everything_intro"))
            with gr.Row():
                points_per_side = gr.Slider(4, 32, value=16, step=1, label=t("sam.points_per_side"))
                pred_iou = gr.Slider(0.0, 1.0, value=0.8, step=0.01, label=t("sam.pred_iou"))
                stability = gr.Slider(0.0, 1.0, value=0.9, step=0.01, label=t("sam.stability"))
            everything_btn = gr.Button(t("sam.everything_run"), variant="primary", elem_id="sam-everything-run")
            everything_status = gr.Markdown(elem_id="sam-everything-status")
            everything_view = gr.Image(label=t("sam.everything_view"), interactive=False, height=CANVAS_PX,
                                       elem_id="sam-everything")
        ab_which = gr.Radio([(t("sam.ab_encoder"), "encoder"), (t("sam.ab_decoder"), "decoder")], value="decoder",
                            label=t("sam.ab_which"))
        ab = ab_panel(ctx, choices)
        learn_accordion("sam.learn")

        corner = gr.State(None)
        history = gr.State([])
        result = gr.State(None)

        heavy = heavy_queue(NAME)
        hidden = dict(api_visibility="undocumented")
        private = dict(api_visibility="private")
        model_inputs = [source, weights_path, runtime]
        shown = [canvas, gallery, logits, run_status, result]
        encoded = [canvas, prompt, corner, history, gallery, logits, result, run_status]
        described = [status, runtime, ab.a, ab.b]

        source.change(lambda k: gr.update(visible=k != "studio"), source, weights_path, queue=False, **private)
        for trigger in (source.change, weights_path.submit):
            trigger(describe, [source, weights_path], described, **hidden, **heavy) \
                .then(encode, [image] + model_inputs, encoded, **hidden, **heavy)
        for trigger in (image.change, runtime.change):
            trigger(encode, [image] + model_inputs, encoded, **hidden, **heavy)
        segment_btn.click(segment, [image, prompt] + model_inputs, shown, api_name="segment", **heavy)
        prompt.submit(segment, [image, prompt] + model_inputs, shown, **hidden, **heavy)
        canvas.select(click, [image, prompt, mode, corner, history] + model_inputs,
                      [prompt, corner, history] + shown[:4] + [result], **private, **heavy)
        undo_btn.click(undo, [image, prompt, corner, history] + model_inputs,
                       [prompt, corner, history] + shown[:4] + [result], **private, **heavy)
        clear_btn.click(clear, [image], [prompt, corner, history] + shown[:4] + [result], **private)
        gallery.select(choose, [image, prompt, result], shown, **private)
        everything_btn.click(everything, [image, points_per_side, pred_iou, stability] + model_inputs,
                             [everything_view, everything_status], api_name="segment_everything", **heavy)
        random_btn.click(random_scene, None, image, queue=False, **private)
        ab.button.click(run_ab, [ab_which, image, source, weights_path, ab.a, ab.b, ab.runs], [ab.table, ab.summary],
                        api_name="compare_sam_runtimes", concurrency_id=BENCH, concurrency_limit=1)
        tab.select(describe, [source, weights_path], described, **hidden, **heavy) \
            .then(encode, [image] + model_inputs, encoded, **hidden, **heavy)
    return tab


def _first_canvas(image: np.ndarray) -> np.ndarray:
    from models.sam.pictures import display_factor, overlay
    return overlay(image, factor=display_factor(image.shape))


def _examples() -> list:
    """segment_anything ships no pictures: the studio's photos and shape pictures."""
    from models.examples import photo_example_paths
    return list(photo_example_paths())
