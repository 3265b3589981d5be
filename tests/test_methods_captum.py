"""Every method of ``flashwidget.methods`` equals Captum 0.9's implementation of the same method.

Counterparts: ``gradient`` is ``Saliency(abs=False)``, ``guided_backprop`` ``GuidedBackprop``,
``input_x_gradient`` ``InputXGradient``, ``integrated_gradients`` ``IntegratedGradients`` (same
rule, ``n_steps``, baseline and ``internal_batch_size``), ``gradcam`` ``LayerGradCam`` with
``relu_attributions=True`` upsampled by ``LayerAttribution.interpolate(..., "bilinear")``,
``guided_gradcam`` ``GuidedGradCam(interpolate_mode="bilinear")`` and ``smoothgrad``
``NoiseTunnel(Saliency)`` with ``nt_type`` "smoothgrad" or "smoothgrad_sq".

Tolerance: deterministic maps must agree within ``REL`` = 1e-5 of the reference's largest
magnitude (``reference.assert_maps_equal``), which also refuses an all-zero reference, so no
comparison passes vacuously. SmoothGrad is random, so it is checked twice: exactly, against the
mean of gradients at noisy inputs drawn here with an identically seeded generator, and in
expectation, against the exact expectation on a model where it can be computed, within what the
sampling variance allows (see :func:`test_smoothgrad_matches_noise_tunnel_in_expectation`).

Captum's ``GuidedBackprop`` and ``GuidedGradCam`` override the gradient of ``nn.ReLU`` modules
only, so they are valid references only for models whose every rectifier is an ``nn.ReLU``
module (AlexNet, VGG-11, ResNet-18). MobileNetV2 (``nn.ReLU6``), DenseNet-121 (a functional
``F.relu`` after its features) and the default EfficientNet-Lite0 (``nn.ReLU6``) are compared
with ``reference.guided_reference``, an explicit autograd substitution of every rectifier; for
Guided Grad-CAM that reference times Captum's ``LayerGradCam`` map, upsampled bilinearly.

Torchvision models run at 64 px with random weights, on classes whose Grad-CAM map is not all
zero for the fixed inputs (with random weights many classes have none).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from captum.attr import (
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Saliency,
)
from reference import assert_maps_differ, assert_maps_equal, guided_reference
from torch import nn

from flashwidget import methods

REL = 1e-5
MODELS = ("resnet18", "vgg11", "mobilenet_v2", "densenet121")
# Every rectifier an nn.ReLU module: Captum's guided methods are valid references (see above).
CAPTUM_GUIDED_OK = ("alexnet", "vgg11", "resnet18")
# A class per model whose Grad-CAM map of `small_input` is not all zero at the default layer.
TARGET = {"resnet18": 3, "vgg11": 3, "mobilenet_v2": 3, "densenet121": 250, "alexnet": 3}
DETERMINISTIC = (
    "gradient",
    "guided_backprop",
    "input_x_gradient",
    "integrated_gradients",
    "gradcam",
    "guided_gradcam",
)
IG_RULES = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")
STEPS = 8  # points on the Integrated Gradients path
# Per-image and several-class cases run on ResNet-18, where every class's Grad-CAM is non-zero.
CLASSES = [3, 11, 250]


def _leaf(x: torch.Tensor) -> torch.Tensor:
    """A fresh copy of ``x`` for Captum, which sets ``requires_grad`` on its inputs."""
    return x.detach().clone().requires_grad_(True)


def _captum_gradcam(model: nn.Module, layer: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    cam = LayerGradCam(model, layer).attribute(_leaf(x), target, relu_attributions=True)
    return LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")


def _guided_reference(model: nn.Module, x: torch.Tensor, target: int) -> torch.Tensor:
    return torch.stack([guided_reference(model, image, target) for image in x])


def _default_layer(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """The module our Grad-CAM reads by default for inputs shaped like ``x``."""
    return model.get_submodule(methods.GradCAM(model).layer_for(x))


def _expected(
    name: str,
    model: nn.Module,
    model_name: str,
    x: torch.Tensor,
    target: int,
    layer: nn.Module | None = None,
    **options,
) -> torch.Tensor:
    """Captum's map (N, C or 1, H, W) of method ``name`` for the batch ``x`` and one class.

    ``layer`` (a module) is the Grad-CAM layer; ``options`` are ours for Integrated Gradients.
    """
    assert not model.training, "Captum runs the model as it is: it must be in eval mode"
    return _captum_map(name, model, model_name, x, target, layer, **options).detach()


def _captum_map(
    name: str,
    model: nn.Module,
    model_name: str,
    x: torch.Tensor,
    target: int,
    layer: nn.Module | None,
    **options,
) -> torch.Tensor:
    captum_guided = model_name in CAPTUM_GUIDED_OK
    if name == "gradient":
        return Saliency(model).attribute(_leaf(x), target=target, abs=False)
    if name == "input_x_gradient":
        return InputXGradient(model).attribute(_leaf(x), target=target)
    if name == "guided_backprop":
        if captum_guided:
            return GuidedBackprop(model).attribute(_leaf(x), target=target)
        return _guided_reference(model, x, target)
    if name == "integrated_gradients":
        baseline = options.get("baseline")
        if isinstance(baseline, torch.Tensor) and baseline.ndim == 3:
            baseline = baseline.unsqueeze(0)
        return IntegratedGradients(model).attribute(
            _leaf(x),
            baselines=baseline,
            target=target,
            n_steps=options.get("steps", 50),
            method=options.get("rule", "gausslegendre"),
            internal_batch_size=options.get("internal_batch_size"),
        )
    layer = _default_layer(model, x) if layer is None else layer
    if name == "gradcam":
        return _captum_gradcam(model, layer, x, target)
    if name == "guided_gradcam":
        if captum_guided:
            return GuidedGradCam(model, layer).attribute(
                _leaf(x), target, interpolate_mode="bilinear"
            )
        return _guided_reference(model, x, target) * _captum_gradcam(model, layer, x, target)
    raise AssertionError(f"no Captum counterpart for {name!r}")


def _options(name: str) -> dict:
    return {"steps": STEPS} if name == "integrated_gradients" else {}


# Gradient, guided backprop, input x gradient ----------------------------------------------


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("name", ["gradient", "input_x_gradient"])
def test_gradient_methods_equal_captum(torchvision_models, small_input, name, model_name):
    model = torchvision_models[model_name]
    target = TARGET[model_name]
    ours = methods.get(name, model).attribute(small_input, target)
    assert ours.shape == small_input.shape
    assert_maps_equal(ours, _expected(name, model, model_name, small_input, target), rel=REL)


@pytest.mark.parametrize("model_name", CAPTUM_GUIDED_OK)
def test_guided_backprop_equals_captum(torchvision_models, small_input, model_name):
    model = torchvision_models[model_name]
    target = TARGET[model_name]
    ours = methods.get("guided_backprop", model).attribute(small_input, target)
    captum = GuidedBackprop(model).attribute(_leaf(small_input), target=target)
    assert_maps_equal(ours, captum, rel=REL)
    vanilla = Saliency(model).attribute(_leaf(small_input), target=target, abs=False)
    assert_maps_differ(ours, vanilla)


@pytest.mark.parametrize("model_name", ["mobilenet_v2", "densenet121"])
def test_guided_backprop_equals_explicit_reference(torchvision_models, small_input, model_name):
    """Rectifiers Captum does not hook (ReLU6, a functional relu): the explicit reference."""
    model = torchvision_models[model_name]
    target = TARGET[model_name]
    ours = methods.get("guided_backprop", model).attribute(small_input, target)
    reference = _guided_reference(model, small_input, target)
    assert_maps_equal(ours, reference, rel=REL)
    # Why Captum is not the reference here: it leaves those rectifiers' gradients vanilla.
    captum = GuidedBackprop(model).attribute(_leaf(small_input), target=target)
    assert_maps_differ(captum, reference)


# Integrated Gradients ---------------------------------------------------------------------


@pytest.mark.parametrize("rule", IG_RULES)
def test_integrated_gradients_rules_equal_captum(torchvision_models, small_input, rule):
    model = torchvision_models["resnet18"]
    ours = methods.get("integrated_gradients", model, steps=STEPS, rule=rule)
    maps = ours.attribute(small_input, 3)
    assert_maps_equal(
        maps,
        _expected(
            "integrated_gradients", model, "resnet18", small_input, 3, steps=STEPS, rule=rule
        ),
        rel=REL,
    )


@pytest.mark.parametrize("model_name", ["vgg11", "mobilenet_v2", "densenet121"])
def test_integrated_gradients_equals_captum_on_other_models(
    torchvision_models, small_input, model_name
):
    model = torchvision_models[model_name]
    target = TARGET[model_name]
    maps = methods.get("integrated_gradients", model, steps=STEPS).attribute(small_input, target)
    expected = _expected(
        "integrated_gradients", model, model_name, small_input, target, steps=STEPS
    )
    assert_maps_equal(maps, expected, rel=REL)


@pytest.mark.parametrize("kind", ["number", "tensor"])
def test_integrated_gradients_baseline_equals_captum(torchvision_models, small_input, kind):
    model = torchvision_models["resnet18"]
    if kind == "number":
        baseline = -0.7
    else:
        generator = torch.Generator().manual_seed(5)
        baseline = 0.5 * torch.randn(small_input.shape[1:], generator=generator)
    ours = methods.get("integrated_gradients", model, steps=STEPS, baseline=baseline)
    maps = ours.attribute(small_input, 3)
    expected = _expected(
        "integrated_gradients", model, "resnet18", small_input, 3, steps=STEPS, baseline=baseline
    )
    assert_maps_equal(maps, expected, rel=REL)
    black = methods.get("integrated_gradients", model, steps=STEPS).attribute(small_input, 3)
    assert_maps_differ(maps, black)


@pytest.mark.parametrize("case", ["one_image", "batch"])
def test_integrated_gradients_chunks_do_not_change_the_map(torchvision_models, case):
    """Three images per pass, fewer than the 8 steps: 3 + 3 + 2 points for one image, one point
    per pass for a batch of two. The map is Captum's for the same internal batch, and ours in
    one pass."""
    model = torchvision_models["resnet18"]
    images = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    x, target = (images[:1], 3) if case == "one_image" else (images, [3, 11])
    chunked = methods.get(
        "integrated_gradients", model, steps=STEPS, internal_batch_size=3
    ).attribute(x, target)
    whole = methods.get("integrated_gradients", model, steps=STEPS).attribute(x, target)
    assert_maps_equal(chunked, whole, rel=REL)
    captum = IntegratedGradients(model).attribute(
        _leaf(x), target=target, n_steps=STEPS, internal_batch_size=3
    )
    assert_maps_equal(chunked, captum.detach(), rel=REL)


# Grad-CAM and Guided Grad-CAM ---------------------------------------------------------------


def test_gradcam_default_layer_of_resnet18_is_layer4(torchvision_models, small_input):
    model = torchvision_models["resnet18"]
    gradcam = methods.get("gradcam", model)
    maps = gradcam.attribute(small_input, 3)
    assert gradcam.layer_for(small_input) == "layer4"
    assert maps.shape == (1, 1, *small_input.shape[-2:])
    assert_maps_equal(maps, _captum_gradcam(model, model.layer4, small_input, 3), rel=REL)


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("name", ["gradcam", "guided_gradcam"])
def test_gradcam_methods_at_default_layer_equal_captum(
    torchvision_models, small_input, name, model_name
):
    model = torchvision_models[model_name]
    target = TARGET[model_name]
    ours = methods.get(name, model).attribute(small_input, target)
    assert_maps_equal(ours, _expected(name, model, model_name, small_input, target), rel=REL)


@pytest.mark.parametrize(
    ("model_name", "layer"),
    [("resnet18", "layer3"), ("vgg11", "features.18"), ("mobilenet_v2", "features.14")],
)
@pytest.mark.parametrize("name", ["gradcam", "guided_gradcam"])
def test_gradcam_methods_at_given_layer_equal_captum(
    torchvision_models, small_input, name, model_name, layer
):
    """The layer given by name and as the module itself; the map is not the default layer's."""
    model = torchvision_models[model_name]
    target = TARGET[model_name]
    module = model.get_submodule(layer)
    by_name = methods.get(name, model, layer=layer).attribute(small_input, target)
    by_module = methods.get(name, model, layer=module).attribute(small_input, target)
    expected = _expected(name, model, model_name, small_input, target, layer=module)
    assert_maps_equal(by_name, expected, rel=REL)
    assert_maps_equal(by_module, expected, rel=REL)
    assert_maps_differ(by_name, methods.get(name, model).attribute(small_input, target))


