"""What lets the widget follow a model while it trains without ever touching the training.

The widget never computes on the model being trained once ``update()`` has been called. Each
update copies the weights into a private mirror of the model, at a moment the caller chose (after
an optimizer step, on the training thread), and every map is then computed on that mirror. So:

- training is bit-identical with or without the widget: the live model is only read (no mode
  switch, no ``.grad``, no hook, no random number drawn);
- a map never mixes weights of two steps, even when training runs in a thread while the browser
  asks for other classes: the mirror only changes inside ``update()``, under the widget's lock;
- the cost of an update is one copy of the weights and one map, and updates are rate-limited.

The timeline keeps what each update showed (step label, predictions, the map's values)
in a bounded deque, so scrubbing back through training costs no recomputation.
"""

from __future__ import annotations

import copy
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from flashwidget.checks import require_positive_int


class WeightsMirror:
    """A private copy of a model whose weights are refreshed from the live model on request.

    ``note`` says, for the status line, when the copy could not be an ordinary deep copy.
    """

    def __init__(self, live: nn.Module) -> None:
        self._live = live
        self.model: nn.Module | None = None
        self.note = ""

    def refresh(self) -> nn.Module:
        """Copy the live model's parameters and buffers into the mirror; return the mirror.

        The first call (or a change of the live model's structure) copies the model; later
        calls copy values in place, which allocates nothing.
        """
        if self.model is None or not self._same_structure():
            self.model, self.note = private_copy(self._live)
            return self.model
        with torch.no_grad():
            for mine, theirs in zip(
                model_tensors(self.model), model_tensors(self._live), strict=True
            ):
                mine.copy_(theirs)
        self.model.train(self._live.training)
        return self.model

    def _same_structure(self) -> bool:
        mine = list(_named_tensors(self.model))
        theirs = list(_named_tensors(self._live))
        return len(mine) == len(theirs) and all(
            a_name == b_name and a.shape == b.shape and a.dtype == b.dtype and a.device == b.device
            for (a_name, a), (b_name, b) in zip(mine, theirs, strict=True)
        )


def private_copy(model: nn.Module) -> tuple[nn.Module, str]:
    """A copy of ``model`` to compute on, and a note saying how it was made when not plainly.

    A deep copy first. Models that refuse one (an attribute holding a lock, or an activation
    tensor kept from the last forward pass, which autograd will not copy) are copied module by
    module instead: new module objects of the same classes, parameters and buffers cloned,
    every other attribute shared with the live model. Either way the copy keeps no ``.grad``
    and none of the user's own hooks, which would otherwise run on the widget's forward passes
    and, say, overwrite the activations a feature-extraction hook collects for the user; hooks
    that torch registers itself (weight_norm, spectral_norm) are kept, as the model needs them.
    """
    try:
        mirror, note = copy.deepcopy(model), ""
    except Exception as error:
        mirror = _module_by_module(model, {})
        note = (
            f"the model cannot be deep-copied ({type(error).__name__}: {error}), so the widget "
            "copied it module by module, sharing its other attributes"
        )
    for module in mirror.modules():
        _drop_users_hooks(module)
    for parameter in mirror.parameters():
        parameter.grad = None
    return mirror, note


def frozen_copy(model: nn.Module) -> nn.Module:
    """A private copy (see :func:`private_copy`) with its parameters' ``requires_grad`` off:
    for work that differentiates with respect to the input only (feature visualisation), which
    then keeps no weight gradients and no graph through the weights."""
    copy, _ = private_copy(model)
    return copy.requires_grad_(False)


def _module_by_module(module: nn.Module, done: dict[int, nn.Module]) -> nn.Module:
    """Copy the module tree, keeping modules that appear twice shared (``done`` by id)."""
    if id(module) in done:
        return done[id(module)]
    clone = copy.copy(module)  # a new object with its own __dict__, sharing the values
    done[id(module)] = clone
    clone._parameters = {
        name: None if p is None else nn.Parameter(p.detach().clone(), p.requires_grad)
        for name, p in module._parameters.items()
    }
    clone._buffers = {
        name: None if b is None else b.detach().clone() for name, b in module._buffers.items()
    }
    clone._modules = {
        name: None if child is None else _module_by_module(child, done)
        for name, child in module._modules.items()
    }
    return clone


def _drop_users_hooks(module: nn.Module) -> None:
    """Give ``module`` its own hook tables, keeping only the hooks torch itself registered."""
    for name, table in list(vars(module).items()):
        if name.endswith("hooks") and isinstance(table, dict):
            kept = type(table)(
                (key, hook)
                for key, hook in table.items()
                if getattr(hook, "__module__", "") and hook.__module__.startswith("torch.")
            )
            setattr(module, name, kept)


def _named_tensors(model: nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    yield from model.named_parameters()
    yield from model.named_buffers()


def model_tensors(model: nn.Module) -> Iterator[torch.Tensor]:
    """Every parameter and buffer: all the state a model's output depends on."""
    for _, tensor in _named_tensors(model):
        yield tensor


class RateLimit:
    """At most one event per ``interval`` seconds; the check itself costs under a microsecond."""

    def __init__(self, interval: float) -> None:
        if interval < 0:
            raise ValueError(f"the update interval must be >= 0 seconds; got {interval}")
        self.interval = interval
        self._last = -float("inf")

    def ready(self) -> bool:
        return time.monotonic() - self._last >= self.interval

    def mark(self) -> None:
        self._last = time.monotonic()


@dataclass(frozen=True)
class Snapshot:
    """What one update showed: enough to redraw it, nothing that needs the model."""

    step: str
    target: int
    method: str
    options: dict[str, Any]
    take_max: bool
    predictions: list[dict[str, Any]]
    values: bytes  # the map reduced over channels, float32, as the widget's map_values
    shape: tuple[int, int]


class Timeline:
    """The last ``size`` snapshots, oldest first."""

    def __init__(self, size: int) -> None:
        require_positive_int(size, "history", "snapshots kept")
        self.size = size
        self._snapshots: deque[Snapshot] = deque(maxlen=size)

    def add(self, snapshot: Snapshot) -> None:
        self._snapshots.append(snapshot)

    def __getitem__(self, index: int) -> Snapshot:
        return self._snapshots[index]

    def __len__(self) -> int:
        return len(self._snapshots)

    def steps(self) -> list[str]:
        return [snapshot.step for snapshot in self._snapshots]

    def clear(self) -> None:
        self._snapshots.clear()


class TrainingCallback:
    """Call ``widget.update`` from a training loop or a library's callback hooks.

    Works as a plain callable (``callback(step)``, which updates on every ``every``-th call)
    and, by duck typing, as a PyTorch Lightning callback
    (``Trainer(callbacks=[TrainingCallback(w)])``) without importing Lightning: it
    updates after every ``every`` training batches and at the end of each epoch, labelled with
    the trainer's global step. The widget's own rate limit still applies.
    """

    def __init__(self, widget: Any, every: int = 1) -> None:
        require_positive_int(every, "every", "batches")
        self.widget = widget
        self.every = every
        self._calls = 0

    def __call__(self, step: Any = None) -> bool:
        """Count a training step; update the widget on every ``every``-th call."""
        self._calls += 1
        if self._calls % self.every:
            return False
        return self.widget.update(step=step)

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if (batch_idx + 1) % self.every == 0:
            self.widget.update(step=getattr(trainer, "global_step", batch_idx))

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self.widget.update(step=f"epoch {getattr(trainer, 'current_epoch', '?')}", force=True)
