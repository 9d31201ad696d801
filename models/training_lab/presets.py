"""One-click lessons of the Training lab. Each preset is a claim about what its run shows, and
tests/unit/test_training_lab_presets.py runs it (seeded) and checks the claim; the Learn text
(tabs/i18n_training.py) says what to look at. A lesson is a pair of presets to compare where it
needs one ("vanishing" and "vanishing_rescued" ...): run both, the chart overlays them."""
from __future__ import annotations

from dataclasses import replace

from models.training_lab.settings import LabSettings

DEFAULT = LabSettings()

# The vanishing-gradient lesson is a CNN, not the MLP first planned: ten sigmoid layers of an MLP
# vanish as promised, but no rescued MLP reached 90 % validation accuracy in 400 steps on these
# pictures (BatchNorm: 30 %), so the rescue could not be shown in a run a learner waits for.
_DEEP_SIGMOID = replace(DEFAULT, depth=6, activation="sigmoid", norm="none", steps=300)
_TINY = replace(DEFAULT, train_size=64, batch_size=32, steps=300)
_NO_NORM = replace(DEFAULT, norm="none")

PRESETS: dict[str, LabSettings] = {
    # vanishing gradients: six sigmoid convolution layers without normalisation; the gradient that
    # reaches the first layer has been multiplied by σ'(x) ≤ 1/4 at every layer on the way down
    "vanishing": _DEEP_SIGMOID,
    "vanishing_rescued_relu": replace(_DEEP_SIGMOID, activation="relu", init="kaiming"),
    "vanishing_rescued_batchnorm": replace(_DEEP_SIGMOID, norm="batchnorm"),
    "vanishing_rescued_residual": replace(_DEEP_SIGMOID, residual=True),
    # the learning rate: the same network (no normalisation to absorb the blow-up) at a thousand
    # times its usual rate
    "lr_too_high": replace(_NO_NORM, lr=3.0, steps=600),
    "lr_usual": replace(_NO_NORM, steps=600),
    # Adam against plain SGD (no momentum) at each one's usual rate
    "adam": replace(DEFAULT, optimizer="adam", lr=3e-3, steps=400),
    "sgd": replace(DEFAULT, optimizer="sgd", lr=0.05, steps=400),
    # overfitting: 64 pictures, seen over and over; augmentation (or more pictures) narrows the gap
    "overfitting": _TINY,
    "overfitting_augmented": replace(_TINY, augment=("flip", "rotate", "crop", "colour")),
    "overfitting_more_data": replace(_TINY, train_size=2048),
    # warm-up: Adam at 10x its usual rate from step one stalls the run; warm-up starts gently
    "no_warmup": replace(_NO_NORM, lr=0.03, schedule="cosine"),
    "warmup": replace(_NO_NORM, lr=0.03, schedule="warmup_cosine", warmup_frac=0.2),
    "default": DEFAULT,
    # label smoothing: the same run with smoothed targets; the logits stay smaller
    "label_smoothing": replace(DEFAULT, loss="label_smoothing"),
}
LESSONS: dict[str, tuple[str, ...]] = {
    "vanishing": ("vanishing", "vanishing_rescued_relu", "vanishing_rescued_batchnorm", "vanishing_rescued_residual"),
    "lr": ("lr_too_high", "lr_usual"),
    "adam_sgd": ("adam", "sgd"),
    "overfitting": ("overfitting", "overfitting_augmented", "overfitting_more_data"),
    "warmup": ("no_warmup", "warmup"),
    "label_smoothing": ("default", "label_smoothing"),
}
