"""The gallery's computing, without traitlets: a batch result's rows as compact columns for the
browser, the thumbnails it asks for, the checks of the values its filters send, and the input
that opens one image for full exploration.

Why columns, and why the browser filters and sorts: a result of 50,000 images must open at
once, and every filter or sort change must answer without a trip to the kernel. So the rows
travel once, as one float32 a row per column (about 1.2 MB for 50,000 rows), and the browser
works out which rows a page shows; only the images and maps of the thumbnails on show travel
afterwards, when the view asks for them. :meth:`GalleryIndex.thumbnail_payload` answers such a
request with plain JSON and bytes, so that a page without a kernel (an HTML report) can answer
the same request from the same payloads embedded in it.

``flashwidget.gallery.Gallery`` holds traits and the public API; this module holds the rest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from flashwidget.batch.results import Results

if TYPE_CHECKING:  # torch is imported where an image is opened: the HTML report needs none
    import torch
    from torch import nn

# The browser's columns, in the order they lie in GalleryIndex.columns.
COLUMNS = ("position", "confidence", "true_label", "predicted", "outcome", "deletion_auc")
# Codes of the outcome column: what the view filters on, and a failed image's mark.
CORRECT, INCORRECT, UNKNOWN, FAILED = 1, 0, -1, -2
OUTCOMES = ("all", "correct", "incorrect", "failed")
SORTS = ("position", "confidence_desc", "confidence_asc", "deletion_auc_asc", "deletion_auc_desc")
MAX_PAGE_SIZE = 200
# Thumbnails one request may ask for: a page, with room to spare.
MAX_THUMBNAILS = MAX_PAGE_SIZE
# The largest position float32 holds exactly.
EXACT_POSITIONS = 2**24


def _code(values: Sequence[Any]) -> tuple[list[Any], list[int]]:
    """Sorted distinct non-None values, and each value's index among them (-1 for None)."""
    names = sorted({value for value in values if value is not None})
    number = {name: i for i, name in enumerate(names)}
    return names, [-1 if value is None else number[value] for value in values]


def _outcome(row: Mapping[str, Any]) -> int:
    if row["error"] is not None:
        return FAILED
    if row["correct"] is None:
        return UNKNOWN
    return CORRECT if row["correct"] else INCORRECT


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


class GalleryIndex:
    """A result's rows as the gallery needs them: columns for the browser, rows by position.

    Reads the index (``results.rows``) and nothing else: images and maps are read only when
    :meth:`thumbnail_payload` is asked for them.

    Attributes: ``columns`` (little-endian float32, the COLUMNS one after another; NaN where a
    row has no value), the vocabularies the coded columns index, ``true_labels`` (sorted) and
    ``predicted`` ({class, label} of each top prediction, by class), ``has_truth`` (some image
    is correct or incorrect), ``has_auc`` (some image has a deletion_auc), ``failed``, and
    ``description``, the job's method with its options, as the gallery and its page state it.
    """

    def __init__(self, results: Results) -> None:
        self.results = results
        rows = results.rows
        self._rows = {row["position"]: row for row in rows}
        if rows and max(self._rows) >= EXACT_POSITIONS:
            raise ValueError(
                f"the result has positions up to {max(self._rows)}; the gallery handles "
                f"results of fewer than {EXACT_POSITIONS} images"
            )
        top = [row["predictions"][0] if row["predictions"] else None for row in rows]
        self.true_labels, true_codes = _code([row["true_label"] for row in rows])
        classes, predicted_codes = _code([None if p is None else p["class"] for p in top])
        names = {p["class"]: p["label"] for p in top if p is not None}
        self.predicted = [{"class": c, "label": names[c]} for c in classes]
        outcomes = [_outcome(row) for row in rows]
        aucs = [_number(row.get("deletion_auc")) for row in rows]
        table = np.array(
            [
                [row["position"] for row in rows],
                [_number(row["confidence"]) for row in rows],
                true_codes,
                predicted_codes,
                outcomes,
                aucs,
            ],
            dtype="<f4",
        ).reshape(len(COLUMNS), len(rows))
        self.columns = table.tobytes()
        job = results.job
        options = ", ".join(f"{key}={value}" for key, value in sorted(job["options"].items()))
        self.description = job["method"] + (f" ({options})" if options else "")
        self.has_truth = CORRECT in outcomes or INCORRECT in outcomes
        self.has_auc = not all(math.isnan(auc) for auc in aucs)
        self.failed = outcomes.count(FAILED)

    def __len__(self) -> int:
        return len(self._rows)

    def row(self, position: Any) -> dict[str, Any]:
        """The row of the image at ``position``; a ValueError says why there is none."""
        if isinstance(position, bool) or not isinstance(position, int):
            raise ValueError(f"a position is a whole number; got {position!r}")
        if position not in self._rows:
            raise ValueError(
                f"no image at position {position}; the result's positions are 0..{len(self) - 1}"
                if self._rows
                else f"no image at position {position}: the result holds no images"
            )
        return self._rows[position]

    def thumbnail_payload(self, positions: Any) -> tuple[dict[str, Any], list[bytes]]:
        """What a thumbnail shows, for each position asked: JSON and the files' bytes.

        Each item holds the image's position, source, true label, top prediction, error, the
        index in the buffers of its JPEG (``image``) and of its first map's PNG (``map``, with
        its class, label and the ``scale`` that decodes it, see
        :mod:`flashwidget.batch.encoding`), or ``None`` for a failed image. A file that cannot
        be read gives that item an ``error`` instead of failing the request.
        """
        if not isinstance(positions, list) or len(positions) > MAX_THUMBNAILS:
            raise ValueError(
                f"thumbnails are asked for as a list of at most {MAX_THUMBNAILS} positions; "
                f"got {type(positions).__name__}"
                + (f" of {len(positions)}" if isinstance(positions, list) else "")
            )
        rows = [self.row(position) for position in positions]
        items, buffers = [], []
        for row in rows:
            item = {
                "position": row["position"],
                "source": row["source"],
                "true_label": row["true_label"],
                "prediction": row["predictions"][0] if row["predictions"] else None,
                "deletion_auc": row.get("deletion_auc"),
                "error": row["error"],
                "image": None,
                "map": None,
            }
            if row["error"] is None:
                try:
                    files = [self.results.image_bytes(row), self.results.map_bytes(row)]
                except OSError as error:
                    item["error"] = f"could not read its files: {error}"
                else:
                    first = row["maps"][0]
                    item["image"] = len(buffers)
                    item["map"] = {
                        "buffer": len(buffers) + 1,
                        "class": first["class"],
                        "label": first["label"],
                        "scale": first["scale"],
                    }
                    buffers += files
            items.append(item)
        return {"type": "thumbnails", "items": items}, buffers


