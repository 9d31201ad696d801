"""GPT tab: watch a language model write, token by token (UI only; the work is in
models/gpt/predictor.py and models/gpt/generation.py, the plots in models/gpt/pictures.py)."""
from __future__ import annotations

import time

import gradio as gr

from models.registry import Topic
from tabs.components import SafeNumber
from tabs.errors import progress_adapter, user_errors
from tabs.i18n import lang_of, t, text
from tabs.kit import (BENCH_QUEUE, PRIVATE, ModelSlot, StopFlags, StudioContext, ab_panel, api, bind, compare, examples,
                      header, heavy_queue, learn_accordion, runtime_picker, show_availability, source_picker,
                      weights_path_box)

STREAM_INTERVAL_S = 0.05     # at most ~20 screen updates a second, however fast the model is
# Colour of a generated token by the probability the model gave it (legend order: sure → surprised)
PROB_BINS = ((0.5, "≥ 50 %", "#86efac"), (0.2, "20–50 %", "#d9f99d"), (0.05, "5–20 %", "#fde68a"),
             (0.0, "< 5 %", "#fca5a5"))
YOUR_PICK = "your pick"
COLOR_MAP = {label: colour for _, label, colour in PROB_BINS} | {YOUR_PICK: "#c4b5fd"}
REASON_KEYS = {"length": "gpt.reason_length", "end of text": "gpt.reason_end_of_text",
               "stopped": "gpt.reason_stopped"}
DISTRIBUTION_TOKENS = 15     # bars of the next-token plot
# The generated text should read as text: tokens flush against each other, spaces and newlines
# kept (the stock HighlightedText draws each span as a padded chip).
CSS = """
#gpt-output .textfield {line-height: 1.9; font-size: 15px}
#gpt-output .token-container {margin: 0 !important}
#gpt-output .token {margin: 0 !important; padding: 1px 0 !important; border-radius: 2px}
#gpt-output .text {white-space: pre-wrap; padding: 0 !important}
#gpt-output .token.highlighted:hover {outline: 2px solid #7c3aed}
"""


def warm(ctx: StudioContext) -> None:
    """Import torch and transformers' GPT-2 after the server is up (no weights)."""
    ctx.torch_device()
    from models.gpt.modeling import import_transformers
    import_transformers()
    import models.gpt.predictor  # noqa: F401


def prob_label(p: float) -> str:
    return next(label for low, label, _ in PROB_BINS if p >= low)


def settings_from(decoding, max_new, temperature, top_k, top_p, rep, beams, seed, use_cache):
    from models.gpt.settings import GenerationSettings
    return GenerationSettings(decoding=decoding, max_new_tokens=max_new, temperature=temperature, top_k=top_k,
                              top_p=top_p, repetition_penalty=rep, num_beams=beams, seed=seed,
                              use_cache=bool(use_cache)).check()


def plot_words(lang: str) -> dict[str, str]:
    return {"model": text("gpt.series_model", lang), "final": text("gpt.series_final", lang),
            "probability": text("gpt.probability", lang)}


# ---------------------------------------------------------------------------- views of a generation
def render(p, gen, forced: int | None = None) -> list[tuple[str, str | None]]:
    """HighlightedText value: the prompt (plain), then each token coloured by probability."""
    spans: list[tuple[str, str | None]] = [(p.decode(gen.prompt.ids), None)]
    if forced is not None:   # continuing from an alternative: that token is the learner's pick
        spans[0] = (p.decode(gen.prompt.ids[:-1]), None)
        spans.append((p.decode(gen.prompt.ids[-1:]), YOUR_PICK))
    spans += [(piece, prob_label(tok.prob)) for piece, tok in zip(gen.pieces, gen.update.tokens)]
    return spans


