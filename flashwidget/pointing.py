"""The pointing game: does a saliency map's strongest pixel lie on the object?

Zhang et al. (2016), "Top-down neural attention by excitation backprop": for each image, take
the location of the map's maximum; it is a hit when it falls inside the object's region (in their
version, within 15 pixels of it, on images of about 224 pixels). The score is the fraction of
hits. It needs only an object mask per image, ignores the map's scale, and has an obvious
baseline, :func:`chance_level`: the score of a peak placed uniformly at random.

That baseline assumes peaks are spread evenly, and they are not: a convolutional network's
gradients, even untrained, tend to peak away from the borders, where objects also tend to lie.
:func:`shuffled_level` measures this: the score of the same maps against other images' masks.
A map points at the object when it beats both.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pointing_game(saliency: torch.Tensor, masks: torch.Tensor, tolerance: int = 0) -> float:
    """Fraction of images whose saliency peak lies inside the object's mask.

    Args:
        saliency: maps (N, H, W) or (N, 1, H, W), for instance
            ``Backprop(model).calculate_gradients(images, labels, take_max=True)``. The peak is
            the argmax over the H x W pixels; among equal maxima the first in row-major order
            (smallest row, then smallest column) is taken, so a constant map points at (0, 0).
        masks: (N, H, W) bool, True on the object's pixels; each must contain at least one.
        tolerance: a peak within this many pixels (Euclidean distance) of the mask counts as a
            hit, i.e. the mask is dilated by a disc of this radius. Gradient maps often peak on
            the object's outline, one pixel outside a filled mask; 0 is the strict game.

    Returns:
        The hit rate, in [0, 1].
    """
    saliency = _check_saliency(saliency)
    masks = _check_masks(masks, "masks")
    if saliency.shape != masks.shape:
        raise ValueError(
            f"saliency and masks must describe the same images and pixels: saliency has "
            f"(N, H, W) = {tuple(saliency.shape)}, masks {tuple(masks.shape)}"
        )
    if not bool(torch.isfinite(saliency).all()):
        raise ValueError("saliency contains NaN or infinite values; its peak is undefined")
    empty = (~masks.flatten(1).any(dim=1)).nonzero().flatten()
    if len(empty) > 0:
        raise ValueError(
            f"masks of images {empty[:10].tolist()} are empty: the pointing game needs an "
            "object in every image"
        )
    region = dilate(masks, tolerance).flatten(1)
    peaks = saliency.flatten(1).argmax(dim=1)  # documented to return the first maximum
    hits = region.gather(1, peaks.to(region.device).unsqueeze(1))
    return hits.float().mean().item()


def chance_level(masks: torch.Tensor, tolerance: int = 0) -> float:
    """The expected :func:`pointing_game` score of a peak placed uniformly at random.

    That is the mean over images of the fraction of pixels in the (dilated) mask. A map must
    score clearly above this before it can be said to point at the object.
    """
    masks = _check_masks(masks, "masks")
    return dilate(masks, tolerance).flatten(1).float().mean(dim=1).mean().item()


def shuffled_level(saliency: torch.Tensor, masks: torch.Tensor, tolerance: int = 0) -> float:
    """The :func:`pointing_game` score of each map against the next image's mask (cyclically).

    What maps with the same spatial habits (a preference for the centre, say) would score if
    they ignored where the object is. Needs at least two images; the masks should come from
    independently drawn images, as :func:`flashwidget.shapes.make_shapes` gives.
    """
    masks = _check_masks(masks, "masks")
    if len(masks) < 2:
        raise ValueError(
            "shuffled_level needs at least two images, to score against another's mask"
        )
    return pointing_game(saliency, masks.roll(1, dims=0), tolerance)


def dilate(masks: torch.Tensor, tolerance: int) -> torch.Tensor:
    """The pixels within ``tolerance`` pixels (Euclidean) of each mask (N, H, W), as bool."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, int):
        raise TypeError(f"tolerance must be an int number of pixels; got {tolerance!r}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0 pixels; got {tolerance}")
    if tolerance == 0:
        return masks
    offsets = torch.arange(-tolerance, tolerance + 1, device=masks.device)
    disc = (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= tolerance**2).float()
    # Counts are small whole numbers, exact in float32; > 0.5 means at least one mask pixel.
    covered = F.conv2d(masks.float().unsqueeze(1), disc[None, None], padding=tolerance)
    return covered.squeeze(1) > 0.5


def _check_saliency(saliency: torch.Tensor) -> torch.Tensor:
    if not isinstance(saliency, torch.Tensor):
        raise TypeError(f"saliency must be a torch.Tensor; got {type(saliency).__qualname__}")
    if saliency.ndim == 4:
        if saliency.shape[1] != 1:
            raise ValueError(
                f"saliency of shape {tuple(saliency.shape)} has {saliency.shape[1]} channels; "
                "expected one map per image, (N, H, W) or (N, 1, H, W): reduce the channels "
                "first, e.g. with take_max=True"
            )
        saliency = saliency[:, 0]
    elif saliency.ndim != 3:
        raise ValueError(
            f"saliency must have shape (N, H, W) or (N, 1, H, W); got {tuple(saliency.shape)}"
        )
    if saliency.is_complex() or saliency.dtype == torch.bool:
        raise TypeError(f"saliency must be a real-valued tensor; got dtype {saliency.dtype}")
    if saliency.numel() == 0:
        raise ValueError(f"saliency is empty: shape {tuple(saliency.shape)}")
    return saliency.detach()


def _check_masks(masks: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(masks, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(masks).__qualname__}")
    if masks.dtype != torch.bool:
        raise TypeError(
            f"{name} must be a bool tensor (True on the object); got dtype {masks.dtype}"
        )
    if masks.ndim != 3:
        raise ValueError(f"{name} must have shape (N, H, W); got {tuple(masks.shape)}")
    if masks.numel() == 0:
        raise ValueError(f"{name} is empty: shape {tuple(masks.shape)}")
    return masks
