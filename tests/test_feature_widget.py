"""The feature widget without a browser: what it renders for each mode, refusals from the
browser, the run in pieces in a kernel (replaced by a new choice, stopped by stop()), DeepDream
on a saliency widget's image, and updates from a training loop."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest
import torch
from model_state import assert_same_state, snapshot
from test_widget import LABELS, Tiny, from_browser, tiny_input
from test_widget_methods import KernelLoop
from torch import nn

from flashwidget import feature_widget, widget_base
from flashwidget.activmax import channel, render
from flashwidget.feature_widget import FeatureWidget
from flashwidget.widget import SaliencyWidget
from flashwidget.widget_base import REFUSED

SIZE = 16


@pytest.fixture
def tiny() -> Tiny:
    torch.manual_seed(0)
    return Tiny().eval()


def make(model: nn.Module, **traits) -> FeatureWidget:
    return FeatureWidget(model, labels=LABELS, size=SIZE, steps=4, **traits)


def tiles_of(widget: FeatureWidget) -> np.ndarray:
    height, width = widget.tile_shape
    return np.frombuffer(widget.tiles, dtype=np.uint8).reshape(-1, height, width, 4)


def test_a_channel_is_rendered_as_render_would_and_the_model_is_untouched(tiny) -> None:
    before = snapshot(tiny)
    states = (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())
    shown = make(tiny, layer="features.0", channel=3)
    assert [name for name, _ in shown.layers][:2] == ["features.0", "features.1"]
    assert dict(shown.layers)["features.0"] == "8x16x16" and shown.channels == 8
    assert shown.tile_labels == ["channel 3"] and shown.tile_done == [True]
    assert not shown.running and shown.progress == -1 and shown.error == ""
    expected = render(
        tiny,
        channel("features.0", 3),
        size=SIZE,
        steps=4,
        generator=torch.Generator().manual_seed(0),
    ).images
    drawn = torch.from_numpy(tiles_of(shown)[0, ..., :3].copy()).permute(2, 0, 1).float() / 255
    torch.testing.assert_close(drawn, expected[0], atol=1 / 255, rtol=0)
    torch.testing.assert_close(shown.images[0], drawn)
    assert_same_state(before, snapshot(tiny))
    assert torch.equal(states[0], torch.get_rng_state()) and states[1] == random.getstate()
    assert np.array_equal(states[2], np.random.get_state()[1])


def test_grid_and_class_modes(tiny) -> None:
    shown = make(tiny, layer="features.0", mode="grid", grid_size=3)
    assert shown.tile_labels == ["channel 0", "channel 1", "channel 2"]
    assert shown.tile_done == [True] * 3 and tiles_of(shown).shape == (3, SIZE, SIZE, 4)
    assert len({tile.tobytes() for tile in tiles_of(shown)}) == 3, "three different images"
    shown.mode, shown.target = "class", "thing 7"
    assert shown.tile_labels == ["thing 7 (7)"]
    shown.quality = False
    assert "(plain)" in shown.status


def test_bad_values_from_the_browser_are_refused_and_the_widget_keeps_working(tiny) -> None:
    shown = make(tiny, layer="features.0")
    from_browser(shown, channel=8)
    assert shown.status.startswith(REFUSED) and "has 8 channels" in shown.status
    assert shown.channel == 0
    from_browser(shown, layer="features.9")
    assert shown.status.startswith(REFUSED) and "not one an objective can read" in shown.status
    from_browser(shown, tiles=b"x")
    assert shown.status == REFUSED + "tiles can only be set by Python"
    from_browser(shown, channel=2)
    assert shown.tile_labels == ["channel 2"] and shown.error == ""
    with pytest.raises(TypeError, match=r"unexpected keyword argument.*'chanel'"):
        FeatureWidget(tiny, chanel=3)


def test_in_a_kernel_the_run_goes_a_step_at_a_time_and_can_be_replaced_or_stopped(
    tiny, monkeypatch
) -> None:
    loop = KernelLoop()
    monkeypatch.setattr(widget_base, "kernel_loop", lambda: loop)
    monkeypatch.setattr(feature_widget, "FRAME_INTERVAL", 0.0)
    shown = FeatureWidget(tiny, labels=LABELS, size=SIZE, steps=20, layer="features.0")
    assert shown.running and shown.tile_done == [False] and len(loop.pending) == 1
    frames = []
    for _ in range(3):
        loop.turn()
        frames.append(shown.tiles)
    assert len(set(frames)) == 3, "a new frame after each step"
    assert 0 < shown.progress < 1 and "step 3 of 20" in shown.status
    from_browser(shown, channel=5)  # a new choice replaces the run at once
    assert shown.tile_labels == ["channel 5"] and "step 0 of 20" in shown.status
    while len(loop.pending) > 1:  # the old run's next piece finds itself replaced
        loop.turn()
    loop.turn()
    loop.turn()
    shown.stop()
    assert not shown.running and shown.progress == -1
    assert shown.status == "Stopped at channel 5: step 2 of 20"
    while loop.pending:
        loop.turn()
    assert shown.status.startswith("Stopped"), "nothing ran after stop()"
    shown._on_front_end_message(None, {"type": "run"}, [])  # the view's Run button
    while loop.pending:
        loop.turn()
    assert shown.tile_done == [True] and "done" in shown.status


def test_deepdream_on_a_saliency_widgets_image(tiny) -> None:
    explained = SaliencyWidget(tiny, tiny_input(), labels=LABELS)
    shown = make(tiny, layer="features.0", channel=1)
    shown.deepdream(explained)
    height, width = shown.dream_shape
    original = np.frombuffer(shown.dream_original, dtype=np.uint8).reshape(height, width, 4)
    photo = (explained.shown_image()[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    assert np.array_equal(original[..., :3], photo)
    dreamed = np.frombuffer(shown.dream_result, dtype=np.uint8).reshape(height, width, 4)
    assert 0 < np.abs(dreamed.astype(int) - original.astype(int)).mean() < 40, "changed, a little"
    assert shown.dream_caption == "DeepDream: channel 1"


def test_update_from_a_training_thread_renders_the_new_weights(tiny) -> None:
    shown = make(tiny, layer="features.0", channel=0, update_interval=0.0)
    first = shown.tiles
    optimizer = torch.optim.SGD(tiny.parameters(), lr=1.0)

    def train() -> None:
        tiny.train()
        loss = tiny(torch.randn(4, 3, SIZE, SIZE)).logsumexp(dim=1).mean()
        loss.backward()
        optimizer.step()
        assert shown.update(step=1)

    thread = threading.Thread(target=train)
    thread.start()
    thread.join()
    assert shown.tiles != first and shown.status.startswith("step 1: ")
