"""The GPT tab's entry for models.bench: greedy generation driven through each runtime's step graph.

One timed run = a whole greedy generation of ``new_tokens`` from a fixed prompt with the KV
cache (the p50 column is its latency). Each row also reports the median time to first token
and decode tokens/s, and, measured once, tokens/s over 256 new tokens with the KV cache on and
off, and the cache's speed-up. Agreement: every step's logits against eager's (max |Δ|, cosine) and the index of the
first generated token that differs from eager's (``none`` = all identical, the goal).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from models.bench import BenchSpec
from models.gpt.generation import GenerationSettings

BENCH_PROMPT = "ROMEO.\nBut soft, what light through yonder window breaks?\n"
NEW_TOKENS = 128
KV_TOKENS = 256      # the KV-cache comparison: long enough for the recompute to hurt


def first_divergence(ref: dict[str, np.ndarray], out: dict[str, np.ndarray]) -> tuple[str, float]:
    """Index of the first step whose greedy token (argmax) differs; the length when none does."""
    a, b = ref["logits"].argmax(-1), out["logits"].argmax(-1)
    n = min(len(a), len(b))
    differ = np.flatnonzero(a[:n] != b[:n])
    return "first_diverging_token", float(differ[0] if differ.size else n)


def _generate(predictor, backend, prompt_ids: list[int], settings: GenerationSettings):
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


def spec_for(predictor, prompt: str = BENCH_PROMPT, new_tokens: int = NEW_TOKENS,
             compare_no_cache: bool = True) -> BenchSpec:
    """Bench spec for a loaded GPTPredictor (the A/B panel passes the learner's prompt)."""
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
        tab="gpt", graph=predictor.graph(),
        inputs={"input_ids": np.asarray([prompt_ids], dtype=np.int64),
                "past": predictor.graph().example_inputs["past"][:, :, :, :, :0].numpy()},
        task_metric=first_divergence,
        make_backend=lambda name, precision, progress: predictor.backend(name, precision, progress),
        run=run, row_extras=kv_cache_effect if compare_no_cache else None, columns=columns,
        task_format=lambda v: "none" if int(v) >= new_tokens else str(int(v)))


def bench_spec(device: str = "cpu", source: str = "studio") -> BenchSpec:
    """Bench spec for the CLI: the studio (or pretrained) GPT, 128 greedy tokens."""
    from models.gpt.predictor import GPTPredictor
    return spec_for(GPTPredictor(source, device=device))
