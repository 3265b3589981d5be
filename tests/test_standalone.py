"""SaliencyWidget.to_html and flashwidget.standalone without a browser: what the file holds.

tests/browser/test_standalone_page.py opens such files in Chromium; these tests read them: self-
contained, safely escaped, of the stated size, holding the maps the widget computes, refusing
bad arguments before computing anything, and leaving the model and the random states alone.
"""

from __future__ import annotations

import base64
import json
import random
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from flashwidget import models, standalone
from flashwidget.pixels import gradient_rgb
from flashwidget.widget import SaliencyWidget

SIDE = 24
HOSTILE = "</script><b>bold</b> & http://example.com/x.js"  # a class name that tries everything
LABELS = [f"thing {i}" for i in range(9)] + [HOSTILE]
DATA = re.compile(r'<script type="application/json" id="flashwidget-data">(.*?)</script>', re.S)
# Sizes at 224 x 224 (the default model's input), as to_html's docstring states them.
IMAGE_CHARS = MAP_CHARS = 267_608  # base64 of 224 * 224 float32 values or RGBA bytes
RGB_CHARS = 200_704  # base64 of the four-panel view's 224 * 224 RGB bytes
LUT_CHARS = 1_368  # base64 of a colormap's 256 RGBA colours
REST = 400_000  # code, CSS, colormaps, class names, JSON: "about 0.35 MB"
STATED_TOTAL = 4_400_000  # "4.3 MB" for the top 5 classes by Gradient and Grad-CAM


class Small(nn.Module):
    """Conv, ReLU, pooling, a linear head: every method runs on it in milliseconds."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.AdaptiveAvgPool2d(3)
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(6 * 9, len(LABELS)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def small_widget(**kwargs: Any) -> SaliencyWidget:
    torch.manual_seed(0)
    model = Small().eval()
    image = torch.randn(3, SIDE, SIDE, generator=torch.Generator().manual_seed(2))
    return SaliencyWidget(model, image, labels=LABELS, top_k=3, **kwargs)


def page_data(path: Path) -> dict[str, Any]:
    """The page's embedded data, with each {"$bytes": i} replaced by those bytes."""
    found = DATA.findall(path.read_text(encoding="utf-8"))
    assert len(found) == 1
    data = json.loads(found[0])
    pool = [base64.b64decode(text) for text in data["bytes"]]

    def decoded(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"$bytes"}:
                return pool[value["$bytes"]]
            return {key: decoded(item) for key, item in value.items()}
        if isinstance(value, list):
            return [decoded(item) for item in value]
        return value

    return {"state": decoded(data["state"]), "tables": decoded(data["tables"])}


def assert_self_contained(text: str) -> None:
    """Nothing that could load from anywhere: no URL, external script, link or CSS import."""
    assert not re.search(r"https?:", text, re.I), "an http(s) URL"
    assert not re.search(r"<script[^>]*\bsrc\s*=", text, re.I), "an external script"
    assert not re.search(r"<link\b", text, re.I), "a link element"
    assert not re.search(r"""\b(src|href|action)\s*=\s*["']?//""", text, re.I), "a //host URL"
    (css,) = re.findall(r"<style>(.*?)</style>", text, re.S)
    assert not re.search(r"url\(|@import", css, re.I), "a CSS resource"
    # Two script elements (the data and the bundle), each ended once: nothing broke out.
    assert len(re.findall(r"<script\b", text, re.I)) == 2
    assert len(re.findall(r"</script", text, re.I)) == 2
    assert "default-src 'none'" in text, "the page forbids every request"


@pytest.fixture(scope="module")
def default_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[SaliencyWidget, Path]:
    """The default model's widget and its page: top 5 classes by Gradient and Grad-CAM."""
    model, transform, labels = models.default_classifier()
    widget = SaliencyWidget(model, models.sample_image(), transform=transform, labels=labels)
    path = widget.to_html(tmp_path_factory.mktemp("page") / "saliency.html", methods=["gradcam"])
    yield widget, path
    widget.close()


