"""The CNN tab's entry for models.bench: the classifier graph on one ShapeWorld image (or the
learner's image in the A/B panel); task agreement = same top-1 class as the reference."""
from __future__ import annotations

import numpy as np

from models.bench import BenchSpec


def top1_agreement(ref: dict[str, np.ndarray], out: dict[str, np.ndarray]) -> tuple[str, float]:
    return "top1_agreement", float(np.mean(ref["logits"].argmax(-1) == out["logits"].argmax(-1)))


def spec_for(predictor, image) -> BenchSpec:
    """Bench spec for a loaded CNNPredictor on one image (what the A/B panel runs)."""
    return BenchSpec(tab="cnn", graph=predictor.graph(),
                     inputs={"image": predictor.preprocess(image).numpy()}, task_metric=top1_agreement,
                     make_backend=lambda name, precision, progress: predictor.backend(name, precision, progress))


def bench_spec(device: str = "cpu", source: str = "studio") -> BenchSpec:
    """Bench spec for the CLI: the studio (or pretrained) CNN on a held-out ShapeWorld example."""
    from models.cnn.predictor import CNNPredictor
    from models.shapeworld import render_prompted
    predictor = CNNPredictor(source, device=device)
    return spec_for(predictor, render_prompted("star", "purple", seed=0, image_size=64))