# Checks of the filter values (the widget refuses what they refuse) ----------------------------


def check_outcome(value: str, index: GalleryIndex) -> str:
    if value in ("correct", "incorrect") and not index.has_truth:
        raise ValueError(
            f"outcome {value!r} needs true classes, and no image of this result has one the "
            "model knows (its true labels, if any, are not among the model's classes)"
        )
    return value


def check_true_label(value: str, index: GalleryIndex) -> str:
    if value and value not in index.true_labels:
        known = ", ".join(map(repr, index.true_labels[:10])) or "none"
        raise ValueError(f"true_label {value!r} is not a true label of this result ({known})")
    return value


def check_predicted_class(value: int, index: GalleryIndex) -> int:
    if value != -1 and value not in {entry["class"] for entry in index.predicted}:
        raise ValueError(
            f"predicted_class {value} is not the top prediction of any image of this result; "
            "-1 shows every prediction"
        )
    return value


def check_confidence_range(value: Sequence[float]) -> list[float]:
    low, high = value
    if not (0.0 <= low <= high <= 1.0):
        raise ValueError(
            f"confidence_range must be [low, high] with 0 <= low <= high <= 1; got {list(value)}"
        )
    return [float(low), float(high)]


def check_sort(value: str, index: GalleryIndex) -> str:
    if value.startswith("deletion_auc") and not index.has_auc:
        raise ValueError(
            f"sort {value!r} needs faithfulness scores (deletion_auc), and no image of this "
            "result has one"
        )
    return value


# Opening one image ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opening:
    """What explores an image as the job did: its input (the stored crop, normalised as the
    model saw it, (3, H, W)), the class of its first map, the job's method and options and its
    normalisation."""

    image: torch.Tensor
    target: int
    method: str
    options: dict[str, Any]
    mean: list[float]
    std: list[float]


def opening(index: GalleryIndex, position: Any) -> Opening:
    """The :class:`Opening` of the image at ``position``; a ValueError for a failed image."""
    row = index.row(position)
    if row["error"] is not None:
        raise ValueError(
            f"image {position} ({row['source']}) failed in the job, so there is nothing to "
            f"explore: {row['error']}"
        )
    import torch

    job = index.results.job
    pixels = torch.from_numpy(index.results.image(row).copy()).permute(2, 0, 1).float() / 255
    mean = torch.tensor(job["mean"])[:, None, None]
    std = torch.tensor(job["std"])[:, None, None]
    return Opening(
        image=(pixels - mean) / std,
        target=row["maps"][0]["class"],
        method=row["method"],
        options=dict(row["options"]),
        mean=list(job["mean"]),
        std=list(job["std"]),
    )


def model_note(job: Mapping[str, Any], model: nn.Module) -> str:
    """A warning when ``model``'s weights are not the job's (empty when they are)."""
    from flashwidget.batch.job import model_fingerprint

    found = model_fingerprint(model)
    if found == job.get("model"):
        return ""
    return (
        f"the model's weights differ from the job's (fingerprint {found}, the job's "
        f"{job.get('model')}), so opened images are explained by another model than the "
        "thumbnails were"
    )