# The default model: EfficientNet-Lite0 on the sample photo, its top class ---------------------


@pytest.mark.parametrize("name", [m for m in DETERMINISTIC if m != "input_x_gradient"])
def test_default_model_equals_captum(default_model, sample_input, name):
    """ReLU6 rectifiers: guided methods use the explicit reference (see the module docstring).
    Integrated Gradients takes 4 steps here, each a pass at 224 px; input x gradient, the input
    times the gradient checked here, is left to the torchvision models."""
    options = {"steps": 4} if name == "integrated_gradients" else {}
    result = methods.get(name, default_model, **options).explain(sample_input)
    with torch.no_grad():
        top = int(default_model(sample_input.unsqueeze(0)).argmax())
    assert result.targets.tolist() == [[top]]
    expected = _expected(
        name, default_model, "efficientnet_lite0", sample_input.unsqueeze(0), top, **options
    )
    assert_maps_equal(result.maps[:, 0], expected, rel=REL)


# Batches and several classes of one image ---------------------------------------------------


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_batch_with_one_target_per_image_equals_captum_per_image(torchvision_models, name):
    model = torchvision_models["resnet18"]
    images = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    targets = [3, 11]
    maps = methods.get(name, model, **_options(name)).attribute(images, targets)
    assert maps.shape[0] == 2
    for i, target in enumerate(targets):
        expected = _expected(name, model, "resnet18", images[i : i + 1], target, **_options(name))
        assert_maps_equal(maps[i], expected[0], rel=REL)


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_several_classes_of_one_image_equal_captum_per_class(torchvision_models, small_input, name):
    model = torchvision_models["resnet18"]
    image = small_input[0]
    maps = methods.get(name, model, **_options(name)).attribute(image, CLASSES)
    assert maps.shape[0] == len(CLASSES)
    for k, target in enumerate(CLASSES):
        expected = _expected(name, model, "resnet18", small_input, target, **_options(name))
        assert_maps_equal(maps[k], expected[0], rel=REL)


