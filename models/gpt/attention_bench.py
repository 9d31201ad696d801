"""The attention tab's text view for models.bench: one GPT forward over a sentence returning the
next-token logits and every layer's attention weights. Agreement: same next token as eager, and
the max |Δ| of the attention maps on their own."""
from __future__ import annotations

import numpy as np

from models.bench import BenchSpec
from models.cnn.bench import top1_agreement
from models.vit.bench import COLUMNS, attention_max_abs

BENCH_TEXT = "ROMEO. But soft, what light through yonder window breaks? It is the east"


def spec_for(predictor, text: str = BENCH_TEXT) -> BenchSpec:
    """Bench spec for a loaded TextAttentionPredictor (the A/B panel passes the learner's text)."""
    ids = predictor.tokenize(text)
    return BenchSpec(tab="attention-text", graph=predictor.graph(),
                     inputs={"input_ids": np.asarray([ids], dtype=np.int64)}, task_metric=top1_agreement,
                     make_backend=lambda name, precision, progress: predictor.backend(name, precision, progress),
                     columns=COLUMNS, output_metrics=attention_max_abs)


def bench_spec(device: str = "cpu", source: str = "studio") -> BenchSpec:
    from models.gpt.attention import TextAttentionPredictor
    from models.gpt.predictor import GPTPredictor
    return spec_for(TextAttentionPredictor(GPTPredictor(source, device=device)))
