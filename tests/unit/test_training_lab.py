"""The Training lab's engine: settings, runs (seed, stop and resume, divergence, caps), instruments,
augmentation and the code export. The presets' lessons are in test_training_lab_presets.py."""
from __future__ import annotations

import contextlib
import io
import math
import re
from dataclasses import replace

import pytest
import torch

from models.training.augment import random_augment
from models.training.optim import schedule_curve
from models.training_lab import network
from models.training_lab.code import training_code
from models.training_lab.data import lab_data
from models.training_lab.run import LabRun
from models.training_lab.settings import LIMITS, LabSettings

SMALL = LabSettings(width=8, depth=2, train_size=256, batch_size=32, steps=12, eval_every=6)


def run_to_end(settings: LabSettings, **kwargs) -> LabRun:
    run = LabRun(settings, **kwargs)
    for _ in run.train():
        pass
    return run


# --------------------------------------------------------------------------- settings
@pytest.mark.parametrize("change, message", [
    (dict(lr=-1.0), r"lr must be between"),
    (dict(lr=float("nan")), r"lr must be a number"),
    (dict(optimizer="lion"), r"optimizer must be one of sgd, sgd_momentum, adam, adamw, rmsprop"),
    (dict(depth=13), r"depth must be between 1 and 12"),
    (dict(depth=2.5), r"depth must be a whole number"),
    (dict(width=256), r"a CNN's width \(channels\) goes up to 128"),
    (dict(augment=("flip", "mixup")), r"unknown: mixup"),
    (dict(steps=LIMITS["steps"][1] + 1), r"steps must be between"),
    (dict(batch_size=True), r"batch_size must be a number"),
])
def test_bad_settings_are_refused_with_what_to_change(change, message):
    with pytest.raises(ValueError, match=message):
        replace(LabSettings(), **change).check()


def test_a_batch_larger_than_the_training_set_is_refused():
    with pytest.raises(ValueError, match=r"the batch \(128\) is larger than the training set \(64\)"):
        LabRun(replace(SMALL, train_size=64, batch_size=128))


def test_settings_round_trip_and_name_their_differences():
    s = replace(SMALL, augment=("crop", "flip"))
    assert s.check().augment == ("flip", "crop")                      # the canonical order
    assert LabSettings.from_dict(s.check().as_dict()) == s.check()
    assert SMALL.differences(replace(SMALL, optimizer="sgd", lr=0.1)) == {"optimizer": ("adam", "sgd"), "lr": (3e-3, 0.1)}
    with pytest.raises(ValueError, match="unknown setting"):
        LabSettings.from_dict({"learning_rate": 1})


# --------------------------------------------------------------------------- networks
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("norm", ["none", "batchnorm", "layernorm"])
def test_every_network_maps_pictures_to_eight_logits(kind, norm):
    s = replace(LabSettings(), network=kind, norm=norm, depth=5, width=16, residual=True, dropout=0.1).check()
    net = network.build_network(s)
    assert net(torch.randn(4, 3, 32, 32)).shape == (4, 8)
    assert len(network.layer_names(net)) == len(network.weight_layers(net)) == 6
    assert len(network.activation_modules(net)) == 5


def test_the_parameter_count_is_known_before_a_run_and_draws_no_random_number():
    s = replace(LabSettings(), network="mlp", depth=3, width=32, norm="batchnorm").check()
    before = torch.random.get_rng_state()
    count = network.parameter_count(s)
    assert torch.equal(before, torch.random.get_rng_state())
    assert count == network.num_parameters(network.build_network(s)) == \
        (3 * 32 * 32 * 32 + 32) + 2 * (32 * 32 + 32) + 3 * 2 * 32 + (32 * 8 + 8)


def test_zero_initialisation_zeroes_every_weight():
    net = network.build_network(replace(SMALL, init="zeros").check())
    assert all(float(m.weight.detach().abs().sum()) == 0 for m in network.weight_layers(net))