# SmoothGrad -----------------------------------------------------------------------------------


class Cubic(nn.Module):
    """logit_k(x) = sum(a_k * x**3 / 3 + b_k * x): its gradient a_k * x**2 + b_k acts pixel by
    pixel, so under Gaussian noise each pixel's gradient is a polynomial of one normal variable
    and its mean and variance are exact by Gauss-Hermite quadrature."""

    def __init__(self, shape: tuple[int, ...], classes: int = 3) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(11)
        self.a = nn.Parameter(torch.randn(classes, *shape, generator=generator))
        self.b = nn.Parameter(torch.randn(classes, *shape, generator=generator))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        terms = self.a * x.unsqueeze(1) ** 3 / 3 + self.b * x.unsqueeze(1)
        return terms.flatten(2).sum(dim=2)

    def moments(self, x: torch.Tensor, target: int, sigma: float, squared: bool):
        """Exact per-pixel mean and variance of the (squared) gradient at x + sigma * Z."""
        nodes, weights = np.polynomial.hermite_e.hermegauss(12)  # exact to degree 23
        z = torch.as_tensor(nodes, dtype=torch.float64).view(-1, 1, 1, 1)
        w = torch.as_tensor(weights / math.sqrt(2 * math.pi), dtype=torch.float64)
        a, b = self.a[target].detach().double(), self.b[target].detach().double()
        grad = a * (x.double() + sigma * z) ** 2 + b
        values = grad.square() if squared else grad
        mean = torch.tensordot(w, values, dims=1)
        return mean, torch.tensordot(w, values.square(), dims=1) - mean.square()


