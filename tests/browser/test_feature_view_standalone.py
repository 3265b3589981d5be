"""FeatureWidget's bundled view, flashwidget/static/feature.js, in headless Chromium, no Jupyter.

As test_view_standalone.py does for SaliencyWidget's view: the page (view_harness.py) imports
the shipped bundle from a Blob URL, as anywidget does, and renders it on the shared fake model
in JavaScript that behaves like anywidget's (``get``/``set``/``save_changes``/``on``/``off``/
``send``, change events after a batch of values is in place, binary traits as DataViews into a
larger, poisoned buffer, here at an odd offset, so that a view ignoring ``byteOffset`` draws
garbage). The fake refuses to read a trait it was not given, so the view reads only the traits
FeatureWidget syncs.

The trait values are made up here (the tiles are random RGBA images): these tests hold the view
to the trait contract, not to Python's rendering. Every canvas paint is recorded, which is how
the tests see that a new frame of one tile repaints that tile alone.

Debian's chromium is required: a missing or broken one fails these tests, never skips them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, Page
from view_harness import STATIC, calls, mount, receive, view_page_for

# The view's constants (js/feature_logic.js), restated so that a change to them is a decision.
TILE_SIDE = 224
GRID_TILE_SIDE = 112
STEPS_MAX = 2048
QUALITY_TEXT = "Quality (Fourier, decorrelated, jitter)"

SMALL = (28, 28)  # a tile: 8x enlarged alone (224 px), 4x in a grid (112 px)
CENTRE = 0.5
EDGES = (0.02, 0.98)

LAYERS = [["features.0", "64x112x112"], ["features.3", "128x56x56"], ["classifier", "1000"]]
LABELS = [f"class {i}" for i in range(1000)]
LABELS[1] = "goldfish"
LABELS[2] = "great white shark"
LABELS[3] = "tiger shark"
LABELS[4] = "hammerhead shark"
LABELS[667] = "mortarboard"

# What FeatureWidget's tests add to the fake model's page (view_harness.py).
FEATURE_JS = r"""
// Every canvas the view paints: canvas.js's paint clears the canvas first, whatever it draws.
window.painted = [];
const clearRect = CanvasRenderingContext2D.prototype.clearRect;
CanvasRenderingContext2D.prototype.clearRect = function (...args) {
  window.painted.push(this.canvas);
  return clearRect.apply(this, args);
};
window.paintedTiles = () =>
  window.painted.map((canvas) => {
    const figure = canvas.closest("figure");
    if (!figure) return "?";
    return figure.classList.contains("fw-tile") ? Number(figure.dataset.index) : figure.className;
  });
