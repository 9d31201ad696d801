"""One-click lessons of the Training lab. Each preset is a claim about what its run shows, and
tests/unit/test_training_lab_presets.py runs it (seeded) and checks the claim; the Learn text
(tabs/i18n_training.py) says what to look at. A lesson is a pair of presets to compare where it
needs one ("vanishing" and "vanishing_rescued" ...): run both, the chart overlays them."""
from __future__ import annotations

from dataclasses import replace

from models.training_lab.settings import LabSettings

DEFAULT = LabSettings()

_DEEP_SIGMOID = replace(DEFAULT, network="mlp", depth=10, width=64, activation="sigmoid", norm="none",
                        optimizer="sgd_momentum", lr=0.05, steps=400)
_TINY = replace(DEFAULT, train_size=64, batch_size=32, steps=300)

PRESETS: dict[str, LabSettings] = {
    # vanishing gradients: ten sigmoid layers without normalisation; the gradient that reaches the
    # first layer has been multiplied by σ'(x) ≤ 1/4 ten times
    "vanishing": _DEEP_SIGMOID,
    "vanishing_rescued_batchnorm": replace(_DEEP_SIGMOID, norm="batchnorm"),
    "vanishing_rescued_relu": replace(_DEEP_SIGMOID, activation="relu", init="kaiming"),
    "vanishing_rescued_residual": replace(_DEEP_SIGMOID, residual=True),
    # the learning rate: the same network (no normalisation to absorb the blow-up) at a thousand
    # times its usual rate
    "lr_too_high": replace(DEFAULT, norm="none", lr=3.0),
    "lr_usual": replace(DEFAULT, norm="none"),
    # Adam against plain SGD (no momentum) at each one's usual rate
    "adam": replace(DEFAULT, optimizer="adam", lr=3e-3, steps=400),
    "sgd": replace(DEFAULT, optimizer="sgd", lr=0.05, steps=400),
    # overfitting: 64 pictures, seen over and over; augmentation (or more pictures) narrows the gap
    "overfitting": _TINY,
    "overfitting_augmented": replace(_TINY, augment=("flip", "rotate", "crop", "colour")),
    "overfitting_more_data": replace(_TINY, train_size=2048),
    # warm-up: a high rate from step one shakes the loss; warm-up starts gently
    "no_warmup": replace(DEFAULT, norm="none", optimizer="adam", lr=1e-2, schedule="cosine"),
    "warmup": replace(DEFAULT, norm="none", optimizer="adam", lr=1e-2, schedule="warmup_cosine", warmup_frac=0.1),
    "default": DEFAULT,
    # label smoothing: the same run with smoothed targets; the logits stay smaller
    "label_smoothing": replace(DEFAULT, loss="label_smoothing"),
}
LESSONS: dict[str, tuple[str, ...]] = {
    "vanishing": ("vanishing", "vanishing_rescued_batchnorm", "vanishing_rescued_relu", "vanishing_rescued_residual"),
    "lr": ("lr_too_high", "lr_usual"),
    "adam_sgd": ("adam", "sgd"),
    "overfitting": ("overfitting", "overfitting_augmented", "overfitting_more_data"),
    "warmup": ("no_warmup", "warmup"),
    "label_smoothing": ("default", "label_smoothing"),
}
