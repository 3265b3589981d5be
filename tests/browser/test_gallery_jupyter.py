"""The gallery end to end in JupyterLab and Notebook 7, as a user meets it:
``examples/gallery.ipynb`` (a small batch result made in the notebook, then ``fw.Gallery``)
opened and run in headless Chromium. The thumbnails arrive and show pictures, a filter chosen in
the view reaches Python and changes what shows, and a click opens the image in a SaliencyWidget
drawn inside the gallery (anywidget's ``host.getWidget``, which both front ends provide)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import (
    APPS,
    JupyterServer,
    canvas_pixels,
    jupyter_server,
    open_notebook,
    run_all_cells,
)
from playwright.sync_api import Page, expect

GALLERY = Path(__file__).resolve().parents[2] / "examples" / "gallery.ipynb"
VIEW = ".flashwidget.fw-gallery"
TILE = f"{VIEW} .fw-g-tile"
OPENED = f"{VIEW} .fw-g-opened-view .flashwidget .fw-overlay"


@pytest.fixture(params=APPS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JupyterServer]:
    """JupyterLab and Notebook 7: the opened widget is drawn through anywidget's host in both."""
    root = tmp_path / "notebooks"
    root.mkdir()
    with jupyter_server(request.param, root, [GALLERY]) as running:
        yield running


def test_thumbnails_a_filter_and_opening_an_image(server: JupyterServer, page: Page) -> None:
    open_notebook(page, server, GALLERY.name)
    run_all_cells(page)
    tiles = page.locator(TILE)
    expect(tiles).to_have_count(9, timeout=120_000)
    expect(page.locator(f"{TILE}[data-loaded=true]")).to_have_count(9, timeout=60_000)

    with server.kernel(GALLERY.name) as kernel:
        rows = kernel.eval(
            "[(r['position'], r['correct'], r['error'] is None) for r in g.results.rows]"
        )
        good = [position for position, _, ok in rows if ok]
        first = f'{TILE}[data-position="{good[0]}"] canvas'
        size = page.locator(first).evaluate("c => [c.width, c.height]")
        drawn = canvas_pixels(page, first, size[0], size[1])
        assert drawn[..., :3].std() > 10, "the thumbnail shows a picture"

        page.select_option(f"{VIEW} .fw-g-outcome", "correct")
        correct = sorted(position for position, right, _ in rows if right is True)
        kernel.wait_for(
            "g.outcome", lambda value: value == "correct", timeout=30, context="g.status"
        )
        expect(tiles).to_have_count(len(correct))
        shown = tiles.evaluate_all("(ts) => ts.map((t) => Number(t.dataset.position))")
        assert shown == correct and 0 < len(correct) < 8
        page.select_option(f"{VIEW} .fw-g-outcome", "all")
        expect(tiles).to_have_count(9)

        page.locator(f'{TILE}[data-position="{good[1]}"]').click()
        kernel.wait_for("g.opened_position", lambda value: value == good[1], timeout=60)
        assert kernel.eval("(g.opened.method, g.opened.take_max, g.error)") == (
            "gradient",
            False,
            "",
        )
        overlay = page.locator(OPENED)
        expect(overlay).to_be_visible(timeout=60_000)
        page.wait_for_function(
            "(selector) => document.querySelector(selector)?.width > 1", arg=OPENED
        )
        height, width = kernel.eval("g.opened.image_shape")
        image = canvas_pixels(page, OPENED, width, height)
        assert image[..., :3].std() > 10, "the opened SaliencyWidget shows the image and its map"
        title = page.locator(f"{VIEW} .fw-g-opened-title").text_content()
        assert title.startswith(f"Image {good[1]}: ")
    assert page.errors == []
