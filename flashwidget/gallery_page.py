"""A batch result's gallery as one self-contained HTML file, for a colleague without Python:
``flashwidget report OUT --html FILE`` and ``Gallery.to_html``.

The page runs the notebook's gallery view (``js/gallery_view.js``, unchanged) on the stand-in for
the kernel of ``js/static_model.js``, whose responder (``js/gallery_responder.js``) answers the
view as :class:`~flashwidget.gallery.Gallery` does: a "thumbnails" message with the payload of
:meth:`~flashwidget.gallery_data.GalleryIndex.thumbnail_payload`, embedded here for every image
on the page, and a colormap change with that colormap's table (all of ``colormap_names()``, 1 KB
each). Filters, sorting, paging and alpha are the view's own work, so they all work offline;
opening an image for exploration needs a model, so a click opens nothing (``can_open`` is false).
The page is written by :func:`flashwidget.standalone.page_html`: inlined, escaped, and barred by
its content security policy from loading anything.

Why a limit: each image costs its stored files, so a page of a large result would be too large
for a browser to open, and its writing would hold every file in memory. The page holds the first
``limit`` images in the data's order; the rest of the result is counted, never read.
"""

from __future__ import annotations

import os
import pathlib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any

from flashwidget.batch.journal import INDEX
from flashwidget.batch.results import Results
from flashwidget.checks import require_positive_int
from flashwidget.colormaps import colormap_lut, colormap_names
from flashwidget.gallery_data import (
    COLUMNS,
    MAX_PAGE_SIZE,
    OUTCOMES,
    SORTS,
    GalleryIndex,
    check_confidence_range,
    check_outcome,
    check_predicted_class,
    check_sort,
    check_true_label,
)
from flashwidget.standalone import page_html, page_path

STATIC = pathlib.Path(__file__).parent / "static"
BUNDLE = STATIC / "gallery_page.js"  # built by js/build.py from js/gallery_page.js
# Images a page holds unless told otherwise: about 40 MB with Gradient maps, 14 MB with Grad-CAM's
# (see write_gallery_page). Measured in headless Chromium: a 40 MB page shows its first
# thumbnails in 0.9 s, a 160 MB page (2,000 images) in 2 s; 50,000 would be 4 GB, far past the
# longest string a browser's JavaScript holds (about 512 MB), and too large to hand to anyone.
DEFAULT_LIMIT = 500
# The view's settable traits, with Gallery's defaults (Gallery.writable).
SETTINGS: dict[str, Any] = {
    "outcome": "all",
    "true_label": "",
    "predicted_class": -1,
    "confidence_range": [0.0, 1.0],
    "sort": "position",
    "page_size": 24,
    "alpha": 0.5,
    "colormap": "viridis",
}


@dataclass(frozen=True)
class GalleryPage:
    """The page's HTML, and how many of the result's ``total`` images it ``held``."""

    html: str
    held: int
    total: int

    @property
    def contents(self) -> str:
        """Which images the page holds, as the page and the command line say it."""
        return _contents(self.held, self.total)


def _contents(held: int, total: int) -> str:
    if held == total:
        return f"all {total} images"
    return f"the first {held} of {total} images ({total - held} left out)"


def _count_rows(out: pathlib.Path) -> int:
    """The rows of the result's index, counted without parsing them (one a line)."""
    with open(out / INDEX, "rb") as file:
        return sum(block.count(b"\n") for block in iter(lambda: file.read(1 << 20), b""))


