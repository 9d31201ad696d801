"""How closely two runtimes agree on the same input (Polygraphy-style output comparison)."""
from __future__ import annotations

import numpy as np


def compare_outputs(ref: dict[str, np.ndarray], out: dict[str, np.ndarray]) -> dict:
    """Max absolute difference and cosine similarity over all of ``ref``'s outputs.

    Args:
        ref: output name -> array from the reference runtime (eager).
        out: output name -> array from the runtime under test; must have the same names/shapes.
    Returns:
        ``{"max_abs": float, "cosine": float}``; cosine is over the flattened concatenation of
        every output in float64 (1.0 when both are all zeros, 0.0 when only one is).
    """
    missing = [k for k in ref if k not in out]
    if missing:
        raise ValueError(f"outputs {missing} are missing (got {sorted(out)})")
    if not ref:
        raise ValueError("nothing to compare: the reference has no outputs")
    a_parts, b_parts = [], []
    for key, expected in ref.items():
        a = np.asarray(expected, dtype=np.float64)
        b = np.asarray(out[key], dtype=np.float64)
        if a.shape != b.shape:
            raise ValueError(f"output {key!r} has shape {b.shape}, the reference {a.shape}")
        a_parts.append(a.ravel())
        b_parts.append(b.ravel())
    a, b = np.concatenate(a_parts), np.concatenate(b_parts)
    max_abs = float(np.max(np.abs(a - b))) if a.size else 0.0
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norms == 0.0:
        cosine = 1.0 if not a.any() and not b.any() else 0.0
    else:
        cosine = float(np.dot(a, b) / norms)
    return {"max_abs": max_abs, "cosine": cosine}
