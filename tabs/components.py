"""Components that refuse bad input with a clear message instead of an internal error.

The frontend is the stock one (``get_block_name``); only the server-side ``preprocess`` differs.
"""
from __future__ import annotations

import math
from pathlib import Path

import gradio as gr


class SafeImage(gr.Image):
    """gr.Image whose upload decoding failures become a clear message instead of a PIL error.

    A file named .png that is not one (or a truncated JPEG) passes the browser's type check and
    fails inside gr.Image.preprocess; we catch it there. The frontend is the stock image widget.
    """

    def get_block_name(self) -> str:
        return "image"

    def preprocess(self, payload):
        from models.images import MAX_UPLOAD_BYTES
        path = getattr(payload, "path", None)
        if path and Path(path).is_file() and Path(path).stat().st_size > MAX_UPLOAD_BYTES:
            raise gr.Error(f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MB: upload a smaller image.",
                           print_exception=False)
        try:
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Exception as e:  # noqa: BLE001 — PIL raises many types for a bad file
            name = getattr(payload, "orig_name", None) or "The file"
            raise gr.Error(f"{name} is not an image we can read ({type(e).__name__}): upload a PNG, JPEG, "
                           "WebP or BMP picture.", print_exception=False) from None


class SafeNumber(gr.Number):
    """gr.Number that refuses NaN and infinity with a clear message. A script can send them as
    JSON; the stock component fails inside its own rounding with a long internal message."""

    def get_block_name(self) -> str:
        return "number"

    def preprocess(self, payload):
        if isinstance(payload, float) and not math.isfinite(payload):
            kind = "whole number" if self.precision == 0 else "number"
            raise gr.Error(f"{payload} is not a number this field takes: send a finite {kind} between "
                           f"{self.minimum} and {self.maximum}.", print_exception=False)
        return super().preprocess(payload)
