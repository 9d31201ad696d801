"""Values from the UI that must not reach the file system or the models as they are: typed paths
(confined to the studio's folders, bounded, no control characters) and non-finite numbers."""
from __future__ import annotations

import math
import os
from pathlib import Path

import gradio as gr
import pytest

from models.checkpoints import MAX_PATH_CHARS, CheckpointError, typed_path
from tabs.errors import user_errors


def test_typed_path_accepts_the_studio_home_and_temp_folders(tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    assert typed_path(str(weights)) == weights.resolve()
    assert typed_path(f"  {weights}  ") == weights.resolve()          # stray spaces from a paste
    assert typed_path("assets/checkpoints").name == "checkpoints"
    assert typed_path("~").resolve() == Path.home().resolve()


@pytest.mark.parametrize("text, words", [
    ("/etc/passwd", "outside the folders"),
    ("../../../../../../etc/shadow", "outside the folders"),
    ("/proc/self/environ", "outside the folders"),
    ("x" * (MAX_PATH_CHARS + 1), "characters long"),
    ("weights\x00.pt", "control characters"),
    ("a\x1b[31mred", "control characters"),
])
def test_typed_path_refuses_what_a_stranger_might_type(text, words):
    with pytest.raises(CheckpointError, match=words):
        typed_path(text)


def test_a_symlink_out_of_an_allowed_folder_is_refused(tmp_path):
    link = tmp_path / "etc"
    link.symlink_to("/etc")
    with pytest.raises(CheckpointError, match="outside"):
        typed_path(str(link / "passwd"))


def test_no_weights_are_read_from_the_upload_folder(tmp_path, monkeypatch):
    """Anyone can upload any file to a gradio server (it lands in the upload folder, inside the
    temp folder), then type its path in a weights box. ultralytics' .pt files are pickles: a
    planted one would run code when YOLO loads it. It is refused before anything opens it."""
    import pickle

    from models.yolo.predictor import YoloPredictor
    uploads = tmp_path / "gradio"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    planted = uploads / "0123abcd" / "yolo11n.pt"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(CheckpointError, match="upload folder"):
        typed_path(str(planted))
    with pytest.raises(CheckpointError, match="upload folder"):
        YoloPredictor("yolo11n", weights_path=str(planted))
    assert not marker.exists()
    elsewhere = tmp_path / "weights.pt"          # the same temp folder outside uploads stays allowed
    elsewhere.write_bytes(b"x")
    assert typed_path(str(elsewhere)) == elsewhere.resolve()


def test_studio_path_roots_adds_a_folder(monkeypatch):
    with pytest.raises(CheckpointError):
        typed_path("/usr/share")
    monkeypatch.setenv("STUDIO_PATH_ROOTS", os.pathsep.join(["/nowhere", "/usr/share"]))
    assert typed_path("/usr/share/doc") == Path("/usr/share/doc").resolve()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_callbacks_refuse_non_finite_numbers(bad):
    calls = []

    @user_errors
    def callback(steps, guidance=1.0):
        calls.append(steps)
        return "ran"

    @user_errors
    def streaming(steps):
        yield "ran"

    for call in (lambda: callback(10, guidance=bad), lambda: callback(bad), lambda: list(streaming(bad))):
        with pytest.raises(gr.Error, match="finite"):
            call()
    assert calls == [] and callback(10) == "ran"


# ------------------------------------------------------------------------------ cached artifacts
@pytest.mark.parametrize("damage", ["truncate", "edit", "no record"])
def test_a_damaged_cached_onnx_file_is_rebuilt_not_used(tmp_path, monkeypatch, damage):
    """Cached artifacts are checked against the sha256 recorded when they were written."""
    import sys

    import numpy as np

    from models.backends import create_backend
    from models.backends.base import artifact_intact, hash_record
    sys.path.insert(0, str(Path(__file__).parent))
    import tinybench

    exports = tinybench.count_exports(monkeypatch)
    graph, x = tinybench.tiny_graph(), tinybench.image(2)
    first = create_backend("onnxruntime", graph, cache_dir=tmp_path)
    path = first.onnx_path
    assert artifact_intact(path) and hash_record(path).is_file()
    reused = create_backend("onnxruntime", graph, cache_dir=tmp_path)
    assert len(exports) == 1 and reused.onnx_path == path            # intact: reused
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "edit":                                             # same size, one byte changed
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    else:
        hash_record(path).unlink()
    assert not artifact_intact(path)
    messages = []
    again = create_backend("onnxruntime", graph, cache_dir=tmp_path, progress=lambda f, m: messages.append(m))
    assert len(exports) == 2 and artifact_intact(path)                 # exported again, recorded again
    assert any("sha256" in m for m in messages)
    np.testing.assert_allclose(again(image=x)["logits"], first(image=x)["logits"], atol=1e-6)
