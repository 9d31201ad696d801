"""Pictures from arrays: channel grids, heatmap overlays, filter mosaics.

Pure numpy/PIL (no gradio, no torch), shared by every tab that shows what happens inside a
model. Inputs and outputs are HxWx3 uint8 RGB unless stated otherwise.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

# A perceptually ordered colour map (viridis anchor points), so "brighter = more" reads the same
# in every picture without importing matplotlib on the hot path.
_VIRIDIS = np.array([[68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
                     [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37]],
                    dtype=np.float32)


def colormap(values: np.ndarray) -> np.ndarray:
    """Map an array of values in [0, 1] (any shape) to uint8 RGB (shape + (3,))."""
    v = np.clip(np.nan_to_num(values, nan=0.0), 0.0, 1.0) * (len(_VIRIDIS) - 1)
    lo = np.floor(v).astype(int)
    hi = np.minimum(lo + 1, len(_VIRIDIS) - 1)
    t = (v - lo)[..., None]
    return (_VIRIDIS[lo] * (1 - t) + _VIRIDIS[hi] * t).astype(np.uint8)


def normalise(a: np.ndarray, per_item_axes: tuple[int, ...] | None = None) -> np.ndarray:
    """Scale to [0, 1] (min-max), over everything or per item along the given axes."""
    a = a.astype(np.float32)
    lo = a.min(axis=per_item_axes, keepdims=True) if per_item_axes else a.min()
    hi = a.max(axis=per_item_axes, keepdims=True) if per_item_axes else a.max()
    return (a - lo) / np.maximum(hi - lo, 1e-8)


def channel_grid(maps: np.ndarray, max_channels: int = 32, tile: int = 96, gap: int = 2,
                 columns: int = 8) -> np.ndarray:
    """Feature maps (C, H, W) float → one RGB mosaic of the first ``max_channels`` channels.

    Each channel is min-max scaled on its own (so weak channels are still visible) and resized
    with nearest neighbour to ``tile`` px, keeping the blocky pixels that show the resolution.
    """
    if maps.ndim != 3:
        raise ValueError(f"expected (C, H, W) feature maps, got shape {maps.shape}")
    maps = maps[:max_channels]
    c = maps.shape[0]
    cols = min(columns, c)
    rows = -(-c // cols)
    scaled = normalise(maps, per_item_axes=(1, 2))
    out = np.full((rows * (tile + gap) - gap, cols * (tile + gap) - gap, 3), 255, np.uint8)
    for i in range(c):
        tile_img = Image.fromarray(colormap(scaled[i])).resize((tile, tile), Image.NEAREST)
        r, k = divmod(i, cols)
        out[r * (tile + gap): r * (tile + gap) + tile, k * (tile + gap): k * (tile + gap) + tile] = np.asarray(tile_img)
    return out


def filter_grid(weights: np.ndarray, tile: int = 72, gap: int = 2, columns: int = 8) -> np.ndarray:
    """First-layer conv weights (C_out, 3, k, k) → RGB mosaic, each filter scaled symmetrically
    around zero so grey = 0, as in the classic AlexNet/ResNet filter pictures."""
    if weights.ndim != 4 or weights.shape[1] != 3:
        raise ValueError(f"expected (C_out, 3, k, k) RGB filters, got shape {weights.shape}")
    c = weights.shape[0]
    cols = min(columns, c)
    rows = -(-c // cols)
    out = np.full((rows * (tile + gap) - gap, cols * (tile + gap) - gap, 3), 255, np.uint8)
    for i, w in enumerate(weights):
        w = w.transpose(1, 2, 0)
        w = 0.5 + 0.5 * w / max(np.abs(w).max(), 1e-8)
        img = Image.fromarray((w * 255).astype(np.uint8)).resize((tile, tile), Image.NEAREST)
        r, k = divmod(i, cols)
        out[r * (tile + gap): r * (tile + gap) + tile, k * (tile + gap): k * (tile + gap) + tile] = np.asarray(img)
    return out


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.8, size: int | None = None) -> np.ndarray:
    """Blend a heatmap (h, w) in [0, 1] over an RGB image, resized to the image (bilinear).

    ``size`` optionally upsamples the result (nearest) so a 64 px input is big enough to see.
    """
    h, w = image.shape[:2]
    heat_img = Image.fromarray((np.clip(heat, 0, 1) * 255).astype(np.uint8)).resize((w, h), Image.BILINEAR)
    h01 = np.asarray(heat_img, np.float32) / 255.0
    colour = colormap(h01)
    # Opacity follows the heat: where the method sees no evidence the picture stays readable.
    a = (alpha * (0.15 + 0.85 * h01))[..., None]
    out = (image.astype(np.float32) * (1 - a) + colour.astype(np.float32) * a).astype(np.uint8)
    if size and max(h, w) < size:
        scale = size / max(h, w)
        out = np.asarray(Image.fromarray(out).resize((round(w * scale), round(h * scale)), Image.NEAREST))
    return out


def upscale(image: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour enlarge small images for display (keeps pixels honest)."""
    h, w = image.shape[:2]
    if max(h, w) >= size:
        return image
    scale = size / max(h, w)
    return np.asarray(Image.fromarray(image).resize((round(w * scale), round(h * scale)), Image.NEAREST))


def receptive_field_box(image: np.ndarray, rf: int, size: int = 256, colour=(255, 40, 40)) -> np.ndarray:
    """The model's input (enlarged to ``size``) with a square of side ``rf`` input pixels drawn
    around its centre: what one unit in the middle of a feature map can see. rf < 0 = whole image."""
    from PIL import ImageDraw
    h, w = image.shape[:2]
    big = Image.fromarray(upscale(image, size)).convert("RGB")
    scale = big.width / w
    side = w if rf < 0 else rf
    x0, y0 = (w - side) / 2 * scale, (h - side) / 2 * scale
    x1, y1 = (w + side) / 2 * scale, (h + side) / 2 * scale
    draw = ImageDraw.Draw(big)
    draw.rectangle([max(x0, 1), max(y0, 1), min(x1, big.width - 2), min(y1, big.height - 2)], outline=colour,
                   width=3)
    return np.asarray(big)
