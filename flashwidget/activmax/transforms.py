"""Small random transformations applied to the image before each step of the ascent.

An image that excites a channel only at one exact alignment is exploiting the network's pixel
grid, not showing the feature; asking it to keep working when shifted, scaled and rotated a
little at every step makes it robust, and readable (Olah et al. 2017; Mordvintsev et al. 2015).
"standard" is Lucid's ``standard_transforms``: pad 12 px, jitter 8 px, scale by one of 0.90 to
1.10, rotate by -10 to 10 degrees (0 more often), jitter 4 px. Every random choice is drawn
from the generator given, one choice per step for the whole batch. The result is brought back
to the image's size by cropping its centre (or padding with grey), never by resizing, which
would undo the random scale; so models with a fixed input size work too, and the model sees
the image at its own scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
TRANSFORMS = ("standard", "none")


def _choice(options: Sequence[float], generator: torch.Generator) -> float:
    return options[int(torch.randint(len(options), (), generator=generator))]


def pad(pixels: int, value: float = 0.5) -> Transform:
    """A border of ``value`` (mid-grey), so the other transforms do not bring in black."""

    def apply(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return F.pad(images, (pixels, pixels, pixels, pixels), value=value)

    return apply


def jitter(pixels: int) -> Transform:
    """A crop ``pixels - 1`` smaller, at a random offset: a shift by up to ``pixels - 1``."""

    def apply(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        dy, dx = (int(v) for v in torch.randint(pixels, (2,), generator=generator))
        height, width = images.shape[-2] - pixels + 1, images.shape[-1] - pixels + 1
        return images[..., dy : dy + height, dx : dx + width]

    return apply


def random_scale(factors: Sequence[float]) -> Transform:
    """Resize by one of ``factors`` (bilinear)."""

    def apply(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        factor = _choice(factors, generator)
        size = [max(1, round(side * factor)) for side in images.shape[-2:]]
        return F.interpolate(images, size=size, mode="bilinear", align_corners=False)

    return apply


def random_rotate(degrees: Sequence[float]) -> Transform:
    """Rotate about the centre by one of ``degrees`` (bilinear; corners filled by the edge)."""

    def apply(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        angle = math.radians(_choice(degrees, generator))
        cos, sin = math.cos(angle), math.sin(angle)
        theta = images.new_tensor([[cos, -sin, 0.0], [sin, cos, 0.0]]).expand(len(images), 2, 3)
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        return F.grid_sample(images, grid, padding_mode="border", align_corners=False)

    return apply


def standard() -> list[Transform]:
    """Lucid's ``standard_transforms``."""
    return [
        pad(12),
        jitter(8),
        random_scale([1 + (i - 5) / 50 for i in range(11)]),
        random_rotate(list(range(-10, 11)) + 5 * [0]),
        jitter(4),
    ]


def _centred(images: torch.Tensor, height: int, width: int, value: float = 0.5) -> torch.Tensor:
    """The centre ``height`` x ``width`` of ``images``, padded with ``value`` where smaller."""
    rows, columns = images.shape[-2] - height, images.shape[-1] - width
    # F.pad with negative widths crops; split the difference so the centre stays the centre
    top, left = rows // 2, columns // 2
    return F.pad(images, (-left, left - columns, -top, top - rows), value=value)


def pipeline(name: str) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor]:
    """The named sequence of transforms, ending at the input's size."""
    if name not in TRANSFORMS:
        raise ValueError(f"transforms must be one of {', '.join(TRANSFORMS)}; got {name!r}")
    steps = standard() if name == "standard" else []

    def apply(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        height, width = images.shape[-2:]
        for step in steps:
            images = step(images, generator)
        return _centred(images, height, width)

    return apply
