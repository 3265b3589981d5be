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
        _set_training(module, False)
    try:
        yield
    finally:
        for module in training:
            _set_training(module, True)


def _set_training(module: nn.Module, flag: bool) -> None:
    """Write one module's own training flag.

    A TorchScript module (``torch.jit.script``) keeps the flag in its compiled object, which its
    code reads; its ``__setattr__`` writes it there. Writing the Python attribute directly would
    leave the compiled code in training mode (dropout on) and leave a stale attribute behind
    that hides the real flag. A traced module's code does not read the flag at all: dropout
    traced in training mode stays on, which no flag can change.
    """
    if isinstance(module, torch.jit.ScriptModule):
        module.training = flag
    else:
        object.__setattr__(module, "training", flag)


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


def floating_dtypes(model: nn.Module) -> list[torch.dtype]:
    """The floating dtypes of the model's parameters and buffers, in order of first use."""
    tensors = itertools.chain(model.parameters(), model.buffers())
    return list(dict.fromkeys(t.dtype for t in tensors if t.is_floating_point()))


def model_dtype(model: nn.Module) -> torch.dtype | None:
    """The dtype of the model's first floating parameter or buffer; None if it has none.

    Inputs are cast to it, so that a float64 model can be given a float32 image (and the
    reverse) and a bfloat16 or float16 model an ordinary float32 one.
    """
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype  # the first: no walk over all of them on every call
    return None


def batch_statistics_layers(model: nn.Module) -> list[str]:
    """Names of the layers that make one image's output depend on the others' in eval mode.

    Detected: batch norm layers (``nn.BatchNorm1d/2d/3d``, their lazy versions,
    ``nn.SyncBatchNorm``) without running statistics, built with ``track_running_stats=False``
    or with both running buffers set to None, which normalise with the batch's statistics even
    in eval mode. A batch norm that has running statistics uses them in eval mode and does not
    count, nor do per-image normalisations (GroupNorm, LayerNorm, InstanceNorm).

    Not detected, since only a module scan is cheap enough for every call: a forward that mixes
    images by itself (``F.batch_norm(..., training=True)``, statistics taken over dim 0,
    attention across the batch, a minibatch-stddev layer), a model that puts its layers back
    into training mode inside ``forward``, and batch norm compiled into a TorchScript module.
    """
    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.modules.batchnorm._BatchNorm)
        and module.running_mean is None
        and module.running_var is None
    ]
