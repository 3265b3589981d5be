"""Image loading and tensor helpers: FlashTorch's ``flashtorch.utils``, with its bugs fixed.

FlashTorch's versions only opened paths, kept transparency as black, ignored the EXIF
orientation of phone photos, edited tensors in place (which fails on torch >= 1.8 for views of
tensors that require grad) and divided by zero on constant gradients. These keep its names and
defaults so old notebooks still run.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import ExifTags, Image, ImageOps
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
_CHANNELS = (1, 3, 4)  # gray, RGB, RGBA, on the last axis of an array
_CHANNELS_FIRST = (1, 3)  # gray, RGB, on the first axis, as torch lays images out
# apply_transforms resizes the whole image, as torchvision does, only while the resized image has
# at most this many times the output's pixels (aspect ratios up to about 6:1); more elongated
# images are cropped first, so a 1 x 20000 image never becomes a 256 x 5,120,000 one.
_MAX_RESIZED_AREA = 8


def load_image(image: ImageSource) -> Image.Image:
    """Return ``image`` as a new, fully loaded RGB PIL image, upright.

    Accepts a path, the bytes of an encoded image file, a PIL image in any mode, or a numpy array
    holding uint8 values or floats in [0, 1], shaped HxW, HxWxC (channels last, as PIL and
    matplotlib store images; C = 1, 3 or 4) or CxHxW (channels first, as torch stores them;
    C = 1 or 3). A shape that reads both ways, such as 3xWx3, is taken as channels last.

    An EXIF orientation tag (phone photos are often stored sideways with one) is applied, so
    the image is the way up its viewers show it; a PIL image whose pixels were already turned
    should not carry the tag any more (``PIL.ImageOps.exif_transpose`` turns and removes it).
    Transparent pixels are composited over white: dropping the alpha channel would instead show
    whatever colour the transparent pixels happen to store, usually black, so logos and cut-outs
    would turn into black blobs that the classifier then "explains". 16-bit images are scaled to 8
    bits (Pillow's own conversion clips them at 255, turning most pixels white). 32-bit integer and
    floating-point images (PIL modes "I" and "F", e.g. scientific TIFFs) have no fixed range, so
    they are stretched from their own minimum (0, black) to their maximum (255, white); a constant
    image becomes black, NaN and -inf black, +inf white.

    Raises FileNotFoundError for a missing path; ValueError for empty or undecodable data, for
    an image too large to decode safely (Pillow's decompression-bomb limit,
    ``PIL.Image.MAX_IMAGE_PIXELS``) and for badly shaped arrays; and TypeError for anything
    else.
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
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        # The warning is raised only where warnings are turned into errors.
        raise ValueError(
            f"{source} is too large to decode safely ({err}). Pillow refuses images of more "
            "pixels than PIL.Image.MAX_IMAGE_PIXELS allows, to guard against decompression "
            "bombs; if you trust this image, raise the limit before loading it, e.g. "
            "PIL.Image.MAX_IMAGE_PIXELS = None to remove it"
        ) from err
    except OSError as err:  # PIL.UnidentifiedImageError, or a truncated file
        raise ValueError(f"{source} is not a readable image; {_EXPECTED_FILE}") from err


def _array_to_image(array: np.ndarray) -> Image.Image:
    shape = array.shape
    if array.ndim == 3 and shape[2] not in _CHANNELS and shape[0] in _CHANNELS_FIRST:
        array = np.moveaxis(array, 0, -1)  # channels first; channels last wins when both fit
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.size == 0 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise ValueError(
            "image arrays must be shaped HxW, HxWxC with C = 1, 3 or 4, or CxHxW with C = 1 or 3, "
            f"and not be empty; got shape {shape}"
        )
    if np.issubdtype(array.dtype, np.floating):
        if not np.all((array >= 0) & (array <= 1)):  # also false for NaN
            raise ValueError("float image arrays must hold values in [0, 1]")
        array = _unit_to_uint8(array)
    elif array.dtype != np.uint8:
        raise ValueError(f"image arrays must be uint8 or float in [0, 1]; got {array.dtype}")
    return Image.fromarray(np.ascontiguousarray(array))


def _unit_to_uint8(array: np.ndarray) -> np.ndarray:
    return np.round(array * 255).astype(np.uint8)


def _stretch_to_uint8(array: np.ndarray) -> np.ndarray:
    """Map an array's finite values from their minimum..maximum onto 0..255.

    A constant array becomes 0, as do NaN and -inf; +inf becomes 255.
    """
    values = array.astype(np.float64)
    finite = values[np.isfinite(values)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
    with np.errstate(invalid="ignore"):  # inf - inf
        scaled = (values - low) / (high - low) if high > low else np.where(values > low, 1.0, 0.0)
    return _unit_to_uint8(np.nan_to_num(scaled, nan=0.0, posinf=1.0, neginf=0.0).clip(0, 1))


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag, if any, as image viewers do."""
    try:
        orientation = img.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # broken EXIF data must not make a readable image unreadable
        return img
    return ImageOps.exif_transpose(img) if orientation in range(2, 9) else img


def _to_rgb(img: Image.Image) -> Image.Image:
    img = _upright(img)
    if img.mode.startswith("I;16"):
        img = Image.fromarray(_unit_to_uint8(np.asarray(img) / 65535))
    elif img.mode in ("I", "F"):  # 32-bit samples: Pillow's conversion clips them to 0..255
        img = Image.fromarray(_stretch_to_uint8(np.asarray(img)))
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
    ``image`` is anything :func:`load_image` accepts, including a channels-first (3, H, W) or
    (1, H, W) array.

    Images with an aspect ratio up to about 6:1 give exactly torchvision's result. More
    elongated ones would become huge once resized (1 x 20000 pixels to 256 x 5,120,000), so
    only the part the crop keeps is resampled, with the same bilinear filter at the same scale;
    pixels may then differ from torchvision's by one level in 255 (Pillow takes the region to
    resample as 32-bit floats).
    """
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ValueError(f"size must be a positive int, got {size!r}")
    mean, std = _checked_stats(mean, std, channels=3)
    pixels = F.pil_to_tensor(_resize_and_centre_crop(load_image(image), size))
    normalised = F.normalize(F.to_dtype(pixels, torch.float32, scale=True), mean, std)
    # Contiguous, as torchvision's ToTensor gives: pil_to_tensor's channel-last strides would
    # send convolutions down other kernels, whose sums differ in the last bits.
    return normalised.unsqueeze(0).contiguous().requires_grad_(True)


def _resize_and_centre_crop(image: Image.Image, size: int) -> Image.Image:
    """Resize the shorter side to ``size * 256 // 224``, then take the centre ``size`` square."""
    short = size * 256 // 224
    width, height = image.size
    # torchvision's arithmetic (transforms.v2.functional.resize and center_crop), kept exactly.
    if width <= height:
        new_width, new_height = short, int(short * height / width)
    else:
        new_width, new_height = int(short * width / height), short
    if new_width * new_height <= _MAX_RESIZED_AREA * size * size:
        return F.center_crop(F.resize(image, [short], antialias=True), [size, size])
    top = round((new_height - size) / 2.0)
    left = round((new_width - size) / 2.0)
    x0, x1, box_left, box_right = _source_span(width, new_width, left, size)
    y0, y1, box_top, box_bottom = _source_span(height, new_height, top, size)
    region = image.crop((x0, y0, x1, y1))
    box = (box_left, box_top, box_right, box_bottom)
    return region.resize((size, size), Image.Resampling.BILINEAR, box=box)


def _source_span(
    length: int, resized: int, start: int, count: int
) -> tuple[int, int, float, float]:
    """The source pixels ``[first, stop)`` that output pixels ``start .. start + count - 1`` of
    a resize from ``length`` to ``resized`` pixels depend on, and where those output pixels'
    edges fall within that span.

    Bilinear resampling at ``scale = length / resized`` reads up to ``max(scale, 1)`` source
    pixels either side of each output pixel's centre; one pixel more on each side is margin.
    Cropping to the span keeps the coordinates handed to Pillow (as 32-bit floats) small.
    """
    scale = length / resized
    reach = max(scale, 1.0)
    edge_start, edge_stop = start * scale, (start + count) * scale
    first = max(0, math.floor(edge_start - reach) - 1)
    stop = min(length, math.ceil(edge_stop + reach) + 1)
    return first, stop, edge_start - first, edge_stop - first


def _checked_stats(
    mean: Sequence[float], std: Sequence[float], channels: int
) -> tuple[list[float], list[float]]:
    assumed = mean is IMAGENET_MEAN and std is IMAGENET_STD
    mean, std = [float(m) for m in mean], [float(s) for s in std]
    if len(mean) != channels or len(std) != channels:
        hint = (
            f"; none were given, so ImageNet's three-channel statistics were assumed: pass the "
            f"statistics the model was trained with, one value per channel (mean=[0.5] * "
            f"{channels}, std=[0.5] * {channels} for example)"
            if assumed
            else ""
        )
        raise ValueError(
            f"mean and std need one value per channel ({channels}); "
            f"got {len(mean)} and {len(std)} values{hint}"
        )
    if not all(s > 0 for s in std):
        raise ValueError(f"std values must be positive, got {std}")
    return mean, std


def _detached_float(tensor: torch.Tensor) -> torch.Tensor:
    data = tensor.detach()
    return data if data.is_floating_point() else data.to(torch.get_default_dtype())


def normalisation_of(transform: Any) -> tuple[Sequence[float], Sequence[float]] | None:
    """The mean and std a transform normalises with (torchvision's presets and ``Compose``
    chains), or ``None``: what it takes to show the transformed image as it was."""
    if hasattr(transform, "mean") and hasattr(transform, "std"):
        return transform.mean, transform.std
    for step in getattr(transform, "transforms", ()):
        found = normalisation_of(step)
        if found is not None:
            return found
    return None


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
