"""Should I trust this map? Sanity checks of Adebayo et al. (2018, "Sanity checks for saliency
maps"), computed on a private copy of the model.

``class_sensitivity`` compares the map for a class with the map for another (the least likely
by default). ``randomization_check`` re-initialises the model's layers from the output towards
the input (cascading) or one at a time, recomputes the map after each step and says how similar
it stays to the original: a map that survives the loss of the weights it claims to explain is
not explaining them. Guided backpropagation famously survives (it behaves like an edge
detector); the plain gradient does not.

Similarity is measured on absolute values (the largest over colour channels), as in the paper:
Spearman's rank correlation (ties get their average rank) and SSIM (Wang et al. 2004, an 11-pixel
Gaussian window of sigma 1.5, each map scaled to [0, 1] first).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from flashwidget import methods
from flashwidget.checks import require_positive_int
from flashwidget.inputs import as_image_batch
from flashwidget.live import private_copy
from flashwidget.methods.core import logits_without_graph
from flashwidget.model_guard import evaluation_mode, model_device, model_dtype
from flashwidget.saliency import max_abs_over_channels
from flashwidget.targets import TargetClass, target_selector


@dataclass(frozen=True)
class ClassSensitivity:
    """How alike the maps of two classes are (averaged over the images): a map that does not
    change with the class cannot be explaining the class. ``other`` is the class compared, one
    per image."""

    other: list[int]
    spearman: float
    ssim: float


@dataclass(frozen=True)
class RandomizationStep:
    """The map's similarity to the original once ``layer`` (and, cascading, every layer after
    it) has been re-initialised; averaged over the images."""

    layer: str
    spearman: float
    ssim: float


def _magnitude(maps: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) maps -> (N, H*W): the largest absolute value over channels."""
    return max_abs_over_channels(maps.detach())[:, 0].flatten(1).double()


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks 1..n of a 1-d tensor, tied values sharing their average rank."""
    order = values.argsort()
    sorted_values = values[order]
    _, counts = torch.unique_consecutive(sorted_values, return_counts=True)
    ends = counts.cumsum(0).double()
    averages = ends - (counts.double() - 1) / 2
    ranks = torch.empty_like(values, dtype=torch.float64)
    ranks[order] = averages.repeat_interleave(counts)
    return ranks


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's rank correlation of two maps of the same size (flattened)."""
    ra, rb = _average_ranks(a.flatten().double()), _average_ranks(b.flatten().double())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = (ra.square().sum() * rb.square().sum()).sqrt()
    return float((ra * rb).sum() / denominator) if denominator > 0 else 0.0


def ssim(a: torch.Tensor, b: torch.Tensor, window: int = 11, sigma: float = 1.5) -> float:
    """Mean SSIM of two (H, W) maps, each scaled to [0, 1] by its own minimum and maximum (a
    window as large as the smaller side, and odd, for maps smaller than ``window``)."""

    def scaled(x: torch.Tensor) -> torch.Tensor:
        x = x.double()
        span = x.max() - x.min()
        return (x - x.min()) / span if span > 0 else torch.zeros_like(x)

    x, y = scaled(a)[None, None], scaled(b)[None, None]
    window = min(window, *a.shape[-2:])  # a map smaller than the window gets a smaller one
    window -= 1 - window % 2
    coords = torch.arange(window, dtype=torch.float64) - (window - 1) / 2
    gauss = torch.exp(-coords.square() / (2 * sigma**2))
    kernel = (gauss[:, None] * gauss[None, :] / gauss.sum() ** 2)[None, None]

    def blur(z: torch.Tensor) -> torch.Tensor:
        return F.conv2d(z, kernel)

    c1, c2 = 0.01**2, 0.03**2
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    index = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(index.mean())


def _similarity(a: torch.Tensor, b: torch.Tensor, shape: torch.Size) -> tuple[float, float]:
    """Mean Spearman and SSIM over images of two (N, H*W) magnitude maps."""
    pairs = list(zip(a, b, strict=True))
    rank = sum(spearman(x, y) for x, y in pairs) / len(pairs)
    structure = sum(ssim(x.view(shape), y.view(shape)) for x, y in pairs) / len(pairs)
    return rank, structure


