"""The ViT recipe: a quick run learns and writes a loadable card, resume continues, the shared
augmentation's quarter turns and shifts keep the image, and the committed checkpoint keeps its
card's held-out promise (re-measured here)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from models import shapeworld
from models.checkpoints import CARD_KEYS, load_state_dict
from models.training import augment
from models.vit.modeling import STUDIO_VIT_CONFIG, build_vit
from training_scripts import shapeworld_classifier as classifier
from training_scripts import train_vit
from training_scripts.common import LAST_STATE

SMALL = ("--train-size", "128", "--val-size", "32", "--heldout-size", "32")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def shapeworld_cache(tmp_path_factory) -> Path:
    """One ShapeWorld cache for the module: the quick sets are rendered once."""
    return tmp_path_factory.mktemp("shapeworld")


@pytest.fixture
def quick(shapeworld_cache, tmp_path):
    """``train_vit.py --quick [extra flags]``, checkpoints under this test's tmp_path/ckpt."""
    base = ["--quick", "--data-dir", str(shapeworld_cache), "--out", str(tmp_path / "ckpt")]
    return lambda *extra: train_vit.main([*base, *extra])


def test_quick_run_learns_and_writes_a_loadable_card(quick, tmp_path):
    run = quick("--run-dir", str(tmp_path / "run"))
    assert run.checkpoint_dir == tmp_path / "ckpt" / train_vit.MODEL_ID
    first, last = run.result.history[0]["train_loss"], run.result.history[-1]["train_loss"]
    assert len(run.result.history) == 2 and last < first
    card = json.loads((run.checkpoint_dir / "card.json").read_text())
    assert set(CARD_KEYS) | {"class_names", "world_size", "training"} <= set(card)
    assert card["model_id"] == "vit-shapeworld" and card["task"] == "image-classification"
    assert card["architecture"] == STUDIO_VIT_CONFIG
    assert card["class_names"] == list(shapeworld.SHAPES)
    assert card["train_command"].startswith("python training_scripts/train_vit.py --quick")
    assert card["data"]["train"] == train_vit.QUICK["train"]
    assert {"rot90_aug", "max_shift", "label_smoothing", "colour_aug"} <= set(card["training"])
    assert {"val_accuracy", "heldout_accuracy", "heldout_per_class"} <= set(card["metrics"])
    # the weights load into the architecture the card names, through the sha256 check
    state, _ = load_state_dict(train_vit.MODEL_ID, tmp_path / "ckpt")
    model = build_vit(card["architecture"], card["class_names"])
    model.load_state_dict(state)
    assert model.config.id2label[3] == "star"
    assert (tmp_path / "run" / LAST_STATE).is_file()


def test_resume_continues_at_the_next_epoch(quick, tmp_path):
    run_dir = str(tmp_path / "resumed")
    first = quick(*SMALL, "--epochs", "1", "--run-dir", run_dir)
    second = quick(*SMALL, "--epochs", "2", "--run-dir", run_dir, "--resume")
    assert second.result.start_epoch == 2
    assert [row["epoch"] for row in second.result.history] == [1, 2]
    assert second.result.history[0] == first.result.history[0]
    saved = torch.load(Path(run_dir) / LAST_STATE, weights_only=True)
    assert saved["epoch"] == 2 and saved["global_step"] == second.result.global_step


def test_quarter_turns_and_shifts_keep_the_image():
    x = torch.rand(32, 3, 16, 16)
    turned = augment.augment(x, colour_p=0.0, grey_p=0.0, rot90_p=1.0)
    # every image is a flip and/or a quarter turn of its source: same pixels, other places
    flat = lambda t: t.reshape(32, -1).sort(1).values
    assert torch.equal(flat(turned), flat(x))
    assert not torch.equal(turned, x) and not torch.equal(turned, x.flip(3))
    shifted = augment._shift(x, max_shift=2)
    assert shifted.shape == x.shape
    # an interior 12 x 12 window of each source shows up unchanged somewhere in its shifted copy
    for src, out in zip(x, shifted):
        windows = out.unfold(1, 12, 1).unfold(2, 12, 1)   # (3, 5, 5, 12, 12)
        hits = (windows == src[:, 2:14, 2:14].view(3, 1, 1, 12, 12)).flatten(3).all(3).all(0)
        assert hits.any()


def test_committed_checkpoint_keeps_its_heldout_accuracy():
    """Re-render the held-out split from the card's seed and sizes and re-measure it through the
    training script's own predict path."""
    state, card = load_state_dict(train_vit.MODEL_ID)
    assert card["train_command"] == "python training_scripts/train_vit.py"
    assert card["architecture"] == STUDIO_VIT_CONFIG
    assert {k: card["training"][k] for k in ("epochs", "batch_size", "lr", "rot90_aug")} == \
        {k: train_vit.FULL[k] for k in ("epochs", "batch_size", "lr", "rot90_aug")}
    model = build_vit(card["architecture"], card["class_names"])
    model.load_state_dict(state)
    model.eval()
    data = card["data"]
    held = shapeworld.make_single_objects(data["heldout"], data["seed"], "heldout",
                                          data["image_size"])
    preds, truth = classifier.predict(train_vit.VIT, model, classifier.split_loader(held),
                                      card["architecture"])
    acc = classifier.classification_metrics(preds, truth, card["class_names"])["accuracy"]
    print(f"held-out accuracy re-measured: {acc:.4f} "
          f"(card: {card['metrics']['heldout_accuracy']:.4f})")
    assert len(truth) == data["heldout"] == 1000
    assert acc >= 0.95
    assert abs(acc - card["metrics"]["heldout_accuracy"]) <= 0.01
