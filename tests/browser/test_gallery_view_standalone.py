"""The gallery's bundled view, flashwidget/static/gallery.js, in headless Chromium, no Jupyter.

As test_feature_view_standalone.py does for FeatureWidget, on the same fake anywidget model and
page (view_harness.py), plus the gallery's custom messages: the view's "thumbnails" requests are
answered here with the payloads Python makes (``GalleryIndex.thumbnail_payload``), delivered as
anywidget delivers a custom message, buffers as DataViews at odd offsets. Every trait value and
payload comes from a real ``Gallery`` on a small batch result, and the pixels expected at alpha 1
are coloured here with flashwidget's own functions, so the JavaScript half is held to the Python
half. The class names and a folder name hold markup, which must show as text.

Debian's chromium is required: a missing or broken one fails these tests, never skips them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page
from test_batch import image_folder, tiny_model, to_tensor
from view_harness import STATIC, to_js, view_page_for

from flashwidget.batch import explain_dataset
from flashwidget.batch.encoding import decode_map
from flashwidget.colormaps import colormap_lut
from flashwidget.gallery import Gallery
from flashwidget.pixels import clip_scale, map_levels

SIDE = 160  # js/gallery_grid.js: a thumbnail's longer side in CSS pixels
PAGE = 6
# Class names and a folder that a view writing them as HTML would run.
LABELS = [f"kind {i} <img src=x onerror=window.pwned={i}>" for i in range(10)]
MARKUP_FOLDER = "<img src=x onerror=window.pwned=99>"

# What the gallery's tests add to the fake model's page (view_harness.py).
GALLERY_JS = r"""
// A host as anywidget 0.11 gives render: getWidget(ref) renders a stand-in child view.
window.fakeHost = {
  async getWidget(ref) {
    return {
      async render({ el, signal }) {
        const child = document.createElement("div");
        child.className = "child-view";
        child.textContent = ref;
        el.append(child);
        signal.addEventListener("abort", () => child.remove());
      },
    };
  },
};

window.tiles = () =>
  [...document.querySelectorAll(".fw-g-tile")].map((tile) => ({
    position: Number(tile.dataset.position),
    outcome: tile.dataset.outcome,
    loaded: tile.dataset.loaded === "true",
    disabled: tile.disabled,
    text: [...tile.querySelectorAll(".fw-g-source, .fw-g-lines > span")].map((s) => s.textContent),
  }));
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> Path:
    """Thirteen images: two class folders the model knows (one named in markup), three at the
    top, one broken; with faithfulness scores."""
    root = tmp_path_factory.mktemp("gallery")
    data = image_folder(root / "data", {LABELS[3]: 4, LABELS[7]: 2, MARKUP_FOLDER: 3, "": 3})
    (data / "broken.jpg").write_bytes(b"not an image")
    explain_dataset(
        tiny_model(), data, root / "out", top_k=2, batch_size=8, labels=LABELS,
        transform=to_tensor, progress=False, deletion=True,
    )  # fmt: skip
    return root / "out"


