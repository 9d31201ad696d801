"""Diffusion tab: sample step by step (x_t and the model's x0 side by side, then a timeline),
the forward process q(x_t | x0) with the ᾱ_t curve, and samplers compared on one seed.

UI only. The work: models/diffusion/predictor.py (the denoising loop, written out, yielding every
step), models/diffusion/schedulers.py (diffusers' schedulers by name), models/diffusion/bench.py
(A/B and CLI rows), models/diffusion/pictures.py (grids and the curve).
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
from tabs.kit import (BENCH_QUEUE, PRIVATE, ModelSlot, StudioContext, ab_panel, api, bind, compare, header,
                      heavy_queue, learn_accordion, runtime_picker, show_availability, source_picker, weights_path_box)

FRAME_INTERVAL_S = 0.08     # stream at most ~12 frames a second: 1000 DDPM steps stay watchable
TIMELINE_FRAMES = 100       # frames kept for the scrubber (every k-th step of long runs)
COMPARE_DEFAULT = ["ddpm-1000", "ddim-50", "ddim-25", "dpm++-20", "euler-25"]   # dpm++-20: the Sample tab's default


def warm(ctx: StudioContext) -> None:
    """Import what the first visit needs (torch, diffusers, matplotlib); no weights."""
    ctx.torch_device()
    import models.diffusion.pictures  # noqa: F401
    import models.diffusion.predictor  # noqa: F401


def frames_to_keep(steps: int) -> set[int]:
    keep = np.unique(np.linspace(1, steps, min(steps, TIMELINE_FRAMES)).round().astype(int))
    return set(int(k) for k in keep)


def sampler_label(key: str) -> str:
    from models.diffusion.schedulers import SAMPLERS
    return SAMPLERS[key].label if key in SAMPLERS else key


def judged(cnns: ModelSlot, p, images, shape, key, lang) -> str:
    """How many pictures the studio CNN names as ``shape``, as the ``key`` line; "" when the
    model draws no asked shape (an unconditional DDPM)."""
    from models.diffusion.predictor import SampleJudge
    from models.shapeworld import SHAPES
    if not p.conditional or shape not in SHAPES:
        return ""
    ok = int((SampleJudge(cnn=cnns.get("studio")).shapes(images) == SHAPES.index(shape)).sum())
    return text(key, lang, ok=ok, n=len(images), shape=shape)


# ---------------------------------------------------------------------------- callbacks
@user_errors
def describe_model(slot: ModelSlot, source, weights_path, request: gr.Request, progress=gr.Progress()):
    """Status line; guidance and eta start where the card measured the model; t spans its schedule."""
    lang = lang_of(request)
    p, status = slot.status(source, weights_path, progress, lang)
    if p is None:
        return status, gr.update(), gr.update(), gr.update()
    status += " " + text("diffusion.cond_yes" if p.conditional else "diffusion.cond_no", lang)
    last = p.num_train_timesteps - 1
    return (status, gr.update(value=p.default_guidance()), gr.update(value=p.default_eta()),
            gr.update(maximum=last, value=min(last, 250)))


@user_errors
def sample(slot: ModelSlot, cnns: ModelSlot, shape, colour, n, seed, sampler, steps, guidance, eta, source,
           weights_path, runtime, request: gr.Request, progress=gr.Progress()):
    """Stream every step's x_t and x0 (throttled), then the final pictures and the timeline."""
    from models.diffusion.pictures import grid
    lang = lang_of(request)
    p = slot.get(source, weights_path, progress, lang)
    steps, frames, last = int(steps), [], 0.0
    keep = frames_to_keep(steps)
    for rec in p.sample(shape, colour, n=int(n), sampler=sampler, steps=steps, guidance=float(guidance),
                        eta=float(eta), seed=int(seed), runtime=runtime, progress=progress_adapter(progress)):
        if hasattr(rec, "x_t"):
            line = text("diffusion.step_status", lang, i=rec.index, n=rec.steps, t=f"{rec.timestep:.0f}",
                        ab=f"{rec.alpha_bar:.4f}", a=f"{rec.alpha_bar ** 0.5:.3f}", s=f"{(1 - rec.alpha_bar) ** 0.5:.3f}",
                        unet=f"{rec.unet_ms:.1f}", batch=rec.batch, step=f"{rec.step_ms:.1f}")
            if rec.index in keep:
                frames.append({"x_t": grid(rec.x_t), "x0": grid(rec.x0), "line": line})
            now = time.perf_counter()
            if now - last >= FRAME_INTERVAL_S or rec.index == rec.steps:
                last = now
                yield grid(rec.x_t), grid(rec.x0), None, line, gr.update(), None
        else:
            done = text("diffusion.done", lang, n=len(rec.images), sampler=sampler_label(rec.sampler),
                        steps=rec.steps, g=f"{rec.guidance:g}", seed=rec.seed, wall=f"{rec.wall_ms:.0f}",
                        unet=f"{rec.unet_ms:.0f}", runtime=rec.runtime,
                        judged=judged(cnns, p, rec.images, shape, "diffusion.judged", lang))
            timeline = gr.update(minimum=1, maximum=max(len(frames), 1), value=len(frames), step=1,
                                 interactive=len(frames) > 1)
            yield (frames[-1]["x_t"] if frames else None, frames[-1]["x0"] if frames else None,
                   grid(rec.images), done, timeline, frames)