# --------------------------------------------------------------------------- runs
def test_the_same_seed_gives_the_same_weights_and_the_same_run():
    a, b = run_to_end(SMALL), run_to_end(SMALL)
    assert a.history.loss == b.history.loss and a.history.val_accuracy == b.history.val_accuracy
    c = run_to_end(replace(SMALL, seed=1))
    assert c.history.loss != a.history.loss


def test_stop_keeps_the_curves_and_resume_continues_the_same_run():
    whole = run_to_end(SMALL)
    run = LabRun(SMALL)
    stop_after = 5
    for r in run.train(should_stop=lambda: run.step >= stop_after):
        pass
    assert run.step == stop_after and run.status.startswith("stopped at step 5") and not run.ended
    assert run.history.loss == whole.history.loss[:stop_after]
    for _ in run.train():
        pass
    assert run.history.loss == whole.history.loss and run.status == "finished: 12 steps"
    assert run.final is not None and run.final.confusion.sum() == len(run.val_labels)


def test_an_ended_run_frees_its_network_and_keeps_its_curves_and_pictures():
    run = run_to_end(SMALL)
    assert run.net is None and run.optimizer is None and run.layers == []
    assert len(run.history.loss) == 12 and run.final is not None and run.final.filters is not None


def test_a_new_run_in_the_tab_frees_the_stopped_one_it_replaces():
    from types import SimpleNamespace

    from tabs.kit import StopFlags
    from tabs.training import input_values, train
    request, stops, session = SimpleNamespace(headers={}, session_hash="s"), StopFlags(), {}
    first = LabRun(SMALL)
    for _ in first.train(should_stop=lambda: first.step >= 3):
        pass
    session.update(runs=[first], names=["#1"], count=1)
    for _ in train(stops, session, request, *input_values(replace(SMALL, steps=5, eval_every=5))):
        pass
    assert first.net is None and first.ended and first.status == "stopped at step 3"
    assert [r.history.loss[:1] != [] for r in session["runs"]] == [True, True] and session["names"] == ["#1", "#2"]


def test_a_diverging_run_ends_with_a_message_and_keeps_its_curves():
    run = run_to_end(replace(SMALL, optimizer="adam", lr=3.0, norm="none", steps=50))
    assert run.ended and run.diverged_at is not None
    assert re.match(r"diverged at step \d+: the loss became .+; lower the learning rate", run.status)
    assert len(run.history.loss) == run.diverged_at
    assert list(run.train()) == []          # an ended run does not resume


def test_the_wall_time_cap_stops_a_run():
    run = LabRun(SMALL)
    for _ in run.train(max_seconds=0.0):
        pass
    assert run.ended and "cap for one run was reached" in run.status and run.step == 1


def test_early_stopping_ends_a_run_that_stopped_improving():
    run = run_to_end(replace(SMALL, lr=1e-6, optimizer="sgd", norm="none", patience=1, steps=60, eval_every=6))
    assert run.status.startswith("stopped early at step 12")


def test_instruments_measure_every_layer():
    run = run_to_end(replace(SMALL, network="mlp", activation="sigmoid", norm="none", depth=3))
    h = run.history
    assert h.layer_steps[:3] == [1, 6, 11]
    for rows in (h.grad_norm, h.update_ratio):
        assert all(len(r) == 4 and all(v > 0 and math.isfinite(v) for v in r) for r in rows)
    assert all(len(r) == 3 for r in h.act_mean + h.act_std + h.act_trouble)
    assert all(0.0 <= v <= 1.0 for r in h.act_mean for v in r)            # sigmoid outputs
    assert run.final.filters is None                                      # an MLP has no filters
    cnn = run_to_end(SMALL)
    assert cnn.final.filters.shape == (8, 3, 3, 3)


def test_dead_relu_units_are_counted():
    from models.training_lab.run import trouble
    a = torch.tensor([[1.0, 0.0, 0.0], [2.0, 0.0, 3.0]])      # unit 2 is never positive
    assert trouble("relu", a) == pytest.approx(1 / 3)
    assert trouble("sigmoid", torch.tensor([0.999, 0.5, 0.001, 0.6])) == 0.5


