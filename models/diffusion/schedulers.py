"""Samplers for one trained noise predictor: diffusers' own scheduler classes, swapped by name.

A UNet trained with DDPM's noise-prediction loss does not care which sampler walks it back from
noise: every class below is built from the *training* scheduler's config with
``SchedulerClass.from_config(config)`` (same betas, same ᾱ_t), only the walk differs:

- ``ddpm``: ancestral sampling, fresh noise every step; made for all 1000 steps.
- ``ddim``: deterministic at eta 0 (eta 1 adds DDPM-like noise); good in 25-50 steps.
- ``dpm++``: DPM-Solver++ (2nd-order multistep, predicts x0); good in 10-25 steps.
- ``euler``: Euler steps of the probability-flow ODE in σ space (x = x0 + σ·ε, so its sample
  needs ``scale_model_input`` before the UNet sees it).
"""
from __future__ import annotations

from dataclasses import dataclass

from models import limits

# The training schedule of the studio model. A cosine ᾱ_t (Nichol & Dhariwal) keeps a 32 px
# picture recognisable for longer than the linear one, which is pure noise for the last ~20 %
# of its steps at this size. Its last step is extreme, though: ᾱ_999 ≈ 2e-9 (σ ≈ 20,000), and a
# sampler that starts there without clipping x0 (DPM-Solver++, Euler) multiplies the UNet's
# ε error by σ: with "trailing" timesteps (which start at 999) both drew saturated noise (colour
# right 18 % of the time against 68-90 % here). "leading" starts lower, where the picture is still
# all but noise and x0 = (x_t - sqrt(1-ᾱ)·ε)/sqrt(ᾱ) is usable: at T - T/steps for DDPM, DDIM and
# Euler (960 for 25 steps), and at steps·(T // (steps + 1)) for DPM-Solver++, which spaces steps + 1
# points (950 for 25 steps; tests/unit/test_diffusion.py checks both).
TRAINING_SCHEDULER: dict = dict(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2",
                                prediction_type="epsilon", clip_sample=True, timestep_spacing="leading")

MIN_STEPS = limits.DIFFUSION_MIN_STEPS
MAX_GUIDANCE = limits.DIFFUSION_MAX_GUIDANCE
ETA_RANGE = (0.0, 1.0)        # DDIM: 0 deterministic, 1 as noisy as DDPM


@dataclass(frozen=True)
class SamplingRun:
    sampler: str
    steps: int
    eta: float = 0.0


# What the diffusion tab starts with, and what the studio card's headline numbers measure
# (training_scripts/train_diffusion.py; tests/unit/test_diffusion_training.py checks they agree).
# Why this one: the "Where to start" part of "diffusion.learn" in tabs/i18n_diffusion.py.
DEFAULT_RUN = SamplingRun("dpm++", 20)
# The classic reference the card also reports (the floor: DDIM 50 >= 0.80).
REFERENCE_RUN = SamplingRun("ddim", 50, 1.0)


@dataclass(frozen=True)
class SamplerInfo:
    key: str
    label: str
    class_name: str           # diffusers class
    stochastic: bool          # draws fresh noise at each step (needs the seeded generator)
    takes_eta: bool = False   # has DDIM's eta knob (how much fresh noise each step adds)


SAMPLERS: dict[str, SamplerInfo] = {
    "ddpm": SamplerInfo("ddpm", "DDPM (ancestral)", "DDPMScheduler", True),
    "ddim": SamplerInfo("ddim", "DDIM", "DDIMScheduler", False, takes_eta=True),
    "dpm++": SamplerInfo("dpm++", "DPM-Solver++ (2M)", "DPMSolverMultistepScheduler", False),
    "euler": SamplerInfo("euler", "Euler", "EulerDiscreteScheduler", False),
}
# The runs the diffusion tab's "compare samplers" view offers: key -> (sampler, steps)
COMPARE_RUNS: dict[str, tuple[str, int]] = {
    f"{sampler}-{steps}": (sampler, steps) for sampler, steps in (
        ("ddpm", 1000), ("ddpm", 50), ("ddim", 50), ("ddim", 25), ("ddim", 10), ("dpm++", 20), ("dpm++", 10),
        ("euler", 25))}


def scheduler_names() -> list[str]:
    return list(SAMPLERS)


def compare_run(key: str) -> tuple[str, int]:
    """(sampler, steps) of a COMPARE_RUNS key, or a ValueError naming them."""
    if key not in COMPARE_RUNS:
        raise ValueError(f"unknown sampler run {key!r}; choose from {', '.join(COMPARE_RUNS)}")
    return COMPARE_RUNS[key]


def scheduler_class(name: str):
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")
    import diffusers
    return getattr(diffusers, SAMPLERS[name].class_name)


def make_scheduler(name: str, config):
    """A fresh ``name`` scheduler on the schedule of ``config`` (a scheduler's ``.config`` or a dict).

    Fresh each call: multistep solvers keep per-run state (their last model outputs)."""
    cls = scheduler_class(name)
    extra = {"algorithm_type": "dpmsolver++", "solver_order": 2} if name == "dpm++" else {}
    return cls.from_config(dict(config), **extra)


def check_settings(name: str, steps: int, guidance: float, eta: float, num_train_timesteps: int) -> None:
    """Refuse settings a sampler cannot run, with a message saying the valid range."""
    scheduler_class(name)
    if not isinstance(steps, int) or not MIN_STEPS <= steps <= num_train_timesteps:
        raise ValueError(f"steps must be a whole number from {MIN_STEPS} to {num_train_timesteps} "
                         f"(the training schedule's length), got {steps!r}")
    if not 0.0 <= float(guidance) <= MAX_GUIDANCE:
        raise ValueError(f"guidance scale must be 0-{MAX_GUIDANCE:g} (1 = plain conditional, "
                         f"0 = unconditional), got {guidance!r}")
    if not ETA_RANGE[0] <= float(eta) <= ETA_RANGE[1]:
        raise ValueError(f"eta must be 0-1, got {eta!r}")
    if float(eta) != 0.0 and not SAMPLERS[name].takes_eta:
        raise ValueError(f"eta is DDIM's knob; {SAMPLERS[name].label} has none: set it to 0 "
                         "or pick DDIM")