def scrub(frames, k, request: gr.Request):
    """The timeline: step ``k`` of the finished run, from the frames it kept."""
    if not frames:
        return gr.update(), gr.update(), text("diffusion.no_run", lang_of(request))
    f = frames[min(max(int(k), 1), len(frames)) - 1]
    return f["x_t"], f["x0"], f["line"]


@user_errors
def forward_process(slot: ModelSlot, image, t_value, source, weights_path, request: gr.Request,
                    progress=gr.Progress()):
    """q(x_t | x0) at the chosen t and along a ladder of t, one noise draw; the ᾱ_t curve."""
    from models.diffusion.pictures import alpha_bar_plot, strip
    lang = lang_of(request)
    if image is None:
        raise gr.Error(text("diffusion.no_image", lang), print_exception=False)
    p = slot.get(source, weights_path, progress, lang)
    tv, ladder = int(t_value), p.forward_ladder()
    one = p.forward_process(image, [tv] + ladder, seed=0)   # the chosen t first, then the ladder
    ab = float(one.alpha_bar[0])
    status = text("diffusion.forward_status", lang, t=tv, ab=f"{ab:.4f}", a=f"{ab ** 0.5:.3f}",
                  s=f"{(1 - ab) ** 0.5:.3f}", var=f"{one.x0_variance:.3f}", share=f"{100 * one.picture_share[0]:.0f}",
                  ladder=", ".join(map(str, ladder)))
    return (strip(np.stack([one.x0, one.noise, one.x_t[0]]), tile=192), strip(one.x_t[1:], tile=112),
            alpha_bar_plot(p.alphas_cumprod(), tv, x0_variance=one.x0_variance), status)


@user_errors
def compare_samplers(slot: ModelSlot, cnns: ModelSlot, shape, colour, n, seed, guidance, picked, source,
                     weights_path, runtime, request: gr.Request, progress=gr.Progress()):
    """The same seed through several (sampler, steps): pictures, wall time and what the CNN sees."""
    from models.diffusion.pictures import grid
    from models.diffusion.schedulers import compare_run
    lang = lang_of(request)
    if not picked:
        raise gr.Error(text("diffusion.compare_none", lang), print_exception=False)
    runs = [compare_run(key) for key in picked]
    p = slot.get(source, weights_path, progress, lang)
    ids = p.class_ids(shape, colour, int(n))
    items, times, total, done_steps = [], [], sum(steps for _, steps in runs), 0
    for sampler, steps in runs:
        progress(done_steps / total, desc=f"{sampler_label(sampler)} · {steps}")
        out = p.generate(ids, sampler, steps, float(guidance), 0.0, int(seed), runtime)
        done_steps += steps
        items.append((grid(out.images, tile=96),
                      text("diffusion.compare_caption", lang, sampler=sampler_label(sampler), steps=steps,
                           ms=f"{out.wall_ms:.0f}",
                           judged=judged(cnns, p, out.images, shape, "diffusion.compare_judged", lang))))
        times.append((out.wall_ms, f"{sampler_label(sampler)} · {steps}"))
    slow, fast = max(times), min(times)
    status = text("diffusion.compare_status", lang, k=len(runs), n=int(n), slow=f"{slow[0]:.0f}", slow_name=slow[1],
                  fast=f"{fast[0]:.0f}", fast_name=fast[1], ratio=f"{slow[0] / max(fast[0], 1e-9):.1f}")
    return items, status


