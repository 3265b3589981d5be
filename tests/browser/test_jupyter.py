"""End to end, as a user meets it: the quickstart notebook in JupyterLab and in Notebook 7.

Each test starts the real server on loopback, opens ``examples/quickstart.ipynb`` in headless
Chromium, runs all cells, then uses the controls (class, method and its options, alpha, compare
mode) and checks both sides:
the pixels on the canvas and the widget's state in the kernel. The quickstart displays the
widget twice, so every step also checks that the second view follows the first.

The kernel is read only once the page shows the kernel idle again, never polled while a change
from the view is in flight: ipykernel publishes the idle status of a widget message under the
parent of whatever shell request came last, so a second client's requests racing with it leave
ipywidgets waiting for an idle that never comes, and the view stops sending changes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from harness import (
    APPS,
    JupyterServer,
    KernelClient,
    canvas_pixels,
    jupyter_server,
    open_notebook,
    run_all_cells,
    settle,
    wait_for_kernel_idle,
)
from playwright.sync_api import Page, expect

from flashwidget.colormaps import colormap_lut
from flashwidget.pixels import clip_scale, map_levels

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart.ipynb"
VIEW = ".flashwidget"
OVERLAY = ".flashwidget .fw-overlay"


@pytest.fixture(params=APPS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JupyterServer]:
    root = tmp_path / "notebooks"
    root.mkdir()
    with jupyter_server(request.param, root, [QUICKSTART]) as running:
        yield running


@pytest.fixture
def kernel_and_page(server: JupyterServer, page: Page) -> Iterator[tuple[KernelClient, Page]]:
    """The quickstart opened and run: both views drawn, the kernel reachable from the test."""
    open_notebook(page, server, QUICKSTART.name)
    run_all_cells(page)
    expect(page.locator(OVERLAY)).to_have_count(2, timeout=120_000)
    with server.kernel(QUICKSTART.name) as kernel:
        wait_for_kernel_idle(page)
        yield kernel, page


def view(page: Page, index: int):
    return page.locator(VIEW).nth(index)


def overlay(page: Page, index: int, shape: tuple[int, int]) -> np.ndarray:
    return canvas_pixels(page, f"{VIEW} >> nth={index} >> .fw-overlay", shape[1], shape[0])


def kernel_values(kernel: KernelClient, trait: str) -> np.ndarray:
    """A map the widget sent (float32 values), as an (H, W) array."""
    height, width = kernel.eval("w.map_shape")
    raw = bytes.fromhex(kernel.eval(f"w.{trait}.hex()"))
    return np.frombuffer(raw, dtype="<f4").reshape(height, width)


def expected_map_colours(kernel: KernelClient, trait: str = "map_values") -> np.ndarray:
    """A map coloured in Python, from the values the widget sent, with the widget's sign, clip
    and colormap, on its own scale."""
    values = kernel_values(kernel, trait)
    sign, clip = kernel.eval("w.sign"), kernel.eval("w.clip_percentile")
    levels = map_levels(values, sign, clip_scale([values], sign, clip))
    return colormap_lut(kernel.eval("w.colormap"))[levels]


def wait_for_new_pixels(page: Page, before: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Poll the first view's canvas until it differs from ``before`` (10 s at most)."""
    for _ in range(200):
        now = overlay(page, 0, shape)
        if not np.array_equal(now, before):
            return now
        page.wait_for_timeout(50)
    raise AssertionError("the canvas did not change")


