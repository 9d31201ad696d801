"""Logits to what a tab shows: probabilities and the top-k (label, probability) pairs."""
from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities (float32) from one vector of logits, computed in float64 for stability."""
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max())
    return (e / e.sum()).astype(np.float32)


def top_k(logits: np.ndarray, labels, k: int = 5) -> tuple[list[tuple[str, float]], np.ndarray]:
    """([(label, probability)] best first, all probabilities) for one vector of logits.
    ``labels`` is a list of names or a callable index -> name (token labels)."""
    probs = softmax(logits)
    name = labels if callable(labels) else labels.__getitem__
    return [(name(int(i)), float(probs[i])) for i in np.argsort(-probs)[:k]], probs