@user_errors
def compare_runtimes(slot: ModelSlot, source, weights_path, a, b, runs, request: gr.Request, progress=gr.Progress()):
    """A/B of one guided UNet step, plus a whole sampling run per runtime."""
    return compare(slot, "diffusion", None, source, weights_path, a, b, runs, lang_of(request), progress)


def eta_for(sampler: str):
    """eta is DDIM's knob: other samplers get it locked at 0."""
    from models.diffusion.schedulers import SAMPLERS
    if sampler in SAMPLERS and SAMPLERS[sampler].takes_eta:
        return gr.update(interactive=True)
    return gr.update(interactive=False, value=0.0)


def random_picture():
    from models.examples import random_object
    return random_object()


# ---------------------------------------------------------------------------- layout and wiring
def build(ctx: StudioContext, demo: gr.Blocks, topic: Topic) -> gr.Tab:
    from models.examples import random_object
    from models.shapeworld import COLOUR_NAMES, SHAPES
    from models.topics import CNN
    model = topic.model()
    slot = ModelSlot(ctx, model, "diffusion.model_ok")
    cnns = ModelSlot(ctx, CNN, "cnn.model_ok", max_items=1, preload=False)   # the judge: the CNN names shapes
    with gr.Tab(t("diffusion.tab"), id=topic.key) as tab:
        header(topic.key)
        with gr.Row():
            source = source_picker(model, scale=2)
            runtime = runtime_picker(ctx)
        weights_path, source_changed = weights_path_box(source, "diffusion.weights_path", "~/models/ddpm-cifar10-32")
        status = gr.Markdown(elem_id="diffusion-status")
        with gr.Row():
            shape = gr.Dropdown(list(SHAPES), value="star", label=t("diffusion.shape"))
            # a pair the model was trained on: purple stars are held out (Learn: composing is harder)
            colour = gr.Dropdown(list(COLOUR_NAMES), value="red", label=t("diffusion.colour"))
            n = gr.Slider(1, limits.DIFFUSION_MAX_IMAGES, value=4, step=1, label=t("diffusion.n"))
            seed = SafeNumber(value=0, precision=0, minimum=0, maximum=2**31 - 1, label=t("diffusion.seed"))
        with gr.Tabs():
            with gr.Tab(t("diffusion.sample_tab"), id="diffusion-sample"):
                s = _sample_views()
            with gr.Tab(t("diffusion.forward_tab"), id="diffusion-forward"):
                with gr.Row():
                    with gr.Column(scale=1, min_width=220):
                        picture = SafeImage(label=t("diffusion.input"), type="numpy", sources=["upload", "clipboard"],
                                            height=200, image_mode="RGB", value=random_object(1))
                        random_btn = gr.Button(t("diffusion.random"), size="sm")
                        t_slider = gr.Slider(0, 999, value=250, step=1, label=t("diffusion.t"), elem_id="diffusion-t")
                    with gr.Column(scale=3):
                        forward_status = gr.Markdown(elem_id="diffusion-forward-status")
                        trio = gr.Image(label=t("diffusion.noised"), interactive=False, height=220)
                        curve = gr.Image(label=t("diffusion.curve"), interactive=False, height=260,
                                         elem_id="diffusion-curve")
                ladder = gr.Image(label=t("diffusion.ladder"), interactive=False, height=150)
            with gr.Tab(t("diffusion.compare_tab"), id="diffusion-compare"):
                c = _compare_views()
        ab = ab_panel(ctx, [model.graph("diffusion")])
        learn_accordion("diffusion.learn")
        frames = gr.State(None)

        heavy = heavy_queue(topic.key)
        model_inputs = [source, weights_path]
        described = [status, s["guidance"], s["eta"], t_slider]
        forward = (bind(forward_process, slot), [picture, t_slider, *model_inputs], [trio, ladder, curve, forward_status])
        for event in (source_changed.then, weights_path.submit, tab.select):
            event(bind(describe_model, slot), model_inputs, described, **PRIVATE, **heavy).then(*forward, **PRIVATE,
                                                                                                 **heavy)
        s["run"].click(bind(sample, slot, cnns),
                       [shape, colour, n, seed, s["sampler"], s["steps"], s["guidance"], s["eta"], *model_inputs,
                        runtime],
                       [s["x_t"], s["x0"], s["final"], s["status"], s["timeline"], frames],
                       **api(topic.key, "sample"), **heavy)
        s["timeline"].input(scrub, [frames, s["timeline"]], [s["x_t"], s["x0"], s["status"]], **PRIVATE)
        s["sampler"].change(eta_for, s["sampler"], s["eta"], queue=False, **PRIVATE)
        t_slider.release(*forward, **PRIVATE, **heavy)
        picture.change(*forward, **api(topic.key, "forward_process"), **heavy)
        random_btn.click(random_picture, None, picture, queue=False, **PRIVATE)
        show_availability(ctx, tab.select, [runtime, ab.a, ab.b])
        c["run"].click(bind(compare_samplers, slot, cnns), [shape, colour, n, seed, s["guidance"], c["picked"],
                                                            *model_inputs, runtime],
                       [c["view"], c["status"]], **api(topic.key, "compare_samplers"), **heavy)
        ab.button.click(bind(compare_runtimes, slot), [*model_inputs, *ab.inputs()], [ab.table, ab.summary],
                        **api(topic.key, "compare_runtimes"), **BENCH_QUEUE)
    return tab


