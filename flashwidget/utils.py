"""Image loading and tensor helpers: FlashTorch's ``flashtorch.utils``, with its bugs fixed.

FlashTorch's versions only opened paths, kept transparency as black, edited tensors in place
(which fails on torch >= 1.8 for views of tensors that require grad) and divided by zero on
constant gradients. These keep its names and defaults so old notebooks still run.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as F

from flashwidget.class_index import ClassIndex, ImageNetIndex

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ClassIndex",
    "ImageNetIndex",
    "apply_transforms",
    "denormalize",
    "format_for_plotting",
    "load_image",
    "standardize_and_clip",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | Image.Image | np.ndarray

_ACCEPTED = "a path, bytes of an image file, a PIL image or a numpy array"
_EXPECTED_FILE = "expected an image file (PNG, JPEG, ...)"


def load_image(image: ImageSource) -> Image.Image:
    """Return ``image`` as a new, fully loaded RGB PIL image.

    Accepts a path, the bytes of an encoded image file, a PIL image in any mode, or a numpy array
    shaped HxW, HxWx1, HxWx3 or HxWx4 holding uint8 values or floats in [0, 1].

    Transparent pixels are composited over white: dropping the alpha channel would instead show
    whatever colour the transparent pixels happen to store, usually black, so logos and cut-outs
    would turn into black blobs that the classifier then "explains". 16-bit images are scaled to
    8 bits (Pillow's own conversion clips them at 255, turning most pixels white).

    Raises FileNotFoundError for a missing path, ValueError for empty or undecodable data and
    for badly shaped arrays, and TypeError for anything else.
    """
    if isinstance(image, Image.Image):
        return _to_rgb(image)
    if isinstance(image, np.ndarray):
        return _to_rgb(_array_to_image(image))
    if isinstance(image, bytes | bytearray | memoryview):
        return _decode(bytes(image), "the given bytes object")
    if isinstance(image, str | os.PathLike):
        return _decode(Path(image).read_bytes(), f"file {os.fspath(image)!r}")
    raise TypeError(f"cannot load an image from {type(image).__name__}; expected {_ACCEPTED}")


def _decode(data: bytes, source: str) -> Image.Image:
    """Decode an encoded image file held in memory, so no file handle outlives the call."""
    if not data:
        raise ValueError(f"{source} is empty; {_EXPECTED_FILE}")
    try:
        with Image.open(io.BytesIO(data)) as img:
            return _to_rgb(img)
    except OSError as err:  # PIL.UnidentifiedImageError, or a truncated file
        raise ValueError(f"{source} is not a readable image; {_EXPECTED_FILE}") from err


def _array_to_image(array: np.ndarray) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.size == 0 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise ValueError(
            f"image arrays must be shaped HxW, HxWx1, HxWx3 or HxWx4 and not be empty; "
            f"got shape {array.shape}"
        )
    if np.issubdtype(array.dtype, np.floating):
        if not np.all((array >= 0) & (array <= 1)):  # also false for NaN
            raise ValueError("float image arrays must hold values in [0, 1]")
        array = _unit_to_uint8(array)
    elif array.dtype != np.uint8:
        raise ValueError(f"image arrays must be uint8 or float in [0, 1]; got {array.dtype}")
    return Image.fromarray(array)


def _unit_to_uint8(array: np.ndarray) -> np.ndarray:
    return np.round(array * 255).astype(np.uint8)


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode.startswith("I;16"):
        img = Image.fromarray(_unit_to_uint8(np.asarray(img) / 65535))
    elif img.mode == "La":  # Pillow converts premultiplied La to LA but not straight to RGBA
        img = img.convert("LA")
    if "transparency" in img.info or {"A", "a"} & set(img.getbands()):
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img.convert("RGBA"))
    return img.convert("RGB")  # a copy even when already RGB, so callers can't alias ours


def apply_transforms(
    image: ImageSource,
    size: int = 224,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> torch.Tensor:
    """Turn an image into the normalised (1, 3, size, size) batch an ImageNet classifier expects.

    As in FlashTorch (and torchvision's reference evaluation), the shorter side is resized to
    ``size * 256 / 224`` (256 for 224) before a centre crop of ``size``. The result requires
    grad, as FlashTorch's did, because saliency needs gradients with respect to the input.
    ``image`` is anything :func:`load_image` accepts.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ValueError(f"size must be a positive int, got {size!r}")
    mean, std = _checked_stats(mean, std, channels=3)
    resized = F.resize(load_image(image), [size * 256 // 224], antialias=True)
    pixels = F.pil_to_tensor(F.center_crop(resized, [size, size]))
    normalised = F.normalize(F.to_dtype(pixels, torch.float32, scale=True), mean, std)
    return normalised.unsqueeze(0).requires_grad_(True)


def _checked_stats(
    mean: Sequence[float], std: Sequence[float], channels: int
) -> tuple[list[float], list[float]]:
    mean, std = [float(m) for m in mean], [float(s) for s in std]
    if len(mean) != channels or len(std) != channels:
        raise ValueError(
            f"mean and std need one value per channel ({channels}); "
            f"got {len(mean)} and {len(std)} values"
        )
    if not all(s > 0 for s in std):
        raise ValueError(f"std values must be positive, got {std}")
    return mean, std


def _detached_float(tensor: torch.Tensor) -> torch.Tensor:
    data = tensor.detach()
    return data if data.is_floating_point() else data.to(torch.get_default_dtype())


def denormalize(
    tensor: torch.Tensor,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> torch.Tensor:
    """Undo :func:`apply_transforms`' normalisation of a (C, H, W) or (N, C, H, W) tensor.

    Returns a new, detached tensor and leaves ``tensor`` untouched. FlashTorch edited a view of
    its input in place, which corrupted the caller's tensor and fails on torch >= 1.8.
    """
    if tensor.dim() not in (3, 4):
        raise ValueError(f"expected a (C, H, W) or (N, C, H, W) tensor, got {tuple(tensor.shape)}")
    mean, std = _checked_stats(mean, std, channels=tensor.shape[-3])
    data = _detached_float(tensor)
    options = {"dtype": data.dtype, "device": data.device}
    scale = torch.tensor(std, **options).view(-1, 1, 1)
    shift = torch.tensor(mean, **options).view(-1, 1, 1)
    return data * scale + shift


def standardize_and_clip(
    tensor: torch.Tensor,
    min_value: float = 0.0,
    max_value: float = 1.0,
    saturation: float = 0.1,
    brightness: float = 0.5,
) -> torch.Tensor:
    """Rescale a tensor (typically a gradient) into a displayable range, as FlashTorch did.

    The whole tensor is standardised to zero mean and unit standard deviation, multiplied by
    ``saturation``, shifted by ``brightness`` and clamped to ``[min_value, max_value]``. A
    constant tensor has no spread to standardise; it comes back filled with ``brightness``
    (clamped) instead of NaN. Returns a new, detached tensor.
    """
    if min_value > max_value:
        raise ValueError(f"min_value ({min_value}) must not exceed max_value ({max_value})")
    data = _detached_float(tensor)
    std = data.std() if data.numel() > 1 else 0
    standardized = torch.zeros_like(data) if std == 0 else (data - data.mean()) / std
    return (standardized * saturation + brightness).clamp(min_value, max_value)


def format_for_plotting(tensor: torch.Tensor) -> torch.Tensor:
    """Return a new CPU tensor laid out for ``matplotlib.pyplot.imshow``.

    A leading batch dimension of size 1 is dropped; (3 or 4, H, W) becomes (H, W, C), (1, H, W)
    becomes (H, W), and an (H, W) tensor keeps its shape.
    """
    data = tensor.detach().to("cpu", copy=True)
    if data.dim() == 4 and data.shape[0] == 1:
        data = data[0]
    if data.dim() == 2:
        return data
    if data.dim() == 3 and data.shape[0] == 1:
        return data[0]
    if data.dim() == 3 and data.shape[0] in (3, 4):
        return data.permute(1, 2, 0)
    raise ValueError(
        f"cannot plot a tensor shaped {tuple(tensor.shape)}; expected (H, W), (C, H, W) or "
        "(1, C, H, W) with C in 1, 3 or 4"
    )
