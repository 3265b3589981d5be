"""``flashwidget explain``: the top-5 predictions and a saliency figure, from the command line.

It runs on the embedded default model, offline, with any attribution method of
:mod:`flashwidget.methods` (``--method``), or several side by side (``--compare``). Mistakes (a
bad option, an unreadable image, an unknown class or layer) end with one line on stderr and exit
status 2, never a traceback. Everything that can be checked without the model (method names,
numbers, which options go with which method, the class asked for, where the figure goes) is
checked before the model is loaded, and the arguments are parsed before anything heavy is
imported: ``--help``, ``--version`` and a mistyped option answer at once, without torch, timm or
matplotlib. Output into a closed pipe (``flashwidget explain | head -1``) is dropped quietly.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from flashwidget.method_names import (
    CLI_OPTIONS,
    OPTIONS_BY_METHOD,
    method_names,
    unknown_method_message,
)

if TYPE_CHECKING:
    import torch

    from flashwidget.methods import AttributionMethod

PROGRAM = "flashwidget"
DEFAULT_METHOD = "gradient"
DEFAULT_CMAP = "viridis"
DEFAULT_OUT = "saliency.png"
# The default model's classes (ImageNet's; tests/test_cli.py checks it against ImageNetIndex).
CLASSES = 1000
# Methods drawn as FlashTorch's four panels unless --take-max: those whose maps are gradients.
FOUR_PANEL_METHODS = ("gradient", "guided_backprop")
# What `flashwidget report` checks and says without importing the modules that hold them (they
# import torch); tests/test_gallery_page.py checks them against those.
REPORT_LIMIT = 500  # flashwidget.gallery_page.DEFAULT_LIMIT
RESULT_INDEX = "index.jsonl"  # flashwidget.batch.journal.INDEX: a finished job's index
# A class index: ASCII digits only. str.isdigit() also accepts digits such as '²', which int()
# refuses; anything else is a class name.
_INDEX = re.compile(r"-?[0-9]+")


class CommandError(Exception):
    """A mistake found while the command runs, reported as its message in one line."""


def _target(text: str) -> int | str:
    """A class index when the text is a whole number, else a class name."""
    stripped = text.strip()
    return int(stripped) if _INDEX.fullmatch(stripped) else text


def _alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"alpha must be a number; got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"alpha must be between 0 and 1; got {value}")
    return value


def _colormap(text: str) -> str:
    from flashwidget.colormaps import colormap_lut  # imports matplotlib (not pyplot)

    try:
        colormap_lut(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _method(text: str) -> str:
    """A registered method's name; an unknown one is refused with the list of names."""
    if text not in OPTIONS_BY_METHOD:
        raise argparse.ArgumentTypeError(unknown_method_message(text))
    return text


def _methods(text: str) -> list[str]:
    """Method names separated by commas, each known and listed once."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"expected method names separated by commas, such as gradient,gradcam; got {text!r}"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"{', '.join(repeated)} listed more than once")
    return [_method(name) for name in names]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def _noise(text: str) -> float:
    """SmoothGrad's noise level, checked by the rule SmoothGrad itself applies."""
    from flashwidget.checks import require_fraction  # torch-free

    try:
        return require_fraction(float(text), "noise")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"noise must be a finite number >= 0; got {text!r}"
        ) from None


def _out(text: str) -> str:
    """The --out text as given; an empty one is refused (it used to write a hidden ./.png)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "expected a file or folder to write the figure to; got an empty path"
        )
    return text


class _OneLineErrorParser(argparse.ArgumentParser):
    """Report a bad argument in one line (argparse adds the whole usage text otherwise)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROGRAM}: error: {message} (see {self.prog} --help)\n")


