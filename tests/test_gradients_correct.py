"""The maps are right: equal to torch.autograd.grad, Captum, and an explicit guided reference."""

from __future__ import annotations

import pytest
import torch
from captum.attr import GuidedBackprop, Saliency
from reference import assert_maps_differ, assert_maps_equal, autograd_reference, guided_reference

from flashwidget import Backprop

# Captum's GuidedBackprop hooks nn.ReLU modules only, so it is a valid reference for these;
# DenseNet (a functional F.relu in forward) and MobileNetV2 (ReLU6) need the explicit reference.
CAPTUM_GUIDED_OK = ("alexnet", "vgg11", "resnet18")
ALL_TORCHVISION = ("alexnet", "vgg11", "resnet18", "densenet121", "mobilenet_v2")


def _top_class(model: torch.nn.Module, image: torch.Tensor) -> int:
    with torch.no_grad():
        return int(model(image.unsqueeze(0)).argmax())


@pytest.mark.parametrize("name", ALL_TORCHVISION)
def test_vanilla_equals_autograd_and_captum(torchvision_models, small_input, name):
    model = torchvision_models[name]
    image = small_input[0]
    target = 7
    ours = Backprop(model).calculate_gradients(image, target)
    assert_maps_equal(ours, autograd_reference(model, image, target))
    captum = Saliency(model).attribute(
        small_input.clone().requires_grad_(), target=target, abs=False
    )[0]
    assert_maps_equal(ours, captum)


@pytest.mark.parametrize("name", ALL_TORCHVISION)
def test_guided_equals_explicit_reference(torchvision_models, small_input, name):
    model = torchvision_models[name]
    image = small_input[0]
    target = 3
    ours = Backprop(model).calculate_gradients(image, target, guided=True)
    assert_maps_equal(ours, guided_reference(model, image, target))
    vanilla = Backprop(model).calculate_gradients(image, target)
    assert_maps_differ(ours, vanilla)


@pytest.mark.parametrize("name", CAPTUM_GUIDED_OK)
def test_guided_equals_captum(torchvision_models, small_input, name):
    model = torchvision_models[name]
    ours = Backprop(model).calculate_gradients(small_input, 5, guided=True)
    captum = GuidedBackprop(model).attribute(small_input.clone().requires_grad_(), target=5)[0]
    assert_maps_equal(ours, captum)


def test_default_model_vanilla_and_guided(default_model, sample_input):
    """EfficientNet-Lite0: same padding before the first conv, ReLU6 everywhere (FlashTorch got an
    all-zero map and a silently vanilla 'guided' map here)."""
    backprop = Backprop(default_model)
    target = _top_class(default_model, sample_input)
    vanilla = backprop.calculate_gradients(sample_input)
    assert_maps_equal(vanilla, autograd_reference(default_model, sample_input, target))
    captum = Saliency(default_model).attribute(
        sample_input.unsqueeze(0).requires_grad_(), target=target, abs=False
    )
    assert_maps_equal(vanilla, captum[0])
    guided = backprop.calculate_gradients(sample_input, guided=True)
    assert_maps_equal(guided, guided_reference(default_model, sample_input, target))
    assert_maps_differ(guided, vanilla)


def test_take_max_is_max_of_absolute_values(torchvision_models, small_input):
    model = torchvision_models["resnet18"]
    backprop = Backprop(model)
    gradients = backprop.calculate_gradients(small_input, 2)
    saliency = backprop.calculate_gradients(small_input, 2, take_max=True)
    assert saliency.shape == (1, *gradients.shape[1:])
    assert torch.equal(saliency[0], gradients.abs().max(dim=0).values)
    captum = Saliency(model).attribute(small_input.clone().requires_grad_(), target=2, abs=True)[0]
    assert_maps_equal(saliency[0], captum.max(dim=0).values)
    # The signed maximum (FlashTorch) differs wherever a negative gradient dominates.
    assert not torch.equal(saliency[0], gradients.max(dim=0).values)


def test_target_changes_the_map_and_none_means_top_prediction(default_model, sample_input):
    backprop = Backprop(default_model)
    top = _top_class(default_model, sample_input)
    assert torch.equal(
        backprop.calculate_gradients(sample_input),
        backprop.calculate_gradients(sample_input, top),
    )
    other = backprop.calculate_gradients(sample_input, 1)
    assert_maps_differ(other, backprop.calculate_gradients(sample_input, top))
    assert_maps_equal(other, autograd_reference(default_model, sample_input, 1))


def test_class_names_resolve_through_labels(default_model, sample_input):
    backprop = Backprop(default_model)
    by_name = backprop.calculate_gradients(sample_input, "military uniform")
    assert torch.equal(by_name, backprop.calculate_gradients(sample_input, 652))


@pytest.mark.parametrize("guided", [False, True])
def test_several_classes_of_one_image_in_one_call(default_model, sample_input, guided):
    backprop = Backprop(default_model)
    classes = [652, 400, 667, 457, 906]
    several = backprop.calculate_gradients(sample_input, classes, guided=guided)
    assert several.shape == (5, *sample_input.shape)
    for k, target in enumerate(classes):
        single = backprop.calculate_gradients(sample_input, target, guided=guided)
        assert_maps_equal(several[k], single)


@pytest.mark.parametrize("guided", [False, True])
def test_batch_gives_one_map_per_image_and_target(torchvision_models, guided):
    model = torchvision_models["mobilenet_v2"]
    images = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    targets = [1, 10, 100]
    maps = Backprop(model).calculate_gradients(images, targets, guided=guided)
    assert maps.shape == images.shape
    reference = guided_reference if guided else autograd_reference
    for image, target, result in zip(images, targets, maps, strict=True):
        assert_maps_equal(result, reference(model, image, target))


def test_top_k_attribution_returns_predictions_and_maps(default_model, sample_input):
    result = Backprop(default_model).attribute(sample_input, top_k=5)
    assert result.gradients.shape == (1, 5, *sample_input.shape)
    assert torch.equal(result.targets[0], result.logits[0].topk(5).indices)
    assert torch.allclose(result.probabilities.sum(), torch.tensor(1.0))
