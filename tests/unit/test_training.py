"""The shared training loop and the CNN recipe: quick runs, resume, DDP on CPU, LR schedule."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from models.checkpoints import CARD_KEYS, load_state_dict
from models.cnn.modeling import STUDIO_CNN_CONFIG, build_cnn
from training_scripts import train_cnn
from training_scripts.common import LAST_STATE, Dist, TrainConfig, Trainer, cosine_with_warmup

REPO = Path(__file__).resolve().parents[2]
CPU = Dist(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """One ShapeWorld cache for the module: the quick sets are rendered once."""
    return tmp_path_factory.mktemp("shapeworld")


# for runs whose learning is not checked
SMALL = ("--train-size", "128", "--val-size", "32", "--heldout-size", "32")


def quick(data_dir: Path, tmp: Path, *extra: str) -> train_cnn.CnnRun:
    return train_cnn.main(["--quick", "--data-dir", str(data_dir), "--out", str(tmp / "ckpt"),
                           *extra])


def test_quick_run_learns_and_writes_a_checkpoint(data_dir, tmp_path):
    run = quick(data_dir, tmp_path, "--run-dir", str(tmp_path / "run"))
    losses = [row["train_loss"] for row in run.result.history]
    assert len(losses) == 2 and losses[-1] < losses[0]

    folder = tmp_path / "ckpt" / train_cnn.MODEL_ID
    assert run.checkpoint_dir == folder
    assert (folder / "model.safetensors").is_file()
    card = json.loads((folder / "card.json").read_text())
    assert set(CARD_KEYS) | {"class_names", "world_size"} <= set(card)
    assert card["world_size"] == 1 and card["architecture"] == STUDIO_CNN_CONFIG
    assert card["train_command"].startswith("python training_scripts/train_cnn.py --quick")
    assert card["data"]["train"] == train_cnn.QUICK["train"]
    assert {"val_accuracy", "heldout_accuracy", "heldout_per_class"} <= set(card["metrics"])
    # the weights load into the architecture the card names, through the sha256 check
    state, _ = load_state_dict(train_cnn.MODEL_ID, tmp_path / "ckpt")
    build_cnn(card["architecture"]).load_state_dict(state)
    assert (tmp_path / "run" / LAST_STATE).is_file() and any((tmp_path / "run" / "tb").iterdir())


def test_resume_continues_at_the_next_epoch(data_dir, tmp_path):
    run_dir = str(tmp_path / "resumed")
    first = quick(data_dir, tmp_path, *SMALL, "--epochs", "1", "--run-dir", run_dir)
    assert [row["epoch"] for row in first.result.history] == [1]
    second = quick(data_dir, tmp_path, *SMALL, "--epochs", "2", "--run-dir", run_dir, "--resume")
    assert second.result.start_epoch == 2
    assert [row["epoch"] for row in second.result.history] == [1, 2]
    assert second.result.history[0] == first.result.history[0]

    straight = quick(data_dir, tmp_path, *SMALL, "--epochs", "2", "--run-dir",
                     str(tmp_path / "straight"))
    assert second.result.global_step == straight.result.global_step
    saved = torch.load(Path(run_dir) / LAST_STATE, weights_only=True)
    assert saved["epoch"] == 2 and saved["global_step"] == straight.result.global_step


def _tiny_problem(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(96, 4, generator=g)
    y = (x[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))

    def loss_fn(m, batch):
        xb, yb = batch
        return nn.functional.cross_entropy(m(xb + 0.1 * torch.randn_like(xb)), yb)  # uses the RNG

    def evaluate_fn(m, loader):
        hits = sum((m(xb).argmax(1) == yb).sum().item() for xb, yb in loader)
        return {"accuracy": hits / 96}

    return model, (x, y), loss_fn, evaluate_fn


def test_interrupted_run_resumes_into_the_same_weights(tmp_path):
    """A run killed during epoch 2 and resumed ends bit-identical to an uninterrupted one."""
    def trainer(run_dir, evaluate_wrapper=None):
        torch.manual_seed(0)
        model, data, loss_fn, evaluate_fn = _tiny_problem()
        cfg = TrainConfig(epochs=3, batch_size=16, lr=0.05, grad_accum=2, warmup_frac=0.2,
                          run_dir=str(run_dir), progress=False)
        return Trainer(model, data, data, loss_fn, evaluate_wrapper or evaluate_fn, cfg, dist=CPU)

    straight = trainer(tmp_path / "a").fit()

    calls = []

    def crash_in_epoch_2(m, loader):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return _tiny_problem()[3](m, loader)

    with pytest.raises(KeyboardInterrupt):
        trainer(tmp_path / "b", crash_in_epoch_2).fit()
    resumed = trainer(tmp_path / "b").fit(resume=True)
    assert resumed.start_epoch == 2
    assert resumed.global_step == straight.global_step == 3 * 3   # 6 micro-batches / 2 per step
    for key, value in straight.best_state.items():
        assert torch.equal(value, resumed.best_state[key]), key
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in straight.history]
    # the card's account: a resumed invocation names its wall time as its own
    from training_scripts.common import run_record
    assert run_record(straight, 12.34) == {
        "best_epoch": straight.best_epoch, "epochs_run": 3, "global_step": 9, "wall_seconds": 12.3,
        "resumed": False, "history": [{k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()}
                                      for row in straight.history]}
    again = run_record(resumed, 5.0)
    assert again["resumed"] and again["wall_seconds_this_invocation"] == 5.0 and "wall_seconds" not in again


def test_early_stopping_and_a_diverging_loss():
    model, data, loss_fn, _ = _tiny_problem()
    flat = TrainConfig(epochs=5, batch_size=16, patience=1, progress=False)
    result = Trainer(model, data, data, loss_fn, lambda m, loader: {"accuracy": 0.5}, flat,
                     dist=CPU).fit()
    assert result.stopped_early and len(result.history) == 2 and result.best_epoch == 2

    nan_loss = lambda m, batch: loss_fn(m, batch) * float("nan")
    with pytest.raises(FloatingPointError, match="learning rate"):
        Trainer(model, data, data, nan_loss, lambda m, loader: {"accuracy": 0.5},
                TrainConfig(epochs=1, batch_size=16, progress=False), dist=CPU).fit()
    with pytest.raises(ValueError, match="no full batch"):
        Trainer(model, data, data, loss_fn, lambda m, loader: {"accuracy": 0.5},
                TrainConfig(epochs=1, batch_size=200, progress=False), dist=CPU)


def test_torchrun_two_cpu_processes(data_dir, tmp_path):
    out = tmp_path / "ckpt"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "training_scripts/train_cnn.py", "--quick", "--data-dir", str(data_dir),
           *SMALL, "--epochs", "1", "--run-dir", str(tmp_path / "run"), "--out", str(out),
           "--device", "cpu"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    cards = list(out.glob("*/card.json"))
    assert len(cards) == 1
    card = json.loads(cards[0].read_text())
    assert card["world_size"] == 2
    assert card["train_command"].startswith("torchrun --standalone --nproc_per_node=2 ")


def test_cosine_with_warmup_rises_then_decays_to_the_floor():
    param = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=2.0)
    sched = cosine_with_warmup(opt, warmup_steps=10, total_steps=100, min_lr_ratio=0.05)
    lrs = []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    warm, decay = lrs[:10], lrs[9:]
    assert all(a < b for a, b in zip(warm, warm[1:])) and warm[-1] == pytest.approx(2.0)
    assert all(a >= b for a, b in zip(decay, decay[1:])) and decay[-1] < 2.0 * 0.06
    assert opt.param_groups[0]["lr"] == pytest.approx(2.0 * 0.05)


@pytest.mark.parametrize("kwargs", [dict(warmup_steps=10, total_steps=10),
                                    dict(warmup_steps=-1, total_steps=10),
                                    dict(warmup_steps=0, total_steps=0),
                                    dict(warmup_steps=0, total_steps=10, min_lr_ratio=1.5)])
def test_cosine_with_warmup_rejects_bad_arguments(kwargs):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError):
        cosine_with_warmup(opt, **kwargs)


@pytest.mark.parametrize("kwargs", [dict(epochs=0), dict(batch_size=0), dict(amp="fp8"),
                                    dict(warmup_frac=1.0), dict(lr=0.0)])
def test_train_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        TrainConfig(**kwargs)


def test_augment_shuffles_channels_and_greys():
    x = torch.rand(16, 3, 8, 8)
    shuffled = train_cnn.augment(x, colour_p=1.0, grey_p=0.0)
    # a channel shuffle (and a flip) moves values around but keeps every pixel's RGB values
    flat = lambda t: t.permute(0, 2, 3, 1).reshape(16, -1, 3).sort(-1).values.sort(1).values
    assert torch.allclose(flat(shuffled), flat(x))
    grey = train_cnn.augment(x, colour_p=0.0, grey_p=1.0)
    assert torch.allclose(grey[:, 0], grey[:, 1]) and torch.allclose(grey[:, 1], grey[:, 2])
