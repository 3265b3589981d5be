"""FlashTorch's ``activmax.GradientAscent``, revived: same calls, defects fixed.

A FlashTorch user migrates by changing ``from flashtorch.activmax import GradientAscent`` to
``from flashwidget.activmax.gradient_ascent import GradientAscent``. The algorithm is
FlashTorch's (plain gradient ascent in pixel space from a grey noise image, the gradient
normalised by its root mean square at each step), but:

- the gradient is taken with respect to the input itself (``torch.autograd.grad``). FlashTorch
  read it from a backward hook on the first ``Conv2d`` with three input channels, which sees
  the gradient of the *padded* or *normalised* input on models that pad or normalise first
  (EfficientNet-Lite's same padding): the shapes did not match, the hook kept its zeros, and
  every image stayed the starting noise;
- the computation runs on a private copy of the model, so the user's model keeps its mode,
  ``requires_grad`` flags, ``.grad``, buffers, device and hooks, even when a call fails.
  FlashTorch left its hooks on the model, called ``model.eval()`` and moved it to the GPU;
- any layer whose output is (N, C, H, W) or (N, C) works, by module or by name, not only
  ``Conv2d``; a filter index must satisfy ``0 <= filter_idx < channels`` (FlashTorch let
  ``out_channels`` through and then failed inside the forward pass);
- each step starts from a detached image, so the autograd graph never grows with the number
  of iterations, and the returned images carry no graph;
- randomness (the starting noise, the filters ``visualize`` picks) comes from a
  ``torch.Generator`` that can be passed for reproducible results; the global random states of
  torch, numpy and Python are never drawn from. FlashTorch drew from numpy's global state and
  could pick the same filter twice.

Plain pixel-space gradient ascent gives high-frequency, adversarial-looking images; that is
what FlashTorch produced and what this class keeps producing, for compatibility.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral
from typing import TYPE_CHECKING, Union

import torch
from torch import nn

from flashwidget.activmax.objectives import Context, Layer, channel, layer_names, recording
from flashwidget.checks import checked_generator, require_positive_int, require_positive_number
from flashwidget.live import frozen_copy
from flashwidget.model_guard import evaluation_mode, model_device, model_dtype
from flashwidget.utils import (
    ImageSource,
    apply_transforms,
    denormalize,
    format_for_plotting,
    standardize_and_clip,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FilterIndexes = Union[int, Iterable[int], None]  # noqa: UP007 (a runtime alias: Python 3.10)

NOISE_LOW, NOISE_HIGH = 150, 180  # FlashTorch's starting image: uint8 values in [150, 180)
RMS_EPSILON = 1e-5  # added to the gradient's RMS before dividing, as in FlashTorch
GRID_COLUMNS = 4  # FlashTorch's grid: four columns, (16, 5 * rows) inches
# FlashTorch's display of an optimised image: standardised, then scaled and shifted.
SATURATION, BRIGHTNESS = 0.15, 0.7


class FilterIndexError(IndexError, ValueError):
    """A filter index outside ``0 <= filter_idx < channels``.

    Both an IndexError (as flashwidget's objectives raise) and a ValueError (as FlashTorch
    raised), so code written for either catches it.
    """


class GradientAscent:
    """Activation maximisation by gradient ascent on the input image (FlashTorch's API).

    Each step runs the model up to ``layer``, takes the mean activation of one channel
    (``filter_idx``), and moves the image along the gradient of that mean with respect to the
    image, normalised by its root mean square: ``x <- x + lr * g / (rms(g) + 1e-5)``.

    Args:
        model: any ``nn.Module`` (a whole classifier or just its feature extractor). It is
            never modified: every call computes on a private copy, in eval mode, without the
            user's hooks and with its parameters frozen (only the input's gradient is needed).
        img_size: side of the square starting image, in pixels.
        lr: step size of the ascent.
        use_gpu: compute on CUDA (the private copy is moved there, never the model). With
            ``False`` the computation runs on the device the model lives on. FlashTorch
            silently ignored ``use_gpu=True`` without CUDA; this raises a RuntimeError.
    """

    def __init__(
        self, model: nn.Module, img_size: int = 224, lr: float = 1.0, use_gpu: bool = False
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        self.model = model
        self.img_size = img_size
        self.lr = lr
        self.use_gpu = use_gpu
        self.output: list[torch.Tensor] | list[list[torch.Tensor]] | None = None

    @property
    def img_size(self) -> int:
        """Side, in pixels, of the starting noise image (and of ``deepdream``'s image)."""
        return self._img_size

    @img_size.setter
    def img_size(self, img_size: int) -> None:
        require_positive_int(img_size, "img_size", "pixels")
        self._img_size = int(img_size)

    @property
    def lr(self) -> float:
        """Step size of the ascent: each step moves the image by ``lr`` times the gradient
        scaled to unit root mean square."""
        return self._lr

    @lr.setter
    def lr(self, lr: float) -> None:
        self._lr = require_positive_number(lr, "lr")

    @property
    def use_gpu(self) -> bool:
        """Whether to compute on CUDA (on a copy of the model; the model is never moved)."""
        return self._use_gpu

    @use_gpu.setter
    def use_gpu(self, use_gpu: bool) -> None:
        if not isinstance(use_gpu, bool):
            raise TypeError(f"use_gpu must be True or False; got {use_gpu!r}")
        self._use_gpu = use_gpu

    def optimize(
        self,
        layer: Layer,
        filter_idx: int,
        input_: torch.Tensor | ImageSource | None = None,
        num_iter: int = 30,
        generator: torch.Generator | None = None,
    ) -> list[torch.Tensor]:
        """Images that increasingly activate one filter (channel) of ``layer``.

        Args:
            layer: a module of the model, or its name as in ``model.named_modules()``. Any
                layer whose output is (N, C, H, W) works (a convolution, a batch norm, a whole
                block), and so does one whose output is (N, C) (a linear layer: one neuron).
            filter_idx: the channel, ``0 <= filter_idx < channels``.
            input_: the starting image: a normalised tensor (C, H, W) or (N, C, H, W) (it is
                not modified), or anything ``apply_transforms`` accepts (resized to
                ``img_size``). By default, FlashTorch's grey noise: uint8 values uniform in
                [150, 180), ``img_size`` square, through ``apply_transforms``.
            num_iter: number of ascent steps.
            generator: the ``torch.Generator`` (on the CPU) the starting noise is drawn from;
                by default a fresh one seeded from the operating system. Pass a seeded one for
                reproducible images.

        Returns:
            ``num_iter`` images, one after each step, each (1, 3, img_size, img_size) (the
            input's shape when one is given), normalised as the model's input, detached, on
            the device the computation ran on.
        """
        require_positive_int(num_iter, "num_iter", "iterations")
        filter_idx = _filter_index(filter_idx)
        start = self._start_image(input_, generator)
        copy, device = self._private_model()
        with evaluation_mode(copy):
            return self._ascend(copy, device, layer, filter_idx, start, num_iter, self.lr)

    def visualize(
        self,
        layer: Layer,
        filter_idxs: FilterIndexes = None,
        lr: float = 1.0,
        num_iter: int = 30,
        num_subplots: int = 4,
        figsize: tuple[float, float] = (4, 4),
        title: str = "Conv2d",
        return_output: bool = False,
        generator: torch.Generator | None = None,
    ) -> Figure | list[torch.Tensor] | list[list[torch.Tensor]]:
        """Optimise for one or several filters of ``layer`` and draw the last image of each.

        ``filter_idxs``: an int optimises for that filter and draws it alone, in a figure of
        ``figsize``; a list (or any iterable) of ints draws a grid of four columns, as
        FlashTorch did; ``None`` picks ``num_subplots`` distinct filters at random (all of
        them when the layer has fewer), drawn from ``generator``. FlashTorch drew them from
        numpy's global random state, with replacement, so a filter could appear twice. As in
        FlashTorch, ``figsize`` sizes the single-filter figure; a grid gets 4 x 5 inches per
        panel.

        ``lr`` is the step size for this call. FlashTorch also stored it as the instance's
        ``lr`` for later calls, a side effect this drops: ``self.lr`` is unchanged.

        Returns the matplotlib Figure (made with pyplot, so a notebook shows it as it showed
        FlashTorch's; FlashTorch returned nothing). With ``return_output=True`` it returns
        FlashTorch's output instead: for an int, the list of ``num_iter`` images; otherwise a
        list of such lists, one per filter. The outputs are also kept in ``self.output``, as
        FlashTorch kept them.
        """
        lr = require_positive_number(lr, "lr")
        require_positive_int(num_iter, "num_iter", "iterations")
        single = isinstance(filter_idxs, Integral) and not isinstance(filter_idxs, bool)
        if filter_idxs is None:
            require_positive_int(num_subplots, "num_subplots", "filters to draw")
        elif not single:
            filter_idxs = _filter_list(filter_idxs)
        generator = checked_generator(generator, seed=None)
        copy, device = self._private_model()
        with evaluation_mode(copy):
            if filter_idxs is None:
                channels = self._channels(copy, device, layer)
                count = min(channels, num_subplots)
                filter_idxs = torch.randperm(channels, generator=generator)[:count].tolist()
            indexes = [_filter_index(filter_idxs)] if single else filter_idxs
            outputs = []
            for index in indexes:
                start = self._start_image(None, generator)
                outputs.append(self._ascend(copy, device, layer, index, start, num_iter, lr))
        self.output = outputs[0] if single else outputs
        if single:
            figure = _figure([(f"filter {indexes[0]}", outputs[0][-1])], 1, figsize, title)
        else:
            columns = min(GRID_COLUMNS, len(indexes))
            rows = math.ceil(len(indexes) / columns)
            panels = [
                (f"filter {index}", output[-1])
                for index, output in zip(indexes, outputs, strict=True)
            ]
            figure = _figure(panels, columns, (4.0 * columns, 5.0 * rows), title, grid=True)
        return self.output if return_output else figure

    def deepdream(
        self,
        img_path: ImageSource,
        layer: Layer,
        filter_idx: int,
        lr: float = 0.1,
        num_iter: int = 20,
        figsize: tuple[float, float] = (4, 4),
        title: str = "DeepDream",
        return_output: bool = False,
    ) -> Figure | list[torch.Tensor]:
        """Amplify what one filter sees in an image (DeepDream, Mordvintsev et al. 2015).

        ``img_path`` is anything ``load_image`` accepts (a path, the bytes of an image file, a
        PIL image, a numpy array); it is resized and centre-cropped to ``img_size`` by
        ``apply_transforms`` and optimised from there with step size ``lr`` (for this call
        only: FlashTorch also stored it as the instance's ``lr``).

        Draws the original image and the dreamed one side by side, each panel of ``figsize``
        (FlashTorch drew only the dreamed image, in a figure of ``figsize``), and returns the
        Figure; with ``return_output=True``, the list of ``num_iter`` images instead, as
        FlashTorch returned.
        """
        lr = require_positive_number(lr, "lr")
        require_positive_int(num_iter, "num_iter", "iterations")
        filter_idx = _filter_index(filter_idx)
        start = apply_transforms(img_path, size=self.img_size).detach()
        copy, device = self._private_model()
        with evaluation_mode(copy):
            output = self._ascend(copy, device, layer, filter_idx, start, num_iter, lr)
        panels = [("Original", start), (f"filter {filter_idx}", output[-1])]
        width, height = figsize
        figure = _figure(panels, 2, (2 * width, height), title, original_first=True)
        return output if return_output else figure

    def _private_model(self) -> tuple[nn.Module, torch.device]:
        """A copy of the model without the user's hooks, parameters frozen, on the device to
        compute on."""
        device = model_device(self.model, torch.device("cpu"))
        if self.use_gpu:
            if not torch.cuda.is_available():
                raise RuntimeError(
                    "use_gpu=True but CUDA is not available (torch.cuda.is_available() is "
                    "False); set use_gpu=False to compute on the model's device"
                )
            if device.type != "cuda":
                device = torch.device("cuda")
        return frozen_copy(self.model).to(device), device

    def _start_image(
        self, input_: torch.Tensor | ImageSource | None, generator: torch.Generator | None
    ) -> torch.Tensor:
        """The image the ascent starts from, (N, C, H, W), detached."""
        if input_ is None:
            size = self.img_size
            noise = torch.randint(
                NOISE_LOW,
                NOISE_HIGH,
                (size, size, 3),
                generator=checked_generator(generator, seed=None),
                dtype=torch.uint8,
            )
            return apply_transforms(noise.numpy(), size=size).detach()
        if not isinstance(input_, torch.Tensor):
            return apply_transforms(input_, size=self.img_size).detach()
        if input_.ndim == 3:
            input_ = input_.unsqueeze(0)
        if input_.ndim != 4 or not input_.is_floating_point() or input_.numel() == 0:
            raise ValueError(
                "input_ must be a normalised floating-point image (C, H, W) or batch "
                f"(N, C, H, W); got a {input_.dtype} tensor of shape {tuple(input_.shape)}"
            )
        return input_.detach()

    def _channels(self, copy: nn.Module, device: torch.device, layer: Layer) -> int:
        """The number of channels of ``layer``'s output, from one forward pass of the starting
        image's size (which stops at the layer)."""
        names = layer_names(self.model, channel(layer, 0))
        probe = torch.zeros(1, 3, self.img_size, self.img_size, device=device)
        (name,) = names.values()
        with recording(copy, [name]) as forward, torch.no_grad():
            recorded = forward(probe.to(model_dtype(copy) or probe.dtype))
        shape = tuple(_layer_output(recorded, name).shape)
        if len(shape) < 2:
            raise ValueError(
                f"layer {name!r} gives an output of shape {shape}; filters need (N, C, ...) "
                "with channels on the second axis"
            )
        return shape[1]

    def _ascend(
        self,
        copy: nn.Module,
        device: torch.device,
        layer: Layer,
        filter_idx: int,
        start: torch.Tensor,
        num_iter: int,
        lr: float,
    ) -> list[torch.Tensor]:
        """FlashTorch's loop, with the gradient taken at the input and no graph kept."""
        objective = channel(layer, filter_idx)
        names = layer_names(self.model, objective)
        context = Context(names, labels=None)
        dtype = model_dtype(copy) or start.dtype
        x = start.to(device=device, dtype=dtype)
        output = []
        with recording(copy, list(names.values())) as forward, torch.enable_grad():
            for _ in range(num_iter):
                x = x.detach().requires_grad_(True)
                recorded = forward(x)
                _layer_output(recorded, names[id(layer)])
                try:
                    score = objective(recorded, context)
                except IndexError as error:
                    raise FilterIndexError(str(error)) from error
                if not score.requires_grad:
                    raise ValueError(
                        f"layer {names[id(layer)]!r}'s output does not depend on the input, so "
                        "no image can change it; choose a layer the input flows through"
                    )
                (gradient,) = torch.autograd.grad(score.sum(), x)
                x = (x.detach() + lr * _unit_rms(gradient)).detach()
                output.append(x)
        return output


def _layer_output(recorded: dict[str, torch.Tensor], name: str) -> torch.Tensor:
    if name not in recorded:
        raise ValueError(
            f"layer {name!r} did not run in the model's forward pass, so it has no output to "
            "maximise; choose a layer the forward pass goes through"
        )
    return recorded[name]


def _unit_rms(gradient: torch.Tensor) -> torch.Tensor:
    """Each image's gradient divided by its root mean square (plus 1e-5), as FlashTorch
    normalised its one image's; computed in float32 so a half-precision model's small
    gradients do not underflow when squared."""
    values = gradient.float()
    rms = values.square().mean(dim=tuple(range(1, values.ndim)), keepdim=True).sqrt()
    return (values / (rms + RMS_EPSILON)).to(gradient.dtype)


def _filter_index(filter_idx: object) -> int:
    """An int from any integer (numpy's included, as FlashTorch accepted); the range is checked
    against the layer's output on the first forward pass."""
    if isinstance(filter_idx, bool) or not isinstance(filter_idx, Integral):
        raise TypeError(f"filter index must be an int; got {filter_idx!r}")
    return int(filter_idx)


def _filter_list(filter_idxs: object) -> list[int]:
    if isinstance(filter_idxs, (str, bytes)) or not isinstance(filter_idxs, Iterable):
        raise TypeError(f"filter_idxs must be an int, a list of ints or None; got {filter_idxs!r}")
    indexes = [_filter_index(index) for index in filter_idxs]
    if not indexes:
        raise ValueError("filter_idxs is empty; give at least one filter index, or None")
    return indexes


def _figure(
    panels: list[tuple[str, torch.Tensor]],
    columns: int,
    figsize: tuple[float, float],
    title: str,
    grid: bool = False,
    original_first: bool = False,
) -> Figure:
    """Draw each (subtitle, image) panel with FlashTorch's display of optimised images (the
    first as a plain photograph when ``original_first``), under the title ``title``."""
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=figsize)
    rows = math.ceil(len(panels) / columns)
    for position, (subtitle, image) in enumerate(panels, start=1):
        if original_first and position == 1:
            shown = denormalize(image.detach().cpu().float()).clamp(0, 1)
        else:
            shown = standardize_and_clip(image, saturation=SATURATION, brightness=BRIGHTNESS)
        axes = figure.add_subplot(rows, columns, position)
        axes.set_axis_off()
        axes.set_title(subtitle)
        axes.imshow(format_for_plotting(shown[:1]).numpy())
    figure.suptitle(title)
    if grid:
        figure.subplots_adjust(wspace=0, hspace=0)
    return figure