def _noisy_gradient_mean(
    model: nn.Module,
    x: torch.Tensor,
    targets: list[list[int]],
    noise: float,
    samples: int,
    seed: int,
    squared: bool,
) -> torch.Tensor:
    """The documented rule, redone: per image, sigma = noise * (max - min); a generator seeded
    ``seed`` gives one seed per image (``randint(2**62, (N,))``), and image ``n`` draws its
    ``samples`` noises (``randn``, one call of the image's shape each) from a generator of its
    own seeded with it. All are drawn here in one pass, which SmoothGrad's passes must not
    change. The map of
    class ``targets[n][k]`` is the mean of Captum's gradients (or their squares) over image
    ``n``'s noisy copies. Returns (N, K, C, H, W)."""
    generator = torch.Generator().manual_seed(seed)
    seeds = torch.randint(2**62, (x.shape[0],), generator=generator)
    sigma = noise * (x.amax(dim=(1, 2, 3)) - x.amin(dim=(1, 2, 3)))
    maps = []
    for n, classes in enumerate(targets):
        stream = torch.Generator().manual_seed(int(seeds[n]))
        draws = [torch.randn(x.shape[1:], generator=stream) for _ in range(samples)]
        noisy = x[n] + sigma[n] * torch.stack(draws)
        for target in classes:
            grads = Saliency(model).attribute(_leaf(noisy), target=target, abs=False)
            maps.append((grads.square() if squared else grads).mean(dim=0))
    return torch.stack(maps).view(x.shape[0], len(targets[0]), *x.shape[1:])


