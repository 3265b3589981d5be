"""A batch result's HTML report (flashwidget.gallery_page) in headless Chromium: opened from
disk, with the network off.

The page must run the notebook's gallery view on nothing but the file, its thumbnails answered
by the stand-in for the kernel from the payloads embedded in it. These tests drive it as a
person would and read the canvases back: the thumbnails are drawn as the notebook draws them
(the pixels expected are coloured here with flashwidget's own functions), alpha, colormap, the
filters, sorting and paging each change what is shown, a click opens nothing, names holding
markup show as text, nothing is requested from any network, and no script or console error
occurs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from harness import canvas_pixels
from PIL import Image
from playwright.sync_api import Browser, Page
from test_batch import image_folder, tiny_model, to_tensor
from test_gallery_view_standalone import MARKUP_FOLDER, PAGE, coloured_map, expected
from view_harness import offline_page

from flashwidget.batch import explain_dataset
from flashwidget.batch.journal import INDEX
from flashwidget.gallery_page import write_gallery_page

SOURCE = 32  # test_batch.to_tensor's images: 32 x 32
# Class names that a page writing them as HTML would run, or that end its script element and
# name a URL; folders (true labels) cannot hold a slash, so they use the first kind.
LABELS = [
    f"kind {i} <img src=x onerror=window.pwned={i}>"
    if i % 2 == 0
    else f"kind {i} </script><b>bold</b> http://example.com/{i}.js"
    for i in range(10)
]
TILES = ".fw-g-tile"


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Thirteen images: a class folder the model knows, one named in markup, three at the top
    and a broken file; with faithfulness scores."""
    root = tmp_path_factory.mktemp("report")
    data = image_folder(root / "data", {LABELS[4]: 5, MARKUP_FOLDER: 4, "": 3})
    (data / "broken.jpg").write_bytes(b"not an image")
    explain_dataset(
        tiny_model(), data, root / "out", top_k=2, batch_size=8, labels=LABELS,
        transform=to_tensor, progress=False, deletion=True,
    )  # fmt: skip
    return root / "out"


@pytest.fixture(scope="module")
def rows(result: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (result / INDEX).read_text().splitlines()]


