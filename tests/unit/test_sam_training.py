"""The SAM recipe: prompts are sampled where they should be, a quick run writes a card the
predictor loads, and the committed checkpoint keeps its card's held-out mIoU (re-measured here
on the same held-out scenes, one centre click and one box per object)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from models.checkpoints import CARD_KEYS, load_state_dict
from training_scripts import train_sam


def test_prompts_fall_inside_objects_and_negatives_outside():
    torch.manual_seed(0)
    store = train_sam.SceneStore("train", 6, 0, 256, 5)
    objects = torch.cat([store.masks[i, :c] for i, c in enumerate(store.counts)])
    (two, two_labels, two_obj), (four, four_labels, four_obj) = train_sam.make_prompts(objects, train_sam.FULL)
    p = len(objects)
    assert two.shape == (2 * p, 2, 2) and four.shape == (p, 4, 2)
    # single clicks (first half): inside their object; boxes (second half): labels 2, 3
    for k in range(p):
        x, y = two[k, 0].long()
        assert objects[k, y, x] and two_labels[k].tolist() == [1.0, -1.0]
        assert two_labels[p + k].tolist() == [2.0, 3.0]
        for j, label in enumerate(four_labels[k, :3].tolist()):
            x, y = four[k, j].long()
            assert bool(objects[k, y, x]) == (label == 1.0)
    # an unjittered box is the mask's tight box
    boxes = train_sam.mask_boxes(objects)
    m = objects[0]
    ys, xs = torch.nonzero(m, as_tuple=True)
    assert boxes[0].tolist() == [xs.min().item(), ys.min().item(), xs.max().item(), ys.max().item()]


def test_quick_run_writes_a_card_the_predictor_loads(tmp_path):
    from models.sam.predictor import StudioSamPredictor
    out = train_sam.main(["--quick", "--out", str(tmp_path / "ckpt"), "--run-dir", str(tmp_path / "run")])
    card = json.loads((out["checkpoint_dir"] / "card.json").read_text())
    assert set(CARD_KEYS) <= set(card)
    assert {"heldout_miou_point", "heldout_miou_box", "val_miou_point"} <= set(card["metrics"])
    assert card["train_command"].startswith("python training_scripts/train_sam.py --quick")
    assert card["architecture"]["prompt_dim"] == 128
    p = StudioSamPredictor("studio", checkpoint_root=tmp_path / "ckpt", cache_dir=tmp_path / "cache")
    pred = p.predict(np.zeros((256, 256, 3), np.uint8), [(10.0, 10.0, 1)])
    assert pred.masks.shape == (3, 256, 256)


def test_committed_checkpoint_keeps_its_cards_held_out_miou():
    from models.sam.modeling import build_studio_sam
    state, card = load_state_dict("sam-shapeworld")
    m = card["metrics"]
    assert m["heldout_miou_point"] >= 0.80 and m["heldout_miou_box"] >= 0.90    # the bar
    arch = {k: v for k, v in card["architecture"].items() if k in train_sam.STUDIO_SAM}
    sam = build_studio_sam(arch)
    sam.load_state_dict({k: v.float() for k, v in state.items()})
    d = card["data"]
    held = train_sam.SceneStore("heldout", d["heldout_scenes"], d["seed"], d["image_size"], d["max_objects"])
    measured = train_sam.evaluate_miou(sam, held)
    assert measured["objects"] == m["heldout_objects"]
    # same weights, same scenes, same prompts: only float summation order may differ
    assert measured["miou_point"] == pytest.approx(m["heldout_miou_point"], abs=0.005)
    assert measured["miou_box"] == pytest.approx(m["heldout_miou_box"], abs=0.005)
