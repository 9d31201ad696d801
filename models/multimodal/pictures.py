"""Pictures of the multimodal lab: each stage of a pipeline drawn on the scene it ran on."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from models import viz
from models.sam import pictures as sam_pictures

SHOW = 384           # the scene's side on screen (the 256 px scene blown up)
CHOSEN_RGB = (255, 215, 0)
OTHER_RGB = (255, 255, 255)


def _big(scene: np.ndarray) -> tuple[np.ndarray, float]:
    scale = SHOW / scene.shape[0]
    return np.asarray(Image.fromarray(scene).resize((SHOW, SHOW), Image.NEAREST)), scale


def heat_with_click(scene: np.ndarray, heat: np.ndarray, point: tuple[float, float]) -> np.ndarray:
    """CLIP's patch-text map over the scene (rescaled to [0, 1] over this picture: where, not how
    much) and the click it gives SAM."""
    lo, hi = float(heat.min()), float(heat.max())
    scaled = (heat - lo) / (hi - lo) if hi > lo else np.zeros_like(heat)
    big, scale = _big(scene)
    cells = np.kron(scaled, np.ones((SHOW // heat.shape[0],) * 2))        # crisp patches, as the model sees them
    return sam_pictures.overlay(viz.overlay(big, cells, alpha=0.6), points=[(point[0] * scale, point[1] * scale, 1)])


def mask_on(scene: np.ndarray, mask: np.ndarray, point=None, box=None) -> np.ndarray:
    """SAM's mask (and the prompt it was given) on the scene."""
    big, scale = _big(scene)
    big_mask = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((SHOW, SHOW), Image.NEAREST)) > 0
    points = [(point[0] * scale, point[1] * scale, 1)] if point is not None else []
    return sam_pictures.overlay(big, big_mask, points=points,
                                box=[v * scale for v in box] if box is not None else None)


def ranked_boxes(scene: np.ndarray, boxes: np.ndarray, scores: np.ndarray, chosen: int) -> np.ndarray:
    """YOLO's boxes, each with CLIP's cosine between its crop and the phrase; the best in yellow."""
    big, scale = _big(scene)
    pil = Image.fromarray(big)
    draw = ImageDraw.Draw(pil)
    for k in np.argsort(scores):                       # the chosen box drawn last, on top
        x1, y1, x2, y2 = (float(v) * scale for v in boxes[k])
        rgb = CHOSEN_RGB if k == chosen else OTHER_RGB
        draw.rectangle([x1, y1, x2, y2], outline=rgb, width=4 if k == chosen else 2)
        label = f"{scores[k]:.2f}"
        draw.rectangle([x1, max(y1 - 14, 0), x1 + 7 * len(label) + 4, max(y1 - 14, 0) + 14], fill=(0, 0, 0))
        draw.text((x1 + 2, max(y1 - 14, 0) + 1), label, fill=rgb)
    return np.asarray(pil)


def numbered_objects(scene: np.ndarray, reports) -> np.ndarray:
    """Every object's SAM mask in its own colour, with YOLO's box and the object's number."""
    big, scale = _big(scene)
    out = big.astype(np.float32)
    colours = sam_pictures.palette(max(len(reports), 1))
    for r, rgb in zip(reports, colours):
        m = np.asarray(Image.fromarray(r.mask.astype(np.uint8) * 255).resize((SHOW, SHOW), Image.NEAREST)) > 0
        out[m] = 0.5 * out[m] + 0.5 * rgb
    pil = Image.fromarray(out.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    for n, (r, rgb) in enumerate(zip(reports, colours), start=1):
        x1, y1, x2, y2 = (float(v) * scale for v in r.box)
        draw.rectangle([x1, y1, x2, y2], outline=tuple(int(c) for c in rgb), width=3)
        draw.rectangle([x1, y1, x1 + 16, y1 + 15], fill=(0, 0, 0))
        draw.text((x1 + 4, y1 + 2), str(n), fill=(255, 255, 255))
    return np.asarray(pil)


def crop_with_rollout(crop: np.ndarray, rollout: np.ndarray, size: int = 160) -> np.ndarray:
    """The crop the classifiers read, beside the ViT's attention rollout on it."""
    view = np.asarray(Image.fromarray(crop).resize((size, size), Image.BICUBIC))
    heat = viz.overlay(view, rollout, alpha=0.7)
    gap = np.full((size, 6, 3), 255, np.uint8)
    return np.concatenate([view, gap, heat], axis=1)


def attention_over_objects(scene: np.ndarray, boxes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A head's weight on each object YOLO found: each box as bright as its weight (scaled to the
    largest), the rest of the picture dark (the head never sees it), labelled with the object's
    share of the attention that went to objects."""
    big, scale = _big(scene)
    out = big.astype(np.float32) * 0.25
    total = float(weights.sum()) if len(weights) else 0.0
    top = max(float(weights.max()), 1e-12) if len(weights) else 1.0
    drawn = []
    for k in np.argsort(weights):                       # the strongest drawn last, on top
        x1, y1, x2, y2 = (int(round(float(v) * scale)) for v in boxes[k])
        strength = float(weights[k]) / top
        out[y1:y2, x1:x2] = big[y1:y2, x1:x2].astype(np.float32) * (0.25 + 0.75 * strength)
        drawn.append(((x1, y1, x2, y2), float(weights[k]) / max(total, 1e-12), strength))
    pil = Image.fromarray(out.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    for (x1, y1, x2, y2), share, strength in drawn:
        rgb = CHOSEN_RGB if strength > 0.5 else OTHER_RGB
        draw.rectangle([x1, y1, x2, y2], outline=rgb, width=max(1, round(4 * strength)))
        label = f"{100 * share:.0f}%"
        draw.rectangle([x1, max(y1 - 14, 0), x1 + 7 * len(label) + 4, max(y1 - 14, 0) + 14], fill=(0, 0, 0))
        draw.text((x1 + 2, max(y1 - 14, 0) + 1), label, fill=rgb)
    return np.asarray(pil)
