"""GradientAscent: FlashTorch's activation maximisation, with its defects fixed.

Checked against a hand computation with ``torch.autograd.grad``; on the default model
(EfficientNet-Lite0, whose same-padding made FlashTorch's input gradient all zeros) the
channel's activation must grow. The user's model, its hooks and the global random states must
come out of every call, failing ones included, exactly as they went in.
"""

from __future__ import annotations

import copy
import itertools
import random
import subprocess
import sys
from collections import OrderedDict

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from model_state import assert_same_state, snapshot
from torch import nn

from flashwidget.activmax.gradient_ascent import FilterIndexError, GradientAscent
from flashwidget.models import sample_image
from flashwidget.utils import apply_transforms

SIZE = 16  # the tiny model's images
CHANNELS = {"stem": 4, "bn": 4, "block": 6, "block.0": 6, "fc": 5}


def tiny_model() -> nn.Module:
    """Conv, batch norm, a nested block and a linear layer, with seeded non-trivial weights
    and running statistics (drawn from a local generator, not the global one)."""
    model = nn.Sequential(
        OrderedDict(
            stem=nn.Conv2d(3, 4, 3, padding=1),
            bn=nn.BatchNorm2d(4),
            act=nn.ReLU(),
            block=nn.Sequential(nn.Conv2d(4, 6, 3, padding=1), nn.ReLU()),
            pool=nn.AdaptiveAvgPool2d(1),
            flat=nn.Flatten(),
            fc=nn.Linear(6, 5),
        )
    )
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for tensor in [*model.parameters(), model.bn.running_mean]:
            tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.5)
        model.bn.running_var.copy_(torch.rand(4, generator=generator) + 0.5)
    return model.eval()


