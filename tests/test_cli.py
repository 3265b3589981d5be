"""`flashwidget explain`: top-5 and a figure on success, one line and exit 2 on mistakes."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from PIL import Image

from flashwidget import cli, figures, methods, models
from flashwidget.utils import IMAGENET_MEAN, IMAGENET_STD


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
    assert "explained: bow tie (class 457) by guided_backprop\n" in printed
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


# Methods, options and --compare ---------------------------------------------------------------

# Small options, so that every method runs in about a second on a CPU.
QUICK = {
    "smoothgrad": ["--samples", "2"],
    "integrated_gradients": ["--steps", "2"],
}


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if the command loads the model: for mistakes found before that."""

    def load():
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(models, "default_classifier", load)


@pytest.fixture
def built(monkeypatch) -> list[tuple[str, dict]]:
    """Record every method the command builds, with the options it passes (labels left out)."""
    calls: list[tuple[str, dict]] = []
    real = methods.get

    def spy(name, model, **options):
        calls.append((name, {k: v for k, v in options.items() if k != "labels"}))
        return real(name, model, **options)

    monkeypatch.setattr(methods, "get", spy)
    return calls


def _run(args, capsys) -> tuple[int, str, str]:
    status = cli.main(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _aspect(path: Path) -> float:
    with Image.open(path) as figure:
        return figure.width / figure.height


def test_guided_is_an_alias_of_method_guided_backprop(tmp_path, capsys):
    outputs = []
    for flags in (
        ["--guided"],
        ["--method", "guided_backprop"],
        ["--guided", "--method", "guided_backprop"],
    ):
        out = tmp_path / f"{len(outputs)}.png"
        status, printed, _ = _run(["explain", *flags, "--target", "652", "--out", str(out)], capsys)
        assert status == 0
        assert "explained: military uniform (class 652) by guided_backprop\n" in printed
        assert _aspect(out) > 3, "guided backprop keeps FlashTorch's four panels"
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


@pytest.mark.parametrize(
    ("method", "settings"),
    [
        ("input_x_gradient", ""),
        ("smoothgrad", " (samples=2, noise=0.15)"),
        ("integrated_gradients", " (steps=2)"),
        ("gradcam", " (layer=bn2)"),
        ("guided_gradcam", " (layer=bn2)"),
    ],
)
def test_other_methods_draw_their_overlay(method, settings, tmp_path, capsys, built):
    out = tmp_path / "map.png"
    args = ["explain", "--method", method, *QUICK.get(method, []), "--out", str(out)]
    status, printed, error = _run(args, capsys)
    assert status == 0, error
    assert printed.count("(class ") == 6
    assert f"explained: mortarboard (class 667) by {method}{settings}\n" in printed
    assert [name for name, _ in built] == [method]
    assert 0.8 < _aspect(out) < 1.25, "one square panel, not four"
    assert np.asarray(Image.open(out).convert("RGB")).std() > 20


def test_take_max_draws_the_overlay_of_gradient(tmp_path, capsys):
    out = tmp_path / "map.png"
    status, printed, _ = _run(
        ["explain", "--method", "gradient", "--take-max", "--out", str(out)], capsys
    )
    assert status == 0
    assert "explained: mortarboard (class 667) by gradient\n" in printed
    assert 0.8 < _aspect(out) < 1.25


def test_options_reach_the_methods_that_take_them(tmp_path, capsys, built):
    out = tmp_path / "map.png"
    args = ["explain", "--method", "smoothgrad", "--samples", "3", "--noise", "0.3"]
    status, printed, _ = _run([*args, "--out", str(out)], capsys)
    assert status == 0
    assert built == [("smoothgrad", {"samples": 3, "noise": 0.3})]
    assert "by smoothgrad (samples=3, noise=0.3)\n" in printed

    built.clear()
    args = ["explain", "--method", "gradcam", "--layer", "blocks.5", "--target", "bow tie"]
    status, printed, _ = _run([*args, "--out", str(out)], capsys)
    assert status == 0
    assert built == [("gradcam", {"layer": "blocks.5"})]
    assert "explained: bow tie (class 457) by gradcam (layer=blocks.5)\n" in printed


def test_compare_draws_a_column_per_method_for_one_class(tmp_path, capsys, built, monkeypatch):
    drawn = []
    real = figures.comparison_figure

    def spy(image, maps, **kwargs):
        drawn.append(({name: tuple(m.shape) for name, m in maps.items()}, kwargs["title"]))
        return real(image, maps, **kwargs)

    monkeypatch.setattr(figures, "comparison_figure", spy)
    out = tmp_path / "compare.png"
    compared = ["gradient", "gradcam", "integrated_gradients", "smoothgrad"]
    args = ["explain", "--compare", ",".join(compared), "--target", "military uniform"]
    args += ["--steps", "2", "--samples", "2", "--layer", "blocks.6", "--out", str(out)]
    status, printed, error = _run(args, capsys)
    assert status == 0, error
    # Each option goes to the methods that take it, and only to them.
    assert built == [
        ("gradient", {}),
        ("gradcam", {"layer": "blocks.6"}),
        ("integrated_gradients", {"steps": 2}),
        ("smoothgrad", {"samples": 2}),
    ]
    lines = [line for line in printed.splitlines() if line.startswith("explained:")]
    assert lines == [
        "explained: military uniform (class 652) by gradient",
        "explained: military uniform (class 652) by gradcam (layer=blocks.6)",
        "explained: military uniform (class 652) by integrated_gradients (steps=2)",
        "explained: military uniform (class 652) by smoothgrad (samples=2, noise=0.15)",
    ]
    assert drawn == [({name: (1, 224, 224) for name in compared}, "military uniform (class 652)")]
    columns = 1 + len(compared)
    assert 0.8 * columns < _aspect(out) < columns, "the input and one square column per method"
    pixels = np.asarray(Image.open(out).convert("RGB"), dtype=np.int16)
    panels = np.array_split(pixels[pixels.shape[0] // 5 :], columns, axis=1)
    assert all(panel.std() > 10 for panel in panels)
    assert all(np.abs(panels[0] - panel).mean() > 5 for panel in panels[1:]), "maps drawn over"


def test_compare_explains_the_top_class_with_every_method(tmp_path, capsys):
    out = tmp_path / "compare.png"
    status, printed, _ = _run(
        ["explain", "--compare", "gradcam,gradient", "--out", str(out)], capsys
    )
    assert status == 0
    assert "explained: mortarboard (class 667) by gradcam (layer=bn2)\n" in printed
    assert "explained: mortarboard (class 667) by gradient\n" in printed
    assert 2.4 < _aspect(out) < 3


def test_comparison_figure_has_the_input_and_a_titled_column_per_map():
    generator = torch.Generator().manual_seed(0)
    image = torch.randn(3, 32, 32, generator=generator)
    maps = {"gradient": torch.rand(1, 32, 32, generator=generator), "gradcam": torch.rand(32, 32)}
    look = {"mean": IMAGENET_MEAN, "std": IMAGENET_STD}
    figure = figures.comparison_figure(image, maps, title="bow tie (class 457)", **look)
    try:
        assert [axes.get_title() for axes in figure.axes] == ["Input image", "gradient", "gradcam"]
        assert figure._suptitle.get_text() == "bow tie (class 457)"
        assert tuple(figure.get_size_inches()) == (12, 4)
        assert [len(axes.images) for axes in figure.axes] == [1, 2, 2], "maps over the input"
        assert figure.axes[1].images[1].get_alpha() == 0.5
    finally:
        plt.close(figure)
    with pytest.raises(ValueError, match="at least one map"):
        figures.comparison_figure(image, {}, **look)


AVAILABLE = "available: gradient, guided_backprop, input_x_gradient, smoothgrad"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--method", "nope"], f"unknown attribution method 'nope'; {AVAILABLE}"),
        (["--compare", "gradient,nope"], f"unknown attribution method 'nope'; {AVAILABLE}"),
        (["--compare", "gradient,,gradcam"], "expected method names separated by commas"),
        (["--compare", "gradcam,gradient,gradcam"], "gradcam listed more than once"),
        (["--method", "integrated_gradients", "--steps", "0"], "--steps: expected a positive"),
        (["--method", "integrated_gradients", "--steps", "2.5"], "--steps: expected a positive"),
        (["--method", "smoothgrad", "--samples", "-1"], "--samples: expected a positive"),
        (["--method", "smoothgrad", "--noise", "-0.1"], "noise must be a finite number >= 0"),
        (["--method", "smoothgrad", "--noise", "nan"], "noise must be a finite number >= 0"),
        (["--steps", "4"], "--steps applies only to integrated_gradients, not to gradient"),
        (["--guided", "--samples", "2"], "--samples applies only to smoothgrad, not to guided_b"),
        (["--method", "gradcam", "--noise", "0.1"], "--noise applies only to smoothgrad, not to"),
        (
            ["--method", "smoothgrad", "--layer", "bn2"],
            "--layer applies only to gradcam and guided_gradcam, not to smoothgrad",
        ),
        (
            ["--compare", "gradient,integrated_gradients", "--layer", "bn2"],
            "--layer applies only to gradcam and guided_gradcam, not to gradient, integrated_gr",
        ),
        (["--guided", "--method", "gradcam"], "--guided means --method guided_backprop"),
        (["--compare", "gradient", "--method", "gradcam"], "--compare cannot be combined with --m"),
        (["--compare", "gradient", "--guided"], "--compare cannot be combined with --guided"),
        (["--compare", "gradient", "--take-max"], "--compare cannot be combined with --take-max"),
    ],
)
def test_method_mistakes_are_caught_before_the_model_loads(
    args, words, tmp_path, capsys, monkeypatch, no_model
):
    monkeypatch.chdir(tmp_path)
    status, printed, error = _run(["explain", *args], capsys)
    assert status == 2
    assert printed == ""
    lines = error.strip().splitlines()
    assert len(lines) == 1, error
    assert lines[0].startswith("flashwidget: error:") and words in lines[0]
    assert not list(tmp_path.iterdir()), "no figure is written after a mistake"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--method", "gradcam", "--layer", "nosuch"], "the model has no layer named 'nosuch'"),
        (["--compare", "gradient,guided_gradcam", "--layer", "blocks.6.0.conv_pwI"], "close ma"),
        (["--method", "guided_gradcam", "--layer", "classifier"], "to output a feature map"),
    ],
)
def test_bad_layers_exit_2_with_one_line(args, words, tmp_path, capsys):
    out = tmp_path / "map.png"
    status, _, error = _run(["explain", *args, "--out", str(out)], capsys)
    assert status == 2
    lines = error.strip().splitlines()
    assert len(lines) == 1, error
    # The KeyError's message as written, not wrapped in quotes by KeyError.__str__.
    assert lines[0].startswith("flashwidget: error: ") and lines[0][20] not in "'\"", lines[0]
    assert words in lines[0]
    assert not out.exists()


def test_help_lists_the_methods_and_which_options_they_take(capsys):
    status, printed, _ = _run(["explain", "--help"], capsys)
    assert status == 0
    text = " ".join(printed.split())
    assert all(name in text for name in methods.available())
    assert "--compare METHOD[,METHOD...]" in text
    assert "--steps N integrated_gradients: points on the integration path (default: 50)" in text
    assert "--samples N smoothgrad:" in text and "--noise X smoothgrad:" in text
    assert "--layer NAME gradcam and guided_gradcam:" in text


def test_the_cli_module_imports_no_torch_and_no_pyplot():
    """cli.py imports torch and pyplot when a command runs, not when it is imported."""
    tree = ast.parse(Path(cli.__file__).read_text())
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = (
                [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            )
            for name in names:
                light = name.split(".")[0] in sys.stdlib_module_names
                assert light or name == "flashwidget.colormaps", f"cli.py imports {name} at load"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, flashwidget.cli; print('matplotlib.pyplot' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "False", result.stderr
