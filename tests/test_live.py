"""Watching a model train: updates, snapshots, and proof that watching never changes training."""

from __future__ import annotations

import random
import threading
import time
from unittest import mock

import numpy as np
import pytest
import torch
from torch import nn

from flashwidget.live import TrainingCallback, WeightsMirror
from flashwidget.methods import AttributionMethod
from flashwidget.pixels import channel_map
from flashwidget.saliency import Backprop
from flashwidget.widget import LATEST, SaliencyWidget
from flashwidget.widget_base import REFUSED

SIDE = 16
CLASSES = 4


class Net(nn.Module):
    """Small, but with what makes training state tricky: BatchNorm statistics and dropout."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1),
            nn.BatchNorm2d(6),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(24, CLASSES),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def batches(steps: int, seed: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(8, 3, SIDE, SIDE, generator=generator), torch.arange(8) % CLASSES)
        for _ in range(steps)
    ]


def image() -> torch.Tensor:
    return torch.randn(3, SIDE, SIDE, generator=torch.Generator().manual_seed(7))


def train(
    watch: SaliencyWidget | None, steps: int = 6
) -> tuple[Net, torch.optim.Optimizer, SaliencyWidget | None]:
    """Seeded training; ``watch`` (built on the model by ``make_widget``) updates every step."""
    torch.manual_seed(0)
    model = Net().train()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    widget = watch(model) if watch else None
    for step, (x, y) in enumerate(batches(steps)):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        if widget is not None:
            assert widget.update(step=step, force=True)
    return model, optimizer, widget


def make_widget(model: nn.Module, **options) -> SaliencyWidget:
    return SaliencyWidget(model, image(), labels=[f"c{i}" for i in range(CLASSES)], **options)


def training_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    for index, values in optimizer.state_dict()["state"].items():
        for key, value in values.items():
            state[f"optimizer.{index}.{key}"] = torch.as_tensor(value)
    return state


# Training is unchanged ------------------------------------------------------------------------


def test_training_with_updates_every_step_is_bit_identical() -> None:
    torch.use_deterministic_algorithms(True)
    try:
        alone = training_state(*train(None)[:2])
        watched_model, watched_optimizer, widget = train(make_widget)
        watched = training_state(watched_model, watched_optimizer)
    finally:
        torch.use_deterministic_algorithms(False)
    assert len(widget.steps) == 6
    assert alone.keys() == watched.keys() and len(alone) > 10
    for key in alone:
        assert torch.equal(alone[key], watched[key]), key


def test_an_update_leaves_grads_modes_flags_and_random_generators_alone() -> None:
    torch.manual_seed(0)
    model = Net().train()
    model.body[0].weight.requires_grad_(False)
    x, y = batches(1)[0]
    nn.functional.cross_entropy(model(x), y).backward()
    widget = make_widget(model)
    grads = {
        name: None if p.grad is None else p.grad.clone() for name, p in model.named_parameters()
    }
    flags = {name: p.requires_grad for name, p in model.named_parameters()}
    modes = {name: m.training for name, m in model.named_modules()}
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    generators = (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())

    assert widget.update(step="after one step", force=True)

    assert torch.equal(torch.get_rng_state(), generators[0])
    assert random.getstate() == generators[1]
    assert np.array_equal(np.random.get_state()[1], generators[2])
    for name, parameter in model.named_parameters():
        if grads[name] is None:
            assert parameter.grad is None
        else:
            assert torch.equal(parameter.grad, grads[name])
        assert parameter.requires_grad == flags[name]
    assert {name: m.training for name, m in model.named_modules()} == modes
    for name, buffer in model.named_buffers():
        assert torch.equal(buffer, buffers[name])
    assert not model._forward_hooks and not model._backward_hooks


# What an update shows -------------------------------------------------------------------------


def test_update_shows_the_map_of_the_weights_at_that_moment() -> None:
    torch.manual_seed(0)
    model = Net().eval()
    widget = make_widget(model, update_interval=0)
    before = widget.gradients
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(-1.5)
    assert widget.update(step=1)
    expected = Backprop(model).calculate_gradients(image(), widget.target)
    torch.testing.assert_close(widget.gradients, expected)
    assert not torch.allclose(widget.gradients, before)
    assert widget.status.startswith("step 1: ")
    assert widget.map_values == channel_map(expected, widget.take_max).astype("<f4").tobytes()


def test_updates_are_rate_limited_unless_forced() -> None:
    widget = make_widget(Net().eval(), update_interval=60)
    original = AttributionMethod.explain
    with mock.patch.object(
        AttributionMethod, "explain", autospec=True, side_effect=original
    ) as engine:
        assert widget.update(step="a") is True
        assert widget.update(step="b") is False
        assert widget.update(step="c", force=True) is True
    assert widget.steps == ["a", "c"]
    assert engine.call_count == 2  # the skipped call computed nothing


def view_message(widget: SaliencyWidget, shown: bool) -> None:
    """What a view sends when it is rendered (shown) or closed."""
    message = {"method": "custom", "content": {"type": "view", "shown": shown}}
    widget._handle_msg({"content": {"data": message}, "buffers": []})


def test_updates_stop_once_every_view_is_closed() -> None:
    widget = make_widget(Net().eval(), update_interval=0)
    assert widget.update(step="never shown")  # used from Python alone: still updates
    view_message(widget, shown=True)
    view_message(widget, shown=True)
    view_message(widget, shown=False)
    assert widget.update(step="one view left")
    view_message(widget, shown=False)
    assert widget.update(step="nobody looks") is False
    assert widget.update(step="forced", force=True)
    view_message(widget, shown=True)
    assert widget.update(step="shown again")
    assert widget.steps == ["never shown", "one view left", "forced", "shown again"]


def test_an_update_computes_only_what_is_shown() -> None:
    widget = make_widget(Net().eval(), update_interval=0)
    calls = []
    original = AttributionMethod.explain

    def counted(self, inputs, target=None, **options):
        calls.append(target)
        return original(self, inputs, target, **options)

    with mock.patch.object(AttributionMethod, "explain", counted):
        widget.update(step=0)
    assert calls == [widget.target]  # one class, no prefetch of the others


def test_the_timeline_is_bounded_and_scrubbing_shows_a_snapshot() -> None:
    torch.manual_seed(0)
    model = Net().eval()
    widget = make_widget(model, update_interval=0, history=3)
    shown = []
    for step in range(5):
        with torch.no_grad():
            model.body[-1].weight.add_(torch.randn_like(model.body[-1].weight))
        widget.update(step=f"s{step}")
        shown.append(widget.map_values)
    assert widget.steps == ["s2", "s3", "s4"]
    widget.step_index = 0
    assert widget.map_values == shown[2]
    assert widget.status.startswith("step s2 (1 of 3): ")
    widget.update(step="s5")  # a new snapshot while scrubbing: the view keeps its snapshot
    assert widget.steps == ["s3", "s4", "s5"]
    assert widget.step_index == 0 and widget.map_values == shown[3]
    widget.step_index = LATEST
    assert widget.status.startswith("step s5: ")


def test_a_class_picked_while_scrubbing_returns_to_the_newest_weights() -> None:
    widget = make_widget(Net().eval(), update_interval=0)
    widget.update(step=0)
    widget.update(step=1)
    widget.step_index = 0
    widget.target = (widget.target + 1) % CLASSES
    assert widget.step_index == LATEST
    assert widget.status.startswith(f"step 1: c{widget.target} (class {widget.target})")


def test_a_bad_step_index_from_the_browser_is_refused() -> None:
    widget = make_widget(Net().eval(), update_interval=0)
    widget.update(step=0)
    message = {"method": "update", "state": {"step_index": 5}, "buffer_paths": []}
    widget._handle_msg({"content": {"data": message}, "buffers": []})
    assert widget.status.startswith(REFUSED) and "step_index 5 is out of range" in widget.status
    assert widget.step_index == LATEST


def test_training_callback_updates_from_loops_and_lightning_hooks() -> None:
    widget = make_widget(Net().eval(), update_interval=0)
    callback = TrainingCallback(widget, every=2)
    assert [callback(f"loop step {i}") for i in range(1, 5)] == [False, True, False, True]
    trainer = mock.Mock(global_step=7, current_epoch=0)
    for batch_idx in range(4):
        callback.on_train_batch_end(trainer, None, None, None, batch_idx)
    callback.on_train_epoch_end(trainer, None)
    assert widget.steps == ["loop step 2", "loop step 4", "7", "7", "epoch 0"]
    with pytest.raises(ValueError, match="every must be a positive int"):
        TrainingCallback(widget, every=0)


def test_the_mirror_follows_structure_changes() -> None:
    model = Net()
    mirror = WeightsMirror(model)
    first = mirror.refresh()
    assert first is not model and mirror.refresh() is first
    model.body[-1] = nn.Linear(24, CLASSES + 1)
    assert mirror.refresh() is not first
    assert mirror.model.body[-1].out_features == CLASSES + 1


# Training in a thread while the view asks for maps ---------------------------------------------


class Record(list):
    """A list that copies of the model share (``deepcopy`` would give the mirror its own)."""

    def __deepcopy__(self, memo: dict) -> Record:
        return self


class Probe(nn.Module):
    """A model whose every parameter holds the number of the step that wrote it.

    The trainer writes the layers one by one with pauses in between, so a map computed on the
    live model mid-step would see two step numbers. Each forward records which copy of the
    model ran, on which thread, and the values it saw.
    """

    def __init__(self, seen: Record) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(3 * SIDE * SIDE, 3 * SIDE * SIDE) for _ in range(3))
        self.head = nn.Linear(3 * SIDE * SIDE, CLASSES)
        self.seen = seen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {float(p.detach().flatten()[0]) for p in self.parameters()}
        self.seen.append((id(self), threading.current_thread().name, values))
        shape = x.shape
        x = x.flatten(1)
        for layer in self.layers:
            x = torch.relu(layer(x))
        return self.head(x).reshape(shape[0], CLASSES)


def test_training_in_a_thread_never_mixes_steps_into_one_map() -> None:
    seen = Record()
    model = Probe(seen)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(0.001)
    widget = make_widget(model, update_interval=0)
    errors: list[BaseException] = []

    def trainer() -> None:
        try:
            for step in range(1, 25):
                with torch.no_grad():
                    for parameter in model.parameters():
                        parameter.fill_(0.001 * (step + 1))
                        time.sleep(0.0005)
                model(image().unsqueeze(0))  # the trainer's own forward, on whole weights
                widget.update(step=step)
        except BaseException as error:  # surfaced below
            errors.append(error)

    widget.update(step=0)  # as documented: from now on the widget follows updates only
    thread = threading.Thread(target=trainer, name="trainer")
    seen.clear()
    thread.start()
    target = 0
    while thread.is_alive():  # the view keeps asking for other classes, as fast as a person
        time.sleep(0.002)  # clicks and more; an update skipped while busy is caught up later
        target = (target + 1) % CLASSES
        widget._handle_msg(
            {
                "content": {"data": {"method": "update", "state": {"target": target}}},
                "buffers": [],
            }
        )
    thread.join()
    assert errors == []
    assert widget.error == "" and len(widget.steps) > 1
    live = [(thread_name, values) for copy, thread_name, values in seen if copy == id(model)]
    mirrored = [(thread_name, values) for copy, thread_name, values in seen if copy != id(model)]
    assert {thread_name for thread_name, _ in live} == {"trainer"}  # the widget never ran it
    assert {thread_name for thread_name, _ in mirrored} == {"trainer", "MainThread"}
    assert all(len(values) == 1 for _, values in live + mirrored)  # no map mixed two steps
    with torch.no_grad():
        assert all(float(p.flatten()[0]) == pytest.approx(0.025) for p in model.parameters())


class KeepsALock(nn.Module):
    """Refuses a deep copy twice over: a lock, and the last activation kept as an attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.net = Net()
        self.last: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with self.lock:
            self.last = self.net(x)
        return self.last


