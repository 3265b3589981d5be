"""Guided backpropagation by intercepting rectifiers while the model runs.

Guided backpropagation (Springenberg et al. 2015) changes one rule of the backward pass: at every
rectifier the gradient passes only where the rectifier's input was active *and* the incoming
gradient is positive. The rectifier's own backward already applies the first half (its 0/1 mask),
so the whole change is to clamp the gradient that arrives at each rectifier's output to be
non-negative. A tensor hook on that output does exactly this.

Why intercept torch functions rather than hook ``nn.ReLU`` modules (as FlashTorch and Captum do):
``nn.ReLU``, ``nn.ReLU6``, ``F.relu``, ``F.relu6``, ``torch.relu`` and ``Tensor.relu`` all end up as
a call to one of a handful of torch functions, so a :class:`~torch.overrides.TorchFunctionMode`
sees every rectifier, including the functional ones inside ``forward`` (DenseNet, Inception) and
``ReLU6`` (MobileNet, EfficientNet-Lite) that module hooks miss. Nothing is registered on the model:
the hooks live on tensors of this one graph and disappear with it, so no hook can leak or pile up,
and in-place rectifiers need no special case.

What is not guided is counted, not silently passed over. The same interception counts the other
activations the forward pass goes through (GELU, SiLU, Hardswish, Sigmoid, ...), whose gradient
passes unchanged: a model whose main path uses them but which has a ReLU somewhere (MobileNetV3's
squeeze-excitation, Swin V2's position-bias MLP) would otherwise get a map that is vanilla almost
everywhere under the name "guided". :func:`partly_guided_note` turns the counts into a sentence,
which the methods raise as a :class:`PartlyGuidedWarning` and keep in ``Attribution.notes``.
TorchScript code (``torch.jit.script``, ``torch.jit.trace``) runs in TorchScript's interpreter
and calls no Python torch function, so nothing inside a scripted module can be seen or guided;
:func:`scripted_parts` names such modules so that the messages can say why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

# Functions whose output is max(x, 0), possibly capped above (ReLU6).
_RECTIFIERS: frozenset[Callable[..., Any]] = frozenset(
    {
        torch.relu,
        torch.relu_,
        F.relu,
        F.relu6,
        torch.Tensor.relu,
        torch.Tensor.relu_,
    }
)
# Hardtanh is a rectifier only when its lower bound is 0: that is how nn.ReLU6 is implemented.
_HARDTANH: frozenset[Callable[..., Any]] = frozenset({F.hardtanh, F.hardtanh_})

RECTIFIER_NAMES = (
    "nn.ReLU, nn.ReLU6, F.relu, F.relu6, torch.relu, Tensor.relu, F.hardtanh(min_val=0)"
)

# Activations that are not rectifiers: the gradient passes through them unguided. Keyed by the
# function the interception sees (a module's forward calls the functional form), valued by the
# name of the module users know.
_UNGUIDED: dict[Callable[..., Any], str] = {
    F.gelu: "GELU",
    F.silu: "SiLU",
    F.hardswish: "Hardswish",
    F.hardsigmoid: "Hardsigmoid",
    F.mish: "Mish",
    F.elu: "ELU",
    F.elu_: "ELU",
    F.selu: "SELU",
    F.celu: "CELU",
    F.leaky_relu: "LeakyReLU",
    F.leaky_relu_: "LeakyReLU",
    F.prelu: "PReLU",
    F.softplus: "Softplus",
    torch.sigmoid: "Sigmoid",
    torch.sigmoid_: "Sigmoid",
    torch.Tensor.sigmoid: "Sigmoid",
    torch.Tensor.sigmoid_: "Sigmoid",
    F.sigmoid: "Sigmoid",
    torch.tanh: "Tanh",
    torch.tanh_: "Tanh",
    torch.Tensor.tanh: "Tanh",
    torch.Tensor.tanh_: "Tanh",
    F.tanh: "Tanh",
}


class PartlyGuidedWarning(UserWarning):
    """Guided backpropagation met activations it does not guide (GELU, SiLU, Hardswish, ...).

    The gradient passes through those unchanged, so the map is guided only at the rectifiers and
    is close to a vanilla gradient elsewhere. The message names the activations and counts them.
    """


def _keep_positive(grad: torch.Tensor) -> torch.Tensor:
    return grad.clamp(min=0)


def _hardtanh_bounds(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    min_val = kwargs.get("min_val", args[1] if len(args) > 1 else -1.0)
    max_val = kwargs.get("max_val", args[2] if len(args) > 2 else 1.0)
    return min_val, max_val


def _kind(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """The rectifier kind ("ReLU", "ReLU6") of a call, or None when it is not a rectifier."""
    if func in _RECTIFIERS:
        return "ReLU6" if func is F.relu6 else "ReLU"
    if func in _HARDTANH:
        min_val, max_val = _hardtanh_bounds(args, kwargs)
        if min_val == 0:
            return "ReLU6" if max_val == 6 else "Hardtanh(min_val=0)"
    return None


def _unguided_kind(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str | None:
    """The name of a non-rectifier activation the call computes, or None."""
    if func in _HARDTANH:
        return "Hardtanh"  # only reached when the lower bound is not 0
    try:
        return _UNGUIDED.get(func)
    except TypeError:  # an unhashable callable is no activation of ours
        return None


class GuidedRectifiers(TorchFunctionMode):
    """Context in which every rectifier's output gets a guided-backprop gradient hook.

    Use it around the forward pass only; the backward pass may run after it has exited.
    ``rectifiers`` counts the rectifier calls the forward pass went through by kind ("ReLU",
    "ReLU6"), and ``count`` is their total, so that a model without any can be reported instead
    of silently returning a vanilla gradient. ``unguided`` counts, by name ("GELU", "SiLU",
    "Hardswish", "Sigmoid", ...), the other activations it went through, which are not guided;
    :func:`partly_guided_note` says what that means for the map.
    """

    def __init__(self) -> None:
        super().__init__()
        self.rectifiers: Counter[str] = Counter()
        self.unguided: Counter[str] = Counter()

    @property
    def count(self) -> int:
        """How many rectifiers the forward pass went through (and were guided)."""
        return sum(self.rectifiers.values())

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        kind = _kind(func, args, kwargs)
        if kind is not None:
            self.rectifiers[kind] += 1
            if isinstance(result, torch.Tensor) and result.requires_grad:
                result.register_hook(_keep_positive)
        else:
            other = _unguided_kind(func, args, kwargs)
            if other is not None:
                self.unguided[other] += 1
        return result


def scripted_parts(model: nn.Module) -> list[str]:
    """Names of the outermost TorchScript modules in ``model``: ``[""]`` for a scripted model.

    ``torch.jit.script`` and ``torch.jit.trace`` both give a ``torch.jit.ScriptModule``. Code
    compiled to TorchScript is not seen by the interception: its rectifiers cannot be guided and
    its other activations cannot be counted. A scripted function (not module) called from an
    eager ``forward`` cannot be found this way, and goes unseen as well.
    """
    if isinstance(model, torch.jit.ScriptModule):
        return [""]
    found: list[str] = []
    for name, module in model.named_modules():
        inside = any(name.startswith(f"{part}.") for part in found)
        if isinstance(module, torch.jit.ScriptModule) and not inside:
            found.append(name)
    return found


def _counted(counts: Counter[str]) -> str:
    return ", ".join(f"{count} {name}" for name, count in counts.most_common())


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)


_UNSEEN = (
    "rectifiers are found by intercepting the torch functions a forward pass calls from Python, "
    "which compiled TorchScript code never does"
)
_INSTEAD = "use vanilla gradients instead (the method 'gradient', or guided=False)"


def partly_guided_note(mode: GuidedRectifiers, model: nn.Module | None = None) -> str | None:
    """Why a guided map is only partly guided, or None when every activation seen was guided.

    ``mode`` is the :class:`GuidedRectifiers` the forward pass ran in. With ``model``, its
    TorchScript submodules, whose activations cannot be seen, are named too. The guided methods
    raise this text as a :class:`PartlyGuidedWarning` and keep it in ``Attribution.notes``, so a
    caller such as a widget can show it without catching warnings. Counts are calls: a module
    that runs twice counts twice.
    """
    parts = [] if model is None else scripted_parts(model)
    if mode.count == 0 or not (mode.unguided or parts):
        return None  # no rectifier at all is an error, not a note: see no_rectifiers_reason
    problems = []
    if mode.unguided:
        problems.append(
            f"{sum(mode.unguided.values())} activation call(s) it does not guide "
            f"({_counted(mode.unguided)}), through which the gradient passes unchanged"
        )
    if parts:
        problems.append(
            f"TorchScript submodule(s) {_quoted(parts)} whose activations it cannot see "
            "(TorchScript code calls no Python torch function)"
        )
    return (
        f"guided backpropagation guided {mode.count} rectifier call(s) "
        f"({_counted(mode.rectifiers)}) but met {' and '.join(problems)}; the map is guided only "
        "at those rectifiers, and elsewhere the gradient is vanilla"
    )


def no_rectifiers_reason(mode: GuidedRectifiers, model: nn.Module) -> str:
    """Why guided backpropagation refuses ``model``, whose forward pass met no rectifier."""
    parts = scripted_parts(model)
    if parts == [""]:
        original = getattr(model, "original_name", None)
        built_from = f" of {original}" if original else ""
        return (
            f"guided backpropagation cannot see the rectifiers of a TorchScript model "
            f"({type(model).__qualname__}{built_from}, from torch.jit.script or "
            f"torch.jit.trace): {_UNSEEN}; pass the original (eager) nn.Module, or {_INSTEAD}"
        )
    name = type(model).__qualname__
    if parts:
        return (
            f"guided backpropagation found no rectifier in {name}'s forward pass and cannot see "
            f"into its TorchScript submodule(s) {_quoted(parts)} (torch.jit.script or "
            f"torch.jit.trace): {_UNSEEN}; pass the eager modules, or {_INSTEAD}"
        )
    others = f" (its activations, {_counted(mode.unguided)}, are not)" if mode.unguided else ""
    return (
        f"guided backpropagation needs rectifiers ({RECTIFIER_NAMES}) in the model's forward "
        f"pass, and {name} has none{others}; {_INSTEAD}"
    )
