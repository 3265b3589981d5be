"""Find the logits in whatever the model returns.

Classifiers from torchvision return a tensor, Hugging Face models an object with ``.logits``, and
others a tuple or a dict (e.g. Inception's auxiliary outputs). The engine needs one (N, classes)
tensor; ``output_fn`` lets the user say where it is when it cannot be found on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

OutputFn = Callable[[Any], torch.Tensor]


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, Mapping):
        return f"a {type(value).__name__} with keys {sorted(map(str, value))}"
    return f"an object of type {type(value).__qualname__}"


def logits_from(
    output: Any, output_fn: OutputFn | None, batch_size: int, *, graph: bool = True
) -> torch.Tensor:
    """Return the (batch_size, classes) logits tensor from a model's output, or raise clearly.

    Without ``output_fn`` the output must be the logits tensor itself, an object with a
    ``.logits`` tensor (Hugging Face) or a mapping with a ``"logits"`` entry (a dict, which may
    hold auxiliary outputs beside it). ``graph=False`` is for a forward pass run without
    autograd, whose logits cannot depend on the input through it.
    """
    if output_fn is not None:
        logits = output_fn(output)
        source = "output_fn"
    elif isinstance(output, torch.Tensor):
        logits, source = output, "the model"
    elif isinstance(getattr(output, "logits", None), torch.Tensor):
        logits, source = output.logits, "the model's .logits"
    elif isinstance(output, Mapping) and "logits" in output:
        logits, source = output["logits"], "the model's 'logits' entry"
    else:
        raise TypeError(
            f"the model returned {_describe(output)}; expected a tensor of logits (N, classes), "
            "an object with a .logits tensor or a dict with a 'logits' entry. Pass output_fn to "
            "pick the logits, e.g. Backprop(model, output_fn=lambda out: out[0]) for a tuple or "
            "output_fn=lambda out: out['out'] for a dict that keeps them under 'out'."
        )
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"{source} gave {_describe(logits)}; expected a tensor of logits")
    if logits.ndim != 2 or logits.shape[0] != batch_size:
        raise ValueError(
            f"{source} gave logits of shape {tuple(logits.shape)}; expected "
            f"({batch_size}, classes), one row per input image"
        )
    if not logits.is_floating_point():
        raise TypeError(f"{source} gave logits of dtype {logits.dtype}; expected floating point")
    if graph and not logits.requires_grad:
        raise ValueError(
            f"{source} gave logits that do not depend on the input through autograd: does the "
            "model detach its input, or run its forward under torch.no_grad()?"
        )
    return logits
