"""SAM's bench entries: the two graphs SAM runs, each with its own rows.

- ``sam-encoder``: the image encoder on one held-out ShapeWorld scene (once per image in the
  tab). Agreement: this runtime's embedding decoded by eager's decoder at every object's centre
  click (the tab's A/B: a 3 x 3 grid of clicks on the learner's picture), mask IoU against
  eager's embedding decoded the same way.
- ``sam-decoder``: prompt encoder + mask decoder for one click (what every click costs).
  Agreement: mask IoU of all four mask tokens, upsampled to the image, against eager's. Each
  row also measures a whole predict on that runtime (encoder + decoder + pre/post-processing,
  no embedding cache) and the click / full ratio: why SAM caches the embedding.

Max |Δ| and cosine of the raw outputs come with every row (models.agreement).
"""
from __future__ import annotations

import time

import numpy as np

from models.agreement import mask_iou
from models.bench import BenchSpec, backends_of

FULL_PREDICT_RUNS = 10
COLUMNS = [("full_predict_ms", "full predict ms", ".1f"), ("click_over_full", "click / full", ".3f")]


def bench_scene(seed: int = 0):
    """A held-out scene with 3-5 objects (the same one every run)."""
    from models.shapeworld import make_scene
    return make_scene(seed, 1, "heldout", 256, min_objects=3, max_objects=5)


def grid_clicks(image: np.ndarray, n: int = 3) -> np.ndarray:
    """(n*n, 2) xy clicks on a regular grid: prompts for any picture (no ground truth needed)."""
    h, w = image.shape[:2]
    xs, ys = np.meshgrid((np.arange(n) + 0.5) * w / n, (np.arange(n) + 0.5) * h / n)
    return np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32)


def click_prompts(predictor, emb, clicks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One prompt per click (x, y in image pixels): a positive point + SAM's padding point."""
    coords = np.concatenate([predictor.transform.apply_coords(clicks, emb.original_size)[:, None],
                             np.zeros((len(clicks), 1, 2), np.float32)], 1).astype(np.float32)
    labels = np.tile(np.array([[1.0, -1.0]], np.float32), (len(clicks), 1))
    return coords, labels


def scene_and_clicks(image) -> tuple[np.ndarray, np.ndarray]:
    """The picture and the clicks the agreement decodes at: the learner's picture with a 3 x 3 grid
    of clicks (the A/B panel), or the held-out bench scene with a click inside every object."""
    if image is None:
        from models.sam.prompts import centre_points
        scene = bench_scene()
        return scene.image, centre_points(scene.masks)
    from models.images import load_image
    image = load_image(image)
    return image, grid_clicks(image)


def encoder_spec(predictor, image=None) -> BenchSpec:
    """``sam-encoder`` for a loaded StudioSamPredictor on ``image`` (None: the bench scene)."""
    image, clicks = scene_and_clicks(image)
    emb, _ = predictor.embed(image, "eager")
    pixels, _ = predictor.model_input(image)
    coords, labels = click_prompts(predictor, emb, clicks)

    def chosen(embedding: np.ndarray) -> np.ndarray:
        e = type(emb)(**{**emb.__dict__, "embedding": embedding})
        low, iou, _ = predictor.decode(e, coords, labels, "eager")
        best = iou[:, 1:].argmax(1) + 1
        pick = low[np.arange(len(low)), best][:, None]
        return predictor.upscale(e, np.ascontiguousarray(pick)) > 0

    def agreement(ref, out) -> tuple[str, float]:
        return "mask_iou", mask_iou(chosen(ref["embedding"]), chosen(out["embedding"]))

    return BenchSpec(tab="sam-encoder", graph=predictor.graphs()["encoder"], inputs={"pixels": pixels},
                     task_metric=agreement, make_backend=backends_of(predictor, "encoder"))


def decoder_spec(predictor, image=None) -> BenchSpec:
    """``sam-decoder``: the timed call is one click, the first of the clicks (``scene_and_clicks``)."""
    image, clicks = scene_and_clicks(image)
    emb, _ = predictor.embed(image, "eager")
    coords, labels = click_prompts(predictor, emb, clicks[:1])
    g = predictor.grid
    inputs = {"image_embeddings": emb.embedding, "point_coords": coords, "point_labels": labels,
              "mask_input": np.zeros((1, 1, 4 * g, 4 * g), np.float32),
              "has_mask_input": np.zeros(1, np.float32)}

    def agreement(ref, out) -> tuple[str, float]:
        return "mask_iou", mask_iou(predictor.upscale(emb, ref["masks"]) > 0,
                                    predictor.upscale(emb, out["masks"]) > 0)

    def full_predict(backend) -> dict[str, float]:
        """Encoder + decoder + pre/post-processing on this row's runtime, embedding not cached."""
        runtime = backend.name
        encoder = predictor.backend("encoder", runtime)
        times = []
        for _ in range(FULL_PREDICT_RUNS):
            t0 = time.perf_counter()
            pixels, input_size = predictor.model_input(image)
            e = type(emb)(**{**emb.__dict__, "embedding": encoder(pixels=pixels)["embedding"]})
            low, _, _ = predictor.decode(e, coords, labels, runtime)
            predictor.upscale(e, low)
            times.append((time.perf_counter() - t0) * 1000)
        click = []
        for _ in range(FULL_PREDICT_RUNS):
            t0 = time.perf_counter()
            low, _, _ = predictor.decode(emb, coords, labels, runtime)
            predictor.upscale(emb, low)
            click.append((time.perf_counter() - t0) * 1000)
        full = float(np.median(times))
        return {"full_predict_ms": full, "click_over_full": float(np.median(click)) / full}

    return BenchSpec(tab="sam-decoder", graph=predictor.graphs()["decoder"], inputs=inputs,
                     task_metric=agreement, row_extras=full_predict, columns=COLUMNS,
                     make_backend=backends_of(predictor, "decoder"))
