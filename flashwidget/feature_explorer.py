"""The feature widget's computing, without traitlets: which layers and channels a model offers,
and the images a request asks for, rendered a step at a time.

``FeatureWidget`` holds traits and the public API; this plain object holds the model (always a
private mirror of the user's, refreshed from the live weights before each request, or only by
``follow_training()`` once a training loop drives it, as :class:`flashwidget.explorer.Explorer`
does) and turns a :class:`FeatureRequest` into a :class:`FeatureRun`: one tile per image asked
for (one channel, the first channels of a layer, or a class), each an optimisation of
:func:`flashwidget.activmax.render_steps`, with every step's image kept as RGBA bytes for the
view. A DeepDream is a run that starts from a photo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from flashwidget.activmax import channel, class_logit, render_steps
from flashwidget.activmax.objectives import Objective
from flashwidget.live import WeightsMirror
from flashwidget.methods.core import logits_without_graph
from flashwidget.model_guard import evaluation_mode, model_device, model_dtype
from flashwidget.model_output import OutputFn

MODES = ("channel", "grid", "class")
# Quality: Olah et al.'s recipe. Plain: ascent on pixels with nothing else, as FlashTorch did.
QUALITY = {"param": "fft", "decorrelate": True, "transforms": "standard", "lr": 0.05}
PLAIN = {"param": "pixel", "decorrelate": False, "transforms": "none", "lr": 0.05}
# DeepDream: small pixel steps from the photo, in decorrelated colour, so it keeps its look.
DREAM = {"param": "pixel", "decorrelate": True, "transforms": "none", "lr": 0.02}


@dataclass(frozen=True)
class FeatureRequest:
    """What to render: ``mode`` "channel" (channel ``channel`` of ``layer``), "grid" (its first
    ``grid_size`` channels, one after another) or "class" (the logit of ``target``), in quality
    or plain mode, for ``steps`` steps, ``size`` pixels a side."""

    layer: str
    mode: str = "channel"
    channel: int = 0
    grid_size: int = 8
    target: int = 0
    quality: bool = True
    steps: int = 128
    size: int = 128


def to_rgba(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [0, 1] -> (N, H, W, 4) opaque RGBA bytes."""
    rgb = (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu()
    alpha = torch.full((rgb.shape[0], 1, *rgb.shape[2:]), 255, dtype=torch.uint8)
    return torch.cat([rgb, alpha], dim=1).permute(0, 2, 3, 1).contiguous().numpy()


class FeatureRun:
    """The tiles of one request, rendered one after another, one optimisation step a
    :meth:`step`; ``tiles`` always holds the latest image of each (zeros before it starts)."""

    def __init__(
        self,
        model: nn.Module,
        request: FeatureRequest,
        objectives: list[tuple[str, Objective]],
        *,
        mean: Sequence[float],
        std: Sequence[float],
        output_fn: OutputFn | None = None,
        labels: Sequence[str] | None = None,
        init: torch.Tensor | None = None,
    ) -> None:
        self.request = request
        self.labels = [label for label, _ in objectives]
        self._objectives = [objective for _, objective in objectives]
        self._model, self._init = model, init
        height, width = (request.size, request.size) if init is None else init.shape[-2:]
        self.tiles = np.zeros((len(objectives), height, width, 4), dtype=np.uint8)
        self.done = [False] * len(objectives)
        self.values: list[float] = []  # the objective at each step of the current tile
        self._settings = dict(
            mean=mean, std=std, output_fn=output_fn, labels=labels, steps=request.steps
        )
        self._index = 0
        self._step = 0
        self._work: Any = None

    @property
    def fraction(self) -> float:
        return (self._index + self._step / self.request.steps) / len(self.tiles)

    @property
    def doing(self) -> str:
        """Where the run is, for a status line."""
        if self._index >= len(self.tiles):
            return f"done: {', '.join(self.labels)}"
        where = f"{self.labels[self._index]}"
        if len(self.tiles) > 1:
            where += f" ({self._index + 1} of {len(self.tiles)})"
        return f"{where}: step {self._step} of {self.request.steps}"

    @property
    def finished(self) -> bool:
        return self._index >= len(self.tiles)

    def step(self) -> bool:
        """One optimisation step; ``False`` once every tile is done."""
        if self.finished:
            return False
        if self._work is None:
            self.values = []
            self._work = render_steps(
                self._model,
                self._objectives[self._index],
                size=self.request.size,
                generator=torch.Generator().manual_seed(self._index),
                callback=self._frame,
                init=self._init,
                **(DREAM if self._init is not None else QUALITY if self.request.quality else PLAIN),
                **self._settings,
            )
        try:
            self._step, _ = next(self._work)
        except StopIteration as end:
            self.tiles[self._index] = to_rgba(end.value.images)[0]
            self.done[self._index] = True
            self._index, self._step, self._work = self._index + 1, 0, None
        return not self.finished

    def _frame(self, step: int, images: torch.Tensor) -> None:
        self.tiles[self._index] = to_rgba(images)[0]


class FeatureExplorer:
    """Layers, channels and renderings of one model, on a private mirror of it.

    Args:
        model: the classifier; only read (its weights copied), never run.
        labels: class names, one per class, or ``None``.
        output_fn: picks the logits out of a model output that is not a tensor.
        mean, std: the model's input normalisation.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        labels: Sequence[str] | None,
        output_fn: OutputFn | None,
        mean: Sequence[float],
        std: Sequence[float],
    ) -> None:
        self.live = model
        self.labels = labels
        self.output_fn = output_fn
        self.mean, self.std = mean, std
        self._mirror = WeightsMirror(model)
        self.following = False
        self._shapes: dict[int, tuple[list[tuple[str, tuple[int, ...]]], int]] = {}

    @property
    def model(self) -> nn.Module:
        """The mirror, refreshed from the live weights unless a training loop drives it."""
        if self._mirror.model is None or not self.following:
            self._mirror.refresh()
        return self._mirror.model

    def follow_training(self) -> None:
        """Copy the live weights now, and from now on only when this is called again."""
        self._mirror.refresh()
        self.following = True

    def probe(self, size: int) -> tuple[list[tuple[str, tuple[int, ...]]], int]:
        """The layers an objective can read at this input size (name and output shape without
        the batch, input to output, each run once a pass), and the number of classes."""
        if size not in self._shapes:
            model = self.model
            seen: dict[str, list[tuple[int, ...]]] = {}

            def recorder(name: str):
                def record(module: nn.Module, args: object, output: object) -> None:
                    if isinstance(output, torch.Tensor) and output.ndim >= 2:
                        seen.setdefault(name, []).append(tuple(output.shape[1:]))

                return record

            handles = [
                module.register_forward_hook(recorder(name))
                for name, module in model.named_modules()
                if name
            ]
            device = model_device(model, fallback=torch.device("cpu"))
            probe = torch.zeros(1, 3, size, size, device=device, dtype=model_dtype(model))
            try:
                with evaluation_mode(model):
                    logits = logits_without_graph(model, probe, self.output_fn)
            finally:
                for handle in handles:
                    handle.remove()
            layers = [(name, shapes[0]) for name, shapes in seen.items() if len(shapes) == 1]
            self._shapes[size] = (layers, logits.shape[1])
        return self._shapes[size]

    def channels(self, layer: str, size: int) -> int:
        """How many channels ``layer``'s output has (its second axis)."""
        shapes = dict(self.probe(size)[0])
        if layer not in shapes:
            raise KeyError(f"the model has no layer {layer!r} that an objective can read")
        return shapes[layer][0]

    def start(self, request: FeatureRequest) -> FeatureRun:
        """A run of ``request``, on a copy of the weights as they are now."""
        return self._run(request, self._objectives(request), init=None)

    def dream(self, request: FeatureRequest, photo: torch.Tensor) -> FeatureRun:
        """DeepDream: ``photo`` (1, 3, H, W) in [0, 1] changed to excite the request's channel
        (its first channel in grid mode) or class, in at most 64 small steps."""
        mode = "channel" if request.mode == "grid" else request.mode
        request = replace(request, mode=mode, steps=min(request.steps, 64))
        return self._run(request, self._objectives(request), init=photo)

    def _objectives(self, request: FeatureRequest) -> list[tuple[str, Objective]]:
        """Each tile's label and objective."""
        if request.mode == "class":
            name = self.labels[request.target] if self.labels else f"class {request.target}"
            return [(f"{name} ({request.target})", class_logit(request.target))]
        count = self.channels(request.layer, request.size)
        first = [request.channel] if request.mode == "channel" else range(request.grid_size)
        return [(f"channel {c}", channel(request.layer, c)) for c in first if c < count]

    def _run(
        self, request: FeatureRequest, objectives: list, init: torch.Tensor | None
    ) -> FeatureRun:
        return FeatureRun(
            self.model,
            request,
            objectives,
            mean=self.mean,
            std=self.std,
            output_fn=self.output_fn,
            labels=self.labels,
            init=init,
        )
