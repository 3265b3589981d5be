"""What the widget sends to the browser: images and maps as raw bytes, ready for a canvas.

Raw bytes rather than PNG because the browser can put them into ``ImageData`` without decoding.
A map goes over as one float32 a pixel, with its sign: the browser picks which sign to show,
clips outliers at a percentile, turns the values into 8-bit levels and colours them through a
256-entry table, so changing any of these, or the blending with the image, costs no trip to
Python. The functions here compute the same levels in Python, bit for bit, as the reference the
view is tested against and for figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from flashwidget.colormaps import quantize
from flashwidget.saliency import max_abs_over_channels
from flashwidget.utils import denormalize, standardize_and_clip

SIGNS = ("absolute", "positive", "negative", "all")
DEFAULT_CLIP = 99.5  # percentile of the map's magnitudes that becomes the top of the colour scale


def _to_rgb_uint8(pixels: torch.Tensor) -> np.ndarray:
    """(1 or 3, H, W) floats in [0, 1] -> (H, W, 3) uint8, rounding to the nearest level."""
    if pixels.shape[0] == 1:
        pixels = pixels.expand(3, -1, -1)
    if pixels.shape[0] != 3:
        raise ValueError(
            f"cannot display an image with {pixels.shape[0]} channels; expected 1 or 3"
        )
    scaled = (pixels.detach().float().cpu().clamp(0, 1) * 255).round()
    return scaled.to(torch.uint8).permute(1, 2, 0).numpy()


def rgb_pixels(tensor: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """The model's input (C, H, W), normalised with ``mean``/``std``, as (H, W, 3) uint8."""
    return _to_rgb_uint8(denormalize(tensor.cpu(), mean, std))


def image_rgba(
    tensor: torch.Tensor, mean: Sequence[float], std: Sequence[float]
) -> tuple[bytes, list[int]]:
    """The model's input (C, H, W), normalised with ``mean``/``std``, as opaque RGBA bytes.

    Showing the transformed input rather than the original file means the picture is exactly
    the pixels the map explains: same crop, same size, one map pixel per image pixel.
    """
    rgb = rgb_pixels(tensor, mean, std)
    height, width, _ = rgb.shape
    alpha = np.full((height, width, 1), 255, dtype=np.uint8)
    return np.concatenate([rgb, alpha], axis=2).tobytes(), [height, width]


def channel_map(maps: torch.Tensor, take_max: bool) -> np.ndarray:
    """Reduce a (C, H, W) map to one float32 value a pixel, the quantity the view colours.

    ``take_max`` keeps the largest magnitude over channels (Simonyan et al. 2013, FlashTorch's
    "max gradients"), which is never negative; otherwise channels are summed with their signs
    (Captum's ``visualize_image_attr``), so that positive and negative evidence can be told
    apart in the browser. A one-channel map (Grad-CAM) is itself either way, up to the sign.
    """
    reduced = max_abs_over_channels(maps)[0] if take_max else maps.sum(dim=0)
    values = reduced.detach().float().cpu().numpy()
    if not np.isfinite(values).all():
        raise ValueError(
            "the map contains NaN or infinite values: the model's output is not finite for "
            "this image"
        )
    return values


def _signed(values: np.ndarray, sign: str) -> np.ndarray:
    """The values the colour scale is built on, in float64 as the browser computes them."""
    if sign not in SIGNS:
        raise ValueError(f"sign must be one of {', '.join(SIGNS)}; got {sign!r}")
    values = np.asarray(values, dtype=np.float64)
    if sign == "absolute":
        return np.abs(values)
    if sign == "positive":
        return np.maximum(values, 0.0)
    if sign == "negative":
        return np.maximum(-values, 0.0)
    return values


def clip_scale(maps: Sequence[np.ndarray], sign: str, percentile: float) -> float:
    """The value that becomes the top of the colour scale, shared by all of ``maps``.

    It is the ``percentile`` of the magnitudes by the nearest-rank rule (the smallest value
    with at least that share of the values at or below it), so a handful of extreme pixels
    cannot turn the rest of the map dark. Nearest rank rather than numpy's interpolation
    because the browser computes the same number, and the two must agree to the last bit for
    the pixels to be exactly the ones Python would draw. A map whose percentile is zero (almost
    all zeros) is scaled by its maximum instead; an all-zero map by 1.
    """
    magnitudes = np.sort(np.concatenate([np.abs(_signed(m, sign)).ravel() for m in maps]))
    rank = math.ceil(percentile / 100 * len(magnitudes))
    scale = float(magnitudes[max(rank, 1) - 1])
    if scale <= 0:
        scale = float(magnitudes[-1])
    return scale if scale > 0 else 1.0


def map_levels(values: np.ndarray, sign: str, scale: float) -> np.ndarray:
    """8-bit colormap levels of ``values`` (H, W) for ``sign``, with ``scale`` at the top.

    "absolute", "positive" and "negative" put 0 at level 0 and ``scale`` (or more) at 255;
    "all" is for a diverging colormap, with 0 in the middle (level 128) and -``scale`` and
    ``scale`` at the ends. Levels follow matplotlib's rule (:func:`quantize`). ``js/logic.js``
    does the same in the browser.
    """
    shown = _signed(values, sign) / scale
    if sign == "all":
        return quantize((np.clip(shown, -1.0, 1.0) + 1.0) / 2.0)
    return quantize(np.minimum(shown, 1.0))


def saliency_levels(
    values: np.ndarray, sign: str = "absolute", percentile: float = DEFAULT_CLIP
) -> np.ndarray:
    """Levels of one map on its own scale: what the view shows for it."""
    return map_levels(values, sign, clip_scale([values], sign, percentile))


def gradient_rgb(gradients: torch.Tensor) -> bytes:
    """FlashTorch's "gradients across RGB channels" panel: standardised, clipped, as RGB bytes."""
    return _to_rgb_uint8(standardize_and_clip(gradients)).tobytes()
