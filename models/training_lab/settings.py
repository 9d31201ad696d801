"""What a learner sets for one Training lab run, and its limits (no torch here: the UI imports it
at build time). ``LabSettings.check()`` returns the settings validated or raises a ValueError that
says what to change."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from models.checks import in_range

NETWORKS = ("mlp", "cnn")
ACTIVATIONS = ("relu", "leaky_relu", "gelu", "sigmoid", "tanh")
NORMS = ("none", "batchnorm", "layernorm")
INITS = ("default", "kaiming", "xavier", "zeros", "normal")
OPTIMIZERS = ("sgd", "sgd_momentum", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "cosine", "warmup_cosine", "one_cycle")
LOSSES = ("cross_entropy", "label_smoothing", "mse")
AUGMENTATIONS = ("flip", "rotate", "colour", "crop")

MOMENTUM = 0.9                # "SGD with momentum"
LABEL_SMOOTHING = 0.1         # "cross-entropy with label smoothing"
STEP_DECAY = (0.5, 0.1)       # "step": x0.1 at half the run (the first number is the fraction of the run)
FULL_TRAIN = 8192             # pictures in the full training set (32 px ShapeWorld, pre-rendered once)
VAL_SIZE = 512                # an evaluation scores these and up to 512 training pictures: ~10 % of a run

# Inclusive limits the UI and the API enforce. A run is also capped in wall time (MAX_RUN_SECONDS).
LIMITS = {
    "depth": (1, 12),
    "width": (4, 512),
    "dropout": (0.0, 0.9),
    "init_std": (1e-4, 10.0),
    "lr": (1e-6, 10.0),
    "weight_decay": (0.0, 1.0),
    "warmup_frac": (0.0, 0.5),
    "batch_size": (1, 512),
    "train_size": (64, FULL_TRAIN),
    "clip_grad_norm": (0.0, 100.0),   # 0 = off
    "accumulation": (1, 16),
    "patience": (0, 50),              # evaluations without a better val accuracy; 0 = off
    "steps": (1, 3000),
    "eval_every": (5, 500),
    "seed": (0, 2**31 - 1),
}
MAX_RUN_SECONDS = 300.0       # one run (a step cap is not enough: width 512 x depth 12 is slow)
MAX_RUNS = 6                  # runs a session keeps for the comparison (the oldest is dropped)
SESSION_HOURS = 2             # a session's runs are freed this long after its last run started or streamed
CHOICES = {"network": NETWORKS, "activation": ACTIVATIONS, "norm": NORMS, "init": INITS,
           "optimizer": OPTIMIZERS, "schedule": SCHEDULES, "loss": LOSSES}


@dataclass(frozen=True)
class LabSettings:
    """One run: the network, how it is trained, on how much data. Defaults: a small CNN that
    learns ShapeWorld's eight shapes in a few hundred steps."""
    network: str = "cnn"
    depth: int = 3                  # hidden layers (MLP) / convolution layers (CNN)
    width: int = 16                 # units (MLP) / channels (CNN); 16 channels: ~30 steps/s on one CPU thread
    activation: str = "relu"
    norm: str = "batchnorm"
    residual: bool = False
    dropout: float = 0.0
    init: str = "default"
    init_std: float = 0.02          # for init "normal"
    optimizer: str = "adam"
    lr: float = 3e-3
    weight_decay: float = 0.0
    schedule: str = "constant"
    warmup_frac: float = 0.05       # for "warmup_cosine"
    loss: str = "cross_entropy"
    batch_size: int = 64
    train_size: int = FULL_TRAIN
    augment: tuple[str, ...] = ()
    clip_grad_norm: float = 0.0
    accumulation: int = 1
    mixed_precision: bool = False
    patience: int = 0
    steps: int = 300
    eval_every: int = 25
    seed: int = 0

    def check(self) -> "LabSettings":
        for name, valid in CHOICES.items():
            if getattr(self, name) not in valid:
                raise ValueError(f"{name} must be one of {', '.join(valid)}, got {getattr(self, name)!r}")
        augment = tuple(self.augment or ())
        unknown = [a for a in augment if a not in AUGMENTATIONS]
        if unknown:
            raise ValueError(f"augmentations are {', '.join(AUGMENTATIONS)}; unknown: {', '.join(map(str, unknown))}")
        values = {name: in_range(name, getattr(self, name), low, high) for name, (low, high) in LIMITS.items()}
        if self.network == "cnn" and values["width"] > 128:
            raise ValueError(f"a CNN's width (channels) goes up to 128, got {values['width']}")
        return replace(self, **values, augment=tuple(a for a in AUGMENTATIONS if a in augment),
                       residual=bool(self.residual), mixed_precision=bool(self.mixed_precision))

    def as_dict(self) -> dict:
        d = asdict(self)
        d["augment"] = list(self.augment)
        return d

    @classmethod
    def from_dict(cls, values: dict) -> "LabSettings":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        values = dict(values)
        if "augment" in values:
            values["augment"] = tuple(values["augment"] or ())
        return cls(**values)

    def differences(self, other: "LabSettings") -> dict[str, tuple]:
        """{name: (this value, other value)} of the settings that differ."""
        return {f.name: (getattr(self, f.name), getattr(other, f.name)) for f in fields(self)
                if getattr(self, f.name) != getattr(other, f.name)}