class _VersionAction(argparse.Action):
    """``--version``: print ``flashwidget <version>``, the installed package's, and exit."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> NoReturn:
        from flashwidget import __version__

        print(f"{PROGRAM} {__version__}")
        parser.exit()


def _takers(option: str) -> list[str]:
    """The methods that take ``option``, in menu order."""
    return [name for name in method_names() if option in OPTIONS_BY_METHOD[name]]


def _add_method_options(parser: argparse.ArgumentParser) -> None:
    """--steps, --samples, --noise, --layer: each method's options, with their defaults."""
    for option, metavar, kind, meaning in (
        ("steps", "N", _positive_int, "points on the integration path"),
        ("samples", "N", _positive_int, "noisy copies of the image"),
        ("noise", "X", _noise, "noise std as a fraction of the image's value range"),
        ("layer", "NAME", str, "layer whose feature maps are read"),
    ):
        takers = _takers(option)
        default = OPTIONS_BY_METHOD[takers[0]][option]
        shown = "the last layer with a spatial output" if default is None else default
        parser.add_argument(
            f"--{option}",
            type=kind,
            metavar=metavar,
            help=f"{' and '.join(takers)}: {meaning} (default: {shown})",
        )


def _add_batch_parser(commands: argparse._SubParsersAction) -> None:
    batch = commands.add_parser(
        "batch",
        help="explain every image of a folder, writing maps and an index",
        description=(
            "Explain every image under DATA (a folder; each image's first-level sub-folder is "
            "its true label, as in torchvision's ImageFolder) and write the maps, the images "
            "and index.jsonl into --out. Running it again with the same arguments resumes a "
            "job that was stopped. Under torchrun (torchrun --nproc_per_node=P -m flashwidget "
            "batch ...) the images are split across the processes. Images that cannot be read "
            "or explained are listed in the summary and the index, and the job goes on: the "
            "exit status is 0 when the job ran to its end, 2 for a mistake in the arguments."
        ),
    )
    batch.add_argument("data", help="folder of images")
    batch.add_argument("--out", type=_out, required=True, metavar="DIR", help="output folder")
    batch.add_argument(
        "--method",
        type=_method,
        default=DEFAULT_METHOD,
        metavar="NAME",
        help=f"attribution method, one of {', '.join(method_names())} (default: {DEFAULT_METHOD})",
    )
    _add_method_options(batch)
    batch.add_argument(
        "--model",
        default="default",
        metavar="NAME",
        help=(
            "'default' (EfficientNet-Lite0, embedded) or a torchvision classifier name such as "
            "resnet50, with its default weights from torchvision's cache (default: default)"
        ),
    )
    batch.add_argument(
        "--targets",
        type=_targets,
        default="predicted",
        metavar="predicted|true|CLASS",
        help=(
            "explain the top-k predicted classes, the true class (the sub-folder's name), or "
            "one class (index or name) for every image (default: predicted)"
        ),
    )
    batch.add_argument(
        "--top-k", type=_positive_int, default=1, metavar="K", help="predictions kept (default: 1)"
    )
    batch.add_argument(
        "--batch-size", type=_positive_int, default=32, metavar="B", help="default: 32"
    )
    batch.add_argument(
        "--workers", type=_workers, default=0, metavar="W", help="loader processes (default: 0)"
    )
    batch.add_argument(
        "--device", metavar="D", help="cpu, cuda, cuda:1, ... (default: the model's)"
    )
    batch.add_argument(
        "--deletion",
        action="store_true",
        help="also score each map by its deletion and insertion areas (84 passes a map)",
    )
    batch.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")


def _add_report_parser(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "report",
        help="write a batch result's gallery as one HTML file",
        description=(
            "Write the result of `flashwidget batch` (its output folder OUT) as one HTML file "
            "that opens in any browser, offline, for someone without Python: the thumbnails "
            "with their maps, filtered by outcome, true class, predicted class and confidence, "
            "sorted by confidence or deletion area, with alpha and colormap, as "
            "flashwidget.Gallery shows them in a notebook. It holds the first --limit images in "
            "the data's order: each image costs its stored files (about 80 KB with Gradient "
            "maps, 28 KB with Grad-CAM's), and a file of thousands is too large for a browser."
        ),
    )
    report.add_argument("out", metavar="OUT", help="output folder of a finished batch job")
    report.add_argument(
        "--html", type=_out, required=True, metavar="FILE", help="the HTML file to write"
    )
    report.add_argument(
        "--limit",
        type=_limit,
        default=REPORT_LIMIT,
        metavar="N|all",
        help=f"the first N images, or all (default: {REPORT_LIMIT})",
    )


