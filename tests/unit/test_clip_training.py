"""The CLIP recipe: a quick run learns and writes a loadable card, the loss treats equal captions
as positives, and the committed checkpoint keeps its card's zero-shot promise (re-measured here
on new renders of seen pairs and on the held-out pairs), and finds pictures by their captions."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from models import shapeworld
from models.checkpoints import CARD_KEYS, load_state_dict
from models.clip.modeling import STUDIO_STEM, build_clip, tokenizer_for
from training_scripts import train_clip


def test_quick_run_learns_and_writes_a_loadable_card(tmp_path):
    out = train_clip.main(["--quick", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "ckpt"),
                           "--run-dir", str(tmp_path / "run")])
    history = out["result"].history
    assert len(history) == 2 and history[-1]["train_loss"] < history[0]["train_loss"]
    card = json.loads((out["checkpoint_dir"] / "card.json").read_text())
    assert set(CARD_KEYS) <= set(card)
    assert card["architecture"]["open_clip_model"] == "ShapeWorld-ViT-Tiny"
    assert card["architecture"]["stem"] == STUDIO_STEM
    assert {"seen_top1", "heldout_top1", "heldout_per_pair", "logit_scale"} <= set(card["metrics"])
    assert card["train_command"].startswith("python training_scripts/train_clip.py --quick")
    state, _ = load_state_dict("clip-shapeworld", tmp_path / "ckpt")
    model = build_clip(card["architecture"]["open_clip_model"], card["architecture"]["stem"])
    model.load_state_dict(state)


def test_equal_captions_in_a_batch_are_all_positives():
    f = torch.nn.functional.normalize(torch.eye(4), dim=-1)
    scale = torch.tensor(10.0)
    distinct = train_clip.contrastive_loss(f, f, scale, torch.tensor([0, 1, 2, 3]))
    ce = torch.nn.functional.cross_entropy(10 * f @ f.T, torch.arange(4))
    assert abs(float(distinct) - float(ce)) < 1e-6          # plain CLIP loss when captions differ
    # pictures 0 and 1 share a caption: plain InfoNCE pushes image 0 away from text 1 (the
    # loss grows with their similarity), ours pulls them together
    def grad_image0_text1(ids):
        txt = torch.zeros(4, 4, requires_grad=True)            # every logit 0: uniform softmax
        train_clip.contrastive_loss(torch.eye(4), txt, torch.tensor(1.0), torch.tensor(ids)).backward()
        return float(txt.grad[1, 0])                            # d loss / d cos(image 0, text 1)
    assert grad_image0_text1([0, 1, 2, 3]) > 0
    assert grad_image0_text1([5, 5, 2, 3]) < 0


@pytest.fixture(scope="module")
def committed():
    state, card = load_state_dict(train_clip.MODEL_ID)
    model = build_clip(card["architecture"]["open_clip_model"], card["architecture"]["stem"])
    model.load_state_dict(state)
    return model.eval(), card


def test_committed_checkpoint_keeps_its_zero_shot_accuracy(committed):
    """Re-render val (seen pairs) and held-out from the card's seed and re-measure zero-shot over
    all 48 colour-shape labels with the training script's own evaluation."""
    model, card = committed
    assert card["train_command"] == "python training_scripts/train_clip.py"
    assert {k: card["training"][k] for k in ("epochs", "batch_size", "lr")} == \
        {k: train_clip.FULL[k] for k in ("epochs", "batch_size", "lr")}
    data, tok = card["data"], tokenizer_for(card["architecture"]["open_clip_model"])
    seen = shapeworld.make_single_objects(data["val"], data["seed"], "val", data["image_size"])
    held = shapeworld.make_single_objects(data["heldout"], data["seed"], "heldout", data["image_size"])
    seen_m = train_clip.zero_shot_metrics(model, tok, seen)
    held_m = train_clip.zero_shot_metrics(model, tok, held)
    print(f"zero-shot re-measured: seen {seen_m['top1']:.4f} (card {card['metrics']['seen_top1']:.4f}), "
          f"held-out {held_m['top1']:.4f} (card {card['metrics']['heldout_top1']:.4f})")
    assert data["val"] == data["heldout"] == 1000
    assert seen_m["top1"] >= 0.95 and held_m["top1"] >= 0.75
    assert abs(seen_m["top1"] - card["metrics"]["seen_top1"]) <= 0.01
    assert abs(held_m["top1"] - card["metrics"]["heldout_top1"]) <= 0.01


def test_retrieval_finds_the_shapeworld_picture_for_its_caption(tmp_path):
    """Text -> image over a ShapeWorld gallery: for most pictures, the best hit for its own full
    caption is a picture with exactly that caption (several pictures may share one)."""
    from models.clip.gallery import shapeworld_gallery
    from models.clip.predictor import ClipPredictor
    p = ClipPredictor("studio", cache_dir=tmp_path)
    gallery = shapeworld_gallery(120, p.image_size)
    index = p.index_images(gallery.images, list(range(len(gallery))))
    text, _ = p.embed_texts(gallery.captions)
    top1 = [gallery.captions[index.search(q, 1)[0][0].payload] == c for q, c in zip(text, gallery.captions)]
    top5 = [i in [h.payload for h in index.search(q, 5)[0]] or
            c in [gallery.captions[h.payload] for h in index.search(q, 5)[0]]
            for i, (q, c) in enumerate(zip(text, gallery.captions))]
    print(f"caption -> picture over 120: top-1 exact caption {np.mean(top1):.3f}, top-5 {np.mean(top5):.3f}")
    assert np.mean(top1) >= 0.6 and np.mean(top5) >= 0.9
    # and a held-out pair the model never saw is found by name
    hits = index.search(p.embed_texts(["a purple star"])[0][0], 3)[0]
    assert all((gallery.images[h.payload] is not None) for h in hits)
    assert any("purple star" in gallery.captions[h.payload] for h in hits)


def test_patch_map_points_at_the_named_object(tmp_path):
    """The MaskCLIP patch map of the committed model: in two- and three-object scenes, the
    brightest patch for "a <colour> <shape>" lies on that object far more often than chance."""
    from models.clip.predictor import ClipPredictor
    p = ClipPredictor("studio", cache_dir=tmp_path)
    hits, chance = [], []
    for i in range(60):
        scene = shapeworld.make_scene(3, i, split="val", image_size=64, min_objects=2, max_objects=3)
        if len({(s.colour, s.shape) for s in scene.specs}) < len(scene.specs):
            continue
        for k, spec in enumerate(scene.specs):
            cos = p.patch_map(scene.image, f"a {spec.colour} {spec.shape}")
            covered = scene.masks[k].reshape(8, 8, 8, 8).any(axis=(1, 3))
            hits.append(bool(covered.ravel()[cos.argmax()]))
            chance.append(covered.mean())
    print(f"pointing game over {len(hits)} objects: {np.mean(hits):.3f} (chance {np.mean(chance):.3f})")
    assert len(hits) >= 60
    assert np.mean(hits) >= 0.4 and np.mean(hits) >= 2 * np.mean(chance)
