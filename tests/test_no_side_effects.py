"""The engine never changes the user's model, even when a call raises."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from flashwidget import Backprop


def _hook_counts(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {
        name: (
            len(module._forward_hooks),
            len(module._forward_pre_hooks),
            len(module._backward_hooks),
            len(module._backward_pre_hooks),
            len(module._state_dict_hooks),
            len(module._load_state_dict_pre_hooks),
        )
        for name, module in model.named_modules()
    }


def _global_hook_counts() -> tuple[int, ...]:
    hooks = nn.modules.module
    return (
        len(hooks._global_forward_hooks),
        len(hooks._global_forward_pre_hooks),
        len(hooks._global_backward_hooks),
        len(hooks._global_backward_pre_hooks),
        torch._C._len_torch_function_stack(),
    )


def snapshot(model: nn.Module) -> dict[str, object]:
    """Everything a call could disturb: modes, flags, .grad, parameters, buffers, hooks, device."""
    return {
        "modes": {name: m.training for name, m in model.named_modules()},
        "requires_grad": {n: p.requires_grad for n, p in model.named_parameters()},
        "grads": {
            n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()
        },
        "parameters": {n: p.detach().clone() for n, p in model.named_parameters()},
        "buffers": {n: b.clone() for n, b in model.named_buffers()},
        "devices": {n: p.device for n, p in model.named_parameters()},
        "hooks": _hook_counts(model),
        "global": _global_hook_counts(),
    }


def assert_same_state(before: dict[str, object], after: dict[str, object]) -> None:
    for key in ("modes", "requires_grad", "devices", "hooks", "global"):
        assert before[key] == after[key], key
    for key in ("grads", "parameters", "buffers"):
        assert before[key].keys() == after[key].keys()
        for name, value in before[key].items():
            other = after[key][name]
            if value is None:
                assert other is None, f"{key}[{name}] appeared"
            else:
                assert other is not None and torch.equal(value, other), f"{key}[{name}] changed"


def _as_mid_training(model: nn.Module) -> nn.Module:
    """A copy in the state a training loop leaves it: train mode, some frozen parameters, some
    .grad set by a backward step, one submodule kept in eval."""
    model = copy.deepcopy(model).train()
    parameters = list(model.parameters())
    parameters[0].requires_grad_(False)
    model(torch.randn(2, 3, 64, 64)).logsumexp(1).sum().backward()
    parameters[-1].grad = None
    next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d)).eval()
    return model


CALLS = {
    "vanilla": lambda b, x: b.calculate_gradients(x, 3),
    "guided": lambda b, x: b.calculate_gradients(x, 3, guided=True),
    "several classes": lambda b, x: b.calculate_gradients(x, [1, 2, 3], guided=True),
    "top prediction, take_max": lambda b, x: b.calculate_gradients(x, take_max=True),
    "attribute top-5": lambda b, x: b.attribute(x, top_k=5),
}
FAILING_CALLS = {
    "target out of range": (lambda b, x: b.calculate_gradients(x, 5000), IndexError),
    "unknown class name": (lambda b, x: b.calculate_gradients(x, "no such thing"), KeyError),
    "wrong channel count": (lambda b, x: b.calculate_gradients(x[:, :1], guided=True), ValueError),
    "NaN input": (lambda b, x: b.calculate_gradients(x * float("nan")), ValueError),
}


@pytest.mark.parametrize("name", ["resnet18", "densenet121", "mobilenet_v2"])
def test_calls_leave_the_model_as_it_was(torchvision_models, small_input, name):
    model = _as_mid_training(torchvision_models[name])
    backprop = Backprop(model)
    before = snapshot(model)
    for call in CALLS.values():
        call(backprop, small_input)
        assert_same_state(before, snapshot(model))
    for call, error in FAILING_CALLS.values():
        with pytest.raises(error):
            call(backprop, small_input)
        assert_same_state(before, snapshot(model))


def test_default_model_left_as_it_was(default_model, sample_input):
    before = snapshot(default_model)
    Backprop(default_model).calculate_gradients(sample_input, [1, 2], guided=True)
    assert_same_state(before, snapshot(default_model))


class ExplodesHalfway(nn.Module):
    """Goes through a rectifier, then raises: the guided interception must still be undone."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.drop = nn.Dropout()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch.relu(self.conv(x))
        raise RuntimeError("boom")


def test_exception_inside_the_model_restores_everything():
    model = ExplodesHalfway().train()
    before = snapshot(model)
    with pytest.raises(ValueError, match="boom"):
        Backprop(model).calculate_gradients(torch.randn(3, 8, 8), 0, guided=True)
    assert_same_state(before, snapshot(model))
    assert model.training and model.drop.training


def test_input_is_not_modified(default_model, sample_input):
    image = sample_input.clone().unsqueeze(0).requires_grad_(True)
    kept = image.detach().clone()
    Backprop(default_model).calculate_gradients(image, guided=True)
    assert torch.equal(image.detach(), kept)
    assert image.grad is None and image.requires_grad


def test_works_under_no_grad_and_with_frozen_parameters(torchvision_models, small_input):
    model = copy.deepcopy(torchvision_models["resnet18"]).requires_grad_(False)
    expected = Backprop(torchvision_models["resnet18"]).calculate_gradients(small_input, 4)
    with torch.no_grad():
        inside = Backprop(model).calculate_gradients(small_input, 4)
        assert not torch.is_grad_enabled(), "the caller's no_grad block must stay in force"
    assert torch.equal(inside, expected)
    assert all(not p.requires_grad for p in model.parameters())


def test_rng_state_untouched(default_model, sample_input):
    state = torch.get_rng_state()
    Backprop(default_model).calculate_gradients(sample_input, guided=True)
    assert torch.equal(state, torch.get_rng_state())


def test_repeated_guided_calls_do_not_drift(torchvision_models, small_input):
    """FlashTorch added hooks on every call, so results drifted; here call 1 equals call 5."""
    backprop = Backprop(torchvision_models["resnet18"])
    first = backprop.calculate_gradients(small_input, 9, guided=True)
    for _ in range(4):
        last = backprop.calculate_gradients(small_input, 9, guided=True)
    assert torch.equal(first, last)
