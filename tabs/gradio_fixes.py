"""Fixes for gradio behaviour that breaks a busy public studio; each says what it fixes and why.

Applied once by app.build_demo, before any request is served.
"""
from __future__ import annotations

import os
from pathlib import Path

from models.files import atomic_write


def _write_once(path: Path, data: bytes) -> None:
    """Write ``data`` to the content-addressed ``path`` unless it is already there.

    gradio 6.31 names an output picture after the hash of its bytes and then rewrites that file
    in place on every request (``Path.write_bytes``). Two users who get the same picture (same
    input, same model: common on a public Space) race: the server streams the file to one while
    the other truncates and refills it, and the download ends with "Too little data for declared
    Content-Length", a closed connection on the client (3 of 1,040 requests in our 16-user load
    test). The name is the hash of the content, so an existing file already holds these bytes:
    touch it (gradio's cache cleaner ages files by ctime) and leave it. A new file is written
    under a temporary name and renamed into place, so nobody ever reads a half-written one.
    gradio's own save_file_to_cache already works this way; the two functions below did not.
    """
    if path.exists():
        try:
            os.utime(path)
        except OSError:
            pass
        return
    atomic_write(path, data, durable=False)   # a cache: atomic is what matters, not durable


def atomic_output_cache() -> None:
    """Make gradio's in-place cache writers (pictures, bytes) write once and atomically."""
    from gradio import processing_utils as pu
    if getattr(pu.save_pil_to_cache, "studio_atomic", False):
        return

    def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
        data = pu.encode_pil_to_bytes(img, format)
        folder = Path(cache_dir) / pu.hash_bytes(data)
        folder.mkdir(exist_ok=True, parents=True)
        path = (folder / f"{name}.{format}").resolve()
        _write_once(path, data)
        return str(path)

    def save_bytes_to_cache(data: bytes, file_name: str, cache_dir: str) -> str:
        folder = Path(cache_dir) / pu.hash_bytes(data)
        folder.mkdir(exist_ok=True, parents=True)
        if not Path(file_name).suffix:
            file_name = file_name + pu.detect_audio_format(data)
        path = (folder / Path(file_name).name).resolve()
        _write_once(path, data)
        return str(path)

    save_pil_to_cache.studio_atomic = True
    # save_img_array_to_cache and every component look these up on the module at call time.
    pu.save_pil_to_cache = save_pil_to_cache
    pu.save_bytes_to_cache = save_bytes_to_cache
