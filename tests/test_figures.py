"""Backprop.visualize draws FlashTorch's four panels, rendered to PNG and checked as pixels."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from PIL import Image

from flashwidget import Backprop
from flashwidget.figures import PANEL_TITLES


def _pixels(figure) -> np.ndarray:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=50)
    plt.close(figure)
    return np.asarray(Image.open(buffer).convert("RGB"), dtype=np.int16)


def test_visualize_draws_four_titled_panels(default_model, sample_input):
    kept = sample_input.clone()
    figure = Backprop(default_model).visualize(sample_input, "military uniform", alpha=0.7)
    assert [axes.get_title() for axes in figure.axes] == list(PANEL_TITLES)
    assert torch.equal(sample_input, kept), "visualize must not change its input"
    pixels = _pixels(figure)
    quarters = np.array_split(pixels, 4, axis=1)
    # Every panel has content, and the four are different pictures.
    assert all(q.std() > 10 for q in quarters)
    assert np.abs(quarters[0] - quarters[3]).mean() > 5, "the overlay differs from the input"


def test_colormap_and_alpha_change_the_overlay(default_model, sample_input):
    backprop = Backprop(default_model)
    first = _pixels(backprop.visualize(sample_input, cmap="viridis", alpha=0.2))
    second = _pixels(backprop.visualize(sample_input, cmap="magma", alpha=0.9))
    assert np.abs(first - second).mean() > 5


def test_return_output_gives_flashtorch_tensors(default_model, sample_input):
    backprop = Backprop(default_model)
    gradients, max_gradients = backprop.visualize(sample_input, 652, return_output=True)
    plt.close("all")
    assert torch.equal(gradients, backprop.calculate_gradients(sample_input, 652))
    assert torch.equal(max_gradients, backprop.calculate_gradients(sample_input, 652, True))


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"cmap": "no_such_cmap"}, ValueError, "unknown colormap"),
        ({"alpha": 1.5}, ValueError, "alpha must be between 0 and 1"),
        ({"target_class": [1, 2]}, ValueError, "one image and one target class"),
    ],
)
def test_visualize_rejects_bad_options(default_model, sample_input, kwargs, error, words):
    with pytest.raises(error, match=words):
        Backprop(default_model).visualize(sample_input, **kwargs)
    plt.close("all")
