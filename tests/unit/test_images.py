"""Whatever a user uploads becomes clean RGB uint8, or a BadImage with a useful message."""
import numpy as np
import pytest
from PIL import Image

from models.images import MAX_IMAGE_SIDE, BadImage, load_image


@pytest.mark.parametrize("arr", [
    np.zeros((32, 32), np.uint8),                       # greyscale
    np.zeros((32, 32, 1), np.uint8),
    np.zeros((32, 32, 4), np.uint8),                    # RGBA
    (np.ones((32, 32, 3)) * 0.5).astype(np.float32),    # float in [0, 1]
    np.full((32, 32, 3), 60000, np.uint16),             # 16-bit
])
def test_arrays_become_rgb_uint8(arr):
    out = load_image(arr)
    assert out.dtype == np.uint8 and out.shape == (32, 32, 3)


def test_alpha_is_composited_on_white():
    rgba = np.zeros((16, 16, 4), np.uint8)             # fully transparent black
    assert (load_image(rgba) == 255).all()


@pytest.mark.parametrize("bad, msg", [
    (None, "No image yet"),
    (np.zeros((4, 4, 3), np.uint8), "at least"),
    (np.zeros((10, MAX_IMAGE_SIDE + 1, 3), np.uint8), "limit"),
    (np.full((16, 16, 3), np.nan, np.float32), "NaN"),
    (np.zeros((16, 16, 5), np.uint8), "shape"),
    ("not-a-file.png", "not found"),
])
def test_bad_inputs_are_clear(bad, msg):
    with pytest.raises(BadImage, match=msg):
        load_image(bad)


def test_text_file_and_truncated_jpeg(tmp_path):
    txt = tmp_path / "a.png"
    txt.write_text("hello")
    with pytest.raises(BadImage, match="not an image"):
        load_image(txt)
    jpg = tmp_path / "b.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(jpg)
    jpg.write_bytes(jpg.read_bytes()[:300])
    with pytest.raises(BadImage, match="not an image"):
        load_image(jpg)
