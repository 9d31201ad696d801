"""The SAM tab's entries for models.bench: the two graphs SAM runs, each with its own rows.

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

from models.bench import BenchSpec
from models.sam.prompts import centre_points, mask_iou

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


def encoder_spec_for(predictor, image: np.ndarray, clicks: np.ndarray) -> BenchSpec:
    """Clicks (K, 2): where the agreement decodes both embeddings."""
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
                     task_metric=agreement,
                     make_backend=lambda name, precision, progress: predictor.encoder_backend(name, progress, precision))


def decoder_spec_for(predictor, image: np.ndarray, clicks: np.ndarray) -> BenchSpec:
    """The timed call is one click, the first of ``clicks``."""
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
        runtime = _runtime_name(backend)
        if runtime is None:
            return {}
        encoder = predictor.encoder_backend(runtime)
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
                     make_backend=lambda name, precision, progress: predictor.decoder_backend(name, progress, precision))


def _runtime_name(backend) -> str | None:
    from models.backends import BACKENDS
    return next((n for n, cls in BACKENDS.items() if isinstance(backend, cls)), None)


def _predictor(device: str, source: str):
    from models.sam.predictor import StudioSamPredictor
    return StudioSamPredictor(source, device=device)


def bench_spec(device: str = "cpu", source: str = "studio") -> BenchSpec:
    """``sam-encoder`` for the CLI."""
    p = _predictor(device, source)
    scene = bench_scene()
    return encoder_spec_for(p, scene.image, centre_points(scene.masks))


def decoder_bench_spec(device: str = "cpu", source: str = "studio") -> BenchSpec:
    p = _predictor(device, source)
    scene = bench_scene()
    return decoder_spec_for(p, scene.image, centre_points(scene.masks))