def _sample_views() -> dict:
    from models.diffusion.schedulers import DEFAULT_RUN, MAX_GUIDANCE, SAMPLERS
    with gr.Row():
        sampler = gr.Radio([(i.label, k) for k, i in SAMPLERS.items()], value=DEFAULT_RUN.sampler,
                           label=t("diffusion.sampler"), elem_id="diffusion-sampler")
        steps = gr.Slider(limits.DIFFUSION_MIN_STEPS, limits.DIFFUSION_MAX_STEPS, value=DEFAULT_RUN.steps, step=1,
                          label=t("diffusion.steps"), elem_id="diffusion-steps")
    with gr.Row():
        guidance = gr.Slider(0, MAX_GUIDANCE, value=3.0, step=0.5, label=t("diffusion.guidance"))
        eta = gr.Slider(0, 1, value=DEFAULT_RUN.eta, step=0.05, label=t("diffusion.eta"),
                        interactive=SAMPLERS[DEFAULT_RUN.sampler].takes_eta)
    run = gr.Button(t("diffusion.run"), variant="primary", elem_id="diffusion-run")
    status = gr.Markdown(elem_id="diffusion-step-status")
    with gr.Row():
        x_t = gr.Image(label=t("diffusion.x_t"), interactive=False, height=300, elem_id="diffusion-xt")
        x0 = gr.Image(label=t("diffusion.x0"), interactive=False, height=300, elem_id="diffusion-x0")
        final = gr.Image(label=t("diffusion.final"), interactive=False, height=300, elem_id="diffusion-final")
    timeline = gr.Slider(1, 2, value=1, step=1, interactive=False, label=t("diffusion.timeline"),
                         elem_id="diffusion-timeline")
    return dict(sampler=sampler, steps=steps, guidance=guidance, eta=eta, run=run, status=status, x_t=x_t, x0=x0,
                final=final, timeline=timeline)


def _compare_views() -> dict:
    from models.diffusion.schedulers import COMPARE_RUNS
    gr.Markdown(t("diffusion.compare_intro"))
    picked = gr.CheckboxGroup([(f"{sampler_label(sampler)} · {steps}", key)
                               for key, (sampler, steps) in COMPARE_RUNS.items()],
                              value=COMPARE_DEFAULT, label=t("diffusion.compare_set"))
    run = gr.Button(t("diffusion.compare_run"), variant="primary", elem_id="diffusion-compare-run")
    status = gr.Markdown(elem_id="diffusion-compare-status")
    view = gr.Gallery(label=t("diffusion.compare_view"), columns=3, height="auto", object_fit="contain",
                      allow_preview=False, elem_id="diffusion-compare")
    return dict(picked=picked, run=run, status=status, view=view)
