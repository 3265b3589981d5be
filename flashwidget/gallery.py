"""``Gallery``: browse a batch job's result in a notebook: thumbnails of every image with its map,
filtered and sorted in the browser, one page at a time, and any of them opened in a
``SaliencyWidget`` for full exploration.

Division of labour: this class holds traits and the public API; reading the result into
columns, the thumbnails' payloads and the checks of filter values are
:mod:`flashwidget.gallery_data`'s. Every exchange with the view is a trait or one of two custom
messages, ``{"type": "thumbnails", "positions": [...]}`` (answered with the payload of
:meth:`~flashwidget.gallery_data.GalleryIndex.thumbnail_payload`) and ``{"type": "open",
"position": n}``, so that a page without a kernel can play Python's part from a table.

The image opened is shown inside the gallery's view through anywidget's widget composition: the
``opened`` trait holds the ``SaliencyWidget`` and the view renders it with
``host.getWidget`` (anywidget 0.11 or later): the front end's own widget manager makes the
child's view, so it is a full SaliencyWidget view, and it is disposed of with the gallery's.
Tested in JupyterLab and Notebook 7; marimo's front end implements the same call (untested
here). Where a front end has no host, the view says to display ``g.opened`` in a cell.
One ``SaliencyWidget`` serves every opening (``set_image``), so clicking through a thousand
thumbnails holds one private copy of the model, not a thousand.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence
from typing import Any

import anywidget
import traitlets
from torch import nn

from flashwidget.batch.results import Results
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
    model_note,
    opening,
)
from flashwidget.gallery_page import DEFAULT_LIMIT, write_gallery_page
from flashwidget.widget import FiniteFloat, SaliencyWidget
from flashwidget.widget_base import ColormapName, ExplorerWidget, describe

STATIC = pathlib.Path(__file__).parent / "static"
FILTERS = ("outcome", "true_label", "predicted_class", "confidence_range", "sort")


class Gallery(ExplorerWidget):
    """Every image of a batch result (``flashwidget.batch.explain_dataset``) with its map.

    Args:
        out: the job's output folder.
        model: the classifier that explains an opened image (``explore``); ``None`` for the
            embedded EfficientNet-Lite0, loaded on the first opening. A model whose weights
            are not the job's is used all the same, and the status says so.
        labels: its class names; by default the job's.
        **kwargs: initial values of the settable traits (outcome, true_label,
            predicted_class, confidence_range, sort, page_size, alpha, colormap).

    Raises:
        FileNotFoundError: ``out`` is not the folder of a finished job.
    """

    _esm = STATIC / "gallery.js"
    _css = STATIC / "widget.css"
    writable = frozenset({*FILTERS, "page_size", "alpha", "colormap"})

    # Set from the browser or from Python: which images show, in which order, and their look.
    outcome = traitlets.Enum(
        OUTCOMES, default_value="all", help="all, or only correct, incorrect or failed images"
    ).tag(sync=True)
    true_label = traitlets.Unicode("", help="only images with this true label; '' for all").tag(
        sync=True
    )
    predicted_class = traitlets.Int(
        -1, help="only images whose top prediction is this class; -1 for all"
    ).tag(sync=True)
    confidence_range = traitlets.List(
        FiniteFloat(0.0),
        default_value=[0.0, 1.0],
        minlen=2,
        maxlen=2,
        help="[low, high]: only images whose top probability lies within (failed images "
        "only while it is [0, 1])",
    ).tag(sync=True)
    sort = traitlets.Enum(
        SORTS,
        default_value="position",
        help="the order: position, confidence (_desc, _asc) or deletion_auc (_asc: the most "
        "faithful maps first), when the result has it",
    ).tag(sync=True)
    page_size = traitlets.Int(24, min=1, max=MAX_PAGE_SIZE, help="thumbnails a page").tag(sync=True)
    alpha = FiniteFloat(0.5, min=0.0, max=1.0, help="opacity of the maps").tag(sync=True)
    colormap = ColormapName("viridis", help="a matplotlib colormap name").tag(sync=True)

    # Computed in Python, shown in the browser.
    columns = traitlets.Bytes(
        b"", read_only=True, help="little-endian float32, one column after another (COLUMNS)"
    ).tag(sync=True)
    column_names = traitlets.List(traitlets.Unicode(), read_only=True).tag(sync=True)
    count = traitlets.Int(0, read_only=True, help="images in the result").tag(sync=True)
    true_labels = traitlets.List(
        traitlets.Unicode(), read_only=True, help="the true labels, coded by true_label"
    ).tag(sync=True)
    predicted_classes = traitlets.List(
        traitlets.Dict(), read_only=True, help="{class, label} of each top prediction, coded"
    ).tag(sync=True)
    has_truth = traitlets.Bool(False, read_only=True).tag(sync=True)
    has_auc = traitlets.Bool(False, read_only=True).tag(sync=True)
    description = traitlets.Unicode("", read_only=True, help="the job's method").tag(sync=True)
    colormap_names = traitlets.List(traitlets.Unicode(), read_only=True).tag(sync=True)
    lut_bytes = traitlets.Bytes(b"", read_only=True, help="256 RGBA colours").tag(sync=True)
    can_open = traitlets.Bool(
        True, read_only=True, help="whether a click opens an image (not on a static page)"
    ).tag(sync=True)
    opened = anywidget.WidgetTrait().tag(sync=True)
    opened.read_only = True  # the SaliencyWidget showing the image opened last; None before
    opened_position = traitlets.Int(-1, read_only=True).tag(sync=True)

    def __init__(
        self,
        out: str | os.PathLike,
        model: nn.Module | None = None,
        *,
        labels: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self._index = GalleryIndex(Results(out))
        self._model = model
        self._labels = labels
        self._note: str | None = None  # about the model's weights, once checked
        super().__init__(**kwargs)
        with self.hold_sync():
            self.set_trait("columns", self._index.columns)
            self.set_trait("column_names", list(COLUMNS))
            self.set_trait("count", len(self._index))
            self.set_trait("true_labels", self._index.true_labels)
            self.set_trait("predicted_classes", self._index.predicted)
            self.set_trait("has_truth", self._index.has_truth)
            self.set_trait("has_auc", self._index.has_auc)
            self.set_trait("description", self._index.description)
            self.set_trait("colormap_names", colormap_names())
            self.set_trait("lut_bytes", colormap_lut(self.colormap).tobytes())
            failed = f", {self._index.failed} failed" if self._index.failed else ""
            self._say(f"{len(self._index)} images{failed}; {self.description}")

    # Public API ---------------------------------------------------------------------------

    @property
    def results(self) -> Results:
        """The result shown: its job, rows, images and maps."""
        return self._index.results

    def explore(self, position: int) -> SaliencyWidget:
        """Explore the image at ``position`` in a ``SaliencyWidget``, shown under the
        thumbnails: the stored crop the maps explain, its first map's class, the job's method
        and options. The same widget serves every opening; it is returned.

        Raises ValueError for a position the result lacks or an image that failed in the job.
        (Not ``open``: ipywidgets' ``Widget.open`` opens a widget's connection to the front end.)
        """
        with self._lock:
            shown = opening(self._index, position)
            viewer = self.opened
            if viewer is None:
                viewer = SaliencyWidget(
                    self._viewer_model(),
                    shown.image,
                    labels=self._viewer_labels(),
                    target=shown.target,
                    mean=shown.mean,
                    std=shown.std,
                    method=shown.method,
                    method_options=shown.options,
                    take_max=False,  # the job's maps sum the channels, with their signs
                    alpha=self.alpha,
                    colormap=self.colormap,
                )
            else:
                with viewer.hold_trait_notifications():  # one request, not a method with
                    viewer.method = shown.method  # another method's options
                    viewer.method_options = shown.options
                    viewer.take_max = False
                viewer.set_image(shown.image, target=shown.target)
            with self.hold_sync():
                self.set_trait("opened", viewer)
                self.set_trait("opened_position", position)
                self.set_trait("error", "")
                source = self._index.row(position)["source"]
                note = f" (note: {self._note})" if self._note else ""
                self._say(f"Opened image {position} ({source}){note}")
        return viewer

    def to_html(
        self, path: str | os.PathLike, *, limit: int | None = DEFAULT_LIMIT
    ) -> pathlib.Path:
        """Write this gallery as one self-contained HTML file, to hand to someone without
        Python: it opens in any browser, offline, with this gallery's filters, sort and look,
        and every control but opening an image (which needs a model) works as here. The page
        holds the first ``limit`` images in the data's order (``None``: all, which may make a
        file too large for a browser: about 80 KB an image for Gradient maps, 28 KB for
        Grad-CAM's). See :func:`flashwidget.gallery_page.write_gallery_page`, which does the
        work (and which ``flashwidget report`` runs); returns the path written.
        """
        settings = {name: getattr(self, name) for name in self.writable}
        return write_gallery_page(self.results.out, path, limit=limit, **settings)

    # Requests from the view ---------------------------------------------------------------

    def _on_front_end_message(self, widget: Any, content: Any, buffers: list) -> None:
        """Answer a request for thumbnails and open an image; the rest as every widget does."""
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "thumbnails":
            with self._lock:
                try:
                    payload, files = self._index.thumbnail_payload(content.get("positions"))
                except ValueError as error:
                    self._refuse([], str(error))
                    return
            self.send(payload, files)
        elif kind == "open":
            try:
                self.explore(content.get("position"))
            except Exception as error:  # the user's model may raise anything; keep the gallery
                with self.hold_sync():
                    self.set_trait("error", describe(error))
                    self._say(f"Error: {describe(error)}")
        else:
            super()._on_front_end_message(widget, content, buffers)

    # Checks of the settable traits ----------------------------------------------------------

    @traitlets.validate(*FILTERS)
    def _check_filter(self, proposal: dict) -> Any:
        name, value = proposal["trait"].name, proposal["value"]
        checks = {
            "outcome": lambda: check_outcome(value, self._index),
            "true_label": lambda: check_true_label(value, self._index),
            "predicted_class": lambda: check_predicted_class(value, self._index),
            "confidence_range": lambda: check_confidence_range(value),
            "sort": lambda: check_sort(value, self._index),
        }
        try:
            return checks[name]()
        except ValueError as error:
            raise traitlets.TraitError(str(error)) from None

    @traitlets.observe("colormap")
    def _on_colormap(self, change: dict) -> None:
        self.set_trait("lut_bytes", colormap_lut(change["new"]).tobytes())

    # The model that explains opened images --------------------------------------------------

    def _viewer_model(self) -> nn.Module:
        if self._model is None:
            from flashwidget.models import default_model

            self._model = default_model()
        if self._note is None:
            self._note = model_note(self.results.job, self._model)
        return self._model

    def _viewer_labels(self) -> list[str] | None:
        if self._labels is not None:
            return list(self._labels)
        return list(self.results.job.get("labels") or []) or None
