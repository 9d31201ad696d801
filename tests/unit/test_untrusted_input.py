"""Values from the UI that must not reach the file system or the models as they are: typed paths
(confined to the studio's folders, bounded, no control characters) and non-finite numbers."""
from __future__ import annotations

import math
import os
from pathlib import Path

import gradio as gr
import pytest

from models.checkpoints import MAX_PATH_CHARS, CheckpointError, typed_path
from tabs.common import user_errors


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
