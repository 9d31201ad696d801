"""Studio checkpoints (safetensors + card.json), and the check on weight paths a learner types.

A studio checkpoint is a folder ``assets/checkpoints/<model_id>/`` holding

- ``model.safetensors``: the state dict (no pickle: loading never runs code);
- ``card.json``: what the model is and how it was made::

    {"model_id", "task", "architecture": {...builder config...}, "train_command",
     "data": {"generator", "seed", "split", ...}, "metrics": {...held-out...},
     "sha256": "<of model.safetensors>", "train_seconds", "device", "created"}

Loading verifies the sha256 recorded in the card, so a truncated or edited file is refused
with a message instead of producing a silently broken model.

Pretrained weights (public files the learner already has) are found by ``models.sources``; the
paths a learner types are checked here first (``typed_path``).
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from models import limits
from models.files import atomic_write, sha256_bytes, sha256_file

# torch and safetensors are imported where used: the UI imports this module at start-up and
# should not pay for torch before a model is needed.

REPO_ROOT = Path(__file__).resolve().parents[1]
# STUDIO_CHECKPOINT_DIR lets tests and experiments point at another folder of checkpoints.
CHECKPOINT_DIR = Path(os.environ.get("STUDIO_CHECKPOINT_DIR", REPO_ROOT / "assets" / "checkpoints"))
CARD_KEYS = ("model_id", "task", "architecture", "train_command", "data", "metrics", "sha256",
             "train_seconds", "device")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, incomplete or does not match its card."""


# ---------------------------------------------------------------------------- typed paths
MAX_PATH_CHARS = limits.MAX_PATH_CHARS
# Folders a path typed in a tab may point into. A public server must not open whatever a stranger
# names (/etc/passwd, /proc/...): weights live in the studio's folder, the user's home (caches,
# downloads), the temp folder (tests, scratch) and any folder named by a STUDIO_*_DIR variable
# or listed in STUDIO_PATH_ROOTS (os.pathsep-separated). Never gradio's upload folder, though.
PATH_ROOT_ENV = "STUDIO_PATH_ROOTS"


