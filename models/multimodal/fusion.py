"""Four small fusion heads over the same frozen tokens (``models.multimodal.features``).

Every head has one signature, so every runtime runs them the same way::

    logits, weights = head(patches, words, word_mask, sentence)
    # patches (B, 256, Dp) image tokens; words (B, L, Dw) word tokens; word_mask (B, L) 1/0;
    # sentence (B, Dw) the pooled question -> logits (B, len(ANSWERS)); weights (B, 256): how
    # much each patch counted in the answer (uniform for the pooled heads: that is what pooling is)

- ``late``: the picture and the question are each summarised and mapped by their own MLP; the two
  vectors meet only at the end, multiplied element-wise (the classic VQA baseline).
- ``concat`` (early fusion of pooled vectors): pooled picture and pooled question concatenated,
  then one MLP over both.
- ``cross``: each word attends to the patches (plus a learned "nothing here" slot, so attention
  can also say "no match", and how much it finds can be counted), two layers; the answer is read
  from every word's state side by side.
- ``gated``: Flamingo's gated cross-attention (Alayrac et al. 2022): a text-only block whose
  path through the picture is scaled by tanh(gate), each gate starting at 0, so the head begins
  as a question-only model and learns how much to look.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from models.multimodal.questions import ANSWERS

HEADS: tuple[str, ...] = ("late", "concat", "cross", "gated")
WIDTH = 64
NUM_HEADS = 4


def _mlp(d_in: int, d_hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, d_hidden), nn.GELU(), nn.Linear(d_hidden, d_out))


def _uniform(patches: torch.Tensor) -> torch.Tensor:
    return torch.full(patches.shape[:2], 1.0 / patches.shape[1], dtype=patches.dtype, device=patches.device)


class LateFusion(nn.Module):
    def __init__(self, d_patch: int, d_word: int, width: int = WIDTH):
        super().__init__()
        self.image = nn.Sequential(nn.LayerNorm(d_patch), _mlp(d_patch, 2 * width, width))
        self.text = nn.Sequential(nn.LayerNorm(d_word), _mlp(d_word, 2 * width, width))
        self.out = nn.Linear(width, len(ANSWERS))

    def forward(self, patches, words, word_mask, sentence):
        return self.out(self.image(patches.mean(1)) * self.text(sentence)), _uniform(patches)


class ConcatFusion(nn.Module):
    def __init__(self, d_patch: int, d_word: int, width: int = WIDTH):
        super().__init__()
        self.norm = nn.LayerNorm(d_patch + d_word)
        self.mlp = nn.Sequential(_mlp(d_patch + d_word, 4 * width, 2 * width), nn.GELU(),
                                 nn.Linear(2 * width, len(ANSWERS)))

    def forward(self, patches, words, word_mask, sentence):
        return self.mlp(self.norm(torch.cat([patches.mean(1), sentence], -1))), _uniform(patches)


class Attention(nn.Module):
    """Multi-head attention written out (every runtime exports it the same way). ``null``: one
    learned key/value the queries may attend to instead of any patch."""

    def __init__(self, width: int, heads: int = NUM_HEADS, null: bool = False):
        super().__init__()
        self.heads, self.head_dim = heads, width // heads
        self.q, self.k, self.v, self.o = (nn.Linear(width, width) for _ in range(4))
        self.null = nn.Parameter(torch.zeros(1, 1, width)) if null else None

    def forward(self, x, context, key_mask=None):
        """x (B, Lq, W) attends to context (B, Lk, W) -> (out (B, Lq, W), weights (B, heads, Lq, Lk))."""
        if self.null is not None:
            context = torch.cat([self.null.expand(len(context), -1, -1), context], 1)
        b, lq, lk = x.shape[0], x.shape[1], context.shape[1]

        def split(t, n):
            return t.reshape(b, n, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = split(self.q(x), lq), split(self.k(context), lk), split(self.v(context), lk)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        if key_mask is not None:
            scores = scores + (1.0 - key_mask[:, None, None, :]) * -1e4
        weights = scores.softmax(-1)
        out = (weights @ v).transpose(1, 2).reshape(b, lq, -1)
        if self.null is not None:
            weights = weights[..., 1:]
        return self.o(out), weights


def sincos_2d(grid: int, width: int) -> torch.Tensor:
    """(grid * grid, width) fixed 2-D sine-cosine positions (MAE's): half the channels say the
    column, half the row, so "left of" is in the tokens from the first step."""
    quarter = width // 4
    freq = 1.0 / (100.0 ** (torch.arange(quarter) / quarter))
    pos = torch.arange(grid, dtype=torch.float32)[:, None] * freq[None]
    row = torch.cat([pos.sin(), pos.cos()], 1)                      # (grid, width / 2)
    cols = row[None].expand(grid, -1, -1)                           # [y, x] -> x's code
    rows = row[:, None].expand(-1, grid, -1)                        # [y, x] -> y's code
    return torch.cat([cols, rows], -1).reshape(grid * grid, width)


class _Tokens(nn.Module):
    """Projects both token kinds to the head's width; patches get a fixed 2-D position."""

    def __init__(self, d_patch: int, d_word: int, width: int, grid_cells: int):
        super().__init__()
        self.patch = nn.Sequential(nn.LayerNorm(d_patch), nn.Linear(d_patch, width))
        self.word = nn.Sequential(nn.LayerNorm(d_word), nn.Linear(d_word, width))
        self.register_buffer("position", sincos_2d(round(grid_cells ** 0.5), width)[None], persistent=False)

    def forward(self, patches, words):
        return self.patch(patches) + self.position, self.word(words)


def _patch_weights(weights: torch.Tensor, word_mask: torch.Tensor) -> torch.Tensor:
    """(B, heads, L, P) attention -> (B, P): averaged over heads and the question's words."""
    per_word = weights.mean(1)
    return (per_word * word_mask[..., None]).sum(1) / word_mask.sum(1, keepdim=True).clamp(min=1.0)


class CrossBlock(nn.Module):
    """The words attend to the patches, then a feed-forward layer (pre-norm, residual)."""

    def __init__(self, width: int):
        super().__init__()
        self.norm_q, self.norm_ff = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = Attention(width, null=True)
        self.ff = _mlp(width, 2 * width, width)

    def forward(self, x, image, word_mask):
        out, weights = self.attn(self.norm_q(x), image)
        x = x + out
        return x + self.ff(self.norm_ff(x)), weights


class WordReadout(nn.Module):
    """The answer from every word position's state, side by side (not averaged): which noun came
    first is where it sits, so "is the circle left or right of the square?" keeps its order."""

    def __init__(self, width: int, length: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.mlp = _mlp(length * width, 4 * width, len(ANSWERS))

    def forward(self, x, word_mask):
        return self.mlp((self.norm(x) * word_mask[..., None]).flatten(1))


class CrossAttentionFusion(nn.Module):
    """Words over patches: ``layers`` blocks of ``block`` (the words attend to the patches), then
    the answer from every word's state."""

    block = CrossBlock

    def __init__(self, d_patch: int, d_word: int, length: int, width: int = WIDTH, grid_cells: int = 256,
                 layers: int = 2):
        super().__init__()
        self.tokens = _Tokens(d_patch, d_word, width, grid_cells)
        self.image_norm = nn.LayerNorm(width)
        self.blocks = nn.ModuleList(self.block(width) for _ in range(layers))
        self.out = WordReadout(width, length)

    def forward(self, patches, words, word_mask, sentence):
        image, x = self.tokens(patches, words)
        image = self.image_norm(image)
        first = None
        for block in self.blocks:
            x, weights = block(x, image, word_mask)
            first = weights if first is None else first
        return self.out(x, word_mask), _patch_weights(first, word_mask)


class GatedCrossBlock(nn.Module):
    """Flamingo's GATED XATTN-DENSE then a text self-attention block: at init (gates 0) the picture
    adds nothing and the block is text-only."""

    def __init__(self, width: int):
        super().__init__()
        self.norm_x, self.norm_xff = nn.LayerNorm(width), nn.LayerNorm(width)
        self.xattn = Attention(width, null=True)
        self.xff = _mlp(width, 2 * width, width)
        self.attn_gate = nn.Parameter(torch.zeros(()))
        self.ff_gate = nn.Parameter(torch.zeros(()))
        self.norm_s, self.norm_ff = nn.LayerNorm(width), nn.LayerNorm(width)
        self.self_attn = Attention(width)
        self.ff = _mlp(width, 2 * width, width)

    def forward(self, x, image, word_mask):
        out, weights = self.xattn(self.norm_x(x), image)
        x = x + torch.tanh(self.attn_gate) * out
        x = x + torch.tanh(self.ff_gate) * self.xff(self.norm_xff(x))
        h = self.norm_s(x)
        out, _ = self.self_attn(h, h, word_mask)
        x = x + out
        return x + self.ff(self.norm_ff(x)), weights


class GatedCrossAttentionFusion(CrossAttentionFusion):
    """The same words-over-patches head with Flamingo's gated blocks."""

    block = GatedCrossBlock

    def gates(self) -> list[tuple[float, float]]:
        """tanh of each block's (attention gate, feed-forward gate): 0 = the picture is ignored."""
        return [(float(torch.tanh(b.attn_gate.detach())), float(torch.tanh(b.ff_gate.detach()))) for b in self.blocks]


def build_head(kind: str, d_patch: int, d_word: int, length: int, grid_cells: int = 256) -> nn.Module:
    """A fresh head: ``d_patch`` / ``d_word`` the token widths, ``length`` the question's token
    positions (CLIP's context length), ``grid_cells`` the patches (a square grid)."""
    if kind == "late":
        return LateFusion(d_patch, d_word)
    if kind == "concat":
        return ConcatFusion(d_patch, d_word)
    if kind == "cross":
        return CrossAttentionFusion(d_patch, d_word, length, grid_cells=grid_cells)
    if kind == "gated":
        return GatedCrossAttentionFusion(d_patch, d_word, length, grid_cells=grid_cells)
    raise ValueError(f"unknown fusion head {kind!r}; one of {', '.join(HEADS)}")
