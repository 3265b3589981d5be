"""Gradient-based maps from one forward and one backward pass per class.

- ``gradient``: the gradient of the class's logit with respect to the input (Simonyan et al.
  2013), Captum's ``Saliency`` with ``abs=False``.
- ``guided_backprop``: the same with the guided rule at every rectifier (Springenberg et al.
  2015); see :mod:`flashwidget.guided` for why rectifiers are intercepted as torch functions.
- ``input_x_gradient``: the input times its gradient (Shrikumar et al. 2016), which weighs the
  sensitivity by how much of the feature is present.
"""

from __future__ import annotations

import torch

from flashwidget.methods.core import Attribution, AttributionMethod, gradients_of, with_maps
from flashwidget.targets import TargetSelector


class Gradient(AttributionMethod):
    """Vanilla gradient: d logit[target] / d input."""

    name = "gradient"
    guided = False

    def _explain(self, x: torch.Tensor, select: TargetSelector) -> Attribution:
        x.requires_grad_(True)
        logits = self._logits(x, guided=self.guided)
        targets = select(logits.detach())
        maps = gradients_of(logits.gather(1, targets), x)
        return Attribution(logits=logits.detach(), targets=targets, maps=maps)


class GuidedBackprop(Gradient):
    """Guided backpropagation: only positive gradients pass back through active rectifiers.

    It is known to fail the model-randomisation sanity check (Adebayo et al. 2018): its maps
    barely depend on the classifier, so they tell little about the class.
    """

    name = "guided_backprop"
    guided = True
    uses_rectifiers = True


class InputXGradient(Gradient):
    """The input times the gradient of the class's logit, channel by channel."""

    name = "input_x_gradient"

    def _explain(self, x: torch.Tensor, select: TargetSelector) -> Attribution:
        result = super()._explain(x, select)
        return with_maps(result, result.maps * x.detach().unsqueeze(1))
