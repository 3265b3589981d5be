"""The catalogue of attribution methods: names, classes and options, readable without torch.

This table is the registry's source (:mod:`flashwidget.methods.registry` imports a method's
class from the path given here when it is first asked for), and it is what ``flashwidget
explain`` reads to parse and check its arguments before it imports torch or loads the model.
Adding a method is one file with its class in :mod:`flashwidget.methods` and one entry here;
tests/test_cli.py checks that each entry's options are its constructor's parameters, with the
constructor's defaults, and the contract tests run the new method at once.
"""

from __future__ import annotations

# Constructor arguments that the command line sets (as --steps, --samples, --noise, --layer).
CLI_OPTIONS = ("steps", "samples", "noise", "layer")

# Each method, in menu order: the class (module:name), and the options the widget's view and
# the command line offer for it: kind, bounds and the constructor's default (None for
# Grad-CAM's layer: the last layer with a spatial output). The view builds its inputs from
# this, and values from the browser are checked against it before the method sees them.
_LAYER = {"layer": {"kind": "layer", "default": None}}
METHODS: dict[str, tuple[str, dict[str, dict[str, object]]]] = {
    "gradient": ("flashwidget.methods.gradient:Gradient", {}),
    "guided_backprop": ("flashwidget.methods.gradient:GuidedBackprop", {}),
    "input_x_gradient": ("flashwidget.methods.gradient:InputXGradient", {}),
    "smoothgrad": (
        "flashwidget.methods.smoothgrad:SmoothGrad",
        {
            "samples": {"kind": "int", "min": 1, "max": 200, "default": 25},
            "noise": {"kind": "float", "min": 0.0, "max": 1.0, "step": 0.01, "default": 0.15},
        },
    ),
    "integrated_gradients": (
        "flashwidget.methods.integrated_gradients:IntegratedGradients",
        {"steps": {"kind": "int", "min": 1, "max": 500, "default": 50}},
    ),
    "gradcam": ("flashwidget.methods.gradcam:GradCAM", _LAYER),
    "guided_gradcam": ("flashwidget.methods.gradcam:GuidedGradCAM", _LAYER),
}
# Each method's options, as the view describes them.
OPTION_SPECS: dict[str, dict[str, dict[str, object]]] = {
    name: options for name, (_, options) in METHODS.items()
}
# The same, as option name -> default.
OPTIONS_BY_METHOD: dict[str, dict[str, object]] = {
    name: {option: spec["default"] for option, spec in specs.items()}
    for name, specs in OPTION_SPECS.items()
}


def method_names() -> list[str]:
    """The methods' names, in menu order (``flashwidget.methods.available()``)."""
    return list(METHODS)


def unknown_method_message(name: str) -> str:
    """What ``flashwidget.methods.method_class`` says about a name it does not know."""
    return f"unknown attribution method {name!r}; available: {', '.join(METHODS)}"
