"""Feature visualisation (``flashwidget.activmax``): objectives checked against the layer
outputs they read, the Fourier parameterisation and the transforms against their definitions,
``render`` against the engine's guarantees (no side effects, no global randomness, repeatable),
and the quality claims of Olah et al. (2017) reproduced on the default model."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from model_state import assert_same_state, snapshot
from torch import nn

from flashwidget import models
from flashwidget.activmax import (
    GradientAscent,
    channel,
    class_logit,
    diversity,
    neuron,
    render,
)
from flashwidget.activmax.objectives import LOGITS, Context, layer_names, recording
from flashwidget.activmax.parameterization import COLOR_CORRELATION, ImageParameterization
from flashwidget.activmax.quality import high_frequency_energy, objective_values
from flashwidget.activmax.transforms import jitter, pipeline, random_rotate
from flashwidget.utils import IMAGENET_MEAN, IMAGENET_STD


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 4, 3, padding=1)
        self.fc = nn.Linear(4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv2(torch.relu(self.bn(self.conv(x)))))
        return self.fc(x.mean(dim=(2, 3)))


@pytest.fixture
def net() -> nn.Module:
    torch.manual_seed(0)
    return Net().eval()


def score(model: nn.Module, objective, x: torch.Tensor) -> torch.Tensor:
    names = layer_names(model, objective)
    with recording(model, list(names.values())) as forward:
        return objective(forward(x), Context(names, None))


def test_objectives_read_what_they_say(net) -> None:
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    seen = {}
    net.conv2.register_forward_hook(lambda m, a, out: seen.update(conv2=out))
    logits = net(x)
    out = seen["conv2"]
    torch.testing.assert_close(score(net, channel("conv2", 3), x), out[:, 3].mean(dim=(1, 2)))
    torch.testing.assert_close(score(net, neuron(net.conv2, 1), x), out[:, 1, 4, 4])
    torch.testing.assert_close(score(net, neuron("conv2", 1, x=2, y=7), x), out[:, 1, 7, 2])
    torch.testing.assert_close(score(net, channel("fc", 4), x), logits[:, 4])
    torch.testing.assert_close(score(net, class_logit(2), x), logits[:, 2])
    combined = (channel("conv2", 3) - 2 * class_logit(2) + 1) / 2
    torch.testing.assert_close(
        score(net, combined, x), (out[:, 3].mean(dim=(1, 2)) - 2 * logits[:, 2] + 1) / 2
    )
    assert score(net, diversity("conv2"), x[:1]).tolist() == [0.0]
    same = x[:1].expand(3, -1, -1, -1)
    torch.testing.assert_close(score(net, diversity("conv2"), same), -torch.ones(3))


def test_an_early_objective_stops_the_forward_pass(net) -> None:
    calls = []
    net.fc.register_forward_hook(lambda *_: calls.append("fc"))
    score(net, channel("conv", 0), torch.randn(1, 3, 8, 8))
    assert calls == [], "the pass ended once conv's output was recorded"
    score(net, channel("conv", 0) + class_logit(1), torch.randn(1, 3, 8, 8))
    assert calls == ["fc"]


def test_bad_objectives_say_what_is_expected(net) -> None:
    x = torch.randn(1, 3, 8, 8)
    with pytest.raises(
        IndexError, match=r"layer 'conv2' has 4 channels, so expected 0 <= index < 4"
    ):
        score(net, channel("conv2", 4), x)  # FlashTorch let index == out_channels through
    with pytest.raises(IndexError, match="outside the 8 x 8 map of layer 'conv2'"):
        score(net, neuron("conv2", 0, x=8), x)
    with pytest.raises(KeyError, match="close matches: conv, conv2"):
        layer_names(net, channel("conv3", 0))
    with pytest.raises(TypeError, match="channel index must be an int"):
        channel("conv", 1.5)
    with pytest.raises(TypeError, match="objective must be an activmax Objective"):
        render(net, "conv", steps=1)
    with pytest.raises(ValueError, match="no positions"):
        score(net, neuron("fc", 0, x=1), x)


def test_the_fourier_image_is_a_scaled_spectrum_in_decorrelated_colour() -> None:
    assert COLOR_CORRELATION.norm(dim=0).max() == pytest.approx(1.0)
    image = ImageParameterization("fft", 2, 16, 16, True, torch.Generator().manual_seed(0), "cpu")
    start = image().detach()
    assert start.shape == (2, 3, 16, 16) and 0.45 < float(start.mean()) < 0.55
    (values,) = image.parameters
    with torch.no_grad():
        values.zero_()
        values[0, 0, 0, 1, 0] = 1.0  # one low frequency, in the first colour component
    wave = torch.logit(image()[0])  # back through the sigmoid: the colour matrix times a cosine
    # the 1/f scale (16) times 2 (the conjugate half), over 16 (orthonormal FFT) and Lucid's 4
    expected = torch.cos(2 * torch.pi * torch.arange(16) / 16) * 16 * 2 / 16 / 4
    profile = wave[:, 0, :] / COLOR_CORRELATION[:, 0, None]
    torch.testing.assert_close(profile, expected.expand(3, -1), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("kind", ["fft", "pixel"])
@pytest.mark.parametrize("decorrelate", [True, False])
def test_a_start_image_is_given_back_exactly(kind, decorrelate) -> None:
    """DeepDream starts from a photo: the parameterisation inverted gives it back (any size)."""
    photo = torch.rand(1, 3, 12, 20, generator=torch.Generator().manual_seed(2)) * 0.9 + 0.05
    image = ImageParameterization(
        kind, 1, 12, 20, decorrelate, torch.Generator(), "cpu", init=photo
    )
    torch.testing.assert_close(image().detach(), photo, atol=1e-5, rtol=1e-4)


def test_transforms_are_lucids_and_repeat_with_the_generator() -> None:
    images = torch.rand(2, 3, 32, 32)
    assert jitter(8)(images, torch.Generator().manual_seed(0)).shape == (2, 3, 25, 25)
    torch.testing.assert_close(random_rotate([0])(images, torch.Generator()), images)
    standard = pipeline("standard")
    first = standard(images, torch.Generator().manual_seed(3))
    assert first.shape == images.shape
    assert torch.equal(first, standard(images, torch.Generator().manual_seed(3)))
    assert not torch.equal(first, standard(images, torch.Generator().manual_seed(4)))
    with pytest.raises(ValueError, match="transforms must be one of standard, none"):
        pipeline("heavy")


def test_render_keeps_the_engines_guarantees(net) -> None:
    net.train()
    before = snapshot(net)
    states = (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())
    stopped_at = []

    def stop_at_five(step: int, images: torch.Tensor) -> bool:
        stopped_at.append(step)
        assert images.shape == (2, 3, 16, 16) and images.grad_fn is None
        return step < 5

    with torch.no_grad():
        result = render(net, channel("conv2", 1), size=16, steps=40, batch=2, callback=stop_at_five)
        assert not torch.is_grad_enabled()
    assert result.values.shape == (5, 2) and stopped_at == [1, 2, 3, 4, 5]
    again = render(net, channel("conv2", 1), size=16, steps=5, batch=2)
    torch.testing.assert_close(again.images, result.images)
    full = render(net, channel("conv2", 1), size=16, steps=40)
    assert (
        full.values[-1, 0] > full.values[0, 0] and 0 <= full.images.min() <= full.images.max() <= 1
    )
    assert_same_state(before, snapshot(net))
    assert torch.equal(states[0], torch.get_rng_state()) and states[1] == random.getstate()
    assert np.array_equal(states[2], np.random.get_state()[1])
    for bad, message in (
        ({"size": 0}, "size must be a positive int"),
        ({"lr": -1.0}, "lr must be a positive, finite number"),
        ({"param": "wavelet"}, "param must be one of fft, pixel"),
        ({"generator": 3}, "generator must be a torch.Generator"),
    ):
        with pytest.raises((ValueError, TypeError), match=message):
            render(net, channel("conv2", 1), steps=1, **bad)
    with torch.inference_mode(), pytest.raises(RuntimeError, match="inference_mode"):
        render(net, channel("conv2", 1), steps=1)


def test_a_class_by_name_uses_the_labels(net) -> None:
    labels = ["cat", "dog", "bird", "fish", "frog"]
    result = render(net, class_logit("bird"), size=16, steps=3, labels=labels)
    assert result.values.shape == (3, 1)
    with pytest.raises(KeyError, match="needs labels"):
        render(net, class_logit("bird"), size=16, steps=1)
    assert LOGITS == "logits"


# Olah et al. (2017) on the default model: three depths, quality against FlashTorch's ascent.
CHANNELS = [("blocks.2", 5), ("blocks.4", 10), ("blocks.6", 20)]
SIZE = 128


@pytest.fixture(scope="module")
def visualisations() -> dict:
    model = models.default_model()
    photo = models.default_transform()(models.sample_image()).unsqueeze(0)
    mean, std = torch.tensor(IMAGENET_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_STD).view(3, 1, 1)
    photo = torch.nn.functional.interpolate(photo * std + mean, size=SIZE).clamp(0, 1)
    noise = torch.rand(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    found = {}
    for layer, index in CHANNELS:
        objective = channel(layer, index)
        quality = render(model, objective, size=SIZE, steps=48).images
        plain = GradientAscent(model, img_size=SIZE).optimize(
            layer, index, num_iter=20, generator=torch.Generator().manual_seed(0)
        )[-1]
        plain = (plain * std + mean).clamp(0, 1)
        found[layer] = {
            name: {
                "value": float(objective_values(model, objective, images)[0]),
                "jittered": float(
                    objective_values(model, objective, images, transforms="standard", repeats=8)[0]
                ),
                "high": float(high_frequency_energy(images)[0]),
            }
            for name, images in (
                ("quality", quality),
                ("plain", plain),
                ("photo", photo),
                ("noise", noise),
            )
        }
    return found


@pytest.mark.parametrize("layer", [layer for layer, _ in CHANNELS])
def test_the_optimised_image_drives_its_channel_far_more_than_a_photo_or_noise(
    visualisations, layer
) -> None:
    found = visualisations[layer]
    quality = found["quality"]["value"]
    assert quality > 2 * max(found["photo"]["value"], found["noise"]["value"], 0.1), found


@pytest.mark.parametrize("layer", [layer for layer, _ in CHANNELS])
def test_the_quality_image_survives_transformations_and_is_smoother(visualisations, layer) -> None:
    found = visualisations[layer]
    kept = {name: found[name]["jittered"] / found[name]["value"] for name in ("quality", "plain")}
    assert kept["quality"] > 0.5 and kept["quality"] > kept["plain"] + 0.2, kept
    assert found["quality"]["high"] < 0.5 * found["plain"]["high"], found