def class_sensitivity(
    model: nn.Module,
    inputs: torch.Tensor,
    target: TargetClass = None,
    method: str = "gradient",
    options: Mapping[str, Any] | None = None,
    other: TargetClass = None,
) -> ClassSensitivity:
    """Similarity of the map for ``target`` and the map for ``other`` (by default each image's
    least likely class), with the same method; computed on a private copy of the model."""
    batch = as_image_batch(inputs)
    copy, _ = private_copy(model)
    method_ = methods.get(method, copy, **dict(options or {}))
    explained = method_.explain(batch, target)
    if other is None:
        other = explained.logits.argmin(dim=1).tolist()
    elif batch.shape[0] == 1 and not isinstance(other, (list, tuple)):
        other = [other]
    compared = method_.explain(batch, other)
    others = compared.targets[:, 0].tolist()
    shape = explained.maps.shape[-2:]
    rank, structure = _similarity(
        _magnitude(explained.maps[:, 0]), _magnitude(compared.maps[:, 0]), shape
    )
    return ClassSensitivity(other=others, spearman=rank, ssim=structure)


def _randomizable_layers(model: nn.Module) -> list[str]:
    """Layers with weights of their own and a ``reset_parameters``, output to input (the order
    of ``named_modules`` reversed, which for sequential models is the order of the pass)."""
    return [
        name
        for name, module in reversed(list(model.named_modules()))
        if name
        and callable(getattr(module, "reset_parameters", None))
        and any(True for _ in module.parameters(recurse=False))
    ]


