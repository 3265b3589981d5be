"""How a batch job stores what it computed: maps as 8-bit PNGs with a scale, images as JPEGs,
and every file written so that a killed job never leaves a half-written one in its place.

A map is stored as the widget shows it: one signed value a pixel (the sum over colour channels
of an input-space map, Grad-CAM's one channel as it is). Why an 8-bit PNG rather than float16
arrays: a 224 x 224 map takes 5 KB (Grad-CAM) to 45 KB (a grainy gradient) instead of 100 KB,
any image viewer opens it, and the browser decodes it natively, which is what lets the gallery
and the HTML report show 50,000 maps. Why square-root companding rather than linear levels:
attribution maps are heavy-tailed (a few pixels far above the rest), so linear levels with the
maximum at the top would leave the bulk of the map on a handful of levels; companding spends
the levels where the values are.

Encoding, with ``scale`` the map's largest magnitude (stored in the index)::

    byte  = 128 + sign(v) * round(127 * sqrt(|v| / scale))      # 1 .. 255, zero is 128
    value = sign(b - 128) * ((|b - 128|) / 127) ** 2 * scale

so a value is recovered to within ``scale / 127`` at the top of the range and far more closely
near zero (``scale / 127**2`` at the first level). An all-zero map has scale 0.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

LEVELS = 127  # levels of each sign; 128 is zero
JPEG_QUALITY = 90


def encode_map(values: np.ndarray) -> tuple[np.ndarray, float]:
    """A map (H, W) of finite floats as uint8 levels (H, W) and the scale that decodes them."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"a map to encode must be (H, W); got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError("the map contains NaN or infinite values")
    scale = float(np.float32(np.abs(values).max(initial=0.0)))
    if scale == 0.0:
        return np.full(values.shape, 128, dtype=np.uint8), 0.0
    magnitude = np.rint(LEVELS * np.sqrt(np.minimum(np.abs(values) / scale, 1.0)))
    return (128 + np.sign(values) * magnitude).astype(np.uint8), scale


def decode_map(levels: np.ndarray, scale: float) -> np.ndarray:
    """The values (H, W), float32, that :func:`encode_map` stored as ``levels`` and ``scale``."""
    signed = levels.astype(np.float64) - 128
    return (np.sign(signed) * (np.abs(signed) / LEVELS) ** 2 * scale).astype(np.float32)


def png_bytes(levels: np.ndarray) -> bytes:
    """8-bit grayscale PNG of ``levels`` (H, W), compressed the same way every time."""
    buffer = io.BytesIO()
    Image.fromarray(levels, mode="L").save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def jpeg_bytes(rgb: np.ndarray) -> bytes:
    """JPEG of an (H, W, 3) uint8 image, at a quality where the picture under a map is clean."""
    buffer = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def read_map(path: Path, scale: float) -> np.ndarray:
    """The map stored at ``path`` with ``scale``, as float32 values (H, W)."""
    with Image.open(path) as image:
        return decode_map(np.asarray(image.convert("L")), scale)


def write_atomically(path: Path, pieces: Iterable[bytes]) -> int:
    """Write the ``pieces`` one after another to ``path``, so that ``path`` holds either its
    old content or all of the new; return how many pieces there were.

    The bytes go to a temporary name in the same folder, reach the disk (fsync), and the
    temporary file then replaces ``path`` in one step (``os.replace`` is atomic on one file
    system): a job killed at any moment leaves the old file or the new one, never part of one.
    Pieces rather than one ``bytes``, so that an index of a million rows is streamed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    count = 0
    with open(temporary, "wb") as file:
        for piece in pieces:
            file.write(piece)
            count += 1
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    return count
