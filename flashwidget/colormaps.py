"""Colormap lookup tables shared by the static figures and the browser widget.

The widget sends saliency maps to the browser as 8-bit levels and colours them there through a
256-entry RGBA table; the figures colour the same maps in Python. Both go through this module, so
a level means the same colour everywhere, and that colour is the one matplotlib itself draws:

* :func:`quantize` turns floats in [0, 1] into levels with the rule ``Colormap.__call__`` uses
  for a 256-colour map: multiply by 256, send 256 (that is, 1.0) to 255, truncate toward zero.
* :func:`colormap_lut` holds one colour per level, ``lut[i] == cmap(i, bytes=True)``.

Hence ``apply_colormap(v, name) == matplotlib.colormaps[name](v, bytes=True)`` bit for bit for
every colormap with 256 colours (viridis, gray, jet, ... nearly all of them). A colormap with
``N != 256`` colours (tab10 has 10, twilight 510) cannot be followed exactly by 256 levels, since
its colour boundaries fall between levels; its table is matplotlib's own 256-colour resampling,
``cmap.resampled(256)``, and ``apply_colormap`` equals ``cmap.resampled(256)(v, bytes=True)``.
"""

from __future__ import annotations

import difflib
from functools import cache

import matplotlib
import numpy as np

LEVELS = 256


def colormap_names() -> list[str]:
    """Sorted names of every colormap registered with matplotlib."""
    return sorted(matplotlib.colormaps)


@cache
def colormap_lut(name: str = "viridis") -> np.ndarray:
    """Return the (256, 4) uint8 RGBA table of colormap ``name``, indexed by 8-bit level.

    The array is cached and read-only; copy it (``lut.copy()``) to modify it. Raises ValueError
    for a name matplotlib does not know.
    """
    if not isinstance(name, str):
        raise TypeError(f"colormap names are str, not {type(name).__name__}")
    try:
        cmap = matplotlib.colormaps[name]
    except KeyError:
        names = colormap_names()
        hints = difflib.get_close_matches(name, names, n=5) or names[:5]
        raise ValueError(
            f"unknown colormap {name!r}; expected a matplotlib colormap name such as "
            f"{', '.join(map(repr, hints))} (colormap_names() lists all {len(names)})"
        ) from None
    if cmap.N != LEVELS:
        cmap = cmap.resampled(LEVELS)
    lut = cmap(np.arange(LEVELS), bytes=True)
    lut.flags.writeable = False
    return lut


def quantize(values: np.ndarray) -> np.ndarray:
    """Map floats in [0, 1] to uint8 levels (table indices) exactly as matplotlib does.

    Integers are refused rather than guessed at: matplotlib reads them as table indices, not as
    fractions, so ``1`` would mean level 1, not the top of the scale.
    """
    array = np.asarray(values)
    if array.dtype.kind != "f":
        raise TypeError(
            f"expected floats in [0, 1], got dtype {array.dtype}; "
            "index colormap_lut(name) directly to colour 8-bit levels"
        )
    if not np.all((array >= 0) & (array <= 1)):  # also false for NaN
        raise ValueError("values must lie in [0, 1]; normalise the map first")
    # Multiplying by 256, a power of two, is exact in every float dtype, as in matplotlib.
    return np.minimum(array * LEVELS, LEVELS - 1).astype(np.uint8)


def apply_colormap(values: np.ndarray, name: str = "viridis") -> np.ndarray:
    """Colour floats in [0, 1]: a new ``values.shape + (4,)`` uint8 RGBA array."""
    return colormap_lut(name)[quantize(values)]
