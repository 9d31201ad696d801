"""The GPT-2 architecture from ``transformers`` at studio size, and the one decoding step every
runtime runs.

``DecodeStep`` is the ExportableGraph module: ``(input_ids, past) -> (logits, present)``, where
``past``/``present`` stack the KV cache of every layer into one tensor
``(n_layer, 2 [key, value], batch, n_head, seq, head_dim)``. Feeding ``T`` new tokens with
``P`` cached positions returns the next-token logits after the last one and a cache of
``P + T`` positions. ``P = 0`` is a prefill (or, with the KV cache switched off, a full
recompute of the whole text at every step). One graph with dynamic ``T``/``P`` serves
PyTorch, torch.compile, ONNX Runtime and TensorRT alike.
"""
from __future__ import annotations

import threading

import torch
from torch import nn

# 2.86 M parameters (lm_head tied to the token embedding): 5.5 MB in fp16. Context 512 so that
# 256 new tokens fit after a prompt of up to 256. No dropout: four passes over ~1.4 M tokens still
# improve the val loss every epoch (the card's history; training_scripts/train_gpt.py keeps the best).
STUDIO_GPT_CONFIG = dict(
    model_type="gpt2", vocab_size=5120, n_positions=512, n_embd=192, n_layer=4, n_head=6,
    resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
    bos_token_id=0, eos_token_id=0, pad_token_id=0,
)
END_OF_TEXT = "<|endoftext|>"   # GPT-2's document separator; id 0 in the studio tokenizer


_IMPORT_LOCK = threading.Lock()


def import_transformers() -> None:
    """Import the parts of transformers the studio uses, once, under a lock.

    transformers resolves its names lazily and that is not thread-safe: the app's warm-up
    thread and a first request importing at the same moment made ``from transformers import
    AutoTokenizer`` fail with ImportError. Every entry point calls this first.
    """
    with _IMPORT_LOCK:
        from transformers import AutoTokenizer, DynamicCache, GPT2Config, GPT2LMHeadModel  # noqa: F401
        from transformers import ViTConfig, ViTForImageClassification  # noqa: F401  (attention tab)
        from transformers.generation import logits_process  # noqa: F401


def build_gpt(config: dict | None = None):
    """A freshly initialised ``GPT2LMHeadModel`` from a config dict (STUDIO_GPT_CONFIG by default)."""
    import_transformers()
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = {k: v for k, v in (config or STUDIO_GPT_CONFIG).items() if k != "model_type"}
    return GPT2LMHeadModel(GPT2Config(**cfg))


def cache_shape(config, batch: int = 1, length: int = 0) -> tuple[int, ...]:
    """Shape of the stacked KV cache for a transformers GPT-2 config."""
    return (config.n_layer, 2, batch, config.n_head, length, config.n_embd // config.n_head)


def empty_past(config, batch: int = 1, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A KV cache holding no positions: the ``past`` of a prefill."""
    return torch.zeros(cache_shape(config, batch, 0), dtype=dtype)


class DecodeStep(nn.Module):
    """One decoding step of a causal LM with the KV cache as an explicit input and output."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, past: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from transformers import DynamicCache

        cache = DynamicCache(ddp_cache_data=[(past[i, 0], past[i, 1]) for i in range(past.shape[0])],
                             config=self.model.config)
        out = self.model(input_ids=input_ids, cache=cache, use_cache=True)
        present = torch.stack([torch.stack([layer.keys, layer.values]) for layer in out.cache.layers])
        # only the last position's logits: the next token is all a decoding step needs
        return out.logits[:, -1], present
