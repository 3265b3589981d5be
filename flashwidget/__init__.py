"""flashwidget: see what a PyTorch image classifier looks at.

FlashTorch's API (``saliency.Backprop``, ``utils``, ``ImageNetIndex``) with its defects fixed, on an
engine that leaves the model untouched, and an embedded offline default model.
"""

from flashwidget import models, saliency, utils
from flashwidget.gradients import Attribution
from flashwidget.saliency import Backprop

__all__ = ["Attribution", "Backprop", "models", "saliency", "utils"]
__version__ = "0.1.0"
