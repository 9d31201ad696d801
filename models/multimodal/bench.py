"""The fusion heads' bench entries: one graph per head on one encoded question (the learner's in
the A/B panel, a held-out scene's question for the CLI and the lab); agreement = the same answer."""
from __future__ import annotations

from functools import partial

from models.agreement import top1_agreement
from models.bench import BenchSpec, backends_of


def head_spec(head: str, predictor, sample=None) -> BenchSpec:
    """Bench spec for one head of a loaded FusionPredictor; ``sample``: (picture, question) or None
    (a held-out scene and "is the circle left of the square?"-style question made for it)."""
    picture, question = sample if sample is not None else predictor.example()
    return BenchSpec(tab="multimodal", graph=predictor.graphs()[head],
                     inputs=predictor.head_inputs(picture, question), task_metric=top1_agreement,
                     make_backend=backends_of(predictor, head))


late_spec = partial(head_spec, "late")
concat_spec = partial(head_spec, "concat")
cross_spec = partial(head_spec, "cross")
gated_spec = partial(head_spec, "gated")
