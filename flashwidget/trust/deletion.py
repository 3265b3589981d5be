"""Deletion and insertion curves (Petsiuk et al. 2018, RISE): how fast the target's probability
falls as the most salient pixels are removed, and rises as they are revealed, against random
orderings of the same pixels as the chance level.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from flashwidget.checks import checked_generator, require_positive_int
from flashwidget.inputs import as_image_batch
from flashwidget.live import private_copy
from flashwidget.methods.core import chunks, logits_without_graph
from flashwidget.model_guard import evaluation_mode, model_device, model_dtype
from flashwidget.model_output import OutputFn
from flashwidget.saliency import max_abs_over_channels
from flashwidget.steps import Steps, finish
from flashwidget.targets import TargetClass, target_selector


@dataclass(frozen=True)
class DeletionInsertion:
    """Deletion and insertion curves, one row per image.

    ``fractions`` (steps + 1) are the shares of pixels removed (deletion) or revealed
    (insertion), in order of decreasing saliency; ``deletion`` and ``insertion`` (N, steps + 1)
    the target's probability at each; the areas under them (trapezoid rule) per image; and the
    same areas for random orderings, averaged over a few seeded ones, as the chance level
    (``random_..._aucs``, (orderings, N), are each ordering's: they spread widely, as a model's
    answer to scattered pixels is erratic). A faithful map has a deletion area below chance and
    an insertion area above its deletion area.
    """

    fractions: torch.Tensor
    deletion: torch.Tensor
    insertion: torch.Tensor
    deletion_auc: torch.Tensor
    insertion_auc: torch.Tensor
    random_deletion_auc: torch.Tensor
    random_insertion_auc: torch.Tensor
    random_deletion_aucs: torch.Tensor
    random_insertion_aucs: torch.Tensor


def _blurred(images: torch.Tensor, sigma: float = 5.0) -> torch.Tensor:
    """A Gaussian blur of each channel (RISE's insertion canvas), edges replicated."""
    radius = int(3 * sigma)
    coords = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    gauss = torch.exp(-coords.square() / (2 * sigma**2))
    gauss = gauss / gauss.sum()
    channels = images.shape[1]
    rows = gauss.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)
    cols = gauss.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    padded = F.pad(images, (radius, radius, radius, radius), mode="replicate")
    return F.conv2d(F.conv2d(padded, rows, groups=channels), cols, groups=channels)


def _area(curves: torch.Tensor) -> torch.Tensor:
    return torch.trapezoid(curves, dx=1.0 / (curves.shape[1] - 1), dim=1)


