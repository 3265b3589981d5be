"""``flashwidget explain``: the top-5 predictions and a saliency figure, from the command line.

It runs on the embedded default model, offline. Mistakes (a bad option, an unreadable image, an
unknown class) end with one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from flashwidget.class_index import ClassIndex
from flashwidget.colormaps import colormap_lut

PROGRAM = "flashwidget"


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


class _OneLineErrorParser(argparse.ArgumentParser):
    """Report a bad argument in one line (argparse adds the whole usage text otherwise)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROGRAM}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineErrorParser(
        prog=PROGRAM, description="See what a PyTorch image classifier looks at."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    explain = commands.add_parser(
        "explain",
        help="print the top-5 predictions and write a saliency figure",
        description=(
            "Explain an image with the embedded default model (EfficientNet-Lite0, ImageNet): "
            "print its top-5 predictions and write FlashTorch's four-panel figure (input, "
            "gradients across RGB channels, max gradients, overlay)."
        ),
    )
    explain.add_argument(
        "image", nargs="?", help="image file to explain (default: matplotlib's Grace Hopper)"
    )
    explain.add_argument(
        "--target", type=_target, help="class to explain, by ImageNet index or name (default: top)"
    )
    explain.add_argument("--guided", action="store_true", help="guided backpropagation")
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


def explain(args: argparse.Namespace) -> None:
    """Load the default model, print the top-5, write the figure."""
    import matplotlib.pyplot as plt

    from flashwidget import models
    from flashwidget.figures import four_panel_figure, overlay_figure
    from flashwidget.saliency import Backprop, max_abs_over_channels
    from flashwidget.utils import IMAGENET_MEAN, IMAGENET_STD, load_image

    picture = load_image(args.image) if args.image else models.sample_image()
    classifier = models.default_classifier()
    labels = ClassIndex(classifier.labels)
    image = classifier.transform(picture)
    result = Backprop(classifier.model, labels=labels).attribute(
        image, args.target, guided=args.guided
    )
    probabilities, indices = result.probabilities[0].topk(5)
    print("top-5 predictions:")
    for rank, (p, i) in enumerate(zip(probabilities.tolist(), indices.tolist(), strict=True), 1):
        print(f"  {rank}. {labels.name(i):<28} {p:6.3f}  (class {i})")
    explained = int(result.targets[0, 0])
    method = "guided backpropagation" if args.guided else "vanilla gradients"
    print(f"explained: {labels.name(explained)} (class {explained}), {method}")

    gradients = result.gradients[0, 0]
    look = {"cmap": args.cmap, "alpha": args.alpha, "mean": IMAGENET_MEAN, "std": IMAGENET_STD}
    max_gradients = max_abs_over_channels(gradients)
    if args.take_max:
        title = f"{labels.name(explained)}: max |gradient|"
        figure = overlay_figure(image, max_gradients, title=title, **look)
    else:
        figure = four_panel_figure(image, gradients, max_gradients, **look)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=100, bbox_inches="tight")
    plt.close(figure)
    print(f"wrote {args.out}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        explain(args)
    except (OSError, ValueError, TypeError, LookupError) as error:
        message = str(error) or type(error).__name__
        print(f"{PROGRAM}: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
