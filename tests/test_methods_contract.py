"""The contract every attribution method keeps, checked for every name in the registry.

A new method added to ``flashwidget.methods`` inherits these tests: shapes, targets honoured,
batches and several classes, eval mode, no side effects on the model (also when a call raises),
the global random state untouched, inference mode refused, and bad options refused with a
message that says what is expected.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from model_state import assert_same_state, snapshot
from torch import nn

from flashwidget import methods, trust

NAMES = methods.available()
# Options that keep each method quick on the tiny model; the defaults are tested elsewhere.
QUICK = {"smoothgrad": {"samples": 3}, "integrated_gradients": {"steps": 4}}


class TinyNet(nn.Module):
    """Batch norm and dropout (so eval mode matters), module and functional rectifiers, and a
    spatial layer for Grad-CAM."""

    def __init__(self, classes: int = 6) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(8, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn(self.conv1(x)))
        x = F.relu(self.conv2(x))
        return self.fc(self.drop(x.mean(dim=(2, 3))))


@pytest.fixture
def model() -> nn.Module:
    torch.manual_seed(0)
    net = TinyNet()
    net(torch.randn(4, 3, 12, 12))  # non-trivial batch-norm statistics
    return net.eval()


@pytest.fixture
def images() -> torch.Tensor:
    return torch.randn(2, 3, 12, 12, generator=torch.Generator().manual_seed(3))


def build(name: str, model: nn.Module, **options) -> methods.AttributionMethod:
    return methods.get(name, model, **{**QUICK.get(name, {}), **options})


def channels(name: str) -> int:
    return 1 if methods.method_class(name).map_space == "layer" else 3


@pytest.mark.parametrize("name", NAMES)
def test_shapes_for_one_image_a_batch_and_several_classes(name, model, images):
    method = build(name, model)
    c = channels(name)
    assert method.attribute(images[0], 1).shape == (c, 12, 12)
    assert method.attribute(images[:1], 1).shape == (1, c, 12, 12)
    assert method.attribute(images, [1, 2]).shape == (2, c, 12, 12)
    assert method.attribute(images[0], [1, 2, 4]).shape == (3, c, 12, 12)
    result = method.explain(images, top_k=3)
    assert result.maps.shape == (2, 3, c, 12, 12)
    assert torch.equal(result.targets, result.logits.topk(3, dim=1).indices)


@pytest.mark.parametrize("name", NAMES)
def test_targets_are_honoured_and_batches_equal_single_images(name, model, images):
    method = build(name, model)
    several = method.attribute(images[0], [1, 4])
    for k, target in enumerate([1, 4]):
        alone = method.attribute(images[0], target)
        torch.testing.assert_close(several[k], alone, rtol=1e-5, atol=1e-7)
    assert not torch.allclose(several[0], several[1]), "different classes gave the same map"
    batch = method.attribute(images, [1, 4])
    # A method drawing noise gives each image of a batch its own stream, in order: only the
    # first image draws what it would draw alone.
    alone = 1 if "generator" in method.call_options else 2
    for n in range(alone):
        torch.testing.assert_close(
            batch[n], method.attribute(images[n], [1, 4][n]), rtol=1e-5, atol=1e-7
        )
    explained = method.explain(images, [5, 0]).targets
    assert explained.tolist() == [[5], [0]]


@pytest.mark.parametrize("name", NAMES)
def test_top_prediction_is_the_default_target(name, model, images):
    method = build(name, model)
    top = int(model(images[:1]).argmax())
    torch.testing.assert_close(method.attribute(images[0]), method.attribute(images[0], top))


@pytest.mark.parametrize("name", NAMES)
def test_explained_in_eval_mode_and_model_left_as_found(name, model, images):
    model(images).sum().backward()  # in eval mode: .grad set, batch-norm statistics kept
    model.fc.bias.grad = None
    model.conv1.weight.requires_grad_(False)
    expected = build(name, model).attribute(images, [1, 2])
    model.train()
    before = snapshot(model)
    for _ in range(2):  # dropout in train mode would make two calls differ
        torch.testing.assert_close(build(name, model).attribute(images, [1, 2]), expected)
        assert_same_state(before, snapshot(model))
    with pytest.raises(IndexError, match="out of range"):
        build(name, model).attribute(images, 99)
    assert_same_state(before, snapshot(model))


@pytest.mark.parametrize("name", NAMES)
def test_global_random_state_untouched(name, model, images):
    states = (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())
    build(name, model).attribute(images, 1)
    assert torch.equal(states[0], torch.get_rng_state())
    assert states[1] == random.getstate()
    assert np.array_equal(states[2], np.random.get_state()[1])


@pytest.mark.parametrize("name", NAMES)
def test_works_under_no_grad_with_frozen_parameters(name, model, images):
    expected = build(name, model).attribute(images, 2)
    model.requires_grad_(False)
    with torch.no_grad():
        inside = build(name, model).attribute(images, 2)
        assert not torch.is_grad_enabled()
    torch.testing.assert_close(inside, expected)
    assert inside.abs().sum() > 0


@pytest.mark.parametrize("name", NAMES)
def test_inference_mode_is_refused(name, model, images):
    with torch.inference_mode(), pytest.raises(RuntimeError, match="inference_mode"):
        build(name, model).attribute(images, 1)


@pytest.mark.parametrize("name", NAMES)
def test_input_is_not_modified(name, model, images):
    x = images.clone().requires_grad_(True)
    build(name, model).attribute(x, 1)
    assert torch.equal(x.detach(), images) and x.grad is None


@pytest.mark.parametrize("name", NAMES)
def test_unknown_call_option_is_refused(name, model, images):
    with pytest.raises(TypeError, match=r"unexpected option.*stepz"):
        build(name, model).attribute(images, 1, stepz=3)


def test_registry_lists_seven_methods_and_refuses_unknown_names(model):
    assert NAMES == [
        "gradient",
        "guided_backprop",
        "input_x_gradient",
        "smoothgrad",
        "integrated_gradients",
        "gradcam",
        "guided_gradcam",
    ]
    with pytest.raises(KeyError, match=r"unknown attribution method 'lime'.*gradcam"):
        methods.get("lime", model)


BAD_OPTIONS = [
    ("smoothgrad", {"samples": 0}, ValueError, "samples must be a positive int"),
    ("smoothgrad", {"noise": -0.1}, ValueError, "noise must be a finite number >= 0"),
    ("smoothgrad", {"noise": "lots"}, TypeError, "noise must be a number"),
    ("smoothgrad", {"base": "gradcam"}, ValueError, "base must be an input-space method"),
    ("integrated_gradients", {"steps": 0}, ValueError, "steps must be a positive int"),
    ("integrated_gradients", {"rule": "simpson"}, ValueError, "rule must be one of"),
    ("integrated_gradients", {"rule": "riemann_left", "steps": 1}, ValueError, "steps >= 2"),
    ("integrated_gradients", {"baseline": "black"}, TypeError, "baseline must be None"),
    ("integrated_gradients", {"internal_batch_size": 0}, ValueError, "internal_batch_size"),
    ("gradcam", {"layer": "conv3"}, KeyError, "no layer named 'conv3'.*conv1, conv2"),
    ("gradcam", {"layer": nn.Conv2d(1, 1, 1)}, ValueError, "not a submodule"),
    ("gradcam", {"layer": 3}, TypeError, "layer must be a module name"),
    ("guided_gradcam", {"layer": "conv9"}, KeyError, "close matches: conv2, conv1"),
]


@pytest.mark.parametrize(("name", "options", "error", "message"), BAD_OPTIONS)
def test_bad_options_are_refused_with_what_is_expected(name, options, error, message, model):
    with pytest.raises(error, match=message):
        methods.get(name, model, **options)


def test_baseline_of_the_wrong_shape_is_refused(model, images):
    method = methods.get("integrated_gradients", model, steps=2, baseline=torch.zeros(3, 5, 5))
    with pytest.raises(ValueError, match=r"baseline has shape \(3, 5, 5\); expected"):
        method.attribute(images, 1)


def test_gradcam_without_a_spatial_layer_says_so():
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(12, 4))
    with pytest.raises(ValueError, match="Grad-CAM needs a layer with a spatial output"):
        methods.get("gradcam", mlp).attribute(torch.randn(1, 3, 2, 2), 0)


def test_gradcam_refuses_a_layer_that_runs_twice(images):
    torch.manual_seed(0)
    shared = nn.Conv2d(3, 3, 3, padding=1)
    model = nn.Sequential(shared, nn.ReLU(), shared, nn.Flatten(), nn.LazyLinear(4)).eval()
    model(images)
    with pytest.raises(ValueError, match="ran 2 times in one forward pass"):
        methods.get("gradcam", model, layer="0").attribute(images, 1)


@pytest.mark.parametrize("name", ["guided_backprop", "guided_gradcam"])
def test_guided_methods_refuse_a_model_without_rectifiers(name, images):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.SiLU(), nn.Flatten(), nn.LazyLinear(5)).eval()
    model(images)
    with pytest.raises(ValueError, match="guided backpropagation needs rectifiers"):
        methods.get(name, model).attribute(images, 0)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("integrated_gradients", {"steps": 20, "internal_batch_size": 6}),
        ("smoothgrad", {"samples": 20, "internal_batch_size": 6}),
    ],
)
def test_memory_is_bounded_by_the_internal_batch(name, options, model, images):
    """Never more than internal_batch_size images through the model at once, and chunking
    does not change the result."""
    sizes: list[int] = []
    handle = model.register_forward_pre_hook(lambda module, args: sizes.append(len(args[0])))
    try:
        chunked = methods.get(name, model, **options).attribute(images, [1, 2])
    finally:
        handle.remove()
    assert max(sizes) <= 6 and sum(sizes) >= 40
    whole = methods.get(name, model, **{**options, "internal_batch_size": 40})
    torch.testing.assert_close(chunked, whole.attribute(images, [1, 2]), rtol=1e-5, atol=1e-7)


def test_smoothgrad_noise_comes_from_the_generator(model, images):
    method = methods.get("smoothgrad", model, samples=4)
    first = method.attribute(images, 1, generator=torch.Generator().manual_seed(7))
    again = method.attribute(images, 1, generator=torch.Generator().manual_seed(7))
    other = method.attribute(images, 1, generator=torch.Generator().manual_seed(8))
    assert torch.equal(first, again)
    assert not torch.allclose(first, other)
    assert torch.equal(method.attribute(images, 1), method.attribute(images, 1))
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        method.attribute(images, 1, generator=7)


def test_gradcam_default_layer_is_the_last_spatial_one(model, images):
    layers = methods.spatial_layers(model, images[:1])
    assert [name for name, _ in layers] == ["conv1", "bn", "relu", "conv2"]
    assert methods.GradCAM(model).layer_for(images) == "conv2"
    by_name = methods.get("gradcam", model, layer="conv2").attribute(images, 1)
    by_module = methods.get("gradcam", model, layer=model.conv2).attribute(images, 1)
    torch.testing.assert_close(methods.get("gradcam", model).attribute(images, 1), by_name)
    torch.testing.assert_close(by_module, by_name)
    assert by_name.min() >= 0, "Grad-CAM keeps the positive part (the paper's ReLU)"


def test_a_layer_that_enlarges_its_input_is_not_the_default():
    """VGG's adaptive pooling copies a small image's 2 x 2 feature map up to 7 x 7: blur, not
    information about where. The default is the last layer before it."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.MaxPool2d(4),
        nn.AdaptiveAvgPool2d(7),
        nn.Flatten(),
        nn.Linear(4 * 49, 3),
    ).eval()
    x = torch.randn(1, 3, 8, 8)
    assert [name for name, _ in methods.spatial_layers(model, x)] == ["0", "1"]
    assert methods.GradCAM(model).layer_for(x) == "1"
    assert methods.GradCAM(model).layer_for(torch.randn(1, 3, 56, 56)) == "2"  # 14 -> 7


