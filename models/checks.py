"""One range check for every setting a learner or a script sends (no torch here: the UI imports it)."""
from __future__ import annotations

import math


def in_range(name: str, value, low, high):
    """``value`` checked against [low, high] (a whole number when both bounds are ints), returned as
    int or float; a ValueError saying what to send otherwise (NaN and booleans are not numbers)."""
    integer = isinstance(low, int) and isinstance(high, int)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError(f"{name} must be a number between {low} and {high}, got {value!r}")
    if integer:
        if float(value) != int(value):
            raise ValueError(f"{name} must be a whole number between {low} and {high}, got {value!r}")
        value = int(value)
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value!r}")
    return value if integer else float(value)
