"""Which layer a layer-space method (Grad-CAM) reads, by name or module, checked and explained.

Candidates are found the way torchcam's ``locate_candidate_layer`` finds them: run the model
once with a forward hook on every submodule and keep those whose output is a feature map
(N, C, h, w) with more than one position, in the order their outputs were produced. The last
one is the default: the deepest layer that still knows *where* (on ResNet-18, ``layer4``).
A module that runs more than once in a forward pass (a ReLU module reused in a block) is left
out: its "activation" would be ambiguous; so is one that enlarges its input's feature map
(VGG's adaptive pooling on a small image), which adds blur, not information.
"""

from __future__ import annotations

import difflib
from collections import Counter

import torch
from torch import nn

from flashwidget.methods.core import run_model
from flashwidget.model_guard import evaluation_mode

Layer = str | nn.Module


def spatial_layers(model: nn.Module, inputs: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """Names and output shapes of the layers whose output is a feature map, input to output.

    ``inputs`` is a batch (N, C, H, W) on the model's device; one image is enough. The model
    runs once, without autograd, in eval mode; the hooks are removed before returning.
    """
    produced: list[tuple[str, tuple[int, ...]]] = []
    calls: Counter[str] = Counter()

    def recorder(name: str):
        def record(module: nn.Module, args: object, output: object) -> None:
            calls[name] += 1
            spatial = isinstance(output, torch.Tensor) and output.ndim == 4
            if spatial and output.shape[2] * output.shape[3] > 1 and not _enlarges(args, output):
                produced.append((name, tuple(output.shape[1:])))

        return record

    handles = [
        module.register_forward_hook(recorder(name))
        for name, module in model.named_modules()
        if name
    ]
    try:
        with torch.no_grad(), evaluation_mode(model):
            run_model(model, inputs)
    finally:
        for handle in handles:
            handle.remove()
    return [(name, shape) for name, shape in produced if calls[name] == 1]


def _enlarges(args: object, output: torch.Tensor) -> bool:
    """Whether a layer makes its feature map larger than its input's (an adaptive pooling that
    copies VGG's 2 x 2 map of a small image up to 7 x 7): its map adds no information about
    where, only blur, so it is not a candidate."""
    first = args[0] if isinstance(args, tuple) and args else None
    if not isinstance(first, torch.Tensor) or first.ndim != 4:
        return False
    return output.shape[2] * output.shape[3] > first.shape[2] * first.shape[3]


def resolve_layer(model: nn.Module, layer: Layer) -> tuple[str, nn.Module]:
    """The (name, module) of ``layer``, given by name or as a module of ``model``."""
    modules = dict(model.named_modules())
    if isinstance(layer, nn.Module):
        for name, module in modules.items():
            if module is layer and name:
                return name, module
        raise ValueError(
            f"layer {type(layer).__name__} is not a submodule of the model; pass one of "
            "model.named_modules(), by name or as the module itself"
        )
    if not isinstance(layer, str):
        raise TypeError(f"layer must be a module name (str) or a module; got {layer!r}")
    if layer in modules and layer:
        return layer, modules[layer]
    close = difflib.get_close_matches(layer, [n for n in modules if n], n=5, cutoff=0.5)
    convolutions = [n for n, m in modules.items() if isinstance(m, nn.modules.conv._ConvNd)]
    hint = f"close matches: {', '.join(close)}" if close else "no close match"
    raise KeyError(
        f"the model has no layer named {layer!r} ({hint}); layers with a spatial output "
        f"include the convolutions {', '.join(convolutions[-5:]) or '(none)'}; "
        "flashwidget.methods.spatial_layers(model, inputs) lists them all"
    )