def _limit(text: str) -> int | None:
    """A positive number of images, or None for 'all'."""
    return None if text.strip() == "all" else _positive_int(text)


def _targets(text: str) -> int | str:
    """'predicted', 'true', or a class: an index, or a name checked once the model is known."""
    return text if text in ("predicted", "true") else _target(text)


def _workers(text: str) -> int:
    if not _INDEX.fullmatch(text.strip()) or int(text) < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0; got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineErrorParser(
        prog=PROGRAM, description="See what a PyTorch image classifier looks at."
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True)
    explain = commands.add_parser(
        "explain",
        help="print the top-5 predictions and write a saliency figure",
        description=(
            "Explain an image with the embedded default model (EfficientNet-Lite0, ImageNet): "
            "print its top-5 predictions and write a figure. For gradient and guided_backprop "
            "it is FlashTorch's four panels (input, gradients across RGB channels, max "
            "gradients, overlay); for the other methods, and with --take-max, the method's map "
            "over the input. --compare draws the input and one such overlay per method, all "
            "for the same class."
        ),
    )
    explain.add_argument(
        "image", nargs="?", help="image file to explain (default: matplotlib's Grace Hopper)"
    )
    explain.add_argument(
        "--target", type=_target, help="class to explain, by ImageNet index or name (default: top)"
    )
    explain.add_argument(
        "--method",
        type=_method,
        metavar="NAME",
        help=(
            f"attribution method, one of {', '.join(method_names())} (default: {DEFAULT_METHOD})"
        ),
    )
    explain.add_argument(
        "--guided", action="store_true", help="same as --method guided_backprop (FlashTorch's)"
    )
    explain.add_argument(
        "--compare",
        type=_methods,
        metavar="METHOD[,METHOD...]",
        help="draw one column per method, each its map over the input (instead of --method)",
    )
    _add_method_options(explain)
    explain.add_argument(
        "--take-max",
        action="store_true",
        help="draw only the overlay of the max-|gradient| map instead of the four panels",
    )
    # No default here: argparse would check it, importing matplotlib, on every command line.
    explain.add_argument(
        "--cmap", type=_colormap, help=f"matplotlib colormap (default: {DEFAULT_CMAP})"
    )
    explain.add_argument(
        "--alpha", type=_alpha, default=0.5, help="overlay opacity in [0, 1] (default: 0.5)"
    )
    explain.add_argument(
        "--out",
        type=_out,
        default=DEFAULT_OUT,
        metavar="PATH",
        help=(
            "figure file (.png, .pdf, .svg, ...; .png when no suffix is given), or a folder "
            "(existing, or a name ending in /) to write IMAGE-saliency.png into, saliency.png "
            f"for the sample (default: {DEFAULT_OUT})"
        ),
    )
    _add_batch_parser(commands)
    _add_report_parser(commands)
    return parser


def chosen_methods(args: argparse.Namespace) -> list[str]:
    """The methods to run, in order; a ValueError for options that do not go together."""
    if args.compare is not None:
        for flag, given, instead in (
            ("--method", args.method is not None, "list every method in --compare"),
            ("--guided", args.guided, "list guided_backprop in --compare"),
            ("--take-max", args.take_max, "--compare draws every map over the input"),
        ):
            if given:
                raise ValueError(f"--compare cannot be combined with {flag}; {instead}")
        names = args.compare
    elif args.guided and args.method not in (None, "guided_backprop"):
        raise ValueError(
            f"--guided means --method guided_backprop; it cannot be combined with --method "
            f"{args.method}"
        )
    else:
        names = [args.method or ("guided_backprop" if args.guided else DEFAULT_METHOD)]
    for option in CLI_OPTIONS:
        if getattr(args, option) is not None and not any(
            option in OPTIONS_BY_METHOD[name] for name in names
        ):
            raise ValueError(
                f"--{option} applies only to {' and '.join(_takers(option))}, not to "
                f"{', '.join(names)}"
            )
    return names