"""


@contextmanager
def harness_page(browser: Browser, scale: float = 1) -> Iterator[Page]:
    """A fresh page with feature.js imported; fails the test on any script error.

    Binary traits start at an odd offset, on purpose; each render waits two animation frames.
    """
    with view_page_for(
        browser,
        STATIC / "feature.js",
        scale=scale,
        title="FeatureWidget view",
        extra_js=FEATURE_JS,
        byte_offset=9,
        settle=True,
    ) as page:
        yield page


@pytest.fixture
def view_page(browser: Browser) -> Iterator[Page]:
    with harness_page(browser) as page:
        yield page


# Trait values -----------------------------------------------------------------------------------


def base_state(**overrides: Any) -> dict[str, Any]:
    """Every trait FeatureWidget syncs, with nothing rendered yet."""
    state = {
        "layer": "features.3",
        "layers": LAYERS,
        "labels": LABELS,
        "channels": 128,
        "mode": "channel",
        "channel": 3,
        "grid_size": 8,
        "target": 667,
        "quality": True,
        "steps": 256,
        "tiles": b"",
        "tile_shape": [],  # as Python sends them when there is nothing to show
        "tile_labels": [],
        "tile_done": [],
        "dream_original": b"",
        "dream_result": b"",
        "dream_shape": [],
        "dream_caption": "",
        "progress": -1.0,
        "running": False,
        "status": "",
        "error": "",
    }
    return {**state, **overrides}


def tile_image(seed: int, shape: tuple[int, int] = SMALL) -> np.ndarray:
    """A random opaque (H, W, 4) RGBA tile: every pixel differs from its neighbours."""
    rgba = np.random.default_rng(seed).integers(0, 256, (*shape, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    return rgba


def blank(shape: tuple[int, int] = SMALL) -> np.ndarray:
    """A tile not started: all zero bytes."""
    return np.zeros((*shape, 4), dtype=np.uint8)


def tiles_traits(images: list[np.ndarray], labels: list[str], done: list[bool]) -> dict[str, Any]:
    shape = list(images[0].shape[:2]) if images else []
    return {
        "tiles": b"".join(image.tobytes() for image in images),
        "tile_shape": shape,
        "tile_labels": labels,
        "tile_done": done,
    }


def grid_traits(count: int = 6) -> tuple[list[np.ndarray], dict[str, Any]]:
    """A grid mid-way: three tiles done, the fourth being rendered, the rest not started."""
    images = [tile_image(i) for i in range(4)] + [blank() for _ in range(count - 4)]
    labels = [f"channel {i}" for i in range(count)]
    done = [i < 3 for i in range(count)]
    return images, tiles_traits(images, labels, done)


# Driving the page -------------------------------------------------------------------------------


def forget_calls(page: Page) -> None:
    page.evaluate("() => { model.calls = []; model.messages = []; window.painted = []; }")


def messages(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("() => model.messages")


def painted(page: Page) -> list[Any]:
    """What was painted since forget_calls: tile indices, or a DeepDream figure's class."""
    return page.evaluate("() => paintedTiles()")


def assert_sends(page: Page, action: Callable[[], None], name: str, value: Any) -> None:
    """``action`` makes the view set exactly ``name`` to ``value`` (same type) and save."""
    forget_calls(page)
    action()
    sent = calls(page)
    assert sent == [("set", name, value), ("save_changes", None, None)]
    assert type(sent[0][2]) is type(value), f"{name} sent as {type(sent[0][2]).__name__}"


def assert_sends_nothing(page: Page, action: Callable[[], None]) -> None:
    forget_calls(page)
    action()
    assert calls(page) == []


def tile_canvas(index: int) -> str:
    return f'.fw-tiles .fw-tile[data-index="{index}"] canvas'


def canvas_pixels(page: Page, selector: str, height: int, width: int, fraction: float = CENTRE):
    handle = page.locator(selector).element_handle()
    flat = page.evaluate(
        "([canvas, width, height, fraction]) => sample(canvas, width, height, fraction)",
        [handle, width, height, fraction],
    )
    return np.array(flat, dtype=np.uint8).reshape(height, width, 4)


def assert_pixels_exact(page: Page, selector: str, expected: np.ndarray) -> None:
    """Every source pixel, at its centre and near two corners, is exactly ``expected``."""
    height, width = expected.shape[:2]
    for fraction in (CENTRE, *EDGES):
        drawn = canvas_pixels(page, selector, height, width, fraction)
        wrong = np.argwhere((drawn != expected).any(axis=2))
        assert len(wrong) == 0, (
            f"{selector}: {len(wrong)} of {height * width} pixels differ at {fraction}; "
            f"first (y, x) = {tuple(wrong[0])}: {drawn[tuple(wrong[0])]} != "
            f"{expected[tuple(wrong[0])]}"
        )


def canvas_box(page: Page, selector: str) -> dict[str, float]:
    return page.evaluate("(canvas) => box(canvas)", page.locator(selector).element_handle())


def assert_canvas_size(page: Page, selector: str, side: int, shape: tuple[int, int], ratio=1):
    height, width = shape
    scale = side / max(height, width)
    css_width, css_height = round(width * scale), round(height * scale)
    assert canvas_box(page, selector) == {
        "cssWidth": css_width,
        "cssHeight": css_height,
        "width": ratio * css_width,
        "height": ratio * css_height,
    }


# 1. The controls --------------------------------------------------------------------------------