def test_the_default_page_is_self_contained_and_of_the_stated_size(default_page) -> None:
    widget, path = default_page
    text = path.read_text(encoding="utf-8")
    assert_self_contained(text)
    data = page_data(path)
    maps = data["tables"]["maps"]
    assert [(m["method"], m["options"]) for m in maps] == [("gradient", {})] * 5 + [
        ("gradcam", {})
    ] * 5
    assert [m["target"] for m in maps[:5]] == [p["index"] for p in widget.predictions]
    # Each distinct value once: the image, ten maps, five RGB panels (Gradient's), colormaps.
    pool = sorted(len(b) for b in json.loads(DATA.findall(text)[0])["bytes"])
    luts = [size for size in pool if size < RGB_CHARS]
    assert pool[len(luts) :] == [RGB_CHARS] * 5 + [MAP_CHARS] * 11
    assert set(luts) == {0, LUT_CHARS}, "Grad-CAM's empty RGB panel, and colormaps"
    assert len(widget.image_bytes) * 4 / 3 == pytest.approx(IMAGE_CHARS, abs=4)
    data_chars = IMAGE_CHARS + 10 * MAP_CHARS + 5 * RGB_CHARS
    size = path.stat().st_size
    assert data_chars < size < data_chars + REST
    assert size < STATED_TOTAL


def test_the_page_opens_as_the_widget_looks(default_page) -> None:
    widget, path = default_page
    state = page_data(path)["state"]
    for name in ("image_bytes", "map_values", "target", "method", "labels", "colormap"):
        assert state[name] == getattr(widget, name), name
    assert state["predictions"] == widget.predictions
    assert state["status"] == "mortarboard (class 667): Gradient, max |value| over channels"
    assert state["steps"] == [] and state["check_result"] == {} and state["compute_ms"] == 0


def test_the_embedded_maps_are_what_the_widget_computes(tmp_path: Path) -> None:
    widget = small_widget(compare="method", compare_method="gradcam")
    widget.method, widget.method_options = "integrated_gradients", {"steps": 8}
    path = widget.to_html(tmp_path / "page.html", methods=["guided_backprop"])
    tables = page_data(path)["tables"]
    assert tables["options"] == {
        "integrated_gradients": {"steps": 8},
        "gradcam": {},
        "guided_backprop": {},
    }
    assert len(tables["maps"]) == 3 * 3  # three classes by three methods
    for entry in tables["maps"]:
        widget.compare = "off"
        widget.method, widget.target = entry["method"], entry["target"]
        widget.method_options = entry["options"]
        assert entry["values"] == widget.map_values, (entry["target"], entry["method"])
        rgb = gradient_rgb(widget.attributions) if entry["method"] != "gradcam" else b""
        assert entry["rgb"] == rgb
        assert entry["status"] == widget.status.removesuffix(", from cache")
    widget.close()


def test_top_k_beyond_the_widgets_predictions_takes_the_next_classes(tmp_path: Path) -> None:
    widget = small_widget()
    path = widget.to_html(tmp_path / "page.html", top_k=5)
    state, tables = page_data(path).values()
    with torch.no_grad():
        logits = widget._explorer.live(widget._explorer.input)[0]  # the user's model, in eval
    top = logits.topk(5).indices.tolist()
    assert [p["index"] for p in state["predictions"]] == top
    assert state["predictions"][:3] == widget.predictions
    assert [p["label"] for p in state["predictions"]] == [LABELS[i] for i in top]
    assert [m["target"] for m in tables["maps"]] == top
    fewer = page_data(widget.to_html(tmp_path / "fewer.html", top_k=1))
    assert [m["target"] for m in fewer["tables"]["maps"]] == [widget.target]
    widget.close()


def test_script_breaking_labels_are_escaped_and_kept(tmp_path: Path) -> None:
    widget = small_widget(target=HOSTILE)
    path = widget.to_html(tmp_path / "page.html")
    text = path.read_text(encoding="utf-8")
    assert_self_contained(text)  # the name's </script> ended nothing; its URL is none
    assert "<b>" not in text
    title = "flashwidget: &lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; &amp; http&#58;//example.com/x.js"
    assert f"<title>{title} (class 9): " in text
    state = page_data(path)["state"]
    assert state["labels"][-1] == HOSTILE, "the name itself is kept, to be shown as text"
    assert state["status"].startswith(f"{HOSTILE} (class 9): ")
    widget.close()