def class_index(target: int | str | None) -> int | None:
    """The class ``--target`` names, checked against ImageNet's classes without the model.

    The default model's labels are ImageNet's, so :class:`~flashwidget.class_index.ImageNetIndex`
    resolves a name exactly as the model's labels would (it imports torchvision, not the model).
    """
    if target is None:
        return None
    if isinstance(target, int):
        if not 0 <= target < CLASSES:
            raise ValueError(
                f"argument --target: class {target} is out of range; the default model's "
                f"classes are 0..{CLASSES - 1}"
            )
        return target
    from flashwidget.class_index import ImageNetIndex

    try:
        return ImageNetIndex()[target]
    except KeyError as error:  # ClassNameError: no class, or several, match the name
        raise ValueError(f"argument --target: {error}") from None


def figure_path(out: str, image: str | None) -> Path:
    """The file ``--out`` asks for: inside it when it is a folder, with a suffix; checked.

    A folder is one that exists or a name that ends with a slash; the figure in it is named
    after the image (``IMAGE-saliency.png``), ``saliency.png`` for the sample. A name with no
    suffix gets ``.png``, as matplotlib would add it, so that the path printed is the one
    written. A ValueError for a format matplotlib cannot write, or a folder that cannot be
    created or written in.
    """
    path = Path(out)
    separators = tuple(sep for sep in (os.sep, os.altsep) if sep)
    if out.endswith(separators) or path.is_dir():
        path /= f"{Path(image).stem}-saliency.png" if image else DEFAULT_OUT
    elif not path.suffix:
        path = path.with_name(f"{path.name}.png")
    from matplotlib.backend_bases import FigureCanvasBase  # matplotlib, not pyplot

    formats = FigureCanvasBase.get_supported_filetypes()
    if path.suffix[1:].lower() not in formats:
        raise ValueError(
            f"argument --out: matplotlib cannot write {path.suffix} files ({path}); "
            f"use one of {', '.join('.' + name for name in sorted(formats))}"
        )
    folder = existing = path.parent
    while not existing.exists():  # ends: '.' and '/' exist
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"argument --out: cannot create the folder {folder}: {existing} is a file")
    if path.is_dir():
        raise ValueError(f"argument --out: {path} is a folder; name the figure file instead")
    writable = os.access(existing, os.W_OK | os.X_OK) and (
        not path.exists() or os.access(path, os.W_OK)
    )
    if not writable:
        raise ValueError(f"argument --out: cannot write {path}: permission denied")
    return path


def check_arguments(args: argparse.Namespace) -> list[str]:
    """Check what can be checked before the model loads; return the methods to run.

    Resolves ``args.target`` to a class index, ``args.out`` to the file to write and
    ``args.cmap`` to a colormap name; a ValueError, its message for the user, for a mistake.
    """
    names = chosen_methods(args)
    args.cmap = args.cmap or DEFAULT_CMAP
    args.out = figure_path(args.out, args.image)
    args.target = class_index(args.target)
    return names


def method_options(method: str, args: argparse.Namespace) -> dict[str, Any]:
    """The options given on the command line that ``method`` takes."""
    return {
        option: getattr(args, option)
        for option in CLI_OPTIONS
        if getattr(args, option) is not None and option in OPTIONS_BY_METHOD[method]
    }


def _settings(method: AttributionMethod, name: str, batch: torch.Tensor) -> str:
    """What ``method`` ran with, for the report: its options' values, the layer actually read."""
    from flashwidget.methods import GradCAM

    values = []
    for option in OPTIONS_BY_METHOD[name]:
        if option == "layer":
            cam = method if isinstance(method, GradCAM) else method.gradcam
            values.append(f"layer={cam.layer_for(batch)}")
        else:
            values.append(f"{option}={getattr(method, option)}")
    return f" ({', '.join(values)})" if values else ""


