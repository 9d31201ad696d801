"""GPT predictor: text in, a stream of tokens out, on any runtime.

Loads a ``GPT2LMHeadModel`` and its tokenizer with transformers' ``from_pretrained`` (the
studio checkpoint after checking its sha256, or public GPT-2 weights already on disk), wraps one
decoding step as an ExportableGraph and generates with ``models.gpt.generation.Decoder`` on
whichever backend the learner picked.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from models import checkpoints, limits
from models.backends.base import ExportableGraph
from models.gpt.generation import Decoder, GenerationSettings, GenerationUpdate, backend_step
from models.gpt.modeling import DecodeStep, cache_shape, import_transformers
from models.gpt.sources import SOURCES
from models.gpt.text import Detokenizer, Prompt, fit_prompt, hold_back_whitespace, token_pieces
from models.predictor import Predictor
from models.sources import Located

Progress = Callable[[float, str], None]
MAX_PROMPT_CHARS = limits.GPT_MAX_PROMPT_CHARS


@dataclass
class Generation:
    """One streamed update, ready to display."""
    prompt: Prompt
    update: GenerationUpdate
    pieces: list[str]            # display text per generated token


class GPTPredictor(Predictor):
    """One causal LM + tokenizer (``models.gpt.sources``); generation on any runtime through one
    exported decoding step with its KV cache."""

    SOURCES = SOURCES
    WHAT = "GPT"

    def __init__(self, source_key: str = "studio", **options):
        super().__init__(source_key, **options)
        self.model.eval().requires_grad_(False).to(self.device)
        self.config = self.model.config

    # ------------------------------------------------------------------ loading
    def _load_studio(self, checkpoint_root) -> None:
        self._load_folder(self.studio_folder(checkpoint_root))

    def _load_pretrained(self, found: Located) -> None:
        self._load_folder(found.path)
        self.weights_sha = checkpoints.state_dict_sha256(self.model)

    def _load_folder(self, folder) -> None:
        import_transformers()
        from transformers import AutoTokenizer, GPT2LMHeadModel
        try:
            # use_safetensors: never unpickle a weight file someone pointed us at
            self.model = GPT2LMHeadModel.from_pretrained(folder, dtype=torch.float32, use_safetensors=True)
            self.tokenizer = AutoTokenizer.from_pretrained(folder)
        except OSError as exc:
            raise checkpoints.CheckpointError(f"could not load a GPT-2 model from {folder}: {exc}") from exc

    def describe(self) -> dict:
        return {"params": f"{self.num_parameters():,}", "layers": self.config.n_layer, "heads": self.config.n_head,
                "context": self.context, "vocab": f"{self.config.vocab_size:,}"}

    # ------------------------------------------------------------------ facts
    @property
    def context(self) -> int:
        return int(self.config.n_positions)

    @property
    def eos_id(self) -> int | None:
        return self.tokenizer.eos_token_id

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    # ------------------------------------------------------------------ text
    def encode(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise ValueError(f"the prompt must be text, got {type(text).__name__}")
        if len(text) > MAX_PROMPT_CHARS:
            raise ValueError(f"the prompt is {len(text):,} characters; the limit is {MAX_PROMPT_CHARS:,}")
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def prompt(self, text: str, max_new_tokens: int) -> Prompt:
        """Token ids of ``text`` without trailing whitespace tokens (``hold_back_whitespace``), cut
        from the left so that ``max_new_tokens`` still fit."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("the prompt is empty: type a few words for the model to continue")
        ids, held = hold_back_whitespace(self.encode(text), self.decode)
        return fit_prompt(ids, self.context, int(max_new_tokens), held)

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def token_label(self, token_id: int) -> str:
        """How one token reads on its own (spaces and newlines made visible)."""
        text = self.decode([token_id])
        return text.replace(" ", "␣").replace("\n", "↵").replace("\t", "→") or "∅"

    # ------------------------------------------------------------------ runtimes
    def _graph_makers(self) -> dict:
        return {"decode_step": self._decode_step_graph}

    def _decode_step_graph(self) -> ExportableGraph:
        cfg = self.config
        return ExportableGraph(
            name=f"gpt.{self.src.key}.decode_step", module=DecodeStep(self.model).eval(),
            example_inputs={"input_ids": torch.zeros(1, 4, dtype=torch.long),
                            "past": torch.zeros(cache_shape(cfg, 1, 3))},
            output_names=["logits", "present"],
            dynamic_axes={"input_ids": {0: "batch", 1: "new_tokens"},
                          "past": {2: "batch", 4: "past_len"},
                          "logits": {0: "batch"}, "present": {2: "batch", 4: "total_len"}},
            # TensorRT's optimisation profile: a prefill has no past; beams are the batch
            axis_ranges={"batch": (1, 8), "new_tokens": (1, cfg.n_positions),
                         "past_len": (0, cfg.n_positions - 1)},
            metadata={"source_sha256": self.weights_sha or "", "vocab_size": str(cfg.vocab_size),
                      "cache_layout": json.dumps(["layer", "key|value", "batch", "head", "position", "dim"])})

    def decoder(self, backend: str = "eager", progress: Progress | None = None) -> Decoder:
        cfg = self.config
        return Decoder(backend_step(self.backend("decode_step", backend, progress=progress)),
                       (cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head), self.context, self.eos_id)

    # ------------------------------------------------------------------ generation
    def stream(self, prompt: Prompt | str, settings: GenerationSettings, backend: str = "eager",
               should_stop: Callable[[], bool] | None = None, progress: Progress | None = None,
               ) -> Iterator[Generation]:
        """Generate, yielding after every token (beam search: the best beam so far)."""
        settings = settings.check()
        if isinstance(prompt, str):
            prompt = self.prompt(prompt, settings.max_new_tokens)
        if len(prompt.ids) + settings.max_new_tokens > self.context:
            prompt = fit_prompt(prompt.ids, self.context, settings.max_new_tokens, prompt.held_back)
        decoder = self.decoder(backend, progress)
        detok, pieces = Detokenizer(self.tokenizer, prompt.ids), []
        for update in decoder.stream(prompt.ids, settings, should_stop):
            ids = update.ids
            if settings.decoding == "beam":
                pieces = token_pieces(self.tokenizer, prompt.ids, ids)   # the best beam may switch
            else:
                # only the new tokens: decoding costs the same per token however long the text
                pieces = pieces + [detok.add(t) for t in ids[len(pieces):]]
            yield Generation(prompt, update, list(pieces))

    def next_token_distribution(self, ids: list[int]) -> np.ndarray:
        """The model's raw next-token logits after ``ids`` (eager; the Learn plot)."""
        from models.tracing import MODULE_CALLS
        with MODULE_CALLS.shared(), torch.inference_mode():   # not while torch.fx traces in another thread
            out = self.model(input_ids=torch.tensor([ids[-self.context:]], device=self.device))
        return out.logits[0, -1].float().cpu().numpy()