@pytest.fixture(scope="module")
def rows(result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (result / "index.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def failed(rows) -> int:
    """The position of the broken file, on the first page."""
    [position] = [row["position"] for row in rows if row["error"] is not None]
    assert position < PAGE and position not in (1, 2, 4, 5), "the tests use those as good ones"
    return position


@pytest.fixture
def view_page(browser: Browser) -> Iterator[Page]:
    """A fresh page with gallery.js imported; fails the test on any script error.

    Binary traits and buffers start at an odd offset; each render waits two animation frames.
    """
    with view_page_for(
        browser,
        STATIC / "gallery.js",
        title="Gallery view",
        extra_js=GALLERY_JS,
        byte_offset=9,
        settle=True,
    ) as page:
        yield page


# Driving the page -------------------------------------------------------------------------------


def mount(page: Page, gallery: Gallery, host: bool = False, **overrides: Any) -> None:
    """Render the view on ``gallery``'s state as Python syncs it (with ``overrides``)."""
    state = {**gallery.get_state(), **overrides}
    page.evaluate(
        "([state, host]) => mount(state, host ? fakeHost : undefined)", [to_js(state), host]
    )


def take_messages(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("() => model.messages.splice(0)")


def answer(page: Page, gallery: Gallery, requests: list[dict[str, Any]]) -> None:
    """Answer the view's thumbnail requests as the kernel would; wait until they are drawn."""
    for request in requests:
        assert request["type"] == "thumbnails"
        payload, buffers = gallery._index.thumbnail_payload(request["positions"])
        page.evaluate("([c, b]) => reply(c, b)", [to_js(payload), [to_js(b) for b in buffers]])
    page.wait_for_function("() => tiles().every((tile) => tile.loaded)")
    page.evaluate("() => frames()")


def show_all(page: Page, gallery: Gallery) -> list[dict[str, Any]]:
    """Answer what the view asks for now; the tiles on show."""
    answer(page, gallery, take_messages(page))
    return page.evaluate("() => tiles()")


def positions(page: Page) -> list[int]:
    return [tile["position"] for tile in page.evaluate("() => tiles()")]


def expected(rows: list[dict], keep=lambda row: True, key=None) -> list[int]:
    """Positions of the first page as the view should order them, computed here."""
    kept = [row for row in rows if keep(row)]
    if key is not None:
        kept.sort(key=lambda row: (key(row) is None, key(row) or 0, row["position"]))
    return [row["position"] for row in kept][:PAGE]


def canvas_of(position: int) -> str:
    return f'.fw-g-tile[data-position="{position}"] canvas'


def pixels(page: Page, position: int, height: int, width: int) -> np.ndarray:
    """The tile's picture at source size: the centre of each enlarged source pixel."""
    handle = page.locator(canvas_of(position)).element_handle()
    flat = page.evaluate(
        "([canvas, width, height]) => sample(canvas, width, height, 0.5)", [handle, width, height]
    )
    return np.array(flat, dtype=np.uint8).reshape(height, width, 4)


def coloured_map(result: Path, row: dict[str, Any], colormap: str = "viridis") -> np.ndarray:
    """The thumbnail's map as SaliencyWidget colours it by default: |value|, clipped at 99.5."""
    entry = row["maps"][0]
    with Image.open(result / entry["file"]) as png:
        values = decode_map(np.asarray(png), entry["scale"])
    levels = map_levels(values, "absolute", clip_scale([values], "absolute", 99.5))
    return colormap_lut(colormap)[levels]


# 1. Thumbnails ----------------------------------------------------------------------------------


def test_thumbnails_show_the_map_python_stored_coloured_as_saliencywidget_does(
    view_page: Page, result: Path, rows, failed
) -> None:
    gallery = Gallery(result, page_size=PAGE, alpha=1.0)
    mount(view_page, gallery)
    shown = show_all(view_page, gallery)
    assert [tile["position"] for tile in shown] == list(range(PAGE))
    broken = shown[failed]
    assert broken["disabled"] and broken["outcome"] == "failed"
    assert broken["text"][0] == "broken.jpg" and "not a readable image" in broken["text"][1]
    for tile in (tile for tile in shown if tile is not broken):
        row = rows[tile["position"]]
        drawn = pixels(view_page, tile["position"], 32, 32)
        assert drawn.std() > 10, "a picture, not a flat tile"
        np.testing.assert_array_equal(drawn, coloured_map(result, row))  # alpha 1: the map
        label, probability = row["predictions"][0]["label"], row["predictions"][0]["probability"]
        assert tile["text"][0] == row["source"]
        assert tile["text"][1].startswith(f"{label} · ") and tile["text"][1].endswith("%")
        assert abs(float(tile["text"][1].split(" · ")[1][:-1]) - 100 * probability) < 0.5
        assert ("deletion AUC " + f"{row['deletion_auc']:.3f}") in tile["text"]
    box = view_page.locator(canvas_of(1)).bounding_box()
    assert (box["width"], box["height"]) == (SIDE, SIDE)

    view_page.fill(".fw-g-alpha", "0")  # alpha 0: the image, drawn at once, sent throttled
    view_page.evaluate("() => frames()")
    row = rows[1]
    with Image.open(result / row["image"]) as jpeg:
        photo = np.asarray(jpeg.convert("RGB")).astype(int)
    drawn = pixels(view_page, 1, 32, 32)
    assert np.abs(drawn[..., :3].astype(int) - photo).max() <= 3  # two JPEG decoders
    view_page.wait_for_timeout(300)
    sent = view_page.evaluate("() => model.calls.filter((c) => c.name === 'alpha')")
    assert sent[-1]["value"] == 0


def test_a_colormap_change_recolours_from_the_new_table(view_page: Page, result, rows) -> None:
    gallery = Gallery(result, page_size=PAGE, alpha=1.0)
    mount(view_page, gallery)
    show_all(view_page, gallery)
    view_page.select_option(".fw-g-colormap", "magma")
    calls = view_page.evaluate("() => model.calls")
    assert [(c["op"], c["name"], c["value"]) for c in calls] == [
        ("set", "colormap", "magma"),
        ("save_changes", None, None),
    ]
    gallery.colormap = "magma"  # what Python does with it: a new table
    view_page.evaluate("(lut) => receive({lut_bytes: lut})", to_js(gallery.lut_bytes))
    np.testing.assert_array_equal(
        pixels(view_page, 2, 32, 32), coloured_map(result, rows[2], "magma")
    )


# 2. Filters, sorting, paging --------------------------------------------------------------------


def test_filters_change_which_thumbnails_show(view_page: Page, result, rows, failed) -> None:
    gallery = Gallery(result, page_size=PAGE)
    mount(view_page, gallery)
    show_all(view_page, gallery)
    page = view_page

    page.select_option(".fw-g-outcome", "failed")
    assert positions(page) == [failed]
    page.select_option(".fw-g-outcome", "incorrect")
    assert positions(page) == expected(rows, lambda row: row["correct"] is False)
    page.select_option(".fw-g-outcome", "all")

    page.select_option(".fw-g-true", LABELS[3])
    assert positions(page) == expected(rows, lambda row: row["true_label"] == LABELS[3])
    assert len(positions(page)) == 4
    page.select_option(".fw-g-true", "")

    top = rows[5]["predictions"][0]["class"]
    page.select_option(".fw-g-predicted", str(top))
    want = expected(
        rows, lambda row: bool(row["predictions"]) and row["predictions"][0]["class"] == top
    )
    assert positions(page) == want and 5 in want
    page.select_option(".fw-g-predicted", "-1")

    confidences = sorted({row["confidence"] for row in rows if row["confidence"] is not None})
    middle = len(confidences) // 2
    low = round((confidences[middle - 1] + confidences[middle]) / 2, 6)  # between two images
    page.fill(".fw-g-low", str(low))
    page.press(".fw-g-low", "Enter")
    assert page.evaluate("() => model.get('confidence_range')") == [low, 1]
    assert positions(page) == expected(
        rows, lambda row: row["confidence"] is not None and row["confidence"] > low
    )
    page.fill(".fw-g-high", "0.01")  # below low: not sent, the inputs show the traits again
    page.press(".fw-g-high", "Enter")
    assert page.evaluate("() => model.get('confidence_range')") == [low, 1]
    assert page.locator(".fw-g-high").input_value() == "1"

    counts = page.locator(".fw-g-outcome option").all_text_contents()
    assert counts[0] == "All images (13)" and counts[3] == "Failed (1)"


def test_sorting_orders_the_thumbnails(view_page: Page, result, rows, failed) -> None:
    gallery = Gallery(result, page_size=PAGE)
    mount(view_page, gallery)
    page = view_page

    def confidence(row):
        return None if row["confidence"] is None else -np.float32(row["confidence"])

    page.select_option(".fw-g-sort", "confidence_desc")
    assert positions(page) == expected(rows, key=confidence)
    page.select_option(".fw-g-sort", "confidence_asc")
    assert positions(page) == expected(
        rows, key=lambda row: None if row["confidence"] is None else np.float32(row["confidence"])
    )
    page.select_option(".fw-g-sort", "deletion_auc_asc")
    auc = expected(rows, key=lambda row: row.get("deletion_auc"))
    assert positions(page) == auc and failed not in auc
    page.select_option(".fw-g-sort", "position")
    assert positions(page) == list(range(PAGE))


def test_faithfulness_sorting_is_disabled_without_scores(view_page: Page, result) -> None:
    gallery = Gallery(result)
    mount(view_page, gallery, has_auc=False)
    disabled = view_page.locator(".fw-g-sort option:disabled")
    assert disabled.evaluate_all("(os) => os.map((o) => o.value)") == [
        "deletion_auc_asc",
        "deletion_auc_desc",
    ]
    assert "no faithfulness scores" in (disabled.first.get_attribute("title") or "")
    incorrect = view_page.locator(".fw-g-outcome option[value=incorrect]")
    assert not incorrect.is_disabled()


def test_paging_asks_only_for_the_thumbnails_on_show(view_page: Page, result) -> None:
    gallery = Gallery(result, page_size=PAGE)
    mount(view_page, gallery)
    page = view_page
    first = take_messages(page)
    assert first == [{"type": "thumbnails", "positions": [0, 1, 2, 3, 4, 5]}]
    answer(page, gallery, first)
    assert page.locator(".fw-g-where").text_content() == "Page 1 of 3 · 13 of 13 images"
    assert page.locator(".fw-g-previous").is_disabled()

    page.click(".fw-g-next")
    second = take_messages(page)
    assert second == [{"type": "thumbnails", "positions": [6, 7, 8, 9, 10, 11]}]
    answer(page, gallery, second)
    page.click(".fw-g-next")
    assert take_messages(page) == [{"type": "thumbnails", "positions": [12]}]
    assert page.locator(".fw-g-next").is_disabled()
    page.click(".fw-g-previous")
    assert take_messages(page) == [], "a page seen before is drawn from what came then"
    assert page.evaluate("() => tiles().every((tile) => tile.loaded)")

    page.select_option(".fw-g-page-size", "12")  # 0..11 were all seen: nothing to ask
    assert take_messages(page) == [] and positions(page) == list(range(12))


# 3. Text, opening, cleanup ----------------------------------------------------------------------


def test_markup_in_names_and_files_shows_as_text(view_page: Page, result, rows) -> None:
    gallery = Gallery(result, page_size=24)
    mount(view_page, gallery)
    shown = show_all(view_page, gallery)
    page = view_page
    assert page.evaluate("() => window.pwned") is None
    assert page.locator(".fw-gallery img").count() == 0
    texts = [text for tile in shown for text in tile["text"]]
    assert f"true: {MARKUP_FOLDER}" in texts
    assert any(text.startswith(f"{MARKUP_FOLDER}/") for text in texts)
    assert any("<img src=x onerror=window.pwned=" in text for text in texts[1:] if " · " in text)
    options = page.locator(".fw-g-true option").all_text_contents()
    assert f"{MARKUP_FOLDER} (3)" in options
    predicted = page.locator(".fw-g-predicted option").all_text_contents()
    assert all("<img src=x" in text for text in predicted[1:])
    page.wait_for_timeout(100)  # an onerror handler would have run by now
    assert page.evaluate("() => window.pwned") is None


def test_a_click_asks_python_to_open_and_the_opened_widget_shows_inside(
    view_page: Page, result, rows, failed
) -> None:
    gallery = Gallery(result, page_size=PAGE)
    mount(view_page, gallery, host=True)
    page = view_page
    show_all(view_page, gallery)
    page.click(f'.fw-g-tile[data-position="{failed}"]', force=True)  # disabled: sends nothing
    page.click('.fw-g-tile[data-position="4"]')
    assert take_messages(page) == [{"type": "open", "position": 4}]
    assert page.locator(".fw-g-opened").is_hidden()

    page.evaluate("() => receive({opened: 'anywidget:abc123', opened_position: 4})")
    assert page.locator(".fw-g-opened-view .child-view").text_content() == "anywidget:abc123"
    assert page.locator(".fw-g-opened-title").text_content() == f"Image 4: {rows[4]['source']}"
    assert page.locator('.fw-g-tile[data-position="4"]').get_attribute("data-opened") == "true"
    assert page.locator(".fw-g-opened-note").is_hidden()
    page.evaluate("() => receive({opened: 'anywidget:def456', opened_position: 5})")
    assert page.locator(".child-view").all_text_contents() == ["anywidget:def456"]


def test_without_a_host_or_a_kernel(view_page: Page, result) -> None:
    gallery = Gallery(result, page_size=PAGE)
    mount(view_page, gallery, can_open=False)
    page = view_page
    show_all(view_page, gallery)
    page.click('.fw-g-tile[data-position="4"]')
    assert take_messages(page) == [], "a page without a kernel opens nothing"
    page.evaluate("() => receive({opened: 'anywidget:abc123', opened_position: 4})")
    note = page.locator(".fw-g-opened-note")
    assert note.is_visible() and "g.opened" in note.text_content()


def test_status_error_and_cleanup(view_page: Page, result) -> None:
    gallery = Gallery(result, page_size=PAGE)
    mount(view_page, gallery)
    page = view_page
    assert page.locator(".fw-gallery > .fw-status").text_content() == gallery.status
    error = page.locator(".fw-gallery > .fw-error")
    assert error.is_hidden()
    page.evaluate("() => receive({error: 'ValueError: <b>no</b>', status: 'Error: x'})")
    assert error.is_visible() and error.text_content() == "ValueError: <b>no</b>"
    assert page.evaluate("() => model.listenerCount()") > 0
    page.evaluate("() => views[0].cleanup()")
    assert page.locator(".fw-gallery").count() == 0
    assert page.evaluate("() => model.listenerCount()") == 0