def test_a_model_that_cannot_be_deep_copied_is_still_followed() -> None:
    torch.manual_seed(0)
    model = KeepsALock().train()
    model(image().unsqueeze(0))  # now holds a non-leaf tensor: no deep copy possible
    collected: list[torch.Tensor] = []  # a feature-extraction hook, as users write them
    model.net.body[0].register_forward_hook(lambda m, a, out: collected.append(out))
    widget = make_widget(model, update_interval=0)
    assert widget.error == "" and "copied it module by module" in widget.status
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(2):
        loss = model(image().unsqueeze(0)).logsumexp(1).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert widget.update(step="s", force=True)  # never raises into the loop
    assert len(collected) == 2, "the widget's forward passes must not run the user's hook"
    expected = Backprop(model).calculate_gradients(image(), widget.target)
    torch.testing.assert_close(widget.gradients, expected)


def test_the_live_model_is_never_run_even_before_update() -> None:
    """Without update(), a thread training the model must still never see the widget's eval
    switch or hooks: the widget computes on its own copy from the start."""
    torch.manual_seed(0)
    model = Net().train()
    runs: list[bool] = []
    model.register_forward_pre_hook(lambda module, args: runs.append(module.training))
    widget = make_widget(model, update_interval=0)
    widget.method = "gradcam"
    widget.target = (widget.target + 1) % CLASSES
    assert runs == [] and widget.error == ""
    with torch.no_grad():
        model.body[0].weight.mul_(-1)  # a training step, seen through the fingerprint
    widget.method = "gradient"
    expected = Backprop(model).calculate_gradients(image(), widget.target)
    torch.testing.assert_close(widget.gradients, expected)
    assert runs == [False], "only the reference call above ran the model"
