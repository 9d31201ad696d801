"""CLIP: labels and templates, open_clip's tokenizer and registry, the two towers on eager and
ONNX Runtime, pretrained loading through open_clip from a local file, zero-shot, similarity,
patch maps and retrieval on a small random model saved in the studio's checkpoint format."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.checkpoints import CheckpointError, save_checkpoint
from models.clip import prompts
from models.clip.modeling import (STUDIO_CLIP_NAME, STUDIO_MEAN, STUDIO_STD, STUDIO_STEM, ImageTower, build_clip,
                                  model_config, register_configs, tokenizer_for)
from models.clip.sources import SOURCES as CLIP_SOURCES
from models.sources import Source


@pytest.fixture(scope="module")
def studio_root(tmp_path_factory):
    """A random-weight studio CLIP saved exactly as train_clip.py saves one."""
    torch.manual_seed(0)
    model = build_clip(STUDIO_CLIP_NAME, STUDIO_STEM)
    card = {"model_id": "clip-shapeworld", "task": "zero-shot-image-classification",
            "architecture": {"open_clip_model": STUDIO_CLIP_NAME, **model_config(), "stem": STUDIO_STEM,
                             "mean": list(STUDIO_MEAN), "std": list(STUDIO_STD)},
            "train_command": "test", "data": {"held_out_pairs": ["purple star"]}, "metrics": {},
            "train_seconds": 0, "device": "cpu"}
    root = tmp_path_factory.mktemp("ckpt")
    save_checkpoint(model, card, root)
    return root


@pytest.fixture(scope="module")
def predictor(studio_root, tmp_path_factory):
    from models.clip.predictor import ClipPredictor
    return ClipPredictor("studio", checkpoint_root=studio_root, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def pictures():
    from models.shapeworld import make_single_objects
    return make_single_objects(6, seed=1, split="val")


# ------------------------------------------------------------------ labels, templates, tokens
def test_labels_are_split_stripped_and_deduplicated():
    assert prompts.parse_labels(" red circle,blue  square\nred circle,, green star ") == \
        ["red circle", "blue square", "green star"]
    with pytest.raises(ValueError, match="at least two labels"):
        prompts.parse_labels("red circle")
    with pytest.raises(ValueError, match=f"at most {prompts.MAX_LABELS}"):
        prompts.parse_labels(",".join(f"label {i}" for i in range(prompts.MAX_LABELS + 1)))
    with pytest.raises(ValueError, match="characters"):
        prompts.parse_labels("a, " + "x" * (prompts.MAX_LABEL_CHARS + 1))


def test_templates_need_one_placeholder_and_expand_label_major():
    assert prompts.parse_templates("a {}\n\n a small  {} \na {}") == ["a {}", "a small {}"]
    assert prompts.parse_templates("   ") == ["{}"]
    for bad in ("a photo", "a {} and a {}", "a {label}"):
        with pytest.raises(ValueError, match="exactly one"):
            prompts.parse_templates(bad)
    assert prompts.prompts_for(["cat", "dog"], ["a {}", "the {}!"]) == ["a cat", "the cat!", "a dog", "the dog!"]
    assert len(prompts.colour_shape_labels()) == 48 and prompts.colour_shape_labels()[0] == "red circle"


def test_studio_config_is_registered_with_open_clip_and_its_bpe_tokenizer():
    import open_clip
    register_configs()
    assert STUDIO_CLIP_NAME in open_clip.list_models()
    tok = tokenizer_for()
    ids = tok(["a small purple star at the top left", "a " + "very " * 40 + "long caption"])
    context = model_config()["text_cfg"]["context_length"]
    assert ids.shape == (2, context) and ids.dtype == torch.int64
    sot, eot = tok.sot_token_id, tok.eot_token_id
    assert ids[0, 0] == sot and eot in ids[0].tolist() and ids[0, -1] == 0   # padded after EOT
    assert ids[1, -1] == eot                                                   # cut, EOT kept last
    assert tok.decode(ids[0].tolist()).replace("<start_of_text>", "").split("<end_of_text>")[0].strip() == \
        "a small purple star at the top left"


# ------------------------------------------------------------------ towers and runtimes
def test_image_tower_returns_unit_embeddings_and_a_patch_grid():
    model = build_clip(STUDIO_CLIP_NAME, STUDIO_STEM)
    image, patches = ImageTower(model)(torch.randn(2, 3, 64, 64))
    assert image.shape == (2, model.visual.output_dim) and patches.shape == (2, 64, model.visual.output_dim)
    torch.testing.assert_close(image.norm(dim=-1), torch.ones(2))
    with pytest.raises(ValueError, match="stages"):
        build_clip(STUDIO_CLIP_NAME, {"type": "resnet", "widths": [16, 32]})


def test_image_tower_pooled_output_is_open_clips_own(predictor, pictures):
    x = torch.from_numpy(predictor.pixels(list(pictures.images[:2])))
    ours, _ = ImageTower(predictor.model)(x)
    torch.testing.assert_close(ours, predictor.model.encode_image(x, normalize=True))


def test_towers_agree_between_eager_and_onnxruntime(predictor, pictures):
    e_img, e_patch = predictor.embed_images(list(pictures.images), "eager")
    o_img, o_patch = predictor.embed_images(list(pictures.images), "onnxruntime")
    assert np.abs(e_img - o_img).max() < 1e-5 and np.abs(e_patch - o_patch).max() < 1e-5
    e_txt, _ = predictor.embed_texts(pictures.captions, "eager")
    o_txt, _ = predictor.embed_texts(pictures.captions, "onnxruntime")
    assert np.abs(e_txt - o_txt).max() < 1e-5
    cos = (e_img * o_img).sum(-1)
    assert cos.min() > 0.99999


def test_tensorrt_reports_itself_unavailable_here(predictor):
    from models.backends import BackendUnavailable
    with pytest.raises(BackendUnavailable, match="unavailable|TensorRT|tensorrt|CUDA|GPU"):
        predictor.backend("image", "tensorrt")


# ------------------------------------------------------------------ tasks
def test_zero_shot_is_softmax_of_scaled_cosines_and_caches_prompts(predictor, pictures):
    labels, templates = ["red circle", "blue square", "green star"], ["a {}", "a small {}"]
    z = predictor.zero_shot(pictures.images[0], labels, templates)
    assert z.cached_prompts == 0 and z.probs.shape == (3,)
    assert abs(float(z.probs.sum()) - 1) < 1e-5
    logits = z.logit_scale * z.cosines.astype(np.float64)
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(z.probs, expected, atol=1e-6)
    # ensembling: each label's embedding is the renormalised mean of its template embeddings
    text, _ = predictor.embed_texts(prompts.prompts_for(labels, templates))
    mean = text.reshape(3, 2, -1).mean(1)
    mean /= np.linalg.norm(mean, axis=1, keepdims=True)
    img, _ = predictor.embed_images([pictures.images[0]])
    np.testing.assert_allclose(z.cosines, img[0] @ mean.T, atol=1e-5)
    again = predictor.zero_shot(pictures.images[0], labels, templates)
    assert again.cached_prompts == 6 and again.text_ms == 0.0
    np.testing.assert_array_equal(again.probs, z.probs)


def test_similarity_info_nce_matches_a_torch_reference(predictor, pictures):
    s = predictor.similarity(list(pictures.images), pictures.captions)
    assert s.cosines.shape == (6, 6) and np.all(np.abs(s.cosines) <= 1 + 1e-5)
    logits = torch.from_numpy(s.cosines).double() * s.logit_scale
    target = torch.arange(6)
    ref = 0.5 * (torch.nn.functional.cross_entropy(logits, target) +
                 torch.nn.functional.cross_entropy(logits.T, target))
    assert abs(s.info_nce() - float(ref)) < 1e-6


def test_patch_map_is_the_grid_of_patch_cosines(predictor, pictures):
    m = predictor.patch_map(pictures.images[0], pictures.captions[0])
    assert m.shape == (predictor.grid, predictor.grid) == (8, 8)
    _, patches = predictor.embed_images([pictures.images[0]])
    text, _ = predictor.embed_texts([pictures.captions[0]])
    np.testing.assert_allclose(m.ravel(), patches[0] @ text[0], atol=1e-6)


def test_retrieval_index_finds_each_picture_by_its_own_embedding(predictor, pictures):
    index = predictor.index_images(list(pictures.images), list(range(6)))
    img, _ = predictor.embed_images(list(pictures.images))
    for i in range(6):
        assert index.search(img[i], 1)[0][0].payload == i
    assert index.kind == "exact"


def test_model_view_centre_crops_any_picture(predictor):
    wide = np.zeros((40, 120, 3), np.uint8)
    wide[:, 40:80] = 255                       # a white centre band becomes the whole crop
    view = predictor.model_view(wide)
    assert view.shape == (64, 64, 3) and view.mean() > 250


# ------------------------------------------------------------------ sources
def test_pretrained_loads_through_open_clip_from_a_local_file(tmp_path, monkeypatch, pictures):
    """The pretrained path (open_clip.create_model_and_transforms with a weights file), exercised
    on a small model of the same open_clip format instead of the 600 MB ViT-B-32."""
    from safetensors.torch import save_file

    from models.clip.predictor import ClipPredictor
    torch.manual_seed(1)
    ref = build_clip(STUDIO_CLIP_NAME)                 # plain open_clip model, no studio stem
    path = tmp_path / "tiny" / "open_clip_model.safetensors"
    path.parent.mkdir()
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(path))
    monkeypatch.setitem(CLIP_SOURCES, "tiny", Source("tiny", "tiny", file="open_clip_model.safetensors",
                                                               env="STUDIO_CLIP_DIR",
                                                               options={"model_name": STUDIO_CLIP_NAME}))
    monkeypatch.setenv("STUDIO_CLIP_DIR", str(tmp_path))
    p = ClipPredictor("tiny", cache_dir=tmp_path / "cache")
    assert p.card["weights"] == str(path)
    x = torch.from_numpy(p.pixels([pictures.images[0]]))
    torch.testing.assert_close(p.model.encode_image(x), ref.encode_image(x))
    with pytest.raises(CheckpointError, match="not a file"):
        ClipPredictor("tiny", weights_path=tmp_path / "nowhere.safetensors")


def test_missing_pretrained_says_how_to_get_it(monkeypatch):
    from models.clip.predictor import ClipPredictor
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("STUDIO_CLIP_DIR", raising=False)
    monkeypatch.setitem(CLIP_SOURCES, "tiny", Source("tiny", "Tiny CLIP", file="open_clip_model.safetensors",
                                                               env="STUDIO_CLIP_DIR",
                                                               options={"model_name": STUDIO_CLIP_NAME}))
    with pytest.raises(CheckpointError, match=r"Tiny CLIP is not on this machine: no open_clip_model.safetensors in \$STUDIO_CLIP_DIR"):
        ClipPredictor("tiny")
    with pytest.raises(ValueError, match="unknown CLIP source"):
        ClipPredictor("nope")


def test_a_changed_config_is_refused_with_the_retrain_command(studio_root, tmp_path):
    import json
    import shutil

    from models.clip.predictor import ClipPredictor
    root = tmp_path / "ckpt"
    shutil.copytree(studio_root, root)
    card_path = root / "clip-shapeworld" / "card.json"
    card = json.loads(card_path.read_text())
    card["architecture"]["stem"] = None                # weights with a stem, model without one
    card_path.write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="re-run test"):
        ClipPredictor("studio", checkpoint_root=root)


def test_sentences_longer_than_the_context_are_refused(predictor):
    with pytest.raises(ValueError, match=f"at most {predictor.context_length}"):
        predictor.embed_texts(["a " + "very " * 30 + "long caption"])