def explain(args: argparse.Namespace, names: Sequence[str]) -> None:
    """Load the default model, explain the image with each method, print, write the figure."""
    import matplotlib.pyplot as plt

    from flashwidget import methods, models
    from flashwidget.class_index import ClassIndex
    from flashwidget.figures import comparison_figure, four_panel_figure, overlay_figure
    from flashwidget.saliency import max_abs_over_channels
    from flashwidget.utils import IMAGENET_MEAN, IMAGENET_STD, load_image

    picture = load_image(args.image) if args.image else models.sample_image()
    try:
        classifier = models.default_classifier()
    except models.WeightsUnavailableError as error:  # missing or damaged: what to reinstall
        raise CommandError(str(error)) from error
    labels = ClassIndex(classifier.labels)
    image = classifier.transform(picture)
    # Every method is built before any runs, so that a bad option (an unknown layer) fails fast.
    built = {
        name: methods.get(name, classifier.model, labels=labels, **method_options(name, args))
        for name in names
    }
    target = args.target
    results = {}
    for name, method in built.items():
        results[name] = method.explain(image, target)
        target = int(results[name].targets[0, 0])  # the class every later method explains

    probabilities, indices = results[names[0]].probabilities[0].topk(5)
    _say("top-5 predictions:")
    for rank, (p, i) in enumerate(zip(probabilities.tolist(), indices.tolist(), strict=True), 1):
        _say(f"  {rank}. {labels.name(i):<28} {p:6.3f}  (class {i})")
    explained = f"{labels.name(target)} (class {target})"
    for name, method in built.items():
        _say(f"explained: {explained} by {name}{_settings(method, name, image.unsqueeze(0))}")

    # One channel per map: max |.| over colour channels (Grad-CAM's one non-negative channel
    # comes through unchanged).
    shown = {name: max_abs_over_channels(result.maps[0, 0]) for name, result in results.items()}
    look = {"cmap": args.cmap, "alpha": args.alpha, "mean": IMAGENET_MEAN, "std": IMAGENET_STD}
    if args.compare is not None:
        figure = comparison_figure(image, shown, title=explained, **look)
    elif names[0] in FOUR_PANEL_METHODS and not args.take_max:
        figure = four_panel_figure(image, results[names[0]].maps[0, 0], shown[names[0]], **look)
    else:
        (name,) = names
        reduced = f"max |{name}|" if built[name].map_space == "input" else name
        figure = overlay_figure(
            image, shown[name], title=f"{labels.name(target)}: {reduced}", **look
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # The format named, so that matplotlib writes exactly args.out (it appends one otherwise).
    figure.savefig(args.out, format=args.out.suffix[1:].lower(), dpi=100, bbox_inches="tight")
    plt.close(figure)
    _say(f"wrote {args.out}")


def check_batch_arguments(args: argparse.Namespace) -> list[str]:
    """Check ``flashwidget batch``'s arguments before the model loads; the method, listed."""
    for option in CLI_OPTIONS:
        if getattr(args, option) is not None and option not in OPTIONS_BY_METHOD[args.method]:
            raise ValueError(
                f"--{option} applies only to {' and '.join(_takers(option))}, not to {args.method}"
            )
    if not Path(args.data).is_dir():
        raise ValueError(f"argument data: {args.data} is not a folder; expected a folder of images")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ValueError(f"argument --out: {args.out} is a file; expected a folder")
    if isinstance(args.targets, int) and args.targets < 0:
        raise ValueError(f"argument --targets: class {args.targets} is out of range")
    return [args.method]


def run_batch(args: argparse.Namespace, names: Sequence[str]) -> int:
    """Load the model and run :func:`flashwidget.batch.explain_dataset`; print the summary
    (the first process only, under torchrun)."""
    from flashwidget import models
    from flashwidget.batch import explain_dataset

    try:
        if args.model == "default":
            classifier = models.default_classifier()
        else:
            classifier = models.torchvision_classifier(args.model)
    except models.WeightsUnavailableError as error:
        raise CommandError(str(error)) from error
    summary = explain_dataset(
        classifier.model,
        args.data,
        args.out,
        method=args.method,
        options=method_options(args.method, args),
        targets=args.targets,
        top_k=args.top_k,
        batch_size=args.batch_size,
        num_workers=args.workers,
        device=args.device,
        labels=classifier.labels,
        transform=classifier.transform,
        progress=not args.no_progress,
        deletion=args.deletion,
    )
    if os.environ.get("RANK", "0") == "0":
        _say(str(summary))
    return 0


def check_report_arguments(args: argparse.Namespace) -> list[str]:
    """Check ``flashwidget report``'s folders before anything is read (no methods: [])."""
    out, html = Path(args.out), Path(args.html).expanduser()
    if not (out / RESULT_INDEX).is_file():
        missing = "does not exist" if not out.exists() else f"has no {RESULT_INDEX}"
        raise ValueError(
            f"argument OUT: {out} {missing}; expected the output folder of a finished "
            "flashwidget batch job"
        )
    if html.is_dir():
        raise ValueError(f"argument --html: {html} is a folder; name the HTML file to write")
    if not html.parent.is_dir():
        raise ValueError(f"argument --html: the folder {html.parent} does not exist")
    args.html = html
    return []


def run_report(args: argparse.Namespace, names: Sequence[str]) -> int:
    """Write the page of :func:`flashwidget.gallery_page.gallery_page`; print where, its size
    and which images it holds."""
    from flashwidget.gallery_page import gallery_page

    page = gallery_page(args.out, limit=args.limit)
    args.html.write_text(page.html, encoding="utf-8")
    more = "; --limit N or --limit all for more" if page.held < page.total else ""
    size = args.html.stat().st_size / 1e6
    _say(f"wrote {args.html} ({size:.1f} MB): {page.contents}{more}")
    return 0


def _silence_stdout() -> None:
    """Send the rest of stdout to devnull, as Python's docs advise after a BrokenPipeError.

    (https://docs.python.org/3/library/signal.html#note-on-sigpipe) The reader is gone
    (``flashwidget explain | head -1``); without this, every later write, and the interpreter's
    last flush, would fail again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # a stdout with no file descriptor
        pass
    finally:
        os.close(devnull)


def _say(line: str) -> None:
    """Print a line of the report; a closed pipe drops it, and the command goes on."""
    try:
        print(line)
    except BrokenPipeError:
        _silence_stdout()


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version (0), or a bad argument in one line (2)
        return 0 if stop.code is None else int(stop.code)
    except BrokenPipeError:  # --help or --version into a closed pipe: nothing is left to do
        _silence_stdout()
        return 0
    if args.command == "batch":
        check, command = check_batch_arguments, run_batch
    elif args.command == "report":
        check, command = check_report_arguments, run_report
    else:
        check, command = check_arguments, explain
    try:
        names = check(args)
    except ValueError as error:
        print(f"{PROGRAM}: error: {error} (see {PROGRAM} {args.command} --help)", file=sys.stderr)
        return 2
    try:
        return command(args, names) or 0
    except BrokenPipeError:
        raise
    except (CommandError, OSError, ValueError, TypeError, LookupError) as error:
        # KeyError's str() quotes its message; the message is what the user should read.
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"{PROGRAM}: error: {str(message) or type(error).__name__}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    status = 1  # Python's own status for a closed pipe, should one interrupt the command
    try:
        status = _run(argv)
        sys.stdout.flush()  # here, not at exit, so that a closed pipe is handled like the rest
    except BrokenPipeError:
        _silence_stdout()
    return status


if __name__ == "__main__":
    sys.exit(main())
