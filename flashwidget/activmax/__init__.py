"""What does a neuron look for? Activation maximisation, FlashTorch's and at feature-
visualisation quality.

- :class:`GradientAscent`: FlashTorch's ``activmax.GradientAscent`` (``optimize``,
  ``visualize``, ``deepdream``), drop-in, with its defects fixed.
- :func:`render`: the image an :class:`Objective` looks for, at the quality of Olah et al.
  (2017): Fourier-space, colour-decorrelated images under random jitter, scale and rotation.
- Objectives: :func:`channel`, :func:`neuron`, :func:`class_logit`, :func:`diversity`,
  combined by ``+``, ``-`` and ``*``.
"""

from flashwidget.activmax.gradient_ascent import GradientAscent
from flashwidget.activmax.objectives import Objective, channel, class_logit, diversity, neuron
from flashwidget.activmax.render import Rendering, render, render_steps

__all__ = [
    "GradientAscent",
    "Objective",
    "Rendering",
    "channel",
    "class_logit",
    "diversity",
    "neuron",
    "render",
    "render_steps",
]
