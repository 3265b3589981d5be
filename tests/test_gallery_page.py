"""A batch result's gallery as one HTML file (flashwidget.gallery_page, Gallery.to_html,
``flashwidget report``) without a browser: what the file holds.

tests/browser/test_gallery_page.py opens such files in Chromium; these tests read them: self-
contained and escaped, holding exactly the payloads the kernel sends, the first ``limit`` images
(and reading no others), the gallery's state, and refusing bad arguments before reading
anything, from Python and from the command line (without importing torch there).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from test_batch import image_folder, tiny_model, to_tensor
from test_cli import HEAVY
from test_standalone import DATA, assert_self_contained, page_data

from flashwidget import cli
from flashwidget.batch import explain_dataset
from flashwidget.batch.journal import INDEX
from flashwidget.batch.results import Results
from flashwidget.colormaps import colormap_lut, colormap_names
from flashwidget.gallery import Gallery
from flashwidget.gallery_data import GalleryIndex
from flashwidget.gallery_page import DEFAULT_LIMIT, SETTINGS, gallery_page, write_gallery_page
from flashwidget.standalone import synced_state
from flashwidget.widget_base import REFUSED

# Class names that a page writing them as HTML would run, or that end its script element and
# name a URL; folders (true labels) cannot hold a slash, so they use the first kind.
LABELS = [
    f"kind {i} <img src=x onerror=alert({i})>"
    if i % 2 == 0
    else f"kind {i} </script><b>bold</b> http://example.com/{i}.js"
    for i in range(10)
]
BROKEN = "<img src=x onerror=alert(99)>.jpg"
PAGE_CODE = 400_000  # code, CSS and 170 colormap tables: "0.3 MB"


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> Path:
    """Nine images in the data's order: the broken file, two at the top, three in each of two
    class folders (LABELS[2], LABELS[4]); with faithfulness scores. The folder's name holds
    markup too."""
    root = tmp_path_factory.mktemp("report")
    data = image_folder(root / "data", {LABELS[2]: 3, LABELS[4]: 3, "": 2})
    (data / BROKEN).write_bytes(b"not an image")
    out = root / "<img src=x onerror=alert(0)>"
    explain_dataset(
        tiny_model(), data, out, top_k=2, batch_size=4, labels=LABELS, transform=to_tensor,
        progress=False, deletion=True,
    )  # fmt: skip
    return out


def rows_of(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / INDEX).read_text().splitlines()]


def written(out: Path, path: Path, **arguments: Any) -> tuple[str, dict[str, Any]]:
    """The page's text and its decoded data; no warning allowed."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_gallery_page(out, path, **arguments)
    return path.read_text(encoding="utf-8"), page_data(path)


def assert_is_the_kernels(out: Path, tables: dict[str, Any], positions: list[int]) -> None:
    """The embedded thumbnails are thumbnail_payload's, one per position, in the data's order."""
    index = GalleryIndex(Results(out))
    assert [entry["item"]["position"] for entry in tables["thumbnails"]] == positions
    for entry in tables["thumbnails"]:
        payload, buffers = index.thumbnail_payload([entry["item"]["position"]])
        assert payload == {"type": "thumbnails", "items": [entry["item"]]}
        assert entry["buffers"] == buffers  # the stored files, to the byte


# What the page holds -----------------------------------------------------------------------------


def test_the_page_is_self_contained_and_holds_the_kernels_payloads(result, tmp_path) -> None:
    path = tmp_path / "report.html"
    text, data = written(result, path, limit=None)
    assert_self_contained(text)
    rows = rows_of(result)
    tables = data["tables"]
    assert_is_the_kernels(result, tables, [row["position"] for row in rows])
    failed = tables["thumbnails"][0]
    assert failed["item"]["error"].startswith("ValueError") and failed["buffers"] == []
    assert tables["luts"] == {name: colormap_lut(name).tobytes() for name in colormap_names()}
    assert tables["writable"] == sorted(Gallery.writable) == sorted(SETTINGS)
    assert tables["status"] == data["state"]["status"]
    # Size: the stored files in base64, plus the code and colormaps.
    stored = sum(len(buffer) for entry in tables["thumbnails"] for buffer in entry["buffers"])
    assert stored * 4 / 3 < path.stat().st_size < stored * 4 / 3 + PAGE_CODE


def test_a_request_for_several_is_the_embedded_payloads_end_to_end(result) -> None:
    """What js/gallery_responder.js's thumbnailPayload relies on: the kernel's answer for
    several positions is their single answers one after another, the indices shifted."""
    index = GalleryIndex(Results(result))
    positions = [5, 0, 2, 8]
    items, buffers = [], []
    for position in positions:
        payload, files = index.thumbnail_payload([position])
        (item,) = payload["items"]
        if item["image"] is not None:
            item = {
                **item,
                "image": item["image"] + len(buffers),
                "map": {**item["map"], "buffer": item["map"]["buffer"] + len(buffers)},
            }
        items.append(item)
        buffers += files
    assert index.thumbnail_payload(positions) == ({"type": "thumbnails", "items": items}, buffers)


