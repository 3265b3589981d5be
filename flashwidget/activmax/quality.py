"""Measures of a feature visualisation's quality, for comparing images made in different ways
(docs/activmax.md, tests/test_activmax_render.py): how strongly an image drives its objective,
how much of that survives small random transformations, and how much of its energy sits at high
spatial frequencies (the noise plain gradient ascent makes).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from flashwidget.activmax.objectives import Context, Objective, layer_names, recording
from flashwidget.activmax.transforms import pipeline
from flashwidget.checks import checked_generator
from flashwidget.class_index import ClassIndex
from flashwidget.live import frozen_copy
from flashwidget.model_guard import evaluation_mode, model_device
from flashwidget.model_output import OutputFn
from flashwidget.utils import IMAGENET_MEAN, IMAGENET_STD


def objective_values(
    model: nn.Module,
    objective: Objective,
    images: torch.Tensor,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    transforms: str = "none",
    repeats: int = 1,
    generator: torch.Generator | None = None,
    labels: Sequence[str] | None = None,
    output_fn: OutputFn | None = None,
) -> torch.Tensor:
    """(N,): the objective for ``images`` (N, 3, H, W) in [0, 1], on a private copy of the
    model; with ``transforms="standard"``, its mean over ``repeats`` random transformations
    (drawn from ``generator``, seeded 0 when omitted). ``labels`` and ``output_fn`` as for
    :func:`flashwidget.activmax.render`."""
    names = layer_names(model, objective)
    copy = frozen_copy(model)
    device = model_device(copy, fallback=images.device)
    images = images.detach().to(device)
    shift = torch.tensor(mean, device=device).view(1, -1, 1, 1)
    scale = torch.tensor(std, device=device).view(1, -1, 1, 1)
    generator = checked_generator(generator)
    apply = pipeline(transforms)
    context = Context(names, ClassIndex(labels) if labels is not None else None)
    total = torch.zeros(len(images), device=device)
    with (
        torch.no_grad(),
        evaluation_mode(copy),
        recording(copy, list(names.values()), output_fn) as forward,
    ):
        for _ in range(repeats):
            total += objective(forward((apply(images, generator) - shift) / scale), context)
    return (total / repeats).cpu()


def high_frequency_energy(images: torch.Tensor, cutoff: float = 0.25) -> torch.Tensor:
    """(N,): the share of each image's spectral energy (luminance, mean removed) at spatial
    frequencies above ``cutoff`` cycles per pixel (0.5 is the highest): near 0 for smooth
    photos, large for the high-frequency patterns of plain gradient ascent."""
    gray = images.detach().double().mean(dim=1)
    gray = gray - gray.mean(dim=(1, 2), keepdim=True)
    power = torch.fft.fft2(gray).abs().square()
    rows = torch.fft.fftfreq(gray.shape[1], dtype=torch.float64)[:, None]
    columns = torch.fft.fftfreq(gray.shape[2], dtype=torch.float64)[None, :]
    high = (rows.square() + columns.square()).sqrt() > cutoff
    total = power.sum(dim=(1, 2)).clamp(min=1e-30)
    return (power * high).sum(dim=(1, 2)) / total
