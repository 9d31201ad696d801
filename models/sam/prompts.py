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
