"""flashwidget.Gallery without a browser: the columns it sends, refusals of bad filter values,
the thumbnails' payloads, opening an image in a SaliencyWidget, and a 50,000-image result that
opens without reading an image."""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
import traitlets
from PIL import Image
from test_batch import CLASSES, MEAN, STD, image_folder, tiny_model, to_tensor
from test_widget import from_browser

import flashwidget as fw
from flashwidget.batch import explain_dataset
from flashwidget.batch.encoding import decode_map
from flashwidget.batch.results import Results
from flashwidget.colormaps import colormap_lut
from flashwidget.gallery import Gallery
from flashwidget.gallery_data import COLUMNS, CORRECT, FAILED, INCORRECT, UNKNOWN
from flashwidget.pixels import channel_map
from flashwidget.widget import SaliencyWidget
from flashwidget.widget_base import REFUSED

BIG = 50_000


def explained(root: Path, counts: dict[str, int], **options) -> Path:
    """A finished job on noise images in class folders, with one broken file among them."""
    data = image_folder(root / "data", counts)
    (data / "broken.jpg").write_bytes(b"not an image")
    out = root / "out"
    explain_dataset(
        tiny_model(), data, out, top_k=2, batch_size=4, labels=CLASSES, transform=to_tensor,
        progress=False, **options,
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> Path:
    """True classes for some images ("kind 3", "kind 7"), faithfulness scores, not gradient."""
    root = tmp_path_factory.mktemp("scored")
    counts = {"kind 3": 3, "kind 7": 3, "": 2}
    return explained(root, counts, method="input_x_gradient", deletion=True)


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    """No true class the model knows, no scores."""
    return explained(tmp_path_factory.mktemp("plain"), {"unknown": 3, "": 2})


def rows_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]


def columns_of(gallery: Gallery) -> dict[str, np.ndarray]:
    table = np.frombuffer(gallery.columns, dtype="<f4").reshape(len(COLUMNS), gallery.count)
    return dict(zip(gallery.column_names, table, strict=True))


def sent_by(gallery: Gallery, content: dict) -> list[tuple[dict, list[bytes]]]:
    """What the gallery sends the view in answer to a message from it."""
    with mock.patch.object(gallery, "send") as send:
        gallery._on_front_end_message(None, content, [])
    return [(call.args[0], call.args[1]) for call in send.call_args_list]


def position_where(out: Path, condition) -> int:
    return next(row["position"] for row in rows_of(out) if condition(row))


# The columns ------------------------------------------------------------------------------------


def test_the_columns_are_the_index(scored) -> None:
    gallery = Gallery(scored)
    rows = rows_of(scored)
    columns = columns_of(gallery)
    assert gallery.count == len(rows) == 9
    assert columns["position"].tolist() == [row["position"] for row in rows]
    confidences = [np.nan if row["confidence"] is None else row["confidence"] for row in rows]
    np.testing.assert_array_equal(columns["confidence"], np.float32(confidences))
    assert gallery.true_labels == ["kind 3", "kind 7"]
    truths = [gallery.true_labels[int(c)] if c >= 0 else None for c in columns["true_label"]]
    assert truths == [row["true_label"] for row in rows]
    tops = [gallery.predicted_classes[int(c)] if c >= 0 else None for c in columns["predicted"]]
    assert tops == [
        {"class": row["predictions"][0]["class"], "label": row["predictions"][0]["label"]}
        if row["predictions"]
        else None
        for row in rows
    ]
    codes = {True: CORRECT, False: INCORRECT, None: UNKNOWN}
    expected = [FAILED if row["error"] else codes[row["correct"]] for row in rows]
    assert columns["outcome"].tolist() == expected
    assert expected.count(FAILED) == 1 and expected.count(UNKNOWN) == 2
    aucs = [np.nan if row.get("deletion_auc") is None else row["deletion_auc"] for row in rows]
    assert np.isfinite(aucs).sum() == 8
    np.testing.assert_array_equal(columns["deletion_auc"], np.float32(aucs))
    assert (gallery.has_truth, gallery.has_auc) == (True, True)
    assert gallery.description == "input_x_gradient"
    assert gallery.status == "9 images, 1 failed; input_x_gradient"
    assert len(gallery.columns) == len(COLUMNS) * 4 * 9
    assert fw.Gallery is Gallery


def test_a_result_without_true_classes_or_scores(plain) -> None:
    gallery = Gallery(plain)
    assert (gallery.has_truth, gallery.has_auc) == (False, False)
    assert gallery.true_labels == ["unknown"]
    assert set(columns_of(gallery)["outcome"].tolist()) == {UNKNOWN, FAILED}


# Refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("outcome", "bogus", "outcome"),
        ("true_label", "kind 9", "not a true label of this result"),
        ("predicted_class", 999, "not the top prediction of any image"),
        ("confidence_range", [0.8, 0.2], "0 <= low <= high <= 1"),
        ("confidence_range", [0.0, 1.5], "0 <= low <= high <= 1"),
        ("confidence_range", [0.5], "confidence_range"),
        ("page_size", 0, "page_size"),
        ("sort", "size", "sort"),
        ("alpha", 2.0, "alpha"),
        ("colormap", "nope", "unknown colormap"),
        ("columns", b"", "can only be set by Python"),
    ],
)
def test_bad_values_from_the_browser_are_refused_in_the_status(scored, name, value, reason):
    gallery = Gallery(scored)
    before = getattr(gallery, name)
    from_browser(gallery, **{name: value})  # raises if the handler raised
    assert gallery.status.startswith(REFUSED) and reason in gallery.status
    assert getattr(gallery, name) == before
    from_browser(gallery, outcome="incorrect")  # and the gallery keeps working
    assert gallery.outcome == "incorrect"
    assert gallery.status == "9 images, 1 failed; input_x_gradient"


def test_filters_that_need_what_a_result_lacks_are_refused(plain) -> None:
    gallery = Gallery(plain)
    from_browser(gallery, sort="deletion_auc_asc")
    assert (
        "needs faithfulness scores (deletion_auc)" in gallery.status and gallery.sort == "position"
    )
    from_browser(gallery, outcome="correct")
    assert "needs true classes" in gallery.status and gallery.outcome == "all"
    with pytest.raises(traitlets.TraitError, match="needs faithfulness scores"):
        gallery.sort = "deletion_auc_desc"  # from Python, a refusal raises
    with pytest.raises(traitlets.TraitError, match="needs true classes"):
        Gallery(plain, outcome="incorrect")


def test_good_filter_values_are_taken(scored) -> None:
    top = next(row for row in rows_of(scored) if row["predictions"])["predictions"][0]["class"]
    gallery = Gallery(scored, true_label="kind 7", sort="deletion_auc_asc")
    from_browser(gallery, predicted_class=top, confidence_range=[0.25, 0.75], outcome="failed")
    assert (gallery.true_label, gallery.sort, gallery.predicted_class) == (
        "kind 7",
        "deletion_auc_asc",
        top,
    )
    assert (gallery.confidence_range, gallery.outcome) == ([0.25, 0.75], "failed")
    from_browser(gallery, colormap="magma", alpha=0.8)
    assert gallery.lut_bytes == colormap_lut("magma").tobytes() and gallery.alpha == 0.8


# Thumbnails -------------------------------------------------------------------------------------


def test_thumbnails_are_the_stored_image_and_map(scored) -> None:
    gallery = Gallery(scored)
    results = Results(scored)
    good = position_where(scored, lambda row: row["error"] is None and row["true_label"])
    failed = position_where(scored, lambda row: row["error"] is not None)
    [(content, buffers)] = sent_by(gallery, {"type": "thumbnails", "positions": [good, failed]})
    assert content["type"] == "thumbnails" and len(buffers) == 2
    item, broken = content["items"]
    row = results.rows[good]
    assert (item["position"], item["source"], item["true_label"]) == (
        good,
        row["source"],
        row["true_label"],
    )
    assert item["prediction"] == row["predictions"][0] and item["error"] is None
    assert item["deletion_auc"] == row["deletion_auc"] is not None
    with Image.open(io.BytesIO(buffers[item["image"]])) as image:
        assert image.format == "JPEG"
        np.testing.assert_array_equal(np.asarray(image.convert("RGB")), results.image(row))
    entry = item["map"]
    assert (entry["class"], entry["scale"]) == (row["maps"][0]["class"], row["maps"][0]["scale"])
    with Image.open(io.BytesIO(buffers[entry["buffer"]])) as png:
        values = decode_map(np.asarray(png), entry["scale"])
    np.testing.assert_array_equal(values, results.map_values(row, 0))
    assert broken["position"] == failed and "not a readable image" in broken["error"]
    assert (broken["image"], broken["map"], broken["prediction"]) == (None, None, None)
    json.dumps(content)  # plain JSON, as a page without a kernel would hold it


