"""Train the studio Vision Transformer (transformers' ViTForImageClassification) to classify
ShapeWorld shapes; writes ``assets/checkpoints/vit-shapeworld/`` (model.safetensors + card.json).

``python training_scripts/train_vit.py`` makes the committed checkpoint (~13 min on 2 cores);
``--quick`` is a smoke test of seconds; torchrun runs it under DDP, with the flags of train_cnn.py.
Data, splits, augmentation, metrics and the card: ``shapeworld_classifier.py`` (shared with
the CNN). This file holds the ViT's recipe values and its builder.
"""
from __future__ import annotations

import sys
from pathlib import Path

MODEL_ID = "vit-shapeworld"
SCRIPT = "training_scripts/train_vit.py"

if __package__ in (None, ""):   # run as a script: make `models` and `training_scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from torch import Tensor, nn

from models.vit.modeling import STUDIO_VIT_CONFIG, build_vit
from training_scripts.shapeworld_classifier import ClassifierRun, ShapeWorldClassifier
from training_scripts.shapeworld_classifier import main as train_classifier

# The recipe. Plain values; --quick swaps in QUICK. Every value lands in the card.
FULL = dict(
    # The CNN's images (one shared .npz cache): the hybrid stem (models/vit/modeling.py) gives
    # the ViT a CNN's edge detectors, so it needs no more images than the CNN does.
    train=12_000, val=1_000, heldout=1_000,
    occlusion=0.2,            # as the CNN: 1 in 5 training objects partly hidden
    # AdamW at the usual small-ViT learning rate and batch (not tuned here). 12 epochs = 1,116
    # steps at ~0.68 s each on 2 free cores: ~13 min with data loading and evaluation.
    epochs=12, batch_size=128, lr=1e-3, weight_decay=0.05, warmup_frac=0.05,
    label_smoothing=0.05,     # soft targets: calmer logits, softer probabilities in the tab
    colour_aug=0.5, grey_aug=0.1,   # as the CNN: shape must come from the outline, not colour
    # Extra views of each image (see augment). Shapes are drawn at uniform rotations and
    # positions already, so these keep the data's distribution while showing each object at
    # another place on the 8 x 8 token grid: past the stem a ViT has no translation
    # equivariance and learns position by position. Not measured apart from the rest.
    rot90_aug=0.5,
    max_shift=4,
    patience=0, seed=0, threads=0,
)
QUICK = dict(FULL, train=256, val=128, heldout=128, epochs=2, batch_size=32, threads=1)


def build(architecture: dict, class_names: list[str], recipe: dict) -> nn.Module:
    return build_vit(architecture, class_names)


def logits(model: nn.Module, x: Tensor) -> Tensor:
    return model(pixel_values=x).logits


VIT = ShapeWorldClassifier(
    model_id=MODEL_ID, script=SCRIPT, description=__doc__.split("\n\n")[0],
    architecture=STUDIO_VIT_CONFIG, build=build, full=FULL, quick=QUICK, logits=logits,
    recipe_keys=("rot90_aug", "max_shift"))


def main(argv: list[str] | None = None) -> ClassifierRun:
    return train_classifier(VIT, argv)


if __name__ == "__main__":
    main()
