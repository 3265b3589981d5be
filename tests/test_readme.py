"""Every Python example in the README runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_has_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("code", EXAMPLES, ids=[f"example {i}" for i in range(len(EXAMPLES))])
def test_readme_example_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), namespace)
    plt.close("all")


def run_example(containing: str) -> dict[str, object]:
    """Run the README's example whose code contains ``containing``; return its namespace."""
    (code,) = [code for code in EXAMPLES if containing in code]
    namespace: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), namespace)
    return namespace


def test_first_map_example_gives_the_promised_shape(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = run_example("saliency = Backprop")
    assert tuple(namespace["saliency"].shape) == (1, 224, 224)
    assert float(namespace["saliency"].abs().max()) > 0


def test_widget_example_shows_what_it_says():
    widget = run_example("fw.demo()")["w"]
    assert widget.target == 652 and widget.method == "integrated_gradients"
    assert widget.error == "" and widget.compare_caption == "Grad-CAM"
    assert widget.status.startswith("military uniform (class 652): Integrated Gradients (steps=16)")