def test_inlined_script_means_the_same(tmp_path: Path) -> None:
    source = (
        'const texts = ["</script><!-- http://a.org/", `</SCRIPT> HTTPS://b.org`];\n'
        "console.log(JSON.stringify(texts)); // see https://c.org/\n"
    )
    escaped = standalone.inline_script(source)
    assert not re.search(r"</script|<!--|https?:", escaped, re.I)
    outputs = []
    for name, code in [("source.mjs", source), ("escaped.mjs", escaped)]:
        (tmp_path / name).write_text(code)
        run = subprocess.run(["node", str(tmp_path / name)], capture_output=True, text=True)
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1] != ""


def test_each_distinct_bytes_value_is_embedded_once() -> None:
    data = standalone.page_data({"a": b"xy", "b": [b"xy", (b"",)]}, {"c": {"d": b"xy"}})
    assert data == {
        "bytes": ["eHk=", ""],
        "state": {"a": {"$bytes": 0}, "b": [{"$bytes": 0}, [{"$bytes": 1}]]},
        "tables": {"c": {"d": {"$bytes": 0}}},
    }


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        (
            {"methods": ["gradient", "gradcm"]},
            ValueError,
            r"unknown method 'gradcm' in methods; expected names from "
            r"flashwidget\.methods\.available\(\): gradient, guided_backprop, ",
        ),
        ({"methods": "gradcam"}, TypeError, r"methods must be a list of method names"),
        ({"top_k": 0}, ValueError, r"top_k must be a positive int; got 0"),
        ({"top_k": 2.5}, ValueError, r"top_k must be a positive int; got 2\.5"),
    ],
    ids=["unknown-method", "string", "top_k-0", "top_k-float"],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    tmp_path: Path, arguments: dict, error: type, message: str
) -> None:
    widget = small_widget()
    with pytest.raises(error, match=message):
        widget.to_html(tmp_path / "page.html", **arguments)
    assert list(tmp_path.iterdir()) == []
    widget.close()


def test_bad_paths_are_refused_saying_what_is_expected(tmp_path: Path) -> None:
    widget = small_widget()
    missing = tmp_path / "no such folder" / "page.html"
    with pytest.raises(FileNotFoundError, match=r"the folder '.*no such folder' does not exist; "):
        widget.to_html(missing)
    with pytest.raises(IsADirectoryError, match=r"is a folder; expected the path of the HTML file"):
        widget.to_html(tmp_path)
    assert list(tmp_path.iterdir()) == []
    widget.close()


def test_a_method_the_model_cannot_run_is_refused_with_the_reason(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.GELU(), nn.Flatten(), nn.Linear(4 * 22 * 22, 3))
    widget = SaliencyWidget(model, torch.rand(3, SIDE, SIDE), labels=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"guided_backprop in methods is not available for this "):
        widget.to_html(tmp_path / "page.html", methods=["guided_backprop"])
    widget.close()


def test_a_widget_without_a_map_has_no_page(tmp_path: Path) -> None:
    class Broken(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("broken on purpose")

    widget = SaliencyWidget(Broken(), torch.rand(3, SIDE, SIDE), labels=["a", "b"])
    with pytest.raises(
        RuntimeError, match=r"the widget shows no map \(ValueError: .*broken on purpose"
    ):
        widget.to_html(tmp_path / "page.html")
    widget.close()


def test_the_model_the_random_states_and_the_view_are_left_alone(tmp_path: Path) -> None:
    widget = small_widget()
    model = widget._explorer.live
    model.train()  # a mode the widget's own eval() would change if it touched this model
    for parameter in model.parameters():
        parameter.grad = torch.full_like(parameter, 0.5)
    weights = {name: value.clone() for name, value in model.state_dict().items()}
    grads = [parameter.grad.clone() for parameter in model.parameters()]
    modes = [module.training for module in model.modules()]
    rng = (torch.random.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    shown = {name: getattr(widget, name) for name in widget.keys if not name.startswith("_")}

    widget.to_html(
        tmp_path / "page.html",
        methods=["smoothgrad", "integrated_gradients", "gradcam", "guided_gradcam"],
        top_k=6,
    )

    assert torch.equal(torch.random.get_rng_state(), rng[0])
    assert np.array_equal(np.random.get_state()[1], rng[1]) and random.getstate() == rng[2]
    assert model.state_dict().keys() == weights.keys()
    assert all(torch.equal(model.state_dict()[name], value) for name, value in weights.items())
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads, strict=True))
    assert [module.training for module in model.modules()] == modes
    assert {name: getattr(widget, name) for name in shown} == shown
    widget.close()
