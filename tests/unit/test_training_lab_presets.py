"""Each Training lab preset is a claim about what its run shows; these seeded runs prove them.
Numbers are printed (pytest -s) for the closing note; `python -m models.training_lab.bench` times them."""
from __future__ import annotations

import functools
import statistics

import pytest

from models.training_lab.presets import PRESETS
from models.training_lab.run import LabRun


@functools.lru_cache(maxsize=None)
def run(name: str) -> LabRun:
    r = LabRun(PRESETS[name])
    for _ in r.train():
        pass
    print(f"\n{name}: {r.status}; best val {r.best_val_accuracy}, final train acc "
          f"{r.history.train_accuracy[-1] if r.history.train_accuracy else None}, {r.step / r.seconds:.1f} steps/s")
    return r


def gap(r: LabRun) -> float:
    """Training minus validation accuracy at the end of the run."""
    return r.history.train_accuracy[-1] - r.history.val_accuracy[-1]


def grad_ratio(r: LabRun) -> float:
    """The first layer's gradient norm over the last layer's, median over the run."""
    return statistics.median(g[0] / g[-1] for g in r.history.grad_norm)


def test_vanishing_gradients_and_their_rescue():
    deep = run("vanishing")
    print(f"first/last layer gradient norm, median over the run: {grad_ratio(deep):.2e}")
    assert grad_ratio(deep) <= 1 / 100 and deep.best_val_accuracy <= 0.3
    relu = run("vanishing_rescued_relu")
    assert relu.settings.steps == deep.settings.steps and relu.best_val_accuracy >= 0.9
    # BatchNorm and residual connections bring the gradient back (by far more than 100x) though six
    # sigmoid layers still learn slowly: 300 steps are not enough for 90 % with them
    for other in ("vanishing_rescued_batchnorm", "vanishing_rescued_residual"):
        print(f"{other}: gradient ratio {grad_ratio(run(other)):.2e}")
        assert grad_ratio(run(other)) >= 100 * grad_ratio(deep)


def test_a_learning_rate_too_high_diverges_and_the_usual_one_converges():
    high, usual = run("lr_too_high"), run("lr_usual")
    assert high.diverged_at is not None and high.status.startswith(f"diverged at step {high.diverged_at}")
    assert usual.diverged_at is None and usual.best_val_accuracy >= 0.85
    assert usual.history.loss[-1] <= usual.history.loss[0] / 3


def test_adam_reaches_90_percent_in_fewer_steps_than_plain_sgd():
    adam, sgd = run("adam"), run("sgd")
    a, s = adam.steps_to(0.9), sgd.steps_to(0.9)
    print(f"steps to 90 % validation accuracy: Adam {a}, SGD {s}")
    assert a is not None and (s is None or a < s)


def test_overfitting_and_what_narrows_the_gap():
    tiny = run("overfitting")
    assert tiny.history.train_accuracy[-1] >= 0.95 and gap(tiny) >= 0.3
    narrowed = {name: gap(tiny) - gap(run(name)) for name in ("overfitting_augmented", "overfitting_more_data")}
    print(f"gap {gap(tiny):.3f}; narrowed by {narrowed}")
    assert max(narrowed.values()) >= 0.15


def test_warmup_tames_the_first_steps():
    cold, warm = run("no_warmup"), run("warmup")
    peak = lambda r: max(r.history.loss[:50])  # noqa: E731
    print(f"highest loss of the first 50 steps: without warm-up {peak(cold):.3f}, with {peak(warm):.3f}")
    assert peak(warm) < peak(cold)
    assert warm.best_val_accuracy >= cold.best_val_accuracy + 0.2     # at this rate it matters
