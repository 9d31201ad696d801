"""YOLO: offline ultralytics set-up (no socket opened on import, build, predict, export), the
committed checkpoint's held-out mAP re-measured, eager vs ONNX Runtime box parity, the quick
training run, box matching, and TensorRT reporting itself unavailable here."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from models.checkpoints import load_state_dict
from models.shapeworld import export_yolo, make_scene, make_scenes
from models.agreement import box_iou, matched_fraction

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    from models.yolo.predictor import YoloPredictor
    return YoloPredictor("studio", cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def held_out_yaml(tmp_path_factory):
    _, card = load_state_dict("yolo-shapeworld")
    d = card["data"]
    held = make_scenes(d["heldout"], d["seed"], "heldout", d["image_size"])
    folder = tmp_path_factory.mktemp("yolo-data")
    return export_yolo({"train": held[:1], "val": held[:1], "heldout": held}, folder), card


def test_box_matching():
    a = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32)
    assert box_iou(a, a).diagonal().tolist() == [1.0, 1.0]
    assert box_iou(a[:1], np.array([[5, 0, 15, 10]], np.float32))[0, 0] == pytest.approx(50 / 150)
    assert matched_fraction(a, np.array([1, 2]), a, np.array([1, 2])) == 1.0
    assert matched_fraction(a, np.array([1, 2]), a, np.array([1, 3])) == 0.5      # wrong class
    assert matched_fraction(a, np.array([1, 2]), a + 3, np.array([1, 2])) == 0.0  # IoU < 0.9
    assert matched_fraction(a[:0], np.array([]), a[:0], np.array([])) == 1.0


def test_no_socket_is_opened_on_import_train_predict_and_export(tmp_path):
    """Run the whole path (a --quick training run, then predict on eager and on the exported ONNX
    model) in a fresh interpreter whose sockets refuse to connect, and count the tries."""
    script = textwrap.dedent(f"""
        import json, socket, sys
        sys.path.insert(0, {str(ROOT)!r})
        tries = []
        def refuse(*args, **kwargs):
            tries.append(repr(args)[:80])
            raise OSError("network blocked by the test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from training_scripts import train_yolo
        train_yolo.main(["--quick", "--work-dir", {str(tmp_path / "work")!r}, "--out", {str(tmp_path / "ckpt")!r}])
        from models.yolo.predictor import YoloPredictor
        from models.shapeworld import make_scene
        p = YoloPredictor("studio", cache_dir={str(tmp_path)!r})
        image = make_scene(0, 0, "heldout", 256).image
        a = p.detect(image, "eager")
        b = p.detect(image, "onnxruntime")
        print(json.dumps({{"tries": tries, "eager": len(a.boxes), "onnx": len(b.boxes)}}))
    """)
    env = dict(os.environ, YOLO_CONFIG_DIR=str(tmp_path / "cfg"), HOME=str(tmp_path / "home"))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["tries"] == []
    assert result["eager"] >= 1 and result["onnx"] == result["eager"]
    assert (tmp_path / "cfg" / "Ultralytics" / "Arial.ttf").is_file()
    assert not (tmp_path / "home" / ".config" / "Ultralytics").exists()   # nothing written in $HOME


def test_committed_checkpoint_keeps_its_held_out_map(predictor, held_out_yaml):
    yaml, card = held_out_yaml
    assert card["train_command"] == "python training_scripts/train_yolo.py"
    m = predictor.evaluate(yaml, "eager")
    print(f"held-out re-measured: mAP50 {m['map50']:.4f} (card {card['metrics']['heldout_map50']:.4f}), "
          f"mAP50-95 {m['map50_95']:.4f} (card {card['metrics']['heldout_map50_95']:.4f})")
    assert m["map50"] >= 0.95 and m["map50_95"] >= 0.75
    assert abs(m["map50_95"] - card["metrics"]["heldout_map50_95"]) <= 0.01


def test_eager_and_onnxruntime_find_the_same_boxes(predictor):
    for i in range(3):
        image = make_scene(1, i, "heldout", 256).image
        a, b = predictor.detect(image, "eager"), predictor.detect(image, "onnxruntime")
        assert len(a.boxes) >= 1
        assert matched_fraction(a.boxes, a.classes, b.boxes, b.classes) == 1.0
        assert matched_fraction(b.boxes, b.classes, a.boxes, a.classes) == 1.0
        np.testing.assert_allclose(np.sort(a.scores), np.sort(b.scores), atol=1e-3)


def test_nms_keeps_a_subset_of_the_candidates(predictor):
    image = make_scene(2, 0, "heldout", 256).image
    before = predictor.candidates(image, conf=0.05)
    after = predictor.detect(image, conf=0.05, iou=0.5)
    assert len(before.boxes) > len(after.boxes) >= 1
    assert matched_fraction(after.boxes, after.classes, before.boxes, before.classes, iou=0.999) == 1.0
    stricter = predictor.detect(image, conf=0.9)
    assert len(stricter.boxes) <= len(predictor.detect(image, conf=0.25).boxes)
    with pytest.raises(ValueError, match="confidence"):
        predictor.detect(image, conf=1.5)


def test_the_first_example_keeps_two_classes_on_one_object_as_the_intro_says(predictor):
    """NMS runs class by class: on the tab's first example (defaults conf 0.25, IoU 0.7) one
    shape keeps boxes of two classes, the case the YOLO intro points learners at."""
    from models.examples import detection_examples
    found = predictor.detect(detection_examples()[0])
    pairs = found.cross_class_overlaps(0.7)
    assert pairs and all(found.classes[i] != found.classes[j] and iou > 0.7 for i, j, iou in pairs), found.rows()
    i, j, iou = pairs[0]
    assert iou == pytest.approx(box_iou(found.boxes[i:i + 1], found.boxes[j:j + 1])[0, 0])


def test_tensorrt_reports_itself_unavailable(predictor):
    from models.backends import BackendUnavailable
    with pytest.raises(BackendUnavailable, match="tensorrt|TensorRT"):
        predictor.backend("detector", "tensorrt")


def test_missing_pretrained_weights_say_what_to_do(monkeypatch, tmp_path):
    from models.checkpoints import CheckpointError
    from models.yolo.predictor import YoloPredictor
    monkeypatch.setenv("STUDIO_YOLO_DIR", str(tmp_path))
    with pytest.raises(CheckpointError, match=r"yolo11n.pt.*STUDIO_YOLO_DIR"):
        YoloPredictor("yolo11n")


def test_quick_training_writes_a_loadable_card(tmp_path):
    from training_scripts import train_yolo
    out = train_yolo.main(["--quick", "--work-dir", str(tmp_path / "work"), "--out", str(tmp_path / "ckpt")])
    card = json.loads((out["checkpoint_dir"] / "card.json").read_text())
    assert card["architecture"]["ultralytics_yaml"] == "yolov8n.yaml" and card["architecture"]["nc"] == 8
    assert {"heldout_map50", "heldout_map50_95", "val_map50", "val_map50_95"} <= set(card["metrics"])
    from models.yolo.predictor import YoloPredictor
    p = YoloPredictor("studio", checkpoint_root=tmp_path / "ckpt", cache_dir=tmp_path / "cache")
    assert p.names[3] == "star"
    p.detect(make_scene(0, 0, "val", 256).image, conf=0.05)


def test_importing_ultralytics_leaves_pillow_reading_pictures_as_before(tmp_path):
    """ultralytics patches PIL.Image.open process-wide; after the studio imports it, a file that
    is not a picture must still give the studio's BadImage message (it gave ModuleNotFoundError:
    pi_heif, and online it would have pip-installed a package inside the server)."""
    from PIL import Image

    from models.images import BadImage, load_image
    from models.yolo.offline import ultralytics_module
    ultralytics_module()
    from ultralytics.utils import patches
    assert Image.open is not patches.image_open
    text = tmp_path / "a.png"
    text.write_text("not a picture\n")
    with pytest.raises(BadImage):
        load_image(str(text))
