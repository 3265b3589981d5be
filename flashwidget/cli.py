"""``flashwidget explain``: the top-5 predictions and a saliency figure, from the command line.

It runs on the embedded default model, offline, with any attribution method of
:mod:`flashwidget.methods` (``--method``), or several side by side (``--compare``). Mistakes (a
bad option, an unreadable image, an unknown class or layer) end with one line on stderr and exit
status 2, never a traceback. Everything that can be checked without the model (method names,
numbers, which options go with which method) is checked before the model is loaded.

Neither torch nor pyplot is imported by this module itself; the command imports them when it runs.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from flashwidget.colormaps import colormap_lut

if TYPE_CHECKING:
    import torch

    from flashwidget.methods import AttributionMethod

PROGRAM = "flashwidget"
DEFAULT_METHOD = "gradient"
# Methods drawn as FlashTorch's four panels unless --take-max: those whose maps are gradients.
FOUR_PANEL_METHODS = ("gradient", "guided_backprop")
# Options that only some methods take, each named as the constructor argument it sets.
METHOD_OPTIONS = ("steps", "samples", "noise", "layer")


def _target(text: str) -> int | str:
    """A class index when the text is a number, else a class name."""
    return int(text) if text.strip().lstrip("-").isdigit() else text


def _alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"alpha must be a number; got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"alpha must be between 0 and 1; got {value}")
    return value


def _colormap(text: str) -> str:
    try:
        colormap_lut(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _method(text: str) -> str:
    """A registered method's name; an unknown one is refused with the list of names."""
    from flashwidget.methods import method_class

    try:
        method_class(text)
    except KeyError as error:
        raise argparse.ArgumentTypeError(error.args[0]) from None
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
    """SmoothGrad's noise level, checked by SmoothGrad's own rule (finite, >= 0)."""
    from flashwidget.methods.smoothgrad import require_fraction

    try:
        return require_fraction(float(text), "noise")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"noise must be a finite number >= 0; got {text!r}"
        ) from None


class _OneLineErrorParser(argparse.ArgumentParser):
    """Report a bad argument in one line (argparse adds the whole usage text otherwise)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROGRAM}: error: {message} (see {self.prog} --help)\n")


def _parameters(method: str) -> set[str]:
    """The names of the options that ``method``'s constructor takes."""
    from flashwidget.methods import method_class

    return set(inspect.signature(method_class(method)).parameters)


def _default(method: str, option: str) -> Any:
    from flashwidget.methods import method_class

    return inspect.signature(method_class(method)).parameters[option].default


def _takers(option: str) -> list[str]:
    """The methods that take ``option``, in menu order."""
    from flashwidget.methods import available

    return [name for name in available() if option in _parameters(name)]


def build_parser() -> argparse.ArgumentParser:
    from flashwidget.methods import available

    parser = _OneLineErrorParser(
        prog=PROGRAM, description="See what a PyTorch image classifier looks at."
    )
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
        help=f"attribution method, one of {', '.join(available())} (default: {DEFAULT_METHOD})",
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
    for option, metavar, kind, meaning in (
        ("steps", "N", _positive_int, "points on the integration path"),
        ("samples", "N", _positive_int, "noisy copies of the image"),
        ("noise", "X", _noise, "noise std as a fraction of the image's value range"),
        ("layer", "NAME", str, "layer whose feature maps are read"),
    ):
        takers = _takers(option)
        default = _default(takers[0], option)
        shown = "the last layer with a spatial output" if default is None else default
        explain.add_argument(
            f"--{option}",
            type=kind,
            metavar=metavar,
            help=f"{' and '.join(takers)}: {meaning} (default: {shown})",
        )
    explain.add_argument(
        "--take-max",
        action="store_true",
        help="draw only the overlay of the max-|gradient| map instead of the four panels",
    )
    explain.add_argument(
        "--cmap", type=_colormap, default="viridis", help="matplotlib colormap (default: viridis)"
    )
    explain.add_argument(
        "--alpha", type=_alpha, default=0.5, help="overlay opacity in [0, 1] (default: 0.5)"
    )
    explain.add_argument(
        "--out", type=Path, default=Path("saliency.png"), help="figure file (default: saliency.png)"
    )
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
    for option in METHOD_OPTIONS:
        if getattr(args, option) is not None and not any(
            option in _parameters(name) for name in names
        ):
            raise ValueError(
                f"--{option} applies only to {' and '.join(_takers(option))}, not to "
                f"{', '.join(names)}"
            )
    return names


def method_options(method: str, args: argparse.Namespace) -> dict[str, Any]:
    """The options given on the command line that ``method`` takes."""
    return {
        option: getattr(args, option)
        for option in METHOD_OPTIONS
        if getattr(args, option) is not None and option in _parameters(method)
    }


def _settings(method: AttributionMethod, name: str, batch: torch.Tensor) -> str:
    """What ``method`` ran with, for the report: its options' values, the layer actually read."""
    from flashwidget.methods import GradCAM

    values = []
    for option in sorted(_parameters(name) & set(METHOD_OPTIONS), key=METHOD_OPTIONS.index):
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
    classifier = models.default_classifier()
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
    print("top-5 predictions:")
    for rank, (p, i) in enumerate(zip(probabilities.tolist(), indices.tolist(), strict=True), 1):
        print(f"  {rank}. {labels.name(i):<28} {p:6.3f}  (class {i})")
    explained = f"{labels.name(target)} (class {target})"
    for name, method in built.items():
        print(f"explained: {explained} by {name}{_settings(method, name, image.unsqueeze(0))}")

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
    figure.savefig(args.out, dpi=100, bbox_inches="tight")
    plt.close(figure)
    print(f"wrote {args.out}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0), or a bad argument reported in one line (2)
        return 0 if stop.code is None else int(stop.code)
    try:
        names = chosen_methods(args)
    except ValueError as error:
        print(f"{PROGRAM}: error: {error} (see {PROGRAM} explain --help)", file=sys.stderr)
        return 2
    try:
        explain(args, names)
    except (OSError, ValueError, TypeError, LookupError) as error:
        # KeyError's str() quotes its message; the message is what the user should read.
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"{PROGRAM}: error: {str(message) or type(error).__name__}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
