"""SaliencyWidget.to_html's file in headless Chromium: opened from disk, with the network off.

The page must run the notebook's view on nothing but the file: the default model's maps for its
top 5 classes by Gradient and Grad-CAM, answered by the stand-in for the kernel. These tests
drive it as a person would and read the canvas back: every control that the page can answer
changes the picture, and draws exactly what flashwidget's Python functions say the notebook
draws; what it cannot answer says so in the view; nothing is requested from any network, and
no script error or console error occurs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from harness import canvas_pixels
from playwright.sync_api import Browser, Page
from view_harness import offline_page

from flashwidget import models
from flashwidget.colormaps import colormap_lut
from flashwidget.pixels import saliency_levels
from flashwidget.widget import SaliencyWidget

SIDE = 224
OVERLAY = ".flashwidget .fw-overlay"
HOSTILE = "</script><b>bold</b> & http://example.com/x.js"
KERNEL = "needs the widget in a running kernel"


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, SaliencyWidget]]:
    """The default model's widget, and its page: top 5 classes by Gradient and Grad-CAM."""
    model, transform, labels = models.default_classifier()
    labels[652] = HOSTILE  # "military uniform", third of the top 5: shown as text, or not at all
    widget = SaliencyWidget(model, models.sample_image(), transform=transform, labels=labels)
    path = widget.to_html(tmp_path_factory.mktemp("page") / "saliency.html", methods=["gradcam"])
    yield path, widget
    widget.close()


@pytest.fixture
def offline(browser: Browser, page_file: tuple[Path, SaliencyWidget]) -> Iterator[Page]:
    """The page opened by its file:// URL in an offline context that aborts any other request;
    fails the test on a request made elsewhere, a script error or a console error."""
    path, _ = page_file
    with offline_page(browser, path, OVERLAY) as page:
        yield page


def settle(page: Page) -> None:
    """Let the stand-in answer the last change and the view redraw (two animation frames)."""
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def drawn(page: Page, selector: str = OVERLAY) -> np.ndarray:
    """What the canvas shows once the view is settled."""
    settle(page)
    return canvas_pixels(page, selector, SIDE, SIDE)


def expected(
    widget: SaliencyWidget, values: bytes, colormap: str = "viridis", alpha: float = 0.5
) -> np.ndarray:
    """The overlay the notebook draws: the map's levels coloured and blended over the image."""
    image = np.frombuffer(widget.image_bytes, dtype=np.uint8).reshape(SIDE, SIDE, 4)
    levels = saliency_levels(np.frombuffer(values, dtype="<f4").reshape(SIDE, SIDE))
    colours = colormap_lut(colormap)[levels]
    return (1 - alpha) * image.astype(np.float64) + alpha * colours.astype(np.float64)


def assert_close(actual: np.ndarray, wanted: np.ndarray) -> None:
    difference = np.abs(actual.astype(np.float64) - wanted)
    assert difference.max() <= 1.0, f"off by up to {difference.max()}"


def text(page: Page, selector: str) -> str:
    return page.locator(selector).text_content() or ""


def set_slider(page: Page, selector: str, value: float) -> None:
    page.locator(selector).evaluate(
        "(slider, value) => { slider.value = String(value);"
        " slider.dispatchEvent(new Event('input', { bubbles: true })); }",
        value,
    )


def test_the_page_draws_what_the_notebook_draws(
    offline: Page, page_file: tuple[Path, SaliencyWidget]
) -> None:
    _, widget = page_file
    assert_close(drawn(offline), expected(widget, widget.map_values))
    second = widget.predictions[1]["index"]
    offline.select_option(".fw-class", str(second))
    widget.target = second  # the notebook, for comparison (no other test reads the widget)
    assert_close(drawn(offline), expected(widget, widget.map_values))
    offline.select_option(".fw-method", "gradcam")
    widget.method = "gradcam"
    assert_close(drawn(offline), expected(widget, widget.map_values))
    offline.select_option(".fw-colormap", "magma")
    assert_close(drawn(offline), expected(widget, widget.map_values, "magma"))
    assert text(offline, ".fw-status-text") == widget.status.removesuffix(", from cache")