def stats_line(gen, settings, runtime_label: str, lang: str) -> str:
    u = gen.update
    parts = [text("gpt.stat_tokens", lang, n=len(u.tokens), max=settings.max_new_tokens)]
    if u.ttft_s is not None:
        parts.append(text("gpt.stat_ttft", lang, ms=f"{u.ttft_s * 1e3:.0f}",
                          model_ms=f"{u.model_first_s * 1e3:.0f}" if u.model_first_s is not None else "—"))
    if u.tokens_per_s:
        parts.append(text("gpt.stat_speed", lang, tps=f"{u.tokens_per_s:.1f}",
                          model_tps=f"{u.model_tokens_per_s:.1f}" if u.model_tokens_per_s else "—"))
    parts.append(text("gpt.stat_cache_on" if settings.use_cache else "gpt.stat_cache_off", lang))
    parts.append(runtime_label)
    line = " · ".join(parts)
    if u.finished:
        line = ("⏹ " if u.reason == "stopped" else "✅ ") + line + " · " + text(REASON_KEYS[u.reason], lang)
    else:
        line = "⏳ " + line
    if gen.prompt.held_back:
        shown = gen.prompt.held_back.replace(" ", "␣").replace("\n", "↵")
        line += "\n\nℹ️ " + text("gpt.held_back", lang, ws=shown)
    if gen.prompt.dropped:
        line += "\n\n⚠️ " + text("gpt.truncated", lang, dropped=gen.prompt.dropped, kept=len(gen.prompt.ids))
    return line


def inspector_state(gen, settings, forced) -> dict:
    """What the token inspector needs from the last generation (kept per browser session)."""
    tokens = gen.update.tokens
    return {"prompt_ids": list(gen.prompt.ids), "ids": [t.id for t in tokens],
            "probs": [t.prob for t in tokens], "final_probs": [t.final_prob for t in tokens],
            "alternatives": [t.alternatives for t in tokens], "forced": forced, "decoding": settings.decoding}


def run_stream(stops: StopFlags, p, prompt, settings, runtime, forced, request, progress, lang):
    """Generate, yielding (coloured text, stats line, inspector state) at most every STREAM_INTERVAL_S."""
    flag = stops.arm(request)
    try:
        progress(0.2, desc=text("common.building", lang, name=runtime))
        label = p.backend("decode_step", runtime, progress=progress_adapter(progress)).describe()
        last_yield = 0.0
        for gen in p.stream(prompt, settings, backend=runtime, should_stop=flag.is_set):
            now = time.perf_counter()
            if gen.update.finished or now - last_yield >= STREAM_INTERVAL_S:
                last_yield = now
                yield render(p, gen, forced), stats_line(gen, settings, label, lang), \
                    inspector_state(gen, settings, forced)
    finally:
        stops.done(request, flag)


# ---------------------------------------------------------------------------- callbacks
@user_errors
def describe_model(slot: ModelSlot, source, weights_path, request: gr.Request, progress=gr.Progress()):
    """Load the model; a status line with its size, context and (studio) validation perplexity."""
    lang = lang_of(request)
    p, status = slot.status(source, weights_path, progress, lang)
    metrics = (p.card or {}).get("metrics", {}) if p is not None else {}
    if "val_ppl" in metrics and "bigram_val_ppl" in metrics:
        status += "\n\n" + text("gpt.studio_card", lang, ppl=f"{metrics['val_ppl']:.1f}",
                                bigram=f"{metrics['bigram_val_ppl']:.1f}",
                                plays=", ".join(p.card.get("data", {}).get("val_plays", [])) or "—")
    return status


@user_errors
def generate(slot: ModelSlot, stops: StopFlags, prompt, source, weights_path, runtime, decoding, max_new,
             temperature, top_k, top_p, rep, beams, seed, use_cache, request: gr.Request, progress=gr.Progress()):
    """Stream a continuation of ``prompt``: (coloured tokens, stats line, inspector state) per step."""
    lang = lang_of(request)
    if not isinstance(prompt, str) or not prompt.strip():
        raise gr.Error(text("gpt.empty_prompt", lang))
    settings = settings_from(decoding, max_new, temperature, top_k, top_p, rep, beams, seed, use_cache)
    p = slot.get(source, weights_path, progress, lang)
    yield from run_stream(stops, p, p.prompt(prompt, settings.max_new_tokens), settings, runtime, None, request,
                          progress, lang)


