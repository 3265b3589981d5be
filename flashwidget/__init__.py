"""flashwidget: see what a PyTorch image classifier looks at.

FlashTorch's API (``saliency.Backprop``, ``activmax.GradientAscent``, ``utils``,
``ImageNetIndex``) with its defects fixed, on an engine that leaves the model untouched, an
embedded offline default model, ``SaliencyWidget``, the interactive view for notebooks, and the
checks that say whether to trust a map (``trust``), and whole data sets explained into a
folder (``batch``) and browsed (``Gallery``).

The public names are imported on first use (PEP 562), so ``import flashwidget``, and the command
line's ``--help`` and argument checks, do not wait for torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flashwidget import activmax, batch, methods, models, saliency, trust, utils
    from flashwidget.feature_widget import FeatureWidget, features
    from flashwidget.gallery import Gallery
    from flashwidget.live import TrainingCallback
    from flashwidget.methods import Attribution
    from flashwidget.saliency import Backprop
    from flashwidget.widget import SaliencyWidget, demo

__all__ = [
    "Attribution",
    "Backprop",
    "FeatureWidget",
    "Gallery",
    "SaliencyWidget",
    "TrainingCallback",
    "activmax",
    "batch",
    "demo",
    "features",
    "methods",
    "models",
    "saliency",
    "trust",
    "utils",
]

_SUBMODULES = frozenset({"activmax", "batch", "methods", "models", "saliency", "trust", "utils"})
# Each public name that is not a submodule, with the module that defines it.
_DEFINED_IN = {
    "Attribution": "flashwidget.methods",
    "Backprop": "flashwidget.saliency",
    "FeatureWidget": "flashwidget.feature_widget",
    "Gallery": "flashwidget.gallery",
    "SaliencyWidget": "flashwidget.widget",
    "TrainingCallback": "flashwidget.live",
    "demo": "flashwidget.widget",
    "features": "flashwidget.feature_widget",
}


def _installed_version() -> str:
    """The version in the installed package's metadata (pyproject.toml is its one source)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flashwidget")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _DEFINED_IN:
        value = getattr(importlib.import_module(_DEFINED_IN[name]), name)
    elif name == "__version__":
        value = _installed_version()
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups find it without calling __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, "__version__"})
