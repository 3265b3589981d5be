"""The model-parameter randomisation test of Adebayo et al. (2018, "Sanity checks for saliency
maps"), computed on a private copy of the model.

The copy's layers are re-initialised from the output towards the input (cascading) or one at a
time, and the map is recomputed after each step and compared with the original: a map that
survives the loss of the weights it claims to explain is not explaining them. Guided
backpropagation famously survives (it behaves like an edge detector); the plain gradient does
not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from flashwidget import methods
from flashwidget.checks import checked_generator, require_positive_int
from flashwidget.inputs import as_image_batch
from flashwidget.live import private_copy
from flashwidget.model_output import OutputFn
from flashwidget.steps import Steps, finish
from flashwidget.targets import TargetClass
from flashwidget.trust.similarity import magnitude, similarity


@dataclass(frozen=True)
class RandomizationStep:
    """The map's similarity to the original once ``layer`` (and, cascading, every layer after
    it) has been re-initialised; averaged over the images. ``position`` counts ``layer`` from
    the output (1 for the output layer), which cascading is the number of layers re-initialised.
    """

    layer: str
    position: int
    spearman: float
    ssim: float


def randomizable_layers(model: nn.Module) -> list[str]:
    """Layers with weights of their own and a ``reset_parameters``, output to input (the order
    of ``named_modules`` reversed, which for sequential models is the order of the pass)."""
    return [
        name
        for name, module in reversed(list(model.named_modules()))
        if name
        and callable(getattr(module, "reset_parameters", None))
        and any(True for _ in module.parameters(recurse=False))
    ]


def checkpoint_positions(total: int, checkpoints: int | None) -> list[int]:
    """Which of ``total`` layers (1 = the output layer) get a map: all of them, or about
    ``checkpoints`` spaced geometrically from the first to the last, so the layers near the
    output, where maps change most, are seen in detail and the whole depth is still covered."""
    if checkpoints is None or checkpoints >= total:
        return list(range(1, total + 1))
    if checkpoints == 1:
        return [1]
    spaced = {round(total ** (i / (checkpoints - 1))) for i in range(checkpoints)}
    return sorted(spaced)


def _reset(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise ``module`` with its own ``reset_parameters``, seeded from ``generator``,
    without drawing from (or leaving a trace in) the global random state.

    ``reset_parameters`` draws from the default generator of the device its weights are on, so
    exactly those generators are seeded and restored afterwards: not ``torch.manual_seed``,
    which also reseeds every CUDA device's generator, which ``fork_rng`` would not restore.
    """
    seed = int(torch.randint(2**62, (), generator=generator))
    cuda = sorted({p.device.index or 0 for p in module.parameters() if p.device.type == "cuda"})
    with torch.random.fork_rng(devices=cuda), torch.no_grad():
        torch.default_generator.manual_seed(seed)
        for device in cuda:
            torch.cuda.default_generators[device].manual_seed(seed)
        module.reset_parameters()


def randomization_steps(
    model: nn.Module,
    inputs: torch.Tensor,
    target: TargetClass = None,
    method: str = "gradient",
    options: Mapping[str, Any] | None = None,
    cascade: bool = True,
    generator: torch.Generator | None = None,
    layers: int | None = None,
    checkpoints: int | None = None,
    output_fn: OutputFn | None = None,
) -> Steps[list[RandomizationStep]]:
    """:func:`randomization_check` as stepwise work (see :mod:`flashwidget.steps`): one
    step per map, the original's first."""
    options = {**(options or {}), "output_fn": output_fn}
    generator = checked_generator(generator)
    if layers is not None:
        require_positive_int(layers, "layers", "layers to re-initialise")
    if checkpoints is not None:
        require_positive_int(checkpoints, "checkpoints", "maps along the layers")
    batch = as_image_batch(inputs)
    copy, _ = private_copy(model)
    names = randomizable_layers(copy)[:layers]
    if not names:
        raise ValueError(
            f"{type(model).__qualname__} has no layer with weights and a reset_parameters() to "
            "re-initialise"
        )
    positions = checkpoint_positions(len(names), checkpoints)
    total = len(positions) + 1
    original = methods.get(method, copy, **options).explain(batch, target)
    yield 1, total
    targets = original.targets[:, 0].tolist()
    reference = magnitude(original.maps[:, 0])
    kept = {name: tensor.clone() for name, tensor in copy.state_dict().items()}
    steps = []
    for position, name in enumerate(names[: positions[-1]], start=1):
        # Every layer is re-initialised in turn (one draw each), whether or not it gets a map,
        # so a map after layer k is the same with any choice of checkpoints.
        if not cascade:
            copy.load_state_dict(kept)
        _reset(copy.get_submodule(name), generator)
        if position not in positions:
            continue
        maps = methods.get(method, copy, **options).explain(batch, targets).maps
        rank, structure = similarity(reference, magnitude(maps[:, 0]), original.maps.shape[-2:])
        steps.append(RandomizationStep(name, position, rank, structure))
        yield len(steps) + 1, total
    return steps


def randomization_check(
    model: nn.Module,
    inputs: torch.Tensor,
    target: TargetClass = None,
    method: str = "gradient",
    options: Mapping[str, Any] | None = None,
    cascade: bool = True,
    generator: torch.Generator | None = None,
    layers: int | None = None,
    checkpoints: int | None = None,
    output_fn: OutputFn | None = None,
    progress: Callable[[float], None] | None = None,
) -> list[RandomizationStep]:
    """The model-parameter randomisation test, layer by layer from the output to the input.

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
        checkpoints: compute the map after only about this many of the layers, spaced
            geometrically from the output (see :func:`checkpoint_positions`); ``None`` for a
            map after every layer. A deep model's full cascade costs a map per layer.
        output_fn: picks the logits out of a model output that is not a tensor.
        progress: called with the fraction done after each map.

    Returns one :class:`RandomizationStep` per map, in the order the layers were re-initialised.
    """
    work = randomization_steps(
        model, inputs, target, method, options, cascade, generator, layers, checkpoints, output_fn
    )
    return finish(work, progress)
