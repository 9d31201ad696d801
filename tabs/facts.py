"""Numbers the tabs' texts quote about the studio models, read from their cards (never typed):
a retrained model brings its own. A missing card reads as "—" (the tab that loads it says why)."""
from __future__ import annotations

from models.checkpoints import card_facts

MISSING = "—"


def metric(model_id: str, *keys: str):
    """A card value by its path (``metric("sam-shapeworld", "metrics", "heldout_miou_point")``), or None."""
    value = card_facts(model_id)
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def pct(model_id: str, *keys: str, digits: int = 1) -> str:
    """A card metric (a fraction) as a percentage: "77.5 %"; several keys walk into a nested
    metric (``pct("diffusion-shapeworld", "reference", "shape_accuracy")``)."""
    value = metric(model_id, "metrics", *keys)
    return MISSING if value is None else f"{100 * value:.{digits}f} %"


def num(model_id: str, *keys: str, spec: str = "g") -> str:
    value = metric(model_id, *keys)
    return MISSING if value is None else format(value, spec)


def minutes(model_id: str) -> str:
    """The card's training wall time, in whole minutes."""
    seconds = metric(model_id, "train_seconds")
    return MISSING if seconds is None else f"{seconds / 60:.0f}"
