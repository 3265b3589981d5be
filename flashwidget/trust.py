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
from flashwidget.targets import TargetClass


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
    return maps.detach().abs().amax(dim=1).flatten(1).double()


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
