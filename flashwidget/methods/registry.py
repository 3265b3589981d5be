"""The methods by name: what the widget's menu, the CLI and SmoothGrad's ``base`` choose from.

Adding a method is one file with its class and one line in ``_METHODS``.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from flashwidget.methods.core import AttributionMethod
from flashwidget.methods.gradcam import GradCAM, GuidedGradCAM
from flashwidget.methods.gradient import Gradient, GuidedBackprop, InputXGradient
from flashwidget.methods.integrated_gradients import IntegratedGradients
from flashwidget.methods.smoothgrad import SmoothGrad

_METHODS: dict[str, type[AttributionMethod]] = {
    cls.name: cls
    for cls in (
        Gradient,
        GuidedBackprop,
        InputXGradient,
        SmoothGrad,
        IntegratedGradients,
        GradCAM,
        GuidedGradCAM,
    )
}


def available() -> list[str]:
    """The registry's method names, in menu order."""
    return list(_METHODS)


def method_class(name: str) -> type[AttributionMethod]:
    """The class registered as ``name``, or a KeyError that lists the available names."""
    if name not in _METHODS:
        raise KeyError(f"unknown attribution method {name!r}; available: {', '.join(available())}")
    return _METHODS[name]


def input_space_methods() -> list[str]:
    """Names of the methods whose maps have the input's shape (SmoothGrad's possible bases)."""
    return [name for name, cls in _METHODS.items() if cls.map_space == "input"]


def get(name: str, model: nn.Module, **options: Any) -> AttributionMethod:
    """Build the method registered as ``name`` for ``model`` with its ``options``."""
    return method_class(name)(model, **options)
