"""Our own decoding loop over one ``DecodeStep`` graph, so every runtime generates the same way.

``transformers.generate`` only drives PyTorch modules and cannot stream beam search, so the
studio drives the exported step itself: prefill the prompt, then one step per new token with
the KV cache passed back in (or, with the cache off, the whole text recomputed every step).
The distribution is shaped by transformers' own logits processors (repetition penalty,
temperature, top-k, top-p, in the order ``generate`` applies them), so greedy decoding here
gives exactly ``model.generate(do_sample=False)``'s tokens (tests check it) and beam search
matches ``generate(num_beams=...)``.

Each step yields a ``GenerationUpdate``: the tokens so far (for beam search, the best beam,
which may change), each with the model's probability and the top-10 alternatives it weighed,
plus time to first token and tokens/s. The loop is a plain generator: when the caller stops
iterating (the UI's Stop button), no more steps run.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from models.gpt.settings import DECODINGS, LIMITS, TOP_ALTERNATIVES, GenerationSettings  # noqa: F401

StepFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class TokenInfo:
    """One generated token: what the model thought and what was picked."""
    id: int
    prob: float                       # the model's probability (softmax of its raw logits)
    final_prob: float                 # probability after the controls (what was sampled from)
    # top-10 by the model's probability: (token id, model probability, probability after controls)
    alternatives: list[tuple[int, float, float]] = field(default_factory=list)


@dataclass
class GenerationUpdate:
    tokens: list[TokenInfo]           # generated so far (beam search: the current best beam)
    finished: bool = False
    reason: str = ""                  # when finished: "length", "end of text" or "stopped"
    ttft_s: float | None = None       # prompt in -> first token out (wall time)
    elapsed_s: float = 0.0            # wall time so far: the step graph, choosing the token, its top-10,
                                      # and whatever the caller did between updates (detokenising, the UI)
    steps: int = 0                    # calls of the step graph
    model_s: float = 0.0              # of elapsed_s, the time inside the step graph alone
    model_first_s: float | None = None   # of model_s, the first call (the prefill)

    def _after_first(self, total_s: float, first_s: float | None) -> float | None:
        """Tokens per second after the first token (the prefill is TTFT's business)."""
        n = len(self.tokens)
        return None if first_s is None or n < 2 or total_s <= first_s else (n - 1) / (total_s - first_s)

    @property
    def tokens_per_s(self) -> float | None:
        """Decode speed in wall time: the whole loop."""
        return self._after_first(self.elapsed_s, self.ttft_s)

    @property
    def model_tokens_per_s(self) -> float | None:
        """The same, counting only the time inside the step graph: what the runtime itself does."""
        return self._after_first(self.model_s, self.model_first_s)

    @property
    def ids(self) -> list[int]:
        return [t.id for t in self.tokens]


def logits_processors(settings: GenerationSettings):
    """transformers' processors for these settings, in ``generate``'s order."""
    from transformers.generation.logits_process import (LogitsProcessorList, RepetitionPenaltyLogitsProcessor,
                                                        TemperatureLogitsWarper, TopKLogitsWarper,
                                                        TopPLogitsWarper)
    chain = LogitsProcessorList()
    if settings.repetition_penalty != 1.0:
        chain.append(RepetitionPenaltyLogitsProcessor(settings.repetition_penalty))
    if settings.decoding == "sampling":
        if settings.temperature != 1.0:
            chain.append(TemperatureLogitsWarper(settings.temperature))
        if settings.top_k > 0:
            chain.append(TopKLogitsWarper(settings.top_k))
        if settings.top_p < 1.0:
            chain.append(TopPLogitsWarper(settings.top_p))
    return chain


def shape_distribution(logits: np.ndarray, context_ids: list[int], settings: GenerationSettings
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(model probabilities, probabilities after the controls) for one step's logits (V,).

    The "Learn" plot shows these two side by side.
    """
    raw = torch.from_numpy(np.asarray(logits, dtype=np.float32)).view(1, -1)
    shaped = logits_processors(settings)(torch.tensor([context_ids], dtype=torch.long), raw.clone())
    return torch.softmax(raw, -1)[0].numpy(), torch.softmax(shaped, -1)[0].numpy()


class RunClock:
    """A generation's wall time, and the part of it spent inside the step graph."""

    def __init__(self, step: StepFn):
        self._step, self.start, self.ttft = step, time.perf_counter(), None
        self.model_s, self.model_first_s = 0.0, None

    def step(self, ids: np.ndarray, past: np.ndarray):
        t0 = time.perf_counter()
        out = self._step(ids, past)
        spent = time.perf_counter() - t0
        self.model_s += spent
        self.model_first_s = spent if self.model_first_s is None else self.model_first_s
        return out

    def token_out(self) -> None:
        if self.ttft is None:
            self.ttft = time.perf_counter() - self.start

    def update(self, tokens: list, finished: bool, reason: str, steps: int) -> GenerationUpdate:
        return GenerationUpdate(list(tokens), finished, reason, self.ttft, time.perf_counter() - self.start, steps,
                                self.model_s, self.model_first_s)


class Decoder:
    """Generates from any step function ``(input_ids (B, T) int64, past) -> (logits (B, V), present)``.

    Args:
        step: a backend's decoding step (see ``backend_step``).
        cache_dims: (layers, heads, head_dim) of the stacked KV cache.
        context: the model's context length (n_positions); prompt + new tokens must fit.
        eos_id: the end-of-text token (generation stops there), or None.
    """

    def __init__(self, step: StepFn, cache_dims: tuple[int, int, int], context: int, eos_id: int | None):
        self.step = step
        self.cache_dims = cache_dims
        self.context = context
        self.eos_id = eos_id

    def empty_past(self, batch: int) -> np.ndarray:
        layers, heads, head_dim = self.cache_dims
        return np.zeros((layers, 2, batch, heads, 0, head_dim), dtype=np.float32)

    def stream(self, prompt_ids: list[int], settings: GenerationSettings,
               should_stop: Callable[[], bool] | None = None) -> Iterator[GenerationUpdate]:
        settings = settings.check()
        if not prompt_ids:
            raise ValueError("the prompt is empty: type a few words to start from")
        if len(prompt_ids) + settings.max_new_tokens > self.context:
            raise ValueError(f"prompt ({len(prompt_ids)} tokens) + max new tokens "
                             f"({settings.max_new_tokens}) exceed the context of {self.context}")
        stop = should_stop or (lambda: False)
        if settings.decoding == "beam":
            yield from self._beam(list(prompt_ids), settings, stop)
        else:
            yield from self._single(list(prompt_ids), settings, stop)

    # -- one sequence: greedy and sampling ------------------------------------------------
    def _single(self, ids: list[int], settings: GenerationSettings, stop) -> Iterator[GenerationUpdate]:
        processors = logits_processors(settings)
        generator = torch.Generator().manual_seed(settings.seed)
        clock, tokens, steps = RunClock(self.step), [], 0
        past, feed = self.empty_past(1), np.asarray([ids], dtype=np.int64)
        for _ in range(settings.max_new_tokens):
            if stop():
                yield clock.update(tokens, True, "stopped", steps)
                return
            if settings.use_cache:
                logits, past = clock.step(feed, past)
            else:   # recompute the whole text: what the KV cache saves
                logits, _ = clock.step(np.asarray([ids], dtype=np.int64), self.empty_past(1))
            steps += 1
            raw = torch.from_numpy(np.asarray(logits[:1], dtype=np.float32))
            shaped = processors(torch.tensor([ids], dtype=torch.long), raw.clone())
            probs = torch.softmax(shaped, -1)[0]
            if settings.decoding == "greedy":
                token = int(shaped[0].argmax())
            else:
                token = int(torch.multinomial(probs, 1, generator=generator))
            tokens.append(_token_info(token, torch.softmax(raw, -1)[0], probs))
            clock.token_out()
            if token == self.eos_id:
                yield clock.update(tokens, True, "end of text", steps)
                return
            done = len(tokens) == settings.max_new_tokens
            # a copy (update() copies): an update is a snapshot, whatever the caller keeps of it
            yield clock.update(tokens, done, "length" if done else "", steps)
            ids.append(token)
            feed = np.asarray([[token]], dtype=np.int64)

    # -- beam search ------------------------------------------------------------------------
    def _beam(self, prompt: list[int], settings: GenerationSettings, stop) -> Iterator[GenerationUpdate]:
        """Beam search as ``generate(num_beams=B, do_sample=False)`` with length_penalty 1 and
        early_stopping False: keep the B best partial texts by total log-probability; a text
        that ends (end of text) is set aside with score = log-prob / generated length."""
        width = settings.num_beams
        processors = logits_processors(settings)
        clock, steps = RunClock(self.step), 0
        beams: list[list[int]] = [[]]           # generated ids per live beam
        infos: list[list[TokenInfo]] = [[]]
        scores = torch.zeros(1, dtype=torch.float64)
        finished: list[tuple[float, list[TokenInfo]]] = []
        past = self.empty_past(1)
        feed = np.asarray([prompt], dtype=np.int64)
        for length in range(1, settings.max_new_tokens + 1):
            if stop():
                yield clock.update(infos[0], True, "stopped", steps)
                return
            if settings.use_cache:
                logits, past = clock.step(feed, past)
            else:
                full = np.asarray([prompt + b for b in beams], dtype=np.int64)
                logits, _ = clock.step(full, self.empty_past(len(beams)))
            steps += 1
            raw = torch.from_numpy(np.asarray(logits, dtype=np.float32))
            context = torch.tensor([prompt + b for b in beams], dtype=torch.long)
            # as in generate(): the processors act on log-probabilities, not renormalised after
            logp = processors(context, torch.log_softmax(raw, -1)).double()
            model_probs, final_probs = torch.softmax(raw, -1), torch.softmax(logp, -1).float()
            candidates = (scores[:, None] + logp).view(-1)
            top = torch.topk(candidates, min(2 * width, candidates.numel()))
            vocab = logp.shape[1]
            keep_beam, keep_token, keep_score = [], [], []
            for rank, (score, flat) in enumerate(zip(top.values.tolist(), top.indices.tolist())):
                beam, token = divmod(flat, vocab)
                if token == self.eos_id:
                    # like generate(): an ending counts only among the `width` best candidates
                    if rank < width:
                        info = _token_info(token, model_probs[beam], final_probs[beam])
                        finished.append((score / length, infos[beam] + [info]))
                    continue
                keep_beam.append(beam)
                keep_token.append(token)
                keep_score.append(score)
                if len(keep_beam) == width:
                    break
            beams = [beams[b] + [t] for b, t in zip(keep_beam, keep_token)]
            infos = [infos[b] + [_token_info(t, model_probs[b], final_probs[b])]
                     for b, t in zip(keep_beam, keep_token)]
            scores = torch.tensor(keep_score, dtype=torch.float64)
            if settings.use_cache:
                past = past[:, :, keep_beam]   # each surviving beam takes its parent's cache
                feed = np.asarray([[t] for t in keep_token], dtype=np.int64)
            clock.token_out()
            # generate(early_stopping=False) stops once `width` texts ended and no live beam
            # can still beat the worst of them (heuristic: its score at the current length)
            finished = sorted(finished, key=lambda f: -f[0])[:width]
            if len(finished) == width and float(scores[0]) / length <= finished[-1][0]:
                break
            if length < settings.max_new_tokens:
                yield clock.update(infos[0], False, "", steps)
        candidates = finished + [(float(s) / len(b), i) for s, b, i in zip(scores.tolist(), beams, infos)]
        best = max(candidates, key=lambda c: c[0])[1]
        reason = "end of text" if best and best[-1].id == self.eos_id else "length"
        yield clock.update(best, True, reason, steps)


def _token_info(token: int, model_probs: torch.Tensor, final_probs: torch.Tensor) -> TokenInfo:
    top = torch.topk(model_probs, min(TOP_ALTERNATIVES, model_probs.numel()))
    alternatives = [(int(i), float(p), float(final_probs[i])) for p, i in zip(top.values, top.indices)]
    return TokenInfo(token, float(model_probs[token]), float(final_probs[token]), alternatives)


def backend_step(backend) -> StepFn:
    """A Backend running a DecodeStep graph as a step function."""
    def step(input_ids: np.ndarray, past: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = backend(input_ids=input_ids, past=past)
        return out["logits"], out["present"]
    return step
