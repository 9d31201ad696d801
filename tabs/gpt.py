"""GPT tab: watch a language model write, token by token (UI only; the work is in
models/gpt/predictor.py and models/gpt/generation.py)."""
from __future__ import annotations

import threading
import time

import gradio as gr

from tabs.common import (BENCH, RUNTIME_LABELS, ModelPool, SafeNumber, StudioContext, ab_panel, ab_result, heavy_queue,
                         learn_accordion, limits_note, progress_adapter, runtime_choices, runtime_picker,
                         static_runtime_choices, user_errors)
from tabs.i18n import lang_of, t, text

NAME = "gpt"
STREAM_INTERVAL_S = 0.05     # at most ~20 screen updates a second, however fast the model is
# Colour of a generated token by the probability the model gave it (legend order: sure → surprised)
PROB_BINS = ((0.5, "≥ 50 %", "#86efac"), (0.2, "20–50 %", "#d9f99d"), (0.05, "5–20 %", "#fde68a"),
             (0.0, "< 5 %", "#fca5a5"))
YOUR_PICK = "your pick"
COLOR_MAP = {label: colour for _, label, colour in PROB_BINS} | {YOUR_PICK: "#c4b5fd"}
REASON_KEYS = {"length": "gpt.reason_length", "end of text": "gpt.reason_end_of_text",
               "stopped": "gpt.reason_stopped"}
# The generated text should read as text: tokens flush against each other, spaces and newlines
# kept (the stock HighlightedText draws each span as a padded chip).
CSS = """
#gpt-output .textfield {line-height: 1.9; font-size: 15px}
#gpt-output .token-container {margin: 0 !important}
#gpt-output .token {margin: 0 !important; padding: 1px 0 !important; border-radius: 2px}
#gpt-output .text {white-space: pre-wrap; padding: 0 !important}
#gpt-output .token.highlighted:hover {outline: 2px solid #7c3aed}
"""
EXAMPLES = [
    "ROMEO.\nBut soft, what light through yonder window breaks?\n",
    "HAMLET.\nTo be, or not to be, that is the question:\n",
    "KING.\nNow is the winter of our discontent\n",
    "Enter a Messenger.\n\nMESSENGER.\nMy lord,",
    "FIRST WITCH.\nWhen shall we three meet again\n",
]


def _load_predictor(ctx: StudioContext):
    def factory(source_key: str, model_path: str):
        # imported on first use: torch + transformers cost seconds of start-up on 2 cores
        from models.gpt.predictor import GPTPredictor
        return GPTPredictor(source_key, device=ctx.torch_device(), model_path=model_path or None,
                            checkpoint_root=ctx.checkpoint_root, cache_dir=ctx.cache_dir)
    return factory


def warm(ctx: StudioContext) -> None:
    """Import torch and transformers' GPT-2 after the server is up (no weights)."""
    ctx.torch_device()
    from models.gpt.modeling import import_transformers
    import_transformers()
    import models.gpt.predictor  # noqa: F401


def prob_label(p: float) -> str:
    return next(label for low, label, _ in PROB_BINS if p >= low)


class StopFlags:
    """One Stop flag per browser session: the Stop button sets it, the running generation
    checks it before every step and ends with "stopped" (the text so far stays)."""

    def __init__(self):
        self._flags: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def arm(self, session: str) -> threading.Event:
        with self._lock:
            flag = self._flags[session] = threading.Event()
            if len(self._flags) > 1000:   # forget long-gone sessions
                for key in list(self._flags)[:500]:
                    self._flags.pop(key, None)
        return flag

    def stop(self, session: str) -> None:
        with self._lock:
            flag = self._flags.get(session)
        if flag is not None:
            flag.set()


