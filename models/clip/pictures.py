"""Pictures for the CLIP tab: zero-shot bars, the similarity matrix, the patch-text map."""
from __future__ import annotations

import textwrap

import numpy as np

from models.vit.pictures import _figure_to_array, _pyplot, patch_overlay

BAR_DPI = 100


def zero_shot_bars(labels: list[str], cosines: np.ndarray, probs: np.ndarray, scale: float,
                   max_bars: int = 16) -> np.ndarray:
    """Two panels over the same labels (best first): the raw cosine similarities, and the
    probabilities softmax(scale · cosine) on a fixed 0–1 axis, so the effect of the scale
    (1 / temperature) is visible as the step from one panel to the other."""
    plt = _pyplot()
    order = np.argsort(-probs, kind="stable")[:max_bars]
    tilt = len(order) > 4                               # many labels: slanted, one line each
    names = [labels[i] if tilt else "\n".join(textwrap.wrap(labels[i], 14)) or "—" for i in order]
    x = np.arange(len(order))
    width = max(5.0, 0.7 * len(order) + 1.5)        # inches per panel
    fig, (ax_cos, ax_p) = plt.subplots(1, 2, figsize=(2 * width, 4.0), dpi=BAR_DPI)
    best = np.zeros(len(order), bool)
    best[0] = True
    colours = np.where(best, "#e4572e", "#4c78a8")
    ax_cos.bar(x, cosines[order], color=colours)
    ax_cos.set_title("cosine similarity  (image · text)", fontsize=10)
    lo, hi = float(cosines[order].min()), float(cosines[order].max())
    pad = max(0.02, 0.15 * (hi - lo))
    ax_cos.set_ylim(min(0.0, lo - pad), hi + pad)
    ax_p.bar(x, probs[order], color=colours)
    ax_p.set_ylim(0, 1)
    ax_p.set_title(f"probability = softmax({scale:.1f} × cosine)", fontsize=10)
    for i, v in zip(x, probs[order]):
        ax_p.text(i, min(v + 0.02, 0.93), f"{v:.2f}", ha="center", fontsize=8)
    for ax in (ax_cos, ax_p):
        ax.set_xticks(x, names, rotation=40 if tilt else 0, ha="right" if tilt else "center", fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    if len(labels) > max_bars:
        fig.text(0.5, 0.005, f"the {max_bars} most likely of {len(labels)} labels", ha="center", fontsize=8)
    fig.tight_layout()
    return _figure_to_array(fig)


def similarity_matrix(images: list[np.ndarray], captions: list[str], cosines: np.ndarray,
                      scale: float | None = None) -> np.ndarray:
    """N pictures (rows, thumbnails on the left) × M captions (columns): cosine per cell, the
    best caption of each row framed, the diagonal (the pairs InfoNCE pulls together) marked."""
    plt = _pyplot()
    n, m = cosines.shape
    cell = 0.62
    fig = plt.figure(figsize=(1.4 + cell * m + 0.9, 1.9 + cell * n), dpi=BAR_DPI)
    gs = fig.add_gridspec(n, 2, width_ratios=[cell, cell * m], wspace=0.02, hspace=0.05,
                          left=0.02, right=0.9, top=1 - 1.75 / (1.9 + cell * n), bottom=0.02)
    for i, img in enumerate(images):
        ax = fig.add_subplot(gs[i, 0])
        ax.imshow(img)
        ax.set_axis_off()
    ax = fig.add_subplot(gs[:, 1])
    im = ax.imshow(cosines, cmap="viridis", aspect="auto")
    for i in range(n):
        for j in range(m):
            ax.text(j, i, f"{cosines[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if cosines[i, j] < cosines.max() - 0.5 * np.ptp(cosines) else "black")
        j = int(cosines[i].argmax())
        ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="#e4572e", linewidth=2))
        if i < m:
            ax.add_patch(plt.Rectangle((i - 0.45, i - 0.45), 0.9, 0.9, fill=False, edgecolor="white",
                                       linewidth=1, linestyle="--"))
    ax.set_yticks([])
    ax.xaxis.tick_top()
    ax.set_xticks(range(m), ["\n".join(textwrap.wrap(c, 16)) for c in captions], rotation=60,
                  ha="left", fontsize=7)
    fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02, label="cosine")
    return _figure_to_array(fig)


def patch_text_map(view: np.ndarray, cos_map: np.ndarray, size: int = 320) -> np.ndarray:
    """The picture with each patch tinted by how well its embedding matches the sentence
    (cosines rescaled to [0, 1] over this image: the map shows where, not how much)."""
    lo, hi = float(cos_map.min()), float(cos_map.max())
    heat = (cos_map - lo) / (hi - lo) if hi > lo else np.zeros_like(cos_map)
    return patch_overlay(view, heat, size, alpha=0.6)
