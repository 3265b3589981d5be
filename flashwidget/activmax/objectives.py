"""What activation maximisation maximises: objectives over a model's activations and logits.

An :class:`Objective` scores each image of a batch, (N,), from what one forward pass recorded:
the outputs of the layers it names and the logits. Objectives compose as Lucid's do, by ``+``,
``-`` and multiplication or division by a number, so ``channel("blocks.4", 7) - 0.5 *
channel("blocks.4", 9)`` asks for one channel and against another. Layers are named as in
``model.named_modules()`` or given as modules of the model; they are resolved against the
user's model and then looked up by name in the private copy that is optimised through.

:func:`recording` runs a forward pass with hooks on just the layers an objective needs, and
stops the pass once they have all been seen when the logits are not needed: an objective on an
early layer then costs a fraction of a full forward pass (and of its backward pass).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from numbers import Real
from typing import Any, Union

import torch
import torch.nn.functional as F
from torch import nn

from flashwidget.class_index import ClassIndex
from flashwidget.methods.core import run_model
from flashwidget.methods.layers import resolve_layer
from flashwidget.model_output import OutputFn, logits_from
from flashwidget.targets import Target, target_selector

Layer = Union[str, nn.Module]  # noqa: UP007 (a runtime alias: Python 3.10)
LOGITS = "logits"  # what an objective on the model's output names instead of a layer
Recorded = Mapping[str, torch.Tensor]  # layer name (or LOGITS) -> what the forward pass gave
Score = Callable[[Recorded, "Context"], torch.Tensor]


class Context:
    """What scoring needs besides the recording: the layer names the objective's layers
    resolved to, and the class names for a class given by name."""

    def __init__(self, names: dict[int, str], labels: ClassIndex | None) -> None:
        self.names = names
        self.labels = labels

    def output(self, recorded: Recorded, layer: Layer) -> torch.Tensor:
        return recorded[self.names[id(layer)]]


class Objective:
    """A quantity to maximise, one value per image, computed from one forward pass.

    Build one with :func:`channel`, :func:`neuron`, :func:`class_logit` or :func:`diversity`,
    and combine with ``+``, ``-``, ``*`` and ``/`` (by numbers).
    """

    def __init__(self, layers: tuple[Layer, ...], score: Score, description: str) -> None:
        self.layers = layers  # the layers whose outputs the score reads (LOGITS for the output)
        self._score = score
        self.description = description

    def __call__(self, recorded: Recorded, context: Context) -> torch.Tensor:
        return self._score(recorded, context)

    def __repr__(self) -> str:
        return f"Objective({self.description})"

    def _combine(self, other: Any, sign: float, symbol: str) -> Objective:
        if isinstance(other, Real) and not isinstance(other, bool):
            offset = float(other) * sign
            return Objective(
                self.layers,
                lambda r, c: self(r, c) + offset,
                f"{self.description} {symbol} {other}",
            )
        if not isinstance(other, Objective):
            return NotImplemented
        return Objective(
            self.layers + other.layers,
            lambda r, c: self(r, c) + sign * other(r, c),
            f"{self.description} {symbol} {other.description}",
        )

    def __add__(self, other: Any) -> Objective:
        return self._combine(other, 1.0, "+")

    def __radd__(self, other: Any) -> Objective:  # sum([...]) starts from 0
        return self._combine(other, 1.0, "+")

    def __sub__(self, other: Any) -> Objective:
        return self._combine(other, -1.0, "-")

    def __rsub__(self, other: Any) -> Objective:
        return (-self)._combine(other, 1.0, "+")

    def __neg__(self) -> Objective:
        return self * -1

    def __mul__(self, factor: Any) -> Objective:
        if isinstance(factor, bool) or not isinstance(factor, Real):
            return NotImplemented
        value = float(factor)
        return Objective(
            self.layers, lambda r, c: value * self(r, c), f"{factor} * ({self.description})"
        )

    __rmul__ = __mul__

    def __truediv__(self, divisor: Any) -> Objective:
        if isinstance(divisor, bool) or not isinstance(divisor, Real) or divisor == 0:
            return NotImplemented
        return self * (1.0 / float(divisor))


def _channel_count(output: torch.Tensor, layer: str, index: int, what: str) -> None:
    if output.ndim < 2:
        raise ValueError(
            f"layer {layer!r} gives an output of shape {tuple(output.shape)}; a {what} needs "
            "(N, C, ...) with channels on the second axis"
        )
    channels = output.shape[1]
    if not 0 <= index < channels:
        raise IndexError(
            f"{what} index {index} is out of range: layer {layer!r} has {channels} channels, so "
            f"expected 0 <= index < {channels}"
        )


def _require_index(index: Any, what: str) -> int:
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"{what} index must be an int; got {index!r}")
    return index


def channel(layer: Layer, index: int) -> Objective:
    """The mean of one channel's output over its positions: what FlashTorch's
    ``GradientAscent`` maximises. Works for any output (N, C, ...) (a linear layer's (N, C):
    one neuron)."""
    _require_index(index, "channel")

    def score(recorded: Recorded, context: Context) -> torch.Tensor:
        output = context.output(recorded, layer)
        _channel_count(output, context.names[id(layer)], index, "channel")
        return output[:, index].reshape(output.shape[0], -1).mean(dim=1)

    return Objective((layer,), score, f"channel({_named(layer)}, {index})")


def neuron(layer: Layer, index: int, x: int | None = None, y: int | None = None) -> Objective:
    """One unit of one channel: at (``y``, ``x``) of a feature map (N, C, H, W), its centre by
    default; or unit ``index`` of an output (N, C) (no position)."""
    _require_index(index, "neuron")
    for name, value in (("x", x), ("y", y)):
        if value is not None:
            _require_index(value, f"neuron {name}")

    def score(recorded: Recorded, context: Context) -> torch.Tensor:
        output = context.output(recorded, layer)
        name = context.names[id(layer)]
        _channel_count(output, name, index, "neuron")
        if output.ndim == 2:
            if x is not None or y is not None:
                raise ValueError(f"layer {name!r} has no positions (output (N, C)): omit x and y")
            return output[:, index]
        if output.ndim != 4:
            raise ValueError(
                f"layer {name!r} gives an output of shape {tuple(output.shape)}; a neuron needs "
                "(N, C, H, W) or (N, C)"
            )
        height, width = output.shape[2:]
        row, column = height // 2 if y is None else y, width // 2 if x is None else x
        if not (0 <= row < height and 0 <= column < width):
            raise IndexError(
                f"neuron position (y={row}, x={column}) is outside the {height} x {width} map "
                f"of layer {name!r}"
            )
        return output[:, index, row, column]

    return Objective((layer,), score, f"neuron({_named(layer)}, {index}, x={x}, y={y})")


def class_logit(target: Target) -> Objective:
    """The logit of a class (an index, or a name resolved through the labels or, for a
    1000-class model without them, ImageNet's names): the class's ideal image."""
    if isinstance(target, bool) or not isinstance(target, (int, str)):
        raise TypeError(f"class_logit takes a class index or name; got {target!r}")

    def score(recorded: Recorded, context: Context) -> torch.Tensor:
        logits = recorded[LOGITS]
        index = target_selector(target, 1, context.labels)(logits[:1])[0, 0]
        return logits[:, index]

    return Objective((LOGITS,), score, f"class_logit({target!r})")


def diversity(layer: Layer) -> Objective:
    """How different a batch's images are at ``layer``: minus the mean cosine similarity of
    each image's Gram matrix (its channels' correlations, a description of its style) with the
    others' (Olah et al. 2017). Zero for a single image. Add it, weighted, to another objective
    so that a batch shows several facets of one feature."""

    def score(recorded: Recorded, context: Context) -> torch.Tensor:
        output = context.output(recorded, layer)
        n = output.shape[0]
        if n < 2:
            return output.new_zeros(n)
        features = output.reshape(n, output.shape[1], -1)
        grams = F.normalize((features @ features.transpose(1, 2)).reshape(n, -1), dim=1)
        similarity = grams @ grams.T
        return -(similarity.sum(dim=1) - similarity.diagonal()) / (n - 1)

    return Objective((layer,), score, f"diversity({_named(layer)})")


def _named(layer: Layer) -> str:
    return repr(layer) if isinstance(layer, str) else type(layer).__name__


def layer_names(model: nn.Module, objective: Objective) -> dict[int, str]:
    """Resolve the objective's layers against the user's ``model``: id(layer) -> name."""
    if not isinstance(objective, Objective):
        raise TypeError(
            "objective must be an activmax Objective (channel, neuron, class_logit, diversity "
            f"or a combination of them); got {type(objective).__name__}"
        )
    names = {}
    for layer in objective.layers:
        names[id(layer)] = LOGITS if layer is LOGITS else resolve_layer(model, layer)[0]
    return names


class _Recorded(Exception):
    """Raised by the last hook an objective needs, to end the forward pass early."""


@contextmanager
def recording(
    model: nn.Module, names: list[str], output_fn: OutputFn | None = None
) -> Iterator[Callable[[torch.Tensor], dict[str, torch.Tensor]]]:
    """A function that runs ``model`` on a batch and returns the outputs of the layers
    ``names`` (and the logits under LOGITS, when named), with hooks on those layers only while
    the context is open. Without LOGITS, the pass ends as soon as every layer has given its
    output. A layer that runs twice in one pass is refused (which output would be meant?)."""
    layers = sorted({name for name in names if name != LOGITS})
    wants_logits = LOGITS in names
    recorded: dict[str, torch.Tensor] = {}

    def hook_for(name: str):
        def hook(module: nn.Module, args: object, output: object) -> None:
            if not isinstance(output, torch.Tensor):
                raise TypeError(
                    f"layer {name!r} returns {type(output).__name__}, not a tensor; choose a "
                    "layer whose output is a tensor (N, C, ...)"
                )
            if name in recorded:
                raise ValueError(
                    f"layer {name!r} runs more than once in a forward pass; choose a layer "
                    "that runs once"
                )
            recorded[name] = output
            if not wants_logits and len(recorded) == len(layers):
                raise _Recorded

        return hook

    handles = [model.get_submodule(name).register_forward_hook(hook_for(name)) for name in layers]

    def forward(batch: torch.Tensor) -> dict[str, torch.Tensor]:
        recorded.clear()
        try:
            output = run_model(model, batch)
        except _Recorded:
            return dict(recorded)
        if wants_logits:
            recorded[LOGITS] = logits_from(output, output_fn, batch_size=len(batch))
        return dict(recorded)

    try:
        yield forward
    finally:
        for handle in handles:
            handle.remove()
