"""Pictures for the diffusion tab: a grid of small samples, the ᾱ_t curve with the chosen t marked.
numpy, PIL and matplotlib only; no model.
"""
from __future__ import annotations

import numpy as np

TILE_PX = 128           # each 32 px sample is shown 4x, whole pixels: no blur over what the model made
GAP_PX = 4


def grid(images: np.ndarray, cols: int | None = None, tile: int = TILE_PX) -> np.ndarray:
    """(N, H, W, 3) uint8 -> one RGB picture, samples enlarged by whole pixels to ``tile``."""
    n = len(images)
    cols = cols or int(np.ceil(np.sqrt(n)))      # near-square: 4 -> 2 x 2, 16 -> 4 x 4
    rows = -(-n // cols)
    f = max(1, tile // images.shape[1])
    h, w = images.shape[1] * f, images.shape[2] * f
    out = np.full((rows * h + (rows - 1) * GAP_PX, cols * w + (cols - 1) * GAP_PX, 3), 255, np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (h + GAP_PX):r * (h + GAP_PX) + h, c * (w + GAP_PX):c * (w + GAP_PX) + w] = \
            img.repeat(f, 0).repeat(f, 1)
    return out


def strip(images: np.ndarray, tile: int = TILE_PX) -> np.ndarray:
    """Pictures side by side in one row."""
    return grid(images, cols=len(images), tile=tile)


def alpha_bar_plot(alpha_bar: np.ndarray, t: int | None = None, title: str = "",
                   x0_variance: float | None = None) -> np.ndarray:
    """ᾱ_t and 1 − ᾱ_t over t (the squared coefficients of the picture and of the noise in x_t),
    with t marked; with ``x0_variance``, also the picture's share of x_t's variance (which ᾱ_t
    equals only for unit-variance data): an RGB picture."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 2.6), dpi=100)
    steps = np.arange(len(alpha_bar))
    ax.plot(steps, alpha_bar, color="#1f77b4", label="ᾱ_t  (x0's coefficient, squared)")
    ax.plot(steps, 1 - alpha_bar, color="#d62728", ls="--", label="1 − ᾱ_t  (ε's coefficient, squared)")
    if x0_variance is not None:
        from models.diffusion.predictor import picture_share
        ax.plot(steps, picture_share(alpha_bar, x0_variance), color="#2ca02c", ls=":",
                label=f"this picture's share of x_t's variance (var x0 = {x0_variance:.2f})")
    if t is not None:
        ax.axvline(t, color="k", lw=1)
        ax.plot([t], [alpha_bar[t]], "o", color="#1f77b4")
        ax.annotate(f"t = {t}: ᾱ = {alpha_bar[t]:.3f}", (t, alpha_bar[t]), textcoords="offset points",
                    xytext=(6, 6), fontsize=9)
    ax.set_xlabel("timestep t")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0, len(alpha_bar) - 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center right")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return rgb
