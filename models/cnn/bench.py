"""The CNN's bench entry: the classifier graph on one picture (the learner's in the A/B panel, a
held-out ShapeWorld star for the CLI and the lab); task agreement = the same top-1 class."""
from __future__ import annotations

from models.agreement import top1_agreement
from models.bench import BenchSpec, backends_of


def classifier_spec(predictor, image=None) -> BenchSpec:
    """Bench spec for a loaded CNNPredictor on ``image`` (None: a held-out purple star)."""
    if image is None:
        from models.shapeworld import render_prompted
        image = render_prompted("star", "purple", seed=0, image_size=64)
    return BenchSpec(tab="cnn", graph=predictor.graphs()["classifier"],
                     inputs={"image": predictor.preprocess(image).numpy()}, task_metric=top1_agreement,
                     make_backend=backends_of(predictor, "classifier"))