@pytest.fixture(scope="module")
def report(result: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every image, six a page, the maps drawn opaque (so the pixels are the map's colours)."""
    path = tmp_path_factory.mktemp("page") / "report.html"
    return write_gallery_page(result, path, limit=None, page_size=PAGE, alpha=1.0)


@contextmanager
def opened(browser: Browser, path: Path) -> Iterator[Page]:
    """The page opened by its file:// URL in an offline context that aborts any other request,
    its first thumbnails drawn; fails the test on a request made elsewhere, a script error or a
    console error."""
    with offline_page(browser, path, TILES) as page:
        loaded(page)
        yield page


@pytest.fixture
def offline(browser: Browser, report: Path) -> Iterator[Page]:
    with opened(browser, report) as page:
        yield page


def loaded(page: Page) -> None:
    """Wait until every thumbnail on show has its picture, then for two animation frames."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('.fw-g-tile')]"
        ".every((tile) => tile.dataset.loaded === 'true')"
    )
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def positions(page: Page) -> list[int]:
    loaded(page)
    return [
        int(p)
        for p in page.locator(TILES).evaluate_all("(ts) => ts.map((t) => t.dataset.position)")
    ]


def drawn(page: Page, position: int) -> np.ndarray:
    loaded(page)
    selector = f'{TILES}[data-position="{position}"] canvas'
    return canvas_pixels(page, selector, SOURCE, SOURCE)


def texts(page: Page, position: int) -> list[str]:
    """A thumbnail's captions: its source, then its lines."""
    tile = page.locator(f'{TILES}[data-position="{position}"]')
    return tile.locator(".fw-g-source, .fw-g-lines > span").all_text_contents()


def set_alpha(page: Page, value: float) -> None:
    page.locator(".fw-g-alpha").evaluate(
        "(slider, value) => { slider.value = String(value);"
        " slider.dispatchEvent(new Event('input', { bubbles: true })); }",
        value,
    )


def good_positions(rows: list[dict[str, Any]]) -> list[int]:
    return [row["position"] for row in rows[:PAGE] if row["error"] is None]


# Drawing ---------------------------------------------------------------------------------------


def test_thumbnails_are_drawn_as_the_notebook_draws_them(offline: Page, result, rows) -> None:
    assert positions(offline) == list(range(PAGE))
    for position in good_positions(rows):
        picture = drawn(offline, position)
        assert picture.std() > 10, "a picture, not a flat tile"
        np.testing.assert_array_equal(picture, coloured_map(result, rows[position]))
        row = rows[position]
        label, probability = row["predictions"][0]["label"], row["predictions"][0]["probability"]
        source, prediction, *_ = texts(offline, position)
        assert source == row["source"] and prediction.startswith(f"{label} · ")
        assert abs(float(prediction.split(" · ")[1][:-1]) - 100 * probability) < 0.5
    [failed] = [row for row in rows if row["error"] is not None]
    tile = offline.locator(f'{TILES}[data-position="{failed["position"]}"]')
    assert tile.is_disabled() and "not a readable image" in (tile.text_content() or "")
    box = offline.locator(f'{TILES}[data-position="{good_positions(rows)[0]}"] canvas')
    assert box.bounding_box()["width"] == 160  # js/gallery_grid.js's SIDE


def test_alpha_and_colormap_change_the_pixels(offline: Page, result, rows) -> None:
    position = good_positions(rows)[0]
    before = drawn(offline, position)
    set_alpha(offline, 0.0)  # the image alone
    photo = drawn(offline, position)
    assert not np.array_equal(before, photo)
    with Image.open(result / rows[position]["image"]) as jpeg:
        stored = np.asarray(jpeg.convert("RGB")).astype(int)
    assert np.abs(photo[..., :3].astype(int) - stored).max() <= 3  # two JPEG decoders

    set_alpha(offline, 1.0)
    np.testing.assert_array_equal(drawn(offline, position), before)
    offline.select_option(".fw-g-colormap", "magma")  # answered with magma's embedded table
    magma = drawn(offline, position)
    assert not np.array_equal(before, magma)
    np.testing.assert_array_equal(magma, coloured_map(result, rows[position], "magma"))
    assert offline.locator(".fw-gallery > .fw-error").is_hidden()


def test_filters_sorting_and_paging_change_which_thumbnails_show(offline: Page, rows) -> None:
    page = offline
    assert page.locator(".fw-g-where").text_content() == "Page 1 of 3 · 13 of 13 images"
    page.select_option(".fw-g-outcome", "failed")
    assert positions(page) == [row["position"] for row in rows if row["error"] is not None]
    page.select_option(".fw-g-outcome", "all")

    page.select_option(".fw-g-true", LABELS[4])
    assert positions(page) == expected(rows, lambda row: row["true_label"] == LABELS[4])
    page.select_option(".fw-g-true", "")

    top = [row for row in rows if row["predictions"]][-1]["predictions"][0]["class"]
    page.select_option(".fw-g-predicted", str(top))
    assert positions(page) == expected(
        rows, lambda row: bool(row["predictions"]) and row["predictions"][0]["class"] == top
    )
    page.select_option(".fw-g-predicted", "-1")

    page.select_option(".fw-g-sort", "confidence_desc")
    by_confidence = expected(
        rows, key=lambda row: None if row["confidence"] is None else -np.float32(row["confidence"])
    )
    assert positions(page) == by_confidence != list(range(PAGE))
    page.select_option(".fw-g-sort", "deletion_auc_asc")
    assert positions(page) == expected(rows, key=lambda row: row.get("deletion_auc"))
    page.select_option(".fw-g-sort", "position")

    page.click(".fw-g-next")  # thumbnails the page had not shown yet, answered from the file
    assert positions(page) == list(range(PAGE, 2 * PAGE))
    assert page.locator(".fw-g-where").text_content() == "Page 2 of 3 · 13 of 13 images"
    page.click(".fw-g-next")
    assert positions(page) == [12] and page.locator(".fw-g-next").is_disabled()
    page.select_option(".fw-g-page-size", "24")
    assert positions(page) == list(range(13))


def test_a_click_opens_nothing_and_markup_shows_as_text(offline: Page, rows) -> None:
    page = offline
    page.click(f'{TILES}[data-position="{good_positions(rows)[0]}"]')
    page.wait_for_timeout(100)  # an answer, or an onerror handler, would have come by now
    assert page.locator(".fw-g-opened").is_hidden()
    assert page.locator(".fw-gallery > .fw-error").is_hidden()
    status = page.locator(".fw-gallery > .fw-status").text_content() or ""
    assert status == (
        "All 13 images, 1 failed; gradient. Exploring an image needs flashwidget.Gallery in a "
        "notebook."
    )
    assert page.evaluate("() => window.pwned") is None
    assert page.locator(".fw-gallery img").count() == 0
    page.select_option(".fw-g-true", MARKUP_FOLDER)  # the folder's images, named in markup
    shown = positions(page)
    assert shown and all(texts(page, p)[0].startswith(f"{MARKUP_FOLDER}/") for p in shown)
    assert f"true: {MARKUP_FOLDER}" in texts(page, shown[0])
    predicted = page.locator(".fw-g-predicted option").all_text_contents()
    assert {text.split(" (class ")[0] for text in predicted[1:]} <= set(LABELS)
    assert any("</script><b>bold</b> http://example.com/" in text for text in predicted)
    page.select_option(".fw-g-true", "")
    page.select_option(".fw-g-outcome", "incorrect")
    lines = [line for p in positions(page) for line in texts(page, p)]
    assert any("</script><b>bold</b>" in line for line in lines), "a label shown in a tile"
    assert page.locator(".fw-gallery b").count() == 0
    assert page.evaluate("() => window.pwned") is None


def test_a_page_of_the_first_images_says_so(browser: Browser, result, tmp_path) -> None:
    path = tmp_path / "first.html"
    with pytest.warns(UserWarning, match="the first 4 of 13"):
        write_gallery_page(result, path, limit=4, colormap="magma", sort="confidence_asc")
    with opened(browser, path) as page:
        assert sorted(positions(page)) == [0, 1, 2, 3]
        assert page.locator(".fw-g-where").text_content() == "Page 1 of 1 · 4 of 4 images"
        status = page.locator(".fw-gallery > .fw-status").text_content() or ""
        assert status.startswith("The first 4 of 13 images (9 left out)")
        assert page.title().endswith(", the first 4 of 13 images (9 left out)")
        assert page.locator(".fw-g-colormap").input_value() == "magma"
        assert page.locator(".fw-g-sort").input_value() == "confidence_asc"
