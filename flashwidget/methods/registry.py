"""The methods by name: what the widget's menu, the CLI and SmoothGrad's ``base`` choose from.

The names, classes and options are listed once, in :mod:`flashwidget.method_names` (readable
without torch); a class is imported from there the first time its name is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from torch import nn

from flashwidget.method_names import METHODS, unknown_method_message
from flashwidget.methods.core import AttributionMethod


def available() -> list[str]:
    """The methods' names, in menu order."""
    return list(METHODS)


def method_class(name: str) -> type[AttributionMethod]:
    """The class registered as ``name``, or a KeyError that lists the available names."""
    if name not in METHODS:
        raise KeyError(unknown_method_message(name))
    module, _, attribute = METHODS[name][0].partition(":")
    return getattr(importlib.import_module(module), attribute)


def uses_rectifiers(name: str) -> bool:
    """Whether the method registered as ``name`` is a guided one, which needs rectifiers."""
    return method_class(name).uses_rectifiers


def input_space_methods() -> list[str]:
    """Names of the methods whose maps have the input's shape (SmoothGrad's possible bases)."""
    return [name for name in METHODS if method_class(name).map_space == "input"]


def get(name: str, model: nn.Module, **options: Any) -> AttributionMethod:
    """Build the method registered as ``name`` for ``model`` with its ``options``."""
    return method_class(name)(model, **options)
