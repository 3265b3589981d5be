"""flashwidget: see what a PyTorch image classifier looks at.

FlashTorch's API (``saliency.Backprop``, ``utils``, ``ImageNetIndex``) with its defects fixed, on an
engine that leaves the model untouched, an embedded offline default model, and
``SaliencyWidget``, the interactive view for notebooks.
"""

from flashwidget import methods, models, saliency, utils
from flashwidget.demo import demo
from flashwidget.live import TrainingCallback
from flashwidget.methods import Attribution
from flashwidget.saliency import Backprop
from flashwidget.widget import SaliencyWidget

__all__ = [
    "Attribution",
    "Backprop",
    "SaliencyWidget",
    "TrainingCallback",
    "demo",
    "methods",
    "models",
    "saliency",
    "utils",
]
__version__ = "0.1.0"
