"""Inside a studio checkpoint: its card's training history as chart rows, a short summary, and a
sha256 check of its weights (the Training lab's last section)."""
from __future__ import annotations

import pandas as pd

from models.checkpoints import list_checkpoints, read_card, verified_weights

_SKIP = {"epoch", "seconds", "lr", "val_ppl", "logit_scale"}   # the x axis, wall time, the schedule, other scales


def studio_checkpoints() -> list[str]:
    return list_checkpoints()


def history_frames(card: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(losses, other metrics) per epoch from ``card["training"]["history"]``, long form
    (epoch, value, metric); empty frames when the card keeps no per-epoch history."""
    rows_loss, rows_metric = [], []
    for row in (card.get("training") or {}).get("history") or []:
        for key, value in row.items():
            if key in _SKIP or key.startswith("neg_") or not isinstance(value, (int, float)):
                continue
            target = rows_loss if ("loss" in key or "mse" in key) else rows_metric
            target.append((row.get("epoch"), float(value), key))
    columns = ["epoch", "value", "metric"]
    return pd.DataFrame(rows_loss, columns=columns), pd.DataFrame(rows_metric, columns=columns)


def card_summary(model_id: str, root=None) -> tuple[dict, str]:
    """(card, markdown: what made it, on which data, how long, its sha256)."""
    card = read_card(model_id, root)
    data = card.get("data") or {}
    seconds = card.get("train_seconds") or (card.get("training") or {}).get("wall_seconds")
    lines = [f"**{model_id}** · {card.get('task', '')}",
             f"- train command: `{card.get('train_command', '?')}`",
             f"- data: seed {data.get('seed', '—')}, " + ", ".join(f"{k} {data[k]:,}" for k in ("train", "val", "heldout")
                                                             if isinstance(data.get(k), int)),
             f"- training wall time: {seconds / 60:.1f} min on {card.get('device', '?')}" if seconds else "- training wall time: —",
             f"- sha256 of model.safetensors: `{card.get('sha256', '?')}`"]
    if not (card.get("training") or {}).get("history"):
        lines.append("- this card keeps no per-epoch history (its trainer keeps its own logs)")
    return card, "\n".join(lines)


def verify(model_id: str, root=None) -> str:
    """"sha256 matches the card", or a CheckpointError naming the command that rebuilds it."""
    weights, card = verified_weights(model_id, root)
    return f"✅ {weights.name}: sha256 {card['sha256'][:16]}… matches the card"