def test_the_toolbar_shows_the_traits(view_page: Page) -> None:
    mount(view_page, base_state())
    root = view_page.locator(".flashwidget.fw-features")
    assert root.count() == 1
    layer_options = view_page.locator(".fw-layer option")
    assert layer_options.all_text_contents() == [
        "features.0 (64x112x112)",
        "features.3 (128x56x56)",
        "classifier (1000)",
    ]
    assert layer_options.evaluate_all("(os) => os.map((o) => o.value)") == [
        name for name, _ in LAYERS
    ]
    assert view_page.locator(".fw-layer").input_value() == "features.3"
    assert view_page.locator(".fw-mode").input_value() == "channel"
    modes = view_page.locator(".fw-mode option").evaluate_all("(os) => os.map((o) => o.value)")
    assert modes == ["channel", "grid", "class"]

    channel = view_page.locator("input[type=number].fw-channel")
    assert channel.is_visible() and channel.input_value() == "3"
    assert (channel.get_attribute("min"), channel.get_attribute("max")) == ("0", "127")
    assert view_page.locator(".fw-grid-size").is_hidden()
    assert view_page.locator(".fw-class-search").is_hidden()
    assert view_page.locator("input[type=checkbox].fw-quality").is_checked()
    quality_label = view_page.locator("label", has=view_page.locator(".fw-quality"))
    assert quality_label.inner_text().strip() == QUALITY_TEXT
    steps = view_page.locator("input.fw-steps")
    assert steps.input_value() == "256"
    assert (steps.get_attribute("min"), steps.get_attribute("max")) == ("1", str(STEPS_MAX))

    assert view_page.locator(".fw-run").is_visible()
    assert view_page.locator(".fw-stop").is_hidden()
    assert view_page.locator("progress.fw-progress").is_hidden()
    assert view_page.locator(".fw-tiles .fw-tile").count() == 0
    assert view_page.locator(".fw-dream").is_hidden()
    assert view_page.locator(".fw-error[role=alert]").is_hidden()
    assert messages(view_page) == [{"type": "view", "shown": True}]


def test_each_mode_shows_its_own_input(view_page: Page) -> None:
    mount(view_page, base_state(mode="grid"))
    grid = view_page.locator(".fw-grid-size")
    assert grid.is_visible() and grid.input_value() == "8"
    assert (grid.get_attribute("min"), grid.get_attribute("max")) == ("1", "64")
    assert view_page.locator(".fw-channel").is_hidden()

    receive(view_page, mode="class")
    assert view_page.locator(".fw-class-search").is_visible()
    assert view_page.locator("select.fw-class").input_value() == "667"
    assert view_page.locator("select.fw-class option:checked").text_content() == (
        "mortarboard (667)"
    )
    assert view_page.locator(".fw-grid-size").is_hidden()

    receive(view_page, mode="channel", channels=16)
    assert view_page.locator(".fw-class-search").is_hidden()
    assert view_page.locator(".fw-channel").get_attribute("max") == "15"
    assert view_page.locator(".fw-grid-size").get_attribute("max") == "16"


def test_controls_send_the_right_traits(view_page: Page) -> None:
    mount(view_page, base_state(channels=64))
    page = view_page
    assert_sends(page, lambda: page.select_option(".fw-layer", "features.0"), "layer", "features.0")
    assert_sends(page, lambda: page.select_option(".fw-mode", "grid"), "mode", "grid")
    assert_sends(page, lambda: page.select_option(".fw-mode", "channel"), "mode", "channel")

    def commit(selector: str, text: str) -> Callable[[], None]:
        return lambda: (page.fill(selector, text), page.press(selector, "Enter"))

    # Numbers are sent as whole numbers within their bounds; the input shows what was sent.
    assert_sends(page, commit(".fw-channel", "12"), "channel", 12)
    assert_sends(page, commit(".fw-channel", "70"), "channel", 63)
    assert page.locator(".fw-channel").input_value() == "63"
    assert_sends(page, commit(".fw-channel", "-3"), "channel", 0)
    assert_sends_nothing(page, commit(".fw-channel", "0"))  # already the value
    assert_sends_nothing(page, commit(".fw-channel", ""))
    assert page.locator(".fw-channel").input_value() == "0"
    forget_calls(page)
    page.fill(".fw-channel", "7")
    page.locator(".fw-channel").blur()  # leaving the input commits too
    assert calls(page) == [("set", "channel", 7), ("save_changes", None, None)]

    page.select_option(".fw-mode", "grid")
    assert_sends(page, commit(".fw-grid-size", "100"), "grid_size", 64)
    assert_sends(page, commit(".fw-grid-size", "0"), "grid_size", 1)
    assert_sends(page, commit(".fw-grid-size", "16"), "grid_size", 16)

    assert_sends(page, commit(".fw-steps", "5000"), "steps", STEPS_MAX)
    assert_sends(page, commit(".fw-steps", "0"), "steps", 1)
    assert_sends(page, commit(".fw-steps", "512"), "steps", 512)
    assert_sends(page, lambda: page.uncheck(".fw-quality"), "quality", False)
    assert_sends(page, lambda: page.check(".fw-quality"), "quality", True)


def test_the_class_picker_finds_classes_among_a_thousand(view_page: Page) -> None:
    mount(view_page, base_state(mode="class", target=0))
    page = view_page
    options = page.locator("select.fw-class option")
    assert options.count() == 50, "the first classes, not a thousand options"

    page.fill(".fw-class-search", "SHARK")
    texts = options.all_text_contents()
    assert texts == [
        "class 0 (0)",
        "great white shark (2)",
        "tiger shark (3)",
        "hammerhead shark (4)",
    ]
    assert page.locator("select.fw-class").input_value() == "0", "the chosen class stays shown"
    hint = page.locator(".fw-class-hint")
    assert hint.text_content() == "3 found · Enter picks great white shark (2)"
    assert_sends(page, lambda: page.press(".fw-class-search", "Enter"), "target", 2)
    assert page.locator(".fw-class-search").input_value() == ""
    assert page.locator("select.fw-class").input_value() == "2"
    assert hint.text_content() == ""

    page.fill(".fw-class-search", "667")
    assert options.nth(1).text_content() == "mortarboard (667)"
    assert_sends(page, lambda: page.press(".fw-class-search", "Enter"), "target", 667)

    page.fill(".fw-class-search", "tiger")
    assert_sends(page, lambda: page.select_option("select.fw-class", "3"), "target", 3)

    page.fill(".fw-class-search", "zebra")
    assert page.locator(".fw-class-search").get_attribute("aria-invalid") == "true"
    assert hint.text_content() == "No class matches"
    assert_sends_nothing(page, lambda: page.press(".fw-class-search", "Enter"))
    page.fill(".fw-class-search", "class 99")
    assert page.locator(".fw-class-search").get_attribute("aria-invalid") == "false"
    assert options.count() == 12  # the chosen class, class 99 and class 990 .. 999


def test_changes_from_python_update_the_controls_and_are_not_sent_back(view_page: Page) -> None:
    mount(view_page, base_state())
    forget_calls(view_page)
    layers = [*LAYERS, ["features.6", "256x28x28"]]
    receive(view_page, layers=layers, layer="features.6", channels=256, channel=200)
    assert view_page.locator(".fw-layer").input_value() == "features.6"
    assert view_page.locator(".fw-layer option:checked").text_content() == "features.6 (256x28x28)"
    assert view_page.locator(".fw-channel").input_value() == "200"
    assert view_page.locator(".fw-channel").get_attribute("max") == "255"
    receive(view_page, mode="class", target=4, quality=False, steps=64, grid_size=3)
    assert view_page.locator(".fw-mode").input_value() == "class"
    assert view_page.locator("select.fw-class").input_value() == "4"
    assert not view_page.is_checked(".fw-quality")
    assert view_page.locator(".fw-steps").input_value() == "64"
    assert view_page.locator(".fw-grid-size").input_value() == "3"
    receive(view_page, labels=["cat", "dog", "fox", "owl", "yak"])
    assert view_page.locator("select.fw-class option:checked").text_content() == "yak (4)"
    assert calls(view_page) == [], "a change from Python must not be echoed back"
    assert messages(view_page) == []


def test_run_and_stop_are_messages_and_stop_shows_only_while_running(view_page: Page) -> None:
    mount(view_page, base_state())
    forget_calls(view_page)
    view_page.click(".fw-run")
    assert messages(view_page) == [{"type": "run"}]
    assert calls(view_page) == []

    receive(view_page, running=True, progress=0.25, status="Rendering channel 3")
    stop = view_page.locator(".fw-stop")
    assert stop.is_visible() and stop.is_enabled()
    progress = view_page.locator("progress.fw-progress")
    assert progress.is_visible()
    assert progress.evaluate("(p) => p.value") == 0.25
    assert view_page.locator(".flashwidget").get_attribute("data-running") == "true"
    stop.click()
    assert messages(view_page) == [{"type": "run"}, {"type": "stop"}]

    receive(view_page, running=False, progress=-1.0)
    assert stop.is_hidden()
    assert progress.is_hidden()


def test_status_and_error_lines(view_page: Page) -> None:
    mount(view_page, base_state(status="Channel 3 of features.3: done"))
    assert view_page.locator(".fw-status").text_content() == "Channel 3 of features.3: done"
    error = view_page.locator(".fw-error[role=alert]")
    assert error.is_hidden()
    receive(view_page, error="channel 300 is out of range: features.3 has 128 channels")
    assert error.is_visible()
    assert error.text_content() == "channel 300 is out of range: features.3 has 128 channels"
    receive(view_page, error="")
    assert error.is_hidden()


# 2. The tiles -----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [SMALL, (20, 28)], ids=["square", "landscape"])
def test_a_lone_tile_is_drawn_exactly_enlarged_to_224_px(view_page: Page, shape) -> None:
    image = tile_image(7, shape)
    mount(view_page, base_state(**tiles_traits([image], ["channel 3"], [True])))
    assert view_page.locator(".fw-tile").count() == 1
    assert_canvas_size(view_page, tile_canvas(0), TILE_SIDE, shape)
    assert_pixels_exact(view_page, tile_canvas(0), image)
    tile = view_page.locator(".fw-tile")
    assert tile.locator("figcaption").text_content() == "channel 3"
    assert (tile.get_attribute("data-done"), tile.get_attribute("data-empty")) == ("true", "false")


def test_a_grid_shows_done_running_and_empty_tiles(view_page: Page) -> None:
    images, traits = grid_traits(6)
    mount(view_page, base_state(mode="grid", grid_size=6, running=True, progress=0.5, **traits))
    tiles = view_page.locator(".fw-tiles figure.fw-tile")
    assert tiles.count() == 6
    assert tiles.locator("figcaption").all_text_contents() == [f"channel {i}" for i in range(6)]
    assert (
        tiles.evaluate_all("(ts) => ts.map((t) => t.dataset.done)") == ["true"] * 3 + ["false"] * 3
    )
    assert (
        tiles.evaluate_all("(ts) => ts.map((t) => t.dataset.empty)") == ["false"] * 4 + ["true"] * 2
    )
    for index in range(6):
        assert_canvas_size(view_page, tile_canvas(index), GRID_TILE_SIDE, SMALL)
        assert_pixels_exact(view_page, tile_canvas(index), images[index])  # blank: transparent
    # The placeholders are framed, so the grid's final size shows from the start.
    outline = view_page.locator(tile_canvas(5)).evaluate("(c) => getComputedStyle(c).outlineStyle")
    assert outline == "dashed"


def test_a_new_frame_repaints_only_its_own_tile(view_page: Page) -> None:
    images, traits = grid_traits(6)
    mount(view_page, base_state(mode="grid", grid_size=6, **traits))
    forget_calls(view_page)

    images[3] = tile_image(30)  # a new frame of the tile being rendered: a new buffer of all
    receive(view_page, **tiles_traits(images, traits["tile_labels"], traits["tile_done"]))
    assert painted(view_page) == [3]
    assert_pixels_exact(view_page, tile_canvas(3), images[3])

    forget_calls(view_page)
    images[4] = tile_image(40)  # tile 3 done, tile 4 started
    done = [True, True, True, True, False, False]
    receive(view_page, **tiles_traits(images, traits["tile_labels"], done))
    assert painted(view_page) == [4]
    tile = view_page.locator('.fw-tile[data-index="3"]')
    assert tile.get_attribute("data-done") == "true"

    forget_calls(view_page)
    receive(view_page, tile_labels=[f"unit {i}" for i in range(6)], tile_done=[True] * 6)
    assert painted(view_page) == []
    assert view_page.locator(".fw-tile figcaption").first.text_content() == "unit 0"

    forget_calls(view_page)
    receive(view_page, **tiles_traits(images[:2], ["channel 0", "channel 1"], [True, True]))
    assert painted(view_page) == []
    assert view_page.locator(".fw-tile").count() == 2


