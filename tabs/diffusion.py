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
from tabs.common import (BENCH, ModelPool, SafeImage, SafeNumber, StudioContext, ab_panel, ab_result, heavy_queue,
                         learn_accordion, limits_note, missing_model, progress_adapter, runtime_choices,
                         runtime_picker, static_runtime_choices, user_errors)
from tabs.i18n import lang_of, t, text

NAME = "diffusion"
FRAME_INTERVAL_S = 0.08     # stream at most ~12 frames a second: 1000 DDPM steps stay watchable
TIMELINE_FRAMES = 100       # frames kept for the scrubber (every k-th step of long runs)
LADDER = (0, 100, 250, 500, 750, 999)
COMPARE_SETS = ("ddpm · 1000", "ddpm · 50", "ddim · 50", "ddim · 25", "ddim · 10", "dpm++ · 20", "dpm++ · 10",
                "euler · 25")
COMPARE_DEFAULT = ["ddpm · 1000", "ddim · 50", "ddim · 25", "dpm++ · 10", "euler · 25"]


def warm(ctx: StudioContext) -> None:
    """Import what the first visit needs (torch, diffusers, matplotlib); no weights."""
    ctx.torch_device()
    import models.diffusion.pictures  # noqa: F401
    import models.diffusion.predictor  # noqa: F401


def random_picture(seed: int | None = None) -> np.ndarray:
    from models.shapeworld import make_single_objects
    seed = int(np.random.default_rng(seed).integers(1 << 30))
    return make_single_objects(1, seed, "val", image_size=64).images[0]


def _frames_to_keep(steps: int) -> set[int]:
    keep = np.unique(np.linspace(1, steps, min(steps, TIMELINE_FRAMES)).round().astype(int))
    return set(int(k) for k in keep)