def upload_folder() -> Path:
    """Where gradio keeps what anyone uploads to this server (gradio.utils.get_upload_folder,
    without importing gradio). A stranger can put any file there, including a pickle that runs
    code when loaded (ultralytics' .pt files are pickles), so no weights are read from it."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").expanduser().resolve()


def allowed_path_roots() -> list[Path]:
    roots = [REPO_ROOT, Path.home(), Path(tempfile.gettempdir())]
    roots += [Path(v) for k, v in os.environ.items() if k.startswith("STUDIO_") and k.endswith("_DIR") and v]
    roots += [Path(v) for v in os.environ.get(PATH_ROOT_ENV, "").split(os.pathsep) if v]
    return [r.expanduser().resolve() for r in roots]


def typed_path(text: str | Path) -> Path:
    """A path a learner typed in a tab, checked before anything opens it: at most
    ``MAX_PATH_CHARS`` characters, no control characters, and (symlinks and ``..`` resolved)
    inside one of ``allowed_path_roots()``. CheckpointError with what to do otherwise."""
    raw = str(text).strip()
    if len(raw) > MAX_PATH_CHARS:
        raise CheckpointError(f"the path is {len(raw):,} characters long; the limit is {MAX_PATH_CHARS:,}")
    if any(ord(c) < 32 or ord(c) == 127 for c in raw):
        raise CheckpointError("the path contains control characters: type a plain file or folder path")
    path = Path(raw).expanduser()
    resolved = path.resolve()
    roots = allowed_path_roots()
    if not any(resolved == r or resolved.is_relative_to(r) for r in roots):
        raise CheckpointError(f"{raw} is outside the folders the studio reads weights from (the studio's "
                              f"folder, your home and temp folders, $STUDIO_*_DIR): move the weights there or "
                              f"add the folder to ${PATH_ROOT_ENV}")
    uploads = upload_folder()
    if resolved == uploads or resolved.is_relative_to(uploads):
        raise CheckpointError(f"{raw} is in this server's upload folder: weights are never loaded from files "
                              "uploaded to it (a weights file can carry code). Put them in the studio's folder "
                              f"or a $STUDIO_*_DIR on the machine")
    return resolved


def state_dict_sha256(model) -> str:
    """sha256 over a loaded model's state dict (names and raw bytes): the identity of weights
    that came from somewhere other than a studio checkpoint file."""
    import torch

    h = hashlib.sha256()
    for key, tensor in model.state_dict().items():
        h.update(key.encode())
        h.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().data)
    return h.hexdigest()


def checkpoint_dir(model_id: str, root: str | Path | None = None) -> Path:
    if not model_id or "/" in model_id or "\\" in model_id or model_id.startswith("."):
        raise CheckpointError(f"invalid model id {model_id!r}")
    return Path(root or CHECKPOINT_DIR) / model_id


def save_checkpoint(model: "torch.nn.Module | dict", card: dict, root: str | Path | None = None) -> Path:
    """Write model.safetensors and card.json (sha256 filled in) atomically; returns the folder."""
    from safetensors.torch import save
    missing = [k for k in CARD_KEYS if k not in card and k != "sha256"]
    if missing:
        raise CheckpointError(f"card is missing {missing}")
    folder = checkpoint_dir(card["model_id"], root)
    folder.mkdir(parents=True, exist_ok=True)
    state = model if isinstance(model, dict) else model.state_dict()
    # safetensors refuses shared/non-contiguous storage: store plain contiguous copies.
    state = {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}
    data = save(state, metadata={"model_id": card["model_id"]})
    atomic_write(folder / "model.safetensors", data)
    card = dict(card, sha256=sha256_bytes(data))
    card.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    atomic_write(folder / "card.json", json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    return folder


def read_card(model_id: str, root: str | Path | None = None) -> dict:
    path = checkpoint_dir(model_id, root) / "card.json"
    if not path.exists():
        raise CheckpointError(
            f"no studio checkpoint '{model_id}' at {path.parent}: run "
            f"`make checkpoints` (or the train_command of its card) to create it")
    return json.loads(path.read_text(encoding="utf-8"))


def card_facts(model_id: str, root: str | Path | None = None) -> dict:
    """A studio card's contents for a text that quotes its numbers (a Learn text reads them here
    rather than typing them); {} when the card is missing or unreadable: the tab that loads the
    model says why."""
    try:
        return read_card(model_id, root)
    except (CheckpointError, OSError, ValueError):
        return {}


def verified_weights(model_id: str, root: str | Path | None = None, verify: bool = True) -> tuple[Path, dict]:
    """(weights file, card) of a studio checkpoint; CheckpointError, naming the command that
    rebuilds it, when the file is missing or (with ``verify``) does not match the card's sha256."""
    card = read_card(model_id, root)
    weights = checkpoint_dir(model_id, root) / "model.safetensors"
    if not weights.exists():
        raise CheckpointError(f"{weights} is missing; re-run: {card.get('train_command')}")
    if verify:
        digest = sha256_file(weights)
        if digest != card.get("sha256"):
            raise CheckpointError(
                f"{weights} does not match its card (sha256 {digest[:12]}… ≠ {str(card.get('sha256'))[:12]}…): "
                f"the file is corrupted or was replaced; re-run: {card.get('train_command')}")
    return weights, card


def load_state_dict(model_id: str, root: str | Path | None = None,
                    verify: bool = True) -> tuple[dict[str, "torch.Tensor"], dict]:
    """Return (state_dict, card) for a studio checkpoint, verifying the card's sha256."""
    from safetensors.torch import load_file
    weights, card = verified_weights(model_id, root, verify)
    return load_file(str(weights)), card


def load_into(model, state: dict, card: dict) -> None:
    """Load a studio checkpoint's ``state`` into ``model`` (weights stored in fp16 are widened to the
    model's dtype); CheckpointError naming the command that rebuilds it when the two do not fit
    (the architecture's code or config changed since the checkpoint was trained)."""
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as exc:
        raise CheckpointError(f"{card.get('model_id', 'the checkpoint')} does not fit the architecture it is "
                              f"loaded into (its code or config changed?): re-run {card.get('train_command')}") from exc


def list_checkpoints(root: str | Path | None = None) -> list[str]:
    base = Path(root or CHECKPOINT_DIR)
    return sorted(p.parent.name for p in base.glob("*/card.json"))