def test_a_tiles_buffer_too_short_leaves_placeholders(view_page: Page) -> None:
    images = [tile_image(1), tile_image(2)]
    traits = tiles_traits(images, ["channel 0", "channel 1", "channel 2"], [True, True, False])
    mount(view_page, base_state(mode="grid", **traits))
    assert view_page.locator(".fw-tile").count() == 3
    assert_pixels_exact(view_page, tile_canvas(1), images[1])
    assert view_page.locator('.fw-tile[data-index="2"]').get_attribute("data-empty") == "true"


def test_high_dpi_tiles_have_two_backing_pixels_per_css_pixel(browser: Browser) -> None:
    with harness_page(browser, scale=2) as page:
        image = tile_image(3)
        mount(page, base_state(**tiles_traits([image], ["channel 3"], [True])))
        assert_canvas_size(page, tile_canvas(0), TILE_SIDE, SMALL, ratio=2)
        assert_pixels_exact(page, tile_canvas(0), image)


# 3. DeepDream ----------------------------------------------------------------------------------


def test_deepdream_shows_the_original_and_the_result_side_by_side(view_page: Page) -> None:
    mount(view_page, base_state())
    dream = view_page.locator(".fw-dream")
    assert dream.is_hidden()
    original, result = tile_image(11), tile_image(12)
    receive(
        view_page,
        dream_original=original.tobytes(),
        dream_result=result.tobytes(),
        dream_shape=list(SMALL),
        dream_caption="DeepDream on features.3, 20 steps",
    )
    assert dream.is_visible()
    assert_pixels_exact(view_page, ".fw-dream-original canvas", original)
    assert_pixels_exact(view_page, ".fw-dream-result canvas", result)
    assert_canvas_size(view_page, ".fw-dream-result canvas", TILE_SIDE, SMALL)
    assert view_page.locator(".fw-dream").inner_text().count("DeepDream on features.3, 20 steps")
    left = view_page.locator(".fw-dream-original").bounding_box()
    right = view_page.locator(".fw-dream-result").bounding_box()
    assert left["y"] == right["y"] and right["x"] >= left["x"] + left["width"]

    receive(view_page, dream_original=b"", dream_result=b"")
    assert dream.is_hidden()


# 4. Cleanup -------------------------------------------------------------------------------------


def test_cleanup_removes_the_view_and_its_listeners(view_page: Page) -> None:
    _, traits = grid_traits(4)
    mount(view_page, base_state(mode="grid", **traits))
    view_page.evaluate("() => renderView()")  # a second view of the same model
    both = view_page.evaluate("() => model.listenerCount()")
    assert both > 0 and both % 2 == 0

    view_page.evaluate("() => { views[0].cleanup(); window.dispatchEvent(new Event('resize')); }")
    assert view_page.evaluate("() => views[0].el.childElementCount") == 0
    assert view_page.evaluate("() => model.listenerCount()") == both // 2
    receive(view_page, mode="class")
    assert view_page.locator(".flashwidget").count() == 1
    assert view_page.locator(".fw-mode").input_value() == "class"

    view_page.evaluate("() => views[1].cleanup()")
    assert view_page.locator(".flashwidget").count() == 0
    shown = [m["shown"] for m in messages(view_page) if m["type"] == "view"]
    assert shown == [True, True, False, False]
    assert view_page.evaluate("() => model.listenerCount()") == 0
    on_calls, off_calls = view_page.evaluate("() => [model.onCalls, model.offCalls]")
    assert on_calls == off_calls == both