@user_errors
def continue_from(slot: ModelSlot, stops: StopFlags, state, position, alternative, source, weights_path, runtime,
                  decoding, max_new, temperature, top_k, top_p, rep, beams, seed, use_cache, request: gr.Request,
                  progress=gr.Progress()):
    """Take the learner's alternative at ``position`` and let the model go on from there."""
    from models.gpt.text import fit_prompt
    lang = lang_of(request)
    if not state or position is None or alternative in (None, ""):
        raise gr.Error(text("gpt.pick_first", lang))
    settings = settings_from(decoding, max_new, temperature, top_k, top_p, rep, beams, seed, use_cache)
    p = slot.get(source, weights_path, progress, lang)
    position, alternative = int(position), int(alternative)
    if not 0 <= position < len(state["ids"]) or not 0 <= alternative < p.config.vocab_size:
        raise gr.Error(text("gpt.pick_first", lang))
    ids = state["prompt_ids"] + state["ids"][:position] + [alternative]
    yield from run_stream(stops, p, fit_prompt(ids, p.context, settings.max_new_tokens), settings, runtime,
                          alternative, request, progress, lang)


def stop(stops: StopFlags, request: gr.Request):
    stops.stop(request)


@user_errors
def inspect_token(slot: ModelSlot, state, source, weights_path, evt: gr.SelectData, request: gr.Request):
    """Clicked token → the top-10 alternatives the model weighed at that step."""
    from models.gpt.pictures import alternatives_plot
    lang = lang_of(request)
    first = 2 if state and state.get("forced") is not None else 1    # spans before the tokens
    index = (evt.index if isinstance(evt.index, int) else (evt.index or [0])[0]) - first
    if not state or not 0 <= index < len(state["ids"]):
        return gr.update(), gr.update(), gr.update(), text("gpt.inspect_hint", lang)
    p = slot.get(source, weights_path)
    alts, chosen = list(state["alternatives"][index]), state["ids"][index]
    if chosen not in [i for i, _, _ in alts]:   # a sampled long shot: show it below the top 10
        alts.append((chosen, state["probs"][index], state["final_probs"][index]))
    figure = alternatives_plot([p.token_label(i) for i, _, _ in alts], [pm for _, pm, _ in alts],
                               [pf for _, _, pf in alts], [i for i, _, _ in alts].index(chosen), plot_words(lang))
    options = [(f"{p.token_label(i)}  ({pm:.1%})", str(i)) for i, pm, _ in alts if i != chosen]
    decoding = state.get("decoding", "sampling")
    controls = text("gpt.controls_sampling", lang) if decoding == "sampling" else \
        text("gpt.controls_search", lang, decoding=decoding)
    note = text("gpt.inspect_note", lang, n=index + 1, token=p.token_label(chosen), p=f"{state['probs'][index]:.1%}",
                controls=controls)
    return figure, gr.update(choices=options, value=options[0][1] if options else None), index, note


