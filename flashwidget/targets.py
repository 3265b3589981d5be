"""Turn the user's ``target_class`` into class indices, one row per image.

FlashTorch ignored ``target_class`` and always explained the top prediction. Here a target is an
index, a class name (resolved through the labels), several of either for one image, one per image
of a batch, or ``None`` for each image's top prediction. Indices are checked against the model's
actual number of classes, so they are resolved after the forward pass that reveals it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Integral
from typing import Union

import torch

from flashwidget.checks import require_positive_int
from flashwidget.class_index import ClassIndex, ImageNetIndex

Target = Union[int, str]  # noqa: UP007 (a runtime alias: Python 3.10 has no `X | Y` here)
TargetClass = Union[Target, Sequence[Target], torch.Tensor, None]  # noqa: UP007
TargetSelector = Callable[[torch.Tensor], torch.Tensor]


def _entries(target_class: TargetClass) -> list[Target] | None:
    """Flatten ``target_class`` to a list of ints and names; ``None`` stays ``None``."""
    if target_class is None:
        return None
    if isinstance(target_class, torch.Tensor):
        if target_class.is_floating_point() or target_class.dtype == torch.bool:
            raise TypeError(
                f"target_class tensor has dtype {target_class.dtype}; expected integers"
            )
        if target_class.ndim > 1:
            raise ValueError(
                f"target_class tensor must be 0-d or 1-d; got shape {tuple(target_class.shape)}"
            )
        return [int(t) for t in target_class.reshape(-1)]
    items = list(target_class) if isinstance(target_class, (list, tuple)) else [target_class]
    if not items:
        raise ValueError("target_class is an empty sequence; expected at least one class")
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (Integral, str)):
            raise TypeError(
                f"target_class entries must be class indices (int) or class names (str); got "
                f"{item!r} of type {type(item).__qualname__}"
            )
    return [item if isinstance(item, str) else int(item) for item in items]


def asks_for_several(target_class: TargetClass) -> bool:
    """True when ``target_class`` is a sequence, i.e. several classes (or one per image)."""
    if isinstance(target_class, torch.Tensor):
        return target_class.ndim == 1
    return isinstance(target_class, (list, tuple))


def _index_of(target: Target, num_classes: int, labels: ClassIndex | None) -> int:
    if isinstance(target, str):
        if labels is None:
            if num_classes != 1000:
                raise KeyError(
                    f"class name {target!r} needs labels: the model has {num_classes} classes, "
                    "so pass labels=[...] (one name per class) to use names"
                )
            labels = ImageNetIndex()
        return labels[target]
    if not 0 <= target < num_classes:
        raise IndexError(
            f"target_class {target} is out of range; the model has {num_classes} classes, so "
            f"expected 0 <= target_class < {num_classes}"
        )
    return target


def target_selector(
    target_class: TargetClass,
    num_images: int,
    labels: ClassIndex | None = None,
    top_k: int = 1,
) -> TargetSelector:
    """Return a function from logits (N, classes) to the chosen class indices (N, K).

    Raises TypeError/ValueError at once for malformed targets; names and ranges are checked when
    the selector runs, against the logits.
    """
    entries = _entries(target_class)
    several = entries is not None and asks_for_several(target_class)
    if several and num_images > 1 and len(entries) != num_images:
        raise ValueError(
            f"got {len(entries)} target classes for {num_images} images; expected one per "
            "image, a single class for all, or None for each image's top prediction"
        )
    require_positive_int(top_k, "top_k")

    def select(logits: torch.Tensor) -> torch.Tensor:
        num_classes = logits.shape[1]
        if labels is not None and len(labels) != num_classes:
            raise ValueError(
                f"labels has {len(labels)} names but the model has {num_classes} classes; "
                "expected one name per class"
            )
        if entries is None:
            if top_k > num_classes:
                raise ValueError(f"top_k={top_k} exceeds the model's {num_classes} classes")
            return logits.topk(top_k, dim=1).indices
        indices = [_index_of(t, num_classes, labels) for t in entries]
        chosen = torch.tensor(indices, dtype=torch.long, device=logits.device)
        if num_images > 1 and len(indices) == num_images:
            return chosen.unsqueeze(1)
        return chosen.unsqueeze(0).expand(num_images, -1)

    select.uses_logits = entries is None  # explicit classes need the logits' shape only
    return select
