"""Four small fusion heads over the same frozen tokens (``models.multimodal.features``).

Every head has one signature, so every runtime runs them the same way::

    logits, weights = head(objects, words, word_mask, sentence)
    # objects (B, N, D) one token per object YOLO found (empty slots: REAL = 0); words (B, L, Dw)
    # word tokens; word_mask (B, L) 1/0; sentence (B, Dw) the pooled question
    # -> logits (B, len(ANSWERS)); weights (B, N): how much each object counted in the answer
    #    (the same for every object for the pooled heads: that is what pooling is)

- ``late``: the picture and the question are each summarised and mapped by their own MLP; the two
  vectors meet only at the end, multiplied element-wise (the classic VQA baseline).
- ``concat`` (early fusion of pooled vectors): pooled picture and pooled question concatenated,
  then one MLP over both.
- ``cross``: each word attends to the objects, two layers; the answer is read from what the words
  found, word by word (see ``Found``). Three such heads, trained from three seeds, averaged
  (``Ensemble``): on held-out pairs one head's attribute accuracy ranged 0.75-0.87 with its seed
  alone; the average of three is steadier and better (the card keeps each member's numbers).
- ``gated``: Flamingo's gated cross-attention (Alayrac et al. 2022): a text-only block whose
  path through the picture is scaled by tanh(gate), each gate starting at 0, so the head begins
  as a question-only model and learns how much to look.

Three things the attention heads need, each measured (``train_fusion.py``; numbers in its card and
the tab's Learn text):

1. **Counting needs unnormalised attention.** Softmax weights sum to 1 however many objects match
   (Zhang et al. 2018), so each head also reports the sum of sigmoid(score) over the objects: the
   number of matches, which the word state receives.
2. **Colour-blind and shape-blind queries.** Half the attention heads make their keys from the
   colour channels only, half from the shape channels only (the values carry everything). A query
   for "star" that could see colour learns "stars are never purple" when no purple star is in
   training, and misses the held-out one.
3. **Answers from what was found, not from the words.** The answer is read from what attention
   added to each word, not from the word itself: otherwise the head learns answer priors per
   question ("what colour is the star?" is never "purple" in training), the language-prior
   problem of VQA-CP (Agrawal et al. 2018).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from models.multimodal.features import COLOUR, REAL, SHAPE
from models.multimodal.questions import ANSWERS

HEADS: tuple[str, ...] = ("late", "concat", "cross", "gated")
MEMBERS = {"cross": 3}             # heads averaged into one (``Ensemble``), each from its own seed
# the cross-attention head without each of its choices, trained only to be measured (the card's "ablation")
ABLATIONS: dict[str, dict[str, bool]] = {"cross_seeing_keys": {"blind_keys": False},
                                         "cross_reading_words": {"read_found": False}}
WIDTH = 64
NUM_HEADS = 4
KEY_CHANNELS = (COLOUR, SHAPE)     # attention heads split into groups: what each group's keys read


def _mlp(d_in: int, d_hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, d_hidden), nn.GELU(), nn.Linear(d_hidden, d_out))


def _real(objects: torch.Tensor) -> torch.Tensor:
    """(B, N) 1 for an object, 0 for an empty slot."""
    return objects[..., REAL]


def _pooled(objects: torch.Tensor) -> torch.Tensor:
    """(B, D) the mean token over the real objects."""
    real = _real(objects)[..., None]
    return (objects * real).sum(1) / real.sum(1).clamp(min=1.0)


def _even(objects: torch.Tensor) -> torch.Tensor:
    real = _real(objects)
    return real / real.sum(1, keepdim=True).clamp(min=1.0)


class LateFusion(nn.Module):
    def __init__(self, d_object: int, d_word: int, width: int = WIDTH):
        super().__init__()
        self.image = nn.Sequential(nn.LayerNorm(d_object), _mlp(d_object, 2 * width, width))
        self.text = nn.Sequential(nn.LayerNorm(d_word), _mlp(d_word, 2 * width, width))
        self.out = nn.Linear(width, len(ANSWERS))

    def forward(self, objects, words, word_mask, sentence):
        return self.out(self.image(_pooled(objects)) * self.text(sentence)), _even(objects)


class ConcatFusion(nn.Module):
    def __init__(self, d_object: int, d_word: int, width: int = WIDTH):
        super().__init__()
        self.norm = nn.LayerNorm(d_object + d_word)
        self.mlp = nn.Sequential(_mlp(d_object + d_word, 4 * width, 2 * width), nn.GELU(),
                                 nn.Linear(2 * width, len(ANSWERS)))

    def forward(self, objects, words, word_mask, sentence):
        return self.mlp(self.norm(torch.cat([_pooled(objects), sentence], -1))), _even(objects)


class Attention(nn.Module):
    """Multi-head attention written out (every runtime exports it the same way).

    ``forward(x, values, keys, key_mask)``: ``keys`` is one (B, N, W) tensor per head group (the
    heads split evenly between them). With ``null``, one learned slot the queries may attend to
    instead of any object ("nothing here"). Returns the output, the weights over the N objects
    (B, heads, Lq, N) and the count: sum over the objects of sigmoid(score) (B, Lq, heads)."""

    def __init__(self, width: int, heads: int = NUM_HEADS, null: bool = False):
        super().__init__()
        self.heads, self.head_dim = heads, width // heads
        self.q, self.k, self.v, self.o = (nn.Linear(width, width) for _ in range(4))
        self.null = nn.Parameter(torch.zeros(1, 1, width)) if null else None

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        return t.reshape(t.shape[0], t.shape[1], self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, values, keys: list[torch.Tensor], key_mask):
        if self.null is not None:
            null = self.null.expand(len(values), -1, -1)
            values, keys = torch.cat([null, values], 1), [torch.cat([null, k], 1) for k in keys]
            key_mask = torch.cat([torch.ones_like(key_mask[:, :1]), key_mask], 1)
        per_group = self.heads // len(keys)
        k = torch.cat([self._split(self.k(g))[:, i * per_group:(i + 1) * per_group] for i, g in enumerate(keys)], 1)
        q, v = self._split(self.q(x)), self._split(self.v(values))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        scores = scores + (1.0 - key_mask[:, None, None, :]) * -1e4     # empty slots (and padded words)
        weights = scores.softmax(-1)
        out = (weights @ v).transpose(1, 2).reshape(x.shape[0], x.shape[1], -1)
        skip = 1 if self.null is not None else 0
        count = (torch.sigmoid(scores[..., skip:]) * key_mask[:, None, None, skip:]).sum(-1).transpose(1, 2)
        return self.o(out), weights[..., skip:], count


class ObjectTokens(nn.Module):
    """Objects -> (values (B, N, W), keys: one (B, N, W) per ``KEY_CHANNELS`` group, real (B, N)).
    ``blind_keys=False`` (the ablation): one group of keys made from every channel."""

    def __init__(self, d_object: int, width: int, blind_keys: bool = True):
        super().__init__()
        self.channels = KEY_CHANNELS if blind_keys else (slice(0, d_object - 1),)
        self.value = nn.Sequential(nn.Linear(d_object, width), nn.LayerNorm(width))
        self.keys = nn.ModuleList(nn.Linear(c.stop - c.start + 1, width) for c in self.channels)

    def forward(self, objects):
        real = _real(objects)
        keys = [proj(torch.cat([objects[..., c], real[..., None]], -1)) for proj, c in zip(self.keys, self.channels)]
        return self.value(objects), keys, real


def _object_weights(weights: torch.Tensor, word_mask: torch.Tensor) -> torch.Tensor:
    """(B, heads, L, N) attention -> (B, N): averaged over heads and the question's words."""
    per_word = weights.mean(1)
    return (per_word * word_mask[..., None]).sum(1) / word_mask.sum(1, keepdim=True).clamp(min=1.0)