def mid_training(model: nn.Module) -> tuple[nn.Module, list[int]]:
    """A copy as a training loop leaves it (train mode, a frozen parameter, .grad set, one
    submodule in eval), with a user's forward hook that counts its calls."""
    model = copy.deepcopy(model).train()
    model.stem.weight.requires_grad_(False)
    model(
        torch.randn(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    ).sum().backward()
    model.block.eval()
    calls = [0]
    model.block.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return model, calls


class WithUnusedLayer(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.unused = nn.Conv2d(3, 3, 1)  # never called by forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def hand_steps(model: nn.Module, part: nn.Module, index: int, x: torch.Tensor, lr, steps):
    """FlashTorch's update, computed by hand: x + lr * g / (rms(g) + 1e-5), g = d mean / d x."""
    model = copy.deepcopy(model).eval()
    part = dict(model.named_modules())[part]
    recorded = {}
    handle = part.register_forward_hook(lambda m, a, out: recorded.__setitem__("out", out))
    results = []
    for _ in range(steps):
        x = x.detach().clone().requires_grad_(True)
        model(x)
        (gradient,) = torch.autograd.grad(recorded["out"][:, index].mean(), x)
        x = x + lr * gradient / (gradient.pow(2).mean().sqrt() + 1e-5)
        results.append(x.detach())
    handle.remove()  # on the test's own copy
    return results


def start_noise(size: int, seed: int) -> torch.Tensor:
    noise = torch.randint(150, 180, (size, size, 3), generator=seeded(seed), dtype=torch.uint8)
    return apply_transforms(noise.numpy(), size=size).detach()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def model() -> nn.Module:
    return tiny_model()


# --- the computation -----------------------------------------------------------------------


def test_steps_equal_a_hand_computation(model):
    x0 = torch.randn(1, 3, SIZE, SIZE, generator=seeded(2))
    kept = x0.clone()
    images = GradientAscent(model, lr=0.5).optimize("block.0", 2, input_=x0, num_iter=3)
    expected = hand_steps(model, "block.0", 2, x0, 0.5, 3)
    assert len(images) == 3
    for image, want in zip(images, expected, strict=True):
        torch.testing.assert_close(image, want, rtol=1e-5, atol=1e-5)
    assert torch.equal(x0, kept), "the given input is not modified"


def test_the_start_is_flashtorchs_noise_drawn_from_the_generator(model):
    images = GradientAscent(model, img_size=SIZE, lr=2.0).optimize(
        "stem", 1, num_iter=1, generator=seeded(7)
    )
    (want,) = hand_steps(model, "stem", 1, start_noise(SIZE, 7), 2.0, 1)
    assert images[0].shape == (1, 3, SIZE, SIZE)
    torch.testing.assert_close(images[0], want, rtol=1e-5, atol=1e-5)


def test_activation_grows_on_the_default_model(default_model):
    """FlashTorch read the gradient at conv_stem, which pads first: its maps were all zeros."""
    model = default_model

    def activation(x: torch.Tensor, index: int) -> float:
        with torch.no_grad():
            return model.blocks[:3](model.bn1(model.conv_stem(x)))[:, index].mean().item()

    before = snapshot(model)
    start = start_noise(64, 3)
    images = GradientAscent(model, img_size=64).optimize(
        "blocks.2", 0, num_iter=4, generator=seeded(3)
    )
    values = [activation(x, 0) for x in [start, *images]]
    assert all(b > a for a, b in itertools.pairwise(values)), values
    assert values[-1] > values[0] + 10, values  # about -3 to 28
    assert (images[0] - start).abs().mean() > 0.1, "the input gradient is not zero"

    conv = model.blocks[2][0].conv_pwl  # a conv inside the block, given as the module
    images = GradientAscent(model, img_size=64).optimize(conv, 0, num_iter=1, generator=seeded(3))
    assert (images[-1] - start).abs().mean() > 0.1
    assert_same_state(before, snapshot(model))


@pytest.mark.parametrize("layer", ["bn", "block", "fc"])
def test_layers_other_than_conv2d_work(model, layer):
    """FlashTorch refused anything but Conv2d; a batch norm, a block and a linear layer's
    neuron (output (N, C)) are maximised as well."""
    part = dict(model.named_modules())[layer]
    start = start_noise(SIZE, 4)
    images = GradientAscent(model, img_size=SIZE, lr=0.5).optimize(
        part, 1, num_iter=5, generator=seeded(4)
    )
    expected = hand_steps(model, layer, 1, start, 0.5, 5)
    torch.testing.assert_close(images[-1], expected[-1], rtol=1e-4, atol=1e-4)

    def activation(x: torch.Tensor) -> float:
        recorded = {}
        handle = part.register_forward_hook(lambda m, a, out: recorded.setdefault("o", out))
        with torch.no_grad():
            model(x)
        handle.remove()
        return recorded["o"][:, 1].mean().item()

    assert activation(images[-1]) > activation(start)


@pytest.mark.parametrize("layer", ["stem", "block", "fc"])
def test_filter_index_bounds(model, layer):
    """FlashTorch let index == out_channels through; both ends are refused, naming the layer
    and its channels. The error is an IndexError and, as FlashTorch's was, a ValueError."""
    ascent = GradientAscent(model, img_size=SIZE)
    channels = CHANNELS[layer]
    ascent.optimize(layer, channels - 1, num_iter=1)
    for index in (channels, -1):
        with pytest.raises(FilterIndexError) as caught:
            ascent.optimize(layer, index, num_iter=1)
        assert isinstance(caught.value, IndexError) and isinstance(caught.value, ValueError)
        assert repr(layer) in str(caught.value) and f"{channels} channels" in str(caught.value)
    ascent.optimize(layer, np.int64(0), num_iter=1)  # numpy integers, as FlashTorch accepted
    with pytest.raises(TypeError):
        ascent.optimize(layer, "0", num_iter=1)


def test_bad_arguments_are_refused_clearly(model):
    ascent = GradientAscent(model, img_size=SIZE)
    with pytest.raises(KeyError, match="close matches: block"):
        ascent.optimize("blok", 0)
    with pytest.raises(ValueError, match="not a submodule"):
        ascent.optimize(nn.Conv2d(3, 3, 1), 0)
    for num_iter in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="num_iter"):
            ascent.optimize("stem", 0, num_iter=num_iter)
    for size in (0, -3, 1.5, True, "64"):
        with pytest.raises(ValueError, match="img_size"):
            GradientAscent(model, img_size=size)
        with pytest.raises(ValueError, match="img_size"):
            ascent.img_size = size
    for lr, error in ((0, ValueError), (-1.0, ValueError), (float("inf"), ValueError),
                      (float("nan"), ValueError), ("1", TypeError), (True, TypeError)):  # fmt: skip
        with pytest.raises(error, match="lr"):
            ascent.lr = lr
        with pytest.raises(error, match="lr"):
            ascent.visualize("stem", 0, lr=lr)
    with pytest.raises(TypeError, match="use_gpu"):
        ascent.use_gpu = "yes"
    with pytest.raises(TypeError, match="generator"):
        ascent.optimize("stem", 0, generator=0)
    with pytest.raises(ValueError, match="input_"):
        ascent.optimize("stem", 0, input_=torch.zeros(3, SIZE, SIZE, dtype=torch.uint8))
    with pytest.raises(ValueError, match="empty"):
        ascent.visualize("stem", [])
    wrapped = GradientAscent(WithUnusedLayer(model), img_size=SIZE)
    with pytest.raises(ValueError, match="'unused' did not run"):
        wrapped.optimize("unused", 0, num_iter=1)
    with pytest.raises(ValueError, match="'unused' did not run"):
        wrapped.visualize("unused", None, num_iter=1)
    assert (ascent.img_size, ascent.lr, ascent.use_gpu) == (SIZE, 1.0, False)
    ascent.img_size, ascent.lr, ascent.use_gpu = 8, 0.25, False
    assert (ascent.img_size, ascent.lr) == (8, 0.25)


def test_use_gpu(model):
    ascent = GradientAscent(model, img_size=SIZE, use_gpu=True)
    before = snapshot(model)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            ascent.optimize("stem", 0, num_iter=1)
    else:
        images = ascent.optimize("stem", 0, num_iter=2, generator=seeded(5))
        assert images[-1].device.type == "cuda"
        on_cpu = GradientAscent(model, img_size=SIZE).optimize(
            "stem", 0, num_iter=2, generator=seeded(5)
        )
        torch.testing.assert_close(images[-1].cpu(), on_cpu[-1], rtol=1e-3, atol=1e-3)
    assert_same_state(before, snapshot(model))


# --- no side effects, no graph, reproducible ----------------------------------------------


def test_the_model_is_left_as_found_even_when_a_call_fails(model):
    model, calls = mid_training(model)
    before = snapshot(model)
    ascent = GradientAscent(model, img_size=SIZE)
    ascent.optimize("block", 1, num_iter=2)
    ascent.visualize("block.0", None, num_iter=1, num_subplots=2)
    ascent.deepdream(sample_image(), "stem", 0, num_iter=1)
    for layer, index in (("block", 6), ("blok", 0), ("fc", -1)):
        with pytest.raises((IndexError, KeyError)):
            ascent.optimize(layer, index, num_iter=2)
    with pytest.raises(FilterIndexError):
        ascent.visualize("block", [0, 9], num_iter=1)
    assert_same_state(before, snapshot(model))
    assert calls[0] == 0, "the user's hook never ran: the computation used a private copy"
    assert model.training and model.stem.weight.grad is None and model.fc.weight.grad is not None


def test_the_global_random_states_are_untouched(model):
    states = torch.get_rng_state(), random.getstate(), np.random.get_state()
    ascent = GradientAscent(model, img_size=SIZE)
    first = ascent.optimize("stem", 0, num_iter=1)
    second = ascent.optimize("stem", 0, num_iter=1)
    ascent.visualize("block", None, num_iter=1)
    torch_state, python_state, numpy_state = states
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert random.getstate() == python_state
    after = np.random.get_state()
    assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1])
    assert after[2:] == numpy_state[2:]
    assert not torch.equal(first[0], second[0]), "without a generator, each call draws afresh"