def _reset(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise ``module`` with its own ``reset_parameters``, seeded from ``generator``,
    without drawing from (or leaving a trace in) the global random state."""
    seed = int(torch.randint(2**62, (), generator=generator))
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        module.reset_parameters()


def randomization_check(
    model: nn.Module,
    inputs: torch.Tensor,
    target: TargetClass = None,
    method: str = "gradient",
    options: Mapping[str, Any] | None = None,
    cascade: bool = True,
    generator: torch.Generator | None = None,
    layers: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> list[RandomizationStep]:
    """The model-parameter randomisation test, one step per layer, output to input.

    Args:
        model: the classifier; never changed (a private copy is re-initialised).
        inputs: one image (C, H, W) or a batch (N, C, H, W), normalised for the model.
        target: the class(es) explained, as for any method; ``None`` for the top prediction.
            The classes are fixed by the original model, so every step explains the same ones.
        method, options: the attribution method (a registry name) and its options.
        cascade: re-initialise layer after layer, keeping the earlier ones random (the
            paper's cascading test); ``False`` re-initialises one layer at a time.
        generator: the random source of the new weights (seeded 0 when omitted), so runs repeat
            exactly; the global random state is untouched.
        layers: how many layers, from the output, to go through; ``None`` for all of them.
        progress: called with the fraction of steps done.

    Returns one :class:`RandomizationStep` per layer, in the order they were re-initialised.
    """
    options = dict(options or {})
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    elif not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}")
    if layers is not None:
        require_positive_int(layers, "layers", "layers to re-initialise")
    batch = as_image_batch(inputs)
    copy, _ = private_copy(model)
    names = _randomizable_layers(copy)[:layers]
    if not names:
        raise ValueError(
            f"{type(model).__qualname__} has no layer with weights and a reset_parameters() to "
            "re-initialise"
        )
    original = methods.get(method, copy, **options).explain(batch, target)
    targets = original.targets[:, 0]
    reference = _magnitude(original.maps[:, 0])
    kept = {name: tensor.clone() for name, tensor in copy.state_dict().items()}
    steps = []
    for done, name in enumerate(names, start=1):
        if not cascade:
            copy.load_state_dict(kept)
        _reset(copy.get_submodule(name), generator)
        maps = methods.get(method, copy, **options).explain(batch, targets.tolist()).maps
        rank, structure = _similarity(reference, _magnitude(maps[:, 0]), original.maps.shape[-2:])
        steps.append(RandomizationStep(layer=name, spearman=rank, ssim=structure))
        if progress is not None:
            progress(done / len(names))
    return steps


@dataclass(frozen=True)
class DeletionInsertion:
    """Deletion and insertion curves (Petsiuk et al. 2018, RISE), one row per image.

    ``fractions`` (steps + 1) are the shares of pixels removed (deletion) or revealed
    (insertion), in order of decreasing saliency; ``deletion`` and ``insertion`` (N, steps + 1)
    the target's probability at each; the areas under them (trapezoid rule) per image; and the
    same areas for random orderings, averaged over a few seeded ones, as the chance level. A
    faithful map has a deletion area below chance and an insertion area above its deletion area.
    """

    fractions: torch.Tensor
    deletion: torch.Tensor
    insertion: torch.Tensor
    deletion_auc: torch.Tensor
    insertion_auc: torch.Tensor
    random_deletion_auc: torch.Tensor
    random_insertion_auc: torch.Tensor


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


def _probabilities_along(
    copy: nn.Module,
    start: torch.Tensor,
    end: torch.Tensor,
    order: torch.Tensor,
    targets: torch.Tensor,
    steps: int,
    batch_size: int,
) -> torch.Tensor:
    """(N, steps + 1): the target's probability as the pixels in ``order`` (N, H*W) go from
    ``start`` to ``end``, ``k / steps`` of them at step k; ``batch_size`` images a pass."""
    n, _, height, width = start.shape
    pixels = height * width
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(pixels, device=order.device).expand(n, -1))
    counts = [round(k * pixels / steps) for k in range(steps + 1)]
    rows = []
    for image in range(n):
        masks = torch.stack([ranks[image] < count for count in counts]).view(-1, 1, height, width)
        probabilities = []
        for first in range(0, len(masks), batch_size):
            mask = masks[first : first + batch_size].to(start.dtype)
            mixed = start[image] * (1 - mask) + end[image] * mask
            logits = logits_without_graph(copy, mixed)
            probabilities.append(logits.softmax(dim=1)[:, targets[image]])
        rows.append(torch.cat(probabilities))
    return torch.stack(rows)


def _area(curves: torch.Tensor) -> torch.Tensor:
    return torch.trapezoid(curves, dx=1.0 / (curves.shape[1] - 1), dim=1)


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
) -> DeletionInsertion:
    """Deletion and insertion curves of ``attributions`` for ``target``, with chance levels.

    Args:
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
    """
    require_positive_int(steps, "steps", "points on each curve")
    require_positive_int(random_orderings, "random_orderings")
    require_positive_int(batch_size, "batch_size")
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    batch = as_image_batch(inputs).detach()
    maps = attributions.detach()
    maps = maps.unsqueeze(0) if maps.dim() == 3 else maps
    if maps.dim() != 4 or maps.shape[0] != batch.shape[0] or maps.shape[-2:] != batch.shape[-2:]:
        raise ValueError(
            f"attributions have shape {tuple(attributions.shape)}; expected one map per image "
            f"of the input's size, (N, C, H, W) with N, H, W = {batch.shape[0]}, "
            f"{batch.shape[2]}, {batch.shape[3]}"
        )
    copy, _ = private_copy(model)
    device = model_device(copy, fallback=batch.device)
    batch = batch.to(device=device, dtype=model_dtype(copy) or batch.dtype)
    with torch.no_grad(), evaluation_mode(copy):
        selected = target_selector(target, len(batch))(logits_without_graph(copy, batch))[:, 0]
        if isinstance(baseline, str):
            if baseline != "blur":
                raise ValueError(f"baseline must be 'blur', a number or a tensor; got {baseline!r}")
            canvas = _blurred(batch)
        elif isinstance(baseline, torch.Tensor):
            canvas = baseline.to(batch).expand_as(batch)
        else:
            canvas = torch.full_like(batch, float(baseline))
        saliency = max_abs_over_channels(maps.to(device))[:, 0].flatten(1)
        order = saliency.argsort(dim=1, descending=True)

        def run(start: torch.Tensor, end: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
            return _probabilities_along(copy, start, end, pixels, selected, steps, batch_size)

        deletion, insertion = run(batch, canvas, order), run(canvas, batch, order)
        chance_deletion, chance_insertion = [], []
        for _ in range(random_orderings):
            shuffled = torch.stack(
                [torch.randperm(order.shape[1], generator=generator) for _ in range(len(batch))]
            ).to(device)
            chance_deletion.append(_area(run(batch, canvas, shuffled)))
            chance_insertion.append(_area(run(canvas, batch, shuffled)))
    return DeletionInsertion(
        fractions=torch.linspace(0, 1, steps + 1),
        deletion=deletion,
        insertion=insertion,
        deletion_auc=_area(deletion),
        insertion_auc=_area(insertion),
        random_deletion_auc=torch.stack(chance_deletion).mean(dim=0),
        random_insertion_auc=torch.stack(chance_insertion).mean(dim=0),
    )
