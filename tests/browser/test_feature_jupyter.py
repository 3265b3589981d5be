"""The feature widget end to end in JupyterLab, as a user meets it: ``examples/features.ipynb``
opened and run in headless Chromium. While the optimisation runs, frames reach the canvas and
the kernel answers another cell; the Stop button stops it; a channel picked in the view starts
a new rendering."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from harness import (
    JupyterServer,
    canvas_pixels,
    jupyter_server,
    open_notebook,
    run_all_cells,
    settle,
)
from playwright.sync_api import Page, expect

FEATURES = Path(__file__).resolve().parents[2] / "examples" / "features.ipynb"
VIEW = ".flashwidget.fw-features"
TILE = f"{VIEW} .fw-tile canvas"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[JupyterServer]:
    root = tmp_path / "notebooks"
    root.mkdir()
    with jupyter_server("lab", root, [FEATURES]) as running:
        yield running


def tile_pixels(page: Page) -> np.ndarray:
    box = page.locator(TILE).first.evaluate("c => [c.width, c.height]")
    return canvas_pixels(page, TILE, box[0], box[1])


def test_frames_stream_the_kernel_answers_and_stop_stops(server: JupyterServer, page: Page) -> None:
    open_notebook(page, server, FEATURES.name)
    run_all_cells(page)
    view = page.locator(VIEW)
    expect(view).to_have_count(1, timeout=120_000)
    expect(view.locator(".fw-stop")).to_be_visible(timeout=120_000)  # running
    expect(view.locator(".fw-progress")).to_be_visible()

    frames = [tile_pixels(page)]
    for _ in range(100):  # frames keep arriving while it runs
        page.wait_for_timeout(300)
        frames.append(tile_pixels(page))
        if len({frame.tobytes() for frame in frames}) >= 3:
            break
    assert len({frame.tobytes() for frame in frames}) >= 3, "the image sharpens as it runs"

    channel = view.locator(".fw-channel")  # a channel picked in the view: a new rendering
    channel.fill("5")
    channel.press("Enter")
    expect(view.locator(".fw-tile figcaption")).to_have_text("channel 5", timeout=30_000)
    expect(view.locator(".fw-status")).to_contain_text("channel 5: step")

    view.locator(".fw-stop").click()
    expect(view.locator(".fw-stop")).to_be_hidden(timeout=30_000)
    expect(view.locator(".fw-status")).to_contain_text("Stopped at channel 5")
    settle(page)
    stopped = tile_pixels(page)
    page.wait_for_timeout(1000)
    assert np.array_equal(tile_pixels(page), stopped), "nothing drawn after Stop"

    with server.kernel(FEATURES.name) as kernel:
        assert kernel.eval("w.running") is False and kernel.eval("w.channel") == 5
        kernel.run("w.run()")  # returns at once: the rendering runs between messages
        assert kernel.eval("21 * 2", timeout=30) == 42  # another cell, answered mid-run
        assert kernel.eval("w.running") is True and kernel.eval("w.error") == ""
        kernel.run("w.stop()")
        assert kernel.eval("w.running") is False
