"""Pictures of attention: patch maps over an image, token-by-token heatmaps, head grids.

Input arrays come from ``models.vit.maps``; outputs are HxWx3 uint8 RGB. Patch maps use
nearest-neighbour upsampling on purpose: a ViT attends to whole patches, and a blurred map
would suggest a finer resolution than the model has. Text heatmaps use matplotlib (imported
on first use) because they need token labels on both axes.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from models.viz import colormap, upscale

HIGHLIGHT = (255, 64, 64)    # the query patch's outline
GRID_LINE = (255, 255, 255)


def patch_overlay(view: np.ndarray, heat: np.ndarray, size: int, query: tuple[int, int] | None = None,
                  alpha: float = 0.75) -> np.ndarray:
    """``view`` (S, S, 3) enlarged to ``size`` with a (g, g) heat map in [0, 1] blended per patch,
    faint patch grid lines, and the ``query`` patch (row, col) outlined."""
    g = heat.shape[0]
    big = upscale(view, size) if view.shape[0] < size else np.asarray(Image.fromarray(view).resize((size, size)))
    side = big.shape[0]
    cells = np.asarray(Image.fromarray((np.clip(heat, 0, 1) * 255).astype(np.uint8)).resize((side, side),
                                                                                             Image.NEAREST))
    h01 = cells.astype(np.float32) / 255.0
    a = (alpha * (0.1 + 0.9 * h01))[..., None]
    out = (big.astype(np.float32) * (1 - a) + colormap(h01).astype(np.float32) * a).astype(np.uint8)
    img = Image.fromarray(out)
    draw = ImageDraw.Draw(img, "RGBA")
    step = side / g
    for i in range(1, g):
        draw.line([(round(i * step), 0), (round(i * step), side)], fill=GRID_LINE + (70,))
        draw.line([(0, round(i * step)), (side, round(i * step))], fill=GRID_LINE + (70,))
    if query is not None:
        r, c = query
        draw.rectangle([c * step, r * step, (c + 1) * step - 1, (r + 1) * step - 1], outline=HIGHLIGHT, width=3)
    return np.asarray(img.convert("RGB"))


def position_mosaic(sim: np.ndarray, tile: int = 40, gap: int = 3) -> np.ndarray:
    """(g, g, g, g) cosine similarities -> a g × g mosaic of small g × g maps (ViT paper, fig. 7).

    Colour: similarity in [-1, 1] mapped onto the colour scale (bright = same place)."""
    g = sim.shape[0]
    side = g * (tile + gap) - gap
    out = np.full((side, side, 3), 255, np.uint8)
    for r in range(g):
        for c in range(g):
            small = colormap((sim[r, c] + 1.0) / 2.0)
            tile_img = np.asarray(Image.fromarray(small).resize((tile, tile), Image.NEAREST))
            out[r * (tile + gap): r * (tile + gap) + tile, c * (tile + gap): c * (tile + gap) + tile] = tile_img
    return out


def patch_of(x: float, y: float, width: int, height: int, grid: int) -> tuple[int, int]:
    """(row, col) of the patch under display pixel (x, y) of a ``width × height`` picture."""
    col = min(max(int(x * grid / max(width, 1)), 0), grid - 1)
    row = min(max(int(y * grid / max(height, 1)), 0), grid - 1)
    return row, col


# ---------------------------------------------------------------------------- text
def _figure_to_array(fig) -> np.ndarray:
    fig.canvas.draw()
    arr = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    import matplotlib.pyplot as plt
    plt.close(fig)
    return arr


def _pyplot():
    import matplotlib
    matplotlib.use("Agg", force=False)   # no display on a server
    import matplotlib.pyplot as plt
    return plt


def token_heatmap(weights: np.ndarray, tokens: list[str], title: str, numbers: bool | None = None) -> np.ndarray:
    """(T, T) attention of one head: rows = the token that looks (query), columns = the token
    looked at (key). Cells above the diagonal are the causal mask (hatched: a GPT token cannot
    see the future). ``numbers`` prints each weight (default: when T <= 12)."""
    plt = _pyplot()
    t = len(tokens)
    numbers = t <= 12 if numbers is None else numbers
    inch = max(4.2, min(10.0, 1.2 + 0.24 * t))
    fig, ax = plt.subplots(figsize=(inch + 0.9, inch), dpi=100)
    masked = np.ma.masked_where(np.triu(np.ones((t, t), bool), 1), weights)
    im = ax.imshow(masked, cmap="viridis", vmin=0.0, vmax=1.0)
    ax.set_facecolor("#d9d9d9")
    for (r, c) in zip(*np.triu_indices(t, 1)):
        ax.add_patch(_hatch(plt, c, r))
    ax.set_xticks(range(t), tokens, rotation=90, fontsize=8 if t > 20 else 9)
    ax.set_yticks(range(t), tokens, fontsize=8 if t > 20 else 9)
    ax.set_xlabel("key: the token looked at")
    ax.set_ylabel("query: the token looking")
    ax.set_title(title, fontsize=10)
    if numbers:
        for r in range(t):
            for c in range(r + 1):
                v = float(weights[r, c])
                ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=7,
                        color="black" if v > 0.6 else "white")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="attention weight")
    fig.tight_layout()
    return _figure_to_array(fig)


def _hatch(plt, c: int, r: int):
    return plt.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#a0a0a0", linewidth=0)


GRID_DPI = 100


def _grid_inches(n_layers: int, n_heads: int) -> tuple[float, float]:
    return 1.7 * n_heads + 0.4, 1.85 * n_layers + 0.3


def grid_head_at(x: float, y: float, n_layers: int, n_heads: int) -> tuple[int, int]:
    """(layer, head) under pixel (x, y) of a ``head_grid`` picture: its subplots form a regular
    grid over the whole figure (tight layout, small margins)."""
    w, h = (v * GRID_DPI for v in _grid_inches(n_layers, n_heads))
    return (min(max(int(y * n_layers / h), 0), n_layers - 1), min(max(int(x * n_heads / w), 0), n_heads - 1))


def head_grid(att: np.ndarray, scores: np.ndarray, patterns: tuple[str, ...], threshold: float = 0.5,
              selected: tuple[int, int] | None = None) -> np.ndarray:
    """Layer × head grid of small (T, T) heatmaps. Each title names the head's strongest pattern
    (scores (L, H, P) from ``maps.head_patterns``); a head whose score passes ``threshold`` gets
    a coloured frame, the ``selected`` (layer, head) a red one."""
    plt = _pyplot()
    n_layers, n_heads = att.shape[:2]
    t = att.shape[-1]
    future = np.triu(np.ones((t, t), bool), 1)
    fig, axes = plt.subplots(n_layers, n_heads, figsize=_grid_inches(n_layers, n_heads), dpi=GRID_DPI,
                             squeeze=False)
    frame = {"previous-token": "#e69f00", "first-token": "#56b4e9", "self": "#009e73"}
    for layer in range(n_layers):
        for head in range(n_heads):
            ax = axes[layer, head]
            ax.imshow(np.ma.masked_where(future, att[layer, head]), cmap="viridis", vmin=0, vmax=1)
            ax.set_facecolor("#d9d9d9")
            ax.set_xticks([])
            ax.set_yticks([])
            best = int(np.argmax(scores[layer, head]))
            score = float(scores[layer, head, best])
            label = f"{patterns[best]} {score:.2f}" if score >= threshold else "mixed"
            ax.set_title(f"L{layer + 1} H{head + 1}\n{label}", fontsize=9)
            colour = frame.get(patterns[best]) if score >= threshold else None
            if selected == (layer, head):
                colour = "#e03030"
            for spine in ax.spines.values():
                spine.set_edgecolor(colour or "#bbbbbb")
                spine.set_linewidth(3 if colour else 0.8)
    fig.tight_layout(pad=0.4)
    return _figure_to_array(fig)
