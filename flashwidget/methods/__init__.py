"""Attribution methods behind one interface: ``method.attribute(inputs, target)``.

``flashwidget.methods.get("gradcam", model)`` builds one by name; ``available()`` lists the
names. Every method keeps the engine's guarantees (targets honoured, batches, the model left as
found, the global random state untouched); see :mod:`flashwidget.methods.core`.
"""

from flashwidget.guided import PartlyGuidedWarning
from flashwidget.methods.core import Attribution, AttributionMethod
from flashwidget.methods.gradcam import GradCAM, GuidedGradCAM
from flashwidget.methods.gradient import Gradient, GuidedBackprop, InputXGradient
from flashwidget.methods.integrated_gradients import IntegratedGradients
from flashwidget.methods.layers import resolve_layer, spatial_layers
from flashwidget.methods.registry import (
    available,
    get,
    input_space_methods,
    method_class,
    uses_rectifiers,
)
from flashwidget.methods.smoothgrad import SmoothGrad

__all__ = [
    "Attribution",
    "AttributionMethod",
    "GradCAM",
    "Gradient",
    "GuidedBackprop",
    "GuidedGradCAM",
    "InputXGradient",
    "IntegratedGradients",
    "PartlyGuidedWarning",
    "SmoothGrad",
    "available",
    "get",
    "input_space_methods",
    "method_class",
    "resolve_layer",
    "spatial_layers",
    "uses_rectifiers",
]
