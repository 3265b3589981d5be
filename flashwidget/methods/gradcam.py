"""Grad-CAM (Selvaraju et al. 2017) and Guided Grad-CAM: class maps from a layer's feature maps.

Grad-CAM weighs each channel of a layer's activations A (N, C, h, w) by the mean over space of
the class logit's gradient with respect to it, sums over channels and keeps the positive part
(the paper's ReLU), then upsamples bilinearly (``align_corners=False``) to the input's size.
Unlike the input-space methods it depends strongly on the class, which is why it is the map to
look at when the question is "which class is this evidence for?".

The activation is captured by a forward hook that lives only for the call. The hook returns a
copy of the output, so that an in-place operation later in the model (a ReLU with
``inplace=True``) cannot overwrite the activation that is differentiated against.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from flashwidget.methods.core import Attribution, AttributionMethod, fixed_targets, gradients_of
from flashwidget.methods.gradient import GuidedBackprop
from flashwidget.methods.layers import Layer, resolve_layer, spatial_layers
from flashwidget.targets import TargetSelector


class GradCAM(AttributionMethod):
    """Grad-CAM at ``layer`` (a name from ``model.named_modules()`` or the module itself).

    ``layer=None`` picks the last layer with a spatial output, found on the first call (see
    :mod:`flashwidget.methods.layers`). Maps are (N, K, 1, H, W), at the input's size.
    """

    name = "gradcam"
    map_space = "layer"

    def __init__(self, model: torch.nn.Module, layer: Layer | None = None, **kwargs) -> None:
        super().__init__(model, **kwargs)
        self.layer = None if layer is None else resolve_layer(model, layer)[0]
        self._default_layer: dict[tuple[int, ...], str] = {}

    def layer_for(self, x: torch.Tensor) -> str:
        """The layer read for inputs shaped like ``x``: the one given, or the default."""
        if self.layer is not None:
            return self.layer
        shape = tuple(x.shape[1:])
        if shape not in self._default_layer:
            found = spatial_layers(self.model, x[:1])
            if not found:
                raise ValueError(
                    f"Grad-CAM needs a layer with a spatial output (N, C, h, w), h * w > 1, and "
                    f"{type(self.model).__qualname__} has none for an input of shape "
                    f"{shape}; use an input-space method such as 'gradient'"
                )
            self._default_layer[shape] = found[-1][0]
        return self._default_layer[shape]

    def _explain(self, x: torch.Tensor, select: TargetSelector) -> Attribution:
        name = self.layer_for(x)
        module = self.model.get_submodule(name)
        captured: list[torch.Tensor] = []

        def capture(module: torch.nn.Module, args: object, output: object) -> torch.Tensor:
            if not isinstance(output, torch.Tensor) or output.ndim != 4:
                raise ValueError(
                    f"Grad-CAM needs layer {name!r} to output a feature map (N, C, h, w); it "
                    f"gave {getattr(output, 'shape', type(output).__name__)}"
                )
            captured.append(output)
            return output.clone()

        # The input needs a graph even when every parameter is frozen, or the activation has
        # none and the map would be empty (a common complaint about CAM libraries).
        x.requires_grad_(True)
        handle = module.register_forward_hook(capture)
        try:
            logits = self._logits(x)
        finally:
            handle.remove()
        if len(captured) != 1:
            raise ValueError(
                f"layer {name!r} ran {len(captured)} times in one forward pass; Grad-CAM needs a "
                "layer that runs exactly once"
            )
        activation = captured[0]
        targets = select(logits.detach())
        grads = gradients_of(logits.gather(1, targets), activation)  # (N, K, C, h, w)
        weights = grads.mean(dim=(-2, -1), keepdim=True)
        cams = (weights * activation.detach().unsqueeze(1)).sum(dim=2, keepdim=True).relu()
        upsampled = F.interpolate(
            cams.flatten(0, 1), size=x.shape[-2:], mode="bilinear", align_corners=False
        )
        maps = upsampled.view(*cams.shape[:3], *x.shape[-2:])
        return Attribution(logits=logits.detach(), targets=targets, maps=maps)


class GuidedGradCAM(AttributionMethod):
    """Guided backprop times the Grad-CAM map: fine detail, restricted to the class's region.

    Like guided backprop it fails the model-randomisation sanity check (Adebayo et al. 2018).
    """

    name = "guided_gradcam"
    uses_rectifiers = True

    def __init__(self, model: torch.nn.Module, layer: Layer | None = None, **kwargs) -> None:
        super().__init__(model, **kwargs)
        self.gradcam = GradCAM(model, layer, output_fn=self.output_fn)
        self.guided = GuidedBackprop(model, output_fn=self.output_fn)

    def _explain(self, x: torch.Tensor, select: TargetSelector) -> Attribution:
        guided = self.guided._explain(x.clone(), select)
        cam = self.gradcam._explain(x.clone(), fixed_targets(guided.targets))
        return Attribution(
            logits=guided.logits, targets=guided.targets, maps=guided.maps * cam.maps
        )