@user_errors
def next_token_distribution(slot: ModelSlot, prompt, source, weights_path, decoding, temperature, top_k, top_p, rep,
                            request: gr.Request):
    """The Learn plot: next-token probabilities for the prompt before and after the controls."""
    import numpy as np

    from models.gpt.generation import shape_distribution
    from models.gpt.pictures import distribution_plot
    from models.gpt.settings import GenerationSettings
    lang = lang_of(request)
    if not isinstance(prompt, str) or not prompt.strip():
        raise gr.Error(text("gpt.empty_prompt", lang))
    settings = GenerationSettings(decoding=decoding, temperature=temperature, top_k=top_k, top_p=top_p,
                                  repetition_penalty=rep).check()
    p = slot.get(source, weights_path)
    ids = p.prompt(prompt, 1).ids
    before, after = shape_distribution(p.next_token_distribution(ids), ids, settings)
    order = np.argsort(-before)[:DISTRIBUTION_TOKENS]
    if settings.decoding == "sampling":     # only sampling reshapes the distribution and draws from it
        title = text("gpt.dist_title", lang, t=settings.temperature, k=settings.top_k, p=settings.top_p,
                     rep=settings.repetition_penalty, kept=f"{int((after > 0).sum()):,}")
    else:
        title = text(f"gpt.dist_title_{settings.decoding}", lang, rep=settings.repetition_penalty)
    return distribution_plot([p.token_label(int(i)) for i in order], before[order], after[order], title,
                             plot_words(lang))


@user_errors
def compare_runtimes(slot: ModelSlot, prompt, source, weights_path, a, b, runs, request: gr.Request,
                     progress=gr.Progress()):
    """A/B of greedy generation from the prompt (32 tokens a run: the CLI does 128 and 256)."""
    lang = lang_of(request)
    if not isinstance(prompt, str) or not prompt.strip():
        raise gr.Error(text("gpt.empty_prompt", lang))
    return compare(slot, "gpt", prompt, source, weights_path, a, b, runs, lang, progress)


def toggle_decoding(decoding):
    """Beams show for beam search; temperature, top-k, top-p and the seed act in sampling only."""
    sampling = gr.update(interactive=decoding == "sampling")
    return gr.update(visible=decoding == "beam"), sampling, sampling, sampling, sampling


