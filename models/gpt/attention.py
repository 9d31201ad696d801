"""Where GPT looks: the attention tab's text view, on any runtime.

``TextAttentionGraph`` runs the whole sentence once and returns the next-token logits and every
layer's attention weights as real outputs ``(batch, layer, head, query, key)``, so ONNX Runtime,
torch.compile and TensorRT give the maps themselves. The step-by-step panel needs Q, K and V,
which no runtime returns: it recomputes one head from the eager model's own layers and checks
itself against the model's weights.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from models.backends.base import ExportableGraph
from models.classification import top_k
from models.gpt.sources import SOURCES
from models.predictor import Predictor

from models.gpt.settings import ATTENTION_MAX_TOKENS as MAX_TOKENS
from models.gpt.settings import ATTENTION_STEP_TOKENS as MAX_STEP_TOKENS


class TextAttentionGraph(nn.Module):
    """``input_ids (B, T) -> (next-token logits (B, V), attentions (B, L, H, T, T))``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        if model.config._attn_implementation != "eager":
            raise ValueError("TextAttentionGraph needs eager attention (fused kernels return no weights)")
        self.model = model

    def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # An explicit all-ones mask: without one, transformers looks for packed sequences with
        # torch.diff, which ONNX cannot export. The causal mask is still applied on top.
        out = self.model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), output_attentions=True,
                         use_cache=False)
        return out.logits[:, -1], torch.stack(out.attentions, dim=1)


@dataclass
class TextAttention:
    tokens: list[str]              # one readable label per token (spaces shown as ␣)
    ids: list[int]
    attentions: np.ndarray         # (layers, heads, T, T) float32
    next_top: list[tuple[str, float]]   # the model's 5 likeliest next tokens
    ms: float
    runtime: str


@dataclass
class HeadSteps:
    """Every intermediate of one attention head on a tiny input, as numbers."""
    tokens: list[str]
    layer: int
    head: int
    q: np.ndarray                  # (T, d) queries of this head
    k: np.ndarray                  # (T, d) keys
    v: np.ndarray                  # (T, d) values
    scores: np.ndarray             # (T, T) QKᵀ/√d before the mask
    masked: np.ndarray             # (T, T) scores with -inf above the diagonal (the causal mask)
    weights: np.ndarray            # (T, T) softmax of masked, rows sum to 1
    output: np.ndarray             # (T, d) weights @ V: this head's output per token
    max_abs_vs_model: float        # |our softmax - the model's own attention weights|, max


class TextAttentionPredictor(Predictor):
    """Attention views for a loaded ``GPTPredictor`` (it switches that model to eager attention,
    so give it a predictor of its own, not the GPT tab's). Built from the GPT predictor rather
    than from a source: the registry's loader does both (``models.topics``)."""

    SOURCES = SOURCES
    WHAT = "GPT"

    def __init__(self, gpt):   # noqa: super().__init__ would load a second model: share the GPT's
        self.gpt, self.src, self.device, self.cache_dir = gpt, gpt.src, gpt.device, gpt.cache_dir
        self.card, self.weights_sha = gpt.card, gpt.weights_sha
        gpt.model.set_attn_implementation("eager")
        self.model = gpt.model
        self._init_backends()

    def num_parameters(self) -> int:
        return self.gpt.num_parameters()

    def describe(self) -> dict:
        return {"layers": self.num_layers, "heads": self.num_heads, "max_tokens": MAX_TOKENS}

    @property
    def num_layers(self) -> int:
        return int(self.model.config.n_layer)

    @property
    def num_heads(self) -> int:
        return int(self.model.config.n_head)

    def _graph_makers(self) -> dict:
        return {"attention": self._attention_graph}

    def _attention_graph(self) -> ExportableGraph:
        return ExportableGraph(
            name=f"gpt.{self.gpt.src.key}.attention", module=TextAttentionGraph(self.model).eval(),
            example_inputs={"input_ids": torch.zeros(1, 5, dtype=torch.long)},
            output_names=["logits", "attentions"],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "logits": {0: "batch"},
                          "attentions": {0: "batch", 3: "tokens", 4: "tokens"}},
            axis_ranges={"batch": (1, 4), "tokens": (1, MAX_TOKENS)},
            metadata={"source_sha256": self.gpt.weights_sha or "",
                      "attentions_layout": '["batch", "layer", "head", "query", "key"]'})

    def tokenize(self, text: str, limit: int = MAX_TOKENS) -> list[int]:
        if not isinstance(text, str) or not text.strip():
            raise ValueError("the text is empty: type a sentence to see where the model looks")
        ids = self.gpt.encode(text)
        if len(ids) > limit:
            raise ValueError(f"the text is {len(ids)} tokens; this view shows at most {limit}: shorten it")
        return ids

    def analyse(self, text: str, backend: str = "eager", progress=None) -> TextAttention:
        ids = self.tokenize(text)
        b = self.backend("attention", backend, progress=progress)
        t0 = time.perf_counter()
        out = b(input_ids=np.asarray([ids], dtype=np.int64))
        ms = (time.perf_counter() - t0) * 1000
        top, _ = top_k(out["logits"][0], self.gpt.token_label, 5)
        return TextAttention([self.gpt.token_label(i) for i in ids], ids, out["attentions"][0], top, ms,
                             b.describe())

    @torch.inference_mode()
    def head_steps(self, text: str, layer: int, head: int) -> HeadSteps:
        """Q, K, V, QKᵀ/√d, the causal mask, softmax and output of one head, from the eager
        model's own weights (GPT-2: ``ln_1`` then ``c_attn`` splits into Q, K, V)."""
        ids = self.tokenize(text, MAX_STEP_TOKENS)
        if not 0 <= layer < self.num_layers:
            raise ValueError(f"layer must be in 0..{self.num_layers - 1}, got {layer}")
        if not 0 <= head < self.num_heads:
            raise ValueError(f"head must be in 0..{self.num_heads - 1}, got {head}")
        x = torch.tensor([ids], device=self.gpt.device)
        out = self.model(input_ids=x, attention_mask=torch.ones_like(x), output_attentions=True,
                         output_hidden_states=True, use_cache=False)
        block = self.model.transformer.h[layer]
        hidden = block.ln_1(out.hidden_states[layer])          # the block's input, normalised
        e = self.model.config.n_embd
        d = e // self.num_heads
        q, k, v = (t[0, :, head * d:(head + 1) * d].double() for t in block.attn.c_attn(hidden).split(e, dim=2))
        scores = q @ k.T / math.sqrt(d)
        t = len(ids)
        future = torch.triu(torch.ones(t, t, dtype=torch.bool, device=scores.device), diagonal=1)
        masked = scores.masked_fill(future, float("-inf"))
        weights = torch.softmax(masked, dim=-1)
        model_weights = out.attentions[layer][0, head].double()
        arrays = [a.cpu().numpy() for a in (q, k, v, scores, masked, weights, weights @ v)]
        return HeadSteps([self.gpt.token_label(i) for i in ids], layer, head, *arrays,
                         max_abs_vs_model=float((weights - model_weights).abs().max()))
