"""The ViT's bench entry: the graph that returns the logits AND every layer's attention weights,
on one picture (the learner's in the A/B panel, a held-out ShapeWorld star for the CLI and lab).

Agreement: the top-1 class against eager's, plus the max |Δ| of the attention maps on their own
(column "attn max|Δ|"): a runtime that fused attention away could keep the class and still draw
different maps.
"""
from __future__ import annotations

from models.agreement import attention_max_abs, top1_agreement
from models.bench import BenchSpec, backends_of

ATTENTION_COLUMNS = [("attn_max_abs", "attn max|Δ|", ".2e")]


def classifier_spec(predictor, image=None) -> BenchSpec:
    """Bench spec for a loaded ViTPredictor on ``image`` (None: a held-out purple star)."""
    if image is None:
        from models.shapeworld import render_prompted
        image = render_prompted("star", "purple", seed=0, image_size=predictor.image_size)
    return BenchSpec(tab="attention", graph=predictor.graphs()["classifier"],
                     inputs={"pixel_values": predictor.preprocess(image).numpy()}, task_metric=top1_agreement,
                     make_backend=backends_of(predictor, "classifier"), columns=ATTENTION_COLUMNS,
                     output_metrics=attention_max_abs)
