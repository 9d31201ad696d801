"""The attention tab's entry for models.bench: the ViT graph that returns logits AND every
layer's attention weights, on one ShapeWorld image (or the learner's image in the A/B panel).

Agreement: top-1 class against eager's, plus the max |Δ| of the attention maps on their own
(column "attn max|Δ|"): a runtime that fused attention away could keep the class and still
draw different maps.
"""
from __future__ import annotations

import numpy as np

from models.bench import BenchSpec
from models.cnn.bench import top1_agreement

COLUMNS = [("attn_max_abs", "attn max|Δ|", ".2e")]


def attention_max_abs(ref: dict[str, np.ndarray], out: dict[str, np.ndarray]) -> dict[str, float]:
    diff = np.abs(ref["attentions"].astype(np.float64) - out["attentions"].astype(np.float64))
    return {"attn_max_abs": float(diff.max())}


def spec_for(predictor, image) -> BenchSpec:
    """Bench spec for a loaded ViTPredictor on one image (what the A/B panel runs)."""
    return BenchSpec(tab="attention", graph=predictor.graph(),
                     inputs={"pixel_values": predictor.preprocess(image).numpy()}, task_metric=top1_agreement,
                     make_backend=lambda name, precision, progress: predictor.backend(name, precision, progress),
                     columns=COLUMNS, output_metrics=attention_max_abs)


def bench_spec(device: str = "cpu", source: str = "studio") -> BenchSpec:
    """Bench spec for the CLI: the studio (or pretrained) ViT on a held-out ShapeWorld example."""
    from models.shapeworld import render_prompted
    from models.vit.predictor import ViTPredictor
    predictor = ViTPredictor(source, device=device)
    return spec_for(predictor, render_prompted("star", "purple", seed=0, image_size=predictor.image_size))
