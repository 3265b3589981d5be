"""Independent references for the engine's maps, written without any of flashwidget's code.

Vanilla gradients come straight from ``torch.autograd.grad``. Guided backpropagation is rebuilt
from its definition with an explicit autograd function, put in place of every rectifier module of
a copy of the model and of the functional rectifiers while that copy runs.
"""

from __future__ import annotations

import copy
import math
from contextlib import ExitStack
from unittest import mock

import torch
import torch.nn.functional as F
from torch import nn


def autograd_reference(model: nn.Module, image: torch.Tensor, target: int) -> torch.Tensor:
    """d logit[target] / d image for one image (C, H, W), on an eval-mode copy of the model."""
    reference = copy.deepcopy(model).eval()
    x = image.detach().clone().unsqueeze(0).requires_grad_(True)
    (grad,) = torch.autograd.grad(reference(x)[0, target], x)
    return grad[0]


class GuidedClamp(torch.autograd.Function):
    """clamp(x, 0, upper) whose backward passes a gradient only where x was in (0, upper) and
    the gradient is positive: the guided rule of Springenberg et al. (2015)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, upper: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.upper = upper
        return x.clamp(min=0) if math.isinf(upper) else x.clamp(0, upper)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        active = (x > 0) & (x < ctx.upper)
        return grad.clamp(min=0) * active, None


class GuidedModule(nn.Module):
    def __init__(self, upper: float) -> None:
        super().__init__()
        self.upper = upper

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return GuidedClamp.apply(x, self.upper)


def _guided_relu(x, inplace=False):
    return GuidedClamp.apply(x, math.inf)


def _guided_relu6(x, inplace=False):
    return GuidedClamp.apply(x, 6.0)


def _swap_rectifier_modules(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.ReLU6):
            setattr(module, name, GuidedModule(6.0))
        elif isinstance(child, nn.ReLU):
            setattr(module, name, GuidedModule(math.inf))
        else:
            _swap_rectifier_modules(child)


def guided_reference(model: nn.Module, image: torch.Tensor, target: int) -> torch.Tensor:
    """Guided gradient of logit[target] for one image (C, H, W), by explicit substitution."""
    reference = copy.deepcopy(model).eval()
    _swap_rectifier_modules(reference)
    x = image.detach().clone().unsqueeze(0).requires_grad_(True)
    with ExitStack() as patches:
        for owner, name, replacement in (
            (F, "relu", _guided_relu),
            (F, "relu6", _guided_relu6),
            (torch, "relu", _guided_relu),
        ):
            patches.enter_context(mock.patch.object(owner, name, replacement))
        logit = reference(x)[0, target]
    (grad,) = torch.autograd.grad(logit, x)
    return grad[0]


def assert_maps_equal(actual: torch.Tensor, expected: torch.Tensor, rel: float = 1e-5) -> None:
    """Equal within ``rel`` of the reference's largest magnitude, and not trivially zero."""
    assert actual.shape == expected.shape
    scale = expected.abs().max()
    assert scale > 0, "the reference map is all zeros: the comparison would prove nothing"
    torch.testing.assert_close(actual, expected, rtol=rel, atol=rel * float(scale))


def assert_maps_differ(actual: torch.Tensor, other: torch.Tensor, rel: float = 1e-2) -> None:
    """Different by more than ``rel`` of the larger map's magnitude (scale-free: random-weight
    models can have gradients of order 1e-12)."""
    scale = max(float(actual.abs().max()), float(other.abs().max()))
    assert scale > 0
    assert float((actual - other).abs().max()) > rel * scale
