"""The engine never changes the user's model, even when a call raises."""

from __future__ import annotations

import copy

import pytest
import torch
from model_state import as_mid_training, assert_same_state, snapshot
from torch import nn

from flashwidget import Backprop

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
    model = as_mid_training(torchvision_models[name])
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