def deletion_insertion_steps(
    model: nn.Module,
    inputs: torch.Tensor,
    target: TargetClass,
    attributions: torch.Tensor,
    steps: int = 50,
    baseline: str | float | torch.Tensor = "blur",
    random_orderings: int = 3,
    batch_size: int = 32,
    generator: torch.Generator | None = None,
    output_fn: OutputFn | None = None,
) -> Steps[DeletionInsertion]:
    """:func:`deletion_insertion` as stepwise work (see :mod:`flashwidget.steps`): one
    step per batch of ``batch_size`` images through the model."""
    require_positive_int(steps, "steps", "points on each curve")
    require_positive_int(random_orderings, "random_orderings")
    require_positive_int(batch_size, "batch_size")
    generator = checked_generator(generator)
    batch = as_image_batch(inputs).detach()
    maps = attributions.detach()
    maps = maps.unsqueeze(0) if maps.dim() == 3 else maps
    if maps.dim() != 4 or maps.shape[0] != batch.shape[0] or maps.shape[-2:] != batch.shape[-2:]:
        raise ValueError(
            f"attributions have shape {tuple(attributions.shape)}; expected one map per image "
            f"of the input's size, (N, C, H, W) with N, H, W = {batch.shape[0]}, "
            f"{batch.shape[2]}, {batch.shape[3]}"
        )
    if isinstance(baseline, str) and baseline != "blur":
        raise ValueError(f"baseline must be 'blur', a number or a tensor; got {baseline!r}")
    copy, _ = private_copy(model)
    device = model_device(copy, fallback=batch.device)
    batch = batch.to(device=device, dtype=model_dtype(copy) or batch.dtype)
    n, _, height, width = batch.shape
    pixels = height * width
    counts = [round(k * pixels / steps) for k in range(steps + 1)]
    per_curve = math.ceil(len(counts) / batch_size)
    total = n * per_curve * 2 * (1 + random_orderings)
    done = 0

    # No torch.no_grad() around the yields: grad mode is per thread, and the caller's code that
    # runs between two steps (the widget's next map) needs gradients. Nothing here needs a graph:
    # the forward passes run without one, and the rest never sees a tensor that requires grad.
    with evaluation_mode(copy):
        selected = target_selector(target, n)(logits_without_graph(copy, batch, output_fn))[:, 0]
        if isinstance(baseline, str):
            canvas = _blurred(batch)
        elif isinstance(baseline, torch.Tensor):
            canvas = baseline.to(batch).expand_as(batch)
        else:
            canvas = torch.full_like(batch, float(baseline))

        def curves(start: torch.Tensor, end: torch.Tensor, order: torch.Tensor) -> Steps:
            """(N, steps + 1): the target's probability as the pixels in ``order`` (N, H*W) go
            from ``start`` to ``end``, ``counts[k]`` of them at point k."""
            nonlocal done
            ranks = torch.empty_like(order)
            ranks.scatter_(1, order, torch.arange(pixels, device=device).expand(n, -1))
            rows = []
            for image in range(n):
                masks = torch.stack([ranks[image] < count for count in counts])
                masks = masks.view(-1, 1, height, width).to(batch.dtype)
                probabilities = []
                for piece in chunks(len(masks), batch_size):
                    mask = masks[piece.start : piece.stop]
                    mixed = start[image] * (1 - mask) + end[image] * mask
                    logits = logits_without_graph(copy, mixed, output_fn)
                    probabilities.append(logits.softmax(dim=1)[:, selected[image]])
                    done += 1
                    yield done, total
                rows.append(torch.cat(probabilities))
            return torch.stack(rows)

        saliency = max_abs_over_channels(maps.to(device))[:, 0].flatten(1)
        order = saliency.argsort(dim=1, descending=True)
        deletion = yield from curves(batch, canvas, order)
        insertion = yield from curves(canvas, batch, order)
        chance_deletion, chance_insertion = [], []
        for _ in range(random_orderings):
            shuffled = torch.stack([torch.randperm(pixels, generator=generator) for _ in range(n)])
            shuffled = shuffled.to(device)
            chance_deletion.append(_area((yield from curves(batch, canvas, shuffled))))
            chance_insertion.append(_area((yield from curves(canvas, batch, shuffled))))
    return DeletionInsertion(
        fractions=torch.linspace(0, 1, steps + 1),
        deletion=deletion,
        insertion=insertion,
        deletion_auc=_area(deletion),
        insertion_auc=_area(insertion),
        random_deletion_auc=torch.stack(chance_deletion).mean(dim=0),
        random_insertion_auc=torch.stack(chance_insertion).mean(dim=0),
        random_deletion_aucs=torch.stack(chance_deletion),
        random_insertion_aucs=torch.stack(chance_insertion),
    )


def deletion_insertion(
    model: nn.Module,
    inputs: torch.Tensor,
    target: TargetClass,
    attributions: torch.Tensor,
    steps: int = 50,
    baseline: str | float | torch.Tensor = "blur",
    random_orderings: int = 3,
    batch_size: int = 32,
    generator: torch.Generator | None = None,
    output_fn: OutputFn | None = None,
    progress: Callable[[float], None] | None = None,
) -> DeletionInsertion:
    """Deletion and insertion curves of ``attributions`` for ``target``, with chance levels.

    Args:
        model: the classifier; never changed (a private copy runs the passes).
        inputs: one image (C, H, W) or a batch (N, C, H, W), normalised for the model.
        target: the class(es) explained, as for any method.
        attributions: the maps, (C, H, W) or (N, C, H, W) (one channel for Grad-CAM); pixels
            are ranked by their largest absolute value over channels.
        steps: points on each curve after the first.
        baseline: what deleted pixels become and insertion starts from: "blur" (a Gaussian
            blur of the image, sigma 5 px, RISE's insertion canvas), a number, or a tensor of
            the input's shape.
        random_orderings: seeded random pixel orderings whose areas give the chance level.
        batch_size: images through the model at once (memory is bounded by it).
        generator: the random orderings' source (seeded 0 when omitted).
        output_fn: picks the logits out of a model output that is not a tensor.
        progress: called with the fraction done after each batch.
    """
    work = deletion_insertion_steps(
        model,
        inputs,
        target,
        attributions,
        steps,
        baseline,
        random_orderings,
        batch_size,
        generator,
        output_fn,
    )
    return finish(work, progress)
