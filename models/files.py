"""Writing files so that a reader never sees half of one, and naming their content by sha256.

Every file the studio writes that another thread, process or user may read while it is written
(checkpoints and their cards, ONNX files and engines, ShapeWorld caches, training states, gradio's
output pictures) goes through ``atomic_writer``: the bytes go to a temporary file in the same
folder, are flushed to disk, and the temporary file is renamed over the target in one step.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

CHUNK = 1 << 20


@contextlib.contextmanager
def atomic_writer(path: str | Path, mode: str = "wb", durable: bool = True) -> Iterator[IO]:
    """A file object to write ``path`` with; on leaving the block it replaces ``path`` whole
    (readers see the old file or the new one). On an error nothing is left behind.
    ``mode``: "wb" or "w" (UTF-8 text). ``durable``: on disk before the rename (fsync), so that a
    power cut cannot leave an empty file under the name; a cache that is rebuilt anyway can skip it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.chmod(tmp, 0o644)   # mkstemp makes 0600 files; these are meant to be read by everyone
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, data: bytes | str, durable: bool = True) -> None:
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` atomically (``atomic_writer``)."""
    with atomic_writer(path, "wb" if isinstance(data, bytes) else "w", durable) as f:
        f.write(data)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """sha256 hex of a file's content, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()
