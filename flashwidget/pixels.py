"""What the widget sends to the browser: images and maps as raw bytes, ready for a canvas.

Raw bytes rather than PNG because the browser can put them into ``ImageData`` without decoding,
and because a map goes over as one byte per pixel (8-bit levels) that the browser colours
through a 256-entry table; the colour and the blending with the image are decided there, so
changing either costs no trip to Python.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from flashwidget.colormaps import quantize
from flashwidget.saliency import max_abs_over_channels
from flashwidget.utils import denormalize, standardize_and_clip

PERCENTILE = 99.0


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


def image_rgba(
    tensor: torch.Tensor, mean: Sequence[float], std: Sequence[float]
) -> tuple[bytes, list[int]]:
    """The model's input (C, H, W), normalised with ``mean``/``std``, as opaque RGBA bytes.

    Showing the transformed input rather than the original file means the picture is exactly
    the pixels the map explains: same crop, same size, one map pixel per image pixel.
    """
    rgb = _to_rgb_uint8(denormalize(tensor.cpu(), mean, std))
    height, width, _ = rgb.shape
    alpha = np.full((height, width, 1), 255, dtype=np.uint8)
    return np.concatenate([rgb, alpha], axis=2).tobytes(), [height, width]


def saliency_levels(gradients: torch.Tensor, take_max: bool) -> np.ndarray:
    """Reduce (C, H, W) gradients to an (H, W) saliency map of 8-bit colormap levels.

    ``take_max`` keeps the largest |gradient| over channels (Simonyan et al. 2013); otherwise
    |gradient| is summed over channels (Captum's ``Saliency`` with ``visualize_image_attr``).
    The map is divided by its own 99th percentile and clipped to [0, 1], so a handful of extreme
    pixels cannot turn the rest of the map dark; maps whose 99th percentile is zero (almost all
    zeros) are divided by their maximum instead. Levels follow matplotlib's rule
    (:func:`flashwidget.colormaps.quantize`).
    """
    magnitude = max_abs_over_channels(gradients)[0] if take_max else gradients.abs().sum(dim=0)
    values = magnitude.detach().float().cpu().numpy()
    if not np.isfinite(values).all():
        raise ValueError(
            "the gradients contain NaN or infinite values: the model's output is not finite for "
            "this image"
        )
    scale = np.percentile(values, PERCENTILE)
    if scale <= 0:
        scale = values.max()
    if scale <= 0:
        return np.zeros(values.shape, dtype=np.uint8)
    return quantize(np.minimum(values / scale, 1.0))


def gradient_rgb(gradients: torch.Tensor) -> bytes:
    """FlashTorch's "gradients across RGB channels" panel: standardised, clipped, as RGB bytes."""
    return _to_rgb_uint8(standardize_and_clip(gradients)).tobytes()