def test_the_responder_refuses_in_the_kernels_words() -> None:
    responder = Path(__file__).resolve().parents[1] / "js" / "gallery_responder.js"
    assert f'export const REFUSED = "{REFUSED}";' in responder.read_text()


def test_the_state_is_the_gallerys_with_its_filters_and_look(result, tmp_path) -> None:
    gallery = Gallery(result)
    default = synced_state(gallery)
    gallery.outcome, gallery.true_label, gallery.sort = "incorrect", LABELS[4], "confidence_desc"
    gallery.confidence_range, gallery.page_size = [0.25, 0.75], 12
    gallery.alpha, gallery.colormap = 0.8, "magma"
    assert gallery.to_html(tmp_path / "page.html", limit=None) == tmp_path / "page.html"
    state = page_data(tmp_path / "page.html")["state"]
    assert state == synced_state(gallery) | {"can_open": False, "status": state["status"]}
    assert state["status"] == (
        "All 9 images, 1 failed; gradient. Exploring an image needs flashwidget.Gallery in a "
        "notebook."
    )
    assert state["lut_bytes"] == colormap_lut("magma").tobytes()
    # With no settings, Gallery's defaults (gallery_page.SETTINGS).
    _, data = written(result, tmp_path / "plain.html", limit=None)
    assert data["state"] == default | {"can_open": False, "status": state["status"]}


def test_the_page_holds_the_first_images_and_says_how_many_of_how_many(result, tmp_path) -> None:
    path = tmp_path / "first.html"
    with pytest.warns(UserWarning, match=r"the first 4 of 9 images \(5 left out\)"):
        assert write_gallery_page(result, path, limit=4) == path
    data = page_data(path)
    state = data["state"]
    assert state["count"] == 4 and len(state["columns"]) == 6 * 4 * 4
    assert_is_the_kernels(result, data["tables"], [0, 1, 2, 3])
    assert state["status"].startswith("The first 4 of 9 images (5 left out), 1 failed; gradient")
    (title,) = re.findall(r"<title>(.*?)</title>", path.read_text(encoding="utf-8"))
    assert title == (
        "flashwidget report: &lt;img src=x onerror=alert(0)&gt;, the first 4 of 9 images (5 "
        "left out)"
    )
    # A limit the result does not reach: all of them, and nothing to warn of.
    for limit in (9, 10):
        _, data = written(result, tmp_path / f"all{limit}.html", limit=limit)
        assert data["state"]["count"] == 9
        assert data["state"]["status"].startswith("All 9 images, 1 failed")
    assert DEFAULT_LIMIT == cli.REPORT_LIMIT == 500


def test_only_the_images_on_the_page_are_read(result, tmp_path) -> None:
    """Rows and files past the limit may be damaged or gone: they are counted, never read."""
    copy = tmp_path / "copy"
    shutil.copytree(result, copy)
    rows = rows_of(copy)
    for row in rows[3:]:
        for name in [row["image"], *(entry["file"] for entry in row["maps"])]:
            (copy / name).unlink()
    lines = (copy / INDEX).read_text().splitlines()
    (copy / INDEX).write_text("\n".join(lines[:3] + ["not json"] * 6) + "\n")
    page = gallery_page(copy, limit=3)
    assert (page.held, page.total) == (3, 9)
    with pytest.raises(json.JSONDecodeError):
        gallery_page(copy, limit=4)


def test_names_labels_and_errors_are_data_not_markup(result, tmp_path) -> None:
    path = tmp_path / "escaped.html"
    text, data = written(result, path, limit=None)
    state, items = data["state"], [entry["item"] for entry in data["tables"]["thumbnails"]]
    # Precondition: the page holds every kind of hostile text.
    assert any("</script>" in entry["label"] for entry in state["predicted_classes"])
    assert LABELS[4] in state["true_labels"]
    assert items[0]["source"] == BROKEN and BROKEN in items[0]["error"]
    (script,) = DATA.findall(text)
    assert "<" not in script and ">" not in script and "http:" not in script
    assert "<img" not in text and "<b>" not in text
    assert len(re.findall(r"</script", text, re.I)) == 2