def test_a_missing_file_fails_its_thumbnail_only(scored, tmp_path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(scored, copy)
    row = next(row for row in rows_of(copy) if row["error"] is None)
    (copy / row["maps"][0]["file"]).unlink()
    [(content, _)] = sent_by(
        Gallery(copy), {"type": "thumbnails", "positions": [row["position"], 0]}
    )
    assert "could not read its files" in content["items"][0]["error"]
    assert content["items"][0]["image"] is None


@pytest.mark.parametrize(
    "positions", [[99], [-1], ["1"], [True], "0,1", list(range(201)), None], ids=repr
)
def test_bad_thumbnail_requests_are_refused(scored, positions) -> None:
    gallery = Gallery(scored)
    assert sent_by(gallery, {"type": "thumbnails", "positions": positions}) == []
    assert gallery.status.startswith(REFUSED)
    assert sent_by(gallery, {"type": "thumbnails", "positions": [1]}) != []


# Opening an image -------------------------------------------------------------------------------


def test_open_explores_the_stored_image_with_the_jobs_method(scored) -> None:
    gallery = Gallery(scored, model=tiny_model())
    results = gallery.results
    position = position_where(scored, lambda row: row["error"] is None)
    row = results.rows[position]
    shown = gallery.explore(position)
    assert isinstance(shown, SaliencyWidget) and gallery.opened is shown
    assert gallery.opened_position == position
    assert gallery.get_state()["opened"] == f"anywidget:{shown.model_id}"
    pixels = shown.shown_image()[0].permute(1, 2, 0).numpy() * 255
    np.testing.assert_allclose(pixels, results.image(row), atol=1e-3)  # the stored JPEG
    seen = to_tensor(scored.parent / "data" / row["source"])
    seen = seen * torch.tensor(STD)[:, None, None] + torch.tensor(MEAN)[:, None, None]
    original = seen.permute(1, 2, 0).numpy() * 255  # the crop the model saw
    assert np.abs(pixels - original).mean() < 4  # within a JPEG round trip
    assert (row["method"], row["options"]) == ("input_x_gradient", {})
    assert (shown.method, shown.method_options) == (row["method"], row["options"])
    assert shown.target == row["maps"][0]["class"] and shown.take_max is False
    # The same map as the job's, up to the JPEG round trip of the input it multiplies (another
    # class or method correlates at most 0.46 with it here; the right one 0.96 or more).
    opened = channel_map(shown.attributions, take_max=False).ravel()
    stored = results.map_values(row, 0).ravel()
    assert np.corrcoef(opened, stored)[0, 1] > 0.9
    assert gallery.status == f"Opened image {position} ({row['source']})"

    shown.method, shown.method_options = "smoothgrad", {"samples": 2}  # explored meanwhile
    other = position_where(scored, lambda r: r["error"] is None and r["position"] != position)
    assert gallery.explore(other) is shown, "one SaliencyWidget serves every opening"
    assert (shown.method, shown.method_options, shown.error) == ("input_x_gradient", {}, "")
    np.testing.assert_allclose(
        shown.shown_image()[0].permute(1, 2, 0).numpy() * 255,
        results.image(results.rows[other]),
        atol=1e-3,
    )
    assert shown.target == results.rows[other]["maps"][0]["class"]


def test_the_view_opens_an_image_by_message(scored) -> None:
    gallery = Gallery(scored, model=tiny_model())
    position = position_where(scored, lambda row: row["error"] is None)
    assert sent_by(gallery, {"type": "open", "position": position}) == []
    assert gallery.opened_position == position and isinstance(gallery.opened, SaliencyWidget)


def test_another_models_weights_are_said_in_the_status(scored) -> None:
    other = tiny_model()
    with torch.no_grad():
        other[0].weight.add_(0.01)
    gallery = Gallery(scored, model=other)
    gallery.explore(position_where(scored, lambda row: row["error"] is None))
    assert "weights differ from the job's" in gallery.status


def test_a_failed_image_cannot_be_opened(scored) -> None:
    gallery = Gallery(scored, model=tiny_model())
    failed = position_where(scored, lambda row: row["error"] is not None)
    with pytest.raises(ValueError, match=r"broken\.jpg\) failed in the job, so there is nothing"):
        gallery.explore(failed)
    with pytest.raises(
        ValueError, match=r"no image at position 9; the result's positions are 0\.\.8"
    ):
        gallery.explore(9)
    sent_by(gallery, {"type": "open"})
    assert gallery.error == "ValueError: a position is a whole number; got None"
    sent_by(gallery, {"type": "open", "position": failed})  # from the view: said, not raised
    assert (
        gallery.status.startswith("Error: ValueError: image")
        and "failed in the job" in gallery.error
    )
    assert gallery.opened is None and gallery.opened_position == -1
    good = position_where(scored, lambda row: row["error"] is None)
    gallery.explore(good)
    assert gallery.error == "" and gallery.opened_position == good


# Folders ----------------------------------------------------------------------------------------


def test_a_folder_that_is_not_a_result_is_refused_clearly(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist; expected the output folder"):
        Gallery(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"has no index\.jsonl"):
        Gallery(tmp_path)


def test_a_result_of_50000_images_opens_without_reading_one(plain, tmp_path) -> None:
    big = tmp_path / "big"
    shutil.copytree(plain, big)
    rows = rows_of(plain)
    with open(big / "index.jsonl", "w") as index:
        for position in range(BIG):
            index.write(json.dumps({**rows[position % len(rows)], "position": position}) + "\n")
    reading = mock.Mock(side_effect=AssertionError("an image was read"))
    with (
        mock.patch.object(Results, "image_bytes", reading),
        mock.patch.object(Results, "map_bytes", reading),
        mock.patch.object(Results, "image", reading),
        mock.patch.object(Image, "open", reading),
    ):
        started = time.perf_counter()
        gallery = Gallery(big)
        seconds = time.perf_counter() - started
    assert gallery.count == BIG and len(gallery.columns) == len(COLUMNS) * 4 * BIG
    assert columns_of(gallery)["position"][-1] == BIG - 1
    assert seconds < 15, f"opening took {seconds:.1f} s"  # about 0.6 s measured; 15 is no race
    [(content, buffers)] = sent_by(gallery, {"type": "thumbnails", "positions": [BIG - 1]})
    expected = rows[(BIG - 1) % len(rows)]
    assert content["items"][0]["source"] == expected["source"]
    assert len(buffers) == (0 if expected["error"] else 2)