def write_gallery_page(
    out: str | os.PathLike,
    path: str | os.PathLike,
    *,
    limit: int | None = DEFAULT_LIMIT,
    **settings: Any,
) -> pathlib.Path:
    """Write the gallery of the batch result in ``out`` as one HTML file, and return its path.

    The file opens in any browser, offline, and shows what ``flashwidget.Gallery(out)`` shows
    in a notebook, drawn by the same code: thumbnails with their maps, the filters (outcome,
    true label, predicted class, confidence range), sorting (confidence; deletion area when the
    job scored its maps), paging, alpha and every colormap. A click opens nothing: exploring an
    image needs a model, and the page says so.

    Args:
        out: the output folder of a finished ``flashwidget batch`` (``explain_dataset``) job.
        path: the HTML file to write, in a folder that exists.
        limit: the page holds the first ``limit`` images in the data's order (``None``: all);
            it says how many of how many it holds, and a UserWarning does when some are left
            out. Only those images' rows and files are read.
        **settings: the view's initial filters, sort and look (outcome, true_label,
            predicted_class, confidence_range, sort, page_size, alpha, colormap), checked
            against the images on the page.

    Size: each image is embedded as the files the job stored, base64 (4/3 of their bytes), so
    that the page sends the view exactly what the notebook's kernel sends. Not downscaled: the
    view draws a thumbnail 160 CSS pixels wide, 320 device pixels on a high-density screen, and
    decodes a map's values from its PNG pixel for pixel. Measured on 20 crops of the default
    model's sample image (224 x 224): the JPEG 15.5 KB (12.7 to 18.7 KB), a Gradient map's PNG
    44.7 KB (38 to 47 KB), a Grad-CAM map's 5.3 KB (5.0 to 5.8 KB); so about 80 KB an image in
    the page for Gradient and 28 KB for Grad-CAM, plus 0.3 MB of code, CSS and colormaps (0.23
    MB of which are the 170 distinct colormap tables). The default limit of 500 images makes
    about 40 MB and 14 MB.

    Raises:
        FileNotFoundError: ``out`` is not a finished job's folder, or ``path``'s folder is
            missing (checked before anything is read).
        IsADirectoryError: ``path`` is a folder.
        ValueError: ``limit`` is not a positive int, or a setting is not one the page can show.
    """
    target = page_path(path)
    page = gallery_page(out, limit=limit, **settings)
    target.write_text(page.html, encoding="utf-8")
    if page.held < page.total:
        warnings.warn(
            f"the page holds {page.contents}; pass a larger limit, or limit=None for all",
            stacklevel=2,
        )
    return target


def gallery_page(
    out: str | os.PathLike, *, limit: int | None = DEFAULT_LIMIT, **settings: Any
) -> GalleryPage:
    """The page :func:`write_gallery_page` writes, with the counts it states."""
    if limit is not None:
        require_positive_int(limit, "limit")
    results = Results(out, limit)
    index = GalleryIndex(results)
    held = len(index)
    total = held if limit is None or held < limit else _count_rows(results.out)
    contents = _contents(held, total)
    look = _checked_settings(settings, index, "" if held == total else contents)
    description = index.description
    failed = f", {index.failed} failed" if index.failed else ""
    status = (
        f"{contents[0].upper()}{contents[1:]}{failed}; {description}. Exploring an image needs "
        "flashwidget.Gallery in a notebook."
    )
    state = {
        **look,
        "columns": index.columns,
        "column_names": list(COLUMNS),
        "count": len(index),
        "true_labels": index.true_labels,
        "predicted_classes": index.predicted,
        "has_truth": index.has_truth,
        "has_auc": index.has_auc,
        "description": description,
        "colormap_names": colormap_names(),
        "lut_bytes": colormap_lut(look["colormap"]).tobytes(),
        "can_open": False,
        "opened": None,
        "opened_position": -1,
        "status": status,
        "error": "",
    }
    thumbnails = []
    for row in results.rows:
        payload, buffers = index.thumbnail_payload([row["position"]])
        thumbnails.append({"item": payload["items"][0], "buffers": buffers})
    tables = {
        "thumbnails": thumbnails,
        "luts": {name: colormap_lut(name).tobytes() for name in colormap_names()},
        "writable": sorted(SETTINGS),
        "status": status,
    }
    html = page_html(
        title=f"flashwidget report: {results.out.name}, {contents}",
        bundle=BUNDLE,
        css=STATIC / "widget.css",
        state=state,
        tables=tables,
    )
    return GalleryPage(html, held, total)


def _checked_settings(
    settings: Mapping[str, Any], index: GalleryIndex, partial: str
) -> dict[str, Any]:
    """``settings`` over the defaults, each checked as Gallery checks its traits, and against
    the images on the page, which may lack a true label or prediction the whole result has
    (``partial`` says which images the page holds when it holds only some)."""
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise TypeError(
            f"unexpected setting(s) {', '.join(unknown)}; expected some of {', '.join(SETTINGS)}"
        )
    values = {**SETTINGS, **settings}
    for name, allowed in (("outcome", OUTCOMES), ("sort", SORTS)):
        if values[name] not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {values[name]!r}")
    alpha, size = values["alpha"], values["page_size"]
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a number in [0, 1]; got {alpha!r}")
    require_positive_int(size, "page_size")
    if size > MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be at most {MAX_PAGE_SIZE}; got {size}")
    colormap_lut(values["colormap"])  # a ValueError naming the colormaps near an unknown one
    try:
        check_outcome(values["outcome"], index)
        check_true_label(values["true_label"], index)
        check_predicted_class(values["predicted_class"], index)
        values["confidence_range"] = check_confidence_range(values["confidence_range"])
        check_sort(values["sort"], index)
    except ValueError as error:
        if not partial:
            raise
        raise ValueError(f"{error}; the page holds {partial}") from None
    return values
