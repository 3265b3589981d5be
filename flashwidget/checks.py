"""Argument checks shared by the public functions, so that every mistake reads the same way."""

from __future__ import annotations

import math
import random
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


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


def require_positive_number(value: object, name: str) -> float:
    """A finite real number > 0, or a ValueError/TypeError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number; got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive, finite number; got {value!r}")
    return float(value)


def checked_generator(generator: Any, seed: int | None = 0) -> torch.Generator:
    """``generator`` if it is a torch.Generator (a TypeError otherwise); when ``None``, a new
    one seeded with ``seed``, or from the operating system when ``seed`` is ``None``. Either
    way the global random states of torch, numpy and Python are never drawn from."""
    import torch  # here, so that this module stays importable without torch (the CLI's parser)

    if generator is None:
        if seed is None:
            seed = random.SystemRandom().randrange(2**63)
        return torch.Generator().manual_seed(seed)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}")
    return generator