def build(ctx: StudioContext, demo: gr.Blocks) -> gr.Tab:
    from models.gpt.settings import DECODINGS, LIMITS
    from models.gpt.sources import GPT_SOURCES

    pool = ModelPool(_load_predictor(ctx), max_items=2)
    if ctx.preload:
        pool.get("studio", "")
    stops = StopFlags()
    choices = static_runtime_choices()

    def get(source_key, model_path, progress=None, lang="en"):
        return pool.load((source_key, (model_path or "").strip()), progress,
                         text("common.loading", lang, what=GPT_SOURCES[source_key].label))

    def settings_from(decoding, max_new, temperature, top_k, top_p, rep, beams, seed, use_cache):
        from models.gpt.settings import GenerationSettings
        return GenerationSettings(decoding=decoding, max_new_tokens=max_new, temperature=temperature,
                                  top_k=top_k, top_p=top_p, repetition_penalty=rep, num_beams=beams,
                                  seed=seed, use_cache=bool(use_cache)).check()

    # ------------------------------------------------------------------ callbacks
    @user_errors
    def describe_model(source_key, model_path, request: gr.Request, progress=gr.Progress()):
        """Load the model; a status line with its size, context and (studio) validation perplexity."""
        lang = lang_of(request)
        live = gr.update(choices=runtime_choices(ctx.torch_device()))
        try:
            p = get(source_key, model_path, progress, lang)
        except Exception as e:  # noqa: BLE001 — a missing model is a status, not a crash
            from models.checkpoints import CheckpointError
            if not isinstance(e, (CheckpointError, ValueError, OSError)):
                raise
            return "⚠️ " + text("gpt.source_missing", lang, label=GPT_SOURCES[source_key].label, why=str(e)), \
                live, live, live
        status = "✅ " + text("gpt.source_ok", lang, label=GPT_SOURCES[source_key].label,
                             params=f"{p.num_parameters():,}", context=p.context,
                             vocab=f"{p.config.vocab_size:,}", layers=p.config.n_layer, heads=p.config.n_head)
        metrics = (p.card or {}).get("metrics", {})
        if "val_ppl" in metrics and "bigram_val_ppl" in metrics:
            status += "\n\n" + text("gpt.studio_card", lang, ppl=f"{metrics['val_ppl']:.1f}",
                                    bigram=f"{metrics['bigram_val_ppl']:.1f}",
                                    plays=", ".join(p.card.get("data", {}).get("val_plays", [])) or "—")
        return status, live, live, live

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
            parts.append(text("gpt.stat_ttft", lang, ms=f"{u.ttft_s * 1e3:.0f}"))
        if u.tokens_per_s:
            parts.append(text("gpt.stat_speed", lang, tps=f"{u.tokens_per_s:.1f}"))
        parts.append(text("gpt.stat_cache_on" if settings.use_cache else "gpt.stat_cache_off", lang))
        parts.append(runtime_label)
        line = " · ".join(parts)
        if u.finished:
            line = ("⏹ " if u.reason == "stopped" else "✅ ") + line + " · " + text(REASON_KEYS[u.reason], lang)
        else:
            line = "⏳ " + line
        if gen.prompt.dropped:
            line += "\n\n⚠️ " + text("gpt.truncated", lang, dropped=gen.prompt.dropped, kept=len(gen.prompt.ids))
        return line

    def run_stream(p, prompt, settings, runtime, forced, request, progress, lang):
        session = getattr(request, "session_hash", None) or "api"
        flag = stops.arm(session)
        progress(0.2, desc=text("common.building", lang, name=RUNTIME_LABELS.get(runtime, runtime)))
        p.backend(runtime, progress=progress_adapter(progress))
        label = p.backend(runtime).describe()
        last_yield, gen = 0.0, None
        for gen in p.stream(prompt, settings, backend=runtime, should_stop=flag.is_set):
            now = time.perf_counter()
            if gen.update.finished or now - last_yield >= STREAM_INTERVAL_S:
                last_yield = now
                state = _state(p, gen, settings, forced)
                yield render(p, gen, forced), stats_line(gen, settings, label, lang), state

    @user_errors
    def generate(prompt, source_key, model_path, runtime, decoding, max_new, temperature, top_k, top_p, rep,
                 beams, seed, use_cache, request: gr.Request, progress=gr.Progress()):
        """Stream a continuation of ``prompt``: (coloured tokens, stats line, inspector state) per step."""
        lang = lang_of(request)
        if not isinstance(prompt, str) or not prompt.strip():
            raise gr.Error(text("gpt.empty_prompt", lang))
        settings = settings_from(decoding, max_new, temperature, top_k, top_p, rep, beams, seed, use_cache)
        p = get(source_key, model_path, progress, lang)
        yield from run_stream(p, p.prompt(prompt, settings.max_new_tokens), settings, runtime, None,
                              request, progress, lang)

    @user_errors
    def continue_from(state, position, alternative, source_key, model_path, runtime, decoding, max_new,
                      temperature, top_k, top_p, rep, beams, seed, use_cache, request: gr.Request,
                      progress=gr.Progress()):
        """Take the learner's alternative at ``position`` and let the model go on from there."""
        from models.gpt.text import fit_prompt
        lang = lang_of(request)
        if not state or position is None or alternative in (None, ""):
            raise gr.Error(text("gpt.pick_first", lang))
        settings = settings_from(decoding, max_new, temperature, top_k, top_p, rep, beams, seed, use_cache)
        p = get(source_key, model_path, progress, lang)
        position, alternative = int(position), int(alternative)
        if not 0 <= position < len(state["ids"]) or not 0 <= alternative < p.config.vocab_size:
            raise gr.Error(text("gpt.pick_first", lang))
        ids = state["prompt_ids"] + state["ids"][:position] + [alternative]
        yield from run_stream(p, fit_prompt(ids, p.context, settings.max_new_tokens), settings, runtime,
                              alternative, request, progress, lang)

    def stop(request: gr.Request):
        stops.stop(getattr(request, "session_hash", None) or "api")

    @user_errors
    def inspect_token(state, source_key, model_path, evt: gr.SelectData, request: gr.Request):
        """Clicked token → the top-10 alternatives the model weighed at that step."""
        lang = lang_of(request)
        first = 2 if state and state.get("forced") is not None else 1    # spans before the tokens
        index = (evt.index if isinstance(evt.index, int) else (evt.index or [0])[0]) - first
        if not state or not 0 <= index < len(state["ids"]):
            return gr.update(), gr.update(), gr.update(), text("gpt.inspect_hint", lang)
        p = get(source_key, model_path)
        alts = state["alternatives"][index]
        chosen = state["ids"][index]
        figure = _alternatives_plot(p, alts, chosen, lang, (state["probs"][index], state["final_probs"][index]))
        options = [(f"{p.token_label(i)}  ({pm:.1%})", str(i)) for i, pm, _ in alts if i != chosen]
        note = text("gpt.inspect_note", lang, n=index + 1, token=p.token_label(chosen), p=f"{state['probs'][index]:.1%}")
        return figure, gr.update(choices=options, value=options[0][1] if options else None), index, note

    @user_errors
    def show_distribution(prompt, source_key, model_path, decoding, temperature, top_k, top_p, rep,
                          request: gr.Request):
        """The Learn plot: next-token probabilities for the prompt before and after the controls."""
        from models.gpt.generation import shape_distribution
        from models.gpt.settings import GenerationSettings
        lang = lang_of(request)
        if not isinstance(prompt, str) or not prompt.strip():
            raise gr.Error(text("gpt.empty_prompt", lang))
        settings = GenerationSettings(decoding=decoding, temperature=temperature, top_k=top_k, top_p=top_p,
                                      repetition_penalty=rep).check()
        p = get(source_key, model_path)
        ids = p.prompt(prompt, 1).ids
        before, after = shape_distribution(p.next_token_distribution(ids), ids, settings)
        return _distribution_plot(p, before, after, settings, lang)

    @user_errors
    def run_ab(prompt, source_key, model_path, a, b, runs, request: gr.Request, progress=gr.Progress()):
        from models.bench import run_bench
        from models.gpt.bench import spec_for
        lang = lang_of(request)
        if not isinstance(prompt, str) or not prompt.strip():
            raise gr.Error(text("gpt.empty_prompt", lang))
        p = get(source_key, model_path, progress, lang)
        # 32 greedy tokens per timed run keeps the panel to seconds; the CLI does 128 and 256
        report = run_bench(spec_for(p, prompt, new_tokens=32, compare_no_cache=False), [a, b], runs=int(runs),
                           warmup=1, device=ctx.torch_device(), cache_dir=ctx.cache_dir,
                           progress=progress_adapter(progress))
        rows, headers, verdict = ab_result(report, a, b, lang)
        return gr.update(value=rows, headers=headers), verdict

    # ------------------------------------------------------------------ layout
    with gr.Tab(t("gpt.tab"), id=NAME) as tab:
        gr.Markdown(t("gpt.intro"))
        limits_note("gpt")
        with gr.Row():
            with gr.Column(scale=2, min_width=360):
                prompt = gr.Textbox(label=t("gpt.prompt"), value=EXAMPLES[0], lines=4, max_lines=12,
                                    elem_id="gpt-prompt")
                with gr.Row():
                    generate_btn = gr.Button(t("gpt.generate"), variant="primary", elem_id="gpt-generate")
                    stop_btn = gr.Button(t("gpt.stop"), variant="stop", elem_id="gpt-stop")
                gr.Examples([[e] for e in EXAMPLES], inputs=[prompt], label=t("gpt.examples"))
                output = gr.HighlightedText(label=t("gpt.output"), color_map=COLOR_MAP, show_legend=True,
                                            show_inline_category=False, combine_adjacent=False,
                                            elem_id="gpt-output")
                stats = gr.Markdown(elem_id="gpt-stats")
            with gr.Column(scale=1, min_width=300):
                source = gr.Dropdown([(s.label, k) for k, s in GPT_SOURCES.items()], value="studio",
                                     label=t("common.source"))
                model_path = gr.Textbox(label=t("gpt.model_path"), placeholder="~/models/gpt2", max_lines=1,
                                        visible=False)
                source_status = gr.Markdown()
                runtime = runtime_picker(ctx, choices)
                decoding = gr.Radio(list(DECODINGS), value="sampling", label=t("gpt.decoding"),
                                    info=t("gpt.decoding_info"))
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
        with gr.Accordion(t("gpt.inspector"), open=True):
            inspect_note = gr.Markdown(t("gpt.inspect_hint"), elem_id="gpt-inspect-note")
            with gr.Row():
                alt_plot = gr.Plot(label=t("gpt.alternatives"), show_label=False, elem_id="gpt-alternatives")
                with gr.Column():
                    alternative = gr.Dropdown(label=t("gpt.alternative"), choices=[], interactive=True)
                    continue_btn = gr.Button(t("gpt.continue"), elem_id="gpt-continue")
        ab = ab_panel(ctx, choices)
        with learn_accordion("gpt.learn"):
            dist_btn = gr.Button(t("gpt.show_dist"), size="sm")
            dist_plot = gr.Plot(label=t("gpt.dist"), show_label=False, elem_id="gpt-distribution")
        state = gr.State(None)
        position = gr.State(None)

        # ------------------------------------------------------------------ events
        heavy = heavy_queue(NAME)
        hidden = dict(api_visibility="undocumented")
        model_inputs = [source, model_path]
        controls = [decoding, max_new, temperature, top_k, top_p, rep, beams, seed, use_cache]
        described = [source_status, runtime, ab.a, ab.b]
        streamed = [output, stats, state]

        source.change(lambda k: gr.update(visible=k != "studio"), source, model_path, queue=False,
                      api_visibility="private")
        source.change(describe_model, model_inputs, described, api_name="describe_model", **heavy)
        model_path.submit(describe_model, model_inputs, described, **hidden, **heavy)
        decoding.change(lambda d: (gr.update(visible=d == "beam"), gr.update(interactive=d == "sampling"),
                                   gr.update(interactive=d == "sampling"), gr.update(interactive=d == "sampling"),
                                   gr.update(interactive=d == "sampling")),
                        decoding, [beams, temperature, top_k, top_p, seed], queue=False, api_visibility="private")
        generate_btn.click(generate, [prompt, *model_inputs, runtime, *controls], streamed,
                           api_name="generate", **heavy)
        prompt.submit(generate, [prompt, *model_inputs, runtime, *controls], streamed, **hidden, **heavy)
        # queue=False: Stop must run at once, not wait behind the generation it stops
        stop_btn.click(stop, None, None, queue=False, api_name="stop")
        output.select(inspect_token, [state, *model_inputs], [alt_plot, alternative, position, inspect_note],
                      **hidden)
        continue_btn.click(continue_from, [state, position, alternative, *model_inputs, runtime, *controls],
                           streamed, api_name="continue_from", **heavy)
        dist_btn.click(show_distribution, [prompt, *model_inputs, decoding, temperature, top_k, top_p, rep],
                       dist_plot, api_name="next_token_distribution", **heavy)
        for slider in (temperature, top_k, top_p, rep):
            slider.release(show_distribution, [prompt, *model_inputs, decoding, temperature, top_k, top_p, rep],
                           dist_plot, **hidden, **heavy)
        ab.button.click(run_ab, [prompt, *model_inputs, ab.a, ab.b, ab.runs], [ab.table, ab.summary],
                        api_name="compare_runtimes", concurrency_id=BENCH, concurrency_limit=1)
        for trigger in (demo.load, tab.select):
            trigger(describe_model, model_inputs, described, **hidden, **heavy)
    return tab


