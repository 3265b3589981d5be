"""The widget's method menu, options, compare mode and progress, without a browser; and the
Explorer, the plain object that computes for it."""

from __future__ import annotations

import pytest
import torch
import torchvision
from test_widget import LABELS, SIDE, Tiny, from_browser, tiny_input
from torch import nn

from flashwidget import methods, widget_base
from flashwidget.explorer import Explorer, check_options
from flashwidget.methods import AttributionMethod
from flashwidget.pixels import channel_map
from flashwidget.widget import SaliencyWidget
from flashwidget.widget_base import REFUSED


class KernelLoop:
    """The part of the kernel's tornado IOLoop the widget uses, turned by hand."""

    def __init__(self) -> None:
        self.pending: list[tuple] = []

    def call_later(self, delay: float, callback, *args) -> None:
        self.pending.append((callback, args))

    def turn(self) -> None:
        callback, args = self.pending.pop(0)
        callback(*args)


def values_of(maps: torch.Tensor, take_max: bool = True) -> bytes:
    return channel_map(maps, take_max).astype("<f4").tobytes()


@pytest.fixture
def tiny() -> Tiny:
    torch.manual_seed(0)
    return Tiny().eval()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, str, int | None]]:
    """Every method call as (target, name, steps or samples)."""
    seen: list[tuple[object, str, int | None]] = []
    original = AttributionMethod.explain

    def counted(self, inputs, target=None, **options):
        seen.append((target, self.name, getattr(self, "steps", getattr(self, "samples", None))))
        return original(self, inputs, target, **options)

    monkeypatch.setattr(AttributionMethod, "explain", counted)
    return seen


@pytest.fixture
def widget(tiny: Tiny, calls) -> SaliencyWidget:
    made = SaliencyWidget(tiny, tiny_input(), labels=LABELS, top_k=3)
    calls.clear()
    return made


@pytest.mark.parametrize("name", methods.available())
def test_each_method_from_the_browser_shows_its_map(widget, tiny, name) -> None:
    options = {"integrated_gradients": {"steps": 6}, "smoothgrad": {"samples": 3}}.get(name, {})
    from_browser(widget, method=name, method_options=options)
    expected = methods.get(name, tiny, **options).attribute(tiny_input(), widget.target)
    torch.testing.assert_close(widget.attributions, expected, rtol=1e-5, atol=1e-7)
    assert widget.map_values == values_of(expected)
    assert widget.error == "" and not widget.status.startswith(REFUSED)
    assert methods.method_class(name).map_space != "layer" or widget.attributions.shape[0] == 1


def test_cache_is_keyed_by_class_method_and_options(widget, calls) -> None:
    target = widget.target
    widget.method = "integrated_gradients"
    widget.method_options = {"steps": 4}
    four = widget.map_values
    widget.method_options = {"steps": 8}
    assert widget.map_values != four
    assert (target, "integrated_gradients", 4) in calls
    assert (target, "integrated_gradients", 8) in calls
    calls.clear()
    widget.method_options = {"steps": 4}
    assert calls == [] and widget.map_values == four and "from cache" in widget.status
    widget.method = "gradient"
    assert calls == []  # computed first, and still cached


def test_each_method_keeps_its_own_options(widget) -> None:
    widget.method = "integrated_gradients"
    widget.method_options = {"steps": 7}
    widget.method = "gradcam"
    assert widget.method_options == {}  # steps is not an option of Grad-CAM
    widget.method_options = {"layer": "features.0"}
    widget.method = "integrated_gradients"
    assert widget.method_options == {"steps": 7}
    widget.method = "gradcam"
    assert widget.method_options == {"layer": "features.0"}
    assert "layer=features.0" in widget.status


def test_options_are_checked_against_the_method() -> None:
    assert check_options("smoothgrad", {"samples": 4.0, "noise": 0}) == {
        "samples": 4,
        "noise": 0.0,
    }
    with pytest.raises(TypeError, match="samples must be an int"):
        check_options("smoothgrad", {"samples": 2.5})
    with pytest.raises(ValueError, match=r"noise must be between 0\.0 and 1\.0"):
        check_options("smoothgrad", {"noise": 3})
    with pytest.raises(ValueError, match="its options are: noise, samples"):
        check_options("smoothgrad", {"steps": 3})
    with pytest.raises(KeyError, match="available: gradient"):
        check_options("lime", {})


