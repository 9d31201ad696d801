"""SAM: the studio model is segment_anything's own classes (SamPredictor and the automatic mask
generator run it), the studio predictor's masks equal SamPredictor's, the training decoder
equals the exported one, the embedding cache, eager vs ONNX Runtime mask parity, the bench
entries, pretrained loading through sam_model_registry from a local file, and TensorRT
reporting itself unavailable here."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.agreement import mask_iou
from models.sam.prompts import centre_points
from models.shapeworld import make_scene


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    from models.sam.predictor import StudioSamPredictor
    return StudioSamPredictor("studio", cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def scene():
    return make_scene(7, 0, "heldout", 256, min_objects=3, max_objects=5)


def test_studio_model_is_segment_anythings_own_and_runs_with_its_tools():
    from segment_anything import SamAutomaticMaskGenerator, SamPredictor
    from segment_anything.modeling import Sam

    from models.sam.modeling import build_studio_sam, num_parameters
    sam = build_studio_sam()
    assert isinstance(sam, Sam)
    assert 2_000_000 < num_parameters(sam) < 4_000_000
    image = make_scene(0, 0, "val", 256).image
    p = SamPredictor(sam)
    p.set_image(image)
    masks, scores, low = p.predict(point_coords=np.array([[100, 100]]), point_labels=np.array([1]))
    assert masks.shape == (3, 256, 256) and scores.shape == (3,) and low.shape == (3, 64, 64)
    records = SamAutomaticMaskGenerator(sam, points_per_side=4, pred_iou_thresh=0,
                                        stability_score_thresh=0).generate(image)
    assert isinstance(records, list)


def test_predictor_masks_equal_segment_anythings_sam_predictor(predictor, scene):
    """Same weights, same prompt: the studio path (ONNX-style decoder graph, own cache) gives
    exactly what segment_anything's SamPredictor gives."""
    from segment_anything import SamPredictor
    ref = SamPredictor(predictor.sam)
    ref.set_image(scene.image)
    x, y = centre_points(scene.masks[:1])[0]
    ours = predictor.predict(scene.image, [(float(x), float(y), 1)])
    masks, scores, _ = ref.predict(point_coords=np.array([[x, y]]), point_labels=np.array([1]),
                                   multimask_output=True)
    assert mask_iou(ours.masks, masks) > 0.999
    np.testing.assert_allclose(ours.scores, scores, atol=1e-4)
    box = scene.boxes[1]
    ours = predictor.predict(scene.image, box=tuple(float(v) for v in box))
    masks, _, _ = ref.predict(box=np.asarray(box), multimask_output=False)
    assert ours.labels[ours.best] == "single output"
    assert mask_iou(ours.mask, masks[0]) > 0.999


def test_training_decoder_equals_the_exported_graph(predictor, scene):
    """decode_batch (many images' prompts at once, used in training and the card) = the per-image
    graph every runtime runs."""
    from models.sam.modeling import PromptDecoderGraph, decode_batch
    emb, _ = predictor.embed(scene.image)
    e = torch.from_numpy(emb.embedding)
    coords = torch.tensor([[[60.0, 70.0], [0.0, 0.0]], [[150.0, 120.0], [0.0, 0.0]]])
    labels = torch.tensor([[1.0, -1.0], [1.0, -1.0]])
    graph = PromptDecoderGraph(predictor.sam)
    with torch.no_grad():
        batched, iou_b = decode_batch(graph, torch.cat([e, e]), torch.tensor([0, 1]), coords, labels)
        for i in range(2):
            single, iou_s = graph(e, coords[i:i + 1], labels[i:i + 1], torch.zeros(1, 1, 64, 64), torch.zeros(1))
            torch.testing.assert_close(batched[i:i + 1], single, atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(iou_b[i:i + 1], iou_s, atol=1e-5, rtol=1e-4)


def test_click_on_a_shape_segments_that_shape(predictor, scene):
    """The committed model on a held-out scene: a centre click and a box both find the object."""
    centres = centre_points(scene.masks)
    for k, (x, y) in enumerate(centres):
        pred = predictor.predict(scene.image, [(float(x), float(y), 1)])
        assert mask_iou(pred.mask, scene.masks[k]) > 0.6, k
        assert pred.best == int(np.argmax(pred.scores))
    pred = predictor.predict(scene.image, box=tuple(float(v) for v in scene.boxes[0]))
    assert mask_iou(pred.mask, scene.masks[0]) > 0.7


def test_embedding_is_computed_once_per_image_and_runtime(predictor):
    image = make_scene(11, 0, "heldout", 256).image
    before = predictor.encoder_calls
    first = predictor.predict(image, [(100.0, 100.0, 1)])
    second = predictor.predict(image, [(100.0, 100.0, 1), (20.0, 20.0, 0)])
    third = predictor.predict(image.copy(), box=(10.0, 10.0, 200.0, 200.0))
    assert predictor.encoder_calls == before + 1
    assert not first.embedding_cached and first.encoder_ms > 0
    assert second.embedding_cached and third.embedding_cached and second.encoder_ms == 0
    other = make_scene(12, 0, "heldout", 256).image
    predictor.predict(other, [(50.0, 50.0, 1)])
    assert predictor.encoder_calls == before + 2


def test_eager_and_onnxruntime_masks_agree(predictor, scene):
    for (x, y) in centre_points(scene.masks):
        a = predictor.predict(scene.image, [(float(x), float(y), 1)], runtime="eager")
        b = predictor.predict(scene.image, [(float(x), float(y), 1)], runtime="onnxruntime")
        assert mask_iou(a.masks, b.masks) >= 0.99
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-3)
    box = tuple(float(v) for v in scene.boxes[0])
    assert mask_iou(predictor.predict(scene.image, box=box).mask,
                    predictor.predict(scene.image, box=box, runtime="onnxruntime").mask) >= 0.99