def _state(p, gen, settings, forced) -> dict:
    """What the token inspector needs from the last generation (kept per browser session)."""
    tokens = gen.update.tokens
    return {"prompt_ids": list(gen.prompt.ids), "ids": [t.id for t in tokens],
            "probs": [t.prob for t in tokens], "final_probs": [t.final_prob for t in tokens],
            "alternatives": [t.alternatives for t in tokens],
            "forced": forced, "decoding": settings.decoding}


def _alternatives_plot(p, alts, chosen: int, lang: str, chosen_probs: tuple[float, float] | None = None):
    """Horizontal bars: the model's top-10 at one step, and what the controls left of them."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    alts = list(alts)
    if chosen not in [i for i, _, _ in alts] and chosen_probs is not None:
        alts.append((chosen, *chosen_probs))   # a sampled long shot: show it below the top 10
    labels = [p.token_label(i) for i, _, _ in alts][::-1]
    model = [pm for _, pm, _ in alts][::-1]
    final = [pf for _, _, pf in alts][::-1]
    colours = ["#7c3aed" if i == chosen else "#94a3b8" for i, _, _ in alts][::-1]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    y = range(len(labels))
    ax.barh([v + 0.2 for v in y], model, height=0.4, color=colours, label=text("gpt.series_model", lang))
    ax.barh([v - 0.2 for v in y], final, height=0.4, color="#f59e0b", label=text("gpt.series_final", lang))
    ax.set_yticks(list(y), labels, fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_xlabel(text("gpt.probability", lang))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def _distribution_plot(p, before, after, settings, lang: str, k: int = 15):
    """Top-k next tokens by the model's probability: before vs after temperature/top-k/top-p."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    order = np.argsort(-before)[:k]
    labels = [p.token_label(int(i)) for i in order]
    x = np.arange(len(order))
    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=100)
    ax.bar(x - 0.2, before[order], width=0.4, color="#94a3b8", label=text("gpt.series_model", lang))
    ax.bar(x + 0.2, after[order], width=0.4, color="#f59e0b", label=text("gpt.series_final", lang))
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=9)
    ax.set_ylim(0, 1)
    ax.set_ylabel(text("gpt.probability", lang))
    kept = int((after > 0).sum())
    ax.set_title(text("gpt.dist_title", lang, decoding=settings.decoding, t=settings.temperature, k=settings.top_k,
                      p=settings.top_p, kept=f"{kept:,}"), fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig
