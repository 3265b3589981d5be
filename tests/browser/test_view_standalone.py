"""The bundled view, flashwidget/static/widget.js, in real headless Chromium, without Jupyter.

The Jupyter tests (test_jupyter.py) prove the whole chain but take a server, a kernel and
minutes; this module checks the view itself in a couple of seconds, so that it can afford to be
exhaustive. The page (view_harness.py, shared with the other views' standalone tests) imports
the shipped bundle from a Blob URL, as anywidget does, and calls its ``render({model, el})``
with a fake model in JavaScript that behaves like anywidget's: ``get``/``set``/``save_changes``/
``on``/``off``, change events fired after a batch of values is in place (as Backbone does), and
binary traits delivered as DataViews into a larger, poisoned buffer, so that a view ignoring
``byteOffset`` reads garbage. The fake records every ``set``/``save_changes`` with a timestamp
and counts ``on``/``off``, which is how the tests see what would reach Python.

Every trait value comes from a real ``SaliencyWidget`` on a tiny classifier, and every expected
pixel is computed here with flashwidget's own functions (``colormap_lut``, ``channel_map``,
``clip_scale``, ``map_levels``, ``gradient_rgb``), so a disagreement between the Python and
JavaScript halves fails a test.

Debian's chromium is required: a missing or broken one fails these tests, never skips them.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError
from torch import nn
from view_harness import STATIC, calls, mount, receive, view_page_for

from flashwidget.colormaps import colormap_lut
from flashwidget.pixels import channel_map, clip_scale, gradient_rgb, map_levels, saliency_levels
from flashwidget.widget import SaliencyWidget
from flashwidget.widget_base import ExplorerWidget

# The view's constants (js/view.js), restated so that a change to them is a visible decision.
OVERLAY_SIDE = 448
PANEL_SIDE = 224
ALPHA_SEND_MS = 150
GAP = 8
PANEL_CAPTIONS = ["Input image", "Map across RGB channels", "Max |value| over channels", "Overlay"]
COMPARE_SIDE = 448

LABELS = ["airplane", "automobile", "bird", "cat", "deer"]
LABELS += ["dog", "frog", "horse", "ship", "truck"]
LANDSCAPE = (24, 32)  # (height, width): the width is the longer side
PORTRAIT = (32, 20)
# Where inside a source pixel to sample the enlarged canvas: its centre, and just inside two
# opposite corners, where smoothing would have blended in the neighbours' colours.
CENTRE = 0.5
EDGES = (0.02, 0.98)

OVERLAY = ".flashwidget .fw-overlay"
FIGURES = ".flashwidget .fw-stage figure"


def panel(index: int) -> str:
    """Selector of the canvas of panel ``index`` (0-based) in the four-panel view."""
    return f"{FIGURES}:nth-of-type({index + 1}) canvas"


# The page ---------------------------------------------------------------------------------------

# What this view's tests add to the fake model's page (view_harness.py).
VIEW_JS = r"""
// Move a slider as a hand does: one input event at a time, `pauseMs` apart; what the canvas
// shows right after each event (before any animation frame) is sampled.
window.slide = async (slider, values, pauseMs, width, height) => {
  const drawn = [];
  const times = [];
  for (const value of values) {
    slider.value = String(value);
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    times.push(performance.now());
    drawn.push(window.sample(".flashwidget .fw-overlay", width, height, 0.5));
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  return { drawn, times };
};
"""


@pytest.fixture
def view_page(browser: Browser) -> Iterator[Page]:
    """A page at device scale factor 1: one canvas pixel per CSS pixel."""
    with view_page_for(browser, STATIC / "widget.js", extra_js=VIEW_JS) as page:
        yield page


@pytest.fixture
def hidpi_page(browser: Browser) -> Iterator[Page]:
    """A page at device scale factor 2, as on a high-DPI screen."""
    with view_page_for(browser, STATIC / "widget.js", scale=2, extra_js=VIEW_JS) as page:
        yield page


# Trait values and expected pixels, from Python ----------------------------------------------


@dataclass(frozen=True)
class Scene:
    """A real widget's synced traits and the pixels the view must draw from them."""

    overlay_state: dict[str, Any]  # every synced trait, overlay view
    panels_state: dict[str, Any]  # the same in the four-panel view (RGB gradients included)
    image: np.ndarray  # (H, W, 4) uint8: image_bytes
    values: np.ndarray  # (H, W) float32: channel_map(gradients, take_max=True), map_values
    sum_values: np.ndarray  # (H, W) float32: channel_map(gradients, take_max=False)
    levels: np.ndarray  # (H, W) uint8: the values' levels, sign "absolute", clip 99.5
    sum_levels: np.ndarray  # (H, W) uint8: the same for sum_values
    gradients_rgba: np.ndarray  # (H, W, 4) uint8: gradient_rgb(gradients), made opaque

    @property
    def height(self) -> int:
        return self.image.shape[0]

    @property
    def width(self) -> int:
        return self.image.shape[1]

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def target(self) -> int:
        return self.overlay_state["target"]

    def colours(self, colormap: str = "viridis", levels: np.ndarray | None = None) -> np.ndarray:
        """The colourised map: what the browser's table lookup must produce."""
        return colormap_lut(colormap)[self.levels if levels is None else levels]


def tiny_classifier() -> nn.Module:
    """Conv, ReLU, pooling and a linear head: a real gradient map in a millisecond."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(8 * 16, len(LABELS)),
    ).eval()


def synced_traits(widget: SaliencyWidget) -> dict[str, Any]:
    """The values of the widget's own synced traits: what anywidget would deliver."""
    own = {
        **ExplorerWidget.class_own_traits(sync=True),
        **SaliencyWidget.class_own_traits(sync=True),
    }
    return {name: getattr(widget, name) for name in own}


@functools.cache
def build_scene(height: int, width: int) -> Scene:
    """Run the real widget on a random (3, height, width) input and keep what it sends."""
    image = torch.randn(3, height, width, generator=torch.Generator().manual_seed(1))
    widget = SaliencyWidget(tiny_classifier(), image, labels=LABELS)
    try:
        overlay_state = synced_traits(widget)
        widget.view = "panels"
        panels_state = synced_traits(widget)
        gradients = widget.gradients
    finally:
        widget.close()
    values = channel_map(gradients, take_max=True)
    sum_values = channel_map(gradients, take_max=False)
    # Precondition: the trait the view colours is what pixels.channel_map computes.
    assert overlay_state["map_values"] == values.astype("<f4").tobytes()
    assert overlay_state["lut_bytes"] == colormap_lut("viridis").tobytes()
    rgb = np.frombuffer(gradient_rgb(gradients), dtype=np.uint8).reshape(height, width, 3)
    opaque = np.full((height, width, 1), 255, dtype=np.uint8)
    return Scene(
        overlay_state=overlay_state,
        panels_state=panels_state,
        image=np.frombuffer(overlay_state["image_bytes"], dtype=np.uint8).reshape(height, width, 4),
        values=values,
        sum_values=sum_values,
        levels=saliency_levels(values),
        sum_levels=saliency_levels(sum_values),
        gradients_rgba=np.concatenate([rgb, opaque], axis=2),
    )


@pytest.fixture(scope="module")
def scene() -> Scene:
    return build_scene(*LANDSCAPE)


def blend(image: np.ndarray, colours: np.ndarray, alpha: float) -> np.ndarray:
    """(1 - alpha) * image + alpha * map, as floats: the reference for a composite."""
    return (1 - alpha) * image.astype(np.float64) + alpha * colours.astype(np.float64)


def assert_close(actual: np.ndarray, expected: np.ndarray, tolerance: float = 1.0) -> None:
    difference = np.abs(actual.astype(np.float64) - expected)
    assert difference.max() <= tolerance, f"off by up to {difference.max()} (> {tolerance})"


# Driving the page ---------------------------------------------------------------------------


def timed_sets(page: Page, name: str) -> list[tuple[float, Any]]:
    """(time in ms, value) of each ``model.set(name, ...)``."""
    recorded = page.evaluate("() => model.calls")
    return [(c["t"], c["value"]) for c in recorded if c["op"] == "set" and c["name"] == name]


def forget_calls(page: Page) -> None:
    page.evaluate("() => { model.calls = []; }")


def assert_sends(page: Page, action: Callable[[], None], name: str, value: Any) -> None:
    """``action`` makes the view set exactly ``name`` to ``value`` (same type) and save."""
    forget_calls(page)
    action()
    sent = calls(page)
    assert sent == [("set", name, value), ("save_changes", None, None)]
    assert type(sent[0][2]) is type(value), f"{name} sent as {type(sent[0][2]).__name__}"


def canvas_pixels(
    page: Page, selector: str, height: int, width: int, fraction: float = CENTRE
) -> np.ndarray:
    """(height, width, 4): the canvas sampled at one point of each source pixel."""
    flat = page.evaluate(
        "([selector, width, height, fraction]) => sample(selector, width, height, fraction)",
        [selector, width, height, fraction],
    )
    return np.array(flat, dtype=np.uint8).reshape(height, width, 4)


def assert_pixels_exact(page: Page, selector: str, expected: np.ndarray) -> None:
    """Every source pixel, at its centre and near two corners, is exactly ``expected``."""
    height, width = expected.shape[:2]
    for fraction in (CENTRE, *EDGES):
        drawn = canvas_pixels(page, selector, height, width, fraction)
        wrong = np.argwhere((drawn != expected).any(axis=2))
        assert len(wrong) == 0, (
            f"{len(wrong)} of {height * width} pixels differ at fraction {fraction}; "
            f"first (y, x) = {tuple(wrong[0])}: {drawn[tuple(wrong[0])]} != "
            f"{expected[tuple(wrong[0])]}"
        )


def canvas_box(page: Page, selector: str) -> dict[str, float]:
    """CSS size (cssWidth, cssHeight) and backing size (width, height) of a canvas."""
    return page.evaluate("(selector) => box(selector)", selector)


def assert_canvas_size(
    page: Page, selector: str, side: int, shape: tuple[int, int], ratio: int = 1
) -> None:
    """The picture's longer side is ``side`` CSS pixels, its aspect ratio kept, and the canvas
    holds ``ratio`` backing pixels per CSS pixel (the device pixel ratio), so none is blurred.
    """
    height, width = shape
    scale = side / max(height, width)
    css_width, css_height = round(width * scale), round(height * scale)
    assert canvas_box(page, selector) == {
        "cssWidth": css_width,
        "cssHeight": css_height,
        "width": ratio * css_width,
        "height": ratio * css_height,
    }


def downloaded_png(page: Page) -> tuple[str, np.ndarray]:
    """Click Download PNG; the file's suggested name and its decoded RGBA pixels."""
    with page.expect_download() as info:
        page.click(".fw-download")
    download = info.value
    with Image.open(io.BytesIO(Path(download.path()).read_bytes())) as png:
        assert png.format == "PNG"
        pixels = np.asarray(png.convert("RGBA"))
    return download.suggested_filename, pixels


def file_name(target: int, label: str) -> str:
    """The name the view gives a download: unsafe characters of the label become "_"."""
    return f"saliency-{target}-{re.sub(r'[^A-Za-z0-9-]+', '_', label)}.png"


# 1. Pixels ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [LANDSCAPE, PORTRAIT], ids=["landscape", "portrait"])
def test_overlay_pixels_equal_python_colours_and_blend(
    view_page: Page, shape: tuple[int, int]
) -> None:
    """Colouring and blending move to the browser, so they must match Python bit for bit."""
    scene = build_scene(*shape)
    mount(view_page, scene.overlay_state, alpha=1.0)

    assert_canvas_size(view_page, OVERLAY, OVERLAY_SIDE, shape)
    assert_pixels_exact(view_page, OVERLAY, scene.colours("viridis"))

    receive(view_page, alpha=0.0)
    assert_pixels_exact(view_page, OVERLAY, scene.image)

    receive(view_page, alpha=0.5)
    drawn = canvas_pixels(view_page, OVERLAY, *shape)
    assert_close(drawn, (scene.image.astype(np.float64) + scene.colours()) / 2)

    # A colormap change from Python only sends a new table; the same levels take its colours.
    receive(view_page, alpha=1.0, colormap="magma", lut_bytes=colormap_lut("magma").tobytes())
    assert_pixels_exact(view_page, OVERLAY, scene.colours("magma"))


# 2. Alpha slider --------------------------------------------------------------------------------


def test_alpha_slider_redraws_at_once_and_throttles_what_it_sends(
    view_page: Page, scene: Scene
) -> None:
    """Dragging must blend in the browser on every event yet not flood the kernel."""
    mount(view_page, scene.overlay_state, alpha=0.5)
    forget_calls(view_page)
    values = [round(0.05 * k, 2) for k in range(1, 21)]
    slider = view_page.locator(".fw-alpha").element_handle()
    moved = view_page.evaluate(
        "([slider, values, pause, w, h]) => slide(slider, values, pause, w, h)",
        [slider, values, 20, scene.width, scene.height],
    )
    for value, flat in zip(values, moved["drawn"], strict=True):
        drawn = np.array(flat, dtype=np.uint8).reshape(scene.height, scene.width, 4)
        assert_close(drawn, blend(scene.image, scene.colours(), value))
    # The final value arrives with the trailing send; then nothing more may come.
    view_page.wait_for_function("(last) => model.get('alpha') === last", arg=values[-1])
    view_page.wait_for_timeout(2 * ALPHA_SEND_MS)

    sent = calls(view_page)
    assert {name for op, name, _ in sent if op == "set"} == {"alpha"}, "only alpha may be sent"
    assert [op for op, _, _ in sent] == ["set", "save_changes"] * (len(sent) // 2)
    sends = timed_sets(view_page, "alpha")
    times = [t for t, _ in sends]
    sent_values = [value for _, value in sends]
    span = moved["times"][-1] - moved["times"][0]
    most = int(span / ALPHA_SEND_MS) + 2  # leading, one per interval, trailing
    assert 2 <= len(sends) <= most < len(values), f"{len(sends)} sends in {span:.0f} ms"
    assert sent_values[0] == values[0], "the first move is sent at once (leading edge)"
    assert sent_values[-1] == values[-1], "the final value is sent last (trailing edge)"
    assert all(value in values for value in sent_values)
    assert sent_values == sorted(sent_values), "values arrive in the order they were chosen"
    gaps = np.diff(times)
    assert gaps.min() >= ALPHA_SEND_MS - 5, f"sends {gaps.min():.0f} ms apart"
    assert times[-1] - moved["times"][-1] <= 2 * ALPHA_SEND_MS + 100, "the final send lags"

    # Playwright's fill, as a user's keyboard would set it; the interval has passed, so the
    # value goes out at once.
    forget_calls(view_page)
    view_page.fill(".fw-alpha", "0.25")
    assert calls(view_page) == [("set", "alpha", 0.25), ("save_changes", None, None)]
    drawn = canvas_pixels(view_page, OVERLAY, scene.height, scene.width)
    assert_close(drawn, blend(scene.image, scene.colours(), 0.25))


# 3. High DPI ------------------------------------------------------------------------------------


def test_high_dpi_canvases_have_two_backing_pixels_per_css_pixel(
    hidpi_page: Page, scene: Scene
) -> None:
    """A canvas of CSS size at DPR 2 would be upscaled by the browser and look blurred."""
    assert hidpi_page.evaluate("() => window.devicePixelRatio") == 2
    mount(hidpi_page, scene.overlay_state, alpha=1.0)
    assert_canvas_size(hidpi_page, OVERLAY, OVERLAY_SIDE, scene.shape, ratio=2)
    assert_pixels_exact(hidpi_page, OVERLAY, scene.colours())

    receive(hidpi_page, view="panels", gradient_rgb_bytes=scene.panels_state["gradient_rgb_bytes"])
    for index in range(4):
        assert_canvas_size(hidpi_page, panel(index), PANEL_SIDE, scene.shape, ratio=2)
    assert_pixels_exact(hidpi_page, panel(1), scene.gradients_rgba)


# 4. Controls ------------------------------------------------------------------------------------


def test_controls_send_the_right_traits(view_page: Page, scene: Scene) -> None:
    """Each control sets one trait, with the type Python validates, then saves."""
    mount(view_page, scene.overlay_state)
    predictions = scene.overlay_state["predictions"]
    other = predictions[1]["index"]
    assert view_page.locator(".fw-class").input_value() == str(scene.target)
    options = view_page.locator(".fw-class option")
    assert options.evaluate_all("(os) => os.map((o) => o.value)") == [
        str(p["index"]) for p in predictions
    ]

    assert_sends(
        view_page, lambda: view_page.select_option(".fw-class", str(other)), "target", other
    )

    # Search by name: typing lists the matches (names starting with the query first), Enter
    # picks the first listed and clears the search.
    view_page.fill(".fw-search", "t")
    results = view_page.locator(".fw-results")
    assert results.is_visible()
    listed = ["truck (#9)", "automobile (#1)", "cat (#3)"]
    assert results.locator("option").all_text_contents() == listed
    assert_sends(view_page, lambda: view_page.press(".fw-search", "Enter"), "target", 9)
    assert view_page.locator(".fw-search").input_value() == ""
    assert results.is_hidden()
    assert view_page.locator(".fw-class").input_value() == "9"
    view_page.fill(".fw-search", "HOR")
    assert results.locator("option").all_text_contents() == ["horse (#7)"]
    assert_sends(view_page, lambda: view_page.press(".fw-search", "Enter"), "target", 7)

    # A listed class can also be clicked, or reached with the arrow keys (which must not send
    # each class passed on the way) and picked with Enter.
    view_page.fill(".fw-search", "t")
    assert_sends(view_page, lambda: results.locator("option").nth(2).click(), "target", 3)
    view_page.fill(".fw-search", "t")
    view_page.focus(".fw-results")
    forget_calls(view_page)
    view_page.keyboard.press("ArrowDown")
    view_page.keyboard.press("ArrowDown")
    assert calls(view_page) == []
    assert_sends(view_page, lambda: view_page.keyboard.press("Enter"), "target", 1)

    # A class index finds that class first; a query with no match sends nothing.
    view_page.fill(".fw-search", "3")
    assert results.locator("option").first.text_content() == "cat (#3)"
    assert_sends(view_page, lambda: view_page.press(".fw-search", "Enter"), "target", 3)
    forget_calls(view_page)
    view_page.fill(".fw-search", "zebra")
    assert results.is_hidden()
    view_page.press(".fw-search", "Enter")
    assert calls(view_page) == []

    assert_sends(
        view_page,
        lambda: view_page.select_option(".fw-method", "guided_backprop"),
        "method",
        "guided_backprop",
    )
    assert_sends(view_page, lambda: view_page.uncheck(".fw-take-max"), "take_max", False)
    assert_sends(view_page, lambda: view_page.check(".fw-take-max"), "take_max", True)
    assert_sends(
        view_page, lambda: view_page.select_option(".fw-colormap", "magma"), "colormap", "magma"
    )
    assert_sends(view_page, lambda: view_page.select_option(".fw-view", "panels"), "view", "panels")


def test_changes_from_python_update_the_controls_and_are_not_sent_back(
    view_page: Page, scene: Scene
) -> None:
    """Python may change any trait (a user's cell, a refused value); the view must follow."""
    mount(view_page, scene.overlay_state)
    forget_calls(view_page)
    listed = {p["index"] for p in scene.overlay_state["predictions"]}
    outside = next(i for i in range(len(LABELS)) if i not in listed)

    receive(view_page, target=outside)
    assert view_page.locator(".fw-class").input_value() == str(outside)
    chosen = view_page.locator(".fw-class option:checked")
    assert chosen.text_content() == f"{LABELS[outside]} (#{outside})"

    receive(
        view_page,
        method="guided_backprop",
        take_max=False,
        colormap="magma",
        view="panels",
        alpha=0.8,
    )
    assert view_page.locator(".fw-method").input_value() == "guided_backprop"
    assert not view_page.is_checked(".fw-take-max")
    assert view_page.locator(".fw-colormap").input_value() == "magma"
    assert view_page.locator(".fw-view").input_value() == "panels"
    assert view_page.locator(".fw-alpha").input_value() == "0.8"
    assert view_page.locator(FIGURES).count() == 4

    new_predictions = [
        {"index": 3, "label": "cat", "probability": 0.75},
        {"index": outside, "label": LABELS[outside], "probability": 0.125},
    ]
    receive(view_page, predictions=new_predictions)
    texts = view_page.locator(".fw-class option").all_text_contents()
    assert texts == ["cat (75.0%)", f"{LABELS[outside]} (12.5%)"]
    assert view_page.locator(".fw-class").input_value() == str(outside)

    assert calls(view_page) == [], "a change from Python must not be echoed back"


# 5. Four panels -------------------------------------------------------------------------------


def test_four_panels_show_image_gradients_map_and_overlay(view_page: Page, scene: Scene) -> None:
    """FlashTorch's figure, drawn from the same bytes: each panel must be its own picture."""
    mount(view_page, scene.panels_state, alpha=0.5)
    assert view_page.locator(FIGURES).count() == 4
    assert view_page.locator(f"{FIGURES} figcaption").all_text_contents() == PANEL_CAPTIONS
    for index in range(4):
        assert_canvas_size(view_page, panel(index), PANEL_SIDE, scene.shape)
    assert_pixels_exact(view_page, panel(0), scene.image)
    assert_pixels_exact(view_page, panel(1), scene.gradients_rgba)
    assert_pixels_exact(view_page, panel(2), scene.colours())
    drawn = canvas_pixels(view_page, panel(3), scene.height, scene.width)
    assert_close(drawn, blend(scene.image, scene.colours(), 0.5))

    # Sum over channels: a new map and a new caption.
    receive(view_page, take_max=False, map_values=scene.sum_values.astype("<f4").tobytes())
    captions = view_page.locator(f"{FIGURES} figcaption").all_text_contents()
    assert captions[2] == "Sum over channels"
    assert_pixels_exact(view_page, panel(2), scene.colours(levels=scene.sum_levels))

    receive(view_page, view="overlay", gradient_rgb_bytes=b"")
    assert view_page.locator(FIGURES).count() == 0
    assert view_page.locator(OVERLAY).count() == 1


# 6. Errors and status -------------------------------------------------------------------------


def test_errors_and_status_are_shown(view_page: Page, scene: Scene) -> None:
    """A failing model must be visible in the view, and the image stays without the map."""
    mount(view_page, scene.overlay_state, alpha=0.5, compute_ms=0.0)
    error_box = view_page.locator(".fw-error")
    status = view_page.locator(".fw-status")
    assert error_box.is_hidden()
    assert status.text_content() == scene.overlay_state["status"]

    message = "RuntimeError: the model is broken on purpose"
    receive(
        view_page,
        error=message,
        status=f"Error: {message}",
        map_values=b"",
        map_shape=[],
        gradient_rgb_bytes=b"",
    )
    assert error_box.is_visible()
    assert error_box.text_content() == message
    assert error_box.get_attribute("role") == "alert"
    assert status.text_content() == f"Error: {message}"
    assert_pixels_exact(view_page, OVERLAY, scene.image)  # no map: the image alone

    receive(
        view_page,
        error="",
        status="cat (class 3): gradients",
        compute_ms=3.21,
        map_values=scene.overlay_state["map_values"],
        map_shape=scene.overlay_state["map_shape"],
    )
    assert error_box.is_hidden()
    assert status.text_content() == "cat (class 3): gradients · 3.2 ms"
    receive(view_page, compute_ms=12.4)
    assert status.text_content() == "cat (class 3): gradients · 12 ms"
    drawn = canvas_pixels(view_page, OVERLAY, scene.height, scene.width)
    assert_close(drawn, blend(scene.image, scene.colours(), 0.5))


def test_nothing_is_drawn_before_the_first_image(view_page: Page, scene: Scene) -> None:
    """Empty traits (no image yet, or a failed first map) must not break the view."""
    empty = {"image_bytes": b"", "image_shape": [], "map_values": b"", "map_shape": []}
    mount(view_page, scene.overlay_state, alpha=1.0, **empty)
    assert view_page.locator(".flashwidget .fw-stage canvas").count() == 0
    with pytest.raises(PlaywrightError), view_page.expect_download(timeout=500):
        view_page.click(".fw-download")  # no picture, no download

    state = scene.overlay_state
    receive(view_page, **{key: state[key] for key in empty})
    assert_pixels_exact(view_page, OVERLAY, scene.colours())


# 7. Cleanup -----------------------------------------------------------------------------------


def test_cleanup_removes_the_view_its_listeners_and_pending_sends(
    view_page: Page, scene: Scene
) -> None:
    """Jupyter re-renders views on one model; a closed view must leave nothing behind."""
    mount(view_page, scene.overlay_state)
    view_page.evaluate("() => renderView()")  # a second view of the same model
    both = view_page.evaluate("() => model.listenerCount()")
    assert both > 0 and both % 2 == 0
    forget_calls(view_page)

    # Two quick moves: the first is sent at once, the second waits for the interval; closing
    # the view must drop it. Listeners on the closed controls must be gone as well.
    view_page.evaluate(
        """() => {
          const slider = views[0].el.querySelector(".fw-alpha");
          for (const value of ["0.2", "0.4"]) {
            slider.value = value;
            slider.dispatchEvent(new Event("input", { bubbles: true }));
          }
          views[0].cleanup();
          slider.value = "0.9";
          slider.dispatchEvent(new Event("input", { bubbles: true }));
          window.dispatchEvent(new Event("resize"));
        }"""
    )
    assert view_page.evaluate("() => views[0].el.childElementCount") == 0
    assert view_page.evaluate("() => model.listenerCount()") == both // 2
    view_page.wait_for_timeout(3 * ALPHA_SEND_MS)
    assert calls(view_page) == [("set", "alpha", 0.2), ("save_changes", None, None)]

    # The other view still follows the model.
    receive(view_page, method="guided_backprop")
    assert view_page.locator(".flashwidget").count() == 1
    assert view_page.locator(".fw-method").input_value() == "guided_backprop"

    view_page.evaluate("() => views[1].cleanup()")
    assert view_page.locator(".flashwidget").count() == 0
    # Python counts the views it has, to skip training updates once nobody can see them.
    shown = [message["shown"] for message in view_page.evaluate("() => model.messages")]
    assert shown == [True, True, False, False]
    assert view_page.evaluate("() => model.listenerCount()") == 0
    on_calls, off_calls = view_page.evaluate("() => [model.onCalls, model.offCalls]")
    assert on_calls == off_calls == both


# 8. Download ----------------------------------------------------------------------------------


def test_download_overlay_png_is_the_composite_at_image_size(view_page: Page, scene: Scene) -> None:
    """The PNG is the picture itself, at the input's size, not a screenshot of the canvas."""
    labels = list(LABELS)
    labels[scene.target] = "pickup truck/van (4x4)"
    mount(view_page, scene.overlay_state, alpha=0.5, labels=labels)
    name, pixels = downloaded_png(view_page)
    assert name == f"saliency-{scene.target}-pickup_truck_van_4x4_.png"
    assert pixels.shape == (scene.height, scene.width, 4)
    on_canvas = canvas_pixels(view_page, OVERLAY, scene.height, scene.width)
    np.testing.assert_array_equal(pixels, on_canvas)
    assert_close(pixels, blend(scene.image, scene.colours(), 0.5))


def test_download_panels_png_has_the_four_panels_side_by_side(
    view_page: Page, scene: Scene
) -> None:
    """In the panel view the PNG holds the four pictures, GAP transparent pixels apart."""
    mount(view_page, scene.panels_state, alpha=0.5)
    name, pixels = downloaded_png(view_page)
    assert name == file_name(scene.target, LABELS[scene.target])
    width = scene.width
    assert pixels.shape == (scene.height, 4 * width + 3 * GAP, 4)
    for index in range(4):
        left = index * (width + GAP)
        tile = pixels[:, left : left + width]
        on_canvas = canvas_pixels(view_page, panel(index), scene.height, width)
        np.testing.assert_array_equal(tile, on_canvas, err_msg=f"panel {index}")
        if index < 3:
            assert not pixels[:, left + width : left + width + GAP].any(), "gaps are transparent"


# 9. Sign, clip and compare: applied in the browser, equal to Python's levels -------------------


def python_colours(values: np.ndarray, sign: str, clip: float, lut: str = "viridis") -> np.ndarray:
    """What the view must draw for ``values`` on their own scale."""
    table = "RdBu_r" if sign == "all" else lut
    return colormap_lut(table)[map_levels(values, sign, clip_scale([values], sign, clip))]


@pytest.mark.parametrize("sign", ["absolute", "positive", "negative", "all"])
def test_sign_and_clip_are_drawn_as_python_draws_them(
    view_page: Page, scene: Scene, sign: str
) -> None:
    """A signed map travels signed; the browser picks the sign and the clip, without Python."""
    signed = scene.sum_values  # the sum over channels has both signs
    assert signed.min() < 0 < signed.max()
    mount(
        view_page,
        scene.overlay_state,
        alpha=1.0,
        take_max=False,
        map_values=signed.astype("<f4").tobytes(),
    )
    forget_calls(view_page)
    view_page.select_option(".fw-sign", sign)
    assert_pixels_exact(view_page, OVERLAY, python_colours(signed, sign, 99.5))
    view_page.fill(".fw-clip", "90")
    assert_pixels_exact(view_page, OVERLAY, python_colours(signed, sign, 90.0))
    view_page.wait_for_timeout(2 * ALPHA_SEND_MS)
    sent = {(name, value) for op, name, value in calls(view_page) if op == "set"}
    assert sent == {("sign", sign), ("clip_percentile", 90.0)}, "look changes only"


def test_the_diverging_colormap_centres_zero(view_page: Page, scene: Scene) -> None:
    values = np.array([[-2.0, -1.0, 0.0, 1.0, 2.0]] * 4, dtype=np.float32)
    mount(
        view_page,
        scene.overlay_state,
        alpha=1.0,
        sign="all",
        clip_percentile=100.0,
        image_shape=[4, 5],
        image_bytes=bytes(4 * 5 * 4),
        map_shape=[4, 5],
        map_values=values.tobytes(),
    )
    drawn = canvas_pixels(view_page, OVERLAY, 4, 5)
    lut = colormap_lut("RdBu_r")
    np.testing.assert_array_equal(drawn[0], lut[[0, 64, 128, 192, 255]])


def compare_state(scene: Scene, mode: str, other: np.ndarray) -> dict[str, Any]:
    return {
        "alpha": 1.0,
        "compare": mode,
        "compare_values": other.astype("<f4").tobytes(),
        "compare_caption": "the other map",
    }


def test_compare_two_classes_on_one_scale(view_page: Page, scene: Scene) -> None:
    other = scene.values * 3  # a class with three times the evidence
    mount(view_page, scene.overlay_state, **compare_state(scene, "class", other))
    a, b = ".fw-compare-a", ".fw-compare-b"
    assert_canvas_size(view_page, a, COMPARE_SIDE, scene.shape)
    scale = clip_scale([scene.values, other], "absolute", 99.5)
    lut = colormap_lut("viridis")
    assert_pixels_exact(view_page, a, lut[map_levels(scene.values, "absolute", scale)])
    assert_pixels_exact(view_page, b, lut[map_levels(other, "absolute", scale)])
    captions = view_page.locator(f"{FIGURES} figcaption").all_text_contents()
    assert captions == [LABELS[scene.target], "the other map"]
    assert "one colour scale" in view_page.locator(".fw-scale-note").text_content()
    assert_sends(
        view_page,
        lambda: view_page.select_option(
            ".fw-compare-target", str(scene.overlay_state["predictions"][2]["index"])
        ),
        "compare_target",
        scene.overlay_state["predictions"][2]["index"],
    )


def test_compare_two_methods_each_on_its_own_scale(view_page: Page, scene: Scene) -> None:
    other = scene.values * 1000  # another method, in other units
    mount(view_page, scene.overlay_state, **compare_state(scene, "method", other))
    assert_pixels_exact(view_page, ".fw-compare-a", python_colours(scene.values, "absolute", 99.5))
    assert_pixels_exact(view_page, ".fw-compare-b", python_colours(other, "absolute", 99.5))
    assert "own colour scale" in view_page.locator(".fw-scale-note").text_content()
    assert view_page.locator(".fw-compare-method").is_visible()
    assert view_page.locator(".fw-compare-target").is_hidden()
    _, pixels = downloaded_png(view_page)
    assert pixels.shape == (scene.height, 2 * scene.width + GAP, 4)
    assert_sends(
        view_page,
        lambda: view_page.select_option(".fw-compare", "off"),
        "compare",
        "off",
    )


def test_method_menu_offers_options_and_greys_out_what_the_model_cannot_run(
    view_page: Page, scene: Scene
) -> None:
    specs = [dict(spec) for spec in scene.overlay_state["method_specs"]]
    for spec in specs:
        if spec["name"] == "guided_backprop":
            spec["unavailable"] = "needs rectifiers and this model has none"
    mount(view_page, scene.overlay_state, method_specs=specs)
    guided = view_page.locator(".fw-method option[value=guided_backprop]")
    assert guided.is_disabled() and "(unavailable)" in guided.text_content()
    assert "needs rectifiers" in guided.get_attribute("title")
    assert view_page.locator(".fw-option").count() == 0  # the gradient has no options

    assert_sends(
        view_page,
        lambda: view_page.select_option(".fw-method", "integrated_gradients"),
        "method",
        "integrated_gradients",
    )
    steps = view_page.locator(".fw-option-steps")
    assert steps.input_value() == "50"  # the default, until the user sets one
    assert_sends(
        view_page,
        lambda: steps.fill("12") or steps.dispatch_event("change"),
        "method_options",
        {"steps": 12},
    )
    receive(view_page, method="gradcam", method_options={})
    layer = view_page.locator(".fw-option-layer")
    names = layer.locator("option").evaluate_all("(os) => os.map((o) => o.value)")
    assert names == ["", *[name for name, _ in scene.overlay_state["layers"]]]
    assert view_page.is_disabled(".fw-take-max"), "Grad-CAM has one channel"
    chosen = scene.overlay_state["layers"][0][0]
    assert_sends(
        view_page,
        lambda: view_page.select_option(".fw-option-layer", chosen),
        "method_options",
        {"layer": chosen},
    )
    receive(view_page, method="guided_gradcam", method_options={})
    assert "sanity check" in view_page.locator(".fw-note").text_content()


def test_progress_is_shown_while_a_slow_method_runs(view_page: Page, scene: Scene) -> None:
    mount(view_page, scene.overlay_state)
    bar = view_page.locator(".fw-progress")
    assert bar.is_hidden()
    receive(view_page, progress=0.25, status="Computing the map (SmoothGrad)...")
    assert bar.is_visible() and bar.evaluate("(b) => b.value") == 0.25
    receive(view_page, progress=-1.0)
    assert bar.is_hidden()


def test_a_new_pixel_ratio_redraws_the_canvas(view_page: Page, scene: Scene) -> None:
    """Moving the page to a screen of another scale changes devicePixelRatio without a resize
    event; the view watches a resolution media query and redraws with as many backing pixels.

    Headless Chromium under Playwright's own emulation fires no media-query change when the
    scale is changed through CDP, so the test plays the screen: it records the view's
    media-query listeners, changes devicePixelRatio, and fires them as the browser would.
    """
    view_page.evaluate(
        """() => {
          window.mediaListeners = [];
          const real = window.matchMedia.bind(window);
          window.matchMedia = (query) => {
            const list = real(query);
            const add = list.addEventListener.bind(list);
            list.addEventListener = (type, callback, options) => {
              window.mediaListeners.push({ query, callback });
              add(type, callback, options);
            };
            return list;
          };
        }"""
    )
    mount(view_page, scene.overlay_state, alpha=1.0)
    queries = view_page.evaluate("() => mediaListeners.map((l) => l.query)")
    assert queries == ["(resolution: 1dppx)"]
    view_page.evaluate(
        """async () => {
          Object.defineProperty(window, "devicePixelRatio", { get: () => 2, configurable: true });
          mediaListeners[0].callback(new Event("change"));
          await frames();
        }"""
    )
    assert_canvas_size(view_page, OVERLAY, OVERLAY_SIDE, scene.shape, ratio=2)
    assert_pixels_exact(view_page, OVERLAY, scene.colours())
    queries = view_page.evaluate("() => mediaListeners.map((l) => l.query)")
    assert queries[-1] == "(resolution: 2dppx)", "the view listens for the next change"
