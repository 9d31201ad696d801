"""How closely two runtimes agree on the same input: every measure the studio uses, in one place.

``compare_outputs`` is Polygraphy's raw comparison (max |Δ|, cosine) over all outputs; the rest
are the *task* measures a learner cares about, each ``(reference outputs, outputs) -> (name,
value)`` as a ``models.bench.BenchSpec.task_metric`` takes them, or the plain function that
computes them on arrays (boxes, masks) for a predictor's own use. Numpy only.
"""
from __future__ import annotations

import numpy as np

Outputs = dict[str, np.ndarray]
MATCH_IOU = 0.9          # a detection box "matches" the reference's at this IoU (and the same class)


def compare_outputs(ref: Outputs, out: Outputs) -> dict:
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


# ---------------------------------------------------------------------------- task measures
def top1_agreement(ref: Outputs, out: Outputs) -> tuple[str, float]:
    """Share of samples whose most likely class (argmax of ``logits``) is the same."""
    return "top1_agreement", float(np.mean(ref["logits"].argmax(-1) == out["logits"].argmax(-1)))


def first_divergence(ref: Outputs, out: Outputs) -> tuple[str, float]:
    """Index of the first generation step whose greedy token (argmax of that step's ``logits``)
    differs; the number of steps when none does."""
    a, b = ref["logits"].argmax(-1), out["logits"].argmax(-1)
    n = min(len(a), len(b))
    differ = np.flatnonzero(a[:n] != b[:n])
    return "first_diverging_token", float(differ[0] if differ.size else n)


def output_cosine(ref: Outputs, out: Outputs) -> tuple[str, float]:
    """The task measure of a bare graph: the lowest cosine similarity over its outputs."""
    return "min_output_cosine", min(compare_outputs({k: ref[k]}, {k: out[k]})["cosine"] for k in ref)


def attention_max_abs(ref: Outputs, out: Outputs) -> dict[str, float]:
    """Max |Δ| of the ``attentions`` output alone (a BenchSpec.output_metrics): the all-outputs
    max |Δ| would mix the maps with the logits."""
    diff = np.abs(ref["attentions"].astype(np.float64) - out["attentions"].astype(np.float64))
    return {"attn_max_abs": float(diff.max())}


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Mean IoU over the leading axes of two (..., H, W) bool stacks (empty vs empty = 1)."""
    a, b = a.reshape(-1, *a.shape[-2:]), b.reshape(-1, *b.shape[-2:])
    inter = (a & b).sum((1, 2))
    union = (a | b).sum((1, 2))
    return float(np.mean(np.where(union > 0, inter / np.maximum(union, 1), 1.0)))


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) x (M, 4) xyxy -> (N, M) IoU."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)


def matched_fraction(ref_boxes, ref_classes, boxes, classes, iou: float = MATCH_IOU) -> float:
    """Share of the reference boxes with a same-class box at IoU >= ``iou`` (1.0 when both are empty)."""
    if len(ref_boxes) == 0:
        return 1.0 if len(boxes) == 0 else 0.0
    if len(boxes) == 0:
        return 0.0
    ious = box_iou(ref_boxes, boxes) * (ref_classes[:, None] == classes[None, :])
    return float((ious.max(axis=1) >= iou).mean())


def box_match(ref: Outputs, out: Outputs) -> tuple[str, float]:
    """``matched_fraction`` of detections padded to a fixed count (class -1 = no box)."""
    keep_r, keep_o = ref["classes"] >= 0, out["classes"] >= 0
    return "box_match", matched_fraction(ref["boxes"][keep_r], ref["classes"][keep_r],
                                         out["boxes"][keep_o], out["classes"][keep_o])