@pytest.mark.parametrize("name", NAMES)
def test_each_class_carries_its_registry_name(name):
    assert methods.method_class(name).name == name


@pytest.mark.parametrize("name", ["smoothgrad", "integrated_gradients"])
def test_attribute_runs_no_extra_forward_pass_for_given_classes(name, model, images):
    """Captum runs only the passes over noisy copies or path points; so does ``attribute`` when
    the classes are given. ``explain`` (which returns the logits) and a top-class target need
    one more forward pass, on the clean images."""
    method = build(name, model, internal_batch_size=100)
    batches: list[int] = []
    handle = model.register_forward_pre_hook(lambda module, args: batches.append(len(args[0])))
    try:
        method.attribute(images, [1, 2])
        given = list(batches)
        batches.clear()
        method.attribute(images)
        top = list(batches)
        batches.clear()
        result = method.explain(images, [1, 2])
    finally:
        handle.remove()
    passes = QUICK[name].get("samples", QUICK[name].get("steps"))
    assert given == [2 * passes]
    assert top == [2, 2 * passes]
    assert batches == [2, 2 * passes] and result.logits.shape == (2, 6)
    with pytest.raises(IndexError, match="out of range"):
        method.attribute(images, 99)  # checked by the first pass, as before


@pytest.mark.parametrize("name", NAMES)
def test_the_trust_checks_run_any_method_without_side_effects(name, model, images):
    """ "Check this map" runs every method: the model, the global random state and grad mode
    are as they were, between the check's steps and after them."""
    before = snapshot(model)
    states = (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())
    check = trust.MapCheck(model, images[0], 1, name, QUICK.get(name), steps=4, random_orderings=1)
    while check.step():
        assert torch.is_grad_enabled()
    assert [verdict.name for verdict in check.result.verdicts] == [
        "randomization",
        "class",
        "faithfulness",
    ]
    assert len(check.result.randomization) == check.result.layers == 4  # conv1, bn, conv2, fc
    assert_same_state(before, snapshot(model))
    assert torch.equal(states[0], torch.get_rng_state()) and states[1] == random.getstate()
    assert np.array_equal(states[2], np.random.get_state()[1])
