"""Check an input batch before it reaches the model.

A bad input should fail here, with a message naming what was wrong and what is expected, rather
than as a shape error from deep inside the model (or, worse, as a map of NaNs).
"""

from __future__ import annotations

from typing import Any

import torch


def as_image_batch(input_: Any) -> torch.Tensor:
    """Return ``input_`` as an (N, C, H, W) floating tensor, or raise TypeError/ValueError."""
    if not isinstance(input_, torch.Tensor):
        raise TypeError(
            f"input_ must be a torch.Tensor of shape (C, H, W) or (N, C, H, W); got "
            f"{type(input_).__qualname__}. Turn an image into one with "
            "flashwidget.utils.apply_transforms(image)."
        )
    if input_.ndim == 3:
        input_ = input_.unsqueeze(0)
    elif input_.ndim != 4:
        raise ValueError(
            f"input_ must have shape (C, H, W) or (N, C, H, W); got {input_.ndim} dimensions "
            f"{tuple(input_.shape)}"
        )
    if not input_.is_floating_point():
        raise TypeError(
            f"input_ has dtype {input_.dtype}; expected a floating-point tensor, normalised the "
            "way the model was trained (flashwidget.utils.apply_transforms does this)"
        )
    if input_.numel() == 0:
        raise ValueError(f"input_ is empty: shape {tuple(input_.shape)}")
    if not bool(torch.isfinite(input_).all()):
        raise ValueError("input_ contains NaN or infinite values; expected finite pixel values")
    return input_
