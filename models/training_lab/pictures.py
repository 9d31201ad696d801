"""What the Training lab draws: long-form tables for the tab's line charts (one row per point:
x, y, which curve) and pictures (the augmented batch, the confusion matrix, the misclassified
pictures, a CNN's first-layer filters). No UI here; the tab passes these to Gradio."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from models.shapeworld import SHAPES

CURVE_POINTS = 400        # a chart keeps at most this many points per curve (every k-th step)


def _frame(rows: list, columns: list[str]) -> pd.DataFrame:
    """Rows -> a frame whose first two columns are float even when empty: Gradio's chart takes an
    empty object column for a category axis and keeps that axis for the points that follow."""
    return pd.DataFrame(rows, columns=columns).astype({columns[0]: float, columns[1]: float})


def _thin(xs: list, *columns: list) -> tuple[list, ...]:
    step = max(1, math.ceil(len(xs) / CURVE_POINTS))
    return (xs[::step], *(c[::step] for c in columns))


def _log10(v: float) -> float:
    return math.log10(v) if v > 0 and math.isfinite(v) else float("nan")


def loss_frame(history, words: dict[str, str]) -> pd.DataFrame:
    """Training loss per step (thinned) and training / validation loss at each evaluation."""
    steps, loss = _thin(history.steps, history.loss)
    rows = [(s, v, words["step_loss"]) for s, v in zip(steps, loss)]
    rows += [(s, v, words["train"]) for s, v in zip(history.eval_steps, history.train_loss)]
    rows += [(s, v, words["val"]) for s, v in zip(history.eval_steps, history.val_loss)]
    return _frame(rows, ["step", "loss", "curve"])


def accuracy_frame(history, words: dict[str, str]) -> pd.DataFrame:
    rows = [(s, v, words["train"]) for s, v in zip(history.eval_steps, history.train_accuracy)]
    rows += [(s, v, words["val"]) for s, v in zip(history.eval_steps, history.val_accuracy)]
    return _frame(rows, ["step", "accuracy", "curve"])


def lr_frame(steps: list[int], rates: list[float]) -> pd.DataFrame:
    steps, rates = _thin(steps, rates)
    return _frame(list(zip(steps, rates)), ["step", "learning rate"])


def layer_frame(history, names: list[str], what: str, log: bool) -> pd.DataFrame:
    """One curve per layer of ``what`` ("grad_norm", "update_ratio", "act_trouble", ...), log10 when ``log``."""
    values = getattr(history, what)
    rows = [(step, _log10(v) if log else v, name)
            for step, row in zip(history.layer_steps, values) for name, v in zip(names, row)]
    return _frame(rows, ["step", "value", "layer"])


def compare_frame(runs: list, names: list[str]) -> pd.DataFrame:
    """Validation accuracy of every run of the session, overlaid."""
    rows = [(s, v, name) for run, name in zip(runs, names)
            for s, v in zip(run.history.eval_steps, run.history.val_accuracy)]
    return _frame(rows, ["step", "validation accuracy", "run"])


# --------------------------------------------------------------------------- pictures
def _grid(pictures: np.ndarray, columns: int, scale: int = 3, gap: int = 2) -> np.ndarray:
    """(N, H, W, 3) uint8 -> one picture, ``columns`` per row, each ``scale`` times bigger."""
    n, h, w, _ = pictures.shape
    rows = max(1, math.ceil(n / columns))
    big = np.kron(pictures, np.ones((1, scale, scale, 1), np.uint8))
    H, W = h * scale + gap, w * scale + gap
    out = np.full((rows * H + gap, columns * W + gap, 3), 255, np.uint8)
    for i, p in enumerate(big):
        r, c = divmod(i, columns)
        out[gap + r * H: gap + r * H + h * scale, gap + c * W: gap + c * W + w * scale] = p
    return out


def to_uint8(x) -> np.ndarray:
    """(N, 3, H, W) floats in [-1, 1] (a torch tensor) -> (N, H, W, 3) uint8."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def batch_picture(originals: np.ndarray, augmented: np.ndarray) -> np.ndarray:
    """Originals on the first row, their augmented copies below."""
    return _grid(np.concatenate([originals, augmented]), columns=len(originals))


def augmented_batch_picture(kinds: tuple[str, ...], seed: int, n: int = 8) -> np.ndarray:
    """The first ``n`` training pictures above what ``kinds`` of augmentation make of them (seeded)."""
    import torch

    from models.training.augment import random_augment
    from models.training_lab.data import lab_data, to_inputs
    x = to_inputs(lab_data(64).train_images[:n])
    shown = random_augment(x, kinds, torch.Generator().manual_seed(seed)) if kinds else x
    return batch_picture(to_uint8(x), to_uint8(shown))


def filters_picture(filters: np.ndarray, max_filters: int = 64) -> np.ndarray:
    """A CNN's first-layer kernels (C, 3, k, k), each scaled to its own range, as RGB tiles in a
    near-square grid (16 filters: 4 x 4), big enough to see each kernel's 3 x 3 colours."""
    f = filters[:max_filters]
    low, high = f.min((1, 2, 3), keepdims=True), f.max((1, 2, 3), keepdims=True)
    tiles = ((f - low) / np.maximum(high - low, 1e-12) * 255).round().astype(np.uint8).transpose(0, 2, 3, 1)
    return _grid(tiles, columns=math.ceil(math.sqrt(len(tiles))), scale=24, gap=6)


def confusion_picture(confusion: np.ndarray, truth_label: str, predicted_label: str):
    """The validation confusion matrix as a heat map with counts (room left at the top for the
    label Gradio draws over a picture's corner)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.2, 4.6), dpi=100)
    ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(len(SHAPES)), SHAPES, rotation=45, ha="right")
    ax.set_yticks(range(len(SHAPES)), SHAPES)
    ax.set_xlabel(predicted_label)
    ax.set_ylabel(truth_label)
    top = confusion.max() or 1
    for (r, c), v in np.ndenumerate(confusion):
        if v:
            ax.text(c, r, str(v), ha="center", va="center", fontsize=8, color="white" if v > top / 2 else "black")
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return image


def misclassified_items(images, wrong: list[tuple[int, int, int]]) -> list[tuple[np.ndarray, str]]:
    """(picture, "truth → predicted") for a gallery; ``images`` are the uint8 (N, 3, H, W) val pictures."""
    return [(np.kron(images[i].permute(1, 2, 0).cpu().numpy(), np.ones((3, 3, 1), np.uint8)),
             f"{SHAPES[t]} → {SHAPES[p]}") for i, t, p in wrong]
