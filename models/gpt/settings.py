"""What the learner can set for one generation, and its limits (no torch here: the UI imports it
at build time)."""
from __future__ import annotations

from dataclasses import dataclass, replace

from models.checks import in_range

DECODINGS = ("greedy", "sampling", "beam")
TOP_ALTERNATIVES = 10
# Limits the UI and the API enforce (inclusive). max_new_tokens also cannot exceed the context.
LIMITS = {
    "max_new_tokens": (1, 256),
    "temperature": (0.05, 2.0),
    "top_k": (0, 500),               # 0 = off
    "top_p": (0.05, 1.0),            # 1 = off
    "repetition_penalty": (1.0, 2.0),  # 1 = off
    "num_beams": (2, 8),
    "seed": (0, 2**31 - 1),
}


@dataclass(frozen=True)
class GenerationSettings:
    """What the learner chose. ``check()`` returns it validated or raises a ValueError saying why."""
    decoding: str = "sampling"
    max_new_tokens: int = 64
    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.95
    repetition_penalty: float = 1.1
    num_beams: int = 4
    seed: int = 0
    use_cache: bool = True

    def check(self) -> "GenerationSettings":
        if self.decoding not in DECODINGS:
            raise ValueError(f"decoding must be one of {', '.join(DECODINGS)}, got {self.decoding!r}")
        values = {name: in_range(name, getattr(self, name), low, high) for name, (low, high) in LIMITS.items()}
        return replace(self, **values, use_cache=bool(self.use_cache))

# The attention tab's text view (models/gpt/attention.py): the head view labels every token on
# both axes, more do not fit legibly; the step-by-step tables print every number.
ATTENTION_MAX_TOKENS = 48
ATTENTION_STEP_TOKENS = 8