def test_quickstart_runs_and_every_control_reaches_both_sides(
    kernel_and_page: tuple[KernelClient, Page], server: JupyterServer, tmp_path: Path
) -> None:
    kernel, page = kernel_and_page
    shape = tuple(kernel.eval("w.image_shape"))
    assert shape == (224, 224)
    assert kernel.eval("w.error") == ""
    labels = [p["label"] for p in kernel.eval("w.predictions")]
    assert {"military uniform", "mortarboard"} <= set(labels)
    first = view(page, 0)
    expect(first.locator(".fw-status")).to_contain_text(labels[0].split(",")[0])
    expect(first.locator(".fw-class option")).to_have_count(5)

    # The picture at alpha 1 is exactly the map as matplotlib colours it.
    first.locator(".fw-alpha").fill("1")
    settle(page)
    assert kernel.eval("w.alpha") == 1.0
    np.testing.assert_array_equal(overlay(page, 0, shape), expected_map_colours(kernel))
    np.testing.assert_array_equal(overlay(page, 1, shape), overlay(page, 0, shape))
    expect(view(page, 1).locator(".fw-alpha")).to_have_value("1")

    # A class picked in the view: the kernel computes it, both views show it.
    before = overlay(page, 0, shape)
    second = kernel.eval("w.predictions[1]['index']")
    first.locator(".fw-class").select_option(str(second))
    expect(first.locator(".fw-status")).to_contain_text(f"(class {second})")
    settle(page)
    assert kernel.eval("w.target") == second
    after = wait_for_new_pixels(page, before, shape)
    assert not np.array_equal(after, before)
    expect(view(page, 1).locator(".fw-class")).to_have_value(str(second))
    np.testing.assert_array_equal(overlay(page, 0, shape), expected_map_colours(kernel))

    # Another method: guided backprop in the kernel, a different map on the canvas.
    before = overlay(page, 0, shape)
    first.locator(".fw-method").select_option("guided_backprop")
    expect(first.locator(".fw-status")).to_contain_text("Guided backprop")
    settle(page)
    assert kernel.eval("w.method") == "guided_backprop"
    wait_for_new_pixels(page, before, shape)
    expect(view(page, 1).locator(".fw-method")).to_have_value("guided_backprop")
    np.testing.assert_array_equal(overlay(page, 0, shape), expected_map_colours(kernel))

    # A method with an option set in the view: Integrated Gradients with 8 steps.
    before = overlay(page, 0, shape)
    first.locator(".fw-method").select_option("integrated_gradients")
    slow = 120_000  # Integrated Gradients runs 50 passes on a 2-core CPU
    expect(first.locator(".fw-status")).to_contain_text("Integrated Gradients,", timeout=slow)
    settle(page)
    steps = first.locator(".fw-option-steps")
    steps.fill("8")
    steps.press("Enter")
    expect(first.locator(".fw-status")).to_contain_text(
        "Integrated Gradients (steps=8)", timeout=slow
    )
    settle(page)
    assert kernel.eval("w.method_options") == {"steps": 8}
    wait_for_new_pixels(page, before, shape)
    np.testing.assert_array_equal(overlay(page, 0, shape), expected_map_colours(kernel))
    expect(view(page, 1).locator(".fw-option-steps")).to_have_value("8")

    # The sign, in the browser alone: the kernel only hears the value.
    first.locator(".fw-sign").select_option("positive")
    settle(page)
    assert kernel.eval("w.sign") == "positive"
    np.testing.assert_array_equal(overlay(page, 0, shape), expected_map_colours(kernel))
    first.locator(".fw-sign").select_option("absolute")
    settle(page)

    # Alpha 0 shows the input image alone, in both views.
    first.locator(".fw-alpha").fill("0")
    settle(page)
    assert kernel.eval("w.alpha") == 0.0
    image = np.frombuffer(bytes.fromhex(kernel.eval("w.image_bytes.hex()")), dtype=np.uint8)
    np.testing.assert_array_equal(overlay(page, 0, shape), image.reshape(*shape, 4))
    np.testing.assert_array_equal(overlay(page, 1, shape), image.reshape(*shape, 4))

    # Python to the views: setting the trait in the kernel updates both.
    third = kernel.eval("w.predictions[2]['index']")
    kernel.run(f"w.target = {third}; w.alpha = 0.6")
    for index in (0, 1):
        expect(view(page, index).locator(".fw-class")).to_have_value(str(third))
        expect(view(page, index).locator(".fw-alpha")).to_have_value("0.6")

    # A colormap chosen in Python reaches the views' menus; nothing went wrong on either side.
    kernel.run("w.colormap = 'magma'")
    expect(first.locator(".fw-colormap")).to_have_value("magma")
    assert kernel.eval("w.error") == ""
    assert page.errors == []

    # Compare mode: Integrated Gradients beside Grad-CAM, each on its own scale.
    first.locator(".fw-alpha").fill("1")
    first.locator(".fw-compare").select_option("method")
    expect(first.locator(".fw-compare-b")).to_have_count(1, timeout=slow)
    expect(first.locator(".fw-status")).to_contain_text("Integrated Gradients (steps=8)")
    settle(page)
    assert kernel.eval("w.compare") == "method" and kernel.eval("w.compare_caption") == "Grad-CAM"
    expect(first.locator("figcaption").nth(1)).to_have_text("Grad-CAM")
    for side, trait in (("a", "map_values"), ("b", "compare_values")):
        drawn = canvas_pixels(page, f"{VIEW} >> nth=0 >> .fw-compare-{side}", shape[1], shape[0])
        np.testing.assert_array_equal(drawn, expected_map_colours(kernel, trait))
    expect(view(page, 1).locator(".fw-compare-b")).to_have_count(1)
    assert kernel.eval("w.error") == ""
    assert page.errors == []

    screenshot = os.environ.get("FLASHWIDGET_SCREENSHOT")
    if server.app == "lab":
        kernel.run("w.alpha = 0.6")  # the photo under the maps, for the README's picture
        expect(first.locator(".fw-alpha")).to_have_value("0.6")
        path = Path(screenshot) if screenshot else tmp_path / "widget.png"
        first.screenshot(path=str(path))
        assert path.stat().st_size > 10_000


