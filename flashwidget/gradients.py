"""The engine: one forward pass, gradients of the chosen logits with respect to the input only.

Why ``torch.autograd.grad`` on the input rather than ``loss.backward()``: it computes no weight
gradients (much cheaper), never writes to any parameter's ``.grad`` (a training step's gradients
survive), and works with frozen parameters. Why one forward pass for several classes: the K
backward passes reuse its graph, which saves K - 1 forward passes.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from flashwidget.guided import RECTIFIER_NAMES, GuidedRectifiers
from flashwidget.model_guard import evaluation_mode, first_conv_channels, model_device
from flashwidget.model_output import OutputFn, logits_from
from flashwidget.targets import TargetSelector


@dataclass(frozen=True)
class Attribution:
    """What one engine call computed, all detached and on the model's device.

    ``logits`` is (N, classes), ``targets`` (N, K) the explained class indices, and ``gradients``
    (N, K, C, H, W): the gradient of logit ``targets[n, k]`` with respect to image ``n``.
    """

    logits: torch.Tensor
    targets: torch.Tensor
    gradients: torch.Tensor

    @property
    def probabilities(self) -> torch.Tensor:
        return self.logits.softmax(dim=1)


def _run_model(model: nn.Module, inputs: torch.Tensor) -> object:
    """Call the model, turning a failure caused by the input into an error that says so."""
    try:
        return model(inputs)
    except torch.OutOfMemoryError:
        raise
    except RuntimeError as error:
        expected = first_conv_channels(model)
        hint = (
            f" The model's first convolution expects {expected} channels; the input has "
            f"{inputs.shape[1]}."
            if expected is not None and expected != inputs.shape[1]
            else " Check that the input's size and channels are what the model was built for."
        )
        raise ValueError(
            f"the model failed on an input of shape {tuple(inputs.shape)}: {error}.{hint}"
        ) from error


def _gradients_of(chosen: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Gradients (N, K, C, H, W) of each column of ``chosen`` (N, K) with respect to ``inputs``.

    Images in a batch are independent in eval mode, so one backward of a column's sum gives each
    image its own gradient. The K columns share one forward graph and take one backward each.
    A single vmapped backward (``is_grads_batched``) was measured too and was slower on the
    default model (0.79 of K separate calls against 0.52 here), since functorch's batching rules
    for depthwise convolution and batch norm backward fall back to loops and concatenation.
    """
    num_targets = chosen.shape[1]
    columns = [
        torch.autograd.grad(chosen[:, k].sum(), inputs, retain_graph=k < num_targets - 1)[0]
        for k in range(num_targets)
    ]
    return torch.stack(columns, dim=1)


def input_gradients(
    model: nn.Module,
    inputs: torch.Tensor,
    select_targets: TargetSelector,
    *,
    guided: bool = False,
    output_fn: OutputFn | None = None,
) -> Attribution:
    """Explain ``inputs`` (N, C, H, W) for the classes ``select_targets`` picks from the logits.

    The model is left as it was found: only its eval flags change, and only during the forward.
    """
    if torch.is_inference_mode_enabled():
        raise RuntimeError(
            "saliency maps need autograd, which torch.inference_mode() disables; call this "
            "outside the inference_mode block (torch.no_grad() is fine)"
        )
    device = model_device(model, fallback=inputs.device)
    x = inputs.detach().to(device).clone().requires_grad_(True)
    rectifiers = GuidedRectifiers() if guided else nullcontext()
    with torch.enable_grad(), evaluation_mode(model), rectifiers:
        output = _run_model(model, x)
    if guided and rectifiers.count == 0:
        raise ValueError(
            f"guided backpropagation needs rectifiers ({RECTIFIER_NAMES}) in the model's forward "
            f"pass, and {type(model).__qualname__} has none; use guided=False for vanilla "
            "gradients"
        )
    with torch.enable_grad():
        logits = logits_from(output, output_fn, batch_size=x.shape[0])
        targets = select_targets(logits.detach())
        gradients = _gradients_of(logits.gather(1, targets), x)
    return Attribution(logits=logits.detach(), targets=targets, gradients=gradients)
