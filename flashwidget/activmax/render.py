"""Feature visualisation at the quality of Olah et al. (2017): the image a channel, a neuron or
a class is looking for, found by gradient ascent on a Fourier-space, colour-decorrelated image
under small random transformations (see :mod:`.parameterization` and :mod:`.transforms`), with
Adam, on a private copy of the model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from flashwidget.activmax.objectives import Context, Objective, layer_names, recording
from flashwidget.activmax.parameterization import ImageParameterization
from flashwidget.activmax.transforms import pipeline
from flashwidget.checks import checked_generator, require_positive_int, require_positive_number
from flashwidget.class_index import ClassIndex
from flashwidget.live import frozen_copy
from flashwidget.model_guard import evaluation_mode, model_device, model_dtype
from flashwidget.model_output import OutputFn
from flashwidget.steps import Steps, finish
from flashwidget.utils import IMAGENET_MEAN, IMAGENET_STD

# Called after each step with the step's number and the images that step was computed on
# (before the optimiser's update: no extra pass to draw them); False stops the optimisation.
Callback = Callable[[int, torch.Tensor], "bool | None"]


@dataclass(frozen=True)
class Rendering:
    """What :func:`render` found: ``images`` (batch, 3, size, size) in [0, 1], before the
    model's normalisation, and ``values`` (steps, batch), the objective at each step (fewer
    rows when a callback stopped it early)."""

    images: torch.Tensor
    values: torch.Tensor


def render_steps(
    model: nn.Module,
    objective: Objective,
    size: int = 224,
    steps: int = 256,
    param: str = "fft",
    decorrelate: bool = True,
    transforms: str = "standard",
    lr: float = 0.05,
    batch: int = 1,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    labels: Sequence[str] | None = None,
    output_fn: OutputFn | None = None,
    init: torch.Tensor | None = None,
) -> Steps[Rendering]:
    """:func:`render` as stepwise work (see :mod:`flashwidget.steps`): one step per
    optimisation step."""
    require_positive_int(size, "size", "pixels")
    require_positive_int(steps, "steps", "optimisation steps")
    require_positive_int(batch, "batch", "images")
    require_positive_number(lr, "lr")
    generator = checked_generator(generator)
    if torch.is_inference_mode_enabled():
        raise RuntimeError(
            "activation maximisation needs autograd, which torch.inference_mode() disables; "
            "call this outside the inference_mode block (torch.no_grad() is fine)"
        )
    names = layer_names(model, objective)
    context = Context(names, ClassIndex(labels) if labels is not None else None)
    apply_transforms = pipeline(transforms)
    copy = frozen_copy(model)
    device = model_device(copy, fallback=torch.device("cpu"))
    dtype = model_dtype(copy) or torch.float32
    if init is not None:
        if not isinstance(init, torch.Tensor) or init.ndim != 4 or init.shape[1] != 3:
            shape = tuple(init.shape) if isinstance(init, torch.Tensor) else type(init).__name__
            raise ValueError(f"init must be images (batch, 3, H, W) in [0, 1]; got {shape}")
        batch, height, width = init.shape[0], init.shape[2], init.shape[3]
    else:
        height = width = size
    image = ImageParameterization(
        param, batch, height, width, decorrelate, generator, device, dtype, init
    )
    shift = torch.tensor(mean, device=device, dtype=dtype).view(1, -1, 1, 1)
    scale = torch.tensor(std, device=device, dtype=dtype).view(1, -1, 1, 1)
    optimizer = torch.optim.Adam(image.parameters, lr=lr)
    values = []
    # Hooks and eval mode belong to the private copy, so they may stay on between steps; grad
    # mode is the caller's thread's, so it is switched on only inside each step.
    with evaluation_mode(copy), recording(copy, list(names.values()), output_fn) as forward:
        for step in range(1, steps + 1):
            with torch.enable_grad():
                optimizer.zero_grad(set_to_none=True)
                rgb = image()
                value = objective(
                    forward((apply_transforms(rgb, generator) - shift) / scale), context
                )
                (-value.sum()).backward()
            optimizer.step()
            values.append(value.detach())
            stop = callback is not None and callback(step, rgb.detach()) is False
            yield step, steps
            if stop:
                break
        with torch.no_grad():
            final = image()
    return Rendering(images=final.detach(), values=torch.stack(values).cpu())


def render(
    model: nn.Module,
    objective: Objective,
    size: int = 224,
    steps: int = 256,
    param: str = "fft",
    decorrelate: bool = True,
    transforms: str = "standard",
    lr: float = 0.05,
    batch: int = 1,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    labels: Sequence[str] | None = None,
    output_fn: OutputFn | None = None,
    init: torch.Tensor | None = None,
    progress: Callable[[float], None] | None = None,
) -> Rendering:
    """The images that maximise ``objective``, by gradient ascent with Adam.

    Args:
        model: the classifier; never changed (a private copy with frozen weights is used).
        objective: what to maximise: :func:`channel`, :func:`neuron`, :func:`class_logit`,
            :func:`diversity`, or a combination.
        size, batch: the images' side in pixels, and how many are optimised together.
        steps, lr: optimisation steps and Adam's learning rate.
        param: "fft" (Fourier space scaled by 1/frequency, the readable choice) or "pixel"
            (FlashTorch's: mostly high-frequency patterns).
        decorrelate: optimise ImageNet's decorrelated colours rather than RGB.
        transforms: "standard" (Lucid's jitter, scale and rotation at each step) or "none".
        mean, std: the model's input normalisation, applied to the [0, 1] images.
        generator: the source of the random start and transformations (seeded 0 when
            omitted), so runs repeat exactly; the global random state is untouched.
        callback: called after each step with (step, images), the images that step was computed
            on (before its update); returning False stops there.
        labels: class names, for :func:`class_logit` with a name on a model that is not an
            ImageNet classifier.
        output_fn: picks the logits out of a model output that is not a tensor.
        init: images (batch, 3, H, W) in [0, 1] to start from instead of noise (DeepDream:
            a photo, with ``param="pixel"``); they set ``batch`` and the size.
        progress: called with the fraction of steps done.
    """
    work = render_steps(
        model,
        objective,
        size,
        steps,
        param,
        decorrelate,
        transforms,
        lr,
        batch,
        mean,
        std,
        generator,
        callback,
        labels,
        output_fn,
        init,
    )
    return finish(work, progress)