# ---------------------------------------------------------------------------- layout and wiring
def build(ctx: StudioContext, demo: gr.Blocks, topic: Topic) -> gr.Tab:
    model = topic.model()
    slot, stops = ModelSlot(ctx, model, "gpt.model_ok"), StopFlags()
    with gr.Tab(t("gpt.tab"), id=topic.key) as tab:
        header(topic.key)
        with gr.Row():
            with gr.Column(scale=2, min_width=360):
                prompts = model.examples()
                prompt = gr.Textbox(label=t("gpt.prompt"), value=prompts[0], lines=4, max_lines=12,
                                    elem_id="gpt-prompt")
                with gr.Row():
                    generate_btn = gr.Button(t("gpt.generate"), variant="primary", elem_id="gpt-generate")
                    stop_btn = gr.Button(t("gpt.stop"), variant="stop", elem_id="gpt-stop")
                examples(prompts, [prompt], "gpt.examples")
                output = gr.HighlightedText(label=t("gpt.output"), color_map=COLOR_MAP, show_legend=True,
                                            show_inline_category=False, combine_adjacent=False, elem_id="gpt-output")
                stats = gr.Markdown(elem_id="gpt-stats")
            with gr.Column(scale=1, min_width=300):
                source = source_picker(model)
                weights_path, source_changed = weights_path_box(source, "gpt.weights_path", "~/models/gpt2")
                source_status = gr.Markdown()
                runtime = runtime_picker(ctx)
                controls = _controls()
        with gr.Accordion(t("gpt.inspector"), open=True):
            inspect_note = gr.Markdown(t("gpt.inspect_hint"), elem_id="gpt-inspect-note")
            with gr.Row():
                alt_plot = gr.Plot(label=t("gpt.alternatives"), show_label=False, elem_id="gpt-alternatives")
                with gr.Column():
                    alternative = gr.Dropdown(label=t("gpt.alternative"), choices=[], interactive=True)
                    continue_btn = gr.Button(t("gpt.continue"), elem_id="gpt-continue")
        ab = ab_panel(ctx, list(model.graphs))
        with learn_accordion("gpt.learn"):
            dist_btn = gr.Button(t("gpt.show_dist"), size="sm")
            dist_plot = gr.Plot(label=t("gpt.dist"), show_label=False, elem_id="gpt-distribution")
        state, position = gr.State(None), gr.State(None)

        heavy = heavy_queue(topic.key)
        model_inputs = [source, weights_path]
        settings = list(controls.values())
        streamed = [output, stats, state]
        describe = (bind(describe_model, slot), model_inputs, source_status)
        source_changed.then(*describe, **api(topic.key, "describe_model"), **heavy)
        for event in (weights_path.submit, demo.load, tab.select):
            event(*describe, **PRIVATE, **heavy)
        show_availability(ctx, tab.select, [runtime, ab.a, ab.b])
        controls["decoding"].change(toggle_decoding, controls["decoding"],
                                    [controls[k] for k in ("beams", "temperature", "top_k", "top_p", "seed")],
                                    queue=False, **PRIVATE)
        generate_fn = bind(generate, slot, stops)
        generate_btn.click(generate_fn, [prompt, *model_inputs, runtime, *settings], streamed,
                           **api(topic.key, "generate"), **heavy)
        prompt.submit(generate_fn, [prompt, *model_inputs, runtime, *settings], streamed, **PRIVATE, **heavy)
        # queue=False: Stop must run at once, not wait behind the generation it stops
        stop_btn.click(bind(stop, stops), None, None, queue=False, **api(topic.key, "stop"))
        output.select(bind(inspect_token, slot), [state, *model_inputs], [alt_plot, alternative, position,
                                                                          inspect_note], **PRIVATE)
        continue_btn.click(bind(continue_from, slot, stops), [state, position, alternative, *model_inputs, runtime,
                                                              *settings],
                           streamed, **api(topic.key, "continue_from"), **heavy)
        distribution = (bind(next_token_distribution, slot),
                        [prompt, *model_inputs, *(controls[k] for k in ("decoding", "temperature", "top_k", "top_p",
                                                                        "repetition_penalty"))], dist_plot)
        dist_btn.click(*distribution, **api(topic.key, "next_token_distribution"), **heavy)
        for k in ("temperature", "top_k", "top_p", "repetition_penalty"):
            controls[k].release(*distribution, **PRIVATE, **heavy)
        ab.button.click(bind(compare_runtimes, slot), [prompt, *model_inputs, *ab.inputs()], [ab.table, ab.summary],
                        **api(topic.key, "compare_runtimes"), **BENCH_QUEUE)
    return tab


def _controls() -> dict:
    """The decoding controls, in the order generate() takes them."""
    from models.gpt.settings import DECODINGS, LIMITS
    decoding = gr.Radio(list(DECODINGS), value="sampling", label=t("gpt.decoding"), info=t("gpt.decoding_info"))
    max_new = gr.Slider(*LIMITS["max_new_tokens"], value=96, step=1, label=t("gpt.max_new"))
    temperature = gr.Slider(*LIMITS["temperature"], value=0.8, step=0.05, label=t("gpt.temperature"))
    top_k = gr.Slider(*LIMITS["top_k"], value=40, step=1, label=t("gpt.top_k"))
    top_p = gr.Slider(*LIMITS["top_p"], value=0.95, step=0.01, label=t("gpt.top_p"))
    rep = gr.Slider(*LIMITS["repetition_penalty"], value=1.1, step=0.05, label=t("gpt.rep"))
    beams = gr.Slider(*LIMITS["num_beams"], value=4, step=1, label=t("gpt.beams"), visible=False)
    with gr.Row():
        seed = SafeNumber(value=0, precision=0, minimum=LIMITS["seed"][0], maximum=LIMITS["seed"][1],
                          label=t("gpt.seed"))
        use_cache = gr.Checkbox(value=True, label=t("gpt.kv_cache"), info=t("gpt.kv_cache_info"))
    return dict(decoding=decoding, max_new=max_new, temperature=temperature, top_k=top_k, top_p=top_p,
                repetition_penalty=rep, beams=beams, seed=seed, use_cache=use_cache)