class CrossBlock(nn.Module):
    """The words attend to the objects (and receive the count), then a feed-forward layer."""

    def __init__(self, width: int):
        super().__init__()
        self.norm_q, self.norm_ff = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = Attention(width, null=True)
        self.count = nn.Linear(NUM_HEADS, width)
        self.ff = _mlp(width, 2 * width, width)

    def forward(self, x, image, word_mask):
        out, weights, count = self.attn(self.norm_q(x), *image)
        x = x + out + self.count(count)
        return x + self.ff(self.norm_ff(x)), weights


class Found(nn.Module):
    """The answer from what the blocks added to every word position (the word's own token taken
    away), side by side, not averaged: which noun came first is where it sits, so "is the circle
    left or right of the square?" keeps its order."""

    def __init__(self, width: int, length: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.mlp = _mlp(length * width, 4 * width, len(ANSWERS))

    def forward(self, added, word_mask):
        return self.mlp((self.norm(added) * word_mask[..., None]).flatten(1))


class CrossAttentionFusion(nn.Module):
    """Words over objects: ``layers`` blocks of ``block``, then the answer from what they found.
    The two ablations ``train_fusion.py`` measures: ``blind_keys=False`` (every query sees every
    channel) and ``read_found=False`` (the answer read from the words' states themselves)."""

    block = CrossBlock

    def __init__(self, d_object: int, d_word: int, length: int, width: int = WIDTH, layers: int = 2,
                 blind_keys: bool = True, read_found: bool = True):
        super().__init__()
        self.read_found = read_found
        self.objects = ObjectTokens(d_object, width, blind_keys)
        self.word = nn.Sequential(nn.LayerNorm(d_word), nn.Linear(d_word, width))
        self.blocks = nn.ModuleList(self.block(width) for _ in range(layers))
        self.out = Found(width, length)

    def forward(self, objects, words, word_mask, sentence):
        image = self.objects(objects)
        x = start = self.word(words)
        first = None
        for block in self.blocks:
            x, weights = block(x, image, word_mask)
            first = weights if first is None else first
        return self.out(x - start if self.read_found else x, word_mask), _object_weights(first, word_mask)


class GatedCrossBlock(nn.Module):
    """Flamingo's GATED XATTN-DENSE then a text self-attention block: at init (gates 0) the picture
    adds nothing and the block is text-only."""

    def __init__(self, width: int):
        super().__init__()
        self.norm_x, self.norm_xff = nn.LayerNorm(width), nn.LayerNorm(width)
        self.xattn = Attention(width, null=True)
        self.count = nn.Linear(NUM_HEADS, width)
        self.xff = _mlp(width, 2 * width, width)
        self.attn_gate = nn.Parameter(torch.zeros(()))
        self.ff_gate = nn.Parameter(torch.zeros(()))
        self.norm_s, self.norm_ff = nn.LayerNorm(width), nn.LayerNorm(width)
        self.self_attn = Attention(width)
        self.ff = _mlp(width, 2 * width, width)

    def forward(self, x, image, word_mask):
        out, weights, count = self.xattn(self.norm_x(x), *image)
        x = x + torch.tanh(self.attn_gate) * (out + self.count(count))
        x = x + torch.tanh(self.ff_gate) * self.xff(self.norm_xff(x))
        h = self.norm_s(x)
        out, _, _ = self.self_attn(h, h, [h], word_mask)
        x = x + out
        return x + self.ff(self.norm_ff(x)), weights


class GatedCrossAttentionFusion(CrossAttentionFusion):
    """The same words-over-objects head with Flamingo's gated blocks."""

    block = GatedCrossBlock

    def gates(self) -> list[tuple[float, float]]:
        """tanh of each block's (attention gate, feed-forward gate): 0 = the picture is ignored."""
        return [(float(torch.tanh(b.attn_gate.detach())), float(torch.tanh(b.ff_gate.detach()))) for b in self.blocks]


class Ensemble(nn.Module):
    """Several heads of one kind, trained from different seeds, answering as one: the mean of their
    answer distributions (returned as its log, so it stays a logits output) and of their weights."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, objects, words, word_mask, sentence):
        outs = [m(objects, words, word_mask, sentence) for m in self.members]
        probs = torch.stack([logits.softmax(-1) for logits, _ in outs]).mean(0)
        return probs.clamp(min=1e-12).log(), torch.stack([w for _, w in outs]).mean(0)


def build_member(kind: str, d_object: int, d_word: int, length: int) -> nn.Module:
    """One head of ``kind`` (for ``cross``: one member of the ensemble)."""
    if kind == "cross":
        return CrossAttentionFusion(d_object, d_word, length)
    return build_head(kind, d_object, d_word, length)


def build_head(kind: str, d_object: int, d_word: int, length: int) -> nn.Module:
    """A fresh head: ``d_object`` / ``d_word`` the token widths, ``length`` the question's token
    positions (CLIP's context length)."""
    if kind == "late":
        return LateFusion(d_object, d_word)
    if kind == "concat":
        return ConcatFusion(d_object, d_word)
    if kind in MEMBERS:
        return Ensemble([CrossAttentionFusion(d_object, d_word, length) for _ in range(MEMBERS[kind])])
    if kind == "gated":
        return GatedCrossAttentionFusion(d_object, d_word, length)
    if kind in ABLATIONS:
        return CrossAttentionFusion(d_object, d_word, length, **ABLATIONS[kind])
    raise ValueError(f"unknown fusion head {kind!r}; one of {', '.join(HEADS)}")
