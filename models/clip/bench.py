"""CLIP's bench entries: each tower is its own graph, so each gets its own rows.

- ``clip-image``: the image tower on a batch of ShapeWorld pictures (held-out and seen pairs).
  Agreement: the zero-shot top-1 over the 48 colour-shape labels, scoring this runtime's image
  embeddings against eager's label embeddings, must match eager's top-1.
- ``clip-text``: the text tower on every prompt of the 48 labels x the studio templates.
  Agreement: the zero-shot top-1 of eager's image embeddings against this runtime's ensembled
  label embeddings.

Max |Δ| and cosine of the embeddings themselves come with every row (models.agreement).
"""
from __future__ import annotations

import numpy as np

from models.bench import BenchSpec, backends_of

BENCH_IMAGES = 8    # pictures per image-tower call: the tab's similarity-matrix batch


def _ensembled(text: np.ndarray, n_labels: int) -> np.ndarray:
    emb = text.reshape(n_labels, -1, text.shape[-1]).mean(axis=1)
    return emb / np.linalg.norm(emb, axis=1, keepdims=True)


def bench_pictures(n: int, image_size: int) -> list[np.ndarray]:
    """ShapeWorld pictures, seen and held-out pairs (the same ones every run)."""
    from models.clip.gallery import shapeworld_gallery
    return shapeworld_gallery(n, image_size, seed=5).images


def image_spec(predictor, images: list | None = None) -> BenchSpec:
    """``clip-image`` for a loaded ClipPredictor on ``images`` (the A/B panel: the similarity
    tab's batch; None: ``BENCH_IMAGES`` ShapeWorld pictures)."""
    from models.clip.prompts import STUDIO_TEMPLATES, colour_shape_labels
    images = bench_pictures(BENCH_IMAGES, predictor.image_size) if images is None else images
    labels, templates = colour_shape_labels(), list(STUDIO_TEMPLATES)
    text, _ = predictor.label_embeddings(labels, templates, "eager")

    def zero_shot_agreement(ref, out) -> tuple[str, float]:
        return "zero_shot_top1_agreement", float(np.mean(
            (ref["image"] @ text.T).argmax(-1) == (out["image"] @ text.T).argmax(-1)))

    return BenchSpec(tab="clip-image", graph=predictor.graphs()["image"],
                     inputs={"pixels": predictor.pixels(images)}, task_metric=zero_shot_agreement,
                     make_backend=backends_of(predictor, "image"))


def text_spec(predictor, images: list | None = None) -> BenchSpec:
    """``clip-text``: 48 labels x the studio templates in one call per run, scored against the
    image embeddings of ``images`` (as ``image_spec``)."""
    from models.clip.predictor import BATCH
    from models.clip.prompts import STUDIO_TEMPLATES, colour_shape_labels, prompts_for
    images = bench_pictures(BENCH_IMAGES, predictor.image_size) if images is None else images
    labels = colour_shape_labels()
    prompts = prompts_for(labels, list(STUDIO_TEMPLATES))
    image, _ = predictor.embed_images(images, "eager")
    ids = predictor.tokens(prompts)

    def run(backend):
        outs = [backend(ids=ids[i:i + BATCH])["text"] for i in range(0, len(ids), BATCH)]
        return {"text": np.concatenate(outs)}, {}

    def zero_shot_agreement(ref, out) -> tuple[str, float]:
        a = (image @ _ensembled(ref["text"], len(labels)).T).argmax(-1)
        b = (image @ _ensembled(out["text"], len(labels)).T).argmax(-1)
        return "zero_shot_top1_agreement", float(np.mean(a == b))

    return BenchSpec(tab="clip-text", graph=predictor.graphs()["text"], inputs={"ids": ids[:BATCH]},
                     task_metric=zero_shot_agreement, run=run, make_backend=backends_of(predictor, "text"))