def test_the_same_seed_gives_the_same_images(model):
    ascent = GradientAscent(model, img_size=SIZE)
    first = ascent.optimize("block", 3, num_iter=3, generator=seeded(11))
    again = ascent.optimize("block", 3, num_iter=3, generator=seeded(11))
    other = ascent.optimize("block", 3, num_iter=3, generator=seeded(12))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], other[0])


def test_images_are_detached_leaves_and_the_graph_does_not_grow(model):
    ascent = GradientAscent(model, img_size=SIZE)
    images = ascent.optimize("block", 2, num_iter=4, generator=seeded(0))
    for image in images:
        assert image.grad_fn is None and not image.requires_grad and image.is_leaf
    assert len({image.data_ptr() for image in images}) == len(images)

    def saved_per_call(num_iter: int) -> int:
        """Tensors autograd saved for backward over a whole call: linear in num_iter when
        each step's graph is built from a fresh leaf and dropped."""
        count = [0]

        def pack(tensor):
            count[0] += 1
            return tensor

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            ascent.optimize("block", 2, num_iter=num_iter, generator=seeded(0))
        return count[0]

    one = saved_per_call(1)
    assert one > 0 and saved_per_call(4) == 4 * one


def test_optimize_runs_under_no_grad(model):
    with torch.no_grad():
        images = GradientAscent(model, img_size=SIZE).optimize("stem", 0, num_iter=2)
    assert len(images) == 2 and images[0].grad_fn is None


