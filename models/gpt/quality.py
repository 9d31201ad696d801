"""What a learner sees the studio GPT write, measured (the card's ``metrics.writing``).

Greedy decoding is the first thing a learner tries and "greedy repeats itself" is the lesson, so
greedy must write text, not blank lines: from the four prompts below and from speech openings
of the held-out plays, the share of non-whitespace characters and the longest run of blank
lines. Sampling at the tab's defaults must write words Shakespeare used: the share of generated
words found in the corpus. Both through transformers' ``generate``, deterministic for a seed.
"""
from __future__ import annotations

import re

import numpy as np

from models.gpt.settings import GenerationSettings

PROMPTS = ("ROMEO.\n", "KING.\nWhat news", "First Citizen.\n", "HAMLET.\nTo be, or not to be")
OPENINGS = 20          # held-out speech openings, spread over the val plays
OPENING_WORDS = 3      # of the speech's first line
NEW_TOKENS = 60
SAMPLE_SEED = 0
# a speaker line ("ROMEO.", "FIRST CITIZEN.") and the first line of the speech after it
_SPEECH = re.compile(r"^([A-Z][A-Z' -]*[A-Z]\.)\n([A-Za-z][^\n]*)$", re.MULTILINE)
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def speech_openings(texts: list[str], n: int = OPENINGS, words: int = OPENING_WORDS) -> list[str]:
    """``n`` speech openings spread evenly over ``texts`` (fewer if they hold fewer): the speaker
    line and the first ``words`` words of the speech, e.g. ``"BRUTUS.\\nWhat means this"``."""
    found = [f"{m.group(1)}\n{' '.join(m.group(2).split()[:words])}" for text in texts
             for m in _SPEECH.finditer(text)]
    if not found:
        raise ValueError("no speech (a speaker line, then a line of speech) found")
    return [found[int(i)] for i in np.linspace(0, len(found) - 1, min(n, len(found)))]


def nonspace_share(text: str) -> float:
    return sum(not c.isspace() for c in text) / max(len(text), 1)


def longest_blank_run(text: str) -> int:
    """The most blank lines in a row ("a\\n\\nb" has one, "a\\n\\n\\nb" two)."""
    run = best = 0
    for line in text.split("\n")[1:-1]:      # the first and last pieces are not whole lines
        run = run + 1 if not line.strip() else 0
        best = max(best, run)
    return best


def corpus_words(texts: list[str]) -> set[str]:
    return {w for text in texts for w in _WORD.findall(text.lower())}


def words_in(text: str, vocabulary: set[str]) -> tuple[int, int]:
    """(words of ``text`` found in ``vocabulary``, words)."""
    words = _WORD.findall(text.lower())
    return sum(w in vocabulary for w in words), len(words)


def continue_text(model, tokenizer, prompt: str, sample: GenerationSettings | None = None,
                  new_tokens: int = NEW_TOKENS) -> str:
    """The generated continuation of ``prompt`` (the prompt itself left out): greedy, or sampled
    with ``sample``'s temperature, top-k, top-p, repetition penalty and seed."""
    import torch
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    options = {"do_sample": False}
    if sample is not None:
        torch.manual_seed(sample.seed)
        options = {"do_sample": True, "temperature": sample.temperature, "top_k": sample.top_k,
                   "top_p": sample.top_p, "repetition_penalty": sample.repetition_penalty}
    with torch.inference_mode():
        out = model.generate(ids, max_new_tokens=new_tokens, pad_token_id=tokenizer.eos_token_id, **options)
    return tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


def writing_report(model, tokenizer, val_texts: list[str], vocabulary: set[str],
                   new_tokens: int = NEW_TOKENS) -> dict:
    """Greedy from PROMPTS + the val plays' speech openings, and sampling at the tab's defaults
    (seeds 0, 1, ...) from the same prompts: the numbers the card keeps, and the texts."""
    prompts = list(PROMPTS) + speech_openings(val_texts)
    greedy = [continue_text(model, tokenizer, p, new_tokens=new_tokens) for p in prompts]
    sampled = [continue_text(model, tokenizer, p, GenerationSettings(seed=SAMPLE_SEED + i), new_tokens)
               for i, p in enumerate(prompts)]
    found, total = np.sum([words_in(t, vocabulary) for t in sampled], axis=0)
    return {
        "prompts": len(prompts), "new_tokens": new_tokens,
        "greedy_nonspace_share": float(np.mean([nonspace_share(t) for t in greedy])),
        "greedy_longest_blank_run": max(longest_blank_run(p + t) for p, t in zip(prompts, greedy)),
        "sampled_words_in_corpus": float(found / max(total, 1)), "sampled_words": int(total),
        "greedy": dict(zip(prompts[:len(PROMPTS)], greedy)),
        "sampled": dict(zip(prompts[:len(PROMPTS)], sampled)),
    }


def sampled_words_share(model, tokenizer, vocabulary: set[str], prompts=PROMPTS, seeds=range(8),
                        new_tokens: int = 64) -> tuple[float, int]:
    """(share of words found in ``vocabulary``, words) of sampling at the tab's defaults from every
    prompt with every seed: issue 22's protocol (four prompts, eight seeds, 64 new tokens)."""
    texts = [continue_text(model, tokenizer, p, GenerationSettings(seed=s), new_tokens) for p in prompts for s in seeds]
    found, total = np.sum([words_in(t, vocabulary) for t in texts], axis=0)
    return float(found / max(total, 1)), int(total)
