"""Class sensitivity: the map for a class against the map for another class (the least likely
by default). A map that does not change with the class cannot be explaining the class; guided
backpropagation's famously does not (Adebayo et al. 2018; Nie et al. 2018).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from flashwidget import methods
from flashwidget.inputs import as_image_batch
from flashwidget.live import private_copy
from flashwidget.model_output import OutputFn
from flashwidget.steps import Steps, finish
from flashwidget.targets import TargetClass
from flashwidget.trust.similarity import magnitude, similarity


@dataclass(frozen=True)
class ClassSensitivity:
    """How alike the maps of two classes are (averaged over the images). ``other`` is the class
    compared, one per image."""

    other: list[int]
    spearman: float
    ssim: float


def class_sensitivity_steps(
    model: nn.Module,
    inputs: torch.Tensor,
    target: TargetClass = None,
    method: str = "gradient",
    options: Mapping[str, Any] | None = None,
    other: TargetClass = None,
    output_fn: OutputFn | None = None,
) -> Steps[ClassSensitivity]:
    """:func:`class_sensitivity` as stepwise work (see :mod:`flashwidget.steps`): two
    steps, one map each."""
    batch = as_image_batch(inputs)
    copy, _ = private_copy(model)
    method_ = methods.get(method, copy, output_fn=output_fn, **dict(options or {}))
    explained = method_.explain(batch, target)
    yield 1, 2
    if other is None:
        other = explained.logits.argmin(dim=1).tolist()
    elif batch.shape[0] == 1 and not isinstance(other, (list, tuple)):
        other = [other]
    compared = method_.explain(batch, other)
    yield 2, 2
    rank, structure = similarity(
        magnitude(explained.maps[:, 0]), magnitude(compared.maps[:, 0]), explained.maps.shape[-2:]
    )
    return ClassSensitivity(other=compared.targets[:, 0].tolist(), spearman=rank, ssim=structure)


def class_sensitivity(
    model: nn.Module,
    inputs: torch.Tensor,
    target: TargetClass = None,
    method: str = "gradient",
    options: Mapping[str, Any] | None = None,
    other: TargetClass = None,
    output_fn: OutputFn | None = None,
    progress: Callable[[float], None] | None = None,
) -> ClassSensitivity:
    """Similarity of the map for ``target`` and the map for ``other`` (by default each image's
    least likely class), with the same method; computed on a private copy of the model.

    Args:
        model: the classifier; never changed.
        inputs: one image (C, H, W) or a batch (N, C, H, W), normalised for the model.
        target, other: the classes compared, as for any method (``None``: the top prediction,
            and the least likely class).
        method, options: the attribution method (a registry name) and its options.
        output_fn: picks the logits out of a model output that is not a tensor.
        progress: called with the fraction done after each map.
    """
    return finish(
        class_sensitivity_steps(model, inputs, target, method, options, other, output_fn), progress
    )