def test_a_bad_layer_name_is_shown_and_the_widget_recovers(widget) -> None:
    from_browser(widget, method="gradcam", method_options={"layer": "nope"})
    assert "no layer named 'nope'" in widget.error
    from_browser(widget, method_options={"layer": "features.0"})
    assert widget.error == "" and widget.map_shape == [SIDE, SIDE]


def test_compare_two_methods_and_two_classes(widget, tiny) -> None:
    assert widget.compare == "off" and widget.compare_values == b""
    widget.compare_method = "gradcam"
    widget.compare = "method"
    gradcam = methods.get("gradcam", tiny).attribute(tiny_input(), widget.target)
    assert widget.compare_values == values_of(gradcam)
    assert widget.compare_caption == "Grad-CAM"
    top = [p["index"] for p in widget.predictions]
    assert widget.compare_target == top[1]  # the runner-up, until the user picks another
    widget.compare = "class"
    other = methods.get("gradient", tiny).attribute(tiny_input(), top[1])
    assert widget.compare_values == values_of(other)
    assert widget.compare_caption == f"{LABELS[top[1]]} (class {top[1]})"
    from_browser(widget, compare_target=9)
    assert widget.compare_values == values_of(
        methods.get("gradient", tiny).attribute(tiny_input(), 9)
    )
    widget.compare = "off"
    assert widget.compare_values == b"" and widget.compare_caption == ""


def test_guided_methods_are_offered_greyed_out_for_a_model_without_rectifiers() -> None:
    torch.manual_seed(0)
    smooth = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.SiLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten()
    )
    model = nn.Sequential(smooth, nn.Linear(16, 10)).eval()
    shown = SaliencyWidget(model, tiny_input(), labels=LABELS)
    specs = {spec["name"]: spec for spec in shown.method_specs}
    assert list(specs) == methods.available()
    for name in ("guided_backprop", "guided_gradcam"):
        assert "needs rectifiers" in specs[name]["unavailable"]
    assert all(specs[n]["unavailable"] == "" for n in ("gradient", "gradcam", "smoothgrad"))
    from_browser(shown, method="guided_backprop")
    assert shown.method == "gradient"
    assert "guided_backprop is not available for this model" in shown.status
    assert [layer[0] for layer in shown.layers] == ["0.0", "0.1", "0.2"]
    assert shown.layers[0][1] == "4x32x32"


def test_method_specs_describe_the_options(widget) -> None:
    specs = {spec["name"]: spec for spec in widget.method_specs}
    assert [o["name"] for o in specs["smoothgrad"]["options"]] == ["samples", "noise"]
    assert specs["integrated_gradients"]["options"][0] == {
        "name": "steps",
        "kind": "int",
        "min": 1,
        "max": 500,
        "default": 50,
    }
    assert "sanity check" in specs["guided_backprop"]["note"]
    assert specs["gradient"]["options"] == [] and specs["gradient"]["note"] == ""


def test_slow_methods_report_progress(widget) -> None:
    seen: list[float] = []
    widget.method = "integrated_gradients"
    widget.observe(lambda change: seen.append(change["new"]), names="progress")
    widget.method_options = {"steps": 100}  # 32 points a pass: 4 passes
    assert seen == [0.32, 0.64, 0.96, 1.0, -1.0]  # then idle; the prefetch reports nothing
    assert widget.progress == -1.0


def test_snapshots_record_the_method(tiny) -> None:
    shown = SaliencyWidget(tiny, tiny_input(), labels=LABELS, update_interval=0)
    shown.method = "gradcam"
    shown.update(step="a")
    shown.method = "gradient"
    shown.update(step="b")
    shown.step_index = 0
    assert "step a (1 of 2)" in shown.status and "Grad-CAM" in shown.status


# The Explorer, without traitlets ----------------------------------------------------------------


