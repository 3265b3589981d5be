"""Static saliency figures: FlashTorch's four panels, the single overlay the widget shows, and a
row of overlays that compares attribution methods.

pyplot is imported when a figure is drawn, not when this module is: ``import flashwidget``
does not choose a matplotlib backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from flashwidget.colormaps import colormap_lut
from flashwidget.utils import denormalize, format_for_plotting, standardize_and_clip

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

    # A panel is drawn as layers, bottom first: (picture, colormap or None, opacity or None).
    Layers = Sequence[tuple[torch.Tensor, str | None, float | None]]

PANEL_TITLES = ("Input image", "Gradients across RGB channels", "Max gradients", "Overlay")
INPUT_TITLE = PANEL_TITLES[0]
COLUMN_INCHES = 4.0  # width of one panel in a row figure, as in FlashTorch's (16, 4)


def _displayable(
    image: torch.Tensor,
    cmap: str,
    alpha: float,
    mean: Sequence[float],
    std: Sequence[float],
) -> torch.Tensor:
    """Check the look options, and turn the normalised input into a plottable array."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1; got {alpha!r}")
    colormap_lut(cmap)  # an unknown colormap fails here, with the list of valid names
    return format_for_plotting(denormalize(image.cpu(), mean, std).clamp(0, 1))


def _as_the_widget_shows(saliency: torch.Tensor) -> torch.Tensor:
    """A one-channel map scaled as the widget scales it (absolute values, clipped at the
    99.5th percentile of its own magnitudes), so that maps of different methods, whose values
    differ by orders of magnitude, are each shown with their full contrast, and a figure looks
    like the view. Each level is put at the centre of its colormap bin."""
    import torch

    from flashwidget.pixels import saliency_levels

    values = saliency.detach().float().cpu().reshape(saliency.shape[-2:]).numpy()
    return (torch.from_numpy(saliency_levels(values).astype("float32")) + 0.5) / 256


def _overlay(shown_image: torch.Tensor, saliency: torch.Tensor, cmap: str, alpha: float) -> Layers:
    return [(shown_image, None, None), (saliency, cmap, alpha)]


def _draw(axes, title: str, layers: Layers) -> None:
    axes.set_axis_off()
    axes.set_title(title)
    for picture, colormap, opacity in layers:
        axes.imshow(picture.numpy(), cmap=colormap, alpha=opacity, vmin=0, vmax=1)


def _row_figure(panels: Sequence[tuple[str, Layers]], figsize: tuple[float, float]) -> Figure:
    """One row of titled panels, made with pyplot so that notebooks display it as FlashTorch's
    figures were displayed."""
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=figsize)
    for position, (title, layers) in enumerate(panels, start=1):
        _draw(figure.add_subplot(1, len(panels), position), title, layers)
    return figure


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

    ``image`` (C, H, W) is normalised as the model's input; ``mean``/``std`` undo that.
    """
    shown_image = _displayable(image, cmap, alpha, mean, std)
    saliency = format_for_plotting(standardize_and_clip(max_gradients.cpu()))
    panels = (
        [(shown_image, None, None)],
        [(format_for_plotting(standardize_and_clip(gradients.cpu())), None, None)],
        [(saliency, cmap, None)],
        _overlay(shown_image, saliency, cmap, alpha),
    )
    return _row_figure(list(zip(PANEL_TITLES, panels, strict=True)), figsize)


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
    """One panel: a one-channel map (H, W) or (1, H, W) over the input, as the widget shows it."""
    shown_image = _displayable(image, cmap, alpha, mean, std)
    saliency = _as_the_widget_shows(max_gradients)
    return _row_figure([(title, _overlay(shown_image, saliency, cmap, alpha))], figsize)


def comparison_figure(
    image: torch.Tensor,
    maps: Mapping[str, torch.Tensor],
    *,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    cmap: str = "viridis",
    alpha: float = 0.5,
    mean: Sequence[float],
    std: Sequence[float],
) -> Figure:
    """One row: the input, then each map over the input, in a column titled with its name.

    ``maps`` goes from a name (an attribution method's) to a one-channel map (H, W) or
    (1, H, W) of ``image``, all for the same class; ``title``, if given, heads the figure (the
    class). ``figsize`` defaults to 4 inches per column.
    """
    if not maps:
        raise ValueError("comparison_figure needs at least one map to compare")
    shown_image = _displayable(image, cmap, alpha, mean, std)
    saliencies = [_as_the_widget_shows(m) for m in maps.values()]
    panels = [(INPUT_TITLE, [(shown_image, None, None)])]
    panels += [
        (name, _overlay(shown_image, saliency, cmap, alpha))
        for name, saliency in zip(maps, saliencies, strict=True)
    ]
    columns = len(panels)
    figure = _row_figure(panels, figsize or (COLUMN_INCHES * columns, COLUMN_INCHES))
    if title:
        figure.suptitle(title)
    return figure
