"""Make ultralytics work offline, before it is first imported.

ultralytics reaches for the network (a font, settings sync, onnxslim, asset downloads) unless
told otherwise, and its first import writes a settings file in the home folder. ``prepare()``
sets ``YOLO_OFFLINE`` and a project-local ``YOLO_CONFIG_DIR`` holding the font it wants (a TTF
matplotlib ships), then imports it with settings sync off. Import ultralytics only through
``ultralytics_module()``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = Path(os.environ.get("STUDIO_YOLO_CONFIG_DIR", REPO_ROOT / ".cache" / "ultralytics"))
FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")


def prepare() -> Path:
    """Environment + font for an offline ultralytics; idempotent. Returns the config folder."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(CONFIG_DIR))
    folder = Path(os.environ["YOLO_CONFIG_DIR"]) / "Ultralytics"
    folder.mkdir(parents=True, exist_ok=True)
    import matplotlib
    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in FONT_NAMES:
        if not (folder / name).is_file():
            shutil.copyfile(source, folder / name)
    return folder


def ultralytics_module():
    """``import ultralytics`` after ``prepare()``, with settings sync switched off."""
    prepare()
    import torch
    threads = torch.get_num_threads()
    import ultralytics
    from ultralytics.utils import SETTINGS
    # ultralytics sets torch to (cores - 1) threads on import; the studio chose its own (--threads)
    torch.set_num_threads(threads)
    if SETTINGS.get("sync", False):
        SETTINGS.update({"sync": False})
    _give_pillow_its_open_back()
    return ultralytics


def _give_pillow_its_open_back() -> None:
    """ultralytics replaces ``PIL.Image.open`` for the whole process on import: when Pillow cannot
    identify a file, its version tries to pip-install pi-heif (online) or raises
    ModuleNotFoundError (offline), so every tab's "this file is not a picture" message turned into
    an internal error once YOLO had loaded. The studio reads pictures with Pillow's own function."""
    from PIL import Image
    from ultralytics.utils import patches
    original = getattr(patches, "_image_open", None)
    if original is not None and Image.open is getattr(patches, "image_open", None):
        Image.open = original
