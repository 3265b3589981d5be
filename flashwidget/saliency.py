"""FlashTorch's ``saliency.Backprop``, revived: same calls, correct results, no side effects.

A FlashTorch user migrates by changing ``from flashtorch.saliency import Backprop`` to
``from flashwidget.saliency import Backprop``. What changed underneath: ``target_class`` is
honoured, ``take_max`` takes the maximum of absolute values, batches and several classes per call
work, guided backpropagation covers ReLU6 and functional ReLUs, and the model is never modified.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from matplotlib.figure import Figure
from torch import nn

from flashwidget.class_index import ClassIndex
from flashwidget.figures import four_panel_figure
from flashwidget.inputs import as_image_batch
from flashwidget.methods import Attribution, Gradient, GuidedBackprop
from flashwidget.model_output import OutputFn
from flashwidget.targets import TargetClass, asks_for_several
from flashwidget.utils import IMAGENET_MEAN, IMAGENET_STD


def max_abs_over_channels(gradients: torch.Tensor) -> torch.Tensor:
    """Saliency as in Simonyan et al. (2013): the largest |gradient| over colour channels.

    Channels are the third dimension from the end, so this serves (C, H, W), (N, C, H, W) and
    (N, K, C, H, W) alike and keeps that dimension with size 1.
    """
    return gradients.abs().amax(dim=-3, keepdim=True)


class Backprop:
    """Vanilla and guided gradients of a classifier's logits with respect to its input.

    Args:
        model: any ``nn.Module`` classifier. It is never moved, switched to eval for good, or
            given hooks; maps are computed on the device it lives on.
        labels: class names, one per class, so that targets can be given by name. For a model
            with 1000 outputs, ImageNet's names are used when this is omitted.
        output_fn: picks the logits out of the model's output when it is not a tensor (a tuple,
            a dict). An object with a ``.logits`` tensor is handled without it.
    """

    def __init__(
        self,
        model: nn.Module,
        labels: Sequence[str] | ClassIndex | None = None,
        output_fn: OutputFn | None = None,
    ) -> None:
        self._methods = {
            guided: method(model, labels=labels, output_fn=output_fn)
            for guided, method in ((False, Gradient), (True, GuidedBackprop))
        }
        self.model = model
        self.labels = self._methods[False].labels
        self.output_fn = output_fn

    def attribute(
        self,
        input_: torch.Tensor,
        target_class: TargetClass = None,
        *,
        guided: bool = False,
        top_k: int = 1,
    ) -> Attribution:
        """Predictions and maps in one forward pass: the engine call behind everything else.

        ``target_class=None`` explains each image's ``top_k`` best classes; otherwise the rules
        of :meth:`calculate_gradients` apply. Returns an :class:`Attribution` whose gradients
        have shape (N, K, C, H, W).
        """
        return self._methods[bool(guided)].explain(input_, target_class, top_k=top_k)

    def calculate_gradients(
        self,
        input_: torch.Tensor,
        target_class: TargetClass = None,
        take_max: bool = False,
        guided: bool = False,
        use_gpu: bool = False,
    ) -> torch.Tensor:
        """Gradients of the target class's logit with respect to the input.

        Args:
            input_: one image (C, H, W) or (1, C, H, W), or a batch (N, C, H, W), normalised
                as the model expects. It is not modified.
            target_class: a class index or name; ``None`` for the top prediction. For one
                image, a list of K classes gives K maps from one forward pass; for a batch, a
                list gives one class per image.
            take_max: return the maximum of *absolute* values over the colour channels, as in
                Simonyan et al. (2013). FlashTorch took the signed maximum, which hides strong
                negative gradients.
            guided: guided backpropagation (Springenberg et al. 2015).
            use_gpu: accepted for FlashTorch compatibility only. Maps are computed on the
                model's device; move the model (``model.to("cuda")``) to use a GPU.

        Returns:
            (C, H, W) for one image and one class; (K, C, H, W) for one image and K classes;
            (N, C, H, W) for a batch. With ``take_max`` the channel dimension has size 1.
            The tensor is detached and on the model's device.
        """
        if use_gpu:
            warnings.warn(
                "use_gpu is ignored: maps are computed on the model's device; move the model "
                "with model.to('cuda') to use a GPU",
                UserWarning,
                stacklevel=2,
            )
        result = self.attribute(input_, target_class, guided=guided)
        gradients = max_abs_over_channels(result.gradients) if take_max else result.gradients
        if gradients.shape[0] > 1:
            return gradients[:, 0]
        return gradients[0] if asks_for_several(target_class) else gradients[0, 0]

    def visualize(
        self,
        input_: torch.Tensor,
        target_class: TargetClass = None,
        guided: bool = False,
        use_gpu: bool = False,
        figsize: tuple[float, float] = (16, 4),
        cmap: str = "viridis",
        alpha: float = 0.5,
        return_output: bool = False,
        *,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> Figure | tuple[torch.Tensor, torch.Tensor]:
        """FlashTorch's four panels: input, gradients across RGB channels, max gradients, overlay.

        Returns the matplotlib Figure (a pyplot figure, so a notebook shows it as FlashTorch's
        did); with ``return_output=True`` it returns FlashTorch's ``(gradients, max_gradients)``.
        ``mean`` and ``std`` undo the input's normalisation for display. The input is never
        modified.
        """
        gradients = self.calculate_gradients(input_, target_class, guided=guided, use_gpu=use_gpu)
        if gradients.ndim != 3:
            raise ValueError(
                "visualize draws one map: pass one image and one target class; got maps of "
                f"shape {tuple(gradients.shape)}"
            )
        max_gradients = max_abs_over_channels(gradients)
        image = as_image_batch(input_)[0].detach()
        figure = four_panel_figure(
            image,
            gradients,
            max_gradients,
            figsize=figsize,
            cmap=cmap,
            alpha=alpha,
            mean=mean,
            std=std,
        )
        return (gradients, max_gradients) if return_output else figure
