"""Guided backpropagation by intercepting rectifiers while the model runs.

Guided backpropagation (Springenberg et al. 2015) changes one rule of the backward pass: at every
rectifier the gradient passes only where the rectifier's input was active *and* the incoming
gradient is positive. The rectifier's own backward already applies the first half (its 0/1 mask),
so the whole change is to clamp the gradient that arrives at each rectifier's output to be
non-negative. A tensor hook on that output does exactly this.

Why intercept torch functions rather than hook ``nn.ReLU`` modules (as FlashTorch and Captum do):
``nn.ReLU``, ``nn.ReLU6``, ``F.relu``, ``F.relu6``, ``torch.relu`` and ``Tensor.relu`` all end up as
a call to one of a handful of torch functions, so a :class:`~torch.overrides.TorchFunctionMode`
sees every rectifier, including the functional ones inside ``forward`` (DenseNet, Inception) and
``ReLU6`` (MobileNet, EfficientNet-Lite) that module hooks miss. Nothing is registered on the model:
the hooks live on tensors of this one graph and disappear with it, so no hook can leak or pile up,
and in-place rectifiers need no special case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

# Functions whose output is max(x, 0), possibly capped above (ReLU6).
_RECTIFIERS: frozenset[Callable[..., Any]] = frozenset(
    {
        torch.relu,
        torch.relu_,
        F.relu,
        F.relu6,
        torch.Tensor.relu,
        torch.Tensor.relu_,
    }
)
# Hardtanh is a rectifier only when its lower bound is 0: that is how nn.ReLU6 is implemented.
_HARDTANH: frozenset[Callable[..., Any]] = frozenset({F.hardtanh, F.hardtanh_})

RECTIFIER_NAMES = (
    "nn.ReLU, nn.ReLU6, F.relu, F.relu6, torch.relu, Tensor.relu, F.hardtanh(min_val=0)"
)


def _keep_positive(grad: torch.Tensor) -> torch.Tensor:
    return grad.clamp(min=0)


def _is_rectifier(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    if func in _RECTIFIERS:
        return True
    if func in _HARDTANH:
        min_val = kwargs.get("min_val", args[1] if len(args) > 1 else -1.0)
        return min_val == 0
    return False


class GuidedRectifiers(TorchFunctionMode):
    """Context in which every rectifier's output gets a guided-backprop gradient hook.

    Use it around the forward pass only; the backward pass may run after it has exited.
    ``count`` tells how many rectifiers the forward pass went through, so that a model without
    any can be reported instead of silently returning a vanilla gradient.
    """

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if _is_rectifier(func, args, kwargs):
            self.count += 1
            if isinstance(result, torch.Tensor) and result.requires_grad:
                result.register_hook(_keep_positive)
        return result