def test_explorer_caches_prefetches_and_forgets(tiny, calls) -> None:
    explorer = Explorer(tiny, labels=LABELS, top_k=3)
    explorer.set_input(tiny_input().unsqueeze(0))
    first = explorer.show(None, "gradcam", {})
    assert not first.cached and first.map.shape == (1, SIDE, SIDE)
    assert len(explorer.top_classes) == 3 and explorer.top_classes[0] == first.target
    explorer.prefetch("gradcam", {})
    assert calls == [(None, "gradcam", None), (explorer.top_classes[1:], "gradcam", None)]
    calls.clear()
    for target in explorer.top_classes:
        assert explorer.show(target, "gradcam", {}).cached
    assert calls == []
    with torch.no_grad():
        tiny.head.bias.add_(1.0)
    assert not explorer.show(first.target, "gradcam", {}).cached  # new weights, new maps


def test_explorer_follows_training_on_a_mirror(tiny) -> None:
    explorer = Explorer(tiny, labels=LABELS)
    explorer.set_input(tiny_input().unsqueeze(0))
    explorer.show(None, "gradient", {})
    explorer.follow_training()
    assert explorer.model is not tiny
    assert explorer.method("gradient", {}).model is explorer.model
    with torch.no_grad():
        tiny.head.bias.add_(1.0)  # the live model changes; the mirror waits for the next copy
    assert explorer.show(3, "gradient", {}).map.shape == (3, SIDE, SIDE)


def test_iterative_methods_are_not_prefetched(widget, calls) -> None:
    widget.method = "smoothgrad"
    widget.method_options = {"samples": 2}
    assert [name for _, name, _ in calls] == ["smoothgrad", "smoothgrad"]  # defaults, then 2
    assert all(not isinstance(target, list) for target, _, _ in calls)


def test_in_a_kernel_prefetching_yields_to_a_new_request(tiny, calls, monkeypatch) -> None:
    """In a kernel the prefetch runs one class at a time, each piece scheduled on the kernel's
    event loop, so a request that arrives before a piece is answered first; a newer map's
    prefetch replaces the older one's remaining pieces."""

    loop = KernelLoop()
    monkeypatch.setattr(widget_base, "kernel_loop", lambda: loop)
    shown = SaliencyWidget(tiny, tiny_input(), labels=LABELS, top_k=4)
    assert calls == [(None, "gradient", None)] and len(loop.pending) == 1
    top = [p["index"] for p in shown.predictions]
    loop.turn()  # the first piece: one class
    assert calls[1:] == [([top[1]], "gradient", None)]
    outside = next(i for i in range(10) if i not in top)
    shown.target = outside  # a click, answered at once, before the next piece
    assert calls[2] == (outside, "gradient", None)
    while loop.pending:
        loop.turn()
    assert calls[3:] == [([c], "gradient", None) for c in top[2:]]  # the rest, one a piece


def test_outside_a_kernel_the_prefetch_is_one_call(tiny, calls) -> None:
    assert widget_base.kernel_loop() is None
    shown = SaliencyWidget(tiny, tiny_input(), labels=LABELS, top_k=4)
    top = [p["index"] for p in shown.predictions]
    assert calls == [(None, "gradient", None), (top[1:], "gradient", None)]


def test_a_gelu_classifier_from_torchvision_gets_the_guided_methods_greyed_out() -> None:
    """ConvNeXt uses GELU throughout: no rectifier, so guided backprop cannot run there."""
    torch.manual_seed(0)
    model = torchvision.models.convnext_tiny(weights=None, num_classes=10).eval()
    shown = SaliencyWidget(model, torch.randn(3, 64, 64), labels=LABELS)
    specs = {spec["name"]: spec for spec in shown.method_specs}
    assert "needs rectifiers" in specs["guided_backprop"]["unavailable"]
    assert "needs rectifiers" in specs["guided_gradcam"]["unavailable"]
    assert specs["gradcam"]["unavailable"] == "" and shown.error == ""
    shown.method = "gradcam"
    assert shown.error == "" and shown.attributions.shape == (1, 64, 64)
