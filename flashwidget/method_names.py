"""The attribution methods' names and options, known without importing torch.

``flashwidget explain`` parses and checks its arguments before it imports torch or loads the
model, so it cannot ask the registry (:mod:`flashwidget.methods.registry`), which imports every
method and torch with them. It reads this table instead. The registry stays the source of truth:
tests/test_cli.py checks that the names here are ``flashwidget.methods.available()``, in menu
order, and that each method's options are its constructor's parameters of those names, with the
constructor's defaults. Adding a method to the registry therefore fails that test until it is
added here too.
"""

from __future__ import annotations

# Constructor arguments that the command line sets (as --steps, --samples, --noise, --layer).
CLI_OPTIONS = ("steps", "samples", "noise", "layer")

# Each registered method, in menu order, with the options the widget's view and the command
# line offer for it: kind, bounds and the constructor's default (None for Grad-CAM's layer: the
# last layer with a spatial output). The view builds its inputs from this, and values from the
# browser are checked against it before the method sees them.
OPTION_SPECS: dict[str, dict[str, dict[str, object]]] = {
    "gradient": {},
    "guided_backprop": {},
    "input_x_gradient": {},
    "smoothgrad": {
        "samples": {"kind": "int", "min": 1, "max": 200, "default": 25},
        "noise": {"kind": "float", "min": 0.0, "max": 1.0, "step": 0.01, "default": 0.15},
    },
    "integrated_gradients": {"steps": {"kind": "int", "min": 1, "max": 500, "default": 50}},
    "gradcam": {"layer": {"kind": "layer", "default": None}},
    "guided_gradcam": {"layer": {"kind": "layer", "default": None}},
}
# The same, as option name -> default.
OPTIONS_BY_METHOD: dict[str, dict[str, object]] = {
    name: {option: spec["default"] for option, spec in specs.items()}
    for name, specs in OPTION_SPECS.items()
}


def method_names() -> list[str]:
    """The registered methods' names, in menu order (``flashwidget.methods.available()``)."""
    return list(OPTIONS_BY_METHOD)


def unknown_method_message(name: str) -> str:
    """What ``flashwidget.methods.method_class`` says about a name it does not know."""
    return f"unknown attribution method {name!r}; available: {', '.join(OPTIONS_BY_METHOD)}"