# Mistakes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "error", "words"),
    [
        ({"limit": 0}, ValueError, "limit must be a positive int; got 0"),
        ({"limit": -1}, ValueError, "limit must be a positive int"),
        ({"limit": 2.5}, ValueError, "limit must be a positive int"),
        ({"limit": True}, ValueError, "limit must be a positive int"),
        ({"colour": "magma"}, TypeError, "unexpected setting(s) colour"),
        ({"colormap": "viridi"}, ValueError, "viridis"),
        ({"alpha": 1.5}, ValueError, "alpha must be a number in [0, 1]"),
        ({"page_size": 500}, ValueError, "page_size must be at most 200"),
        ({"outcome": "good"}, ValueError, "outcome must be one of all, correct"),
        ({"confidence_range": [0.9, 0.1]}, ValueError, "0 <= low <= high <= 1"),
        (
            {"limit": 3, "true_label": LABELS[4]},
            ValueError,
            "is not a true label of this result (none); the page holds the first 3 of 9",
        ),
        ({"predicted_class": 1}, ValueError, "not the top prediction of any image"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    result, tmp_path, arguments, error, words
) -> None:
    path = tmp_path / "page.html"
    with pytest.raises(error) as raised:
        write_gallery_page(result, path, **arguments)
    assert words in str(raised.value)
    assert not path.exists()


def test_bad_paths_are_refused_before_anything_is_read(result, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="missing does not exist; expected the output"):
        write_gallery_page(tmp_path / "missing", tmp_path / "page.html")
    with pytest.raises(FileNotFoundError, match=r"has no index\.jsonl"):
        write_gallery_page(tmp_path, tmp_path / "page.html")
    with pytest.raises(IsADirectoryError, match="is a folder; expected the path of the HTML"):
        write_gallery_page(result, tmp_path)
    with pytest.raises(FileNotFoundError, match=r"the folder .* does not exist"):
        write_gallery_page(result, tmp_path / "nowhere" / "page.html")
    with pytest.raises(FileNotFoundError, match="the folder"):  # the path first, then the rest
        write_gallery_page(tmp_path / "missing", tmp_path / "nowhere" / "page.html")
    assert list(tmp_path.iterdir()) == []


# The command line -------------------------------------------------------------------------------


def test_the_command_writes_the_file_and_says_where_how_large_and_what(
    result, tmp_path, capsys
) -> None:
    path = tmp_path / "report.html"
    assert cli.main(["report", str(result), "--html", str(path), "--limit", "4"]) == 0
    printed = capsys.readouterr().out
    size = path.stat().st_size / 1e6
    assert printed == (
        f"wrote {path} ({size:.1f} MB): the first 4 of 9 images (5 left out); --limit N or "
        "--limit all for more\n"
    )
    assert page_data(path)["state"]["count"] == 4
    assert cli.main(["report", str(result), "--html", str(path), "--limit", "all"]) == 0
    assert capsys.readouterr().out.endswith("): all 9 images\n")
    assert cli.main(["report", str(result), "--html", str(path)]) == 0  # the default limit
    assert page_data(path)["state"]["count"] == 9
    assert cli.RESULT_INDEX == INDEX


def test_the_report_reads_files_and_imports_no_torch(result, tmp_path) -> None:
    """A report only reads JSON, JPEG and PNG files: torch's seconds of imports are not spent."""
    path = tmp_path / "report.html"
    code = (
        "import sys; from flashwidget.cli import main; status = main(sys.argv[1:]); "
        "print('RESULT', status, *[name in sys.modules for name in ('torch', 'torchvision', "
        "'timm')])"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, "report", str(result), "--html", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.stdout.strip().splitlines()[-1] == "RESULT 0 False False False", run.stderr
    assert page_data(path)["state"]["count"] == 9


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["{missing}", "--html", "{tmp}/page.html"], "argument OUT: {missing} does not exist"),
        (["{tmp}", "--html", "{tmp}/page.html"], "argument OUT: {tmp} has no index.jsonl"),
        (["{out}", "--html", "{tmp}"], "argument --html: {tmp} is a folder"),
        (["{out}", "--html", "{missing}/p.html"], "the folder {missing} does not exist"),
        (["{out}", "--html", "{tmp}/p.html", "--limit", "0"], "expected a positive integer"),
        (["{out}", "--html", "{tmp}/p.html", "--limit", "some"], "expected a positive integer"),
        (["{out}"], "the following arguments are required: --html"),
    ],
)
def test_argument_mistakes_exit_2_in_one_line_without_importing_torch(
    result, tmp_path, args, words
) -> None:
    names = {"out": result, "tmp": tmp_path, "missing": tmp_path / "missing"}
    argv = ["report", *(arg.format(**names) for arg in args)]
    code = (
        "import sys; from flashwidget.cli import main; status = main(sys.argv[1:]); "
        f"print('RESULT', status, *[name in sys.modules for name in {HEAVY!r}])"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120
    )
    assert run.stdout.strip() == "RESULT 2 False False False False", run.stderr
    assert words.format(**names) in run.stderr and run.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