# --- figures -------------------------------------------------------------------------------


def _titles(figure: Figure) -> list[str]:
    return [axes.get_title() for axes in figure.axes]


def test_visualize_one_filter(model):
    ascent = GradientAscent(model, img_size=SIZE, lr=0.7)
    figure = ascent.visualize("block.0", 3, lr=0.2, num_iter=2, title="Block")
    assert isinstance(figure, Figure)
    assert _titles(figure) == ["filter 3"] and figure.get_suptitle() == "Block"
    assert ascent.lr == 0.7, "visualize's lr is for the call only"
    output = ascent.visualize("block.0", 3, lr=0.2, num_iter=2, return_output=True)
    assert isinstance(output, list) and len(output) == 2
    assert all(isinstance(image, torch.Tensor) for image in output)
    assert output[0].shape == (1, 3, SIZE, SIZE) and ascent.output is output


def test_visualize_a_list_of_filters(model):
    ascent = GradientAscent(model, img_size=SIZE)
    figure = ascent.visualize("block.0", [0, 2, 5, 1, 4], num_iter=1)
    assert _titles(figure) == ["filter 0", "filter 2", "filter 5", "filter 1", "filter 4"]
    assert figure.get_suptitle() == "Conv2d"
    output = ascent.visualize("block.0", (1, 2), num_iter=3, return_output=True)
    assert len(output) == 2 and all(isinstance(o, list) and len(o) == 3 for o in output)


def test_visualize_random_filters_are_distinct_and_seeded(model):
    ascent = GradientAscent(model, img_size=SIZE)
    figure = ascent.visualize("block", None, num_iter=1, num_subplots=3, generator=seeded(1))
    titles = _titles(figure)
    assert len(titles) == 3 and len(set(titles)) == 3
    again = ascent.visualize("block", None, num_iter=1, num_subplots=3, generator=seeded(1))
    assert _titles(again) == titles
    everything = ascent.visualize("fc", None, num_iter=1, num_subplots=9)
    assert sorted(_titles(everything)) == [f"filter {i}" for i in range(5)]
    output = ascent.visualize("stem", num_iter=2, return_output=True)
    assert len(output) == 4 and all(len(o) == 2 for o in output)


def test_deepdream_on_the_sample_image(model):
    ascent = GradientAscent(model, img_size=32)
    image = sample_image()
    figure = ascent.deepdream(image, "block.0", 1, num_iter=2, title="Dream")
    assert _titles(figure) == ["Original", "filter 1"] and figure.get_suptitle() == "Dream"
    output = ascent.deepdream(image, "block.0", 1, num_iter=2, return_output=True)
    start = apply_transforms(image, size=32).detach()
    torch.testing.assert_close(
        output[0], hand_steps(model, "block.0", 1, start, 0.1, 1)[0], rtol=1e-5, atol=1e-5
    )
    assert len(output) == 2 and output[-1].shape == (1, 3, 32, 32)
    from_image = ascent.optimize("block.0", 1, input_=image, num_iter=1)  # any image source
    assert torch.equal(from_image[0], ascent.optimize("block.0", 1, input_=start, num_iter=1)[0])


def test_importing_the_module_does_not_import_pyplot():
    code = (
        "import sys, flashwidget.activmax.gradient_ascent; "
        "print('matplotlib.pyplot' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