def test_non_square_and_large_pictures_come_back_at_their_own_size(predictor):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (300, 500, 3), np.uint8)
    image[100:200, 300:420] = (220, 30, 30)
    pred = predictor.predict(image, [(360.0, 150.0, 1)])
    assert pred.masks.shape == (3, 300, 500)
    assert pred.mask[150, 360]


def test_bad_prompts_are_refused_with_a_message(predictor, scene):
    with pytest.raises(ValueError, match="click or a box"):
        predictor.predict(scene.image, [])
    with pytest.raises(ValueError, match="outside"):
        predictor.predict(scene.image, [(999.0, 10.0, 1)])
    with pytest.raises(ValueError, match="positive"):
        predictor.predict(scene.image, [(10.0, 10.0, 5)])
    with pytest.raises(ValueError, match="at most"):
        predictor.predict(scene.image, [(10.0, 10.0, 1)] * 40)
    with pytest.raises(ValueError, match="points per side"):
        predictor.everything(scene.image, points_per_side=100)
    with pytest.raises(ValueError, match="unknown SAM source"):
        from models.sam.predictor import StudioSamPredictor
        StudioSamPredictor("vit_xxl")


def test_segment_everything_finds_every_object(predictor, scene):
    records, ms, _ = predictor.everything(scene.image, points_per_side=16, runtime="onnxruntime")
    assert ms > 0 and records
    masks = np.stack([r["segmentation"] for r in records])
    for k, truth in enumerate(scene.masks):
        best = max(mask_iou(m, truth) for m in masks)
        assert best > 0.7, (k, best)


def test_bench_entries_report_mask_iou(predictor, scene):
    from models.bench import run_bench
    from models.sam.bench import decoder_spec, encoder_spec
    for spec in (encoder_spec(predictor, scene.image), decoder_spec(predictor)):   # a picture, then the bench scene
        report = run_bench(spec, ["eager", "onnxruntime", "tensorrt"], runs=3, warmup=1)
        rows = {r["backend"]: r for r in report["rows"]}
        assert rows["onnxruntime"]["status"] == "ok"
        task = rows["onnxruntime"]["agreement"]["task"]
        assert task["name"] == "mask_iou" and task["value"] >= 0.99
        assert rows["tensorrt"]["status"].startswith("unavailable")
    full = rows["eager"]["metrics"]
    assert full["full_predict_ms"] > 0 and 0 < full["click_over_full"] < 1


def test_tensorrt_reports_itself_unavailable(predictor, scene):
    from models.backends import BackendUnavailable
    with pytest.raises(BackendUnavailable, match="tensorrt"):
        predictor.predict(scene.image, [(100.0, 100.0, 1)], runtime="tensorrt")


def test_pretrained_sam_loads_through_the_registry_from_a_local_file(tmp_path, monkeypatch):
    """vit_b built by segment_anything's registry, saved as Meta's .pth state dict, found in
    $STUDIO_SAM_DIR and loaded back by the studio predictor; a missing or broken file is a
    message saying what to do."""
    from segment_anything import sam_model_registry

    from models.checkpoints import CheckpointError
    from models.sam.predictor import StudioSamPredictor
    from models.sam.sources import SOURCES as SAM_SOURCES
    with pytest.raises(CheckpointError, match="STUDIO_SAM_DIR"):
        monkeypatch.setenv("STUDIO_SAM_DIR", str(tmp_path))
        StudioSamPredictor("vit_b")
    torch.manual_seed(0)
    sam = sam_model_registry["vit_b"]()
    torch.save(sam.state_dict(), tmp_path / SAM_SOURCES["vit_b"].file)
    p = StudioSamPredictor("vit_b")
    assert p.image_size == 1024 and p.grid == 64
    assert 90_000_000 < p.num_parameters() < 95_000_000
    first = next(iter(sam.state_dict()))
    torch.testing.assert_close(p.sam.state_dict()[first], sam.state_dict()[first])
    broken = tmp_path / "broken.pth"
    broken.write_bytes((tmp_path / SAM_SOURCES["vit_b"].file).read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="could not load"):
        StudioSamPredictor("vit_b", weights_path=broken)
