"""The SAM tab's public API through gradio_client: a prompt as JSON text in, the masks' status
out; a bad prompt is a clear message and the tab keeps serving."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def client(studio_url):
    from gradio_client import Client
    return Client(studio_url, verbose=False)


@pytest.fixture(scope="module")
def scene_file(tmp_path_factory):
    from PIL import Image

    from models.examples import example_scene
    scene = example_scene(3)
    path = tmp_path_factory.mktemp("sam") / "scene.png"
    Image.fromarray(scene.image).save(path)
    return scene, str(path)


def test_segment_by_api_then_bad_prompts(client, scene_file):
    from gradio_client import handle_file

    from models.sam.prompts import centre_points
    scene, path = scene_file
    x, y = (float(v) for v in centre_points(scene.masks[:1])[0])
    prompt = json.dumps({"points": [[x, y, 1]], "box": None})
    out = client.predict(handle_file(path), prompt, "studio", "", "onnxruntime", api_name="/sam_segment")
    status = out[3]
    assert "Decoder" in status and "ONNX Runtime" in status
    area = int(status.split("mask covers ")[1].split(" px")[0].replace(",", ""))
    assert 0.7 < area / scene.masks[0].sum() < 1.3

    for bad, message in (('{"points": [[1, 2]]}', "must look like"),
                         ("not json", "must look like"),
                         ('{"points": [[999, 5, 1]], "box": null}', "outside"),
                         ('{"points": [], "box": [1, 2, "x", 4]}', "must look like")):
        with pytest.raises(Exception) as excinfo:
            client.predict(handle_file(path), bad, "studio", "", "eager", api_name="/sam_segment")
        assert message in str(excinfo.value) and "Traceback" not in str(excinfo.value)
    with pytest.raises(Exception) as excinfo:
        client.predict(handle_file(path), prompt, "vit_h", "", "eager", api_name="/sam_segment")
    assert "STUDIO_SAM_DIR" in str(excinfo.value)
    out = client.predict(handle_file(path), json.dumps({"points": [], "box": [float(v) for v in scene.boxes[0]]}),
                         "studio", "", "eager", api_name="/sam_segment")
    assert "single output" in out[3]
