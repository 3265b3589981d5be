"""Leave the user's model exactly as it was found.

FlashTorch called ``model.eval()`` and never undid it, wiped ``.grad`` with ``zero_grad()`` and
moved the model to the GPU. The engine instead reads gradients with ``torch.autograd.grad`` (which
never touches ``.grad``), never moves the model, and switches to evaluation mode only for the
length of a forward pass, restoring each submodule's own flag, since a model may mix training and
frozen parts.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def evaluation_mode(model: nn.Module) -> Iterator[None]:
    """Run the body with every submodule in eval mode, then restore each one's flag.

    Eval mode is what a saliency map needs: dropout would make the map random and batch norm in
    training mode would both mix the images of a batch and update its running statistics.
    Only the modules in training mode are touched, and their flag is written directly rather
    than through ``Module.train()``: that skips a user's ``train()`` override, which could do
    more than set the flag, and costs nothing for a model already in eval mode.
    """
    training = [module for module in model.modules() if module.training]
    for module in training:
        object.__setattr__(module, "training", False)
    try:
        yield
    finally:
        for module in training:
            object.__setattr__(module, "training", True)


def model_device(model: nn.Module, fallback: torch.device) -> torch.device:
    """The device of the model's first parameter or buffer; ``fallback`` for a stateless model."""
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        return tensor.device
    return fallback


def first_conv_channels(model: nn.Module) -> int | None:
    """Input channels of the first convolution, used to explain a failed forward pass."""
    for module in model.modules():
        if isinstance(module, nn.modules.conv._ConvNd):
            return module.in_channels
    return None
