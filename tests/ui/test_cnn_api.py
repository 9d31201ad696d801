"""The CNN tab's public API through gradio_client, as a script or a stranger would call it:
bad inputs get a clear message (no traceback text) and the next normal request still works."""
from __future__ import annotations

import pytest
from PIL import Image

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def client(studio_url):
    from gradio_client import Client
    return Client(studio_url, verbose=False)


@pytest.fixture(scope="module")
def star(tmp_path_factory):
    from models.shapeworld import render_prompted
    path = tmp_path_factory.mktemp("img") / "star.png"
    Image.fromarray(render_prompted("star", "purple", seed=9, image_size=128)).save(path)
    return str(path)


def _classify(client, image, runtime="eager", source="studio"):
    from gradio_client import handle_file
    return client.predict(handle_file(image) if image else None, source, "", runtime, "layer1.0.conv1",
                          api_name="/cnn_classify")


def _message(excinfo) -> str:
    return str(excinfo.value)


def test_classify_answers_with_top5_and_feature_maps(client, star):
    label, view, status, grid, rf_view, info = _classify(client, star)
    assert label["label"] == "star"
    assert len(label["confidences"]) == 5
    assert "Ran on PyTorch" in status and "receptive field" in info


@pytest.mark.parametrize("make, expected", [
    (lambda p: Image.new("RGB", (4, 4)).save(p), "at least 8 px"),
    (lambda p: p.write_text("not a picture"), "not an image we can read"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20), "not an image we can read"),
])
def test_bad_images_get_clear_messages(client, star, tmp_path, make, expected):
    from gradio_client.exceptions import AppError
    bad = tmp_path / "bad.png"
    make(bad)
    with pytest.raises(AppError) as excinfo:
        _classify(client, str(bad))
    assert expected in _message(excinfo) and "Traceback" not in _message(excinfo)
    assert _classify(client, star)[0]["label"] == "star"       # still serving


def test_unknown_runtime_and_missing_image(client, star):
    from gradio_client.exceptions import AppError
    with pytest.raises(AppError) as excinfo:
        _classify(client, star, runtime="tpu")
    assert "tpu" in _message(excinfo)
    from gradio_client import handle_file  # noqa: F401
    with pytest.raises(AppError) as excinfo:
        client.predict(None, "studio", "", ["Grad-CAM"], "", api_name="/cnn_explain")
    assert "No image yet" in _message(excinfo)
    with pytest.raises(AppError) as excinfo:
        _classify(client, star, runtime="tensorrt")
    assert "tensorrt" in _message(excinfo).lower() and "Traceback" not in _message(excinfo)
    assert _classify(client, star)[0]["label"] == "star"


def test_compare_runtimes_api(client, star):
    from gradio_client import handle_file
    table, verdict = client.predict(handle_file(star), "studio", "", "eager", "onnxruntime", 5,
                                    api_name="/cnn_compare_runtimes")
    assert "top1_agreement: 1.000" in verdict
    assert "ONNX Runtime" in str(table)