def build(ctx: StudioContext, demo: gr.Blocks) -> gr.Tab:
    from models.diffusion.pictures import alpha_bar_plot, grid, strip
    from models.diffusion.schedulers import MAX_GUIDANCE, SAMPLERS
    from models.diffusion.sources import DIFFUSION_SOURCES
    from models.shapeworld import COLOUR_NAMES, SHAPES

    def make_predictor(source_key: str, path: str):
        from models.diffusion.predictor import DiffusionPredictor
        return DiffusionPredictor(source_key, device=ctx.torch_device(), model_dir=path or None,
                                  checkpoint_root=ctx.checkpoint_root, cache_dir=ctx.cache_dir)

    models = ModelPool(make_predictor, 2)
    judges = ModelPool(lambda: _judge(ctx), 1)
    if ctx.preload:
        models.get("studio", "")
    choices = static_runtime_choices()

    def model(source_key, path, progress=None, lang="en"):
        if source_key not in DIFFUSION_SOURCES:
            raise ValueError(f"unknown diffusion model {source_key!r}; choose one of {', '.join(DIFFUSION_SOURCES)}")
        return models.load((source_key, (path or "").strip()), progress,
                           text("common.loading", lang, what=DIFFUSION_SOURCES[source_key].label))

    def sampler_label(key: str) -> str:
        return SAMPLERS[key].label if key in SAMPLERS else key

    def judged(p, images, shape, key, lang) -> str:
        """How many pictures the studio CNN names as ``shape``, as the ``key`` line; "" when the
        model draws no asked shape (an unconditional DDPM)."""
        if not p.conditional or shape not in SHAPES:
            return ""
        ok = int((judges.get().shapes(images) == SHAPES.index(shape)).sum())
        return text(key, lang, ok=ok, n=len(images), shape=shape)

    # ------------------------------------------------------------------ callbacks
    @user_errors
    def describe(source_key, path, request: gr.Request, progress=gr.Progress()):
        lang = lang_of(request)
        live = gr.update(choices=runtime_choices(ctx.torch_device()))
        try:
            p = model(source_key, path, progress, lang)
        except Exception as e:  # noqa: BLE001 — a missing model is a status line, not a crash
            return missing_model(e, DIFFUSION_SOURCES[source_key].label, lang), gr.update(), gr.update(), live, live, live
        cond = text("diffusion.cond_yes" if p.conditional else "diffusion.cond_no", lang)
        status = "✅ " + text("diffusion.model_ok", lang, label=DIFFUSION_SOURCES[source_key].label,
                             params=f"{p.num_parameters():,}", size=p.image_size, T=p.num_train_timesteps, cond=cond)
        return status, gr.update(value=p.default_guidance()), gr.update(value=p.default_eta()), live, live, live

    @user_errors
    def sample(shape, colour, n, seed, sampler, steps, guidance, eta, source_key, path, runtime,
               request: gr.Request, progress=gr.Progress()):
        """Stream every step's x_t and x0 (throttled), then the final pictures and the timeline."""
        lang = lang_of(request)
        p = model(source_key, path, progress, lang)
        steps, n, seed = int(steps), int(n), int(seed)
        eta = float(eta) if sampler == "ddim" else 0.0
        frames: list[dict] = []
        keep = _frames_to_keep(steps)
        last = 0.0
        for rec in p.sample(shape, colour, n=n, sampler=sampler, steps=steps, guidance=float(guidance), eta=eta,
                            seed=seed, runtime=runtime, progress=progress_adapter(progress)):
            if hasattr(rec, "x_t"):
                line = text("diffusion.step_status", lang, i=rec.index, n=rec.steps, t=f"{rec.timestep:.0f}",
                            ab=f"{rec.alpha_bar:.4f}", sig=f"{100 * rec.alpha_bar:.1f}",
                            noise=f"{100 * (1 - rec.alpha_bar):.1f}", unet=f"{rec.unet_ms:.1f}",
                            batch=2 * n if p.conditional and float(guidance) != 1.0 else n,
                            step=f"{rec.step_ms:.1f}")
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
                            judged=judged(p, rec.images, shape, "diffusion.judged", lang))
                timeline = gr.update(minimum=1, maximum=max(len(frames), 1), value=len(frames), step=1,
                                     interactive=len(frames) > 1)
                yield (frames[-1]["x_t"] if frames else None, frames[-1]["x0"] if frames else None,
                       grid(rec.images), done, timeline, frames)

    def scrub(frames, k, request: gr.Request):
        if not frames:
            return gr.update(), gr.update(), text("diffusion.no_run", lang_of(request))
        f = frames[min(max(int(k), 1), len(frames)) - 1]
        return f["x_t"], f["x0"], f["line"]

    @user_errors
    def forward(image, t_value, source_key, path, request: gr.Request, progress=gr.Progress()):
        lang = lang_of(request)
        if image is None:
            raise gr.Error(text("diffusion.no_image", lang), print_exception=False)
        p = model(source_key, path, progress, lang)
        last = p.num_train_timesteps - 1
        tv = int(np.clip(int(t_value), 0, last))
        # one call, one noise draw: the chosen t first, then the ladder
        one = p.forward_process(image, [tv] + [min(x, last) for x in LADDER], seed=0)
        trio = strip(np.stack([one.x0, one.noise, one.x_t[0]]), tile=192)
        ab = float(one.alpha_bar[0])
        status = text("diffusion.forward_status", lang, t=tv, ab=f"{ab:.4f}", a=f"{ab ** 0.5:.3f}",
                      s=f"{(1 - ab) ** 0.5:.3f}")
        curve = alpha_bar_plot(p.alphas_cumprod(), tv)
        return trio, strip(one.x_t[1:], tile=112), curve, status

    @user_errors
    def compare(shape, colour, n, seed, guidance, picked, source_key, path, runtime, request: gr.Request,
                progress=gr.Progress()):
        lang = lang_of(request)
        if not picked:
            raise gr.Error(text("diffusion.compare_none", lang), print_exception=False)
        p = model(source_key, path, progress, lang)
        runs = [(s.split(" · ")[0], int(s.split(" · ")[1])) for s in picked if s in COMPARE_SETS]
        if not runs:
            raise gr.Error(text("diffusion.compare_none", lang), print_exception=False)
        n = int(n)
        ids = p.class_ids(shape, colour, n)
        items, times = [], []
        total = sum(steps for _, steps in runs)
        done_steps = 0
        for sampler, steps in runs:
            progress(done_steps / total, desc=f"{sampler_label(sampler)} · {steps}")
            out = p.generate(ids, sampler, steps, float(guidance), 0.0, int(seed), runtime)
            done_steps += steps
            items.append((grid(out.images, tile=96),
                          text("diffusion.compare_caption", lang, sampler=sampler_label(sampler), steps=steps,
                               ms=f"{out.wall_ms:.0f}",
                               judged=judged(p, out.images, shape, "diffusion.compare_judged", lang))))
            times.append((out.wall_ms, f"{sampler_label(sampler)} · {steps}"))
        slow, fast = max(times), min(times)
        status = text("diffusion.compare_status", lang, k=len(runs), n=n, slow=f"{slow[0]:.0f}", slow_name=slow[1],
                      fast=f"{fast[0]:.0f}", fast_name=fast[1], ratio=f"{slow[0] / max(fast[0], 1e-9):.1f}")
        return items, status

    @user_errors
    def run_ab(source_key, path, a, b, runs, request: gr.Request, progress=gr.Progress()):
        from models.bench import run_bench
        from models.diffusion.bench import spec_for
        lang = lang_of(request)
        p = model(source_key, path, progress, lang)
        report = run_bench(spec_for(p), [a, b], runs=int(runs), warmup=2, device=ctx.torch_device(),
                           cache_dir=ctx.cache_dir, progress=progress_adapter(progress))
        rows, headers, verdict = ab_result(report, a, b, lang)
        return gr.update(value=rows, headers=headers), verdict

    # ------------------------------------------------------------------ layout
    with gr.Tab(t("diffusion.tab"), id=NAME) as tab:
        gr.Markdown(t("diffusion.intro"))
        limits_note("diffusion")
        with gr.Row():
            source = gr.Dropdown([(s.label, k) for k, s in DIFFUSION_SOURCES.items()], value="studio",
                                 label=t("common.source"), scale=2)
            runtime = runtime_picker(ctx, choices)
        model_path = gr.Textbox(label=t("diffusion.model_path"), max_lines=1, visible=False,
                                placeholder="~/models/ddpm-cifar10-32")
        status = gr.Markdown(elem_id="diffusion-status")
        with gr.Row():
            shape = gr.Dropdown(list(SHAPES), value="star", label=t("diffusion.shape"))
            colour = gr.Dropdown(list(COLOUR_NAMES), value="purple", label=t("diffusion.colour"))
            n = gr.Slider(1, limits.DIFFUSION_MAX_IMAGES, value=4, step=1, label=t("diffusion.n"))
            seed = SafeNumber(value=0, precision=0, minimum=0, maximum=2**31 - 1, label=t("diffusion.seed"))
        with gr.Tabs():
            with gr.Tab(t("diffusion.sample_tab"), id="diffusion-sample"):
                with gr.Row():
                    sampler = gr.Radio([(i.label, k) for k, i in SAMPLERS.items()], value="ddim",
                                       label=t("diffusion.sampler"), elem_id="diffusion-sampler")
                    steps = gr.Slider(limits.DIFFUSION_MIN_STEPS, limits.DIFFUSION_MAX_STEPS,
                                      value=50, step=1, label=t("diffusion.steps"), elem_id="diffusion-steps")
                with gr.Row():
                    guidance = gr.Slider(0, MAX_GUIDANCE, value=3.0, step=0.5, label=t("diffusion.guidance"))
                    eta = gr.Slider(0, 1, value=0, step=0.05, label=t("diffusion.eta"))
                run_btn = gr.Button(t("diffusion.run"), variant="primary", elem_id="diffusion-run")
                step_status = gr.Markdown(elem_id="diffusion-step-status")
                with gr.Row():
                    x_t_view = gr.Image(label=t("diffusion.x_t"), interactive=False, height=300, elem_id="diffusion-xt")
                    x0_view = gr.Image(label=t("diffusion.x0"), interactive=False, height=300, elem_id="diffusion-x0")
                    final_view = gr.Image(label=t("diffusion.final"), interactive=False, height=300,
                                          elem_id="diffusion-final")
                timeline = gr.Slider(1, 2, value=1, step=1, interactive=False, label=t("diffusion.timeline"),
                                     elem_id="diffusion-timeline")
            with gr.Tab(t("diffusion.forward_tab"), id="diffusion-forward"):
                with gr.Row():
                    with gr.Column(scale=1, min_width=220):
                        picture = SafeImage(label=t("diffusion.input"), type="numpy", sources=["upload", "clipboard"],
                                            height=200, image_mode="RGB", value=random_picture(1))
                        random_btn = gr.Button(t("diffusion.random"), size="sm")
                        t_slider = gr.Slider(0, 999, value=250, step=1, label=t("diffusion.t"), elem_id="diffusion-t")
                    with gr.Column(scale=3):
                        forward_status = gr.Markdown(elem_id="diffusion-forward-status")
                        trio = gr.Image(label=t("diffusion.noised"), interactive=False, height=220)
                        curve = gr.Image(label=t("diffusion.curve"), interactive=False, height=260,
                                         elem_id="diffusion-curve")
                ladder = gr.Image(label=t("diffusion.ladder"), interactive=False, height=150)
            with gr.Tab(t("diffusion.compare_tab"), id="diffusion-compare"):
                gr.Markdown(t("diffusion.compare_intro"))
                picked = gr.CheckboxGroup(list(COMPARE_SETS), value=COMPARE_DEFAULT, label=t("diffusion.compare_set"))
                compare_btn = gr.Button(t("diffusion.compare_run"), variant="primary", elem_id="diffusion-compare-run")
                compare_status = gr.Markdown(elem_id="diffusion-compare-status")
                compare_view = gr.Gallery(label=t("diffusion.compare_view"), columns=3, height="auto",
                                          object_fit="contain", allow_preview=False, elem_id="diffusion-compare")
        ab = ab_panel(ctx, choices)
        learn_accordion("diffusion.learn")

        frames = gr.State(None)
        heavy = heavy_queue(NAME)
        hidden = dict(api_visibility="undocumented")
        private = dict(api_visibility="private")
        model_inputs = [source, model_path]
        described = [status, guidance, eta, runtime, ab.a, ab.b]
        forward_inputs = [picture, t_slider] + model_inputs
        forward_outputs = [trio, ladder, curve, forward_status]

        source.change(lambda k: gr.update(visible=k != "studio"), source, model_path, queue=False, **private)
        for trigger in (source.change, model_path.submit):
            trigger(describe, model_inputs, described, **hidden, **heavy)
        run_btn.click(sample, [shape, colour, n, seed, sampler, steps, guidance, eta] + model_inputs + [runtime],
                      [x_t_view, x0_view, final_view, step_status, timeline, frames], api_name="sample", **heavy)
        timeline.input(scrub, [frames, timeline], [x_t_view, x0_view, step_status], **private)
        sampler.change(_eta_for, sampler, eta, queue=False, **private)
        t_slider.release(forward, forward_inputs, forward_outputs, **hidden, **heavy)
        picture.change(forward, forward_inputs, forward_outputs, api_name="forward_process", **heavy)
        random_btn.click(random_picture, None, picture, queue=False, **private)
        compare_btn.click(compare, [shape, colour, n, seed, guidance, picked] + model_inputs + [runtime],
                          [compare_view, compare_status], api_name="compare_samplers", **heavy)
        ab.button.click(run_ab, model_inputs + [ab.a, ab.b, ab.runs], [ab.table, ab.summary],
                        api_name="compare_diffusion_runtimes", concurrency_id=BENCH, concurrency_limit=1)
        tab.select(describe, model_inputs, described, **hidden, **heavy) \
            .then(forward, forward_inputs, forward_outputs, **hidden, **heavy)
    return tab


def _eta_for(sampler: str):
    """eta is DDIM's knob: other samplers get it locked at 0."""
    return gr.update(interactive=True) if sampler == "ddim" else gr.update(interactive=False, value=0.0)


def _judge(ctx: StudioContext):
    from models.diffusion.predictor import SampleJudge
    return SampleJudge(checkpoint_root=ctx.checkpoint_root)
