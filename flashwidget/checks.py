"""Argument checks shared by the public functions, so that every mistake reads the same way."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any


def require_positive_int(value: Any, name: str, meaning: str = "") -> None:
    """Raise a ValueError naming ``name`` unless ``value`` is an int >= 1 (``bool`` is not).

    ``meaning`` says what the number counts, for the message: "every must be a positive int
    (batches); got 0".
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        what = f" ({meaning})" if meaning else ""
        raise ValueError(f"{name} must be a positive int{what}; got {value!r}")


def require_fraction(value: object, name: str) -> float:
    """A finite, non-negative real number, or a ValueError/TypeError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number; got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return float(value)
