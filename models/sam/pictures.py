"""Pictures for the SAM tab: a mask over the image with its outline, the clicks and the box; the
candidate masks as thumbnails; "segment everything" in colours; the decoder's low-res logits.
Plain numpy + PIL, no model.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

MASK_RGB = (30, 144, 255)        # SAM's own demo blue
POSITIVE_RGB = (40, 200, 80)
NEGATIVE_RGB = (230, 50, 50)
BOX_RGB = (255, 200, 0)


def _outline(mask: np.ndarray) -> np.ndarray:
    """Pixels of the mask that touch a pixel outside it (4-neighbourhood)."""
    m = np.pad(mask, 1)
    inner = m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
    return mask & ~inner


DISPLAY_MIN_PX = 512     # small pictures are enlarged (whole pixels) so clicks can be precise


def marker_radius(shape: tuple[int, ...]) -> int:
    return max(3, round(max(shape[:2]) / 70))


def display_factor(shape: tuple[int, ...]) -> int:
    """Whole-number enlargement of a picture on the canvas (2 for a 256 px scene, 1 from 512 px)."""
    return max(1, DISPLAY_MIN_PX // max(shape[:2]))


def to_image_xy(x: float, y: float, factor: int) -> tuple[float, float]:
    """A canvas pixel -> image coordinates (SAM's: pixel i's centre is at i)."""
    return max((x + 0.5) / factor - 0.5, 0.0), max((y + 0.5) / factor - 0.5, 0.0)


def _to_canvas(v: float, factor: int) -> float:
    return (v + 0.5) * factor - 0.5


def overlay(image: np.ndarray, mask: np.ndarray | None = None,
            points: list[tuple[float, float, int]] = (), box: list[float] | None = None,
            corner: list[float] | None = None, rgb: tuple[int, int, int] = MASK_RGB,
            alpha: float = 0.45, factor: int = 1) -> np.ndarray:
    """The image (enlarged ``factor`` times, whole pixels) with ``mask`` tinted and outlined,
    positive (green) / negative (red) clicks, the box (yellow), and a pending first box corner
    (a yellow cross). Coordinates are image pixels."""
    if factor > 1:
        image = image.repeat(factor, 0).repeat(factor, 1)
        mask = mask.repeat(factor, 0).repeat(factor, 1) if mask is not None else None
        points = [(_to_canvas(x, factor), _to_canvas(y, factor), lab) for x, y, lab in points]
        box = [_to_canvas(v, factor) for v in box] if box is not None else None
        corner = [_to_canvas(v, factor) for v in corner] if corner is not None else None
    out = image.astype(np.float32).copy()
    if mask is not None and mask.any():
        out[mask] = (1 - alpha) * out[mask] + alpha * np.asarray(rgb, np.float32)
        edge = _outline(mask)
        if max(mask.shape) > 400:     # a 1 px outline vanishes when a big image is shown small
            edge |= _outline(mask & ~edge)
        out[edge] = rgb
    pil = Image.fromarray(out.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    r = marker_radius(image.shape)
    width = max(2, r // 2)
    if box is not None:
        draw.rectangle([float(v) for v in box], outline=BOX_RGB, width=width)
    if corner is not None:
        x, y = corner
        draw.line([x - 2 * r, y, x + 2 * r, y], fill=BOX_RGB, width=width)
        draw.line([x, y - 2 * r, x, y + 2 * r], fill=BOX_RGB, width=width)
    for x, y, label in points:
        draw.ellipse([x - r, y - r, x + r, y + r], fill=POSITIVE_RGB if label == 1 else NEGATIVE_RGB,
                     outline=(255, 255, 255), width=max(1, r // 3))
    return np.asarray(pil)


def palette(n: int, seed: int = 3) -> np.ndarray:
    """n distinct bright colours (golden-ratio hues), (n, 3) uint8."""
    import colorsys
    hues = (np.arange(n) * 0.61803398875 + seed * 0.1) % 1.0
    return np.array([[int(255 * c) for c in colorsys.hsv_to_rgb(h, 0.75, 1.0)] for h in hues], np.uint8)


def everything(image: np.ndarray, records: list[dict], alpha: float = 0.55) -> np.ndarray:
    """segment_anything's automatic-mask records painted in distinct colours (largest first, so
    small masks stay visible on top), each outlined."""
    out = image.astype(np.float32).copy()
    colours = palette(len(records))
    for rec, rgb in zip(records, colours):
        m = rec["segmentation"]
        out[m] = (1 - alpha) * out[m] + alpha * rgb
        out[_outline(m)] = rgb * 0.6
    return out.clip(0, 255).astype(np.uint8)


def logits_picture(logits: np.ndarray, size: int = 256) -> np.ndarray:
    """The decoder's low-res mask logits (g x g) as a blue (< 0) / red (> 0) map, blown up with
    nearest-neighbour so each logit stays a visible square."""
    v = np.tanh(logits / max(float(np.abs(logits).max()), 1e-6) * 2)
    rgb = np.empty(logits.shape + (3,), np.float32)
    pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    rgb[..., 0] = 255 * (1 - neg * 0.8)
    rgb[..., 1] = 255 * (1 - pos * 0.8 - neg * 0.5)
    rgb[..., 2] = 255 * (1 - pos * 0.8)
    img = Image.fromarray(rgb.clip(0, 255).astype(np.uint8))
    return np.asarray(img.resize((size, size), Image.NEAREST))
