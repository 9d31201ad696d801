"""Prompt geometry shared by training, evaluation, the bench and the tab (numpy only)."""
from __future__ import annotations

import numpy as np


def centre_points(masks: np.ndarray) -> np.ndarray:
    """(P, H, W) bool -> (P, 2) float32 xy of each mask's most interior pixel (the maximum of its
    distance transform): the single click the SAM paper evaluates with, and where a learner
    would click."""
    from scipy.ndimage import distance_transform_edt
    out = np.zeros((len(masks), 2), np.float32)
    for i, m in enumerate(masks):
        y, x = np.unravel_index(np.argmax(distance_transform_edt(m)), m.shape)
        out[i] = (x, y)
    return out


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Mean IoU over the leading axes of two (..., H, W) bool stacks (empty vs empty = 1)."""
    a, b = a.reshape(-1, *a.shape[-2:]), b.reshape(-1, *b.shape[-2:])
    inter = (a & b).sum((1, 2))
    union = (a | b).sum((1, 2))
    return float(np.mean(np.where(union > 0, inter / np.maximum(union, 1), 1.0)))