RECORD_CALLS = """
from flashwidget.methods import AttributionMethod
engine_calls = []
_explain = AttributionMethod.explain
def _recorded(self, inputs, target=None, **options):
    engine_calls.append([self.name, target])
    return _explain(self, inputs, target, **options)
AttributionMethod.explain = _recorded
w.method = "smoothgrad"
engine_calls.clear()
"""


def test_a_newer_request_supersedes_one_that_has_not_started(
    kernel_and_page: tuple[KernelClient, Page],
) -> None:
    """While a slow map is computed, two more classes are picked in the view: the kernel
    computes the slow one, then only the last pick, never the one in between."""
    kernel, page = kernel_and_page
    kernel.run(RECORD_CALLS)
    first = view(page, 0)
    expect(first.locator(".fw-method")).to_have_value("smoothgrad")
    shown = {p["index"] for p in kernel.eval("w.predictions")}
    slow, skipped, last = [i for i in range(1000) if i not in shown][:3]
    search = first.locator(".fw-search")
    for target in (slow, skipped, last):  # each pick while the kernel is busy with the first
        search.fill(str(target))
        search.press("Enter")
    expect(first.locator(".fw-status")).to_contain_text(f"(class {last})", timeout=120_000)
    settle(page)
    assert kernel.eval("engine_calls") == [["smoothgrad", slow], ["smoothgrad", last]]
    assert kernel.eval("w.target") == last and kernel.eval("w.error") == ""

    # A fast method not used before is prefetched for the top classes, one class a piece on
    # the kernel's event loop (so a click between two pieces is answered first).
    first.locator(".fw-method").select_option("input_x_gradient")
    expect(first.locator(".fw-status")).to_contain_text(f"(class {last}): Input x gradient")
    kernel.wait_for("len(engine_calls)", lambda count: count >= 8)
    settle(page)
    prefetched = kernel.eval("engine_calls")[3:]
    assert [name for name, _ in prefetched] == ["input_x_gradient"] * 5
    assert all(len(targets) == 1 for _, targets in prefetched), prefetched


def test_check_this_map_runs_in_the_background_and_shows_its_verdicts(
    kernel_and_page: tuple[KernelClient, Page],
) -> None:
    """ "Check this map" in the view: the kernel keeps answering the view while the check runs
    (a compare map is computed between two of its steps), then the badges and both charts
    appear; a class picked during a later check cancels it."""
    kernel, page = kernel_and_page
    kernel.run('w.method = "smoothgrad"')  # a map of 25 passes: the check lasts many steps
    first = view(page, 0)
    expect(first.locator(".fw-status")).to_contain_text("SmoothGrad", timeout=120_000)
    settle(page)
    first.locator(".fw-check-run").click()
    expect(first.locator(".fw-check-progress")).to_be_visible()
    expect(first.locator(".fw-check-run")).to_be_disabled()

    first.locator(".fw-compare").select_option("class")  # a request while the check runs
    expect(first.locator(".fw-compare-b")).to_have_count(1, timeout=60_000)
    expect(first.locator(".fw-check-progress")).to_be_visible()  # answered mid-check
    expect(first.locator(".fw-check-status")).to_contain_text("Checking the map")

    badges = first.locator(".fw-badge")
    expect(badges).to_have_count(3, timeout=300_000)
    expect(first.locator(".fw-check-progress")).to_be_hidden()
    expect(first.locator(".fw-check-status")).to_contain_text("Checked: ")
    expect(view(page, 1).locator(".fw-badge")).to_have_count(3)
    names = [badges.nth(i).get_attribute("data-check") for i in range(3)]
    assert names == ["randomization", "class", "faithfulness"]
    assert "passes below 0.5" in (badges.nth(0).get_attribute("title") or "")
    for chart, series in (("cascade", 2), ("curves", 2)):
        lines = first.locator(f"svg.fw-{chart}-chart polyline.fw-chart-line")
        expect(lines).to_have_count(series)
        assert len((lines.nth(0).get_attribute("points") or "").split()) > 5
    settle(page)
    result = kernel.eval("w.check_result")
    assert [b["passed"] for b in result["badges"]] == [
        badges.nth(i).get_attribute("data-passed") == "true" for i in range(3)
    ]
    note = kernel.eval("[s['note'] for s in w.method_specs if s['name'] == 'smoothgrad'][0]")
    assert note.startswith("checked on this model: randomisation")

    first.locator(".fw-check-run").click()
    expect(first.locator(".fw-check-progress")).to_be_visible()
    other = kernel.eval("w.predictions[2]['index']")
    first.locator(".fw-class").select_option(str(other))
    expect(first.locator(".fw-check-status")).to_have_text(
        "Check cancelled: the class changed", timeout=60_000
    )
    expect(first.locator(".fw-check-result")).to_be_hidden()
    expect(first.locator(".fw-status")).to_contain_text(f"(class {other})", timeout=60_000)
