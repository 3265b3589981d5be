"""`flashwidget explain`: top-5 and a figure on success, one line and exit 2 on mistakes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from flashwidget import cli


def test_explain_the_sample(tmp_path, capsys):
    out = tmp_path / "figure.png"
    assert cli.main(["explain", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "military uniform" in printed and "mortarboard" in printed
    assert printed.count("(class ") == 6  # five predictions and the explained class
    figure = np.asarray(Image.open(out).convert("RGB"))
    assert figure.shape[1] > 3 * figure.shape[0], "four panels side by side"
    assert figure.std() > 20, "the figure has content"


def test_explain_a_named_target_guided_take_max(tmp_path, capsys):
    image = tmp_path / "in.jpg"
    Image.open(cli_sample_path()).save(image)
    out = tmp_path / "sub" / "map.png"
    args = ["explain", str(image), "--target", "bow tie", "--guided", "--take-max"]
    assert cli.main([*args, "--cmap", "magma", "--alpha", "0.3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "explained: bow tie (class 457), guided backpropagation" in printed
    with Image.open(out) as figure:
        assert abs(figure.width - figure.height) < 0.25 * figure.width, "one square panel"


def cli_sample_path() -> str:
    import matplotlib.cbook

    return matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["explain", "--alpha", "2"], "alpha must be between 0 and 1"),
        (["explain", "--alpha", "x"], "alpha must be a number"),
        (["explain", "--cmap", "no_such_map"], "unknown colormap"),
        (["explain", "--target", "1000"], "out of range"),
        (["explain", "--target", "zebrafishcake"], "no class matches"),
        (["explain", "/no/such/file.png"], "/no/such/file.png"),
        (["explain", "--bogus"], "unrecognized arguments"),
        ([], "required"),
    ],
)
def test_mistakes_exit_2_with_one_line(args, words, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "flashwidget.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("flashwidget: error:") and words in lines[0]
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir()), "no figure is written after a mistake"


@pytest.mark.parametrize("content", [b"", b"this is not an image"], ids=["empty", "text"])
def test_unreadable_image_files(tmp_path, content, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    assert cli.main(["explain", str(bad), "--out", str(tmp_path / "x.png")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("flashwidget: error:") and "bad.png" in error
    assert not (tmp_path / "x.png").exists()
