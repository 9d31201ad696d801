"""Turning whatever a user hands us into a clean RGB uint8 array, or a clear error.

Limits are explicit constants so the UI can show them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_IMAGE_SIDE = 4096          # px; larger uploads are refused (a model sees ≤ 224 px anyway)
MIN_IMAGE_SIDE = 8             # px; smaller is not a picture of anything
MAX_UPLOAD_BYTES = 20 * 2**20  # 20 MB


class BadImage(ValueError):
    """The input is not an image we can use; the message says what to do instead."""


def load_image(value) -> np.ndarray:
    """Return (H, W, 3) uint8 RGB from a numpy array, PIL image, or file path.

    Greyscale is repeated to 3 channels, an alpha channel is composited on white, 16-bit and
    float images are rescaled. Raises BadImage with an actionable message otherwise.
    """
    if value is None:
        raise BadImage("No image yet: pick an example, press “Random shape”, upload a PNG/JPEG, or draw one.")
    if isinstance(value, (str, Path)):
        value = _open(Path(value))
    if isinstance(value, Image.Image):
        value = _pil_to_array(value)
    if not isinstance(value, np.ndarray):
        raise BadImage(f"Expected an image, got {type(value).__name__}.")
    return _array_to_rgb(value)


def _open(path: Path) -> Image.Image:
    if not path.is_file():
        raise BadImage(f"Image file {path.name} was not found.")
    if path.stat().st_size > MAX_UPLOAD_BYTES:
        raise BadImage(f"{path.name} is larger than {MAX_UPLOAD_BYTES // 2**20} MB: use a smaller image.")
    try:
        img = Image.open(path)
        _check_size(img.width, img.height)   # before decoding: refuse pixel bombs cheaply
        img.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise BadImage(f"{path.name} is not an image we can read ({type(e).__name__}): "
                       f"upload a PNG, JPEG, WebP or BMP file.") from None
    return img


def _pil_to_array(img: Image.Image) -> np.ndarray:
    _check_size(img.width, img.height)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        bg = Image.new("RGB", img.size, (255, 255, 255))
        bg.paste(img.convert("RGBA"), mask=img.convert("RGBA").split()[-1])
        return np.asarray(bg)
    if img.mode in ("I;16", "I;16B", "I", "F"):
        return np.asarray(img).astype(np.float32)   # rescaled below
    return np.asarray(img.convert("RGB"))


def _check_size(w: int, h: int) -> None:
    if max(w, h) > MAX_IMAGE_SIDE:
        raise BadImage(f"The image is {w}×{h} px; the limit is {MAX_IMAGE_SIDE} px per side. Resize it first.")
    if min(w, h) < MIN_IMAGE_SIDE:
        raise BadImage(f"The image is {w}×{h} px; at least {MIN_IMAGE_SIDE} px per side is needed.")


def _array_to_rgb(a: np.ndarray) -> np.ndarray:
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise BadImage(f"Expected an H×W, H×W×3 or H×W×4 image, got shape {a.shape}.")
    _check_size(a.shape[1], a.shape[0])
    if a.dtype != np.uint8:
        a = a.astype(np.float32)
        if not np.isfinite(a).all():
            raise BadImage("The image contains NaN or infinite values.")
        hi = a.max() if a.size else 1.0
        scale = 255.0 if hi <= 1.0 else (255.0 / 65535.0 if hi > 255 else 1.0)
        a = np.clip(a * scale, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.shape[2] == 4:
        alpha = a[..., 3:4].astype(np.float32) / 255.0
        a = (a[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(a)
