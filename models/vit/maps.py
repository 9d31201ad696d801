"""Attention maths on plain arrays: what the attention tab draws, for images and for text.

Everything takes the attention weights of ONE input, ``att`` of shape ``(L, H, N, N)`` float
(layers, heads, query token, key token; every row sums to 1), as any runtime returns them, so
the same views work whichever runtime computed the weights. No torch, no gradio.

Image tokens: index 0 is [CLS], 1..N-1 the patches in row-major order on a ``g × g`` grid.
"""
from __future__ import annotations

import math

import numpy as np

FUSIONS = ("mean", "max", "min")   # how attention rollout merges the heads of a layer


def check_attentions(att: np.ndarray) -> np.ndarray:
    """``att`` as float64 (L, H, N, N); ValueError when it is not a stack of square matrices."""
    att = np.asarray(att, dtype=np.float64)
    if att.ndim != 4 or att.shape[-1] != att.shape[-2]:
        raise ValueError(f"attention weights must be (layers, heads, tokens, tokens), got shape {att.shape}")
    return att


def max_row_error(att: np.ndarray) -> float:
    """Largest |row sum - 1| over every layer, head and query: softmax rows must sum to 1."""
    return float(np.abs(check_attentions(att).sum(-1) - 1.0).max())


def grid_side(n_tokens: int, prefix: int = 1) -> int:
    """Side ``g`` of the patch grid for ``n_tokens`` = prefix + g²; ValueError if not square."""
    g = math.isqrt(n_tokens - prefix)
    if g * g != n_tokens - prefix or g == 0:
        raise ValueError(f"{n_tokens} tokens minus {prefix} [CLS] is not a square patch grid")
    return g


def _heads(att: np.ndarray, layer: int, head: int | None) -> np.ndarray:
    """(N, N) weights of one head, or the mean over heads when ``head`` is None."""
    att = check_attentions(att)
    if not 0 <= layer < att.shape[0]:
        raise ValueError(f"layer must be in 0..{att.shape[0] - 1}, got {layer}")
    if head is None:
        return att[layer].mean(0)
    if not 0 <= head < att.shape[1]:
        raise ValueError(f"head must be in 0..{att.shape[1] - 1}, got {head}")
    return att[layer, head]


def query_map(att: np.ndarray, layer: int, head: int | None, query: int = 0) -> tuple[np.ndarray, float]:
    """Where token ``query`` looks: its weights on the patches as a (g, g) grid, and the weight
    it puts on [CLS]. ``query`` 0 is [CLS] itself (the classic "CLS → patch" map)."""
    a = _heads(att, layer, head)
    if not 0 <= query < a.shape[0]:
        raise ValueError(f"query token must be in 0..{a.shape[0] - 1}, got {query}")
    g = grid_side(a.shape[0])
    return a[query, 1:].reshape(g, g), float(a[query, 0])


def rollout(att: np.ndarray, fusion: str = "mean", discard_ratio: float = 0.0) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020) with head fusion and discarding (as in
    jacobgil/vit-explain): the (N, N) matrix of how much each token's final state draws on each
    input token through every layer.

    Per layer: fuse the heads (mean / max / min), zero the weakest ``discard_ratio`` of the
    weights (never the [CLS] column), add the identity for the residual path, renormalise rows
    to 1, and multiply into the running product. Rows of the result sum to 1.
    """
    att = check_attentions(att)
    if fusion not in FUSIONS:
        raise ValueError(f"head fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")
    if not 0.0 <= discard_ratio < 1.0:
        raise ValueError(f"discard ratio must be in [0, 1), got {discard_ratio}")
    n = att.shape[-1]
    result = np.eye(n)
    for layer in att:
        fused = getattr(layer, fusion)(axis=0)
        if discard_ratio > 0:
            flat = fused.reshape(-1).copy()
            k = int(flat.size * discard_ratio)
            weakest = np.argpartition(flat, k)[:k] if k else np.array([], dtype=int)
            weakest = weakest[weakest % n != 0]       # keep every token's weight on [CLS]
            flat[weakest] = 0.0
            fused = flat.reshape(n, n)
        a = (fused + np.eye(n)) / 2.0
        a = a / a.sum(-1, keepdims=True)
        result = a @ result
    return result


def rollout_map(att: np.ndarray, fusion: str = "mean", discard_ratio: float = 0.0) -> np.ndarray:
    """[CLS]'s rolled-out attention on the patches as a (g, g) grid scaled to max 1."""
    r = rollout(att, fusion, discard_ratio)[0, 1:]
    g = grid_side(r.size + 1)
    return (r / max(r.max(), 1e-12)).reshape(g, g)


def position_similarity(pos: np.ndarray) -> np.ndarray:
    """Cosine similarity of every patch's learned position embedding with every other's.

    ``pos``: (g², D) patch position embeddings (the [CLS] row already removed). Returns
    (g, g, g, g): ``sim[r, c]`` is the (g, g) map of patch (r, c) against all patches — the
    picture of figure 7 in the ViT paper (Dosovitskiy et al. 2021).
    """
    pos = np.asarray(pos, dtype=np.float64)
    g = grid_side(pos.shape[0] + 1)
    unit = pos / np.maximum(np.linalg.norm(pos, axis=1, keepdims=True), 1e-12)
    return (unit @ unit.T).reshape(g, g, g, g)


def position_structure(sim: np.ndarray) -> dict[str, float]:
    """How much grid the position embeddings carry, from ``position_similarity``'s (g, g, g, g):
    the mean cosine of each patch with its 4 neighbours, with the rest of its row and column, and
    with every other patch. A ViT that learned the grid scores neighbours > row/column > others."""
    g = sim.shape[0]
    r0, c0, r1, c1 = np.meshgrid(*[np.arange(g)] * 4, indexing="ij")
    distance = np.abs(r0 - r1) + np.abs(c0 - c1)
    same_line = ((r0 == r1) | (c0 == c1)) & (distance > 1)
    return {"neighbours": float(sim[distance == 1].mean()), "same_line": float(sim[same_line].mean()),
            "others": float(sim[~same_line & (distance > 1)].mean())}


# ---------------------------------------------------------------------------- text (causal)
PATTERNS = ("previous-token", "first-token", "self")


def head_patterns(att: np.ndarray) -> np.ndarray:
    """Per layer and head, how strongly it follows each of PATTERNS: (L, H, 3) in [0, 1].

    The mean over query positions 1..T-1 of the weight on the previous token, on the first
    token, and on itself. Position 0 is left out: causally it can only look at itself.
    """
    att = check_attentions(att)
    t = att.shape[-1]
    if t < 2:
        return np.zeros(att.shape[:2] + (len(PATTERNS),))
    q = np.arange(1, t)
    prev = att[..., q, q - 1].mean(-1)
    first = att[..., q, 0].mean(-1)
    self_ = att[..., q, q].mean(-1)
    return np.stack([prev, first, self_], axis=-1)


def causal_leak(att: np.ndarray) -> float:
    """Largest weight any token puts on a later token: 0 for a causal (GPT) model."""
    att = check_attentions(att)
    upper = np.triu(np.ones(att.shape[-2:], dtype=bool), k=1)
    return float(att[..., upper].max()) if upper.any() else 0.0