# --------------------------------------------------------------------------- augmentation, schedules
def test_augmentation_keeps_pictures_in_range_and_repeats_with_its_generator():
    x = lab_data(64).train_images[:16].float() / 127.5 - 1
    kinds = ("flip", "rotate", "crop", "colour")
    a = random_augment(x, kinds, torch.Generator().manual_seed(3))
    b = random_augment(x, kinds, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, x)
    assert float(a.min()) >= -1 and float(a.max()) <= 1
    flipped = random_augment(x, ("flip",), torch.Generator().manual_seed(0))
    assert all(torch.allclose(f, o, atol=1e-5) or torch.allclose(f, o.flip(2), atol=1e-5) for f, o in zip(flipped, x))


def test_schedule_curves_have_their_shapes():
    warm = schedule_curve("warmup_cosine", 1e-2, 100, warmup_frac=0.1)
    assert warm[0] == pytest.approx(1e-3) and max(warm) == pytest.approx(1e-2) and warm.index(max(warm)) == 9
    assert schedule_curve("step", 1e-2, 100)[49:51] == pytest.approx([1e-2, 1e-3])
    one = schedule_curve("one_cycle", 1e-2, 100)
    assert one[0] < 1e-3 and max(one) == pytest.approx(1e-2) and one[-1] < 1e-4


# --------------------------------------------------------------------------- code export
@pytest.mark.parametrize("settings", [
    SMALL,
    replace(SMALL, network="mlp", optimizer="adamw", weight_decay=0.1, schedule="warmup_cosine", residual=True,
            init="kaiming", loss="label_smoothing", clip_grad_norm=0.5, accumulation=2, augment=("flip", "crop")),
], ids=["cnn", "mlp-everything"])
def test_the_exported_code_runs_and_reaches_the_labs_losses(settings):
    run = run_to_end(settings)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(training_code(settings), "<training lab code>", "exec"), {"__name__": "__main__"})
    printed = [float(v) for v in re.findall(r"loss (\S+),", out.getvalue())]
    assert len(printed) == 2
    lab = [run.history.loss[s - 1] for s in run.history.eval_steps]
    assert printed == pytest.approx(lab, abs=1e-4)


# --------------------------------------------------------------------------- inside a studio checkpoint
def test_a_shipped_card_is_plotted_and_its_weights_verified(tmp_path):
    import shutil

    from models.checkpoints import CHECKPOINT_DIR, CheckpointError
    from models.training_lab import cards
    assert "cnn-shapeworld" in cards.studio_checkpoints()
    card, summary = cards.card_summary("cnn-shapeworld")
    losses, metrics = cards.history_frames(card)
    epochs = len(card["training"]["history"])
    assert len(losses) == epochs and set(metrics.metric) == {"accuracy"}
    assert card["train_command"] in summary and card["sha256"] in summary
    assert "matches the card" in cards.verify("cnn-shapeworld")
    shutil.copytree(CHECKPOINT_DIR / "cnn-shapeworld", tmp_path / "cnn-shapeworld")
    with open(tmp_path / "cnn-shapeworld" / "model.safetensors", "r+b") as f:
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 0xFF]))
    with pytest.raises(CheckpointError, match="does not match its card"):
        cards.verify("cnn-shapeworld", tmp_path)


def test_every_run_state_reads_in_both_languages():
    from pathlib import Path

    from tabs.i18n import STRINGS, text
    from tabs.training import _status_text
    source = Path(network.__file__).with_name("run.py").read_text(encoding="utf-8")
    kinds = set(re.findall(r'_(?:end|set)\("(\w+)"', source)) | {"ready"}
    assert {"finished", "paused", "stopped", "capped", "diverged", "early"} <= kinds
    assert all(f"training.state_{k}" in STRINGS for k in kinds)
    run = run_to_end(SMALL)
    assert _status_text(run, "en") == run.status == "finished: 12 steps"
    assert _status_text(run, "zh") == "完成：12 步"
    capped = LabRun(SMALL)
    for _ in capped.train(max_seconds=0):
        pass
    assert _status_text(capped, "en") == capped.status and "{" not in _status_text(capped, "zh")
    assert text("training.state_diverged", "zh", step=3, loss="nan").startswith("在第 3 步发散")