def test_every_control_the_page_answers_changes_the_picture(offline: Page) -> None:
    def changes(action, selector: str = OVERLAY) -> None:
        before = drawn(offline, selector)
        action()
        after = drawn(offline, selector)
        assert not np.array_equal(before, after)
        assert offline.locator(".fw-error").is_hidden(), text(offline, ".fw-error")

    changes(lambda: set_slider(offline, ".fw-alpha", 0.9))
    changes(lambda: offline.select_option(".fw-colormap", "magma"))
    changes(lambda: offline.select_option(".fw-sign", "all"))
    changes(lambda: offline.locator(".fw-clip").fill("90"))
    changes(lambda: offline.select_option(".fw-class", "400"))
    assert text(offline, ".fw-status-text").startswith("academic gown (class 400): Gradient")
    changes(lambda: offline.select_option(".fw-method", "gradcam"))
    assert text(offline, ".fw-status-text") == "academic gown (class 400): Grad-CAM"

    offline.select_option(".fw-method", "gradient")
    offline.select_option(".fw-view", "panels")
    settle(offline)
    panels = offline.locator(".flashwidget .fw-stage figure canvas")
    assert panels.count() == 4
    rgb = drawn(offline, ".flashwidget .fw-stage figure:nth-of-type(2) canvas")
    assert rgb[..., 3].min() == 255 and rgb[..., :3].std() > 10, "the RGB map is drawn"

    offline.select_option(".fw-view", "overlay")
    offline.select_option(".fw-compare", "method")  # Grad-CAM beside Gradient
    settle(offline)
    pair = offline.locator(".flashwidget .fw-pair")
    assert pair.count() == 2
    assert text(offline, ".fw-compare-b + figcaption") == "Grad-CAM"
    first, second = drawn(offline, ".fw-compare-a"), drawn(offline, ".fw-compare-b")
    assert not np.array_equal(first, second)
    changes(lambda: offline.select_option(".fw-compare", "class"), ".fw-compare-b")


def test_what_was_not_precomputed_says_it_needs_a_kernel(offline: Page) -> None:
    error = offline.locator(".fw-error")
    before = drawn(offline)

    offline.select_option(".fw-method", "integrated_gradients")
    assert drawn(offline).tobytes() == before.tobytes()
    assert error.is_visible()
    assert text(offline, ".fw-error").startswith(
        "Integrated Gradients was not precomputed for this page, which holds Gradient and "
        "Grad-CAM maps; other methods need the widget in a running kernel"
    )
    assert offline.locator(".fw-method").input_value() == "gradient", "the menu is set back"

    offline.locator(".fw-search").fill("tench")
    offline.locator(".fw-search").press("Enter")
    settle(offline)
    assert text(offline, ".fw-error").startswith("tench (class 0) was not precomputed")
    assert offline.locator(".fw-class").input_value() == "667"

    offline.select_option(".fw-method", "gradcam")  # an answered change ends the message
    settle(offline)
    assert error.is_hidden()
    offline.select_option(".fw-option-layer", index=1)
    settle(offline)
    assert text(offline, ".fw-error").startswith(f"Changing a method's options {KERNEL}")
    assert offline.locator(".fw-option-layer").input_value() == ""

    offline.select_option(".fw-method", "gradient")
    offline.locator(".fw-take-max").click()
    settle(offline)
    assert text(offline, ".fw-error").startswith("Switching between max |value| and the sum")
    assert offline.locator(".fw-take-max").is_checked()

    offline.locator(".fw-check-run").click()
    settle(offline)
    assert text(offline, ".fw-check-status").startswith(f"Checking a map {KERNEL}")


def test_class_names_are_shown_as_text(offline: Page) -> None:
    option = offline.locator(".fw-class option[value='652']")
    assert (option.text_content() or "").startswith(HOSTILE)
    assert offline.locator(".flashwidget b").count() == 0
    offline.select_option(".fw-class", "652")
    settle(offline)
    assert text(offline, ".fw-status-text").startswith(f"{HOSTILE} (class 652): Gradient")
