"""SaliencyWidget without a browser: traits, caching, prefetch, refusals, errors, the JS bundle."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
import torchvision
import traitlets
from PIL import Image
from torch import nn

from flashwidget import models
from flashwidget.colormaps import colormap_lut
from flashwidget.methods import AttributionMethod
from flashwidget.pixels import channel_map, clip_scale, gradient_rgb, map_levels, saliency_levels
from flashwidget.saliency import Backprop
from flashwidget.utils import denormalize
from flashwidget.widget import SaliencyWidget, demo
from flashwidget.widget_base import REFUSED

ROOT = Path(__file__).resolve().parent.parent
SIDE = 32
LABELS = [f"thing {i}" for i in range(10)]
EXPECTED_TOP5 = ["mortarboard", "academic gown", "military uniform", "bow tie", "Windsor tie"]


class Tiny(nn.Module):
    """A small classifier that makes each map cost about a millisecond.

    ``fail`` makes its forward raise, to play a broken model that can be repaired.
    """

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten()
        )
        self.head = nn.Linear(8 * 16, classes)
        self.fail = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fail:
            raise RuntimeError("the model is broken on purpose")
        return self.head(self.features(x))


def tiny_input(seed: int = 0) -> torch.Tensor:
    return torch.randn(3, SIDE, SIDE, generator=torch.Generator().manual_seed(seed))


@pytest.fixture
def tiny() -> Tiny:
    torch.manual_seed(0)
    return Tiny().eval()


@pytest.fixture
def engine_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, str]]:
    """Every call of an attribution method, as (target, method name)."""
    calls: list[tuple[object, str]] = []
    original = AttributionMethod.explain

    def counted(self, inputs, target=None, **options):
        calls.append((target, self.name))
        return original(self, inputs, target, **options)

    monkeypatch.setattr(AttributionMethod, "explain", counted)
    return calls


@pytest.fixture
def widget(tiny: Tiny, engine_calls) -> SaliencyWidget:
    made = SaliencyWidget(tiny, tiny_input(), labels=LABELS, top_k=3)
    engine_calls.clear()
    return made


def expected_map(gradients: torch.Tensor, take_max: bool = True) -> bytes:
    return channel_map(gradients, take_max).astype("<f4").tobytes()


def from_browser(widget: SaliencyWidget, **state) -> None:
    """Deliver a state update the way the kernel's comm does.

    ipywidgets' handler catches any exception and only logs it, so a logged warning counts as
    the exception it stands for.
    """
    message = {"method": "update", "state": state, "buffer_paths": []}
    with mock.patch.object(widget.log, "warning", side_effect=AssertionError("handler raised")):
        widget._handle_msg({"content": {"data": message}, "buffers": []})


# The default model ----------------------------------------------------------------------------


def test_demo_has_the_defaults() -> None:
    shown = demo()
    assert isinstance(shown, SaliencyWidget)
    assert [p["label"] for p in shown.predictions] == EXPECTED_TOP5
    assert shown.target == 667 == shown.predictions[0]["index"]
    assert shown.predictions[0]["probability"] == pytest.approx(0.24, abs=0.01)
    assert len(shown.labels) == 1000 and shown.labels[667] == "mortarboard"
    assert (shown.method, shown.method_options, shown.take_max) == ("gradient", {}, True)
    assert (shown.sign, shown.clip_percentile, shown.alpha) == ("absolute", 99.5, 0.5)
    assert (shown.colormap, shown.view, shown.error) == ("viridis", "overlay", "")
    assert "viridis" in shown.colormap_names
    assert shown.lut_bytes == colormap_lut("viridis").tobytes()
    assert shown.image_shape == shown.map_shape == [224, 224]
    assert len(shown.image_bytes) == 224 * 224 * 4 and len(shown.map_values) == 224 * 224 * 4
    assert shown.gradient_rgb_bytes == b""  # only the panels view needs it
    assert "mortarboard" in shown.status and shown.compute_ms > 0
    assert shown.gradients.shape == (3, 224, 224)


def test_gradients_are_the_engines(default_model: nn.Module, sample_input: torch.Tensor) -> None:
    shown = SaliencyWidget(default_model, sample_input, labels=models.imagenet_labels())
    backprop = Backprop(default_model)
    for target, guided in [(667, False), (400, True), (1, False)]:
        shown.target, shown.method = target, "guided_backprop" if guided else "gradient"
        expected = backprop.calculate_gradients(sample_input, target, guided=guided)
        torch.testing.assert_close(shown.gradients, expected, rtol=1e-4, atol=1e-7)
        assert shown.map_values == expected_map(expected)


# Recomputing, and not recomputing ---------------------------------------------------------------


def test_target_and_method_recompute_the_map(widget: SaliencyWidget, engine_calls, tiny) -> None:
    predictions, first_map = widget.predictions, widget.map_values
    outside = next(i for i in range(10) if i not in {p["index"] for p in predictions})
    widget.target = outside
    assert engine_calls == [(outside, "gradient")]
    assert widget.map_values != first_map and widget.predictions == predictions
    assert widget.map_values == expected_map(
        Backprop(tiny).calculate_gradients(tiny_input(), outside)
    )
    engine_calls.clear()
    widget.method = "guided_backprop"
    assert engine_calls[0] == (outside, "guided_backprop")
    guided = Backprop(tiny).calculate_gradients(tiny_input(), outside, guided=True)
    torch.testing.assert_close(widget.gradients, guided)
    assert widget.predictions == predictions


def test_look_changes_never_call_the_engine(widget: SaliencyWidget, engine_calls) -> None:
    widget.alpha = 0.9
    widget.colormap = "magma"
    assert widget.lut_bytes == colormap_lut("magma").tobytes()
    widget.view = "panels"
    assert widget.gradient_rgb_bytes == gradient_rgb(widget.gradients)
    assert len(widget.gradient_rgb_bytes) == SIDE * SIDE * 3
    widget.view = "overlay"
    assert widget.gradient_rgb_bytes == b""
    assert engine_calls == []


def test_take_max_reduces_the_cached_gradients(widget: SaliencyWidget, engine_calls) -> None:
    widget.take_max = False
    assert widget.map_values == expected_map(widget.gradients, take_max=False)
    widget.take_max = True
    assert widget.map_values == expected_map(widget.gradients, take_max=True)
    assert engine_calls == []
    assert "from cache" in widget.status


def test_panels_follow_the_map(widget: SaliencyWidget) -> None:
    widget.view = "panels"
    widget.target = 9
    assert widget.gradient_rgb_bytes == gradient_rgb(widget.gradients)


# Cache and prefetch -----------------------------------------------------------------------------


def test_returning_to_a_target_hits_the_cache(widget: SaliencyWidget, engine_calls) -> None:
    top = {p["index"] for p in widget.predictions}
    a, b = [i for i in range(10) if i not in top][:2]
    widget.target = a
    map_a = widget.map_values
    widget.target = b
    engine_calls.clear()
    widget.target = a
    assert engine_calls == [] and widget.map_values == map_a
    assert "from cache" in widget.status


def test_prefetch_makes_the_predictions_cache_hits(tiny: Tiny, engine_calls) -> None:
    shown = SaliencyWidget(tiny, tiny_input(), labels=LABELS, top_k=5)
    top = [p["index"] for p in shown.predictions]
    assert len(top) == 5
    # one call for the first map, one call (a single forward pass) for the other four
    assert engine_calls == [(None, "gradient"), (top[1:], "gradient")]
    expected = {i: expected_map(Backprop(tiny).calculate_gradients(tiny_input(), i)) for i in top}
    engine_calls.clear()
    for index in [*top, top[0]]:
        shown.target = index
        assert shown.map_values == expected[index]
    assert engine_calls == []
    shown.method = "guided_backprop"  # the first guided map, then the other four in one call
    assert engine_calls == [(top[0], "guided_backprop"), (top[1:], "guided_backprop")]
    engine_calls.clear()
    for index in top:
        shown.target = index
    assert engine_calls == []


def test_cache_is_bounded(tiny: Tiny, engine_calls) -> None:
    shown = SaliencyWidget(tiny, tiny_input(), labels=LABELS, top_k=1, cache_size=2)
    a, b = [i for i in range(10) if i != shown.target][:2]
    shown.target = a
    shown.target = b  # evicts the top class's map, which the prefetch then brings back
    engine_calls.clear()
    shown.target = a  # evicted
    assert engine_calls == [(a, "gradient")]


def test_a_failed_prefetch_keeps_the_map(tiny: Tiny, monkeypatch) -> None:
    original = AttributionMethod.explain

    def no_lists(self, inputs, target=None, **options):
        if isinstance(target, list):
            raise MemoryError("no room for the prefetch")
        return original(self, inputs, target, **options)

    monkeypatch.setattr(AttributionMethod, "explain", no_lists)
    shown = SaliencyWidget(tiny, tiny_input(), labels=LABELS)
    assert "prefetching failed: MemoryError" in shown.status
    assert shown.error == "" and shown.map_shape == [SIDE, SIDE]


def test_refresh_recomputes(widget: SaliencyWidget, engine_calls) -> None:
    widget.refresh()
    assert engine_calls[0] == (widget.target, "gradient")


def test_an_in_place_weight_change_empties_the_cache(widget, engine_calls, tiny) -> None:
    before = widget.map_values
    with torch.no_grad():
        tiny.features[0].weight.mul_(-3.0)
        tiny.features[0].weight[0].zero_()
    widget.take_max = False  # would be a cache hit with the old weights
    widget.take_max = True
    assert engine_calls, "the engine was not called after the weights changed"
    assert widget.map_values != before
    torch.testing.assert_close(
        widget.gradients, Backprop(tiny).calculate_gradients(tiny_input(), widget.target)
    )


def test_a_replaced_layer_empties_the_cache(widget, engine_calls, tiny) -> None:
    tiny.head = nn.Linear(8 * 16, 10)
    widget.target = widget.target  # no change, so nothing happens ...
    assert engine_calls == []
    widget.take_max = False  # ... until the next request
    assert engine_calls


def test_the_model_is_left_as_it_was(tiny: Tiny) -> None:
    tiny.train()
    SaliencyWidget(tiny, tiny_input(), labels=LABELS).method = "guided_backprop"
    assert tiny.training and all(p.grad is None for p in tiny.parameters())


def test_requests_are_served_in_order(widget: SaliencyWidget, tiny: Tiny) -> None:
    """Maps are computed synchronously, so the last request is the map shown."""
    for target in (7, 2, 5):
        from_browser(widget, target=target)
    assert widget.target == 5
    torch.testing.assert_close(
        widget.gradients, Backprop(tiny).calculate_gradients(tiny_input(), 5)
    )


# Bad values from the browser --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "phrase"),
    [
        ({"target": 5000}, "out of range"),
        ({"target": -1}, "out of range"),
        ({"target": "abc"}, "no class matches 'abc'"),
        ({"target": 2.5}, "expected an int"),
        ({"alpha": float("nan")}, "alpha must be a finite number"),
        ({"clip_percentile": float("nan")}, "clip_percentile must be a finite number"),
        ({"target": True}, "class index"),
        ({"colormap": "nope"}, "unknown colormap"),
        ({"alpha": 2.0}, "alpha"),
        ({"view": "sideways"}, "view"),
        ({"method": "lime"}, "unknown attribution method 'lime'"),
        ({"method_options": {"steps": 5}}, "gradient has no option steps"),
        ({"method": "integrated_gradients", "method_options": {"steps": 0}}, "between 1 and"),
        ({"method": "smoothgrad", "method_options": {"noise": "x"}}, "noise must be a number"),
        ({"method": "gradcam", "method_options": {"layer": 3}}, "layer must be a layer name"),
        ({"take_max": "maybe"}, "take_max"),
        ({"sign": "both"}, "sign"),
        ({"clip_percentile": 20.0}, "clip_percentile"),
        ({"compare": "sideways"}, "compare"),
        ({"compare_method": "lime"}, "unknown attribution method"),
        ({"compare_target": 10}, "out of range"),
        ({"predictions": []}, "can only be set by Python"),
        ({"map_values": b"x"}, "can only be set by Python"),
        ({"target": 3, "colormap": "nope"}, "unknown colormap"),
    ],
)
def test_bad_values_from_the_browser_are_refused(
    widget: SaliencyWidget, engine_calls, monkeypatch, state, phrase
) -> None:
    resent: list[object] = []
    send_state = widget.send_state

    def record(key=None):
        if isinstance(key, list):  # an explicit resend, not a trait change's own update
            resent.append(key)
        send_state(key)

    monkeypatch.setattr(widget, "send_state", record)
    before = {name: getattr(widget, name) for name in state}
    from_browser(widget, **state)
    assert widget.status.startswith(REFUSED) and phrase in widget.status
    assert {name: getattr(widget, name) for name in state} == before  # all rolled back
    assert resent == [sorted(state)]  # the browser is told the values it must show
    assert engine_calls == []
    widget.target = 9  # still working
    assert "thing 9" in widget.status and widget.error == ""


def test_set_state_refuses_without_raising(widget: SaliencyWidget) -> None:
    widget.set_state({"target": 5000})
    assert "out of range" in widget.status and widget.target != 5000


def test_a_good_change_clears_a_refusal(widget: SaliencyWidget) -> None:
    shown = widget.status
    from_browser(widget, colormap="nope")
    from_browser(widget, alpha=0.25)
    assert widget.alpha == 0.25 and widget.status == shown


def test_python_assignments_are_checked_loudly(widget: SaliencyWidget) -> None:
    with pytest.raises(traitlets.TraitError, match="out of range"):
        widget.target = 10
    with pytest.raises(traitlets.TraitError, match="unknown colormap"):
        widget.colormap = "nope"
    with pytest.raises(traitlets.TraitError, match="read-only"):
        widget.status = "hello"


# Errors -----------------------------------------------------------------------------------------


def test_a_failing_model_shows_the_error_and_recovers(tiny: Tiny) -> None:
    tiny.fail = True
    shown = SaliencyWidget(tiny, tiny_input(), labels=LABELS)
    assert "broken on purpose" in shown.error and shown.status.startswith("Error")
    assert shown.map_values == b"" and shown.map_shape == []
    with pytest.raises(RuntimeError, match="broken on purpose"):
        _ = shown.gradients
    from_browser(shown, target=4)  # fails again, without raising
    assert "broken on purpose" in shown.error
    tiny.fail = False  # not a tensor: the widget's copy learns of it from refresh()
    shown.refresh()
    shown.target = 6
    assert shown.error == "" and shown.map_shape == [SIDE, SIDE] and "thing 6" in shown.status


def test_a_failing_model_recovers_with_a_new_image(tiny: Tiny) -> None:
    tiny.fail = True
    shown = SaliencyWidget(tiny, tiny_input(), labels=LABELS)
    tiny.fail = False
    shown.refresh()
    shown.set_image(tiny_input(1))
    assert shown.error == "" and shown.predictions and shown.target == shown.predictions[0]["index"]


def test_a_model_that_fails_on_an_input_size(engine_calls) -> None:
    rigid = nn.Sequential(nn.Flatten(), nn.Linear(3 * SIDE * SIDE, 10))
    shown = SaliencyWidget(rigid, tiny_input(), labels=LABELS)
    shown.set_image(torch.zeros(3, 8, 8))
    assert "failed on an input of shape (1, 3, 8, 8)" in shown.error
    assert shown.image_shape == [8, 8] and shown.map_values == b""
    shown.set_image(tiny_input(2))
    assert shown.error == "" and shown.map_shape == [SIDE, SIDE]


def test_an_unreadable_image_raises_and_keeps_the_previous_one(widget, tmp_path) -> None:
    image, map_ = widget.image_bytes, widget.map_values
    with pytest.raises(FileNotFoundError):
        widget.set_image(tmp_path / "missing.png")
    assert "missing.png" in widget.error and widget.status.startswith("Error")
    assert (widget.image_bytes, widget.map_values) == (image, map_)
    with pytest.raises(ValueError, match="one image"):
        widget.set_image(torch.zeros(2, 3, SIDE, SIDE))
    widget.target = 2
    assert widget.error == ""


def test_non_finite_gradients_are_reported(tiny: Tiny) -> None:
    with torch.no_grad():
        tiny.head.weight[0, 0] = float("nan")
    shown = SaliencyWidget(tiny, tiny_input(), labels=LABELS)
    assert "NaN" in shown.error


# Images, transforms and labels ------------------------------------------------------------------


def test_set_image_with_a_path(widget: SaliencyWidget, tmp_path: Path) -> None:
    path = tmp_path / "red.png"
    Image.new("RGB", (48, 40), (255, 0, 0)).save(path)
    shown = SaliencyWidget(Tiny(), path, labels=LABELS, transform=models.default_transform(SIDE))
    pixels = np.frombuffer(shown.image_bytes, np.uint8).reshape(SIDE, SIDE, 4)
    assert (pixels == [255, 0, 0, 255]).all()
    widget.set_image(str(path))  # through the default transform: resized and cropped to 224
    assert widget.image_shape == widget.map_shape == [224, 224] and widget.error == ""


def test_set_image_with_tensors(widget: SaliencyWidget, tiny: Tiny, engine_calls) -> None:
    for tensor in (tiny_input(3), tiny_input(3).unsqueeze(0)):
        widget.set_image(tensor, target=4)
        assert widget.target == 4
        torch.testing.assert_close(
            widget.gradients, Backprop(tiny).calculate_gradients(tiny_input(3), 4)
        )
    shown = (denormalize(tiny_input(3)).clamp(0, 1) * 255).round().to(torch.uint8)
    pixels = np.frombuffer(widget.image_bytes, np.uint8).reshape(SIDE, SIDE, 4)
    assert (pixels[..., :3] == shown.permute(1, 2, 0).numpy()).all() and (
        pixels[..., 3] == 255
    ).all()
    widget.set_image(tiny_input(4))  # a new image explains its own top prediction
    assert widget.target == widget.predictions[0]["index"]


def test_a_target_by_name(tiny: Tiny) -> None:
    shown = SaliencyWidget(tiny, tiny_input(), labels=LABELS, target="thing 7")
    assert shown.target == 7


def test_torchvision_weights_give_transform_and_labels() -> None:
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    model = Tiny(classes=1000)
    for shown in (
        SaliencyWidget(model, weights=weights),
        SaliencyWidget(model, transform=weights),
    ):
        assert shown.labels == list(weights.meta["categories"])
        assert shown.image_shape == [224, 224] and shown.error == ""
    with pytest.raises(TypeError, match="not both"):
        SaliencyWidget(model, weights=weights, transform=weights)


def test_the_normalisation_is_read_from_a_compose() -> None:
    transform = torchvision.transforms.Compose(
        [
            torchvision.transforms.Resize((SIDE, SIDE)),
            torchvision.transforms.ToTensor(),
            torchvision.transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ]
    )
    grey = Image.new("RGB", (40, 40), (51, 102, 204))
    shown = SaliencyWidget(Tiny(), grey, labels=LABELS, transform=transform)
    pixels = np.frombuffer(shown.image_bytes, np.uint8).reshape(SIDE, SIDE, 4)
    assert (pixels == [51, 102, 204, 255]).all()


def test_labels_when_none_are_given() -> None:
    assert SaliencyWidget(Tiny(), tiny_input()).labels == [f"class {i}" for i in range(10)]
    assert SaliencyWidget(Tiny(1000), tiny_input()).labels == models.imagenet_labels()


def test_levels_clip_at_a_nearest_rank_percentile() -> None:
    values = np.ones((20, 20), dtype=np.float32)
    values[0, 0] = 1000.0  # one outlier in 400 pixels must not darken the rest
    levels = saliency_levels(values, "absolute", 99.5)
    assert (levels == 255).all()
    ramp = np.arange(1.0, 201.0).reshape(10, 20)
    assert clip_scale([ramp], "absolute", 99.5) == 199.0  # rank ceil(0.995 * 200) = 199
    assert clip_scale([ramp], "absolute", 100.0) == 200.0
    assert clip_scale([ramp, ramp * 2], "absolute", 100.0) == 400.0  # one scale for both
    assert (saliency_levels(np.zeros((4, 4)), "absolute") == 0).all()
    sparse = np.zeros((20, 20))
    sparse[0, 0] = -2.0  # the percentile is 0: the maximum scales instead
    assert saliency_levels(sparse, "absolute")[0, 0] == 255
    assert saliency_levels(sparse, "positive")[0, 0] == 0
    assert saliency_levels(sparse, "negative")[0, 0] == 255


def test_signs_and_the_diverging_scale() -> None:
    values = np.array([[-4.0, -2.0, 0.0, 2.0, 4.0]])
    assert map_levels(values, "all", 4.0).tolist() == [[0, 64, 128, 192, 255]]
    assert map_levels(values, "positive", 4.0).tolist() == [[0, 0, 0, 128, 255]]
    assert map_levels(values, "negative", 4.0).tolist() == [[255, 128, 0, 0, 0]]
    assert map_levels(values, "absolute", 2.0).tolist() == [[255, 255, 0, 255, 255]]
    with pytest.raises(ValueError, match="sign must be one of"):
        map_levels(values, "both", 1.0)


def test_channel_map_keeps_the_sign_of_the_sum() -> None:
    maps = torch.tensor([[[1.0, -3.0]], [[-2.0, 1.0]], [[0.5, 0.5]]])
    assert channel_map(maps, take_max=False).tolist() == [[-0.5, -1.5]]
    assert channel_map(maps, take_max=True).tolist() == [[2.0, 3.0]]
    with pytest.raises(ValueError, match="NaN"):
        channel_map(maps * float("nan"), take_max=True)


DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


@pytest.mark.parametrize("device", DEVICES)
def test_maps_are_computed_on_the_models_device(tiny: Tiny, device: str) -> None:
    tiny.to(device)
    shown = SaliencyWidget(tiny, tiny_input(), labels=LABELS)
    assert shown.gradients.device.type == device and shown.error == ""
    torch.testing.assert_close(
        shown.gradients, Backprop(tiny).calculate_gradients(tiny_input(), shown.target)
    )
    assert next(tiny.parameters()).device.type == device


# The front end ----------------------------------------------------------------------------------


def test_static_bundle_is_fresh() -> None:
    spec = importlib.util.spec_from_file_location("js_build", ROOT / "js" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    shipped = (ROOT / "flashwidget" / "static" / "widget.js").read_text()
    assert shipped == build.bundle(), (
        "flashwidget/static/widget.js is stale: run python js/build.py"
    )


def test_static_bundle_is_one_es_module(tmp_path: Path) -> None:
    bundle = tmp_path / "widget.mjs"
    shutil.copy(ROOT / "flashwidget" / "static" / "widget.js", bundle)
    subprocess.run(["node", "--check", str(bundle)], check=True, capture_output=True)
    assert "from " not in "".join(
        line for line in bundle.read_text().splitlines() if line.startswith("import")
    )


def test_css_is_scoped_under_one_class() -> None:
    css = (ROOT / "flashwidget" / "static" / "widget.css").read_text()
    rules = [block.split("{")[0] for block in css.split("}") if "{" in block]
    selectors = [s.strip() for rule in rules for s in rule.split("*/")[-1].split(",")]
    assert selectors and all(s.startswith(".flashwidget") for s in selectors), selectors


def test_unknown_keyword_arguments_are_refused_with_close_matches(tiny: Tiny) -> None:
    with pytest.raises(TypeError, match=r"'colormp' \(did you mean colormap"):
        SaliencyWidget(tiny, tiny_input(), labels=LABELS, colormp="magma")
    with pytest.raises(TypeError, match="'guidd'"):
        SaliencyWidget(tiny, tiny_input(), labels=LABELS, guidd=True)
    with pytest.raises(TypeError, match=r"'methd' \(did you mean method"):
        SaliencyWidget(tiny, tiny_input(), labels=LABELS, methd="gradcam")
    with pytest.raises(TypeError, match="'status'"):  # read-only: not settable either
        SaliencyWidget(tiny, tiny_input(), labels=LABELS, status="x")
    shown = SaliencyWidget(tiny, tiny_input(), labels=LABELS, method="gradcam", alpha=0.3)
    assert (shown.method, shown.alpha) == ("gradcam", 0.3)


def test_classes_can_be_set_by_name_from_python(widget: SaliencyWidget) -> None:
    widget.target = "thing 7"
    assert widget.target == 7 and "thing 7 (class 7)" in widget.status
    widget.compare_target = "thing 2"
    assert widget.compare_target == 2
    with pytest.raises(traitlets.TraitError, match="no class matches 'nothing'"):
        widget.target = "nothing"


def test_nan_alpha_is_refused_from_python(widget: SaliencyWidget) -> None:
    with pytest.raises(traitlets.TraitError, match="finite"):
        widget.alpha = float("nan")
    assert widget.alpha == 0.5


def test_a_message_with_a_read_only_trait_is_refused_whole(widget: SaliencyWidget) -> None:
    target = widget.target
    other = next(i for i in range(10) if i != target)
    from_browser(widget, target=other, status="x")
    assert widget.target == target, "the writable part must not be applied either"
    assert widget.status == REFUSED + "status can only be set by Python"


def test_labels_that_do_not_match_the_outputs_are_refused(tiny: Tiny) -> None:
    with pytest.raises(ValueError, match="labels has 12 names but the model has 10 outputs"):
        SaliencyWidget(tiny, tiny_input(), labels=[*LABELS, "extra 1", "extra 2"])
    shown = SaliencyWidget(tiny, tiny_input())  # no labels: the outputs decide
    with pytest.raises(traitlets.TraitError, match="out of range"):
        shown.target = 10


def test_a_binary_classifier_shows_both_outcomes() -> None:
    torch.manual_seed(0)
    one_logit = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(1))
    one_logit(tiny_input().unsqueeze(0))
    shown = SaliencyWidget(one_logit.eval(), tiny_input(), labels=["cat"])
    with torch.no_grad():
        logit = float(one_logit(tiny_input().unsqueeze(0))[0, 0])
    (yes, no) = shown.predictions
    assert yes["label"] == "cat" and no["label"] == "not cat"
    assert yes["probability"] == pytest.approx(1 / (1 + np.exp(-logit)))
    assert yes["probability"] + no["probability"] == pytest.approx(1.0)
    assert 0 < yes["probability"] < 1 and shown.error == ""
