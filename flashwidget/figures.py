"""Static saliency figures: FlashTorch's four panels, and the single overlay the widget shows."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from flashwidget.colormaps import colormap_lut
from flashwidget.utils import denormalize, format_for_plotting, standardize_and_clip

PANEL_TITLES = ("Input image", "Gradients across RGB channels", "Max gradients", "Overlay")


def _displayable(
    image: torch.Tensor,
    max_gradients: torch.Tensor,
    cmap: str,
    alpha: float,
    mean: Sequence[float],
    std: Sequence[float],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Check the look options, and turn the normalised input and the map into plottable arrays."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1; got {alpha!r}")
    colormap_lut(cmap)  # an unknown colormap fails here, with the list of valid names
    shown_image = format_for_plotting(denormalize(image.cpu(), mean, std).clamp(0, 1))
    saliency = format_for_plotting(standardize_and_clip(max_gradients.cpu()))
    return shown_image, saliency


def _draw(axes, title: str, layers) -> None:
    axes.set_axis_off()
    axes.set_title(title)
    for picture, colormap, opacity in layers:
        axes.imshow(picture.numpy(), cmap=colormap, alpha=opacity, vmin=0, vmax=1)


def four_panel_figure(
    image: torch.Tensor,
    gradients: torch.Tensor,
    max_gradients: torch.Tensor,
    *,
    figsize: tuple[float, float] = (16, 4),
    cmap: str = "viridis",
    alpha: float = 0.5,
    mean: Sequence[float],
    std: Sequence[float],
) -> Figure:
    """Draw input, gradients across channels, max gradients, and max gradients over the input.

    ``image`` (C, H, W) is normalised as the model's input; ``mean``/``std`` undo that. The
    figure is made with pyplot so that notebooks display it the way FlashTorch's was displayed.
    """
    shown_image, saliency = _displayable(image, max_gradients, cmap, alpha, mean, std)
    panels = (
        [(shown_image, None, None)],
        [(format_for_plotting(standardize_and_clip(gradients.cpu())), None, None)],
        [(saliency, cmap, None)],
        [(shown_image, None, None), (saliency, cmap, alpha)],
    )
    figure = plt.figure(figsize=figsize)
    for position, (title, layers) in enumerate(zip(PANEL_TITLES, panels, strict=True), start=1):
        _draw(figure.add_subplot(1, len(panels), position), title, layers)
    return figure


def overlay_figure(
    image: torch.Tensor,
    max_gradients: torch.Tensor,
    *,
    title: str,
    figsize: tuple[float, float] = (5, 5),
    cmap: str = "viridis",
    alpha: float = 0.5,
    mean: Sequence[float],
    std: Sequence[float],
) -> Figure:
    """One panel: the max-|gradient| map over the input, as the widget shows it."""
    shown_image, saliency = _displayable(image, max_gradients, cmap, alpha, mean, std)
    figure = plt.figure(figsize=figsize)
    _draw(figure.add_subplot(), title, [(shown_image, None, None), (saliency, cmap, alpha)])
    return figure
