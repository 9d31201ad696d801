"""The diffusion recipe: the training loss noises pictures as diffusers' DDPMScheduler does, a
quick run learns and writes a card the predictor loads, and the committed checkpoint keeps its
card's promise: how often the studio CNN names the requested shape in its samples (re-measured
here on fresh seeds, fewer samples, a stated tolerance)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from models.checkpoints import CARD_KEYS
from models.diffusion.modeling import pair_class_ids
from training_scripts import train_diffusion

RECHECK_PER_PAIR = 4        # 4 x 40 seen pairs = 160 samples (the card used 1,000)


def test_training_noise_is_ddpm_schedulers_add_noise():
    from diffusers import DDPMScheduler

    from models.diffusion.schedulers import TRAINING_SCHEDULER
    x0, eps = torch.rand(4, 3, 8, 8) * 2 - 1, torch.randn(4, 3, 8, 8)
    t = torch.tensor([0, 10, 500, 999])
    ours = train_diffusion.noised(x0, eps, t, train_diffusion.noise_schedule())
    theirs = DDPMScheduler(**TRAINING_SCHEDULER).add_noise(x0, eps, t)
    torch.testing.assert_close(ours, theirs)


def test_training_objects_are_shapeworld_renders_of_the_recipes_draw():
    """make_objects: labels name what is drawn, seen pairs only, the recipe's sizes, deterministic."""
    from models.shapeworld import SEEN_PAIRS, SHAPES
    recipe = dict(train_diffusion.FULL, train=64, val=8)
    images, ids = train_diffusion.make_objects(recipe, "train")
    assert images.shape == (64, 32, 32, 3) and images.dtype == np.uint8 and ids.shape == (64,)
    names = [train_diffusion.CLASS_NAMES[i] for i in ids]
    assert all(tuple(n.split()) in SEEN_PAIRS for n in names)
    assert len({i % len(SHAPES) for i in ids}) == len(SHAPES)        # every shape shows up
    again, _ = train_diffusion.make_objects(recipe, "train")
    assert np.array_equal(images, again)
    val, _ = train_diffusion.make_objects(recipe, "val")
    assert not np.array_equal(val, images[:8])                       # another stream
    # the studio CNN names the drawn shape: the labels match the pictures
    from models.diffusion.predictor import SampleJudge
    assert np.mean(SampleJudge().shapes(images) == ids % len(SHAPES)) >= 0.9


def test_quick_run_learns_and_writes_a_loadable_card(tmp_path):
    from models.diffusion.predictor import DiffusionPredictor
    out = train_diffusion.main(["--quick", "--out", str(tmp_path / "ckpt"), "--run-dir", str(tmp_path / "run")])
    history = out["result"].history
    assert len(history) == 2 and history[-1]["train_loss"] < history[0]["train_loss"]
    card = json.loads((out["checkpoint_dir"] / "card.json").read_text())
    assert set(CARD_KEYS) <= set(card) and card["model_id"] == "diffusion-shapeworld"
    assert card["train_command"].startswith("python training_scripts/train_diffusion.py --quick")
    assert {"shape_accuracy", "colour_accuracy", "heldout_pairs_shape_accuracy", "guidance", "reference",
            "second_judge_shape_accuracy", "judges_agree", "judge_on_real_renders_shape_accuracy"} <= set(card["metrics"])
    assert card["metrics"]["samples"] == 40 and card["metrics"]["heldout_samples"] == 8
    assert card["metrics"]["reference"]["samples"] == 40 and card["metrics"]["reference"]["sampler"] == "ddim"
    assert card["data"]["backgrounds"] == ["flat", "gradient"]
    p = DiffusionPredictor("studio", checkpoint_root=tmp_path / "ckpt")
    *steps, done = p.sample("star", "purple", n=2, sampler="euler", steps=3)
    assert len(steps) == 3 and done.images.shape == (2, 32, 32, 3)


@pytest.fixture(scope="module")
def committed():
    from models.diffusion.predictor import DiffusionPredictor, SampleJudge
    return DiffusionPredictor("studio"), SampleJudge()


def test_committed_checkpoint_keeps_its_judged_accuracy(committed):
    """The card's headline protocol is the diffusion tab's default run (schedulers.DEFAULT_RUN at the
    card's guidance, the studio CNN as judge); it meets the issue's goals as the card states them,
    and keeps them on 160 fresh samples on eager (the card sampled on ONNX Runtime). Tolerance: 3
    binomial standard errors of this smaller sample around the card's value."""
    from models.diffusion.schedulers import DEFAULT_RUN, REFERENCE_RUN
    from models.shapeworld import SEEN_PAIRS
    predictor, judge = committed
    card = predictor.card
    m, ref = card["metrics"], card["metrics"]["reference"]
    assert card["train_command"] == "python training_scripts/train_diffusion.py"
    assert (m["sampler"], m["steps"], m["eta"], m["samples"]) == (DEFAULT_RUN.sampler, DEFAULT_RUN.steps,
                                                                   DEFAULT_RUN.eta, 1000)
    assert (ref["sampler"], ref["steps"], ref["eta"]) == (REFERENCE_RUN.sampler, REFERENCE_RUN.steps, REFERENCE_RUN.eta)
    # the goals (issue 22): tab defaults >= 0.85, DDIM 50 >= 0.80, colour >= 0.90
    assert m["shape_accuracy"] >= 0.85 and ref["shape_accuracy"] >= 0.80 and m["colour_accuracy"] >= 0.90
    # issue 22 asks 0.75 of the held-out pairs; this model reaches 0.685 (blue hexagons come out as noise, orange
    # hearts as blobs): this guards what it reaches, not the goal
    assert m["heldout_pairs_shape_accuracy"] >= 0.65
    ids = pair_class_ids(SEEN_PAIRS, RECHECK_PER_PAIR)
    got = predictor.judged_accuracy(judge, ids, m["sampler"], m["steps"], m["guidance"], seed=777, eta=m["eta"],
                                    second_judge=True)
    print(f"re-measured on {len(ids)} samples: shape {got['shape_accuracy']:.3f} (card {m['shape_accuracy']:.3f}), "
          f"ViT judge {got['second_judge_shape_accuracy']:.3f} (card {m['second_judge_shape_accuracy']:.3f}), "
          f"colour {got['colour_accuracy']:.3f} (card {m['colour_accuracy']:.3f})")
    for key in ("shape_accuracy", "colour_accuracy", "second_judge_shape_accuracy"):
        p = m[key]
        assert abs(got[key] - p) <= 3 * math.sqrt(p * (1 - p) / len(ids)), key
