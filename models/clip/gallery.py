"""Retrieval galleries: pictures with captions, embedded once, searched per query.

The ShapeWorld gallery mixes new renders of seen colour-shape pairs with the held-out pairs the
studio CLIP never saw, so "text -> images" for "a purple star" is a zero-shot retrieval.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models import limits

GALLERY_SIZES = (120, 480, 1000)     # the tab's choices; embedding 1,000 pictures takes seconds
HELD_OUT_SHARE = 0.25                # a quarter of the gallery shows held-out pairs
GALLERY_SEED = 11                    # not the training seed: none of these pictures was trained on
MAX_UPLOADS = limits.CLIP_MAX_UPLOADS


@dataclass
class Gallery:
    """Pictures (model-size RGB uint8) and one caption each ("" when unknown: uploads)."""
    images: list[np.ndarray]
    captions: list[str]
    names: list[str]                                   # shown under each hit
    held_out: list[bool] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)


def shapeworld_gallery(n: int, image_size: int = 64, seed: int = GALLERY_SEED) -> Gallery:
    """``n`` single-object ShapeWorld pictures with their captions, a quarter of them held-out
    pairs, in shuffled order (deterministic for a seed)."""
    from models.shapeworld import make_single_objects
    if n < 4:
        raise ValueError(f"a gallery needs at least 4 pictures, got {n}")
    n_held = max(1, round(n * HELD_OUT_SHARE))
    held = make_single_objects(n_held, seed=seed, split="heldout", image_size=image_size)
    seen = make_single_objects(n - n_held, seed=seed, split="val", image_size=image_size)
    order = np.random.default_rng(seed).permutation(n)   # held-out pictures anywhere in the list
    images = list(seen.images) + list(held.images)
    captions = list(seen.captions) + list(held.captions)
    flags = [False] * len(seen.images) + [True] * len(held.images)
    return Gallery([images[i] for i in order], [captions[i] for i in order],
                   [f"#{k}" for k in range(n)], [flags[i] for i in order])


def upload_gallery(images: list[np.ndarray], names: list[str]) -> Gallery:
    if not images:
        raise ValueError("upload at least one picture to index")
    if len(images) > MAX_UPLOADS:
        raise ValueError(f"at most {MAX_UPLOADS} pictures per gallery (got {len(images)}): "
                         "index fewer at a time")
    return Gallery(list(images), [""] * len(images), list(names), [False] * len(images))
