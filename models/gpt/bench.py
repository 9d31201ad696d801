"""The GPT's bench entries.

- ``gpt``: greedy generation driven through each runtime's decoding-step graph. One timed run =
  a whole greedy generation of ``new_tokens`` from a fixed prompt with the KV cache (the p50
  column is its latency). Each row also reports the median time to first token and decode
  tokens/s and, for the CLI, tokens/s over 256 new tokens with the KV cache on and off and the
  cache's speed-up. Agreement: every step's logits against eager's (max |Δ|, cosine) and the
  index of the first generated token that differs from eager's (``none`` = all identical, the goal).
- ``attention-text`` (the attention tab's text view): one forward over a sentence returning the
  next-token logits and every layer's attention weights. Agreement: the same next token as eager,
  and the max |Δ| of the attention maps on their own.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from models.agreement import attention_max_abs, first_divergence, top1_agreement
from models.bench import BenchSpec, backends_of
from models.vit.bench import ATTENTION_COLUMNS

BENCH_PROMPT = "ROMEO.\nBut soft, what light through yonder window breaks?\n"
BENCH_TEXT = "ROMEO. But soft, what light through yonder window breaks? It is the east"
NEW_TOKENS = 128
AB_NEW_TOKENS = 32   # the A/B panel's timed run: a learner waits seconds, not minutes
KV_TOKENS = 256      # the KV-cache comparison: long enough for the recompute to hurt


def _generate(predictor, backend, prompt_ids: list[int], settings):
    """Greedy generation on an already built backend: (every step's logits (N, V), last update)."""
    from models.gpt.generation import Decoder, backend_step
    cfg = predictor.config
    step, logits = backend_step(backend), []

    def recording_step(ids, past):
        out = step(ids, past)
        logits.append(out[0][-1])
        return out

    # eos_id None: always the full length, so every row times the same number of tokens
    decoder = Decoder(recording_step, (cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head),
                      predictor.context, eos_id=None)
    last = None
    for last in decoder.stream(prompt_ids, settings):
        pass
    return np.stack(logits), last


def generation_spec(predictor, prompt: str | None = None) -> BenchSpec:
    """Bench spec for a loaded GPTPredictor. The A/B panel passes the learner's prompt and times
    ``AB_NEW_TOKENS`` per run; the CLI and the lab (``prompt`` None) time ``NEW_TOKENS`` from
    ``BENCH_PROMPT`` and add the KV-cache comparison."""
    from models.gpt.generation import GenerationSettings
    compare_no_cache = prompt is None
    prompt, new_tokens = (BENCH_PROMPT, NEW_TOKENS) if prompt is None else (prompt, AB_NEW_TOKENS)
    # a small test model's context may not hold the full lengths: half of it each
    new_tokens = min(new_tokens, predictor.context // 2)
    kv_tokens = min(KV_TOKENS, predictor.context // 2)
    prompt_ids = predictor.prompt(prompt, new_tokens).ids
    greedy = GenerationSettings(decoding="greedy", max_new_tokens=new_tokens, repetition_penalty=1.0)

    def run(backend):
        logits, last = _generate(predictor, backend, prompt_ids, greedy)
        return {"logits": logits}, {"ttft_ms": last.ttft_s * 1e3, "tokens_per_s": last.tokens_per_s or 0.0}

    long_ids = predictor.prompt(prompt, kv_tokens).ids

    def kv_cache_effect(backend):
        """Once per row: tokens/s over kv_tokens new tokens with the cache on, then off."""
        speeds = {}
        for use_cache in (True, False):
            settings = replace(greedy, max_new_tokens=kv_tokens, use_cache=use_cache)
            speeds[use_cache] = _generate(predictor, backend, long_ids, settings)[1].tokens_per_s or 0.0
        return {"kv_tokens_per_s": speeds[True], "no_kv_tokens_per_s": speeds[False],
                "kv_speedup": speeds[True] / speeds[False] if speeds[False] else 0.0}

    columns = [("ttft_ms", "TTFT ms", ".1f"), ("tokens_per_s", "tok/s", ".1f")]
    if compare_no_cache:
        columns += [("kv_tokens_per_s", f"tok/s KV@{kv_tokens}", ".1f"),
                    ("no_kv_tokens_per_s", f"tok/s no-KV@{kv_tokens}", ".1f"), ("kv_speedup", "KV ×", ".2f")]
    return BenchSpec(
        tab="gpt", graph=predictor.graphs()["decode_step"],
        inputs={"input_ids": np.asarray([prompt_ids], dtype=np.int64),
                "past": predictor.graphs()["decode_step"].example_inputs["past"][:, :, :, :, :0].numpy()},
        task_metric=first_divergence, make_backend=backends_of(predictor, "decode_step"),
        run=run, row_extras=kv_cache_effect if compare_no_cache else None, columns=columns,
        task_format=lambda v: "none" if int(v) >= new_tokens else str(int(v)))


def attention_spec(predictor, text: str | None = None) -> BenchSpec:
    """Bench spec for a loaded TextAttentionPredictor on ``text`` (None: ``BENCH_TEXT``)."""
    ids = predictor.tokenize(BENCH_TEXT if text is None else text)
    return BenchSpec(tab="attention-text", graph=predictor.graphs()["attention"],
                     inputs={"input_ids": np.asarray([ids], dtype=np.int64)}, task_metric=top1_agreement,
                     make_backend=backends_of(predictor, "attention"), columns=ATTENTION_COLUMNS,
                     output_metrics=attention_max_abs)