@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("case", ["batch", "several_classes"])
def test_smoothgrad_equals_mean_of_gradients_at_identically_drawn_noise(
    torchvision_models, small_input, squared, case
):
    """5 samples, 4 noisy images per pass: pieces of 2 + 2 + 1 draws for a batch of two (4 // 2
    per image), 4 + 1 for one image; the reference draws all 5 at once."""
    model = torchvision_models["resnet18"]
    if case == "batch":
        x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
        inputs, target, targets = x, [3, 11], [[3], [11]]
    else:
        x = small_input
        inputs, target, targets = small_input[0], CLASSES, [CLASSES]
    smoothgrad = methods.get(
        "smoothgrad", model, samples=5, noise=0.2, squared=squared, internal_batch_size=4
    )
    maps = smoothgrad.attribute(inputs, target, generator=torch.Generator().manual_seed(7))
    expected = _noisy_gradient_mean(model, x, targets, 0.2, 5, seed=7, squared=squared)
    expected = expected[:, 0] if case == "batch" else expected[0]
    assert_maps_equal(maps, expected, rel=REL)


def test_smoothgrad_without_a_generator_draws_from_one_seeded_0(torchvision_models, small_input):
    model = torchvision_models["resnet18"]
    smoothgrad = methods.get("smoothgrad", model, samples=2, noise=0.2)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(123)  # the global state must not matter
        default = smoothgrad.attribute(small_input, 3)
    seeded = smoothgrad.attribute(small_input, 3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(default, seeded)
    other = smoothgrad.attribute(small_input, 3, generator=torch.Generator().manual_seed(1))
    assert_maps_differ(default, other)


def test_smoothgrad_passes_do_not_change_the_map_of_any_image_size():
    """smoothgrad.py promises that ``internal_batch_size`` never changes the map, also for an
    image whose C*H*W (75) is not a multiple of the 16 values torch's CPU randn fills at once."""
    model = Cubic((3, 5, 5)).eval()
    x = torch.randn(3, 5, 5, generator=torch.Generator().manual_seed(4))
    one_per_pass = methods.get("smoothgrad", model, samples=7, internal_batch_size=1)
    all_at_once = methods.get("smoothgrad", model, samples=7, internal_batch_size=32)
    assert_maps_equal(one_per_pass.attribute(x, 1), all_at_once.attribute(x, 1), rel=REL)


@pytest.mark.parametrize("squared", [False, True])
def test_smoothgrad_without_noise_is_the_base_method(torchvision_models, small_input, squared):
    """Two noiseless copies, one per pass: the same computation as the base method, so the
    average is bit for bit the base map (or its square)."""
    model = torchvision_models["resnet18"]
    smoothgrad = methods.get(
        "smoothgrad", model, noise=0.0, samples=2, squared=squared, internal_batch_size=1
    )
    maps = smoothgrad.attribute(small_input, 3)
    base = methods.get("gradient", model).attribute(small_input, 3)
    assert torch.equal(maps, base.square() if squared else base)


@pytest.mark.parametrize("nt_type", ["smoothgrad", "smoothgrad_sq"])
def test_smoothgrad_matches_noise_tunnel_in_expectation(nt_type):
    """Ours and Captum's NoiseTunnel(Saliency) average n noisy gradients; on ``Cubic`` their exact
    expectation m and per-pixel variance v are known. With P independent pixels the statistic
    T = sum((mean - m)**2 / (v / n)) has expectation P exactly (no normality needed) and, the
    means being near normal at this n, is about chi-square with P = 192 degrees of freedom:
    T < P + 6 sqrt(2 P) = 310 fails a right implementation with probability about 2e-7 (the
    seeds are fixed, so the test is deterministic; the values are near 170). The same bound on
    the difference of ours and Captum's (variance 2 v / n) compares them directly. NoiseTunnel's
    ``stdevs`` is absolute, ours a fraction of the image's range (converted here); the bound
    rejects the expectation at the noise level that forgetting the conversion would give
    (T > 1e8) and even at a standard deviation only 10 % off (T ~ 4600)."""
    shape = (3, 8, 8)
    model = Cubic(shape).eval()
    x = 2 * torch.randn(shape, generator=torch.Generator().manual_seed(4))
    noise, samples, target = 0.1, 4000, 1
    squared = nt_type == "smoothgrad_sq"
    stdev = noise * float(x.max() - x.min())
    ours = methods.get(
        "smoothgrad",
        model,
        samples=samples,
        noise=noise,
        squared=squared,
        internal_batch_size=samples,
    ).attribute(x, target, generator=torch.Generator().manual_seed(1))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)
        captum = NoiseTunnel(Saliency(model)).attribute(
            _leaf(x.unsqueeze(0)),
            nt_type=nt_type,
            nt_samples=samples,
            nt_samples_batch_size=samples,
            stdevs=stdev,
            target=target,
            abs=False,
        )[0]
    mean, variance = model.moments(x, target, stdev, squared)
    pixels = mean.numel()
    bound = pixels + 6 * math.sqrt(2 * pixels)

    def statistic(estimate, expected, var):
        return float(((estimate.double() - expected).square() / (var / samples)).sum())

    assert statistic(ours, mean, variance) < bound
    assert statistic(captum, mean, variance) < bound
    assert statistic(ours, captum.double(), 2 * variance) < bound
    for wrong in (noise, 1.1 * stdev):
        assert statistic(ours, *model.moments(x, target, wrong, squared)) > bound
